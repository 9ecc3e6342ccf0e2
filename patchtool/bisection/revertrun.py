"""The revert test of a named culprit: the bad commit with the culprit reverted, built and run as
often as the parent's confirmation (design 4.9), its runs stored apart (phase "revert")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from patchtool.bisection.classify import Verdict
from patchtool.bisection.core import BisectState
from patchtool.bisection.parallel import Lane, Task, execute
from patchtool.bisection.probe import CarriesCommits
from patchtool.bisection.replay import BUILT, load_rows, record_revert, record_row
from patchtool.bisection.revert import (
    RevertOutcome,
    conflicts_outcome,
    judge_revert,
    make_revert,
    noop_detail,
    revert_pack,
)
from patchtool.bisection.summary import CommitRef, Progress, Step
from patchtool.config import Settings
from patchtool.errors import PatchtoolError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo


class _Budget(Protocol):
    @property
    def max_runs(self) -> int | None: ...


class Session(Protocol):
    """What the revert test uses of a bisect session (driver.py)."""

    repo: GitRepo
    store: Store
    key: str
    lanes: list[Lane]
    jobs: int
    progress: Callable[[Progress], None] | None
    state: BisectState

    @property
    def options(self) -> _Budget: ...
    def out_of_time(self) -> bool: ...
    def named(self) -> tuple[CommitRef, float]: ...


def revert_test(
    session: Session, settings: Settings | None, culprit: str, bad: str, spent: int = 0, fix: bool = False
) -> RevertOutcome:
    """Run the test on the bad commit with the culprit reverted, as often as the parent's
    confirmation (design 4.9), allowing as many failures; its runs are stored apart (phase
    "revert", under the reverted commit) and never enter the posterior.

    The verdict is made before: an error here (the test aborts on the reverted tree, git or a
    worker fails) makes the revert test "untestable", with the error, and keeps the verdict.

    With ``fix`` (a fix search): the fix reverted on the fixed end ``bad``, run until it fails as
    often as the culprit's confirmation asks, within as many runs (revert.judge_revert)."""
    try:
        return _revert_runs(session, settings, culprit, bad, spent, fix)
    except PatchtoolError as e:
        return RevertOutcome("untestable", bad, detail=str(e))


def _revert_runs(
    session: Session, settings: Settings | None, culprit: str, bad: str, spent: int, fix: bool
) -> RevertOutcome:
    if settings is None:
        return RevertOutcome("not-run", bad, detail="no data directory for the revert")
    if culprit == bad:
        return RevertOutcome("not-run", bad, detail="the culprit is the bad commit: its parent is the revert")
    if session.repo.try_rev_parse(f"{culprit}^1") is None:  # a root commit of a merged history
        return RevertOutcome("not-run", bad, detail="the culprit has no parent")
    made = make_revert(session.repo, settings, culprit, bad)
    record_revert(session.store, session.key, culprit, bad, made)  # the report judges it again
    if detail := noop_detail(session.repo, culprit, bad, made):
        return RevertOutcome("no-op", bad, made.sha, detail=detail)
    if made.sha is None:
        return conflicts_outcome(session.repo, culprit, bad, made.conflicts)
    sha, lane = made.sha, session.lanes[0]
    if isinstance(lane.prober, CarriesCommits):
        lane.prober.carry(sha, bad, revert_pack(session.repo, sha, bad))
    plan = session.state.result().confirmation_plan()
    # A stored "cannot test" may have been the environment's fault: try again (as for candidates).
    outcomes = [
        row[1] for row in load_rows(session.store, session.key, [sha]) if row[1] != Verdict.UNTESTABLE
    ]
    reused = judge_revert(bad, sha, outcomes, plan, fix).runs
    started = builds = 0
    most = plan.culprit_max_runs if fix else plan.parent_runs
    while (outcome := judge_revert(bad, sha, outcomes, plan, fix)).status == "not-run":
        outcome = replace(outcome, reused_runs=reused, builds=builds)
        limit = session.options.max_runs
        # Counted or not, with those of an earlier revert test of this bisect (``spent``).
        revert_runs = spent + sum(o not in (BUILT, Verdict.UNTESTABLE) for o in outcomes)
        if session.out_of_time() or (limit is not None and session.state.spent_runs + revert_runs >= limit):
            return replace(outcome, detail="out of budget or time")
        if started >= 3 * most:  # other failures, inconclusive runs (--fail-match)
            return replace(outcome, status="untestable", detail="its runs are mostly unusable")
        count = min(session.jobs, most - outcome.runs)
        started += count
        if session.progress is not None:  # the search's totals go on counting through the revert test
            top, prob = session.named()
            doing = Step("testing the revert of", culprit)
            runs, built = session.state.runs + outcome.runs - reused, session.state.builds + builds
            session.progress(Progress(top, prob, runs, built, (doing,)))
        # The index is the bad end's: the reverted commit has no position of its own.
        done = execute(lane.prober, Task(0, session.state.n, sha, count, lane.prepared != sha))
        if done.built is not None:
            builds += 1
            lane.prepared = sha if done.built else None
            verdict = BUILT if done.built else Verdict.UNTESTABLE
            record_row(session.store, session.key, sha, verdict, "revert", done.build_seconds)
            outcomes.append(verdict)
        each = done.run_seconds / max(len(done.verdicts), 1)
        for v in done.verdicts:
            record_row(session.store, session.key, sha, v, "revert", each)
            outcomes.append(v)
    return replace(outcome, reused_runs=reused, builds=builds)
