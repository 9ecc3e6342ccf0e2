"""A stored bisect for the report: the range the latest bisect of a probe recorded, its rows
replayed (replay.Replay) into the posterior it stopped on, as the public record `StoredBisect`.

A fix search (fixes.py) is replayed on its own line and read in the fix's terms.
"""

from __future__ import annotations

import json

from patchtool.bisection.core import BisectState
from patchtool.bisection.earlier import EarlierRuns, TestedWays, earlier_runs, inside_rows, tested_ways
from patchtool.bisection.fixes import fix_line, fix_of
from patchtool.bisection.graph import History
from patchtool.bisection.model import BisectResult, Strategy
from patchtool.bisection.probe import BuildFailure, ProbeSpec
from patchtool.bisection.ranges import commit_graph
from patchtool.bisection.records import (
    SURE_DOUBT,
    RecordAgainst,
    counted_ends,
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
from patchtool.bisection.ways import FailedWay, failed_ways, good_sides, with_ends
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


def load_stored(
    store: Store, repo: GitRepo, test: str, key: str, spec: ProbeSpec | None = None
) -> StoredBisect | None:
    """The bisect evidence stored under ``key`` in this repository, replayed into a posterior.

    The range is the one the latest bisect of this probe recorded (with observations in it);
    for a store written before ranges were recorded, the oldest to the newest commit observed.
    None when the store has nothing for this probe here. With the probe's ``spec``, the runs
    `patchtool test` stored in the range count as the bisect counted them (earlier.py), so the
    posterior is the one it stopped on; records given on its command line are not stored.
    """
    store.ensure_schema(BISECT_DDL)
    found = _recorded_range(store, repo, key)
    if found is None and not _fix_searched(store, key):  # a fix search's runs read as a regression's
        found = _observed_range(store, repo, key)  # would name commits at the wrong end
    if found is None:
        return None
    shas, history, outside, rows, goods, skipped, paths, fix = found
    before = earlier_runs(store, repo, spec, shas[-1], goods) if spec is not None else EarlierRuns()
    inside = inside_rows(store, repo, spec, shas, goods, list(outside.values())) if spec is not None else []
    records = before.bad, before.good
    aside: tuple[RecordAgainst, ...] = ()
    while True:  # as the bisect: a record its own runs contradict is set aside
        strategy = Strategy(bad_record=records[0], good_record=records[1])
        replay = Replay.over(BisectState(history, strategy), shas, outside, sorted(skipped))
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
        counted = [*counted_ends(before.ends, aside), *dict.fromkeys(row[0] for row in inside)]
        tested = tested_ways(store, repo, spec, counted)
    subjects = _subjects(repo, shas[-1], shas[0]) if fix else _subjects(repo, shas[0], shas[-1])
    result = replay.state.result()
    top = result.top
    revert = None
    if result.culprit is not None:
        named = shas[fix_of(result.culprit)] if fix else shas[result.culprit]
        revert = stored_revert(store, repo, key, named, result, fix)
    return StoredBisect(
        test,
        tuple(shas),
        tuple(subjects.get(c, "") for c in shas),
        tuple(replay.state.posterior()),
        result,
        revert,
        tuple(paths),
        newest_build_failure(store, key, cannot_test(result, shas, replay.dropped)),
        fix,
        newest_unusable(store, key, shas),
        failed_ways(store, key, with_ends(before.ends, good_sides(shas, outside, history, top)), tested),
        aside,
    )


# The range, its graph, the outside first parents (range_graph), the rows of them all, the good
# commits that bound it, the commits of it --skip named, the paths it was limited to, and whether
# it is a fix search's line.
_Found = tuple[list[str], History, dict[int, str], list[Row], list[str], set[str], list[str], bool]


def _recorded_range(store: Store, repo: GitRepo, key: str) -> _Found | None:
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
            return shas, history, outside, rows, goods, {str(r[0]) for r in skips}, paths, fix
    return None


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
    return shas, history, outside, observed, [base[0]], set(), [], False


def _subjects(repo: GitRepo, good: str, bad: str) -> dict[str, str]:
    listing = repo.out("log", "--format=%H%x00%s", f"{good}..{bad}", "--")
    pairs = (line.split("\0", 1) for line in listing.splitlines() if "\0" in line)
    return {good: repo.commit_info(good).subject, **dict(pairs)}
