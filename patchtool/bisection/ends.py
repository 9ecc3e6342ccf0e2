"""Where p and q are learned (pure, no git): the bad end is run until it has failed enough to
measure p, the good end once good commits may fail and the search is long enough to repay its
build, and in a long search both ends keep a share of the runs (Strategy). The functions take the
search's state (core.BisectState)."""

from __future__ import annotations

import math
from typing import Protocol

from patchtool.bisection.graph import GOOD_END
from patchtool.bisection.model import Probe, ProbeReason, Strategy
from patchtool.bisection.posterior import Posterior

# Before stopping as unresolvable, the good end is run to this share of the runs (good_end_short).
# bench: 324:0.11:0.05 (report11's cell, seed base 20987638, trials 400-999), 10 of 600 searches
# stopped so at 7500 runs with 12-24 runs at the good end, 2-3 of them failed: q looked 0.1-0.12,
# as large as p (0.11). Two of them run on without the stop named the culprit after 17903 and
# 12452 runs.
_GOOD_END_SHARE = 0.1


class BisectState(Protocol):
    """What these functions read of core.BisectState."""

    strategy: Strategy
    post: Posterior

    @property
    def runs(self) -> int: ...
    @property
    def current(self) -> int | None: ...
    @property
    def probed(self) -> set[int]: ...
    def is_untestable(self, index: int) -> bool: ...
    def with_record(self, index: int) -> tuple[int, int]: ...
    def bad_index(self) -> int | None: ...
    def waiting(self) -> set[int]: ...
    def interior_failed(self) -> bool: ...
    def over_budget(self) -> bool: ...
    def runs_needed(self) -> int: ...
    def p_mean(self) -> float: ...
    def q_mean(self) -> float: ...


def calibration_probe(state: BisectState) -> Probe | None:
    """The end to run next to learn p or q, or None (the search goes on elsewhere)."""
    st = state.strategy
    bad = state.bad_index()
    if bad is not None:
        bad_f, bad_r = state.with_record(bad)
        short = bad_f < st.calibration_failures or bad_r < st.calibration_min_runs
        # its share counts its own runs, not a record's: those are what a record is checked against
        own = state.post.runs[bad]
        if own and end_behind(state, bad, own, st.bad_end_share * state.runs):
            short = True
        # a stand-in whose runs all failed another way waits its turn too
        can_wait = bad_end_can_wait(state, bad) or bad in state.waiting()
        if short and bad_r < st.calibration_max_runs and not can_wait:
            return Probe(bad, ProbeReason.CALIBRATE_BAD)
    good_r, target = state.with_record(GOOD_END)[1], good_end_target(state)
    wanted = (
        not state.is_untestable(GOOD_END)
        and good_r < target
        and (state.post.runs[GOOD_END] > 0 or (q_in_doubt(state) and good_end_pays(state)))
    )
    if wanted and (GOOD_END not in state.probed or end_behind(state, GOOD_END, good_r, target)):
        return Probe(GOOD_END, ProbeReason.CALIBRATE_GOOD)
    if good_end_short(state) and state.over_budget():
        # Before calling p - q hopeless, measure q where it is certain to be q: a good end
        # run a dozen times that failed by chance more often than good commits do makes
        # q look as large as p, and no split can then tell bad from good.
        return Probe(GOOD_END, ProbeReason.CALIBRATE_GOOD)
    return None


def end_behind(state: BisectState, index: int, runs: int, target: float) -> bool:
    """An end holds under its ``target`` of runs: being run, it goes on to the target; left for
    the search, it is come back to once under half of it (a return is a switch)."""
    return runs < (target if state.current == index else target / 2)


def bad_end_can_wait(state: BisectState, bad: int) -> bool:
    """The first split goes before the bad end; once a commit between has failed, the bad end
    is not needed (bench: cost 75 -> 69 at N = 16, p = 1, same errors), unless good commits
    may fail (q_in_doubt): that failure may then be a good commit's, and p is measured where
    it is certain to be p. Where bad commits fail nearly always and good ones often (bench,
    48:1:0.3 and 30:0.9:0.3), p learned from commits whose side is in doubt stayed near 0.7,
    so a clean run barely cleared a commit; the bad end's runs cut the cost 8-15 %."""
    if state.post.runs[bad]:
        return False
    started = state.post.total_r > state.post.runs[GOOD_END]
    if not started:  # unless no commit between can be run: the bad end is then all there is
        return any(not state.is_untestable(i) for i in range(1, state.post.history.n) if i != bad)
    return state.interior_failed() and not q_in_doubt(state)


def q_in_doubt(state: BisectState) -> bool:
    """Whether good commits may fail: only then is the good end worth a build to measure q.

    While every failure seen can be blamed on bad commits, q = 0 stays likely and the
    interior commits judged good measure q for free; a failure that only q > 0 explains
    well drops P(q = 0) below the threshold and calls for the good end.
    """
    return state.post.q_zero_prob() < state.strategy.good_end_when_q_zero_below


def good_end_pays(state: BisectState) -> bool:
    """Whether the search still needs enough runs for a sharper q to repay the good end's build
    and runs (Strategy.good_end_min_need)."""
    st = state.strategy
    cost = st.build_cost_in_runs + st.good_end_runs
    return state.runs_needed() - state.runs >= st.good_end_min_need * cost


def good_end_target(state: BisectState) -> int:
    """Runs at the good end: a fixed minimum, more while the good end shows failures (q is then
    certainly above 0 and worth measuring where it costs no build), and as the search grows
    ``good_end_share`` of its runs, but no more than measure q to ``good_end_gap_frac`` of
    p - q (the standard error of q over the good end's runs alone)."""
    st = state.strategy
    share = math.ceil(st.good_end_share * state.runs)
    if st.good_end_gap_frac > 0:
        q_hat, gap = state.q_mean(), max(state.p_mean() - state.q_mean(), 1e-3)
        share = min(share, math.ceil(q_hat * (1 - q_hat) / (st.good_end_gap_frac * gap) ** 2))
    if state.with_record(GOOD_END)[0] == 0:
        return max(st.good_end_runs, share)
    return max(st.good_end_runs, st.good_end_runs_when_failing, share)


def good_end_short(state: BisectState) -> bool:
    """The good end holds under _GOOD_END_SHARE of the runs, and can be run."""
    if state.is_untestable(GOOD_END):
        return False
    return state.with_record(GOOD_END)[1] < _GOOD_END_SHARE * state.runs
