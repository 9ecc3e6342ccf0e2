"""What a bisect was asked (the command line's range, budgets and records), and the records it
counts as the search goes (records.py: one its own runs contradict is set aside)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from patchtool.bisection.records import Counts, RecordAgainst, plus, without
from patchtool.jsonable import record


@record
class BisectOptions:
    good: str
    bad: str
    first_parent: bool = False
    confidence: float = 0.99
    max_runs: int | None = None
    max_time: float | None = None
    jobs: int = 1
    revert_test: bool = True
    also_good: tuple[str, ...] = ()  # more good commits (git bisect good A B): their ancestors are out
    # The test's record known before the search, (failures, runs): at the bad end, and on commits
    # known good (--bad-record, --good-record; Strategy.bad_record, good_record).
    bad_record: tuple[int, int] = (0, 0)
    good_record: tuple[int, int] = (0, 0)
    # Inside a merge a search named: the runs of the line(s) above on each side, counted with the
    # records but never set aside (the search's own); and the records an earlier search of this
    # bisect set aside (its own runs contradicted them: records_against), which stay (0, 0).
    line_records: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    set_aside: tuple[RecordAgainst, ...] = ()
    count_tested: bool = False  # runs `patchtool test` stored between the ends count (earlier.py)
    # the commits whose runs `patchtool test` stored are in the records: the bad end, then good ones
    tested_ends: tuple[str, ...] = ()
    skip: frozenset[str] = frozenset()  # commits not to build or test (--skip; ranges.skipped_commits)
    paths: tuple[str, ...] = ()  # only the commits that change these (git bisect start -- PATH...)
    # A fix search (fixes.py): ``good`` is the commit where the test passes, ``bad`` one before it
    # where it fails, and the search runs on ``good``'s first-parent line, read backwards.
    fix: bool = False

    @property
    def records_given(self) -> bool:
        """Whether a record given still counts (one set aside is (0, 0); the line's are not given)."""
        return bool(self.bad_record[1] or self.good_record[1])

    def counted(self) -> tuple[Counts, Counts]:
        """The records the search counts (Strategy.bad_record, good_record): given and the line's."""
        return plus(self.bad_record, self.line_records[0]), plus(self.good_record, self.line_records[1])

    def without(self, found: Sequence[RecordAgainst]) -> BisectOptions:
        """These options with the records ``found`` contradicted set aside (records.without)."""
        bad, good = without(self.bad_record, self.good_record, found)
        return replace(self, bad_record=bad, good_record=good, set_aside=(*self.set_aside, *found))
