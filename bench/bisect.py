"""Benchmark bisection strategies on simulated flaky histories (cost = runs + build_cost * builds).

Each trial places one culprit uniformly among N candidates; a run fails with probability p on bad
commits and q on good ones. Every strategy sees the same instances (same seeds). "builds" counts the
distinct commits a strategy ran (a build per commit, kept); "switches" counts every change of the
commit under test (one build tree, no cache: a return to a commit is built again). cost = runs +
10 * builds, cost_sw = runs + 10 * switches. git bisect style strategies trust the endpoints and
never run them; patchtool calibrates on the bad end (its build and runs are counted).

Usage: python bench/bisect.py [--trials 1000] [--quick] [--jobs 2] [--sizes 64,256,1024] [--only 3,5]
(1000 trials per cell take about 7-10 minutes on 2 cores; --quick about 15 s.)
"""

from __future__ import annotations

import os
import sys

# This file is named like the stdlib module it would shadow when run as a script: drop its own
# directory from the import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import cache  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchtool.bisection.core import BisectState  # noqa: E402
from patchtool.bisection.model import Strategy  # noqa: E402

BUILD_COST = 10
TARGET_ERROR = 0.01


@dataclass(frozen=True)
class Instance:
    n: int
    p: float
    q: float
    seed: int


@dataclass(frozen=True)
class Outcome:
    correct: bool
    runs: int
    builds: int
    switches: int


class Oracle:
    """A flaky test: positions >= culprit fail with probability p, the others with q."""

    def __init__(self, inst: Instance) -> None:
        self.rng = random.Random(inst.seed)
        self.culprit = self.rng.randint(1, inst.n)
        self.inst = inst
        self.runs = 0
        self.switches = 0
        self.built: set[int] = set()
        self._last: int | None = None

    def run(self, position: int) -> bool:
        if position != self._last:
            self.switches += 1
            self.built.add(position)
            self._last = position
        self.runs += 1
        rate = self.inst.p if position >= self.culprit else self.inst.q
        return self.rng.random() < rate

    def outcome(self, named: int | None) -> Outcome:
        return Outcome(named == self.culprit, self.runs, len(self.built), self.switches)


# ----- (a)-(c): git bisect with a per-step verdict rule -------------------------------------------
def bisect_with_rule(oracle: Oracle, k: int, m: int, early_stop: bool) -> int:
    """Classic bisection; a commit is bad if at least m of k runs fail."""
    lo, hi = 0, oracle.inst.n  # lo known good, hi known bad
    while hi - lo > 1:
        mid = (lo + hi) // 2
        fails = 0
        for done in range(1, k + 1):
            fails += oracle.run(mid)
            if early_stop and (fails >= m or fails + (k - done) < m):
                break
        if fails >= m:
            hi = mid
        else:
            lo = mid
    return hi


def strategy_git_bisect(oracle: Oracle) -> int:
    return bisect_with_rule(oracle, 1, 1, early_stop=False)


def strategy_ten_runs(oracle: Oracle) -> int:
    # The habit in seed 004: `--repeat 10` runs all ten, any failure means bad.
    return bisect_with_rule(oracle, 10, 1, early_stop=False)


# ----- tuning the m-of-k rule knowing p and q (exact, by dynamic programming) -------------------
def _verdict_stats(k: int, m: int, rate: float) -> tuple[float, float]:
    """P(verdict bad) and E[runs] of "m of k" with early stop, for a commit failing at ``rate``."""
    # state: distribution of failures after t runs among undecided paths
    dist = {0: 1.0}
    p_bad = 0.0
    runs = 0.0
    for t in range(k):
        runs += sum(dist.values())
        nxt: dict[int, float] = {}
        for f, w in dist.items():
            for nf, pw in ((f + 1, w * rate), (f, w * (1 - rate))):
                if pw == 0.0:
                    continue
                if nf >= m:
                    p_bad += pw
                elif nf + (k - t - 1) < m:
                    continue  # decided good
                else:
                    nxt[nf] = nxt.get(nf, 0.0) + pw
        dist = nxt
    return p_bad, runs


def rule_error_and_cost(n: int, k: int, m: int, p: float, q: float) -> tuple[float, float]:
    """Exact error and expected cost of bisection with the m-of-k rule, culprit uniform."""
    pb_bad, runs_bad = _verdict_stats(k, m, p)
    pb_good, runs_good = _verdict_stats(k, m, q)
    step_bad = runs_bad + BUILD_COST
    step_good = runs_good + BUILD_COST

    @cache
    def uniform_cost(size: int, kind: str) -> float:
        # size candidates (lo, hi]; kind: all bad / all good side (culprit outside)
        if size <= 1:
            return 0.0
        left = size // 2
        step = step_bad if kind == "bad" else step_good
        p_go_left = pb_bad if kind == "bad" else pb_good
        return step + p_go_left * uniform_cost(left, kind) + (1 - p_go_left) * uniform_cost(size - left, kind)

    @cache
    def mixed(size: int) -> tuple[float, float]:
        if size <= 1:
            return 1.0, 0.0
        left = size // 2
        a = left / size
        ok_l, cost_l = mixed(left)
        ok_r, cost_r = mixed(size - left)
        ok = a * pb_bad * ok_l + (1 - a) * (1 - pb_good) * ok_r
        cost = a * (step_bad + pb_bad * cost_l + (1 - pb_bad) * uniform_cost(size - left, "bad"))
        cost += (1 - a) * (step_good + (1 - pb_good) * cost_r + pb_good * uniform_cost(left, "good"))
        return ok, cost

    ok, cost = mixed(n)
    return 1 - ok, cost


@cache
def tune_rule(n: int, p: float, q: float) -> tuple[int, int]:
    """The cheapest (k, m) whose exact error is at most 1 %."""
    best: tuple[float, int, int] | None = None
    for k in range(1, 200):
        for m in range(1, min(k, 12) + 1):
            err, cost = rule_error_and_cost(n, k, m, p, q)
            if err <= TARGET_ERROR and (best is None or cost < best[0]):
                best = (cost, k, m)
        if best is not None and k > 2 * best[1] + 20:
            break
    if best is None:
        raise RuntimeError(f"no m-of-k rule reaches 99 % for n={n} p={p} q={q}")
    return best[1], best[2]


def strategy_tuned(oracle: Oracle) -> int:
    inst = oracle.inst
    k, m = tune_rule(inst.n, inst.p, inst.q)
    return bisect_with_rule(oracle, k, m, early_stop=True)


# ----- (d) git-bayesect, driven through its Python API ------------------------------------------
def strategy_bayesect(oracle: Oracle) -> int:
    import numpy as np
    from git_bayesect import Bisector

    n = oracle.inst.n
    # git_bayesect indexes newest first: index j is position n - j; the good end (j = n) is excluded.
    prior = np.ones(n + 1)
    prior[n] = 0.0
    bisector = Bisector(prior)
    with np.errstate(all="ignore"):  # its log of the zero prior weight warns; the result is right
        while float(bisector.distribution.max()) < 0.99 and oracle.runs < 20000:
            j = bisector.select()
            bisector.record(j, oracle.run(n - j))
        return n - int(np.argmax(bisector.distribution))


# ----- (e) patchtool ------------------------------------------------------------------------------
def strategy_patchtool(oracle: Oracle) -> int | None:
    state = BisectState(oracle.inst.n, Strategy(confidence=0.99, build_cost_in_runs=BUILD_COST))
    while (probe := state.next_probe()) is not None:
        state.observe(probe.index, oracle.run(probe.index))
    return state.result().culprit


STRATEGIES: dict[str, Callable[[Oracle], int | None]] = {
    "git bisect, 1 run/step": strategy_git_bisect,
    "10 runs/step, any fail=bad": strategy_ten_runs,
    "tuned m-of-k (knows p,q)": strategy_tuned,
    "git-bayesect 1.2 (conf 0.99)": strategy_bayesect,
    "patchtool (p,q unknown)": strategy_patchtool,
}


def run_cell(args: tuple[str, int, float, float, int]) -> tuple[str, int, float, float, list[Outcome]]:
    name, n, p, q, trials = args
    outcomes = []
    for t in range(trials):
        inst = Instance(n, p, q, seed=n * 1_000_003 + round(p * 1000) * 10_007 + round(q * 1000) * 101 + t)
        oracle = Oracle(inst)
        outcomes.append(oracle.outcome(STRATEGIES[name](oracle)))
    return name, n, p, q, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials per cell (seeded)")
    parser.add_argument("--quick", action="store_true", help="60 trials, N = 64 and 256 only")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sizes", default="64,256,1024")
    parser.add_argument("--only", default="", help="comma-separated strategy numbers, e.g. 3,5")
    args = parser.parse_args()
    trials = 60 if args.quick else args.trials
    sizes = [64, 256] if args.quick else [int(s) for s in args.sizes.split(",")]
    names = list(STRATEGIES)
    if args.only:
        names = [names[int(i) - 1] for i in args.only.split(",")]
    cells = [
        (name, n, p, q, trials) for n in sizes for p in (0.5, 0.2) for q in (0.0, 0.02) for name in names
    ]
    start = time.time()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_cell, cells))
    print_table(results, trials)
    print(f"\n{trials} trials per cell, build cost {BUILD_COST} runs, {time.time() - start:.0f} s")


Row = tuple[str, int, float, float, list[Outcome]]
Costs = dict[tuple[int, float, float, str], tuple[float, float]]


def print_table(results: list[Row], trials: int) -> None:
    head = f"{'N':>5} {'p':>4} {'q':>5}  {'strategy':<30} {'runs':>7} {'builds':>6} {'switch':>6}"
    print(head + f" {'cost':>7} {'cost_sw':>7} {'error':>6}")
    costs: Costs = {}
    for name, n, p, q, outs in results:
        runs = sum(o.runs for o in outs) / len(outs)
        builds = sum(o.builds for o in outs) / len(outs)
        switches = sum(o.switches for o in outs) / len(outs)
        cost, cost_sw = runs + BUILD_COST * builds, runs + BUILD_COST * switches
        err = 1 - sum(o.correct for o in outs) / len(outs)
        costs[(n, p, q, name)] = (cost, cost_sw)
        print(
            f"{n:>5} {p:>4} {q:>5}  {name:<30} {runs:7.1f} {builds:6.1f} {switches:6.1f}"
            f" {cost:7.1f} {cost_sw:7.1f} {err:6.1%}"
        )
    print_ratios(costs)


def print_ratios(costs: Costs) -> None:
    names = list(STRATEGIES)
    ours, tuned, bayes = names[4], names[2], names[3]
    print(
        "\npatchtool cost divided by the other's (targets: <= 1.40 vs tuned m-of-k, < 1.00 vs git-bayesect)"
    )
    print(f"{'N':>5} {'p':>4} {'q':>5}  {'/tuned':>7} {'/bayesect':>9} {'/tuned_sw':>9} {'/bayesect_sw':>12}")
    for n, p, q, name in sorted(costs):
        if name != ours:
            continue
        mine = costs[(n, p, q, ours)]
        t = costs.get((n, p, q, tuned), (math.nan, math.nan))
        b = costs.get((n, p, q, bayes), (math.nan, math.nan))
        print(
            f"{n:>5} {p:>4} {q:>5}  {mine[0] / t[0]:7.2f} {mine[0] / b[0]:9.2f}"
            f" {mine[1] / t[1]:9.2f} {mine[1] / b[1]:12.2f}"
        )


if __name__ == "__main__":
    main()
