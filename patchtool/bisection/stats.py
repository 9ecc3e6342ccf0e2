"""Small statistics for the bisection core: Beta functions, estimates, credible ranges, confirmation."""

from __future__ import annotations

import math
from collections.abc import Sequence

from patchtool.jsonable import record

_GRID = 1200


def log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def binary_entropy(x: float) -> float:
    if x <= 0.0 or x >= 1.0:
        return 0.0
    return -(x * math.log2(x) + (1 - x) * math.log2(1 - x))


def log_spike_slab(fails: int, runs: int, zero_weight: float, a: float, b: float) -> float:
    """log P(fails of runs) when the rate is 0 with weight zero_weight, else Beta(a, b)-distributed
    (one particular sequence of outcomes; the binomial coefficient is the same for every model)."""
    slab = log_beta(a + fails, b + runs - fails) - log_beta(a, b)
    if zero_weight <= 0.0:
        return slab
    if fails:
        return math.log1p(-zero_weight) + slab if zero_weight < 1.0 else -math.inf
    if zero_weight >= 1.0:
        return 0.0
    x, y = math.log(zero_weight), math.log1p(-zero_weight) + slab
    hi = max(x, y)
    return hi + math.log(math.exp(x - hi) + math.exp(y - hi))


def runs_needed(entropy_bits: float, p: float, q: float, confidence: float) -> int:
    """About how many more runs locate the culprit: the bits still missing (plus those of the
    stop) over the information one run at an even split carries, with half again for the
    per-commit repeats and the calibration (a rough guide for the budget, not a bound)."""
    per_run = binary_entropy((p + q) / 2) - (binary_entropy(p) + binary_entropy(q)) / 2
    bits = entropy_bits + math.log2(1.0 / max(1.0 - confidence, 1e-9))
    return math.ceil(1.5 * bits / max(per_run, 1e-6))


@record
class Estimate:
    """A posterior mean with a 90 % equal-tailed credible interval."""

    mean: float
    low: float
    high: float


def mixture_estimate(
    components: Sequence[tuple[float, float, float]], level: float = 0.90, zero_mass: float = 0.0
) -> Estimate:
    """Mean and equal-tailed interval of a mixture of Beta(a, b) given as (weight, a, b), plus an
    optional point mass at 0.

    The quantiles come from a grid in t with x = t**2, dense near 0 where small rates live (a
    Beta(0.5, b) density is singular at 0 but finite in t).
    """
    comps = [(w, a, b) for w, a, b in components if w > 1e-12]
    total = sum(w for w, _, _ in comps) + zero_mass
    mean = sum(w * a / (a + b) for w, a, b in comps) / total
    ts = [(k + 0.5) / _GRID for k in range(_GRID)]
    dens = [0.0] * _GRID
    for w, a, b in comps:
        norm = math.log(w / total) - log_beta(a, b)
        for k, t in enumerate(ts):
            x = t * t  # density in t: f(x) * dx/dt, dx/dt = 2t
            dens[k] += math.exp(norm + (a - 1) * math.log(x) + (b - 1) * math.log1p(-x)) * 2 * t
    scale = (1.0 - zero_mass / total) / (sum(dens) or 1.0)
    tail = (1 - level) / 2
    acc = zero_mass / total
    low = 0.0 if acc >= tail else None
    high = ts[-1] ** 2
    for k, d in enumerate(dens):
        acc += d * scale
        if low is None and acc >= tail:
            low = ts[k] ** 2
        if acc >= 1 - tail:
            high = ts[k] ** 2
            break
    return Estimate(mean=mean, low=low or 0.0, high=high)


def shortest_range(post: Sequence[float], level: float) -> tuple[int, int]:
    """Shortest contiguous inclusive range of positions holding at least ``level`` of the mass."""
    best = (0, len(post) - 1)
    lo = 0
    acc = 0.0
    for hi, value in enumerate(post):
        acc += value
        while lo < hi and acc - post[lo] >= level:
            acc -= post[lo]
            lo += 1
        if acc >= level and hi - lo < best[1] - best[0]:
            best = (lo, hi)
    # leading zero-mass positions never belong to the range
    lo, hi = best
    while lo < hi and post[lo] == 0.0:
        lo += 1
    return lo, hi


def _binomial_pmf(n: int, k: int, rate: float) -> float:
    """P(Bin(n, rate) = k), for 0 < rate < 1."""
    return math.exp(
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(rate)
        + (n - k) * math.log1p(-rate)
    )


def binomial_cdf(n: int, rate: float, k: int) -> float:
    """P(Bin(n, rate) <= k), for 0 < rate < 1."""
    return sum(_binomial_pmf(n, j, rate) for j in range(min(k, n) + 1))


def binomial_quantile(n: int, rate: float, level: float) -> int:
    """Smallest k with P(Bin(n, rate) <= k) >= level."""
    if rate <= 0.0:
        return 0
    acc = 0.0
    for k in range(n + 1):
        acc += _binomial_pmf(n, k, rate)
        if acc >= level:
            return k
    return n


@record
class ConfirmationPlan:
    """Fresh runs after the search (design 4.9): parent must stay clean, culprit must fail twice."""

    parent_runs: int
    parent_max_failures: int
    culprit_failures: int
    culprit_max_runs: int


CONTRAST_DOUBT = 0.01  # where a record counts, the culprit's own runs and its parent's must differ


@record
class ConfirmationOutcome:
    parent_failures: int
    parent_runs: int
    culprit_failures: int
    culprit_runs: int
    parent_ok: bool
    culprit_ok: bool
    # Where a record counted (--bad-record, --good-record, runs `patchtool test` stored): Fisher's
    # one-sided p that the culprit's own runs (the search's and these) fail no more often than its
    # parent's; confirmed only under CONTRAST_DOUBT. None where no record counted.
    contrast: float | None = None

    @property
    def confirmed(self) -> bool:
        return (
            self.parent_ok and self.culprit_ok and (self.contrast is None or self.contrast < CONTRAST_DOUBT)
        )


def confirmation_plan(
    p_hat: float, q_hat: float, alpha: float = 0.01, culprit: tuple[int, int] | None = None
) -> ConfirmationPlan:
    """Parent: ceil(ln(1/alpha) / -ln(1 - p)) runs; culprit: until 2 failures, at most 3x that.

    p is ``p_hat``, or the rate of the commit named's own runs ``culprit`` (failures, runs; its
    posterior mean from a flat prior) when that is lower: the parent is run until it would have
    failed, had it failed as often as the commit named does. p is learnt from every bad commit, and
    a commit named wrongly, whose failures were those good commits have too (a record that says
    they never fail, from another machine or load), fails less often than the bad commits do."""
    if culprit is not None:
        p_hat = min(p_hat, (culprit[0] + 1) / (culprit[1] + 2))
    p = min(max(p_hat, 1e-3), 0.999)
    n_v = math.ceil(math.log(1 / alpha) / -math.log1p(-p))
    allowed = binomial_quantile(n_v, q_hat, 0.99) if q_hat > 0.001 else 0
    return ConfirmationPlan(n_v, allowed, 2, 3 * n_v)


def next_confirmation_run(
    plan: ConfirmationPlan, parent: tuple[int, int], culprit: tuple[int, int]
) -> str | None:
    """Which side needs another fresh run ("parent" or "culprit"), or None when done.

    ``parent`` and ``culprit`` are (failures, runs) of the confirmation pass only.
    """
    pf, pr = parent
    if pr < plan.parent_runs and pf <= plan.parent_max_failures:
        return "parent"
    cf, cr = culprit
    if cf < plan.culprit_failures and cr < plan.culprit_max_runs:
        return "culprit"
    return None


def next_contrast_run(
    plan: ConfirmationPlan, parent: tuple[int, int], culprit: tuple[int, int], contrast: float | None
) -> str | None:
    """Once the plan's runs held, where a record counted (``contrast`` not None): which side needs
    another fresh run for the culprit's own runs to fail more often than its parent's (one-sided
    ``contrast`` under CONTRAST_DOUBT): the one with fewer fresh runs (``parent``, ``culprit``: the
    confirmation's (failures, runs)), the parent on a tie, each up to the culprit's most (3 n_v);
    None when done, or when the plan's runs did not hold.

    A record may come from another machine or load, and the search may have stopped on it: a
    record that overstates p makes bad commits with a few clean runs look good, one that
    understates q makes good commits that failed look bad. The commit named and its parent are
    then alike, and their own runs say so."""
    if (
        contrast is None
        or contrast < CONTRAST_DOUBT
        or not judge_confirmation(plan, parent, culprit).confirmed
    ):
        return None
    runs = {"parent": parent[1], "culprit": culprit[1]}
    room = [side for side, made in runs.items() if made < plan.culprit_max_runs]
    return min(room, key=runs.__getitem__, default=None)


def judge_confirmation(
    plan: ConfirmationPlan, parent: tuple[int, int], culprit: tuple[int, int], contrast: float | None = None
) -> ConfirmationOutcome:
    pf, pr = parent
    cf, cr = culprit
    return ConfirmationOutcome(
        parent_failures=pf,
        parent_runs=pr,
        culprit_failures=cf,
        culprit_runs=cr,
        parent_ok=pf <= plan.parent_max_failures,
        culprit_ok=cf >= plan.culprit_failures,
        contrast=contrast,
    )


def fisher_more(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Fisher's exact test, one-sided: were both (failures, runs) counts of one failure rate, the
    chance that ``a`` holds as many of their failures as it does, or more."""
    (fa, ra), (fb, rb) = a, b
    k, n = fa + fb, ra + rb
    if not ra or not rb:
        return 1.0
    return sum(math.comb(ra, x) * math.comb(rb, k - x) for x in range(fa, min(k, ra) + 1)) / math.comb(n, k)


def fisher_p(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Fisher's exact test of two (failures, runs) counts: were both of one failure rate, the
    chance of a split of their failures as unlikely as this one or less (two-sided)."""
    (fa, ra), (fb, rb) = a, b
    k, n = fa + fb, ra + rb
    if not ra or not rb or k in (0, n):
        return 1.0
    whole = math.comb(n, k)
    chances = [math.comb(ra, x) * math.comb(rb, k - x) / whole for x in range(max(0, k - rb), min(k, ra) + 1)]
    seen = math.comb(ra, fa) * math.comb(rb, fb) / whole
    return min(1.0, sum(c for c in chances if c <= seen * (1 + 1e-9)))
