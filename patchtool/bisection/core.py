"""Sticky Bayesian bisection over an ordered list of commits with a flaky test (pure core, no git).

Positions: 0 is the known-good commit, 1..n the candidates in history order, n the known-bad
commit. "Culprit c" means positions >= c are bad (a run fails with probability p) and positions < c
are good (probability q); c is never 0. p and q are unknown and integrated out exactly (Beta prior
for p; for q a point mass at 0 plus a Beta slab), so the posterior over c is a product of Beta
functions of the failure and run counts on each side (design note, section 4.5).

Only the positions that have runs split the candidates into segments sharing one likelihood, so
every update costs O(number of tested positions), not O(n).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from patchtool.bisection.model import (
    BisectResult,
    Evidence,
    Probe,
    ProbeReason,
    StopReason,
    Strategy,
)
from patchtool.bisection.stats import (
    binary_entropy,
    log_beta,
    log_spike_slab,
    mixture_estimate,
    shortest_range,
)

GOOD_END = 0
# Each side of the final (parent, culprit) pair may keep half of the error the stop allows.
_FINAL_SHARE_OF_ERROR = 0.5


@dataclass(frozen=True)
class _Segment:
    """Candidates start..end share one likelihood: the same tested positions lie on each side."""

    start: int
    end: int
    mass: float
    bad_fail: int
    bad_runs: int
    good_fail: int
    good_runs: int


class BisectState:
    """Observations over positions 0..n and the posterior over the culprit c in 1..n."""

    def __init__(self, n_candidates: int, strategy: Strategy | None = None) -> None:
        if n_candidates < 1:
            raise ValueError("need at least one candidate commit")
        self.n = n_candidates
        self.strategy = strategy or Strategy()
        self._fails = [0] * (n_candidates + 1)
        self._runs = [0] * (n_candidates + 1)
        self._untestable: set[int] = set()
        self._tested: list[int] = []  # sorted positions >= 1 with runs
        self._probed: set[int] = set()
        self._current: int | None = None
        self._visit_runs = 0
        self._switches = 0
        self._segments: list[_Segment] | None = None

    # ----- recording -------------------------------------------------------------------------
    def observe(self, index: int, failed: bool) -> None:
        """Record one run at a position (any order; a change of position counts as a build)."""
        self._check_index(index)
        if index in self._untestable:
            raise ValueError(f"position {index} is marked untestable")
        self._enter(index)
        self._visit_runs += 1
        self._runs[index] += 1
        self._fails[index] += int(failed)
        if index >= 1 and self._runs[index] == 1:
            self._tested.insert(bisect_left(self._tested, index), index)
        self._segments = None

    def mark_untestable(self, index: int) -> None:
        """The position does not build (or its setup exits 125): a possible culprit, never tested."""
        self._check_index(index)
        if self._runs[index]:
            raise ValueError(f"position {index} already has runs")
        self._enter(index)
        self._current = None
        self._untestable.add(index)

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
        return sum(self._runs)

    @property
    def builds(self) -> int:
        """Distinct positions probed (built), including those found untestable."""
        return len(self._probed)

    @property
    def switches(self) -> int:
        """Times the probed position changed: the builds spent when only one build tree is kept."""
        return self._switches

    def counts(self, index: int) -> tuple[int, int]:
        """(failures, runs) at a position."""
        return self._fails[index], self._runs[index]

    def is_untestable(self, index: int) -> bool:
        return index in self._untestable

    # ----- posterior --------------------------------------------------------------------------
    def _segs(self) -> list[_Segment]:
        if self._segments is None:
            self._segments = self._compute_segments(self._tested)
        return self._segments

    def _compute_segments(self, tested: Sequence[int]) -> list[_Segment]:
        ap, bp = self.strategy.p_prior
        total_f = self._fails[0] + sum(self._fails[t] for t in tested)
        total_r = self._runs[0] + sum(self._runs[t] for t in tested)
        bad_f, bad_r = total_f - self._fails[0], total_r - self._runs[0]
        raw: list[tuple[int, int, int, int]] = []
        start = 1
        for t in tested:
            raw.append((start, t, bad_f, bad_r))
            bad_f -= self._fails[t]
            bad_r -= self._runs[t]
            start = t + 1
        if start <= self.n:
            raw.append((start, self.n, 0, 0))
        logs = [
            math.log(e - s + 1) + log_beta(ap + f, bp + r - f) + self._log_good_side(total_f - f, total_r - r)
            for s, e, f, r in raw
        ]
        top = max(logs)
        weights = [math.exp(x - top) for x in logs]
        norm = sum(weights)
        return [
            _Segment(s, e, w / norm, f, r, total_f - f, total_r - r)
            for (s, e, f, r), w in zip(raw, weights, strict=True)
        ]

    def _log_good_side(self, fails: int, runs: int) -> float:
        """log P(good-side counts): q = 0 with weight q_zero_weight, else q ~ Beta(q_prior)."""
        aq, bq = self.strategy.q_prior
        return log_spike_slab(fails, runs, self.strategy.q_zero_weight, aq, bq)

    def _p_hat(self, seg: _Segment) -> float:
        ap, bp = self.strategy.p_prior
        return (ap + seg.bad_fail) / (ap + bp + seg.bad_runs)

    def _q_zero_share(self, seg: _Segment) -> float:
        """Posterior probability that q = 0 given this segment's good-side counts."""
        zero = self.strategy.q_zero_weight
        if zero <= 0.0 or seg.good_fail:
            return 0.0
        return min(math.exp(math.log(zero) - self._log_good_side(0, seg.good_runs)), 1.0)

    def _q_hat(self, seg: _Segment) -> float:
        aq, bq = self.strategy.q_prior
        return (1.0 - self._q_zero_share(seg)) * (aq + seg.good_fail) / (aq + bq + seg.good_runs)

    def posterior(self) -> list[float]:
        """P(culprit = c) for c in 0..n (entry 0 is always 0: the good end is good by assumption)."""
        post = [0.0] * (self.n + 1)
        for seg in self._segs():
            each = seg.mass / (seg.end - seg.start + 1)
            for c in range(seg.start, seg.end + 1):
                post[c] = each
        return post

    def prob_bad(self, index: int) -> float:
        """P(position is bad) = P(culprit <= index)."""
        return _cdf(self._segs(), index)

    def candidate_prob(self, c: int) -> float:
        """P(culprit = c)."""
        for seg in self._segs():
            if seg.start <= c <= seg.end:
                return seg.mass / (seg.end - seg.start + 1)
        return 0.0

    def top_candidate(self) -> tuple[int, float]:
        best = max(self._segs(), key=lambda s: (s.mass / (s.end - s.start + 1), -s.end))
        return best.end, best.mass / (best.end - best.start + 1)

    def p_mean(self) -> float:
        return sum(s.mass * self._p_hat(s) for s in self._segs())

    def q_mean(self) -> float:
        return sum(s.mass * self._q_hat(s) for s in self._segs())

    def information(self, index: int) -> float:
        """Mutual information (bits) between one run at ``index`` and the culprit."""
        p_fail = cond = 0.0
        for s in self._segs():
            p_hat, q_hat = self._p_hat(s), self._q_hat(s)
            bad_share = min(max(index - s.start + 1, 0), s.end - s.start + 1) / (s.end - s.start + 1)
            m_bad, m_good = s.mass * bad_share, s.mass * (1 - bad_share)
            p_fail += m_bad * p_hat + m_good * q_hat
            cond += m_bad * binary_entropy(p_hat) + m_good * binary_entropy(q_hat)
        return max(binary_entropy(p_fail) - cond, 0.0)

    # ----- stopping ---------------------------------------------------------------------------
    def stop_reason(self) -> StopReason | None:
        st = self.strategy
        if self.n in self._untestable:
            return StopReason.BAD_END_UNTESTABLE
        bad_f, bad_r = self.counts(self.n)
        if bad_f == 0:
            if bad_r >= st.calibration_max_runs:
                return StopReason.BAD_END_DOES_NOT_REPRODUCE
            return StopReason.BUDGET if self._out_of_budget() else None
        if self._good_end_fails():
            return StopReason.GOOD_END_FAILS
        top, prob = self.top_candidate()
        if prob >= st.stop_threshold and self._fails[top] >= st.min_culprit_failures:
            return StopReason.CONFIDENT
        if self._blocked():
            return StopReason.BLOCKED
        if self._out_of_budget():
            return StopReason.BUDGET
        return None

    def _out_of_budget(self) -> bool:
        return self.strategy.max_runs is not None and self.runs >= self.strategy.max_runs

    def _good_end_fails(self) -> bool:
        """The good end fails about as often as the bad end: the premise of the search is wrong."""
        gf, gr = self.counts(GOOD_END)
        bf, br = self.counts(self.n)
        return gf >= 3 and gr > 0 and br > 0 and gf / gr >= 0.5 * bf / br

    def _blocked(self) -> bool:
        """The credible set is a run of candidates separated only by untestable positions."""
        if not self._untestable:
            return False
        lo, hi = shortest_range(self.posterior(), self.strategy.stop_threshold)
        return all(i in self._untestable for i in range(lo, hi))

    # ----- choosing the next probe (design 4.6) -----------------------------------------------
    def next_probe(self) -> Probe | None:
        """The next position to run once, or None when the search should stop."""
        if self.stop_reason() is not None:
            return None
        calibration = self._calibration_probe()
        if calibration is not None:
            return calibration
        top, prob = self.top_candidate()
        if prob >= self.strategy.stop_threshold and top not in self._untestable:
            # Confident, but the culprit has too few failures of its own: a guard against q being
            # larger than its prior allows (one failure of a good commit must not convict).
            return Probe(top, ProbeReason.DECIDE)
        if self._stay():
            assert self._current is not None
            return Probe(self._current, ProbeReason.REPEAT)
        split = self._best_split()
        if split is not None:
            pb = self.prob_bad(split)
            if self.strategy.resolved_epsilon < pb < 1 - self.strategy.resolved_epsilon:
                return self._prefer_endpoint(Probe(split, ProbeReason.SPLIT))
        return self._decide_probe(split)

    def _calibration_probe(self) -> Probe | None:
        st = self.strategy
        bad_f, bad_r = self.counts(self.n)
        if bad_f < st.calibration_failures and bad_r < st.calibration_max_runs:
            return Probe(self.n, ProbeReason.CALIBRATE_BAD)
        wanted = GOOD_END not in self._untestable and self._runs[GOOD_END] < st.good_end_runs
        if wanted and (GOOD_END not in self._probed or self._current == GOOD_END):
            return Probe(GOOD_END, ProbeReason.CALIBRATE_GOOD)
        return None

    def _stay(self) -> bool:
        """The sticky rule: keep running the current commit until it is resolved."""
        cur = self._current
        if cur is None or not 0 < cur < self.n or cur in self._untestable:
            return False
        if self._visit_runs >= self._visit_cap():
            return False
        if self._resolve_fully_now(cur):
            pb, level = self.prob_bad(cur), self._final_level()
            return level < pb < 1 - level
        pb = self._plugin_prob_bad(cur)
        return self.strategy.resolved_epsilon < pb < 1 - self.strategy.resolved_bad_epsilon

    def _visit_cap(self) -> int:
        """Design 4.6: at most about 10/p runs per visit (10/(p - q) when good commits fail)."""
        return math.ceil(10 / max(self.p_mean() - self.q_mean(), 0.02))

    def _final_level(self) -> float:
        return (1.0 - self.strategy.stop_threshold) * _FINAL_SHARE_OF_ERROR

    def _plugin_prob_bad(self, index: int) -> float:
        """P(index bad) with p and q fixed at their posterior means.

        Used only to decide when to leave a commit: p sharpens as the search goes on, so the fully
        marginal P(bad) of a commit judged now understates what its runs will be worth later.
        The stop rule always uses the exact marginal posterior.
        """
        p_hat, q_hat = self.p_mean(), max(self.q_mean(), 1e-6)
        if p_hat <= q_hat:
            return self.prob_bad(index)
        fails, runs = self._fails[index], self._runs[index]
        log_lr = fails * math.log(p_hat / q_hat) + (runs - fails) * math.log((1 - p_hat) / (1 - q_hat))
        others = [t for t in self._tested if t != index]
        prior_bad = _cdf(self._compute_segments(others), index)
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
            share = self.candidate_prob(index + 1) / max(1.0 - pb, 1e-12)
            extra = max(math.log(max(pb, level) / level), 0.0) / -math.log1p(-min(p_hat, 0.999))
        if share >= 1.0:
            return True
        return share / (1.0 - share) >= extra / max(self.strategy.build_cost_in_runs, 1e-9)

    def _best_split(self) -> int | None:
        """Where to test next: the middle of the bracket, or else the posterior split point."""
        bracket = self._bracket()
        if bracket is not None:
            lo, hi = bracket
            mid = (lo + hi) // 2
            options = [self._testable_near(mid + 1, -1), self._testable_near(mid, +1)]
            inside = [i for i in options if i is not None and lo < i < hi]
            if inside:
                return min(inside, key=lambda i: abs(i - (lo + hi) / 2))
        return self._median_split()

    def _bracket(self) -> tuple[int, int] | None:
        """(lo, hi): the last position believed good and the first believed bad, when nearly all
        the mass lies between them. Splitting it in the middle, as git bisect does, keeps builds at
        about log2 of its length instead of drifting with the mass earlier verdicts leave outside."""
        lo, hi = GOOD_END, self.n
        for t in self._tested:
            if self.prob_bad(t) < 0.5:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
                break
        if hi - lo < 2 or self.prob_bad(hi) - self.prob_bad(lo) < self.strategy.bracket_mass:
            return None
        return lo, hi

    def _median_split(self) -> int | None:
        """The testable interior position whose P(bad) is closest to the split target."""
        target = self.strategy.split_target
        lo, hi = 1, self.n - 1
        while lo < hi:  # first position with P(bad) >= target
            mid = (lo + hi) // 2
            if self.prob_bad(mid) >= target:
                hi = mid
            else:
                lo = mid + 1
        options = [i for i in (self._testable_near(lo, -1), self._testable_near(lo, +1)) if i is not None]
        if not options:
            return None
        return min(options, key=lambda i: abs(self.prob_bad(i) - target))

    def _testable_near(self, index: int, step: int) -> int | None:
        """The nearest testable interior position from ``index`` going ``step`` (like skip_away)."""
        i = index if step > 0 else index - 1
        while 1 <= i < self.n:
            if i not in self._untestable:
                return i
            i += step
        return None

    def _prefer_endpoint(self, probe: Probe) -> Probe:
        """Run an endpoint when one run there tells more than one run at the split (design 4.6)."""
        best = self.information(probe.index)
        for end in (self.n, GOOD_END):
            if end not in self._untestable and end != probe.index and self.information(end) > best:
                return Probe(end, ProbeReason.ENDPOINT)
        return probe

    def _decide_probe(self, split: int | None) -> Probe | None:
        """End game, every commit resolved to epsilon: buy the most information per unit of cost."""
        top, _ = self.top_candidate()
        options = {top, top - 1, self.n, GOOD_END}
        if split is not None:
            options.add(split)
        if self._current is not None:
            options.add(self._current)
        usable = sorted(i for i in options if 0 <= i <= self.n and i not in self._untestable)
        if not usable:
            return None
        build = self.strategy.build_cost_in_runs

        def value(i: int) -> float:
            return self.information(i) / (1.0 if i == self._current else 1.0 + build)

        return Probe(max(usable, key=value), ProbeReason.DECIDE)

    # ----- reporting --------------------------------------------------------------------------
    def result(self) -> BisectResult:
        post = self.posterior()
        top, prob = self.top_candidate()
        reason = self.stop_reason()
        st = self.strategy
        segs = self._segs()
        p_est = mixture_estimate(
            [(s.mass, st.p_prior[0] + s.bad_fail, st.p_prior[1] + s.bad_runs - s.bad_fail) for s in segs]
        )
        zero = [s.mass * self._q_zero_share(s) for s in segs]
        q_est = mixture_estimate(
            [
                (s.mass - z, st.q_prior[0] + s.good_fail, st.q_prior[1] + s.good_runs - s.good_fail)
                for s, z in zip(segs, zero, strict=True)
            ],
            zero_mass=sum(zero),
        )
        parent_p = post[top - 1] if top > 1 else 0.0
        return BisectResult(
            n_candidates=self.n,
            culprit=top if reason == StopReason.CONFIDENT else None,
            top=top,
            probability=prob,
            range90=shortest_range(post, 0.90),
            range99=shortest_range(post, 0.99),
            p=p_est,
            q=q_est,
            evidence=self.evidence(),
            runs=self.runs,
            builds=self.builds,
            switches=self.switches,
            stop_reason=reason,
            bayes_factor_vs_parent=prob / parent_p if parent_p > 0 else math.inf,
        )

    def evidence(self) -> tuple[Evidence, ...]:
        """Counts at every position that has runs or was found untestable."""
        keys = sorted({i for i in range(self.n + 1) if self._runs[i]} | self._untestable)
        return tuple(Evidence(i, self._fails[i], self._runs[i], i in self._untestable) for i in keys)


def _cdf(segs: Sequence[_Segment], index: int) -> float:
    """P(culprit <= index) from segments."""
    if index <= 0:
        return 0.0
    total = 0.0
    for seg in segs:
        if seg.end <= index:
            total += seg.mass
        elif seg.start <= index:
            total += seg.mass * (index - seg.start + 1) / (seg.end - seg.start + 1)
    return min(total, 1.0)


def replay(
    n_candidates: int, observations: Sequence[tuple[int, bool | None]], strategy: Strategy | None = None
) -> BisectState:
    """Rebuild a state from stored observations in order (None = untestable)."""
    state = BisectState(n_candidates, strategy)
    for index, failed in observations:
        if failed is None:
            state.mark_untestable(index)
        else:
            state.observe(index, failed)
    return state
