"""Sticky Bayesian bisection over a commit graph with a flaky test (pure core, no git).

Positions: 0 is the known-good commit, 1..n the candidates in a topological order, n the
known-bad commit (graph.py). "Culprit c" means the descendants of c are bad (a run fails with
probability p) and every other commit is good (probability q). p and q are unknown and integrated
out exactly (posterior.py). The policy (design note, 4.6): test the commit whose P(bad) is nearest
one half (on a line: the middle, as git bisect does), run it until its verdict is resolved,
measure p at the bad end (unless a commit between failed) and q at the good end (once good
commits may fail), and stop when one candidate holds the stated confidence.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from patchtool.bisection import endgame, ends, standins
from patchtool.bisection.graph import GOOD_END, History
from patchtool.bisection.model import (
    BisectResult,
    Evidence,
    Probe,
    ProbeReason,
    StopReason,
    Strategy,
)
from patchtool.bisection.posterior import Posterior, Priors
from patchtool.bisection.splits import best_split, prefer_built
from patchtool.bisection.stats import runs_needed, shortest_range

__all__ = ["GOOD_END", "BisectState", "replay"]

# Without --max-runs, a search whose p - q is hopeless still ends (as unresolvable) near this.
_DEFAULT_BUDGET = 20_000
# The credible intervals of p and q whose ends are "the most hopeful" when calling p - q hopeless
# (those the report gives). At 68 % (a standard deviation each way), 2 of 3 searches given up on
# too soon in bench/bisect.py's 150:0.12:0.09 went on, and 4 of 6 in the unit test's constructed
# one (test_a_search_that_only_looks_hopeless...); at 90 %, 6 of 6, while a search whose commits
# all fail alike is still called hopeless before the budget's end (9 of 10, at 100-320 runs of
# 400 where 68 % took 100-200: test_good_end_failing_like_the_bad_end_stops).
_HOPEFUL = 0.90
# A commit between the ends whose runs all failed another way first waits at this many (waiting).
# bench/bisect_unusable.py --simulate-search --n 200 --other 0.9 (seed 4400, 300 trials): at 8, as
# at the bad end, a healthy split waits 43 % of the time, and a search built 17.7 times, not 11.4;
# at 16, 13.4, and 1 search with 3 broken commits still stopped as unusable (8 before); at 32,
# 11.8 and none; at 64, 11.4 and 2.
_FIRST_TURN_BETWEEN = 32
# Each side of the final (parent, culprit) pair may keep half of the error the stop allows.
_FINAL_SHARE_OF_ERROR = 0.5


class BisectState:
    """Observations over positions 0..n and the posterior over the culprit c in 1..n."""

    def __init__(self, history: History | int, strategy: Strategy | None = None) -> None:
        self.history = history if isinstance(history, History) else History.chain(history)
        self.n = self.history.n
        self.strategy = strategy or Strategy()
        st = self.strategy
        priors = Priors(st.p_prior, st.q_prior, st.q_zero_weight, st.bad_record, st.good_record)
        self.post = Posterior(self.history, priors)
        self._untestable: set[int] = set()
        self._probed: set[int] = set()
        self._current: int | None = None
        self._visit_runs = 0
        self._switches = 0
        self.unusable_runs = 0  # runs that did not count (visit): they spend the budget all the same
        self.unusable_at: dict[int, int] = {}  # those runs by position
        self._first_run_at: dict[int, int] = {}  # runs made (counted or not) before a position's first
        self.halted: StopReason | None = None  # set from outside: what the core cannot see
        self._needed: tuple[int, int] | None = None  # runs_needed() at a count of runs
        self._needed_best: tuple[int, int] | None = None  # runs_needed_at_best() likewise

    # ----- recording -------------------------------------------------------------------------
    def observe(self, index: int, failed: bool) -> None:
        """Record one run at a position (any order; a change of position counts as a build)."""
        self._check_index(index)
        if index in self._untestable:
            raise ValueError(f"position {index} is marked untestable")
        self._enter(index)
        self._first_run_at.setdefault(index, self.spent_runs)
        self._visit_runs += 1
        self.post.add(index, failed)

    def visit(self, index: int) -> None:
        """A run at a position that does not count (unusable): it was built and is being run."""
        self._check_index(index)
        self._enter(index)
        self._first_run_at.setdefault(index, self.spent_runs)
        self.unusable_runs += 1
        self.unusable_at[index] = self.unusable_at.get(index, 0) + 1

    def mark_untestable(self, index: int) -> None:
        """The position does not build (or its setup exits 125): a possible culprit, never tested."""
        self._check_index(index)
        if self.post.runs[index]:
            raise ValueError(f"position {index} already has runs")
        self._enter(index)
        self._current = None
        self._untestable.add(index)

    def retire(self, index: int) -> None:
        """Stop testing a position whose runs are mostly unusable; runs it already has still count."""
        self._check_index(index)
        self._untestable.add(index)
        if self._current == index:
            self._current = None

    def _enter(self, index: int) -> None:
        if index != self._current:
            self._switches += 1
            self._visit_runs = 0
            self._current = index
            self._probed.add(index)

    def _check_index(self, index: int) -> None:
        if not 0 <= index <= self.n:
            raise IndexError(f"position {index} outside 0..{self.n}")

    # ----- counters ---------------------------------------------------------------------------
    @property
    def runs(self) -> int:
        return self.post.total_r

    @property
    def builds(self) -> int:
        """Distinct positions probed (built), including those found untestable."""
        return len(self._probed)

    @property
    def switches(self) -> int:
        """Times the probed position changed: the builds spent when only one build tree is kept."""
        return self._switches

    @property
    def current(self) -> int | None:
        return self._current

    @property
    def probed(self) -> set[int]:
        """Positions built (run or found untestable) so far."""
        return self._probed

    def counts(self, index: int) -> tuple[int, int]:
        """(failures, runs) at a position."""
        return self.post.fails[index], self.post.runs[index]

    def side_counts(self, top: int, skip: Collection[int] = ()) -> tuple[tuple[int, int], tuple[int, int]]:
        """(failures, runs) of this search's own runs on each side of ``top``: at the commits that
        descend from it (bad), and at the rest (good, the good end among them), leaving out
        ``skip``. A first-parent line's as records inside the merge it named (driver); the
        search's own against the records it was given (records.records_against)."""
        bad, good = [0, 0], [0, 0]
        for i in self.post.tested():
            if i in skip:
                continue
            side = bad if self.history.is_ancestor(top, i) else good
            fails, runs = self.counts(i)
            side[0] += fails
            side[1] += runs
        return (bad[0], bad[1]), (good[0], good[1])

    def with_record(self, index: int) -> tuple[int, int]:
        """(failures, runs) at the good end, or at the commit calibrated as the bad end, with the
        record of the test there known before the search (Strategy.good_record, bad_record)."""
        fails, runs = self.counts(index)
        if index == GOOD_END:
            more = self.strategy.good_record
        else:
            more = self.strategy.bad_record if index == self.bad_index() else (0, 0)
        return fails + more[0], runs + more[1]

    def is_untestable(self, index: int) -> bool:
        return index in self._untestable

    # ----- posterior --------------------------------------------------------------------------
    def posterior(self) -> list[float]:
        """P(culprit = c) for c in 0..n (entry 0 is always 0: the good end is good by assumption)."""
        return self.post.vector()

    def prob_bad(self, index: int) -> float:
        return self.post.prob_bad(index)

    def candidate_prob(self, c: int) -> float:
        return self.post.candidate_prob(c)

    def top_candidate(self) -> tuple[int, float]:
        return self.post.top()

    def p_mean(self) -> float:
        return self.post.p_mean()

    def q_mean(self) -> float:
        return self.post.q_mean()

    def information(self, index: int) -> float:
        return self.post.information(index)

    def parent_of(self, index: int) -> int:
        return self.history.first_parent(index)

    # ----- stopping ---------------------------------------------------------------------------
    def stop_reason(self) -> StopReason | None:
        st = self.strategy
        if self.halted is not None:
            return self.halted
        bad = self.bad_index()
        if not self.interior_failed():
            if bad is None:  # nor can a commit before it be run, or those that can never failed
                return StopReason.BAD_END_UNTESTABLE
            bad_f, bad_r = self.with_record(bad)
            if bad_f == 0:
                if bad_r >= st.calibration_max_runs:
                    return StopReason.BAD_END_DOES_NOT_REPRODUCE
                return StopReason.BUDGET if self._out_of_budget() else None
        if self._good_end_fails():
            return StopReason.GOOD_END_FAILS
        top, prob = self.top_candidate()
        if (
            prob >= st.stop_threshold
            and self.post.fails[top] >= st.min_culprit_failures
            and self.post.pessimistic(top, *st.pessimism)[0] >= st.confidence
        ):
            return StopReason.CONFIDENT
        if self._blocked():
            return StopReason.BLOCKED
        if self._out_of_budget():
            return StopReason.BUDGET
        if self._hopeless():
            return StopReason.UNRESOLVABLE
        return None

    def bad_index(self) -> int | None:
        """The commit calibrated as the bad end (standins.bad_index; None when none is left)."""
        return standins.bad_index(self)

    def stand_ins(self) -> list[int]:
        """Where the failure is looked for when the bad end cannot be run (standins.stand_ins)."""
        return standins.stand_ins(self)

    def revert_base(self, culprit: int) -> int:
        """Where the culprit's revert is tested (standins.revert_base)."""
        return standins.revert_base(self, culprit)

    def _out_of_budget(self) -> bool:
        return self.strategy.max_runs is not None and self.spent_runs >= self.strategy.max_runs

    @property
    def spent_runs(self) -> int:
        """Every run of the test, counted or not: what ``max_runs`` bounds."""
        return self.runs + self.unusable_runs

    def _hopeless(self) -> bool:
        """p - q is too small for the budget: the estimated need is over three times the budget
        (over_budget), and the need at the most hopeful p and q is over the budget itself.

        Judged only after a quarter of the budget, so an early low estimate of p cannot end it.
        """
        if ends.calibration_probe(self) is not None:
            return False
        if not self.over_budget():
            return False
        return self.runs_needed_at_best() > self._budget()

    def over_budget(self) -> bool:
        """The estimated need is over three times the budget, after a quarter of it: the search
        looks hopeless at its estimates of p and q (the good end is then measured first, and
        _hopeless asks the most hopeful p and q too)."""
        budget = self._budget()
        return self.runs >= budget / 4 and self.runs_needed() > 3 * budget

    def _budget(self) -> int:
        return self.strategy.max_runs or _DEFAULT_BUDGET

    def runs_needed_at_best(self) -> int:
        """runs_needed() at the top of p's 90 % credible interval and the bottom of q's (those
        the report gives): the fewest runs the search may well need, for the stop as unresolvable
        and for what a budget would do.

        The point estimates put p - q at a third of its true value often enough that a search
        called hopeless could finish well within its budget: in bench/bisect.py's 150:0.12:0.09
        (seed base 3535, 100 trials), 3 searches stopped so at 7500-9040 runs, p and q estimated
        at 0.112 and 0.101, "about 92,000 runs" needed; run on, two named the culprit, rightly,
        at 13858 and 14975 runs (the third after 35008, over the budget). With this check, 99
        of the 100 named the culprit; the other ran to the budget (it needed 47842 runs).
        """
        if self._needed_best is not None and self._needed_best[0] == self.runs:
            return self._needed_best[1]
        p_high, q_low = self.post.p_estimate(_HOPEFUL).high, self.post.q_estimate(_HOPEFUL).low
        need = self.runs_needed()
        if p_high > q_low:
            need = min(need, self._need_at(p_high, q_low))
        self._needed_best = (self.runs, need)
        return need

    def runs_needed(self) -> int:
        """About how many runs in all the search needs at the current estimates of p and q (kept
        until the next counted run: the stop and the good end's top-up ask it at every probe)."""
        if self._needed is not None and self._needed[0] == self.runs:
            return self._needed[1]
        need = self._need_at(self.p_mean(), self.q_mean())
        self._needed = (self.runs, need)
        return need

    def _need_at(self, p: float, q: float) -> int:
        """The runs made plus those still needed (stats.runs_needed) if p and q were these."""
        entropy = -sum(x * math.log2(x) for x in self.posterior() if x > 0)
        return self.runs + runs_needed(entropy, p, q, self.strategy.confidence)

    def _good_end_fails(self) -> bool:
        """The good end fails clearly more often than the bad end: the premise of the search is wrong.

        "Clearly": the difference of the two rates is over 2.6 standard errors (about 1 in 200 by
        chance when the bad end fails at least as often), with some runs at each end. Ends that
        fail alike leave p - q at 0, which the budget check reports as unresolvable.
        """
        gf, gr = self.with_record(GOOD_END)
        bf, br = self.with_record(self.bad_index() or self.n)
        if gf < 5 or gr < 15 or br < 15:
            return False
        g, b = gf / gr, bf / br
        spread = math.sqrt(g * (1 - g) / gr + b * (1 - b) / br)
        return g - b > 2.6 * max(spread, 1e-9)

    def _blocked(self) -> bool:
        """Nearly all the mass is on candidates no testable commit tells apart (graph.splits)."""
        mass, group = 0.0, 0
        for k in sorted(self.post.classes(), key=lambda k: -k.mass) if self._untestable else ():
            mass, group = mass + k.mass, group | k.mask
            if mass >= self.strategy.stop_threshold:
                testable = (t for t in range(self.n + 1) if t not in self._untestable)
                return group.bit_count() > 1 and not self.history.splits(group, testable)
        return False

    # ----- choosing the next probe (design 4.6) -----------------------------------------------
    def next_probe(self) -> Probe | None:
        """The next position to run once, or None when the search should stop."""
        if self.stop_reason() is not None:
            return None
        calibration = ends.calibration_probe(self)
        if calibration is not None:
            return calibration
        top, prob = self.top_candidate()
        if prob >= self.strategy.stop_threshold and top not in self._untestable:
            # Confident on average over p and q, but not yet with the culprit's own failures, or
            # not under pessimistic p and q: run the culprit or its parent, whichever run is
            # expected to move the stop further (endgame.decide_side).
            return Probe(endgame.decide_side(self, top), ProbeReason.DECIDE)
        waiting, bad = self.waiting(), self.bad_index()
        if not self.is_untestable(self.n) and bad != self.n:
            waiting.add(self.n)  # its runs all failed another way: it stands by (standins.bad_index)
        if self._stay(waiting):
            assert self._current is not None
            return Probe(self._current, ProbeReason.REPEAT)
        passed_over = self._untestable | waiting
        split = best_split(self.history, self.post.tested, self.prob_bad, passed_over, self.strategy)
        split = prefer_built(split, self._probed, self.prob_bad, passed_over, self.strategy)
        if split is not None:
            pb = self.prob_bad(split)
            if self.strategy.resolved_epsilon < pb < 1 - self.strategy.resolved_epsilon:
                return endgame.prefer_endpoint(self, Probe(split, ProbeReason.SPLIT), waiting, bad)
        return endgame.decide_probe(self, split, waiting, bad)

    def waiting(self) -> set[int]:
        """Commits between the ends whose runs have all failed another way (at least the few that
        can set a commit aside) and that wait their next turn (standins.waits): the search looks
        elsewhere meanwhile.

        The runs of a commit broken by a change it carries, or of a split that was unlucky, do not
        move the posterior, so the search would choose the commit again and again. Where the test
        fails another way often everywhere, only classify.set_aside's factor sets it aside (over
        100 runs in a row at 90 %), and meanwhile its runs fill the pool that tells a test unusable
        everywhere: 8 of 300 simulated searches (N = 200, 3 broken commits, 90 %) stopped as
        "test-mostly-unusable" with a culprit to find, 0 with the turns.
        """
        found = set()
        for i, unusable in self.unusable_at.items():
            if 0 < i < self.n and i not in self._untestable and not self.post.runs[i]:
                elsewhere = self.spent_runs - self._first_run_at[i] - unusable
                if standins.waits(unusable, elsewhere, _FIRST_TURN_BETWEEN):
                    found.add(i)
        return found

    def interior_failed(self) -> bool:
        """Some commit between the ends has failed: p > 0 is shown without the bad end."""
        return self.post.total_f > self.post.fails[self.n] + self.post.fails[GOOD_END]

    def _stay(self, waiting: set[int]) -> bool:
        """The sticky rule: keep running the current commit until it is resolved (or it waits)."""
        cur = self._current
        if cur is None or not 0 < cur < self.n or cur in self._untestable or cur in waiting:
            return False
        if self._visit_runs >= self._visit_cap():
            return False
        if self._resolve_fully_now(cur):
            pb, level = self.prob_bad(cur), self._final_level()
            return level < pb < 1 - level
        pb = self._plugin_prob_bad(cur)
        return self.strategy.resolved_epsilon < pb < 1 - self.strategy.resolved_bad_epsilon

    def _visit_cap(self) -> int:
        """At most ``visit_cap_runs`` / (p - q) runs per visit at the current estimates (see Strategy)."""
        return math.ceil(self.strategy.visit_cap_runs / max(self.p_mean() - self.q_mean(), 0.02))

    def _final_level(self) -> float:
        return (1.0 - self.strategy.stop_threshold) * _FINAL_SHARE_OF_ERROR

    def _plugin_prob_bad(self, index: int) -> float:
        """P(index bad) with p and q fixed at their posterior means.

        Used only to decide when to leave a commit: p sharpens as the search goes on, so the fully
        marginal P(bad) of a commit judged now understates what its runs will be worth later.
        The stop rule always uses the exact marginal posterior.
        """
        p_hat, q_hat = self.p_mean(), max(self.q_mean(), 1e-6)
        fails, runs = self.counts(index)
        if p_hat <= q_hat or not runs:  # no runs of its own (only unusable ones): nothing to leave out
            return self.prob_bad(index)
        log_lr = fails * math.log(p_hat / q_hat) + (runs - fails) * math.log((1 - p_hat) / (1 - q_hat))
        prior_bad = self.post.prob_bad_without(index)
        if prior_bad <= 0.0 or prior_bad >= 1.0:
            return prior_bad
        log_odds = math.log(prior_bad / (1 - prior_bad)) + log_lr
        return 1.0 / (1.0 + math.exp(-log_odds)) if log_odds > -700 else 0.0

    def _resolve_fully_now(self, index: int) -> bool:
        """Whether to push this commit to the final level now rather than come back later.

        A commit that ends up as the culprit or its parent must reach the final level; doing it
        now costs extra runs, coming back costs a build. Compare the odds that it is such a
        boundary (given the way its verdict leans) with extra runs / build cost.
        """
        pb = self.prob_bad(index)
        p_hat, level = self.p_mean(), self._final_level()
        if pb >= 0.5:
            share = self.candidate_prob(index) / max(pb, 1e-12)
            extra = 1.0 / max(p_hat, 1e-3)
        else:
            child = sum(self.candidate_prob(c) for c in self.history.children[index])
            share = child / max(1.0 - pb, 1e-12)
            extra = max(math.log(max(pb, level) / level), 0.0) / -math.log1p(-min(p_hat, 0.999))
        if share >= 1.0:
            return True
        return share / (1.0 - share) >= extra / max(self.strategy.build_cost_in_runs, 1e-9)

    # ----- reporting --------------------------------------------------------------------------
    def result(self) -> BisectResult:
        post = self.posterior()
        top, prob = self.top_candidate()
        reason = self.stop_reason()
        parent_p = self.candidate_prob(self.parent_of(top)) if self.parent_of(top) != GOOD_END else 0.0
        return BisectResult(
            n_candidates=self.n,
            culprit=top if reason == StopReason.CONFIDENT else None,
            top=top,
            probability=prob,
            range90=shortest_range(post, 0.90),
            range99=shortest_range(post, 0.99),
            p=self.post.p_estimate(),
            q=self.post.q_estimate(),
            evidence=self.evidence(),
            runs=self.runs,
            builds=self.builds,
            switches=self.switches,
            stop_reason=reason,
            bayes_factor_vs_parent=prob / parent_p if parent_p > 0 else math.inf,
            runs_needed=self.runs_needed() if reason in _SHORT_OF_RUNS else None,
            runs_needed_at_best=self.runs_needed_at_best() if reason in _SHORT_OF_RUNS else None,
        )

    def evidence(self) -> tuple[Evidence, ...]:
        """Counts at every position that has runs or was found untestable."""
        keys = sorted(set(self.post.tested()) | self._untestable)
        return tuple(Evidence(i, *self.counts(i), i in self._untestable) for i in keys)


_SHORT_OF_RUNS = (StopReason.BUDGET, StopReason.UNRESOLVABLE, None)


def replay(
    history: History | int, observations: Sequence[tuple[int, bool | None]], strategy: Strategy | None = None
) -> BisectState:
    """Rebuild a state from observations in order (None = untestable)."""
    state = BisectState(history, strategy)
    for index, failed in observations:
        if failed is None:
            if not state.is_untestable(index) and state.counts(index)[1] == 0:
                state.mark_untestable(index)
        elif not state.is_untestable(index):
            state.observe(index, failed)
    return state
