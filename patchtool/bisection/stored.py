"""A stored bisect for the report: the range the latest bisect of a probe recorded, its rows
replayed (replay.Replay) into the posterior it stopped on, as the public record `StoredBisect`.

A fix search (fixes.py) is replayed on its own line and read in the fix's terms. A search inside
a merge a line named is replayed after that line, with the line's runs as its records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from patchtool.bisection.core import BisectState
from patchtool.bisection.earlier import EarlierRuns, TestedWays, earlier_runs, inside_rows, tested_ways
from patchtool.bisection.fixes import fix_line, fix_of
from patchtool.bisection.graph import History
from patchtool.bisection.line import line_spent, line_ways
from patchtool.bisection.model import BisectResult, Strategy
from patchtool.bisection.probe import BuildFailure, ProbeSpec
from patchtool.bisection.ranges import commit_graph
from patchtool.bisection.records import (
    SURE_DOUBT,
    Counts,
    RecordAgainst,
    counted_ends,
    plus,
    records_against,
    sure_counts,
    without,
)
from patchtool.bisection.replay import (
    BISECT_DDL,
    BUILT,
    FIX_LINE,
    Replay,
    Row,
    Unusable,
    cannot_test,
    load_rows,
    newest_build_failure,
    newest_unusable,
    stored_revert,
)
from patchtool.bisection.revert import RevertOutcome
from patchtool.bisection.ways import FailedWay
from patchtool.errors import InputError
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo


@record
class StoredBisect:
    """A stored bisect, replayed: the commits (oldest first, shas[0] the good end), their
    subjects, the posterior per commit and the result record."""

    test: str
    shas: tuple[str, ...]
    subjects: tuple[str, ...]
    posterior: tuple[float, ...]
    result: BisectResult
    revert: RevertOutcome | None = None  # the revert test of the culprit, when one was run
    paths: tuple[str, ...] = ()  # the search was limited to the commits that change these
    build_failure: BuildFailure | None = None  # the newest probed commit that did not build
    # A fix search (fixes.py): ``shas`` is its line newest first (the fixed end, then the broken
    # end last), and the result's culprit c means the fix is shas[c - 1] (fixes.fix_of).
    fix: bool = False
    # How the newest run of the range that did not count ended (replay.Unusable): what the failures
    # a --fail-match missed said.
    newest_unusable: Unusable | None = None
    # The ways the search's failed runs ended (ways.failed_ways), as `bisect` lists them.
    failed_ways: tuple[FailedWay, ...] = ()
    # The records `patchtool test` stored at the ends that the search's own runs contradict, set
    # aside as the bisect set them aside (records.records_against); not those given on its command
    # line, which are not stored.
    records_against: tuple[RecordAgainst, ...] = ()
    # A search inside a merge a first-parent search (or a fix search's line) named: that merge's
    # sha and subject (the last merge gone down into), and the runs and builds of the lines above
    # at the commits the search inside does not have (line.line_spent), as `bisect` says them.
    merge: tuple[str, str] | None = None
    line_runs: int = 0
    line_builds: int = 0


def load_stored(
    store: Store, repo: GitRepo, test: str, key: str, spec: ProbeSpec | None = None
) -> StoredBisect | None:
    """The bisect evidence stored under ``key`` in this repository, replayed into a posterior.

    The range is the one the latest bisect of this probe recorded (with observations in it);
    for a store written before ranges were recorded, the oldest to the newest commit observed.
    None when the store has nothing for this probe here. With the probe's ``spec``, the runs
    `patchtool test` stored in the range count as the bisect counted them (earlier.py), so the
    posterior is the one it stopped on; records given on its command line are not stored.

    A search inside a merge that a first-parent search named (or a fix search's line, down
    through merges inside merges) is replayed as the bisect ran it: the line's, recorded just
    before it, first, and the line's runs on each side of the merge counted inside as records.
    """
    store.ensure_schema(BISECT_DDL)
    ranges = _recorded_ranges(store, repo, key)
    found = next(ranges, None)
    if found is None and not _fix_searched(store, key):  # a fix search's runs read as a regression's
        found = _observed_range(store, repo, key)  # would name commits at the wrong end
    if found is None:
        return None
    levels = [found]  # the lines above it, each recorded just before the search inside it
    while len(levels) <= _MAX_LINES and (found.fix or not found.first_parent):
        outer = next(ranges, None)
        if outer is None or outer.fix != found.fix or not (outer.fix or outer.first_parent):
            break
        if levels[-1].shas[-1] not in outer.shas:  # the merge, or (fix) where its branch forked
            break
        levels.append(outer)
        if not found.fix:  # a first-parent search goes down one merge (driver.run_bisect)
            break
    searched = _replayed(store, repo, spec, levels[-1])
    lines: list[_Searched] = []
    for inner in reversed(levels[:-1]):
        merge = _merge_searched(repo, searched, inner)
        if merge is None:  # not the search inside the merge this line named: on its own
            lines, searched = [], _replayed(store, repo, spec, inner)
            continue
        lines.append(searched)
        searched = _replayed(store, repo, spec, inner, above=searched, merge=merge)
    return _stored(store, repo, test, key, searched, lines)


_MAX_LINES = 8  # merges inside merges a search went down (fixrun._MAX_DEPTH)


@record
class _TestedEnds:
    """What line.py reads of a search's options: the ends whose `patchtool test` runs count."""

    tested_ends: tuple[str, ...]


@record
class _Searched:
    """One stored range replayed as its search ran (line.Searched): its state, the records it
    counted (given, set aside) and, inside a merge a line named, that merge and the line's runs."""

    found: _Found
    commits: list[str]
    state: BisectState
    replay: Replay
    outside: dict[int, str]
    tested_ways: TestedWays
    options: _TestedEnds
    given: tuple[Counts, Counts]  # the records still counted that could be set aside
    aside: tuple[RecordAgainst, ...]
    line_records: tuple[Counts, Counts] = ((0, 0), (0, 0))
    merge: str | None = None


def _replayed(
    store: Store,
    repo: GitRepo,
    spec: ProbeSpec | None,
    found: _Found,
    above: _Searched | None = None,
    merge: str | None = None,
) -> _Searched:
    """``found``'s rows replayed with the records its search counted: the runs `patchtool test`
    stored at its ends (or, inside the ``merge`` the line ``above`` named, the line's records that
    still count, and the line's runs on each side of it, never set aside); a record its own runs
    contradict set aside as the bisect set it aside."""
    shas, history, outside, rows, goods = found.shas, found.history, found.outside, found.rows, found.goods
    aside: tuple[RecordAgainst, ...]
    if above is None:
        before = earlier_runs(store, repo, spec, shas[-1], goods) if spec is not None else EarlierRuns()
        records, aside, ends, line = (before.bad, before.good), (), before.ends, ((0, 0), (0, 0))
    else:
        records, aside, ends = above.given, above.aside, above.options.tested_ends
        line = _line_records(above, merge or "", shas)
    inside = inside_rows(store, repo, spec, shas, goods, list(outside.values())) if spec is not None else []
    while True:  # as the bisect: a record its own runs contradict is set aside
        counted = plus(records[0], line[0]), plus(records[1], line[1])
        strategy = Strategy(bad_record=counted[0], good_record=counted[1])
        replay = Replay.over(BisectState(history, strategy), shas, outside, sorted(found.skipped))
        replay.apply_all(rows)
        replay.apply_all(inside)
        state = replay.state
        doubts = records_against(*records, sure_counts(state), SURE_DOUBT) or records_against(
            *records, state.side_counts(state.result().top)
        )  # as it went (where it is sure of the side), and once it stopped
        if not doubts:
            break
        records, aside = without(*records, doubts), (*aside, *doubts)
    tested: TestedWays = {}
    if spec is not None:
        counted_at = [*counted_ends(ends, aside), *dict.fromkeys(row[0] for row in inside)]
        tested = tested_ways(store, repo, spec, counted_at)
    return _Searched(
        found, shas, state, replay, outside, tested, _TestedEnds(tuple(ends)), records, aside, line, merge
    )


def _merge_searched(repo: GitRepo, line: _Searched, inner: _Found) -> str | None:
    """The merge ``line`` named, when ``inner`` is the search inside it the bisect made: a
    first-parent search's merge is the inner range's bad end and its first parent a good end
    (driver.run_bisect); a fix search's merge has the inner line's fixed end as second parent, and
    that line ends where it meets the first parent's history (fixrun.run_fix_search,
    fixes.fix_line)."""
    culprit = line.state.result().culprit
    if culprit is None:
        return None
    merge = line.commits[fix_of(culprit) if inner.fix else culprit]
    parents = repo.out("rev-list", "--parents", "-n", "1", merge).split()[1:]
    if inner.fix:
        met = len(parents) == 2 and repo.is_ancestor(inner.shas[-1], parents[0])
        return merge if met and parents[1] == inner.shas[0] else None
    return merge if merge == inner.shas[-1] and parents[:1] == inner.goods[:1] else None


def _line_records(line: _Searched, merge: str, inner: Sequence[str]) -> tuple[Counts, Counts]:
    """The records a search inside ``merge`` counts from the ``line`` that named it: the line's
    own, and its runs on each side of the merge but at the commits the search inside has
    (driver.run_bisect, fixrun.run_fix_search)."""
    top = line.commits.index(merge) + (1 if line.found.fix else 0)  # a fix's culprit: fixes.fix_of
    shared = set(inner)
    ends = {i for i, sha in enumerate(line.commits) if sha in shared}
    bad, good = line.state.side_counts(top, ends)
    return plus(line.line_records[0], bad), plus(line.line_records[1], good)


def _stored(
    store: Store, repo: GitRepo, test: str, key: str, searched: _Searched, lines: Sequence[_Searched]
) -> StoredBisect:
    shas, fix = searched.commits, searched.found.fix
    subjects = _subjects(repo, shas[-1], shas[0]) if fix else _subjects(repo, shas[0], shas[-1])
    result = searched.state.result()
    revert = None
    if result.culprit is not None:
        named = shas[fix_of(result.culprit)] if fix else shas[result.culprit]
        revert = stored_revert(store, repo, key, named, result, fix)
    ways = line_ways(lines, searched, store, key)  # with no line above, the search's own
    spent = [line_spent(line, inner) for line, inner in zip(lines, [*lines, searched][1:], strict=True)]
    runs, builds = sum(r for r, _ in spent), sum(b for _, b in spent)
    merge = searched.merge
    return StoredBisect(
        test,
        tuple(shas),
        tuple(subjects.get(c, "") for c in shas),
        tuple(searched.state.posterior()),
        result,
        revert,
        tuple(searched.found.paths),
        newest_build_failure(store, key, cannot_test(result, shas, searched.replay.dropped)),
        fix,
        newest_unusable(store, key, shas),
        ways,
        searched.aside,
        (merge, repo.commit_info(merge).subject) if merge is not None else None,
        runs,
        builds,
    )


class _Found(NamedTuple):
    """A recorded range: the commits (history order), its graph, the outside first parents
    (range_graph), the rows of them all, the good commits that bound it, the commits of it --skip
    named, the paths it was limited to, whether it is a fix search's line, and whether a
    first-parent search's."""

    shas: list[str]
    history: History
    outside: dict[int, str]
    rows: list[Row]
    goods: list[str]
    skipped: set[str]
    paths: list[str]
    fix: bool
    first_parent: bool = False


def _recorded_ranges(store: Store, repo: GitRepo, key: str) -> Iterator[_Found]:
    """The ranges bisects of this probe recorded here with runs in them, the latest first."""
    ranges = store.query(
        "SELECT good_sha, bad_sha, first_parent, recorded_at FROM bisect_ranges WHERE probe_key = ?"
        " ORDER BY recorded_at DESC",
        (key,),
    )
    for good, bad, first_parent, started in ranges:
        goods = str(good).split()  # several good commits are stored space-separated
        if not (goods and all(repo.try_rev_parse(g) for g in goods) and repo.try_rev_parse(str(bad))):
            continue  # another repository's bisect of the same probe
        fix = first_parent == FIX_LINE  # its ends as searched: the fixed end, the broken one
        try:
            paths = _recorded_paths(store, key, str(good), str(bad), int(first_parent))
            if fix:
                shas, history, outside = fix_line(repo, str(bad), str(good), paths)
            else:
                shas, history, outside = commit_graph(repo, goods, str(bad), bool(first_parent), paths)
        except InputError:
            continue
        rows = load_rows(store, key, [*shas, *outside.values()], since=float(started))
        if any(outcome != BUILT for _, outcome, _, _ in rows):
            skips = store.query(
                "SELECT commit_sha FROM bisect_skips WHERE probe_key = ? AND good_sha = ? AND bad_sha = ?",
                (key, good, bad),
            )
            skipped = {str(r[0]) for r in skips}
            first = not fix and bool(first_parent)
            yield _Found(shas, history, outside, rows, goods, skipped, paths, fix, first)


def _fix_searched(store: Store, key: str) -> bool:
    """Whether a fix search of this probe was stored: its runs, read as a regression's, would
    name the wrong commits."""
    sql = "SELECT 1 FROM bisect_ranges WHERE probe_key = ? AND first_parent = ? LIMIT 1"
    return bool(store.query(sql, (key, FIX_LINE)))


def _recorded_paths(store: Store, key: str, good: str, bad: str, mode: int) -> list[str]:
    """The paths the bisect of this range was limited to (none: stored before paths were); ``mode``
    is the range's stored ``first_parent`` (replay.record_range)."""
    rows = store.query(
        "SELECT paths FROM bisect_paths"
        " WHERE probe_key = ? AND good_sha = ? AND bad_sha = ? AND first_parent = ?",
        (key, good, bad, mode),
    )
    try:
        paths = json.loads(str(rows[0][0])) if rows else []
    except ValueError:
        paths = None
    if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
        raise InputError(f"stored paths of the bisect of {bad[:12]} are not a list of paths")
    return paths


def _observed_range(store: Store, repo: GitRepo, key: str) -> _Found | None:
    # A revert test's commit is a child of the bad end, not part of the range.
    sql = "SELECT DISTINCT commit_sha FROM bisect_observations WHERE probe_key = ? AND phase != 'revert'"
    rows = store.query(sql, (key,))
    known = [sha for r in rows if (sha := repo.try_rev_parse(str(r[0])))]
    if len(known) < 2:
        return None
    # The bad end is the one observed commit no other descends from; the good end is the common
    # ancestor of them all.
    tips = repo.out("merge-base", "--independent", *known).split()
    base = repo.git("merge-base", "--octopus", *known, check=False).text().split()
    if len(tips) != 1 or len(base) != 1 or base[0] not in known or base[0] == tips[0]:
        return None
    shas, history, outside = commit_graph(repo, base[0], tips[0], first_parent=False)
    observed = load_rows(store, key, [*shas, *outside.values()])
    return _Found(shas, history, outside, observed, [base[0]], set(), [], False)


def _subjects(repo: GitRepo, good: str, bad: str) -> dict[str, str]:
    listing = repo.out("log", "--format=%H%x00%s", f"{good}..{bad}", "--")
    pairs = (line.split("\0", 1) for line in listing.splitlines() if "\0" in line)
    return {good: repo.commit_info(good).subject, **dict(pairs)}
