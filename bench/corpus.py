"""Benchmark on real series: patchtool vs b4 (fetch), patchtool vs `git am -3` (apply), CPU seconds.

SERIES_DIR holds <msgid>.mbox files (git format-patch output, with a cover letter) and <msgid>.meta
files ("base <sha>", "tip <sha>", "count <n>"); the tip's tree is the truth an apply must give.
QEMU_GIT is a QEMU clone holding every base (it is cloned once into a scratch directory; the
original is never written). The tips' trees are read from --truth (default QEMU_GIT).

Runs are paired and alternated (patchtool first on even rounds, the other tool first on odd
ones); each figure is the CPU time (user+sys, children included) of one process. Printed per
series: the medians and the median of the paired ratios; in total: the sum of the medians, the
median paired ratio over the series, and the count of identical trees.

- fetch: `patchtool fetch MBOX -o DIR` vs `b4 --offline-mode am -m MBOX -o DIR` (both read
  the same file and write an am-ready mbox).
- apply: `patchtool apply MBOX --repo CLONE --base BASE --json` (no checkout: it commits from a
  temporary index) vs `git am -3 AMBOX` in a checkout already at the base (the checkout is reset
  to the base before each run, untimed). AMBOX is the am-ready mbox b4 wrote (a neutral third party).

Usage: python bench/corpus.py SERIES_DIR QEMU_GIT [--truth GITDIR] [--runs 5] [--only fetch|apply]
       [--limit N] [--scratch DIR]
Python modules are byte-compiled first (an installed wheel is; PYTHONDONTWRITEBYTECODE would
otherwise make every run compile patchtool from source).
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import compileall  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "GIT_COMMITTER_NAME": "Bench Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "LC_ALL": "C.UTF-8",
}


@dataclass
class Series:
    msgid: str
    mbox: Path
    base: str
    tip: str
    count: int


@dataclass
class Pairs:
    """Paired CPU times of one series: ours[i] and theirs[i] ran back to back."""

    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)

    def ratio(self) -> float:
        return statistics.median(t / o for o, t in zip(self.ours, self.theirs, strict=True))


def cpu(argv: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, bytes]:
    """Run argv; its CPU seconds (user+sys, with the children it waited for) and its stdout."""
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=ENV)
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in ok:
            sys.exit(
                f"bench: {' '.join(argv)} exited {child.returncode}: {err.decode(errors='replace')[-800:]}"
            )
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, out.read()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True, env=ENV).stdout.decode()


def load_series(directory: Path, limit: int | None) -> list[Series]:
    found = []
    for meta in sorted(directory.glob("*.meta")):
        fields = dict(line.split(" ", 1) for line in meta.read_text().splitlines() if " " in line)
        msgid = meta.name[: -len(".meta")]
        found.append(
            Series(msgid, meta.with_suffix(".mbox"), fields["base"], fields["tip"], int(fields["count"]))
        )
    return found[:limit] if limit else found


def paired(runs: int, ours: Callable[[], float], theirs: Callable[[], float]) -> Pairs:
    pairs = Pairs()
    for i in range(runs):
        if i % 2 == 0:
            pairs.ours.append(ours())
            pairs.theirs.append(theirs())
        else:
            pairs.theirs.append(theirs())
            pairs.ours.append(ours())
    return pairs


class Refused(Exception):
    """patchtool refused a series (exit 2: its mail could not be read); it is counted, not timed."""


class NoB4(Exception):
    """b4 cannot read the series: fetch has no pair to time; apply is still timed and checked, with
    git am fed patchtool's own am-ready mbox (`mbox`) instead of b4's."""

    def __init__(self, mbox: Path) -> None:
        super().__init__("b4 cannot read it")
        self.mbox = mbox


def bench_fetch(s: Series, runs: int, scratch: Path) -> tuple[Pairs, Path]:
    mine, b4dir = scratch / "pt-out", scratch / "b4-out"
    argv = [str(BIN / "patchtool"), "fetch", str(s.mbox)]
    done = subprocess.run(argv, capture_output=True, env=ENV, check=False)
    if done.returncode != 0:
        raise Refused(done.stderr.decode(errors="replace").strip().splitlines()[0][:200])

    def ours() -> float:
        shutil.rmtree(mine, ignore_errors=True)
        return cpu([str(BIN / "patchtool"), "fetch", str(s.mbox), "-o", str(mine)], scratch)[0]

    def theirs() -> float:
        shutil.rmtree(b4dir, ignore_errors=True)
        argv = [str(BIN / "b4"), "--offline-mode", "am", "-m", str(s.mbox), "-o", str(b4dir)]
        return cpu(argv, scratch)[0]

    b4_check = [str(BIN / "b4"), "--offline-mode", "am", "-m", str(s.mbox), "-o", str(b4dir)]
    if subprocess.run(b4_check, capture_output=True, env=ENV, check=False).returncode != 0:
        ours()
        raise NoB4(next(mine.glob("*.mbox")))

    pairs = paired(runs, ours, theirs)
    return pairs, next(b4dir.glob("*.mbx"))


def bench_apply(s: Series, runs: int, clone: Path, ambox: Path) -> tuple[Pairs, bool, bool]:
    heads: list[str] = []

    def ours() -> float:
        argv = [
            str(BIN / "patchtool"),
            "apply",
            str(s.mbox),
            "--repo",
            str(clone),
            "--base",
            s.base,
            "--json",
        ]
        spent, out = cpu(argv, clone, ok=(0, 1))
        heads.append(json.loads(out).get("head") or "")
        return spent

    def theirs() -> float:
        subprocess.run(["git", "am", "--abort"], cwd=clone, capture_output=True, check=False)
        git(clone, "checkout", "-q", "--detach", "-f", s.base)
        return cpu(["git", "am", "-3", "-q", str(ambox)], clone, ok=(0, 128))[0]

    pairs = paired(runs, ours, theirs)
    am_head = git(clone, "rev-parse", "HEAD").strip()
    return (
        pairs,
        bool(heads[-1]) and tree(clone, heads[-1]) == TRUTH[s.tip],
        tree(clone, am_head) == TRUTH[s.tip],
    )


TRUTH: dict[str, str] = {}


def tree(repo: Path, rev: str) -> str:
    return git(repo, "rev-parse", f"{rev}^{{tree}}").strip()


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def report_line(name: str, s: Series, pairs: Pairs, extra: str = "") -> str:
    o, t = median(pairs.ours), median(pairs.theirs)
    ratio = pairs.ratio()
    figures = f"ours {o:6.3f}s  theirs {t:6.3f}s  paired x{ratio:5.2f}"
    return f"{name:5} {s.count:3}p  {figures}  {extra}{s.msgid[:60]}"


def summary(name: str, other: str, results: list[Pairs]) -> str:
    ours = sum(median(p.ours) for p in results)
    theirs = sum(median(p.theirs) for p in results)
    ratios = [p.ratio() for p in results]
    return (
        f"{name}: patchtool {ours:.2f}s vs {other} {theirs:.2f}s in total (patchtool/{other} = "
        f"{ours / theirs:.2f}); median paired speed-up {statistics.median(ratios):.2f}x "
        f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x) over {len(results)} series"
    )


def prepare(qemu: Path, scratch: Path) -> Path:
    import patchtool

    compileall.compile_dir(Path(patchtool.__file__).parent, quiet=1)
    clone = scratch / "qemu"
    if not clone.exists():
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(qemu), str(clone)], check=True)
        git(clone, "config", "user.name", "Bench Committer")
        git(clone, "config", "user.email", "committer@example.org")
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("series_dir", type=Path)
    parser.add_argument("qemu_git", type=Path)
    parser.add_argument("--truth", type=Path, help="a repository holding the tips (default QEMU_GIT)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("fetch", "apply"))
    parser.add_argument("--limit", type=int)
    parser.add_argument("--skip", type=int, default=0, help="start after this many series")
    parser.add_argument("--scratch", type=Path)
    args = parser.parse_args()
    scratch = (args.scratch or Path(tempfile.mkdtemp(prefix="pt-corpus-"))).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    clone = prepare(args.qemu_git.resolve(), scratch)
    truth = (args.truth or args.qemu_git).resolve()
    fetches: list[Pairs] = []
    applies: list[Pairs] = []
    same = same_am = 0
    series = load_series(args.series_dir, args.limit)[args.skip :]
    refused = 0
    for s in series:
        TRUTH[s.tip] = git(truth, "rev-parse", f"{s.tip}^{{tree}}").strip()
        no_b4 = ""
        try:
            fetch, ambox = bench_fetch(s, args.runs, scratch)
        except Refused as e:
            refused += 1
            print(f"REFUSED {s.count:3}p  {s.msgid[:60]}: {e}", flush=True)
            continue
        except NoB4 as e:
            print(f"NO-B4   {s.count:3}p  {s.msgid[:60]}: b4 cannot read it, fetch not timed", flush=True)
            fetch, ambox, no_b4 = Pairs(), e.mbox, "(git am fed patchtool's mbox) "
        if args.only != "apply" and not no_b4:
            fetches.append(fetch)
            print(report_line("fetch", s, fetch), flush=True)
        if args.only != "fetch":
            ambox = shutil.copy(ambox, scratch / "am.mbox")
            pairs, identical, am_identical = bench_apply(s, args.runs, clone, Path(ambox))
            applies.append(pairs)
            same, same_am = same + identical, same_am + am_identical
            mark = "same-tree " if identical else "DIFFERENT "
            print(report_line("apply", s, pairs, mark + no_b4), flush=True)
    if fetches:
        print(summary("fetch", "b4", fetches))
    if applies:
        print(summary("apply", "git-am-3", applies).replace("speed-up", "git-am/patchtool"))
        print(f"apply: identical trees: patchtool {same}/{len(series)}, git am -3 {same_am}/{len(applies)}")
    print(f"refused by patchtool (mail it could not read; not timed, not identical): {refused}/{len(series)}")


if __name__ == "__main__":
    main()
