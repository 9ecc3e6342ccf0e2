"""Real-world check: patchtool backport (mail) against plain `git cherry-pick` on QEMU's stable branches.

For every commit B on a stable branch that says "(cherry picked from commit U)", U is turned into
mail (`git format-patch`, no base-commit: footer) and backported with patchtool onto B's parent; the
result's tree is compared with B's tree (the maintainer's). Plain `git cherry-pick -n U` onto B's parent
is done in a scratch work tree for comparison. Classes printed per branch:

  identical                  the tree is the maintainer's
  different but flagged      clean, not the maintainer's tree, and the result says so (a warning, fuzz)
  silently different         clean, not the maintainer's tree, nothing said (the failure to avoid)
  refused                    a conflict

and, apart, the identical results that still carry a warning or fuzz: a false alarm, a conflict
resolved that asks for a look, or the maintainer's own miss (a prerequisite backported only later).

Everything happens in a `--shared` clone under --workdir (the given repository is only read).

Usage: python bench/backport_fidelity.py QEMU_GIT [--branch stable-8.1 --branch stable-7.2]
       [--limit N] [--workdir DIR] [--shard I/N] [--verbose]
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.apply.backport import backport_series  # noqa: E402
from patchtool.config import Settings, load_settings  # noqa: E402
from patchtool.errors import PatchtoolError  # noqa: E402
from patchtool.fetch.local import read_local  # noqa: E402
from patchtool.parse.series import build_series  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402

PICKED = re.compile(r"\(cherry picked from commit ([0-9a-f]{40})\)")
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C.UTF-8", "GIT_EDITOR": "true"}
ENV.update(GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.org")


@dataclass(frozen=True)
class Case:
    branch: str
    backport: str  # B, the maintainer's commit
    upstream: str  # U


def git(*argv: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, env=ENV, check=False, timeout=600)
    if check and done.returncode != 0:
        sys.exit(f"bench: git {' '.join(argv)} failed: {done.stderr.decode(errors='replace')[:400]}")
    return done


def out(*argv: str, cwd: Path) -> str:
    return git(*argv, cwd=cwd).stdout.decode("utf-8", "replace").strip()


def find_cases(repo: Path, branch: str, upstream: str) -> list[Case]:
    """Every non-merge commit of BRANCH (not upstream) naming the upstream commit it was picked from."""
    text = out("log", "--no-merges", "--reverse", "--format=%H%x00%B%x01", f"{upstream}..{branch}", cwd=repo)
    cases = []
    for record in text.split("\x01"):
        sha, _, body = record.strip().partition("\0")
        found = PICKED.findall(body)
        if (
            sha
            and found
            and git("cat-file", "-e", f"{found[-1]}^{{commit}}", cwd=repo, check=False).returncode == 0
        ):
            cases.append(Case(branch, sha, found[-1]))
    return cases


def cherry_pick(worktree: Path, case: Case) -> str:
    """'identical' | 'different' | 'refused': plain `git cherry-pick -n U` onto B's parent."""
    git("reset", "-q", "--hard", cwd=worktree)
    git("checkout", "-q", "-f", "--detach", f"{case.backport}^", cwd=worktree)
    done = git("cherry-pick", "-n", case.upstream, cwd=worktree, check=False)
    if done.returncode != 0:
        git("cherry-pick", "--abort", cwd=worktree, check=False)
        git("reset", "-q", "--hard", cwd=worktree)
        return "refused"
    tree = out("write-tree", cwd=worktree)
    git("reset", "-q", "--hard", cwd=worktree)
    return "identical" if tree == out("rev-parse", f"{case.backport}^{{tree}}", cwd=worktree) else "different"


def flagged(result: object) -> list[str]:
    """What the result says a maintainer must look at: its warnings, fuzz, its notes on what the
    branch's history has of the fix, a status beyond 'applied'."""
    said = [f"{f.code}: {f.message}" for f in getattr(result, "findings", ())]
    said += [a for p in getattr(result, "patches", ()) for a in p.adaptations if a.startswith("fuzz")]
    said += [f"note: {h}" for h in getattr(result, "hints", ())]  # the branch's history knows the fix
    return said


def patchtool_backport(repo: Path, settings: Settings, case: Case) -> tuple[str, list[str]]:
    mail = git("format-patch", "-1", "--stdout", case.upstream, cwd=repo).stdout
    path = settings.data_dir / "mail.patch"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mail)
    try:  # a mail the parser refuses (e.g. a binary patch it cannot read) is a refusal too
        series = build_series(read_local(str(path), None))
        result = backport_series(GitRepo(repo), series, settings, onto=f"{case.backport}^")
    except PatchtoolError as e:
        return "refused", [f"error: {e.message}"]
    if not result.ok or result.head is None:
        return "refused", [f"{c.file} {c.hunk}" for p in result.patches for c in p.conflicts]
    same = out("rev-parse", f"{result.head}^{{tree}}", cwd=repo) == out(
        "rev-parse", f"{case.backport}^{{tree}}", cwd=repo
    )
    notes = flagged(result)
    if same:
        return "identical", notes
    return ("different but flagged" if notes else "silently different"), notes


def run_branch(repo: Path, worktree: Path, settings: Settings, branch: str, args: argparse.Namespace) -> None:
    index, count = (int(x) for x in args.shard.split("/"))
    cases = find_cases(repo, branch, args.upstream)[index - 1 :: count][: args.limit or None]
    pick: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    cross: Counter[tuple[str, str]] = Counter()
    pick_time = ours_time = 0.0
    alarms = 0
    slowest: list[tuple[float, str]] = []
    for number, case in enumerate(cases, 1):
        if number % 20 == 0:
            print(f"  ... {number}/{len(cases)}", file=sys.stderr, flush=True)
        start = time.monotonic()
        theirs = cherry_pick(worktree, case)
        pick_time += time.monotonic() - start
        start = time.monotonic()
        mine, notes = patchtool_backport(repo, settings, case)
        ours_time += time.monotonic() - start
        slowest = sorted([*slowest, (time.monotonic() - start, case.upstream[:12])], reverse=True)[:3]
        pick[theirs] += 1
        ours[mine] += 1
        cross[(theirs, mine)] += 1
        if mine == "identical" and notes:
            alarms += 1  # the maintainer's tree, yet the result asks for a look
        if args.verbose and (mine != "identical" or theirs != "identical" or notes):
            print(f"  {case.backport[:12]} U={case.upstream[:12]} pick={theirs} patchtool={mine}")
            for note in notes[:6]:
                print(f"      {note[:200]}")
    print(f"{branch}: {len(cases)} backports")
    print(f"  {'class':<24}{'cherry-pick':>12}{'patchtool':>12}")
    for name in ("identical", "different but flagged", "silently different", "refused"):
        key = "different" if name == "silently different" else name
        print(f"  {name:<24}{pick[key] if name != 'different but flagged' else 0:>12}{ours[name]:>12}")
    resolved = sum(
        n for (t, m), n in cross.items() if t == "refused" and m in ("identical", "different but flagged")
    )
    lost = sum(n for (t, m), n in cross.items() if t == "identical" and m != "identical")
    print(f"  cherry-pick conflicts resolved by patchtool: {resolved} of {pick['refused']}")
    print(f"  cherry-pick identical but patchtool not: {lost}")
    print(f"  identical yet warned or fuzzed: {alarms}")
    print(f"  time: cherry-pick {pick_time:.1f} s, patchtool {ours_time:.1f} s")
    print(f"  slowest patchtool backports: {', '.join(f'U={sha} {t:.1f} s' for t, sha in slowest)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qemu_git", type=Path)
    parser.add_argument("--branch", action="append", help="stable branches (default: stable-8.1 stable-7.2)")
    parser.add_argument("--upstream", default="master", help="the upstream branch (default: master)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--shard", default="1/1", help="I/N: every Nth backport from the Ith (add the tables)"
    )
    args = parser.parse_args()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="backport-fidelity-"))).resolve()
    if args.shard != "1/1":  # each shard needs its own scratch work tree for cherry-pick
        workdir = workdir / f"shard-{args.shard.replace('/', '-')}"
    workdir.mkdir(parents=True, exist_ok=True)
    clone = workdir / "qemu.git"
    if not clone.exists():
        git("clone", "-q", "--bare", "--shared", str(args.qemu_git.resolve()), str(clone), cwd=workdir)
        git("fetch", "-q", str(args.qemu_git.resolve()), "+refs/heads/*:refs/heads/*", cwd=clone)
    worktree = workdir / "pick"
    if not worktree.exists():
        git("worktree", "add", "-q", "--detach", str(worktree), args.upstream, cwd=clone)
    settings = load_settings({"data_dir": str(workdir / "data"), "cache_dir": str(workdir / "cache")})
    for branch in args.branch or ["stable-8.1", "stable-7.2"]:
        run_branch(clone, worktree, settings, branch, args)


if __name__ == "__main__":
    main()
