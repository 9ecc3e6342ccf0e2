"""The parallel round planner over the real bisection core, with seeded random probes."""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence

from patchtool.bisection.core import BisectState
from patchtool.cluster.rounds import RoundResult, plan_round, run_rounds, share_for


def _bisect(n: int, p: float, q: float, width: int, seed: int, share: float) -> tuple[int, bool, int]:
    rng = random.Random(seed)
    culprit = rng.randint(1, n)
    state = BisectState(n)

    def probe(picks: Sequence[tuple[int, int]]) -> list[RoundResult]:
        return [RoundResult(i, tuple(rng.random() < (p if i >= culprit else q) for _ in range(k)))
                for i, k in picks]

    rounds = run_rounds(state, width, probe, share=share)
    return rounds, state.result().culprit == culprit, state.runs


def test_four_workers_need_far_fewer_rounds_and_still_name_the_culprit() -> None:
    for share in (0.5, 1.0):
        one = [_bisect(64, 0.8, 0.0, 1, s, share) for s in range(12)]
        four = [_bisect(64, 0.8, 0.0, 4, s, share) for s in range(12)]
        assert all(ok for _, ok, _ in one + four)
        assert statistics.mean(r for r, _, _ in four) < 0.6 * statistics.mean(r for r, _, _ in one)


def test_a_round_runs_the_sequential_probe_and_spreads_the_rest() -> None:
    state = BisectState(64)
    assert plan_round(state, 1) == [(64, 1)]  # calibration at the bad end comes first
    for _ in range(6):
        state.observe(64, True)
    for _ in range(3):
        state.observe(0, False)
    plan = plan_round(state, 4, share=0.5)
    assert sum(k for _, k in plan) == 4 and len({i for i, _ in plan}) == len(plan)
    assert plan_round(state, 4, share=1.0) == [(plan[0][0], 4)]


def test_untestable_commits_are_marked_not_counted() -> None:
    state = BisectState(8)
    run_rounds(state, 2, lambda picks: [RoundResult(i, None) for i, _ in picks], max_rounds=1)
    assert state.runs == 0 and state.is_untestable(8)


def test_the_share_follows_the_measured_costs() -> None:
    assert share_for(build_seconds=20.0, run_seconds=10.0) == 1.0
    assert share_for(build_seconds=1.0, run_seconds=30.0) == 0.5
