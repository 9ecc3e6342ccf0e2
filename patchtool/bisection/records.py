"""What a bisect knew of the test before it ran (--bad-record, --good-record, the runs `patchtool
test` stored at the ends), checked against what it saw: a record the search's own runs contradict
is set aside, and the search goes on from its own runs (driver.search_and_confirm)."""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.bisection.core import BisectState
from patchtool.bisection.stats import fisher_p
from patchtool.jsonable import record

Counts = tuple[int, int]  # (failures, runs)

RECORD_DOUBT = 0.01  # a record whose Fisher test against the search's own runs is under this
# Before the search stops, a record is checked after every batch of runs against the runs at the
# commits this sure to be bad (or good), at a stricter level: many looks at one record. Tuned on
# bench/bisect_records.py (seeds 61001-61501): a bad-end record of 0/60 where p = 0.26 (126
# commits, 100 searches) cost 520 counted to the end, 441 / 399 / 332 set aside at 0.001 / 0.003
# / 0.01; honest records (40 runs at the bad end, 100 on good commits, 300 searches) were set
# aside in 6 / 8 / 14 at 16:0.2:0.1, the expected error 0.07 % at the first two, 0.40 % at 0.01.
SURE_SIDE = 0.99
SURE_DOUBT = 0.003


@record
class RecordAgainst:
    """A record known before the search (--bad-record, --good-record, or the runs `patchtool test`
    stored) that the search's own runs on that side contradict: ``side`` "bad" (its runs at the
    commits that descend from the commit it names) or "good" (the rest, the good end's too), both
    counts and the test's p-value. It may come from another machine, load or way of running the
    test: it is set aside, and the stated confidence rests on the search's own runs."""

    side: str
    record: Counts
    own: Counts
    p_value: float


def plus(a: Counts, b: Counts) -> Counts:
    return a[0] + b[0], a[1] + b[1]


def records_against(
    bad_record: Counts, good_record: Counts, sides: tuple[Counts, Counts], level: float = RECORD_DOUBT
) -> tuple[RecordAgainst, ...]:
    """The records that the search's own runs on their side of the commit it names contradict, at
    Fisher p < ``level`` (``sides``: core.BisectState.side_counts, or sure_counts, bad side first)."""
    found = []
    for name, given, own in (("bad", bad_record, sides[0]), ("good", good_record, sides[1])):
        if given[1] and own[1] and (p := fisher_p(given, own)) < level:
            found.append(RecordAgainst(name, given, own, p))
    return tuple(found)


def sure_counts(state: BisectState, sure: float = SURE_SIDE) -> tuple[Counts, Counts]:
    """(failures, runs) of the search's own runs at the commits whose side it is sure of: bad with
    probability at least ``sure`` (the bad end always), good with at most 1 - ``sure`` (the good
    end always). Before it names a commit, a record is checked against these."""
    bad, good = [0, 0], [0, 0]
    for i in state.post.tested():
        chance = state.prob_bad(i)
        side = bad if chance >= sure else good if chance <= 1.0 - sure else None
        if side is not None:
            fails, runs = state.counts(i)
            side[0], side[1] = side[0] + fails, side[1] + runs
    return (bad[0], bad[1]), (good[0], good[1])


def without(bad: Counts, good: Counts, found: Sequence[RecordAgainst]) -> tuple[Counts, Counts]:
    """The records (bad, good) with those ``found`` contradicted set aside: (0, 0)."""
    sides = {doubt.side for doubt in found}
    return (0, 0) if "bad" in sides else bad, (0, 0) if "good" in sides else good


def counted_ends(tested_ends: Sequence[str], set_aside: Sequence[RecordAgainst]) -> list[str]:
    """The ends whose runs `patchtool test` stored count as records (earlier.EarlierRuns.ends: the
    bad end, then good commits), but those of a record ``set_aside``."""
    sides = {doubt.side for doubt in set_aside}
    bad, goods = tested_ends[:1], tested_ends[1:]
    return [*([] if "bad" in sides else bad), *([] if "good" in sides else goods)]


def said(doubt: RecordAgainst, side: str) -> str:
    """A record set aside, in words (``side``: "bad commits", or a fix search's words for it)."""
    (rf, rr), (of, orr) = doubt.record, doubt.own
    return (
        f"the record {rf}/{rr} is not what this search saw on {side}, {of}/{orr}"
        f" (Fisher p = {doubt.p_value:.2g}): set aside, the search went on from its own runs"
    )
