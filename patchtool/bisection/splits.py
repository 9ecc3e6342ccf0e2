"""Where to split next (design note, 4.6): on a line the middle of the bracket, as git bisect does,
else the posterior median; on a DAG the commit whose P(bad) is nearest the target. Pure functions
of the history, the posterior's P(bad) and the commits that cannot be tested."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from patchtool.bisection.graph import GOOD_END, History
from patchtool.bisection.model import Strategy
from patchtool.bisection.stats import binary_entropy

ProbBad = Callable[[int], float]


def best_split(
    history: History,
    tested: Callable[[], Iterable[int]],
    prob_bad: ProbBad,
    untestable: Collection[int],
    strategy: Strategy,
) -> int | None:
    """Where to test next: on a line the middle of the bracket, else the posterior median.
    ``tested`` gives the positions with runs, oldest first (asked for on a line only)."""
    n = history.n
    if not history.is_chain:
        return _graph_split(n, prob_bad, untestable, strategy.split_target)
    found = _bracket(n, tested(), prob_bad, strategy.bracket_mass)
    if found is not None:
        lo, hi = found
        mid = (lo + hi) // 2
        options = [_testable_near(mid + 1, -1, n, untestable), _testable_near(mid, +1, n, untestable)]
        inside = [i for i in options if i is not None and lo < i < hi]
        if inside:
            return min(inside, key=lambda i: abs(i - (lo + hi) / 2))
    return _median_split(n, prob_bad, untestable, strategy.split_target)


def prefer_built(
    split: int | None,
    built: Collection[int],
    prob_bad: ProbBad,
    passed_over: Collection[int],
    strategy: Strategy,
) -> int | None:
    """A commit already built instead of a new split when a run there is nearly as informative:
    its P(bad) is unresolved and its binary entropy is within ``revisit_slack_bits`` of the split's.

    The first split is left after one clean run for the bad end; by its return the median has
    moved a few commits, and building the new median cost a build the old one (P(bad) near 0.45)
    did not need. Only splits nearly as good qualify, so the number of visits, and the rebuilds a
    single build tree pays for each, stays that of the best split (bench/bisect.py, "1 tree").
    """
    slack = strategy.revisit_slack_bits
    if split is None or split in built or slack <= 0.0:
        return split
    eps = strategy.resolved_epsilon
    floor = binary_entropy(prob_bad(split)) - slack
    best: tuple[float, int] | None = None
    for i in sorted(built):
        if i in passed_over or i == GOOD_END:
            continue
        pb = prob_bad(i)
        bits = binary_entropy(pb)
        if eps < pb < 1 - eps and bits >= floor and (best is None or bits > best[0]):
            best = (bits, i)
    return split if best is None else best[1]


def _bracket(n: int, tested: Iterable[int], prob_bad: ProbBad, bracket_mass: float) -> tuple[int, int] | None:
    """(lo, hi): the last position believed good and the first believed bad, when nearly all
    the mass lies between them. Splitting it in the middle, as git bisect does, keeps builds at
    about log2 of its length instead of drifting with the mass earlier verdicts leave outside."""
    lo, hi = GOOD_END, n
    for t in tested:
        if t == GOOD_END:
            continue
        if prob_bad(t) < 0.5:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
            break
    if hi - lo < 2 or prob_bad(hi) - prob_bad(lo) < bracket_mass:
        return None
    return lo, hi


def _median_split(n: int, prob_bad: ProbBad, untestable: Collection[int], target: float) -> int | None:
    """On a line: the testable interior position whose P(bad) is closest to the target."""
    lo, hi = 1, n - 1
    while lo < hi:  # first position with P(bad) >= target
        mid = (lo + hi) // 2
        if prob_bad(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    near = (_testable_near(lo, -1, n, untestable), _testable_near(lo, +1, n, untestable))
    options = [i for i in near if i is not None]
    if not options:
        return None
    return min(options, key=lambda i: abs(prob_bad(i) - target))


def _graph_split(n: int, prob_bad: ProbBad, untestable: Collection[int], target: float) -> int | None:
    """On a DAG: the testable interior commit whose P(bad) is closest to the target (the
    descendants of a probe share its fate, so this is git bisect's best split, weighed)."""
    best: tuple[float, int] | None = None
    for i in range(1, n):
        if i not in untestable:
            gap = abs(prob_bad(i) - target)
            if best is None or gap < best[0]:
                best = (gap, i)
    return best[1] if best else None


def _testable_near(index: int, step: int, n: int, untestable: Collection[int]) -> int | None:
    """The nearest testable interior position from ``index`` going ``step`` (like skip_away)."""
    i = index if step > 0 else index - 1
    while 1 <= i < n:
        if i not in untestable:
            return i
        i += step
    return None
