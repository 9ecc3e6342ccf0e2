"""The outcome of `patchtool bisect` as a record (`BisectReport`), built from a finished session.

The culprit's parent is its first parent. When that is outside the searched range (a side branch
forked before the good commit, or an ancestor of another good commit) it is named as it is, known
good, with its own runs (the confirmation's), not the good end's pooled counts.
"""

from __future__ import annotations

from typing import Protocol

from patchtool.bisection.classify import Verdict
from patchtool.bisection.core import BisectState
from patchtool.bisection.earlier import TestedWays
from patchtool.bisection.model import StopReason
from patchtool.bisection.probe import BuildFailure, ProbeSpec
from patchtool.bisection.ranges import changes_paths
from patchtool.bisection.records import RecordAgainst
from patchtool.bisection.replay import Replay, Unusable, cannot_test, newest_build_failure
from patchtool.bisection.revert import RevertOutcome
from patchtool.bisection.stats import ConfirmationOutcome, Estimate
from patchtool.bisection.ways import FailedWay, failed_ways, good_sides, with_ends
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo


@record
class CommitRef:
    sha: str
    subject: str


@record
class Step:
    """What a lane is doing now: "building" or "testing" a commit (or its revert)."""

    what: str
    sha: str


@record
class Progress:
    """Where a running bisect stands, for the live display: the commits under way, one per lane
    (none between two probes)."""

    top: CommitRef
    probability: float
    runs: int
    builds: int
    under_way: tuple[Step, ...]


@record
class StandIn:
    """A commit run in place of a bad end that cannot be tested, and what it showed."""

    commit: CommitRef
    failures: int
    runs: int


@record
class TestedAt:
    """Runs `patchtool test` stored at a commit between the ends, or at a first parent outside the
    range (``outside``: known good), counted as the bisect's own."""

    commit: CommitRef
    failures: int
    runs: int
    outside: bool = False


@record
class UnusableRun:
    """How the newest run that did not count ended (another failure under --fail-match, or
    inconclusive): where, its verdict, and its last lines (classify.ending)."""

    commit: CommitRef
    verdict: str
    ending: tuple[str, ...]


@record
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
    unusable_runs: int = 0  # other failures (--fail-match) and inconclusive runs, counted apart
    runs_needed: int | None = None  # no verdict: about how many runs the search would need
    runs_needed_at_best: int | None = None  # and at least, at the most hopeful p and q
    merge: CommitRef | None = None  # --first-parent: the merge named first, then bisected inside
    revert: RevertOutcome | None = None  # the bad commit with the culprit reverted, tested
    # The bad end could not be tested: the commits before it run in its place (state.stand_ins).
    stand_ins: tuple[StandIn, ...] = ()
    also_good: tuple[CommitRef, ...] = ()  # the other good commits given (git bisect good A B)
    # The parent is outside the searched range (an ancestor of a good commit): known good. When it
    # cannot be tested it is listed untestable and the confirmation ran at the good end instead.
    parent_outside: bool = False
    # The culprit has no parent at all (a root commit of a history merged in): ``parent`` is the
    # good end, which the culprit's change is compared with instead.
    parent_root: bool = False
    # Runs counted from before the search, (failures, runs): --bad-record, --good-record and, inside
    # a merge named by --first-parent, the line's runs after it (bad) and before it (good).
    bad_record: tuple[int, int] = (0, 0)
    good_record: tuple[int, int] = (0, 0)
    # Of those, the runs `patchtool test` stored at the bad end and at the good commits given
    # (bisection.earlier; not with --fresh).
    tested_before: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
    # And those stored at commits between the ends, counted there as runs of the bisect's own
    # (among reused_runs).
    tested_inside: tuple[TestedAt, ...] = ()
    skipped: tuple[CommitRef, ...] = ()  # --skip: not built or tested (nor listed untestable)
    # git bisect start -- PATH...: only the commits that change these were candidates, the bad end
    # among them whether it does or not (in a fix search the fixed end, and ``bad_changes_paths``
    # is whether it does); ``range_commits`` counts the range without the limit.
    paths: tuple[str, ...] = ()
    range_commits: int = 0
    bad_changes_paths: bool = True
    build_failure: BuildFailure | None = None  # the newest commit that did not build
    # Builds of a commit built before (``builds`` counts commits): a build tree holds one commit,
    # so going back to one (the confirmation alternates culprit and parent) builds it again.
    rebuilds: int = 0
    # A search for the commit that fixed the test (--broken, --fixed; fixes.py): ``culprit`` is the
    # fix (the first commit that passes), ``parent`` the last that fails, ``good`` the fixed end and
    # ``bad`` the broken end (the first commit of the fixed end's line in the broken one's history);
    # ``bayes_factor_vs_parent`` then weighs the fix against the commit after it on the line.
    fix: bool = False
    # A merge named by a first-parent search was searched inside (``merge``): the line's search
    # before it, its runs and builds at the commits the search inside does not have (``runs`` and
    # ``builds`` are the search inside's, the merge's ends among them).
    line_runs: int = 0
    line_builds: int = 0
    # The newest run that did not count, as it ended: what a --fail-match missed says. None when
    # every run counted, and for runs stored before this was (a worker sends it with its runs).
    newest_unusable: UnusableRun | None = None
    # The ways the search's failed runs ended, counted ones first, most runs first: its own, and
    # those `patchtool test` stored that it counted (runs stored before this was are not in it).
    failed_ways: tuple[FailedWay, ...] = ()
    # The records given (--bad-record, --good-record, `patchtool test`'s stored runs) that the
    # search's own runs on their side said were of another failure rate, set aside: they are not in
    # ``bad_record``, ``good_record`` nor p and q (records.records_against).
    records_against: tuple[RecordAgainst, ...] = ()

    @property
    def found(self) -> bool:
        return self.culprit is not None and (self.confirmation is None or self.confirmation.confirmed)


class _Limits(Protocol):
    """What the report reads of the bisect's options (driver.BisectOptions)."""

    @property
    def first_parent(self) -> bool: ...
    @property
    def paths(self) -> tuple[str, ...]: ...
    @property
    def fix(self) -> bool: ...
    @property
    def tested_ends(self) -> tuple[str, ...]: ...
    @property
    def set_aside(self) -> tuple[RecordAgainst, ...]: ...


class _Ends(Protocol):
    """What line.py reads of a search's options."""

    @property
    def tested_ends(self) -> tuple[str, ...]: ...


class Searched(Protocol):
    """What a line's runs and ways read of a search (line.py): a bisect session (Finished), or a
    stored range replayed for the report (stored.py)."""

    @property
    def commits(self) -> list[str]: ...
    @property
    def state(self) -> BisectState: ...
    @property
    def replay(self) -> Replay: ...
    @property
    def outside(self) -> dict[int, str]: ...
    @property
    def tested_ways(self) -> TestedWays: ...
    @property
    def options(self) -> _Ends: ...


class Finished(Protocol):
    """What the report needs of a bisect session (driver.py)."""

    repo: GitRepo
    store: Store
    key: str
    commits: list[str]
    state: BisectState
    replay: Replay
    outside: dict[int, str]
    reused: int
    also_good: tuple[str, ...]
    tested_inside: list[tuple[str, str, str, float]]  # rows of runs `patchtool test` stored
    tested_ways: TestedWays  # how the failed ones it counts ended (at its ends' records too)
    skipped: list[str]  # the commits of the range --skip named
    newest_unusable: Unusable | None  # stored too (replay.record_unusable)

    @property
    def options(self) -> _Limits: ...
    def out_of_time(self) -> bool: ...
    def ref(self, i: int) -> CommitRef: ...
    def commit_ref(self, sha: str) -> CommitRef: ...


def build_report(
    session: Finished, spec: ProbeSpec, confirmation: ConfirmationOutcome | None
) -> BisectReport:
    state = session.state
    result = state.result()
    reason = result.stop_reason.value if result.stop_reason else "time-budget"
    if result.stop_reason is None and not session.out_of_time():
        reason = StopReason.BUDGET.value
    ref = session.ref
    top = result.top
    outside = session.outside.get(top)
    if outside is not None:  # its own runs, not the good end's
        parent, parent_counts = session.commit_ref(outside), session.replay.counts(outside)
    else:
        parent, parent_counts = ref(state.parent_of(top)), state.counts(state.parent_of(top))
    stand_ins = [i for i in state.stand_ins() if state.counts(i)[1]] if state.is_untestable(state.n) else []
    skipped = set(session.skipped)
    untestable = [r for r in (ref(e.index) for e in result.evidence if e.untestable) if r.sha not in skipped]
    untestable += [session.commit_ref(sha) for sha in sorted(session.replay.dropped)]
    range_commits, bad_changes_paths = _limited(session)
    return BisectReport(
        also_good=tuple(session.commit_ref(sha) for sha in session.also_good),
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
        parent=parent,
        parent_counts=parent_counts,
        parent_outside=outside is not None,
        parent_root=outside is None and not state.history.parents[top],
        bayes_factor_vs_parent=result.bayes_factor_vs_parent,
        runs=result.runs,
        builds=len(session.replay.tried),  # an outside parent is a build of its own
        rebuilds=sum(n - 1 for n in session.replay.built_at.values()),
        build_failure=newest_build_failure(
            session.store, session.key, cannot_test(result, session.commits, session.replay.dropped)
        ),
        reused_runs=session.reused,
        untestable=tuple(untestable),
        confirmation=confirmation,
        unusable_runs=state.unusable_runs,
        newest_unusable=_unusable(session),
        failed_ways=failed_ways(session.store, session.key, sides_of(session, top), session.tested_ways),
        records_against=session.options.set_aside,
        runs_needed=result.runs_needed if result.culprit is None else None,
        runs_needed_at_best=result.runs_needed_at_best if result.culprit is None else None,
        stand_ins=tuple(StandIn(ref(i), *state.counts(i)) for i in stand_ins),
        bad_record=state.strategy.bad_record,
        good_record=state.strategy.good_record,
        tested_inside=_tested_at(session),
        skipped=tuple(session.commit_ref(sha) for sha in session.skipped),
        paths=session.options.paths,
        range_commits=range_commits,
        bad_changes_paths=bad_changes_paths,
    )


def _limited(session: Finished) -> tuple[int, bool]:
    """With paths: the range's commits without them, and whether the end that may itself be named
    changes them (the bad end; in a fix search the fixed end, against its first parent)."""
    paths = session.options.paths
    if not paths:
        return session.state.n, True
    repo, commits, fix = session.repo, session.commits, session.options.fix
    if fix:  # the line from the fixed end down to the broken end, which is not a candidate
        line = repo.out("rev-list", "--count", "--first-parent", commits[0], f"^{commits[-1]}")
        whole = int(line.strip() or 0)
        return whole, changes_paths(repo, commits[0], paths, True)
    mode = ("--first-parent",) if session.options.first_parent else ()
    goods = [f"^{sha}" for sha in (commits[0], *session.also_good)]
    whole = int(repo.out("rev-list", "--count", *mode, commits[-1], *goods).strip() or 0)
    return whole, changes_paths(repo, commits[-1], paths, session.options.first_parent)


def _tested_at(session: Finished) -> tuple[TestedAt, ...]:
    """Per commit in range order, the stored runs of `patchtool test` counted (their failures)."""
    counts: dict[str, list[int]] = {}
    for sha, verdict, _, _ in session.tested_inside:
        each = counts.setdefault(sha, [0, 0])
        each[0] += verdict == Verdict.FAIL
        each[1] += 1
    outside = set(session.outside.values()) - set(session.commits)
    return tuple(TestedAt(session.commit_ref(sha), f, r, sha in outside) for sha, (f, r) in counts.items())


def _unusable(session: Finished) -> UnusableRun | None:
    if session.newest_unusable is None:
        return None
    sha, verdict, ending = session.newest_unusable
    return UnusableRun(session.commit_ref(sha), verdict.value, ending)


def sides_of(session: Searched, top: int) -> dict[str, bool]:
    """Whether each commit whose failed runs the session counted is on the good side of ``top``,
    the commit it names (ways.good_sides), the ends whose runs `patchtool test` stored among them."""
    sides = good_sides(session.commits, session.outside, session.state.history, top)
    return with_ends(session.options.tested_ends, sides)
