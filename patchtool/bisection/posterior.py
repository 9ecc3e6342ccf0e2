"""The posterior over the culprit on a commit graph, with p and q integrated out exactly.

A run at a bad commit fails with probability p, at a good one with probability q. p has a Beta
prior; q a point mass at 0 (good commits never fail) plus a Beta slab wide enough to learn q of
0.1-0.3. Both are integrated out in closed form, so P(culprit = c | data) is a product of Beta
functions of the failure and run counts on c's bad side (its descendants) and good side (the
rest) (design note, section 4.5).

Candidates that every tested commit treats alike (each tested commit either descends from all of
them or from none) share one likelihood: they form a class. Testing a new commit splits classes
in two, so an update costs O(number of classes), not O(n), on any DAG.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from patchtool.bisection.graph import GOOD_END, History, members
from patchtool.bisection.stats import Estimate, binary_entropy, log_beta, log_spike_slab, mixture_estimate
from patchtool.jsonable import record


@record
class Priors:
    """p ~ Beta(p_prior); q = 0 with weight q_zero_weight, else q ~ Beta(q_prior).

    ``bad_record`` / ``good_record``: (failures, runs) of the test known from outside the search
    (CI's runs of it at the bad end, and on commits known good): evidence on p and q that cost
    no build. They count as runs on the bad side, and on the good side, of every candidate.
    """

    p_prior: tuple[float, float] = (1.0, 1.0)
    q_prior: tuple[float, float] = (1.0, 12.0)
    q_zero_weight: float = 0.5
    bad_record: tuple[int, int] = (0, 0)
    good_record: tuple[int, int] = (0, 0)


_NORMAL = NormalDist()
_Q_FLOOR = 1e-9  # q's high end when q = 0 holds: a failure on the good side then weighs log(1e-9)


def _beta_bound(a: float, b: float, z: float) -> float:
    """Mean + z standard deviations of Beta(a, b) (a normal approximation of a quantile)."""
    mean = a / (a + b)
    return mean + z * math.sqrt(mean * (1 - mean) / (a + b + 1))


class _Class:
    """Candidates (bit set ``mask``) with one likelihood; ``sig`` = tested positions descending
    from all of them; ``bad_f``/``bad_r`` = failures/runs summed over ``sig``."""

    __slots__ = ("bad_f", "bad_r", "mask", "mass", "p_hat", "q_hat", "sig", "size")

    def __init__(self, mask: int, sig: int, bad_f: int, bad_r: int) -> None:
        self.mask, self.size, self.sig = mask, mask.bit_count(), sig
        self.bad_f, self.bad_r, self.mass = bad_f, bad_r, 0.0
        self.p_hat = self.q_hat = 0.0


class Posterior:
    """Failure and run counts per position and the posterior over the culprit they imply."""

    def __init__(self, history: History, priors: Priors) -> None:
        self.history, self.priors = history, priors
        (ap, bp), (bad_f, bad_r) = priors.p_prior, priors.bad_record
        self._p_prior = (ap + bad_f, bp + bad_r - bad_f)  # p's prior with the bad end's record in it
        self._good_f, self._good_r = priors.good_record
        n = history.n
        self.fails = [0] * (n + 1)
        self.runs = [0] * (n + 1)
        self.total_f = self.total_r = 0
        self._classes = [_Class(history.ancestors(n), 0, 0, 0)]
        self._dirty = True
        self._bad_cache: dict[tuple[int, int], float] = {}
        self._good_cache: dict[tuple[int, int], float] = {}
        self._p_mean = self._q_mean = 0.0

    def add(self, index: int, failed: bool) -> None:
        """One run at ``index``; the first run at a candidate splits the classes by ancestry."""
        if self.runs[index] == 0 and index != GOOD_END:
            self._split(index)
        self.runs[index] += 1
        self.fails[index] += failed
        if len(self._good_cache) > 200_000:  # long searches: keep the memo bounded
            self._good_cache.clear()
            self._bad_cache.clear()
        self.total_r += 1
        self.total_f += failed
        bit = 1 << index
        for k in self._classes:
            if k.sig & bit:
                k.bad_r += 1
                k.bad_f += failed
        self._dirty = True

    def _split(self, index: int) -> None:
        anc = self.history.ancestors(index)
        bit = 1 << index
        out = []
        for k in self._classes:
            inside = k.mask & anc
            if inside and inside != k.mask:
                out.append(_Class(inside, k.sig | bit, k.bad_f, k.bad_r))
                out.append(_Class(k.mask & ~anc, k.sig, k.bad_f, k.bad_r))
            else:
                if inside:
                    k.sig |= bit
                out.append(k)
        self._classes = out

    # ----- likelihood ---------------------------------------------------------------------------
    def classes(self) -> list[_Class]:
        if self._dirty:
            self._normalise()
        return self._classes

    def _normalise(self) -> None:
        logs = [
            math.log(k.size) + self.log_bad_side(k.bad_f, k.bad_r)
            + self.log_good_side(self.total_f - k.bad_f, self.total_r - k.bad_r)
            for k in self._classes
        ]  # fmt: skip
        top = max(logs)
        weights = [math.exp(x - top) for x in logs]
        norm = sum(weights)
        p_mean = q_mean = 0.0
        for k, w in zip(self._classes, weights, strict=True):
            k.mass = w / norm
            k.p_hat, k.q_hat = self._p_hat(k), self._q_hat(k)
            p_mean += k.mass * k.p_hat
            q_mean += k.mass * k.q_hat
        self._p_mean, self._q_mean = p_mean, q_mean
        self._dirty = False

    def log_bad_side(self, fails: int, runs: int) -> float:
        key = (fails, runs)
        value = self._bad_cache.get(key)
        if value is None:
            ap, bp = self._p_prior
            value = self._bad_cache[key] = log_beta(ap + fails, bp + runs - fails)
        return value

    def log_good_side(self, fails: int, runs: int) -> float:
        key = (fails, runs)
        value = self._good_cache.get(key)
        if value is None:
            aq, bq = self.priors.q_prior
            f, r = fails + self._good_f, runs + self._good_r  # with the record of the good commits
            value = log_spike_slab(f, r, self.priors.q_zero_weight, aq, bq)
            self._good_cache[key] = value
        return value

    def good_side(self, k: _Class) -> tuple[int, int]:
        """(failures, runs) on the good side of the class's candidates, the good record included."""
        return self.total_f - k.bad_f + self._good_f, self.total_r - k.bad_r + self._good_r

    def _p_hat(self, k: _Class) -> float:
        ap, bp = self._p_prior
        return (ap + k.bad_f) / (ap + bp + k.bad_r)

    def q_zero_share(self, k: _Class) -> float:
        """Posterior probability that q = 0 given this class's good-side counts."""
        return self._q_zero_given(self.total_f - k.bad_f, self.total_r - k.bad_r)

    def _q_zero_given(self, fails: int, runs: int) -> float:
        """P(q = 0) given the search's own (failures, runs) on a good side (log_good_side adds the
        good record's)."""
        zero = self.priors.q_zero_weight
        if zero <= 0.0 or fails + self._good_f:
            return 0.0
        return min(math.exp(math.log(zero) - self.log_good_side(0, runs)), 1.0)

    def q_zero_prob(self) -> float:
        """Posterior probability that good commits never fail (q = 0)."""
        return sum(k.mass * self.q_zero_share(k) for k in self.classes())

    def _q_hat(self, k: _Class) -> float:
        aq, bq = self.priors.q_prior
        good_f, good_r = self.good_side(k)
        return (1.0 - self.q_zero_share(k)) * (aq + good_f) / (aq + bq + good_r)

    # ----- queries ------------------------------------------------------------------------------
    def prob_bad(self, index: int) -> float:
        """P(position is bad) = P(the culprit is one of its ancestors)."""
        if index == GOOD_END:
            return 0.0
        anc = self.history.ancestors(index)
        total = 0.0
        for k in self.classes():
            inside = (k.mask & anc).bit_count()
            if inside:
                total += k.mass * inside / k.size
        return min(total, 1.0)

    def candidate_prob(self, c: int) -> float:
        bit = 1 << c
        for k in self.classes():
            if k.mask & bit:
                return k.mass / k.size
        return 0.0

    def top(self) -> tuple[int, float]:
        """The most probable culprit (the oldest of a tied class) and its probability."""
        best = max(self.classes(), key=lambda k: k.mass / k.size)
        low = best.mask & -best.mask
        return low.bit_length() - 1, best.mass / best.size

    def pessimistic(
        self, c: int, z: float = 1.645, z_q: float | None = None, z_q_failed: float | None = None
    ) -> tuple[float, float]:
        """(P(culprit = c), P(culprit is a strict ancestor of c)) with p at the low end and q at
        the high end of their 90 % credible ranges (as seen from c's class), fixed.

        The marginal posterior averages over p and q; a search that stopped on it can still be
        wrong when p happens to be overestimated (a good-looking parent with a few clean runs) or
        q underestimated. Stopping also under these pessimistic values keeps the stated
        confidence honest across p and q, not only on average over the prior.

        q's high end comes from the good side's counts under a flat prior, not from the search's
        prior (which leans towards small q so that a few failures can convict a commit): with
        few good-side runs, all clean by chance, that prior would put q near 1 % when it is 30 %,
        and a commit that failed 6 of 8 times would be named although a good commit fails like
        that often enough (1.1-1.3 % wrong at 0.99 in the benchmark's q = 0.3 cells; 0.4-0.6 %
        with this bound). Only the chance that q is exactly 0, which that prior holds apart
        from its small values, is taken from it (_q_high).

        q's bound is ``z_q`` standard deviations up (``z`` when None), or ``z_q_failed`` once the
        good side has failed at all (Strategy.pessimism_q_z_failed).
        """
        return self.pessimistic_after(c, None, False, z, z_q, z_q_failed)

    def pessimistic_after(
        self,
        c: int,
        index: int | None,
        failed: bool,
        z: float = 1.645,
        z_q: float | None = None,
        z_q_failed: float | None = None,
    ) -> tuple[float, float]:
        """``pessimistic(c)`` as it would be after one more run at ``index`` (None: as it is now).

        ``index`` must have been run before (its classes are split already), so the run only
        moves counts: to every class it descends from, and to the totals.
        """
        classes = self.classes()
        bit = 0 if index is None else 1 << index
        if index is not None and not self.runs[index] and index != GOOD_END:
            raise ValueError(f"position {index} has no runs: a run there would split classes")
        add_f, add_r = (int(failed), 1) if index is not None else (0, 0)
        counts = [(k.bad_f + add_f, k.bad_r + add_r) if k.sig & bit else (k.bad_f, k.bad_r) for k in classes]
        total_f, total_r = self.total_f + add_f, self.total_r + add_r
        own_at = next(i for i, k in enumerate(classes) if k.mask >> c & 1)
        own_f, own_r = counts[own_at]
        ap, bp = self._p_prior
        p_lo = max(_beta_bound(ap + own_f, bp + own_r - own_f, -z), 1e-3)
        good_f = total_f - own_f
        zq = z if z_q is None else z_q
        if z_q_failed is not None and good_f + self._good_f > 0:
            zq = z_q_failed
        q_hi = self._q_high(good_f, total_r - own_r, zq)
        if p_lo <= q_hi:
            return 0.0, 1.0
        lp, lnp, lq, lnq = math.log(p_lo), math.log1p(-p_lo), math.log(q_hi), math.log1p(-q_hi)
        logs = [
            math.log(k.size) + bf * lp + (br - bf) * lnp
            + (total_f - bf) * lq + (total_r - br - total_f + bf) * lnq
            for k, (bf, br) in zip(classes, counts, strict=True)
        ]  # fmt: skip
        top = max(logs)
        weights = [math.exp(x - top) for x in logs]
        norm = sum(weights)
        anc = self.history.ancestors(c) & ~(1 << c)
        mine = earlier = 0.0
        for i, (k, w) in enumerate(zip(classes, weights, strict=True)):
            if i == own_at:
                mine = w / norm / k.size
            earlier += w / norm * (k.mask & anc).bit_count() / k.size
        return mine, earlier

    def _q_high(self, fails: int, runs: int, z: float) -> float:
        """q's high end for pessimistic(), from the search's own (failures, runs) on c's good side:
        ``z`` standard deviations up under a flat prior over those counts and the good record,
        or 0 once that side, never failed, makes q = 0 itself at least Phi(z) likely under the
        search's own prior (from 217 clean runs at the default prior and z; at z = 0, while
        q = 0 is as likely as not): the doubt the bound leaves is then all on q > 0, and a
        culprit is not asked for the failures that would convict it against a q of about
        2.6 / runs.

        bench/bisect.py, 24 cells at seed base 777 (200 trials): the long searches with q = 0
        cost 3.5-5.9 % less (234:0.07:0, 453:0.09:0, 2112:0.06:0, 920:0.05:0, 124:0.06:0), the
        rest within 0.7 %; no cell that moved expects over 0.30 % wrong. Short of that the
        bound stays flat: spending part of the doubt on q = 0 while the spike is only a little
        likelier than its prior (10 clean runs: 0.65) narrowed the bound where q = 0.24 leaves
        runs clean by chance (19:0.49:0.24, expected error 0.74 -> 0.98 %;
        test_few_clean_good_runs...).
        """
        if self._q_zero_given(fails, runs) >= _NORMAL.cdf(z):
            return _Q_FLOOR
        gf, gr = fails + self._good_f, runs + self._good_r
        return min(_beta_bound(1.0 + gf, 1.0 + gr - gf, z), 0.999)

    def vector(self) -> list[float]:
        """P(culprit = c) for c in 0..n (entry 0 is always 0)."""
        post = [0.0] * (self.history.n + 1)
        for k in self.classes():
            each = k.mass / k.size
            for c in members(k.mask):
                post[c] = each
        return post

    def p_mean(self) -> float:
        self.classes()
        return self._p_mean

    def q_mean(self) -> float:
        self.classes()
        return self._q_mean

    def p_estimate(self, level: float = 0.90) -> Estimate:
        """p's posterior (a mixture over the classes) with its interval."""
        ap, bp = self._p_prior
        ks = self.classes()
        return mixture_estimate([(k.mass, ap + k.bad_f, bp + k.bad_r - k.bad_f) for k in ks], level)

    def q_estimate(self, level: float = 0.90) -> Estimate:
        """q's posterior (its point mass at 0 and a mixture over the classes) with its interval."""
        aq, bq = self.priors.q_prior
        ks = self.classes()
        zero = [k.mass * self.q_zero_share(k) for k in ks]
        sides = [self.good_side(k) for k in ks]
        comps = [
            (k.mass - z, aq + gf, bq + gr - gf) for k, z, (gf, gr) in zip(ks, zero, sides, strict=True)
        ]
        return mixture_estimate(comps, level, zero_mass=sum(zero))

    def information(self, index: int) -> float:
        """Mutual information (bits) between one run at ``index`` and the culprit."""
        anc = self.history.ancestors(index)
        p_fail = cond = 0.0
        for k in self.classes():
            p_hat, q_hat = k.p_hat, k.q_hat
            share = (k.mask & anc).bit_count() / k.size
            m_bad, m_good = k.mass * share, k.mass * (1 - share)
            p_fail += m_bad * p_hat + m_good * q_hat
            cond += m_bad * binary_entropy(p_hat) + m_good * binary_entropy(q_hat)
        return max(binary_entropy(p_fail) - cond, 0.0)

    def prob_bad_without(self, index: int) -> float:
        """P(index bad) from the runs at every other position (its own runs left out).

        Classes are refined by every tested position, so each lies wholly inside or outside the
        ancestors of a tested ``index``: drop its counts from each class and re-weigh.
        """
        f_x, r_x = self.fails[index], self.runs[index]
        bit = 1 << index
        logs, inside = [], []
        for k in self.classes():
            bf, br = k.bad_f, k.bad_r
            if k.sig & bit:
                bf, br = bf - f_x, br - r_x
            gf, gr = self.total_f - f_x - bf, self.total_r - r_x - br
            logs.append(math.log(k.size) + self.log_bad_side(bf, br) + self.log_good_side(gf, gr))
            inside.append(bool(k.sig & bit))
        top = max(logs)
        weights = [math.exp(x - top) for x in logs]
        bad = sum(w for w, i in zip(weights, inside, strict=True) if i)
        return bad / sum(weights)

    def tested(self) -> list[int]:
        return [i for i, r in enumerate(self.runs) if r]
