"""The one replay of stored bisect observations, and the records of the range a bisect searched.

`patchtool bisect` writes every build verdict and every run to the store the moment it happens,
keyed by commit and probe. The bisect command (resuming), and the report (showing a stored
result, stored.py) both rebuild the posterior from those rows here, through `Replay`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from patchtool.bisection.classify import Verdict, set_aside, unusable_everywhere
from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import GOOD_END
from patchtool.bisection.model import BisectResult, StopReason
from patchtool.bisection.probe import BuildFailure
from patchtool.bisection.revert import (
    RevertCommit,
    RevertOutcome,
    conflicts_outcome,
    judge_revert,
    noop_detail,
)
from patchtool.bisection.standins import set_aside_bad_end
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

FIX_LINE = 2  # bisect_ranges.first_parent of a fix search's range (record_range)

BISECT_DDL = """
CREATE TABLE IF NOT EXISTS bisect_observations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    probe_key TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    outcome TEXT NOT NULL,
    phase TEXT NOT NULL,
    seconds REAL NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bisect_observations_key ON bisect_observations (probe_key, commit_sha);
CREATE TABLE IF NOT EXISTS bisect_ranges (
    probe_key TEXT NOT NULL,
    good_sha TEXT NOT NULL,
    bad_sha TEXT NOT NULL,
    first_parent INTEGER NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (probe_key, good_sha, bad_sha, first_parent)
);
CREATE TABLE IF NOT EXISTS bisect_skips (
    probe_key TEXT NOT NULL,
    good_sha TEXT NOT NULL,
    bad_sha TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    PRIMARY KEY (probe_key, good_sha, bad_sha, commit_sha)
);
CREATE TABLE IF NOT EXISTS bisect_paths (
    probe_key TEXT NOT NULL,
    good_sha TEXT NOT NULL,
    bad_sha TEXT NOT NULL,
    first_parent INTEGER NOT NULL,
    paths TEXT NOT NULL,
    PRIMARY KEY (probe_key, good_sha, bad_sha, first_parent)
);
CREATE TABLE IF NOT EXISTS bisect_build_failures (
    probe_key TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    first_error TEXT NOT NULL,
    log_path TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (probe_key, commit_sha)
);
CREATE TABLE IF NOT EXISTS bisect_unusable (
    probe_key TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    verdict TEXT NOT NULL,
    ending TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (probe_key, commit_sha)
);
CREATE TABLE IF NOT EXISTS bisect_ways (
    probe_key TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    verdict TEXT NOT NULL,
    way_key TEXT NOT NULL,
    ending TEXT NOT NULL,
    runs INTEGER NOT NULL,
    PRIMARY KEY (probe_key, commit_sha, verdict, way_key)
);
CREATE TABLE IF NOT EXISTS bisect_reverts (
    probe_key TEXT NOT NULL,
    culprit_sha TEXT NOT NULL,
    bad_sha TEXT NOT NULL,
    revert_sha TEXT,
    conflicts TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (probe_key, culprit_sha, bad_sha)
);
"""
BUILT = "built"  # an outcome row that only records a successful build and its duration
Row = tuple[str, str, str, float]  # commit, outcome, phase, seconds


def rows_at(store: Store, sql: str, key: str, commits: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects for the probe ``key`` whose first column is one of ``commits``."""
    store.ensure_schema(BISECT_DDL)
    wanted = set(commits)
    return [tuple(r) for r in store.query(sql, (key,)) if r[0] in wanted]


def load_rows(store: Store, key: str, commits: Sequence[str], since: float | None = None) -> list[Row]:
    """Stored (commit, outcome, phase, seconds) rows of this probe for these commits, in order.

    With ``since`` (when the latest bisect of the range started), the "cannot test" rows from
    before it are left out, as that bisect left them out (driver._Session._stored): it probed those
    commits again, or never needed them."""
    sql = "SELECT commit_sha, outcome, phase, seconds, recorded_at FROM bisect_observations"
    sql += " WHERE probe_key = ? ORDER BY seq"
    rows = rows_at(store, sql, key, commits)
    kept = (r for r in rows if since is None or r[1] != Verdict.UNTESTABLE or r[4] >= since)
    return [(r[0], r[1], r[2], r[3]) for r in kept]


def forget_rows(store: Store, key: str) -> None:
    """Drop every stored observation, range and revert test of this probe (`bisect --fresh`)."""
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute("DELETE FROM bisect_observations WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_ranges WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_reverts WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_skips WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_paths WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_build_failures WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_unusable WHERE probe_key = ?", (key,))
        conn.execute("DELETE FROM bisect_ways WHERE probe_key = ?", (key,))


def record_range(
    store: Store,
    key: str,
    good: str,
    bad: str,
    first_parent: bool,
    skipped: Sequence[str] = (),
    paths: Sequence[str] = (),
    fix: bool = False,
) -> None:
    """Remember the range a bisect of this probe searched: the search need not run either end (the
    good end only when good commits may fail, the bad end not once a commit between has failed),
    so the observations alone do not say where the range began and ended. Several good commits
    are stored space-separated in ``good``. And the commits of it --skip named this time, and the
    paths it was limited to, so the report's replay searches the graph the bisect searched. A fix
    search (fixes.py) is stored with ``first_parent`` = FIX_LINE, its ends as it searched them."""
    mode = FIX_LINE if fix else int(first_parent)
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO bisect_ranges (probe_key, good_sha, bad_sha, first_parent, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, good, bad, mode, time.time()),
        )
        where = (key, good, bad)
        conn.execute("DELETE FROM bisect_skips WHERE probe_key = ? AND good_sha = ? AND bad_sha = ?", where)
        conn.executemany(
            "INSERT OR IGNORE INTO bisect_skips (probe_key, good_sha, bad_sha, commit_sha)"
            " VALUES (?, ?, ?, ?)",
            [(*where, sha) for sha in skipped],
        )
        conn.execute(
            "INSERT OR REPLACE INTO bisect_paths (probe_key, good_sha, bad_sha, first_parent, paths)"
            " VALUES (?, ?, ?, ?, ?)",
            (*where, mode, json.dumps(list(paths))),
        )


def record_revert(store: Store, key: str, culprit: str, bad: str, made: RevertCommit) -> None:
    """Remember the reverted commit a revert test made (or its conflicts), for the report."""
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO bisect_reverts (probe_key, culprit_sha, bad_sha, revert_sha,"
            " conflicts, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            (key, culprit, bad, made.sha, "\n".join(made.conflicts), time.time()),
        )


def revert_made_on(store: Store, key: str, culprit: str, bad: str) -> str | None:
    """The reverted commit the latest revert test of ``culprit`` on ``bad`` made, if any."""
    store.ensure_schema(BISECT_DDL)
    rows = store.query(
        "SELECT revert_sha FROM bisect_reverts WHERE probe_key = ? AND culprit_sha = ? AND bad_sha = ?"
        " ORDER BY recorded_at DESC LIMIT 1",
        (key, culprit, bad),
    )
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


def stored_revert(
    store: Store, repo: GitRepo, key: str, culprit: str, result: BisectResult, fix: bool = False
) -> RevertOutcome | None:
    """The latest revert test of this culprit under this probe, judged from its stored runs (or
    "no-op" when reverting it changes nothing, as the bisect found); ``fix``: a fix search's, of
    the fix (revert.judge_revert)."""
    store.ensure_schema(BISECT_DDL)
    rows = store.query(
        "SELECT bad_sha, revert_sha, conflicts FROM bisect_reverts WHERE probe_key = ? AND culprit_sha = ?"
        " ORDER BY recorded_at DESC LIMIT 1",
        (key, culprit),
    )
    if not rows:
        return None
    bad, sha, conflicts = (str(x) if x is not None else None for x in rows[0])
    assert bad is not None
    files = tuple(conflicts.split("\n")) if conflicts else ()
    if detail := noop_detail(repo, culprit, bad, RevertCommit(sha, files)):
        return RevertOutcome("no-op", bad, sha, detail=detail)
    if sha is None:
        return conflicts_outcome(repo, culprit, bad, files)
    plan = result.confirmation_plan()
    return judge_revert(bad, sha, [row[1] for row in load_rows(store, key, [sha])], plan, fix)


def record_build_failure(store: Store, key: str, failure: BuildFailure) -> None:
    """Remember why a probed commit did not build (its "cannot test" row says only that)."""
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO bisect_build_failures (probe_key, commit_sha, first_error, log_path,"
            " recorded_at) VALUES (?, ?, ?, ?, ?)",
            (key, failure.commit, failure.first_error, failure.log, time.time()),
        )


def forget_build_failure(store: Store, key: str, commit: str) -> None:
    """The commit built after all (the failure was the environment's, since fixed)."""
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        sql = "DELETE FROM bisect_build_failures WHERE probe_key = ? AND commit_sha = ?"
        conn.execute(sql, (key, commit))


def cannot_test(result: BisectResult, shas: Sequence[str], dropped: Iterable[str]) -> list[str]:
    """The commits a search counts as untestable, and the outside first parents it ``dropped``:
    where a build failure still stands. A commit stored as not building that a resumed search
    has not probed again is not among them (its "cannot test" may have been the environment's)."""
    return [shas[e.index] for e in result.evidence if e.untestable] + sorted(dropped)


def newest_build_failure(store: Store, key: str, commits: Sequence[str]) -> BuildFailure | None:
    """The newest stored build failure of this probe at one of ``commits``."""
    sql = (
        "SELECT commit_sha, first_error, log_path FROM bisect_build_failures WHERE probe_key = ?"
        " ORDER BY recorded_at DESC"
    )
    rows = rows_at(store, sql, key, commits)
    return next((BuildFailure(str(c), str(e), str(g)) for c, e, g in rows), None)


# How the newest run of a commit that did not count ended: (commit, verdict, its last lines).
Unusable = tuple[str, Verdict, tuple[str, ...]]


def record_unusable(store: Store, key: str, unusable: Unusable) -> Unusable:
    """Remember how the newest run of a commit that did not count ended (its outcome row says
    only "other-failure" or "inconclusive"), for the words of a resumed search too; it is returned."""
    store.ensure_schema(BISECT_DDL)
    commit, verdict, ending = unusable
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO bisect_unusable (probe_key, commit_sha, verdict, ending, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key, commit, verdict.value, json.dumps(list(ending)), time.time()),
        )
    return unusable


def newest_unusable(store: Store, key: str, commits: Sequence[str]) -> Unusable | None:
    """The newest stored ending of a run that did not count, at one of ``commits``."""
    sql = "SELECT commit_sha, verdict, ending FROM bisect_unusable WHERE probe_key = ?"
    sql += " ORDER BY recorded_at DESC"
    for commit, verdict, ending in rows_at(store, sql, key, commits):
        with suppress(ValueError, TypeError):
            lines = json.loads(ending)
            if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
                return str(commit), Verdict(verdict), tuple(lines)
    return None


def record_row(store: Store, key: str, commit: str, outcome: str, phase: str, seconds: float) -> None:
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO bisect_observations (probe_key, commit_sha, outcome, phase, seconds, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, commit, outcome, phase, seconds, time.time()),
        )


@dataclass
class Replay:
    """Feeds rows to a state: runs, builds, untestable commits, confirmation counts, set-asides.

    A culprit's first parent outside the range (``outside``: known good) is run to confirm it; its
    runs are good-side evidence, fed to the good end's position (``index`` maps it there), and
    counted apart in ``confirm``. When it cannot be tested it is ``dropped``, never the good end."""

    state: BisectState
    index: dict[str, int]
    build_seconds: list[float] = field(default_factory=list)
    built_at: dict[str, int] = field(default_factory=dict)  # builds per commit (one tree: returns rebuild)
    run_seconds: list[float] = field(default_factory=list)
    confirm: dict[str, list[int]] = field(default_factory=dict)
    unusable: dict[str, int] = field(default_factory=dict)  # other failures and inconclusive runs
    conclusive: int = 0
    outside: frozenset[str] = frozenset()
    dropped: set[str] = field(default_factory=set)  # outside parents that cannot be tested
    # Commits built and tried (a run, or found untestable): the state's builds counts positions,
    # and an outside parent's runs go to the good end's.
    tried: set[str] = field(default_factory=set)
    # --skip (git bisect skip): retired from the start (over), so no run of them counts, stored or
    # new, as for any commit that cannot be tested; nor is an unusable one counted against them.
    skipped: frozenset[str] = frozenset()

    @classmethod
    def over(
        cls, state: BisectState, shas: Sequence[str], outside: Mapping[int, str], skipped: Sequence[str] = ()
    ) -> Replay:
        """A replay of the range ``shas`` (positions 0..n) and its outside first parents, with the
        commits between the ends that ``skipped`` names left out."""
        index = {sha: GOOD_END for sha in outside.values()} | {sha: i for i, sha in enumerate(shas)}
        left_out = frozenset(skipped) & frozenset(shas[1:-1])
        for sha in left_out:
            state.retire(index[sha])
        return cls(state, index, outside=frozenset(outside.values()) - set(shas), skipped=left_out)

    def testable(self, sha: str) -> bool:
        """Whether the commit may still be run (an outside parent: not dropped)."""
        if sha in self.outside:
            return sha not in self.dropped
        return not self.state.is_untestable(self.index[sha])

    def counts(self, sha: str) -> tuple[int, int]:
        """(failures, runs) counted at a commit: its position's, or an outside parent's own."""
        if sha in self.outside:
            failures, runs = self.confirm.get(sha, (0, 0))
            return failures, runs
        return self.state.counts(self.index[sha])

    def _stop_testing(self, sha: str, retire: bool) -> None:
        """Test the commit no more: an outside parent is dropped (the good end is not touched); a
        position is marked untestable, or retired when ``retire`` or its runs already count."""
        i, state = self.index[sha], self.state
        if sha in self.outside:
            self.dropped.add(sha)
        elif retire or state.counts(i)[1]:  # exit 125 (or a skipped test) after runs that counted
            state.retire(i)
        else:
            state.mark_untestable(i)

    def apply(self, sha: str, outcome: str, phase: str, seconds: float) -> None:
        i, state = self.index[sha], self.state
        if outcome == BUILT:
            self.build_seconds.append(seconds)
            self.built_at[sha] = self.built_at.get(sha, 0) + 1
        elif outcome == Verdict.UNTESTABLE and self.testable(sha):
            self.tried.add(sha)
            self._stop_testing(sha, retire=False)
        elif outcome in (Verdict.OTHER, Verdict.INCONCLUSIVE) and sha not in self.skipped:
            self.tried.add(sha)
            self.unusable[sha] = self.unusable.get(sha, 0) + 1
            state.visit(i)
            total = sum(self.unusable.values())
            elsewhere = self._elsewhere(sha, total)
            if self.testable(sha) and set_aside(self.counts(sha)[1], self.unusable[sha], elsewhere):
                self._stop_testing(sha, retire=True)
            if unusable_everywhere(total, state.runs, self._broken_bad_end()):
                state.halted = StopReason.TEST_UNUSABLE
        elif outcome in (Verdict.PASS, Verdict.FAIL) and self.testable(sha):
            self.conclusive += 1
            self.run_seconds.append(seconds)
            self.tried.add(sha)
            if not state.is_untestable(i):  # an outside parent's, while the good end cannot be run:
                state.observe(i, outcome == Verdict.FAIL)  # its own counts only
            set_aside_bad_end(state)  # its runs all failed another way: this run may tell why
            if phase == "confirm" or sha in self.outside:
                counts = self.confirm.setdefault(sha, [0, 0])
                counts[0] += outcome == Verdict.FAIL
                counts[1] += 1

    def _broken_bad_end(self) -> int:
        """The bad end's unusable runs when none of its runs counted: a bad end broken by a later
        change fails another way every time, which says nothing of the test elsewhere."""
        n = self.state.n
        return 0 if self.state.counts(n)[1] else self.state.unusable_at.get(n, 0)

    def _elsewhere(self, sha: str, total_unusable: int) -> tuple[int, int]:
        """(unusable, all) runs at the other commits: what chance alone gives the test there."""
        unusable = total_unusable - self.unusable[sha]
        return unusable, unusable + self.state.runs - self.counts(sha)[1]

    def apply_all(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self.apply(*row)

    def build_cost_in_runs(self) -> float | None:
        """The measured build/test time ratio (design 4.1), once both have been timed."""
        if not self.build_seconds or not self.run_seconds:
            return None
        build = sum(self.build_seconds) / len(self.build_seconds)
        return build / max(sum(self.run_seconds) / len(self.run_seconds), 1e-3)
