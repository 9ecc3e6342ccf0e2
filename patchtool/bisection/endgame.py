"""Where a search runs near its end (pure, no git): the culprit or its parent once the culprit
holds on average, an endpoint or the culprit when one run there tells more than the split, and
the end game's most information per cost. The functions take the search's state
(core.BisectState)."""

from __future__ import annotations

import math
from typing import Protocol

from patchtool.bisection.graph import GOOD_END, History
from patchtool.bisection.model import Probe, ProbeReason, Strategy
from patchtool.bisection.posterior import Posterior


class BisectState(Protocol):
    """What these functions read of core.BisectState."""

    n: int
    history: History
    strategy: Strategy
    post: Posterior

    @property
    def current(self) -> int | None: ...
    def is_untestable(self, index: int) -> bool: ...
    def parent_of(self, index: int) -> int: ...
    def top_candidate(self) -> tuple[int, float]: ...
    def prob_bad(self, index: int) -> float: ...
    def p_mean(self) -> float: ...
    def q_mean(self) -> float: ...
    def information(self, index: int) -> float: ...


def decide_side(state: BisectState, top: int) -> int:
    """The culprit or its parent, once the culprit holds on average: the culprit until it has
    ``min_culprit_failures``, then the side whose run is expected to move the stop further
    (side_gain), staying on the side being run while its gain is at least 1/``side_stay_ratio``
    of the other's."""
    st = state.strategy
    if state.post.fails[top] < st.min_culprit_failures:
        return top
    parent = state.parent_of(top)
    if state.is_untestable(parent):
        return top
    if state.post.runs[parent] or parent == GOOD_END:
        gain = {side: side_gain(state, top, side) for side in (top, parent)}
        if max(gain.values()) > 0.0:
            # Stay on the side being run while its gain is a fair share of the other's:
            # alternating a run at a time between culprit and parent costs a rebuild per
            # switch with one build tree.
            if state.current in gain:
                other = parent if state.current == top else top
                if gain[state.current] * st.side_stay_ratio >= gain[other]:
                    return state.current
            return max((top, parent), key=lambda side: gain[side])
    # a parent never run (its first run would split the classes): the side with more doubt
    mine, earlier = state.post.pessimistic(top, *st.pessimism)
    return parent if earlier > 1.0 - mine - earlier else top


def side_gain(state: BisectState, top: int, side: int) -> float:
    """How far one run at ``side`` (the culprit or its parent) is expected to move the stop's
    pessimistic P(culprit = top), in log-odds.

    The side with the larger doubt is not always the one whose run shrinks it: a parent's
    doubt that comes from p barely known (a culprit with few failures, no other bad commit
    run) falls faster with runs at the culprit, which narrow p, than with clean runs at the
    parent, each worth little at the pessimistic p.
    """
    st = state.strategy

    def log_odds(index: int | None, failed: bool) -> float:
        mine = state.post.pessimistic_after(top, index, failed, *st.pessimism)[0]
        mine = min(max(mine, 1e-12), 1.0 - 1e-12)
        return math.log(mine / (1.0 - mine))

    pb = state.prob_bad(side)
    fail = pb * state.p_mean() + (1.0 - pb) * state.q_mean()
    expected = fail * log_odds(side, True) + (1.0 - fail) * log_odds(side, False)
    return expected - log_odds(None, False)


def prefer_endpoint(state: BisectState, probe: Probe, waiting: set[int], bad: int | None) -> Probe:
    """Run an endpoint (the bad end, or the stand-in calibrated in its place: once commits between
    have failed it is not calibrated, but where good commits fail too it may hold all p is
    learnt from) when one run there tells more than one run at the split (design 4.6); not a
    bad end that stands by. Likewise the most probable culprit, once run: where p is known
    only from its few failures, a split's doubt can be that p is tiny (every commit before
    it bad, its clean runs luck), which the split's clean runs shrink only polynomially and
    a failure at the culprit by a factor of its share of the runs. ``bad``: core's bad_index().

    Where the most probable culprit's parent is the good end, the good end is weighed first: its
    clean runs are the parent's, which the stop needs. On real QEMU (a first-parent line of 7
    merges, the culprit the first) the bad end, weighed first, beat the split at 0.0001 bits a run
    against the good end's 0.02, and was run 170 times with the search no nearer its stop."""
    best = state.information(probe.index)
    top, _ = state.top_candidate()
    runnable = state.post.runs[top] and top not in waiting and not state.is_untestable(top)
    at_top = state.information(top) if runnable and top != probe.index else -1.0
    ends = (state.n if bad is None else bad, GOOD_END)
    for end in reversed(ends) if state.parent_of(top) == GOOD_END else ends:
        if end in waiting or state.is_untestable(end) or end == probe.index:
            continue
        # a stand-in needs a build the culprit, run already, does not
        if state.information(end) > (best if end in (state.n, GOOD_END) else max(best, at_top)):
            return Probe(end, ProbeReason.ENDPOINT)
    if at_top > best:
        return Probe(top, ProbeReason.CULPRIT)
    return probe


def decide_probe(state: BisectState, split: int | None, waiting: set[int], bad: int | None) -> Probe | None:
    """End game, every commit resolved to epsilon: buy the most information per unit of cost
    (a commit that waits only when nothing else is left; ``bad`` as in prefer_endpoint)."""
    top, _ = state.top_candidate()
    options = {top, *state.history.parents[top], state.n if bad is None else bad, GOOD_END}
    if split is not None:
        options.add(split)
    if state.current is not None:
        options.add(state.current)
    usable = sorted(i for i in options if 0 <= i <= state.n and not state.is_untestable(i))
    usable = [i for i in usable if i not in waiting] or usable
    if not usable:
        return None
    build = state.strategy.build_cost_in_runs

    def value(i: int) -> float:
        return state.information(i) / (1.0 if i == state.current else 1.0 + build)

    return Probe(max(usable, key=value), ProbeReason.DECIDE)
