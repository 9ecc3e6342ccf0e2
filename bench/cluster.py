"""Cluster benchmark: wall time of test repeats (and bisect) with W Dask workers on loopback.

Usage: python -P bench/cluster.py [--workers 1 2 4] [--repeat 64] [--sleep 0.5] [--rounds 3]
       python -P bench/cluster.py --bisect [--workers 1 2 4] [--n 256] [--p 0.5] [--q 0.05]
              [--trials 8] [--run-s 0.1] [--build-runs 2] [--seed 1]

Each test run is a sleep, so the figures measure patchtool's distribution, not the CPU of this
machine. Every W gets a fresh loopback cluster.
Repeats: a meson test that sleeps; the builds are warmed first (one task per worker), then
`repeat` runs are timed `rounds` times and the median is printed beside the speedup over W=1.
Bisect: the real bisect driver with `ClusterProber` (what `bisect --cluster` runs) over a real git
history of N commits, a culprit drawn per trial and `--jobs W`; each run is a task that sleeps
`run-s` (plus `build-runs` x run-s when its worker last built another commit) and fails with
probability p at a bad commit, q at a good one.
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


def sim_probe(repo: str, commit: str, spec: object, runs: int) -> list[str]:
    """A bisect probe on a worker: build when this worker last built another commit, then run.

    The commit's message says whether it is bad and the cell's p, q (written by make_range); the
    run sleeps instead of testing, so only patchtool's distribution is measured.
    """
    import random
    import subprocess as sp

    from distributed import get_worker

    worker = get_worker()
    last = worker.__dict__.setdefault("_patchtool_bench_last", {})
    message = sp.run(["git", "-C", repo, "log", "-1", "--format=%B", commit], capture_output=True,
                     text=True, check=True).stdout
    fields = dict(part.split("=") for part in message.split())
    if last.get(repo) != commit:
        time.sleep(float(fields["build"]))
        last[repo] = commit
    out = []
    for _ in range(runs):
        time.sleep(float(fields["run"]))
        fail = random.random() < float(fields["p"] if fields["bad"] == "1" else fields["q"])
        out.append("fail" if fail else "pass")
    return out


def make_range(root: Path, args: argparse.Namespace, culprit: int, tag: str) -> tuple[Path, str, str]:
    """A linear history of N candidates after a good commit; commits from `culprit` on are bad."""
    repo = root / f"range-{tag}"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    build_s = args.build_runs * args.run_s
    lines = []
    for i in range(args.n + 1):
        msg = f"bad={int(i >= culprit and i > 0)} p={args.p} q={args.q} run={args.run_s} build={build_s}"
        lines += ["commit refs/heads/main", f"mark :{i + 1}",
                  f"committer b <b@b> {1700000000 + i} +0000", f"data {len(msg)}", msg]
        if i:
            lines.append(f"from :{i}")
        lines.append("")
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input="\n".join(lines).encode(),
                   check=True)
    shas = subprocess.run(["git", "-C", str(repo), "rev-list", "--reverse", "main"], capture_output=True,
                          text=True, check=True).stdout.split()
    return repo, shas[0], shas[-1]


def bisect_trial(
    cluster: Cluster, args: argparse.Namespace, root: Path, width: int, seed: int
) -> tuple[bool, float, int, int]:
    import random

    from patchtool.bisection.driver import run_bisect
    from patchtool.bisection.options import BisectOptions
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.cluster.prober import ClusterProber
    from patchtool.vcs.repo import GitRepo

    culprit = random.Random(seed).randint(1, args.n)
    repo, good, bad = make_range(root, args, culprit, f"{seed}-{width}")
    shas = subprocess.run(["git", "-C", str(repo), "rev-list", "--reverse", "main"], capture_output=True,
                          text=True, check=True).stdout.split()
    spec = ProbeSpec(command=f"sim-{seed}-{width}")  # a distinct store key per trial
    prober = ClusterProber(cluster, str(repo), spec, task=sim_probe)
    options = BisectOptions(good, bad, confidence=args.confidence, jobs=width)
    start = time.monotonic()
    with Store(root / f"store-{seed}-{width}.sqlite3") as store:
        report = run_bisect(GitRepo(repo), store, spec, options, prober)
    wall = time.monotonic() - start
    named = report.culprit.sha if report.culprit else None
    return named == shas[culprit], wall, report.runs, report.builds


def bench_bisect(args: argparse.Namespace, root: Path) -> None:
    from distributed import LocalCluster

    print(f"bisect N={args.n} p={args.p} q={args.q} at --confidence {args.confidence}; run {args.run_s}s, "
          f"build {args.build_runs} runs; {args.trials} trials per W, seeds from {args.seed}")
    print(f"{'W':>3} {'wall s (mean)':>14} {'speedup':>8} {'wrong':>6} {'runs':>6} {'builds':>6}")
    base = None
    for w in args.workers:
        local = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None, silence_logs=50)
        try:
            cluster = connect(local.scheduler_address, timeout=60, min_workers=w)
            results = [bisect_trial(cluster, args, root, w, args.seed + t) for t in range(args.trials)]
            cluster.close()
        finally:
            local.close()
        wall = statistics.mean(r[1] for r in results)
        base = base or wall
        wrong = sum(not r[0] for r in results)
        runs, builds = (statistics.mean(r[k] for r in results) for k in (2, 3))
        row = f"{w:>3} {wall:>14.2f} {base / wall:>8.2f} {wrong:>3}/{len(results):<2}"
        print(f"{row} {runs:>6.1f} {builds:>6.1f}", flush=True)


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
    parser.add_argument("--confidence", type=float, default=0.99)
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
