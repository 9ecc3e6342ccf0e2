"""Benchmark: `patchtool report --repo` on one real series, this tree against an earlier commit.

Usage: python bench/report_speed.py MBOX QEMU --base BASE --baseline REV [--runs 3]

REV is a commit of this repository: it is checked out in a temporary worktree (removed at the
end) and run with the same interpreter. The two are run alternately (the baseline first on odd
rounds), each as `python -m patchtool report MBOX --format json --repo QEMU --base BASE` from its
own tree; printed are the wall-clock medians, the median of the paired ratios, and whether the
two reports say the same (findings, sections, each patch's functions; the applied commits' ids
differ with their dates).
"""

from __future__ import annotations

import os
import sys

# bench/ holds a bisect.py that would shadow the standard library's bisect (used by statistics).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _run(tree: Path, args: argparse.Namespace) -> tuple[float, dict[str, Any]]:
    argv = [sys.executable, "-m", "patchtool", "report", str(args.mbox.resolve()), "--format", "json"]
    argv += ["--repo", str(args.qemu.resolve()), "--base", args.base]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=tree, capture_output=True, check=False)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{tree}: report exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return took, json.loads(done.stdout)


def _said(report: dict[str, Any]) -> object:
    return report["findings"], report["subsystems"], [p["functions"] for p in report["patches"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mbox", type=Path)
    ap.add_argument("qemu", type=Path)
    ap.add_argument("--base", required=True)
    ap.add_argument("--baseline", required=True, help="a commit of this repository")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="patchtool-baseline-") as scratch:
        old = Path(scratch) / "tree"
        add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.baseline]
        subprocess.run(add, check=True)
        try:
            now_t: list[float] = []
            old_t: list[float] = []
            ratios: list[float] = []
            same = True
            for i in range(args.runs):
                order = [(old, old_t), (ROOT, now_t)] if i % 2 else [(ROOT, now_t), (old, old_t)]
                said = []
                for tree, times in order:
                    took, report = _run(tree, args)
                    times.append(took)
                    said.append(_said(report))
                    name = "baseline" if tree == old else "this tree"
                    print(f"round {i + 1}: {name} {took:.1f} s", flush=True)
                same = same and said[0] == said[1]
                ratios.append(old_t[-1] / now_t[-1])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print(
        f"this tree: {statistics.median(now_t):.1f} s, baseline {args.baseline}: "
        f"{statistics.median(old_t):.1f} s (medians of {args.runs}); "
        f"paired ratio {statistics.median(ratios):.1f}x; same report: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
