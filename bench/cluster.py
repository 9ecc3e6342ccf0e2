"""Cluster benchmark: wall time of test repeats (and bisect) with W Dask workers on loopback.

Usage: python -P bench/cluster.py [--workers 1 2 4] [--repeat 64] [--sleep 0.5] [--rounds 3]
       python -P bench/cluster.py --bisect [--workers 1 2 4] [--n 256] [--p 0.5] [--q 0.05]
              [--trials 8] [--run-s 0.1] [--build-runs 2] [--seed 1]

Each test run is a sleep, so the figures measure patchtool's distribution, not the CPU of this
machine. Every W gets a fresh loopback cluster.
Repeats: a meson test that sleeps; the builds are warmed first (one task per worker), then
`repeat` runs are timed `rounds` times and the median is printed beside the speedup over W=1.
Bisect: the real bisection core and the cluster's round planner over N commits, a culprit drawn
per trial; each run is a task that sleeps `run-s` (plus `build-runs` x run-s when its worker last
built another commit) and fails with probability p at a bad commit, q at a good one.
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


def sim_run(trial: str, position: int, bad: bool, p: float, q: float, build_s: float, run_s: float,
            seed: int) -> bool:
    """One simulated run on a worker: build when this worker last built another commit, then run."""
    import random

    from distributed import get_worker

    worker = get_worker()
    last = worker.__dict__.setdefault("_patchtool_bench_last", {})
    if last.get(trial) != position:
        time.sleep(build_s)
        last[trial] = position
    time.sleep(run_s)
    return random.Random(seed).random() < (p if bad else q)


def bisect_trial(
    cluster: Cluster, args: argparse.Namespace, width: int, seed: int
) -> tuple[bool, float, int]:
    import random

    from patchtool.bisection.core import BisectState
    from patchtool.cluster.rounds import run_rounds, share_for

    rng = random.Random(seed)
    culprit = rng.randint(1, args.n)
    state = BisectState(args.n)
    trial = f"t{seed}-{width}"
    build_s = args.build_runs * args.run_s

    def task(position: int) -> tuple[object, tuple[object, ...]]:
        return sim_run, (trial, position, position >= culprit, args.p, args.q, build_s, args.run_s,
                         rng.getrandbits(64))

    start = time.monotonic()
    run_rounds(state, width, lambda picks: cluster.probe_round(picks, task),  # type: ignore[arg-type]
               share=share_for(build_s, args.run_s))
    return state.result().culprit == culprit, time.monotonic() - start, state.runs


def bench_bisect(args: argparse.Namespace, root: Path) -> None:
    from distributed import LocalCluster

    print(f"bisect N={args.n} p={args.p} q={args.q}, run {args.run_s}s, build {args.build_runs} runs; "
          f"{args.trials} trials per W, seeds from {args.seed}")
    print(f"{'W':>3} {'wall s (mean)':>14} {'speedup':>8} {'wrong':>6} {'runs':>6}")
    base = None
    for w in args.workers:
        local = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None, silence_logs=50)
        try:
            cluster = connect(local.scheduler_address, timeout=60, min_workers=w)
            results = [bisect_trial(cluster, args, w, args.seed + t) for t in range(args.trials)]
            cluster.close()
        finally:
            local.close()
        wall = statistics.mean(r[1] for r in results)
        base = base or wall
        wrong = sum(not r[0] for r in results)
        print(f"{w:>3} {wall:>14.2f} {base / wall:>8.2f} {wrong:>3}/{len(results):<2} "
              f"{statistics.mean(r[2] for r in results):>6.1f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=64)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bisect", action="store_true")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--q", type=float, default=0.05)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--run-s", type=float, default=0.1)
    parser.add_argument("--build-runs", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patchtool-cluster-bench-") as tmp:
        root = Path(tmp)
        if args.bisect:
            bench_bisect(args, root)
            return 0
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
