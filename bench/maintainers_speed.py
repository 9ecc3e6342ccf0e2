"""Benchmark: who looks after each file of a series that touches thousands of files.

Usage: python bench/maintainers_speed.py QEMU MBOX [--runs N]

QEMU is a checkout (its MAINTAINERS is read at HEAD); MBOX a series. The bench takes every path
the series' diffs name and times, as the report does, the sections covering them and the owners
of each file read off those (`subsystems_for` and `owners_in`), median of N runs. Beside it, side by side, it
times the F:/X: rule applied one pattern at a time with a regex built at each test (as the code
did before the patterns of a section were compiled once), and checks that both give every file the
same sections.
"""

from __future__ import annotations

import os
import sys

# bench/ holds a bisect.py that would shadow the standard library's bisect (used by statistics).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.review import maintainers as mt  # noqa: E402

_DIFF_PATH = re.compile(rb"^diff --git a/(\S+) b/(\S+)$", re.M)


def _reference_matches(path: str, pattern: str) -> bool:
    """The F:/X: rule one pattern at a time, its regex built at each test."""
    glob = re.compile(
        "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in pattern)
    )
    if pattern.endswith("/"):
        return glob.match(path) is not None
    if glob.fullmatch(path):
        return True
    return not any(c in pattern for c in "*?") and path.startswith(pattern.rstrip("/") + "/")


def _reference_sections(maint: mt.Maintainers, path: str) -> tuple[str, ...]:
    hits = []
    for s in maint.sections:
        if any(_reference_matches(path, x) for x in s.excludes):
            continue
        if any(_reference_matches(path, f) for f in s.files) or any(
            re.search(n, path) for n in s.name_regexes
        ):
            hits.append(s.name)
    return tuple(hits)


def _timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("qemu", type=Path)
    ap.add_argument("mbox", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    text = subprocess.run(
        ["git", "-C", str(args.qemu), "show", "HEAD:MAINTAINERS"], capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    maint = mt.parse_maintainers(text)
    raw = args.mbox.read_bytes()
    named = (p.decode("utf-8", "replace") for m in _DIFF_PATH.finditer(raw) for p in m.groups())
    paths = list(dict.fromkeys(named))
    patterns = sum(len(s.files) + len(s.excludes) for s in maint.sections)
    print(f"{len(paths)} paths, {len(maint.sections)} sections, {patterns} F:/X: patterns")

    def now() -> dict[str, tuple[str, ...]]:
        mt._covering.cache_clear()  # each run compiles the patterns again, as a new report does
        owners = mt.owners_in(mt.subsystems_for(maint, paths), paths)  # as review_status does
        return {o.path: o.sections for o in owners}

    def before() -> dict[str, tuple[str, ...]]:
        for p in paths:  # subsystems_for and owners_of each tested every file against every section
            _reference_sections(maint, p)
        return {p: _reference_sections(maint, p) for p in paths}

    t_now, got = _timed(now, args.runs)
    t_before, want = _timed(before, args.runs)
    same = got == want
    print(f"compiled once per section: {t_now:.2f} s (median of {args.runs})")
    print(f"a regex per test:          {t_before:.2f} s (median of {args.runs})")
    print(f"ratio {t_before / t_now:.1f}x; same sections for every file: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
