"""Test outcomes: per-run records, per-test summaries with failure rates, and their rows in the store.

Runs are stored one row each, keyed by tree id (the git tree of the source), build configuration,
test setup and test name, so a later report or bisect can reuse them instead of running again.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import field
from pathlib import Path

from patchtool import proc
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.stats import wilson_interval

# meson's result names, by what they mean for a failure rate.
_PASS = frozenset({"OK", "EXPECTEDFAIL"})
_FAIL = frozenset({"FAIL", "UNEXPECTEDPASS", "ERROR"})
_SKIP = frozenset({"SKIP"})
_TIMEOUT = frozenset({"TIMEOUT"})
_KEEP_FAILURES = 3  # outputs kept per test
_OUTPUT_LIMIT = 4000  # characters kept of each run's output (its end, where errors are)
_CUT = "…"  # the mark of an output cut to its end

TEST_DDL = """
CREATE TABLE IF NOT EXISTS test_runs (
    id INTEGER PRIMARY KEY,
    tree_id TEXT NOT NULL,
    config_key TEXT NOT NULL,
    setup TEXT NOT NULL,
    test TEXT NOT NULL,
    result TEXT NOT NULL,
    duration REAL NOT NULL,
    output TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS test_runs_key ON test_runs (tree_id, config_key, setup, test);
"""


@record
class RunRecord:
    """One run of one test as meson logged it."""

    name: str
    result: str  # OK, FAIL, SKIP, TIMEOUT, ERROR, EXPECTEDFAIL, UNEXPECTEDPASS, INTERRUPT
    duration: float
    output: str

    @property
    def counted(self) -> bool:
        """An interrupted run did not finish: it is neither a pass nor a failure."""
        return self.result in _PASS | _FAIL | _SKIP | _TIMEOUT

    @property
    def failed(self) -> bool:
        return self.result in _FAIL | _TIMEOUT


@record
class TestStats:
    """One test's measured behaviour over its runs."""

    name: str
    runs: int
    passes: int
    failures: int  # failed runs, timeouts not included
    skips: int
    timeouts: int
    failure_rate: float  # (failures + timeouts) / (runs - skips)
    interval: tuple[float, float]  # 95% Wilson interval of the failure rate
    mean_duration: float
    first_failures: tuple[str, ...] = ()
    flaky: bool = False  # both passed and failed
    # Failed runs a signal ended, by the signal's name, most first: (("SIGSEGV", 2),). Read from
    # the line proc.with_signal put after the output (a test crashing often says nothing else).
    crashes: tuple[tuple[str, int], ...] = ()
    # The ways its failed runs ended (failure_way), most first: (how the first such run ended,
    # how many ended so). Two or more ways tell a --fail-match to choose between them.
    failed_ways: tuple[tuple[str, int], ...] = ()

    @property
    def failed_runs(self) -> int:
        return self.failures + self.timeouts

    @property
    def decided_runs(self) -> int:
        return self.runs - self.skips


@record
class TestOutcome:
    """The result of running tests (or of reading stored runs): per-test statistics."""

    build_dir: Path | None
    tests: tuple[TestStats, ...]
    setup: str | None = None
    suite: str | None = None
    repeat: int = 1
    interrupted: bool = False
    stopped_early: bool = False
    duration: float = 0.0
    from_store: bool = False
    records: tuple[RunRecord, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """Every test ran at least once and none failed or timed out."""
        return bool(self.tests) and all(t.failed_runs == 0 and t.runs > 0 for t in self.tests)

    @property
    def failed(self) -> bool:
        return any(t.failed_runs for t in self.tests)

    def test(self, name: str) -> TestStats | None:
        return next((t for t in self.tests if t.name == name), None)


def _bounded(output: str) -> str:
    return output if len(output) <= _OUTPUT_LIMIT else _CUT + output[-_OUTPUT_LIMIT:]


def output_cut(stored: str) -> bool:
    """Whether a stored run's output was cut to its end (_bounded): a pattern not found in it may
    have been in the part left out."""
    return len(stored) > _OUTPUT_LIMIT and stored.startswith(_CUT)


def stats_for(name: str, records: Sequence[RunRecord]) -> TestStats:
    """Count one test's runs and estimate its failure rate."""
    mine = [r for r in records if r.name == name and r.counted]
    passes = sum(r.result in _PASS for r in mine)
    failures = sum(r.result in _FAIL for r in mine)
    skips = sum(r.result in _SKIP for r in mine)
    timeouts = sum(r.result in _TIMEOUT for r in mine)
    decided = passes + failures + timeouts
    timed = [r.duration for r in mine if r.result not in _SKIP]
    return TestStats(
        name=name,
        runs=len(mine),
        passes=passes,
        failures=failures,
        skips=skips,
        timeouts=timeouts,
        failure_rate=(failures + timeouts) / decided if decided else 0.0,
        interval=wilson_interval(failures + timeouts, decided),
        mean_duration=sum(timed) / len(timed) if timed else 0.0,
        first_failures=tuple(
            _bounded(r.output) or f"({r.result.lower()}, no output)" for r in mine if r.failed
        )[:_KEEP_FAILURES],
        flaky=passes > 0 and failures + timeouts > 0,
        crashes=_crashes(mine),
        failed_ways=_failed_ways(mine),
    )


def _crashes(runs: Sequence[RunRecord]) -> tuple[tuple[str, int], ...]:
    signals = (proc.signal_of(r.output) for r in runs if r.result in _FAIL)
    return tuple(Counter(s for s in signals if s).most_common())


# Lines of glib's TAP output that say how far a run got, not how it failed.
_PROGRESS = re.compile(r"(?:ok \d+\b.*|# (?:Start|End) of .* tests|1\.\.\d+|# random seed: .*)")
# What differs between two runs failing the same way: numbers (line numbers move between
# commits; pids, times, counters), addresses and hashes (a worktree's name in a path).
_VARYING = re.compile(r"0x[0-9a-fA-F]+|\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b|\d+")
_WAY_WIDTH = 200
_SILENT = "(no message after its progress lines)"
TIMED_OUT = "(timed out)"  # the way of a run killed at its deadline, where one counts as failed


def way_key(way: str) -> str:
    """What two runs that failed alike share: their failure_way without numbers, addresses and hashes."""
    return _VARYING.sub("N", way)


def failure_way(output: str) -> str:
    """How a failed run ended, to tell the ways a test fails apart: its last line (where a test
    says what went wrong) and, after " / ", the signal that ended it if one did. A last line that
    is only the harness's progress ("ok 11 /drain/all", "# Start of iothread tests") says nothing
    of how it failed, and runs that stop at different points fail alike: a crash after it ended
    with the signal alone ("killed by signal 11 SIGSEGV"), another run with _SILENT. "(no
    output)" when it said nothing at all."""
    lines = list(proc.last_lines(output, 2, _WAY_WIDTH))
    signal = lines.pop() if lines and proc.signal_of(lines[-1] + "\n") else ""
    said = lines[-1] if lines else ""
    if _PROGRESS.fullmatch(said):
        said = "" if signal else _SILENT
    return " / ".join(part for part in (said, signal) if part) or "(no output)"


def ways_lines(ways: Sequence[tuple[str, int, str]], indent: str, shown: int = 5) -> list[str]:
    """The ways failed runs ended, most first, one line each: ``(words, runs, what else of them)``
    for the first ``shown``, then how many runs and ways are left (`test`'s and `bisect`'s words,
    and the report's stored bisect). A single way left is listed: its line takes no more room."""
    if len(ways) == shown + 1:
        shown += 1
    lines = [f"{indent}{n} run{'s' if n > 1 else ''}{more}: {way}" for way, n, more in ways[:shown]]
    if rest := ways[shown:]:
        runs = sum(n for _, n, _ in rest)
        lines.append(f"{indent}{runs} run{'s' if runs > 1 else ''} more, {len(rest)} other ways")
    return lines


def group_ways(ways: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Failure ways grouped by way_key, most first, each in the words of its first (a test's
    runs here, a bisect batch's in bisection.ways)."""
    first: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for way in ways:
        key = way_key(way)
        first.setdefault(key, way)
        counts[key] += 1
    return tuple((first[key], n) for key, n in counts.most_common())


def _failed_ways(runs: Sequence[RunRecord]) -> tuple[tuple[str, int], ...]:
    """The failed runs (timeouts are counted apart) grouped by failure_way with the numbers,
    addresses and hashes in it ignored, each shown as its first run ended."""
    return group_ways(failure_way(r.output) for r in runs if r.result in _FAIL)


def summarize(records: Sequence[RunRecord], names: Sequence[str] = ()) -> tuple[TestStats, ...]:
    """Per-test statistics: the named tests first (even with no runs), then any other that ran."""
    order = list(dict.fromkeys([*names, *(r.name for r in records if r.counted)]))
    return tuple(stats_for(name, records) for name in order)


_INSERT_RUN = (
    "INSERT INTO test_runs (tree_id, config_key, setup, test, result, duration, output, recorded_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# Runs that came from elsewhere (cluster workers) carry an id, so a task retried after its worker
# died, or a result delivered twice, is stored once.
OBSERVED_DDL = """
CREATE TABLE IF NOT EXISTS observed_runs (obs_id TEXT PRIMARY KEY, recorded_at REAL NOT NULL);
"""


def _run_row(
    tree_id: str, config_key: str, setup: str | None, r: RunRecord, now: float
) -> tuple[object, ...]:
    return (tree_id, config_key, setup or "", r.name, r.result, r.duration, _bounded(r.output), now)


def record_runs(
    store: Store, tree_id: str, config_key: str, setup: str | None, records: Iterable[RunRecord]
) -> int:
    """Store finished runs (interrupted ones are not results); returns how many were stored."""
    store.ensure_schema(TEST_DDL)
    now = time.time()
    rows = [_run_row(tree_id, config_key, setup, r, now) for r in records if r.counted]
    with store.transaction() as conn:
        conn.executemany(_INSERT_RUN, rows)
    return len(rows)


def record_observed_runs(
    store: Store,
    tree_id: str,
    config_key: str,
    setup: str | None,
    observed: Iterable[tuple[str, RunRecord]],
) -> int:
    """Store runs that carry an id, each id at most once, in the same rows local runs use."""
    store.ensure_schema(TEST_DDL)
    store.ensure_schema(OBSERVED_DDL)
    now = time.time()
    stored = 0
    with store.transaction() as conn:
        for obs_id, r in observed:
            if not r.counted:
                continue
            fresh = conn.execute(
                "INSERT OR IGNORE INTO observed_runs (obs_id, recorded_at) VALUES (?, ?)", (obs_id, now)
            ).rowcount
            if fresh:
                conn.execute(_INSERT_RUN, _run_row(tree_id, config_key, setup, r, now))
                stored += 1
    return stored


def stored_records(
    store: Store, tree_id: str, config_key: str, setup: str | None, names: Sequence[str]
) -> list[RunRecord]:
    store.ensure_schema(TEST_DDL)
    records = []
    for name in names:
        rows = store.query(
            "SELECT result, duration, output FROM test_runs"
            " WHERE tree_id = ? AND config_key = ? AND setup = ? AND test = ? ORDER BY id",
            (tree_id, config_key, setup or "", name),
        )
        records += [RunRecord(name, row["result"], row["duration"], row["output"]) for row in rows]
    return records


def stored_trees(store: Store, config_key: str, setup: str | None, name: str) -> set[str]:
    """The trees with runs of test ``name`` stored under this configuration and setup."""
    store.ensure_schema(TEST_DDL)
    rows = store.query(
        "SELECT DISTINCT tree_id FROM test_runs WHERE config_key = ? AND setup = ? AND test = ?",
        (config_key, setup or "", name),
    )
    return {row["tree_id"] for row in rows}


def stored_outcome(
    store: Store, tree_id: str, config_key: str, names: Sequence[str], setup: str | None = None
) -> TestOutcome | None:
    """What the store knows about these tests on this tree and configuration (None: nothing)."""
    records = stored_records(store, tree_id, config_key, setup, names)
    if not records:
        return None
    stats = summarize(records, names)
    return TestOutcome(
        build_dir=None,
        tests=stats,
        setup=setup,
        repeat=min((t.runs for t in stats), default=0),
        from_store=True,
        records=tuple(records),
    )


def forget_runs(store: Store, tree_id: str, config_key: str, setup: str | None, names: Sequence[str]) -> None:
    """Drop stored runs (for --fresh, so the new measurement replaces the old one)."""
    store.ensure_schema(TEST_DDL)
    with store.transaction() as conn:
        for name in names:
            conn.execute(
                "DELETE FROM test_runs WHERE tree_id = ? AND config_key = ? AND setup = ? AND test = ?",
                (tree_id, config_key, setup or "", name),
            )
