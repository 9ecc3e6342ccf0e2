"""What one run of the test means for the bisection (design note, section 4.4).

* ``fail``: the regression's failure. With ``--fail-match REGEX`` only a failed run whose output
  matches counts; a failure that does not match is ``other``: counted apart, it neither convicts
  nor clears the commit (the test stopped before it could show the regression).
* ``pass``: the test passed. With ``--pass-match REGEX`` only a passing run whose output matches
  counts (e.g. the test printed that it really ran); otherwise the run is ``inconclusive``.
* a timeout is what ``--timeout-as`` says: ``fail`` (the default), ``skip`` (the commit cannot be
  tested, as exit 125) or ``inconclusive``.
* ``untestable``: the commit does not build, or the setup exits 125.

Only ``pass`` and ``fail`` enter the posterior. A commit whose runs are mostly ``other`` or
``inconclusive`` is set aside as untestable (syzbot's two-thirds rule, when chance in a test
that fails other ways everywhere cannot explain it: ``set_aside``).
"""

from __future__ import annotations

import math
import re
from enum import StrEnum

from patchtool import proc
from patchtool.bisection.stats import binomial_cdf, log_beta
from patchtool.errors import UsageError
from patchtool.jsonable import record

_MAX_OUTPUT = 1_000_000  # characters of a run's output searched (its end, where errors are)


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNTESTABLE = "untestable"
    OTHER = "other-failure"
    INCONCLUSIVE = "inconclusive"

    @property
    def conclusive(self) -> bool:
        return self in (Verdict.PASS, Verdict.FAIL)


class TimeoutAs(StrEnum):
    FAIL = "fail"
    SKIP = "skip"
    INCONCLUSIVE = "inconclusive"


@record
class RawRun:
    """One finished run: whether it passed, whether it was killed at the deadline, its output."""

    passed: bool
    timed_out: bool
    output: str


def _compile(option: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as e:
        raise UsageError(f"{option} {pattern!r}: not a regular expression ({e})") from e


@record
class Classifier:
    fail_match: str | None = None
    pass_match: str | None = None
    timeout_as: TimeoutAs = TimeoutAs.FAIL

    def __post_init__(self) -> None:
        _compile("--fail-match", self.fail_match)
        _compile("--pass-match", self.pass_match)

    def key(self) -> str:
        return f"{self.fail_match!r}|{self.pass_match!r}|{self.timeout_as.value}"

    def classify(self, run: RawRun) -> Verdict:
        if run.timed_out:
            return _TIMEOUT_VERDICT[self.timeout_as]
        text = run.output[-_MAX_OUTPUT:]
        if run.passed:
            pattern = _compile("--pass-match", self.pass_match)
            return Verdict.PASS if pattern is None or pattern.search(text) else Verdict.INCONCLUSIVE
        pattern = _compile("--fail-match", self.fail_match)
        return Verdict.FAIL if pattern is None or pattern.search(text) else Verdict.OTHER


def ending(output: str, lines: int = 3, width: int = 200) -> tuple[str, ...]:
    """How a run ended, to be shown: the last ``lines`` non-blank lines of its output (each cut
    to its last ``width`` characters), or "(no output)". A user whose --fail-match counts no
    failure sees there what the failures do say ("killed by signal 11 SIGSEGV")."""
    return proc.last_lines(output[-_MAX_OUTPUT:], lines, width) or ("(no output)",)


_TIMEOUT_VERDICT = {
    TimeoutAs.FAIL: Verdict.FAIL,
    TimeoutAs.SKIP: Verdict.UNTESTABLE,
    TimeoutAs.INCONCLUSIVE: Verdict.INCONCLUSIVE,
}


def set_aside(conclusive: int, unusable: int, elsewhere: tuple[int, int] = (0, 0)) -> bool:
    """Whether a commit's runs are mostly unusable, by more than chance (syzbot's two-thirds rule,
    made to tell a commit that breaks the test from a test that fails other ways everywhere).

    Over two thirds of its runs, and at least 8, must be unusable, and more often than chance
    elsewhere explains. ``elsewhere`` is (unusable, all) of the other commits' runs. Either:

    * a Bayes factor of at least 1000 for a rate of its own against one rate shared with the
      other commits. The factor is a martingale under the shared rate, so a test failing other
      ways alike everywhere loses a commit this way at most once in 1000, however long it runs;
    * or over nine tenths of its runs are unusable while at most half of at least 20 are
      elsewhere; or, while fewer than 20 runs were made elsewhere, its first 50 runs all are
      (the first commit run, usually the bad end, has nothing to be compared with: 8 in a row
      there is chance at 5.7 % for a test unusable 70 % of the time, and "30, over nine
      tenths" set the bad end aside in 3 of 8 real bisects of a test unusable 90 % of the time;
      50 in a row is chance at 0.5 % there). Where the test is known to be mostly unusable
      elsewhere too, only the factor sets a commit aside: a test unusable 90 % of the time
      everywhere keeps its commits and the search goes on at its cost, and one unusable nearly
      everywhere is stopped as a whole (``unusable_everywhere``).

    Over 80 runs of a commit (bench/bisect_unusable.py --simulate), a test failing other ways at
    rate r everywhere had a commit set aside by the two-thirds rule alone 1.4 % of the time at r = 1/3,
    20 % at 1/2 and 56 % at 0.6; by this rule 0.05 %, 0.6 % and 0.03 % (0 % at 0.7 and 0.8, 0.03 %
    at 0.9, where the rule before this one set a commit aside 11 % and 76 % of the time). A
    commit failing other ways 80-100 % of the time is still set aside within a median of 10-16
    runs where the test is usable elsewhere at least half the time, and 35 where it is unusable
    70 % of the time elsewhere.
    """
    if unusable < SET_ASIDE_MIN_UNUSABLE or unusable <= 2 * conclusive:
        return False
    u_else, n_else = elsewhere
    c_else = n_else - u_else
    if n_else and unusable * n_else <= u_else * (unusable + conclusive):
        return False  # no more often than elsewhere: the factor below would also tell a lower rate apart
    own = log_beta(unusable + 1, conclusive + 1)
    shared = log_beta(u_else + unusable + 1, c_else + conclusive + 1) - log_beta(u_else + 1, c_else + 1)
    if own - shared >= _LOG_SET_ASIDE_FACTOR:
        return True
    usable_elsewhere = n_else >= ELSEWHERE_KNOWN and u_else <= n_else / 2
    if n_else < ELSEWHERE_KNOWN:  # little known elsewhere
        return conclusive == 0 and unusable >= 50
    return unusable > 9 * conclusive and usable_elsewhere


def unusable_everywhere(unusable: int, conclusive: int, broken: int = 0) -> bool:
    """Whether the test's runs are unusable nearly everywhere, so the search should stop and say
    so: at least 50 unusable runs over all commits, and the usable share below 5 % with 95 %
    certainty (flat prior). A test usable 10 % of the time is seldom stopped (it can still
    bisect, at ten times the runs). By bench/bisect_unusable.py --simulate, within 1500 runs:

    * usable 10 % of the time: 0.3 % of searches stopped (8 %: 1.0 %), against 18 % (8 %: 40 %)
      when the rule was "over 95 % of at least 50 runs";
    * never usable: stopped at the 58th run (at the 50th before); usable 2 % and 3 % of the
      time: at a median of 123 and 180 runs. At 99 % certainty those were 89, 197 and 424
      (and 0 % stopped at 8-10 %), and real QEMU bisects of a test usable 3 % of the time spent
      up to 1100 runs to stop.

    ``broken``: the runs of a bad end none of whose runs counted (a bad end broken by a later
    change fails another way every time) are left out of the bound: they say nothing of the test
    elsewhere. A broken bad end and a test usable 10 % of the time elsewhere stopped 33 of 300
    simulated searches (--simulate-search, N = 200, seed 4400) when they counted, 0 without.
    """
    if unusable < 50 or conclusive >= USABLE_SHARE_TO_STOP * (unusable + conclusive):
        return False  # the share seen is not under it, so the bound cannot be either
    return _beta_upper_tail(conclusive, unusable - broken, USABLE_SHARE_TO_STOP) < 1.0 - STOP_CERTAINTY


def _beta_upper_tail(successes: int, failures: int, x: float) -> float:
    """P(rate > x) for rate ~ Beta(successes + 1, failures + 1): P(Binomial(n + 1, x) <= successes)."""
    return binomial_cdf(successes + failures + 1, x, successes)


_LOG_SET_ASIDE_FACTOR = math.log(1000.0)
# set_aside: a commit needs at least this many unusable runs; with fewer runs than ELSEWHERE_KNOWN
# at the other commits, only the Bayes factor or 50 in a row set it aside.
SET_ASIDE_MIN_UNUSABLE = 8
ELSEWHERE_KNOWN = 20
# A test usable less often than this everywhere, with this certainty, stops the search.
USABLE_SHARE_TO_STOP = 0.05
STOP_CERTAINTY = 0.95
