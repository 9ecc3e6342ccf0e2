"""How a bisect's failed runs ended, kept per commit (table bisect_ways): the ways its test
failed, as `patchtool test` lists them (testrun.results.failure_way), for the report.

A prober reads each failed run's way where its output is (probe.failure_ways; a cluster's
worker sends them with the verdicts), and the driver counts them here as the runs come in, so a
resumed search, and `patchtool report`, show them too. Only the ways are kept, not the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from patchtool.bisection.classify import Verdict
from patchtool.bisection.graph import History
from patchtool.bisection.probe import Ways
from patchtool.bisection.replay import BISECT_DDL, Unusable, record_unusable, rows_at
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import group_ways, way_key


def record_endings(
    store: Store, key: str, commit: str, unusable: tuple[Verdict, tuple[str, ...]] | None, ways: Ways
) -> Unusable | None:
    """How a batch's runs at ``commit`` ended: the newest that did not count (record_unusable),
    returned, and every failed one's way (record_ways)."""
    record_ways(store, key, commit, ways)
    return None if unusable is None else record_unusable(store, key, (commit, *unusable))


def record_ways(store: Store, key: str, commit: str, ways: Ways) -> None:
    """Count how the failed runs of a batch at ``commit`` ended (Prober.last_ways), each way once
    per verdict as testrun.results.way_key groups it, with the words of its first run."""
    if not ways:
        return
    store.ensure_schema(BISECT_DDL)
    verdicts = dict.fromkeys(verdict for verdict, _ in ways)
    rows = [
        (key, commit, verdict.value, way_key(words), words, runs)
        for verdict in verdicts
        for words, runs in group_ways(way for v, way in ways if v == verdict)
    ]
    sql = "INSERT INTO bisect_ways (probe_key, commit_sha, verdict, way_key, ending, runs)"
    sql += " VALUES (?, ?, ?, ?, ?, ?)"
    sql += " ON CONFLICT (probe_key, commit_sha, verdict, way_key) DO UPDATE SET runs = runs + excluded.runs"
    with store.transaction() as conn:
        conn.executemany(sql, rows)


def stored_ways(store: Store, key: str, commits: Sequence[str]) -> list[tuple[str, Verdict, str, str, int]]:
    """(commit, verdict, way_key, words, runs) of the failed runs stored at ``commits``."""
    sql = "SELECT commit_sha, verdict, way_key, ending, runs FROM bisect_ways WHERE probe_key = ?"
    sql += " ORDER BY rowid"
    rows = []
    for commit, verdict, group_key, words, runs in rows_at(store, sql, key, commits):
        with suppress(ValueError):
            rows.append((str(commit), Verdict(verdict), str(group_key), str(words), int(runs)))
    return rows


@record
class FailedWay:
    """One way the search's failed runs ended (testrun.results.failure_way), in the words of the
    first: how many runs, how many of them at commits the search holds good (the runs that make
    q: a good commit failing this way), and whether they counted (``verdict`` "fail") or were
    counted apart ("other-failure": another failure under --fail-match)."""

    ending: str
    verdict: str
    runs: int
    on_good_side: int

    def about(self, good_commits: str = "good commits") -> str:
        """What else is said of its runs, after their count: ", 13 on good commits, counted apart"."""
        good = f", {self.on_good_side} on {good_commits}" if self.on_good_side else ""
        return good + (", counted apart" if self.verdict != Verdict.FAIL.value else "")


def good_sides(
    shas: Sequence[str], outside: Mapping[int, str], history: History, top: int
) -> dict[str, bool]:
    """Whether each commit of a search is on the good side of ``top``: ``shas`` (positions in
    ``history``) that do not descend from it, and the parents ``outside`` the range."""
    sides = {sha: True for sha in outside.values()}
    sides.update((sha, not history.is_ancestor(top, i)) for i, sha in enumerate(shas))
    return sides


def with_ends(ends: Sequence[str], sides: Mapping[str, bool]) -> dict[str, bool]:
    """``sides`` and the commits whose runs `patchtool test` stored a search counted as records
    (earlier.EarlierRuns.ends: the bad end, then the good commits), where ``sides`` lacks them."""
    return dict.fromkeys(ends[1:], True) | dict.fromkeys(ends[:1], False) | dict(sides)


def failed_ways(
    store: Store, key: str, sides: Mapping[str, bool], tested: Mapping[str, Ways] | None = None
) -> tuple[FailedWay, ...]:
    """The stored ways of the failed runs at the commits of ``sides`` (good_sides: a search's, and
    a first-parent line's around the merge searched inside), and those of the runs `patchtool
    test` stored that the search counted (``tested``, per commit: earlier.tested_ways), grouped
    over the commits, counted ones first, most runs first, with how many of their runs were on
    the good side."""
    found = stored_ways(store, key, list(sides))
    for sha, endings in (tested or {}).items():
        found += [(sha, verdict, way_key(words), words, 1) for verdict, words in endings]
    grouped: dict[tuple[Verdict, str], list[Any]] = {}
    for sha, verdict, group_key, words, runs in found:
        way = grouped.setdefault((verdict, group_key), [words, 0, 0])
        way[1] += runs
        way[2] += runs if sides[sha] else 0
    ways = [FailedWay(w, verdict.value, runs, good) for (verdict, _), (w, runs, good) in grouped.items()]
    return tuple(sorted(ways, key=lambda w: (w.verdict != Verdict.FAIL.value, -w.runs)))
