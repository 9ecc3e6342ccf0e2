"""Small statistics for test outcomes: failure rates with honest intervals (Wilson score)."""

from __future__ import annotations

import math

from patchtool.jsonable import record

# z for a two-sided 95% interval of the normal distribution.
Z95 = 1.959963984540054


def wilson_interval(failures: int, runs: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a failure probability from `failures` out of `runs`.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n
    failures, which matters here: "0 failures out of 20" still leaves a rate up to ~16%.
    With no runs nothing is known, so the interval is the whole of [0, 1].
    """
    if runs < 0 or failures < 0 or failures > runs:
        raise ValueError(f"invalid counts: {failures} failures out of {runs} runs")
    if runs == 0:
        return (0.0, 1.0)
    phat = failures / runs
    z2 = z * z
    denom = 1.0 + z2 / runs
    centre = (phat + z2 / (2 * runs)) / denom
    half = z * math.sqrt(phat * (1 - phat) / runs + z2 / (4 * runs * runs)) / denom
    low = 0.0 if failures == 0 else max(0.0, centre - half)
    high = 1.0 if failures == runs else min(1.0, centre + half)
    return (low, high)


@record
class Rate:
    """A measured proportion: `hits` out of `trials`, its point estimate and 95% interval."""

    hits: int
    trials: int

    @property
    def value(self) -> float:
        return self.hits / self.trials if self.trials else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.trials)

    def describe(self) -> str:
        """E.g. `9/20 (45%, 95% CI 26%-66%)`."""
        low, high = self.interval
        return f"{self.hits}/{self.trials} ({self.value:.0%}, 95% CI {low:.0%}-{high:.0%})"
