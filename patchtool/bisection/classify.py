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
``inconclusive`` is set aside as untestable (syzbot's two-thirds rule).
"""

from __future__ import annotations

import re
from enum import StrEnum

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


_TIMEOUT_VERDICT = {
    TimeoutAs.FAIL: Verdict.FAIL,
    TimeoutAs.SKIP: Verdict.UNTESTABLE,
    TimeoutAs.INCONCLUSIVE: Verdict.INCONCLUSIVE,
}


def set_aside(conclusive: int, inconclusive: int) -> bool:
    """Whether a commit's runs are mostly unusable: over two thirds of them, and at least 8 (a few
    unlucky runs of a test that also fails other ways must not end the search)."""
    return inconclusive >= 8 and inconclusive > 2 * conclusive
