"""A real QEMU regression and its real fix, found with real builds and QEMU's own unit test.

The case (QEMU master, March 2024): commit 8bd8b04adc ("chardev: lower priority of the HUP GSource
in socket chardev") says that with a7077b8e35 reverted, `tests/unit/test-char` fails; master then
reverted it (038b421788, with e8ee827ffd) in the same pull, after the fix. A stable branch that
took the revert without the fix has the failure. Two histories are made from real commits, in a
`--shared` clone under WORKDIR (QEMU_GIT is only read):

* fix search: the two reverts on top of master 8f3f329f5e, then the 41 first-parent commits of
  master up to fa967115cb replayed on them (`git rebase --rebase-merges`: 461 commits, the pulls'
  merges kept). `patchtool bisect --broken <the reverts> --fixed <tip> --test test-char` should
  name the HUP fix, inside the replayed berrange pull, and its revert test should fail again;
* regression search: master 51e31f2140 with a pull of ours merged on it (the berrange pull's
  commits, the two reverts among them, without the fix), then master's later commits up to
  fa967115cb replayed without the fix (310 commits). `patchtool bisect --good 51e31f2140 --bad
  <tip> --test test-char` should name the revert of a7077b8e35 inside that merge.

A merge that does not replay cleanly is taken as it was merged, with the files the inserted
commits change kept as they are on its first parent. The meson subprojects are checked out from
the given repositories (the wrap's revision, else the newest; testfloat's mirror needs the
`verCases_verbosity` definitions, added to the copy), as real-world.md says. The test's build
needs glib, flex and bison.

Printed per search: the commit named against the one expected, the runs and builds, the wall
time, the revert test, how many progress lines its log got, and whether the checkout under WORKDIR
was left as it was.

Usage: nice -n 10 python bench/chardev_bisect.py QEMU_GIT WORKDIR --keycodemapdb GIT \\
           --softfloat GIT --testfloat GIT [--only fix|regression] [--tree PATCHTOOL_CHECKOUT]
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

START = "8f3f329f5e0117bd1a23a79ab751f8a7d3471e4b"  # master, 2024-03-12
BEFORE_PULL = "51e31f21407190df9bd048a539267534cea7dd66"  # master's 10th first-parent commit after it
END = "fa967115cbee0ec89f53b2d96bd3e6e16365eb1e"  # master, 2024-03-31
REVERTS = ("e8ee827ffd", "038b421788")  # the TLS fix's revert, then a7077b8e35's
FIX = "8bd8b04adc"
# the berrange pull's commits but the fix, in its order (seccomp, the reverts, four crypto commits)
PULL = ("e79f8b8b2d", "e8ee827ffd", "038b421788", "eac57306d8", "e503fc55ac", "48ca1cabd3", "c3b1aa1c1a")
EXPECTED = {
    "fix": "chardev: lower priority of the HUP GSource in socket chardev",
    "regression": 'Revert "chardev: use a child source for qio input source"',
}
CONFIGURE = (
    "--target-list=alpha-softmmu --disable-docs --disable-werror --disable-download "
    "--disable-guest-agent --disable-tools --disable-gtk --disable-sdl --disable-spice --disable-opengl"
)


# no hook of the user's (a global core.hooksPath) runs on the scratch clone's commits and rebases
GIT = ("git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


def git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run([*GIT, "-C", str(repo), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def replay(repo: Path, onto: str, upstream: str, tip: str, drop: tuple[str, ...], ours: list[str]) -> str:
    """`git rebase --rebase-merges --onto ONTO UPSTREAM TIP` without the commits `drop`; a merge
    that conflicts is taken as merged, but for the files `ours` (kept from its first parent)."""
    env = dict(os.environ, GIT_EDITOR="true")
    interactive = ["-i"] if drop else []  # (an interactive rebase picks what onto has already)
    if drop:
        pattern = "|".join(drop)
        env["GIT_SEQUENCE_EDITOR"] = f"sed -i -E '/^pick ({pattern})/d'"
    rebase = ["rebase", "-q", *interactive, "--rebase-merges", "--onto", onto, upstream, tip]
    done = subprocess.run(
        [*GIT, "-C", str(repo), *rebase],
        capture_output=True,
        text=True,
        env=env,
    )
    state = repo / ".git" / "rebase-merge"
    while done.returncode != 0 and state.is_dir():
        last = [ln for ln in (state / "done").read_text().splitlines() if ln and not ln.startswith("#")][-1]
        if not last.startswith("merge -C "):
            git(repo, "rebase", "--abort", check=False)
            raise SystemExit(f"replay stopped on a commit, not a merge: {last}")
        git(repo, "checkout", last.split()[2], "--", ".")
        git(repo, "checkout", "HEAD", "--", *ours)
        git(repo, "add", "-A")
        done = subprocess.run(
            [*GIT, "-C", str(repo), "rebase", "--continue"], capture_output=True, text=True, env=env
        )
    if done.returncode != 0:
        raise SystemExit(f"replay failed: {done.stderr.strip()[-500:]}")
    return git(repo, "rev-parse", "HEAD")


def histories(repo: Path) -> dict[str, tuple[str, str]]:
    """The two scratch histories, {search: (older end, newer end)}, made once (ends.json beside
    the clone keeps them: the same commits, so a rerun reuses the runs stored for them)."""
    kept = repo.parent / "ends.json"
    if kept.is_file():
        return {k: (v[0], v[1]) for k, v in json.loads(kept.read_text()).items()}
    git(repo, "config", "user.name", "patchtool bench")
    git(repo, "config", "user.email", "bench@patchtool.invalid")
    git(repo, "checkout", "-q", "--detach", START)
    for sha in REVERTS:
        git(repo, "cherry-pick", sha)
    broken = git(repo, "rev-parse", "HEAD")
    fixed = replay(repo, broken, START, END, (), ["chardev/char-io.c", "chardev/char-socket.c"])
    if git(repo, "diff", "--name-only", END, fixed):  # master's pull reverted them after the fix
        raise SystemExit(f"the fix search's newer end is not {END[:12]}'s tree")
    git(repo, "checkout", "-q", "--detach", BEFORE_PULL)
    for sha in PULL:
        git(repo, "cherry-pick", sha)
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", BEFORE_PULL)
    git(repo, "merge", "-q", "--no-ff", side, "-m", "Merge the berrange pull, without the HUP fix")
    merged = git(repo, "rev-parse", "HEAD")
    ours = git(repo, "diff", "--name-only", BEFORE_PULL, merged).splitlines()
    bad = replay(repo, merged, BEFORE_PULL, END, (FIX, *PULL), ours)
    if git(repo, "diff", "--name-only", END, bad).splitlines() != ["chardev/char-socket.c"]:
        raise SystemExit(f"the regression search's newer end is not {END[:12]}'s tree without the fix")
    ends = {"fix": (broken, fixed), "regression": (BEFORE_PULL, bad)}
    kept.write_text(json.dumps(ends))
    return ends


def subprojects(repo: Path, sources: dict[str, Path]) -> None:
    for name, source in sources.items():
        where = repo / "subprojects" / name
        if where.exists():
            continue
        wrap = (repo / "subprojects" / f"{name}.wrap").read_text()
        revision = next(ln.split("=", 1)[1].strip() for ln in wrap.splitlines() if ln.startswith("revision"))
        subprocess.run([*GIT, "clone", "-q", str(source), str(where)], check=True)
        git(where, "checkout", "-q", revision, check=False)
        if git(where, "rev-parse", "HEAD") != revision:
            print(f"{name}: {revision[:12]} not in {source}; at {git(where, 'rev-parse', '--short', 'HEAD')}")
        files = repo / "subprojects" / "packagefiles" / name
        if files.is_dir():
            shutil.copytree(files, where, dirs_exist_ok=True)
        if (
            name == "berkeley-testfloat-3"
            and "verCases_verbosity" not in (where / "source/verCases_common.c").read_text()
        ):
            with open(where / "source/verCases.h", "a") as h:
                h.write("extern int verCases_verbosity;\n")
            with open(where / "source/verCases_common.c", "a") as c:
                c.write("int verCases_verbosity = 1;\n")


def search(
    repo: Path,
    work: Path,
    tree: Path,
    name: str,
    ends: tuple[str, str],
    test: str = "test-char",
    more: tuple[str, ...] = (),
    cache: str = "cache",
) -> dict[str, object]:
    """`patchtool bisect` (run from ``tree``) over ``ends`` with QEMU's meson test ``test`` and
    ``more`` arguments: builds in WORKDIR/data, runs stored in WORKDIR/``cache``."""
    terms = ("--broken", "--fixed") if name == "fix" else ("--good", "--bad")
    env = dict(
        os.environ,
        PYTHONPATH=str(tree),
        PATCHTOOL_DATA_DIR=str(work / "data"),
        PATCHTOOL_CACHE_DIR=str(work / cache),
    )
    argv = [
        sys.executable,
        "-m",
        "patchtool",
        "bisect",
        terms[0],
        ends[0],
        terms[1],
        ends[1],
        "--test",
        test,
        *more,
        "--configure",
        CONFIGURE,
        "--repo",
        str(repo),
        "--json",
    ]
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work)
    wall = time.monotonic() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name} search exited {done.returncode}: {done.stderr.strip()[-800:]}")
    report = json.loads(done.stdout)
    return {"report": report, "wall": wall, "log": done.stderr}


def arguments(description: str) -> argparse.ArgumentParser:
    """The arguments the real-QEMU regression benches share: the mirror, the work directory, the
    three subprojects' repositories and the patchtool checkout to run."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("qemu_git", type=Path)
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--keycodemapdb", type=Path, required=True)
    ap.add_argument("--softfloat", type=Path, required=True)
    ap.add_argument("--testfloat", type=Path, required=True)
    ap.add_argument("--tree", type=Path, default=ROOT, help="the patchtool checkout to run")
    return ap


def clone(args: argparse.Namespace) -> tuple[Path, Path]:
    """(work directory, its `--shared` clone of the mirror), the clone made once."""
    work = args.workdir.resolve()
    repo = work / "qemu"
    if not repo.exists():
        work.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*GIT, "clone", "-q", "--shared", "--no-checkout", str(args.qemu_git), str(repo)], check=True
        )
    return work, repo


def checkout_state(repo: Path) -> tuple[str, str]:
    """HEAD and `git status --porcelain --ignored`: what a search must leave as it found it."""
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain", "--ignored")


def add_subprojects(repo: Path, args: argparse.Namespace) -> None:
    subprojects(
        repo,
        {
            "keycodemapdb": args.keycodemapdb,
            "berkeley-softfloat-3": args.softfloat,
            "berkeley-testfloat-3": args.testfloat,
        },
    )


def main() -> int:
    ap = arguments(__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("fix", "regression"))
    args = ap.parse_args()
    work, repo = clone(args)
    ends = histories(repo)
    add_subprojects(repo, args)
    before = checkout_state(repo)
    for name in ("fix", "regression") if args.only is None else (args.only,):
        older, newer = ends[name]
        count = git(repo, "rev-list", "--count", f"{older}..{newer}")
        print(f"{name} search: {older[:12]}..{newer[:12]}, {count} commits", flush=True)
        got = search(repo, work, args.tree, name, (older, newer))
        report = got["report"]
        assert isinstance(report, dict)
        culprit = report.get("culprit") or {}
        named = culprit.get("subject", "(none)")
        verdict = "right" if named == EXPECTED[name] else "WRONG"
        revert = report.get("revert") or {}
        print(f"  named {culprit.get('sha', '')[:12]} {named}: {verdict}")
        runs, builds = report.get("line_runs"), report.get("line_builds")
        line = f" (and {runs} runs, {builds} builds on the first-parent line)"
        print(
            f"  P = {float(report.get('probability') or 0):.4f}, runs {report.get('runs')}, builds "
            f"{report.get('builds')}{line if report.get('line_runs') else ''}, wall {got['wall']:.0f} s; "
            f"revert test: {revert.get('status')}"
        )
        log = str(got["log"]).splitlines()
        steps = sum(ln.startswith("bisect: best ") for ln in log)
        print(f"  its log (stderr, not a terminal): {steps} progress lines, {len(log) - steps} others")
    print("checkout left as it was" if checkout_state(repo) == before else "CHECKOUT CHANGED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
