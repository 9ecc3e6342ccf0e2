"""Path-limited bisect ranges (`patchtool bisect ... -- PATH...`) on a REAL repository, against git's.

For COUNT ranges drawn with SEED on the first-parent line of --bad (a range of L first-parent steps,
L drawn from --lengths, ending up to --spread steps before --bad) and, for each, a path drawn from
the directories of its bad end (top level or one below, among those some commit of the range
changes), it lists the candidates with patchtool's graph code (`bisection.ranges.range_graph`, as
the driver does) and with git's (`git rev-list --bisect-all`, the commits git bisect start -- PATH
picks from). Checked per range:

* the candidates are git's, plus the bad end when it does not change the path;
* the graph's ancestry among the candidates (through the parents it rewrote) is the real
  history's, which the search stands on: a commit is bad exactly when it descends from the culprit;
* the time of the listing, and of the listing without the path.

Usage: python bench/bisect_paths.py /work/scratch/qemu-work/qemu --bad master --count 30 --seed 1
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py, beside this file, is named like the stdlib module: drop this directory from the
# import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchtool.bisection.ranges import range_graph  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402


def git(repo: Path, *args: str) -> str:
    """Read-only git on the repository (argv list, no shell)."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, text=True).stdout


def draw(repo: Path, bad: str, count: int, seed: int, lengths: list[int], spread: int) -> list[tuple]:
    """(good, bad, path) triples: first-parent ranges and a directory some commit of each changes."""
    rng = random.Random(seed)
    line = git(repo, "rev-list", "--first-parent", f"-{spread + max(lengths) + 1}", bad).split()
    out = []
    while len(out) < count:
        end, length = rng.randrange(spread), rng.choice(lengths)
        good, tip = line[end + length], line[end]
        changed = git(repo, "diff", "--name-only", good, tip).split()
        dirs = sorted(
            {"/".join(f.split("/")[:depth]) for f in changed for depth in (1, 2) if f.count("/") >= depth}
        )
        if dirs:
            out.append((good, tip, rng.choice(dirs)))
    return out


def check(repo: Path, good: str, bad: str, path: str) -> dict:
    grepo = GitRepo(repo)
    t0 = time.perf_counter()
    shas, history, _ = range_graph(grepo, [good], bad, False, [path])
    limited = time.perf_counter() - t0
    t0 = time.perf_counter()
    whole, _, _ = range_graph(grepo, [good], bad, False)
    unlimited = time.perf_counter() - t0
    listed = git(repo, "rev-list", "--bisect-all", bad, f"^{good}", "--", path).splitlines()
    theirs = {line.split()[0] for line in listed if line.strip()}
    ours = set(shas[1:])
    bad_changes = bad in theirs
    same = ours == theirs | {bad} and (bad_changes or len(ours) == len(theirs) + 1)
    # The graph's ancestry among the candidates is the real one: a commit is bad exactly when it
    # descends from the culprit, so the search stands on it.
    index = {sha: i for i, sha in enumerate(shas)}
    wrong_parents = 0
    for pos in range(1, len(shas)):
        real = {index[a] for a in git(repo, "rev-list", shas[pos], f"^{good}").split() if a in index}
        graph = {i for i in range(1, len(shas)) if history.is_ancestor(i, pos)}
        wrong_parents += real != graph
    return {
        "range": len(whole) - 1, "candidates": len(ours), "git": len(theirs), "same": same,
        "bad_changes": bad_changes, "wrong_parents": wrong_parents,
        "limited_s": limited, "whole_s": unlimited,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--bad", default="master")
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lengths", default="10,50,200", help="first-parent steps per range, drawn from these")
    ap.add_argument("--spread", type=int, default=2000, help="ranges end up to this many steps before --bad")
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    rows = []
    for good, bad, path in draw(args.repo, args.bad, args.count, args.seed, lengths, args.spread):
        r = check(args.repo, good, bad, path)
        rows.append(r)
        flag = "" if r["same"] and not r["wrong_parents"] else "  MISMATCH"
        print(
            f"{good[:10]}..{bad[:10]} -- {path}: {r['candidates']} of {r['range']} commits"
            f" (git {r['git']}, bad end {'changes' if r['bad_changes'] else 'does not change'} it),"
            f" {r['limited_s']:.2f} s vs {r['whole_s']:.2f} s{flag}"
        )
    bad_rows = [r for r in rows if not r["same"] or r["wrong_parents"]]
    share = statistics.median(r["candidates"] / r["range"] for r in rows)
    print(f"{len(rows)} ranges: {len(rows) - len(bad_rows)} match git's candidates and the real ancestry;")
    print(f"  median share of the range searched {share:.3f}; median listing time"
          f" {statistics.median(r['limited_s'] for r in rows):.2f} s with the path,"
          f" {statistics.median(r['whole_s'] for r in rows):.2f} s without")  # fmt: skip
    return 1 if bad_rows else 0


if __name__ == "__main__":
    sys.exit(main())
