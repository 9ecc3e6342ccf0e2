"""Drive the bisection core over real commits: candidates, builds, runs, the store, confirmation.

Every build verdict and every run is written to the store the moment it happens, keyed by commit
and probe (test + setup + configuration, or the command), so an interrupted bisect resumes where it
stopped and a later bisect over an overlapping range reuses the runs of the same commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from patchtool.bisection.core import BisectState
from patchtool.bisection.model import StopReason, Strategy
from patchtool.bisection.probe import Prober, ProbeSpec, Verdict
from patchtool.bisection.stats import (
    ConfirmationOutcome,
    Estimate,
    confirmation_plan,
    judge_confirmation,
    next_confirmation_run,
)
from patchtool.errors import InputError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

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
"""
_BUILT = "built"  # an outcome row that only records a successful build and its duration
_MAX_CYCLES = 3  # search + confirmation rounds before giving up on a culprit that will not hold


@dataclass(frozen=True)
class BisectOptions:
    good: str
    bad: str
    first_parent: bool = False
    confidence: float = 0.99
    max_runs: int | None = None
    max_time: float | None = None


@dataclass(frozen=True)
class CommitRef:
    sha: str
    subject: str


@dataclass(frozen=True)
class Progress:
    top: CommitRef
    probability: float
    runs: int
    builds: int
    testing: CommitRef


@dataclass(frozen=True)
class BisectReport:
    """The outcome of `patchtool bisect`, for the terminal and for --json."""

    good: CommitRef
    bad: CommitRef
    probe: str
    candidates: int
    stop_reason: str
    culprit: CommitRef | None
    top: CommitRef
    probability: float
    range90: tuple[CommitRef, CommitRef]
    range99: tuple[CommitRef, CommitRef]
    range99_size: int
    p: Estimate
    q: Estimate
    culprit_counts: tuple[int, int]
    parent: CommitRef
    parent_counts: tuple[int, int]
    bayes_factor_vs_parent: float
    runs: int
    builds: int
    reused_runs: int
    untestable: tuple[CommitRef, ...]
    confirmation: ConfirmationOutcome | None

    @property
    def found(self) -> bool:
        return self.culprit is not None and (self.confirmation is None or self.confirmation.confirmed)


def candidate_commits(repo: GitRepo, good: str, bad: str, first_parent: bool) -> list[str]:
    """Positions 0..n: the good commit, then good..bad oldest first (the last is the bad commit)."""
    good_sha, bad_sha = repo.rev_parse(good), repo.rev_parse(bad)
    if good_sha == bad_sha:
        same = f"the same commit {good_sha[:12]}"
        raise InputError(f"--good {good} and --bad {bad} are {same}: nothing to bisect")
    if not repo.is_ancestor(good_sha, bad_sha):
        raise InputError(f"--good {good} is not an ancestor of --bad {bad}: nothing to bisect")
    mode = "--first-parent" if first_parent else "--ancestry-path"
    listed = repo.out("rev-list", "--reverse", mode, f"{good_sha}..{bad_sha}").split()
    if not listed or listed[-1] != bad_sha:
        raise InputError(f"no commits between {good} and {bad}")
    return [good_sha, *listed]


def load_rows(store: Store, key: str, commits: Sequence[str]) -> list[tuple[str, str, str, float]]:
    """Stored (commit, outcome, phase, seconds) rows of this probe for these commits, in order."""
    store.ensure_schema(BISECT_DDL)
    wanted = set(commits)
    rows = store.query(
        "SELECT commit_sha, outcome, phase, seconds FROM bisect_observations"
        " WHERE probe_key = ? ORDER BY seq",
        (key,),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows if r[0] in wanted]


def record_row(store: Store, key: str, commit: str, outcome: str, phase: str, seconds: float) -> None:
    store.ensure_schema(BISECT_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO bisect_observations (probe_key, commit_sha, outcome, phase, seconds, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, commit, outcome, phase, seconds, time.time()),
        )


class _Session:
    """One bisect: the state, the prober, the store, the clock and the budgets."""

    def __init__(
        self,
        repo: GitRepo,
        store: Store,
        spec: ProbeSpec,
        options: BisectOptions,
        prober: Prober,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.repo, self.store, self.key, self.options = repo, store, spec.key(), options
        self.prober, self.progress = prober, progress
        self.commits = candidate_commits(repo, options.good, options.bad, options.first_parent)
        self.index = {sha: i for i, sha in enumerate(self.commits)}
        strategy = Strategy(confidence=options.confidence, max_runs=options.max_runs)
        self.state = BisectState(len(self.commits) - 1, strategy)
        self.prepared: str | None = None
        self.build_seconds: list[float] = []
        self.run_seconds: list[float] = []
        self.confirm: dict[str, list[int]] = {}
        self.reused = self._replay(load_rows(store, self.key, self.commits))
        self.started = time.monotonic()
        self._subjects: dict[str, str] = {}

    def _replay(self, rows: list[tuple[str, str, str, float]]) -> int:
        reused = 0
        for sha, outcome, phase, seconds in rows:
            self._apply(sha, outcome, phase, seconds)
            reused += outcome in (Verdict.PASS, Verdict.FAIL)
        self._retune()
        return reused

    def _apply(self, sha: str, outcome: str, phase: str, seconds: float) -> None:
        i = self.index[sha]
        if outcome == _BUILT:
            self.build_seconds.append(seconds)
        elif outcome == Verdict.UNTESTABLE:
            if not self.state.is_untestable(i) and self.state.counts(i)[1] == 0:
                self.state.mark_untestable(i)
        elif not self.state.is_untestable(i):
            self.run_seconds.append(seconds)
            self.state.observe(i, outcome == Verdict.FAIL)
            if phase == "confirm":
                counts = self.confirm.setdefault(sha, [0, 0])
                counts[0] += outcome == Verdict.FAIL
                counts[1] += 1

    def _retune(self) -> None:
        """Set the per-commit threshold from the measured build/test time ratio (design 4.1)."""
        if self.build_seconds and self.run_seconds:
            build = sum(self.build_seconds) / len(self.build_seconds)
            run = max(sum(self.run_seconds) / len(self.run_seconds), 1e-3)
            self.state.strategy = replace(self.state.strategy, build_cost_in_runs=build / run)

    def out_of_time(self) -> bool:
        limit = self.options.max_time
        return limit is not None and time.monotonic() - self.started >= limit

    def run_at(self, i: int, phase: str) -> bool:
        """Probe position i once (building it first if needed); False if it is untestable."""
        sha = self.commits[i]
        if self.prepared != sha:
            start = time.monotonic()
            self.prepared = None
            if not self.prober.prepare(sha):
                record_row(self.store, self.key, sha, Verdict.UNTESTABLE, phase, time.monotonic() - start)
                self._apply(sha, Verdict.UNTESTABLE, phase, 0.0)
                return False
            self.prepared = sha
            record_row(self.store, self.key, sha, _BUILT, phase, time.monotonic() - start)
            self._apply(sha, _BUILT, phase, time.monotonic() - start)
        start = time.monotonic()
        verdict = self.prober.run_once()
        seconds = time.monotonic() - start
        record_row(self.store, self.key, sha, verdict, phase, seconds)
        self._apply(sha, verdict, phase, seconds)
        if verdict == Verdict.UNTESTABLE:
            self.prepared = None
        self._retune()
        self._report(i)
        return verdict != Verdict.UNTESTABLE

    def _report(self, i: int) -> None:
        if self.progress is not None:
            top, prob = self.state.top_candidate()
            self.progress(Progress(self.ref(top), prob, self.state.runs, self.state.builds, self.ref(i)))

    def ref(self, i: int) -> CommitRef:
        sha = self.commits[i]
        if sha not in self._subjects:
            self._subjects[sha] = self.repo.commit_info(sha).subject
        return CommitRef(sha, self._subjects[sha])

    def search(self) -> None:
        while not self.out_of_time() and (probe := self.state.next_probe()) is not None:
            self.run_at(probe.index, "search")

    def confirm_culprit(self, culprit: int) -> ConfirmationOutcome | None:
        """Fresh runs on the culprit and its parent (design 4.9), folded into the posterior."""
        parent = culprit - 1
        result = self.state.result()
        plan = confirmation_plan(result.p.mean, result.q.mean)
        sides = {"parent": parent, "culprit": culprit}
        while not self.out_of_time() and not self._over_budget():
            side = next_confirmation_run(plan, self._confirm_counts(parent), self._confirm_counts(culprit))
            if side is None:
                break
            if not self.run_at(sides[side], "confirm"):
                return None
        return judge_confirmation(plan, self._confirm_counts(parent), self._confirm_counts(culprit))

    def _over_budget(self) -> bool:
        limit = self.options.max_runs
        return limit is not None and self.state.runs >= limit

    def _confirm_counts(self, i: int) -> tuple[int, int]:
        counts = self.confirm.get(self.commits[i], [0, 0])
        return counts[0], counts[1]


def run_bisect(
    repo: GitRepo,
    store: Store,
    spec: ProbeSpec,
    options: BisectOptions,
    prober: Prober,
    progress: Callable[[Progress], None] | None = None,
) -> BisectReport:
    """Search, confirm, and search again if the confirmation moved the posterior."""
    session = _Session(repo, store, spec, options, prober, progress)
    confirmation: ConfirmationOutcome | None = None
    for _ in range(_MAX_CYCLES):
        session.search()
        if session.state.stop_reason() != StopReason.CONFIDENT:
            break
        culprit = session.state.top_candidate()[0]
        confirmation = session.confirm_culprit(culprit)
        if (
            session.state.stop_reason() == StopReason.CONFIDENT
            and session.state.top_candidate()[0] == culprit
        ):
            break
        confirmation = None
    return _report(session, spec, confirmation)


def _report(session: _Session, spec: ProbeSpec, confirmation: ConfirmationOutcome | None) -> BisectReport:
    state = session.state
    result = state.result()
    reason = result.stop_reason.value if result.stop_reason else "time-budget"
    if result.stop_reason is None and not session.out_of_time():
        reason = StopReason.BUDGET.value
    ref = session.ref
    top = result.top
    return BisectReport(
        good=ref(0),
        bad=ref(state.n),
        probe=spec.describe(),
        candidates=state.n,
        stop_reason=reason,
        culprit=ref(result.culprit) if result.culprit is not None else None,
        top=ref(top),
        probability=result.probability,
        range90=(ref(result.range90[0]), ref(result.range90[1])),
        range99=(ref(result.range99[0]), ref(result.range99[1])),
        range99_size=result.range99[1] - result.range99[0] + 1,
        p=result.p,
        q=result.q,
        culprit_counts=state.counts(top),
        parent=ref(top - 1),
        parent_counts=state.counts(top - 1),
        bayes_factor_vs_parent=result.bayes_factor_vs_parent,
        runs=result.runs,
        builds=result.builds,
        reused_runs=session.reused,
        untestable=tuple(ref(e.index) for e in result.evidence if e.untestable),
        confirmation=confirmation,
    )
