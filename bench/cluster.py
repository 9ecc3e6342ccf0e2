"""Cluster benchmark: wall time of test repeats (and bisect) with W Dask workers on loopback.

Usage: python -P bench/cluster.py [--workers 1 2 4] [--repeat 64] [--sleep 0.5] [--rounds 3]

Each test run is a sleep, so the figures measure patchtool's distribution, not the CPU of this
machine. Every W gets a fresh loopback cluster; the builds are warmed first (one task per worker),
then `repeat` runs are timed `rounds` times and the median is printed beside the speedup over W=1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from patchtool.cluster.client import Cluster, connect
from patchtool.cluster.spec import TreeSpec
from patchtool.store import Store

PROJECT = {
    "meson.build": "project('bench', 'c')\nsh = find_program('sh')\n"
    "test('sleepy', sh, args: [files('sleepy.sh')], timeout: 60)\n",
}


def make_repo(root: Path, sleep: float) -> tuple[str, str]:
    repo = root / "repo"
    repo.mkdir()
    (repo / "meson.build").write_text(PROJECT["meson.build"])
    (repo / "sleepy.sh").write_text(f"sleep {sleep}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *argv], cwd=repo, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    return str(repo), head.stdout.strip()


def time_repeats(cluster: Cluster, tree: TreeSpec, repeat: int, store: Store) -> float:
    start = time.monotonic()
    outcome = cluster.run_repeats(tree, ["sleepy"], repeat, store)
    assert len(outcome.records) == repeat, outcome
    return time.monotonic() - start


def bench_workers(workers: int, args: argparse.Namespace, root: Path, tree: TreeSpec) -> float:
    from distributed import LocalCluster

    os.environ["PATCHTOOL_DATA_DIR"] = str(root / f"data-{workers}")
    os.environ["PATCHTOOL_CACHE_DIR"] = str(root / f"cache-{workers}")
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, silence_logs=50)
    try:
        cluster = connect(local.scheduler_address, timeout=60, min_workers=workers)
        with Store(root / f"cache-{workers}" / "client.sqlite3") as store:
            time_repeats(cluster, tree, workers, store)  # warm: every worker builds once
            times = [time_repeats(cluster, tree, args.repeat, store) for _ in range(args.rounds)]
        cluster.close()
    finally:
        local.close()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=64)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patchtool-cluster-bench-") as tmp:
        root = Path(tmp)
        repo, commit = make_repo(root, args.sleep)
        tree = TreeSpec(repo, commit)
        base = None
        print(f"test --repeat {args.repeat}, each run sleeps {args.sleep}s; median of {args.rounds}")
        print(f"{'W':>3} {'wall s':>8} {'speedup':>8} {'0.8*W':>6}")
        for w in args.workers:
            wall = bench_workers(w, args, root, tree)
            base = base or wall * w if w != 1 else wall
            print(f"{w:>3} {wall:>8.2f} {base / wall:>8.2f} {0.8 * w:>6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
