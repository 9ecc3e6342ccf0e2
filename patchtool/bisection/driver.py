"""Drive the bisection core over real commits: candidates, builds, runs, the store, confirmation.

Every build verdict and every run is written to the store the moment it happens, keyed by commit
and probe (test + setup + configuration, or the command), so an interrupted bisect resumes where it
stopped and a later bisect over an overlapping range reuses the runs of the same commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from patchtool.bisection.classify import Verdict
from patchtool.bisection.core import BisectState
from patchtool.bisection.earlier import TestedWays, inside_rows, tested_ways
from patchtool.bisection.fixes import fix_line, fix_of
from patchtool.bisection.graph import GOOD_END
from patchtool.bisection.line import with_line
from patchtool.bisection.model import StopReason, Strategy
from patchtool.bisection.options import BisectOptions
from patchtool.bisection.parallel import BATCHED, Done, Lane, Task, execute, run_together, search_in_lanes
from patchtool.bisection.probe import Prober, ProbeSpec
from patchtool.bisection.ranges import bounding_goods, good_inside, range_graph
from patchtool.bisection.records import (
    RECORD_DOUBT,
    SURE_DOUBT,
    Counts,
    counted_ends,
    records_against,
    sure_counts,
)
from patchtool.bisection.replay import (
    BUILT,
    Replay,
    forget_build_failure,
    load_rows,
    newest_unusable,
    record_build_failure,
    record_range,
    record_row,
    revert_made_on,
)
from patchtool.bisection.revert import RevertOutcome
from patchtool.bisection.revertrun import revert_test
from patchtool.bisection.stats import (
    ConfirmationOutcome,
    ConfirmationPlan,
    fisher_more,
    judge_confirmation,
    next_confirmation_run,
    next_contrast_run,
)
from patchtool.bisection.summary import BisectReport, CommitRef, Progress, Step, build_report
from patchtool.bisection.ways import record_endings
from patchtool.config import Settings
from patchtool.errors import PatchtoolError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

_MAX_CYCLES = 3  # search + confirmation rounds before giving up on a culprit that will not hold
Side = tuple[int, str]  # a confirmation side: the position its runs go to, the commit run


class _Session:
    """One bisect over one range: the state, the lanes (probers), the store, the clock and the budgets."""

    def __init__(
        self,
        repo: GitRepo,
        store: Store,
        spec: ProbeSpec,
        options: BisectOptions,
        probers: Sequence[Prober],
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.repo, self.store, self.key, self.options = repo, store, spec.key(), options
        self.spec, self.began = spec, time.time()  # its "cannot test" rows stand (_stored)
        self.lanes, self.jobs, self.progress = [Lane(p) for p in probers], options.jobs, progress
        if options.fix:
            tops = []
            self.commits, history, self.outside = fix_line(repo, options.bad, options.good, options.paths)
        else:
            tops = bounding_goods(repo, [options.good, *options.also_good], options.bad)
            self.commits, history, self.outside = range_graph(
                repo, tops, options.bad, options.first_parent, options.paths
            )
        # The other good commits bounding the range have no position: known good, as outside parents.
        self.also_good = tuple(tops[1:])
        # --skip: as git bisect skip, neither good nor bad is known there; no run of it counts.
        self.skipped = [sha for sha in self.commits[1:-1] if sha in options.skip]
        recorded = " ".join([self.commits[0], *self.also_good])
        record_range(
            store, self.key, recorded, self.commits[-1], options.first_parent, self.skipped, options.paths,
            fix=options.fix,
        )  # fmt: skip
        bad, good = options.counted()
        strategy = Strategy(options.confidence, max_runs=options.max_runs, bad_record=bad, good_record=good)
        tested = []
        if options.count_tested:  # stored runs between the ends, and at first parents outside them
            out = [*self.outside.values()]
            tested = inside_rows(store, repo, spec, self.commits, self.also_good, out)
        self.tested_inside = [row for row in tested if row[0] not in self.skipped]  # for the report
        self.tested_ways = self._tested_ways()  # the report lists them too
        self.replay = self._stored(BisectState(history, strategy))
        self.state = self.replay.state
        self.reused = self.replay.conclusive
        self._retune()
        self.check_as_it_goes()  # resumed, the runs stored may already contradict a record
        self.started = time.monotonic()
        self._subjects: dict[str, str] = {}
        # The live line: what each lane is doing (lanes' threads write it), and the totals the
        # main thread last computed (best, probability, runs, builds): a lane never reads the state.
        self._under_way: dict[int, Step] = {}
        self._shown: tuple[CommitRef, float, int, int] | None = None
        # the newest run that did not count: (commit, verdict, how it ended), for the report
        self.newest_unusable = newest_unusable(store, self.key, [*self.commits, *self.outside.values()])

    @property
    def confirm(self) -> dict[str, list[int]]:
        return self.replay.confirm

    def _stored(self, state: BisectState, but_phase: str | None = None, since: float | None = None) -> Replay:
        """The stored rows of the range (of every phase but ``but_phase``) and the runs `patchtool
        test` stored in it, replayed into ``state``. A "cannot test" stored before ``since`` (by
        default, any) may have been the environment's fault (since fixed): it is left out, and the
        commit probed again; those of this session stand when it replays (check_records)."""
        replay = Replay.over(state, self.commits, self.outside, self.skipped)
        stored = load_rows(self.store, self.key, [*self.commits, *self.outside.values()], since)
        # no "cannot test" without ``since``; with it, load_rows has left out those from before it
        kept = (r for r in stored if since is not None or r[1] != Verdict.UNTESTABLE)
        replay.apply_all([r for r in kept if r[2] != but_phase])
        replay.apply_all(self.tested_inside)
        return replay

    def _tested_ways(self) -> TestedWays:
        """How the runs `patchtool test` stored that count ended (at the ends but those of a record
        set aside, and between them)."""
        ends = counted_ends(self.options.tested_ends, self.options.set_aside)
        counted = [*ends, *dict.fromkeys(row[0] for row in self.tested_inside)]
        return tested_ways(self.store, self.repo, self.spec, counted)

    def check_records(self, sides: tuple[Counts, Counts], level: float = RECORD_DOUBT) -> bool:
        """Set aside the records given (not the line's) that the search's own runs ``sides`` (bad,
        good) contradict at ``level`` (records.records_against), the state replayed from the stored
        runs without them. Whether one was."""
        if found := records_against(self.options.bad_record, self.options.good_record, sides, level):
            self.options = self.options.without(found)
            bad, good = self.options.counted()
            strategy = replace(self.state.strategy, bad_record=bad, good_record=good)
            self.tested_ways = self._tested_ways()
            self.replay = self._stored(BisectState(self.state.history, strategy), since=self.began)
            self.state = self.replay.state
            self._retune()
        return bool(found)

    def check_as_it_goes(self) -> None:
        """A record its runs at the commits whose side it is sure of contradict is set aside (at a
        stricter level: it is checked after every batch, and once the stored runs are replayed)."""
        if self.options.records_given:
            self.check_records(sure_counts(self.state), SURE_DOUBT)

    def _retune(self) -> None:
        """Set the per-commit threshold from the measured build/test time ratio (design 4.1)."""
        ratio = self.replay.build_cost_in_runs()
        if ratio is not None:
            self.state.strategy = replace(self.state.strategy, build_cost_in_runs=ratio)

    def _record(self, sha: str, outcome: str, phase: str, seconds: float) -> None:
        record_row(self.store, self.key, sha, outcome, phase, seconds)
        self.replay.apply(sha, outcome, phase, seconds)

    def out_of_time(self) -> bool:
        limit = self.options.max_time
        return limit is not None and time.monotonic() - self.started >= limit

    def sha(self, index: int) -> str:
        return self.commits[index]

    def runs_left(self) -> int | None:
        limit = self.options.max_runs
        return None if limit is None else max(limit - self.state.spent_runs, 0)

    def run_at(self, i: int, phase: str, count: int = 1, sha: str | None = None) -> bool:
        """Probe position i (or ``sha``, an outside parent, whose runs go to i) ``count`` times at
        once in the first lane (building it first if needed); False if it cannot be tested (does
        not build, exits 125, or its runs are mostly unusable)."""
        left = self.runs_left()
        if left is not None:
            count = max(1, min(count, left))
        lane, sha = self.lanes[0], sha or self.commits[i]
        self.absorb(execute(lane.prober, Task(0, i, sha, count, lane.prepared != sha), self.step), phase)
        return self.replay.testable(sha)

    def absorb(self, done: Done, phase: str = "search") -> None:
        """A lane's build verdict and runs, into the store and the state (in the order they come)."""
        task, lane = done.task, self.lanes[done.task.lane]
        if done.built is not None:
            lane.prepared = task.sha if done.built else None
            self._record(task.sha, BUILT if done.built else Verdict.UNTESTABLE, phase, done.build_seconds)
        # The task's build failure, here or on a cluster's worker (whose prepare is free, and whose
        # runs answer "cannot test").
        failed = lane.prober.last_failure
        if failed is not None and failed.commit == task.sha:
            record_build_failure(self.store, self.key, failed)
        elif done.built:
            forget_build_failure(self.store, self.key, task.sha)
        # Runs started together: each took about the batch's wall time.
        seconds = done.run_seconds * task.count / max(len(done.verdicts), 1)
        for verdict in done.verdicts:
            self._record(task.sha, verdict, phase, seconds)
        newest = record_endings(self.store, self.key, task.sha, done.unusable, done.ways)
        self.newest_unusable = newest or self.newest_unusable
        if not self.replay.testable(task.sha):
            lane.prepared = None
        if phase == "search":
            self.check_as_it_goes()
        self._retune()
        self._under_way.pop(task.lane, None)
        self.show()

    def show(self) -> None:
        """The live line, with the totals computed now (on the main thread)."""
        if self.progress is not None:
            self._shown = (*self.named(), self.state.runs, self.state.builds)
            self._emit()

    def step(self, task: Task, what: str, sha: str) -> None:
        """A lane begins ``what`` on ``sha`` ("building" or "testing" its task's commit, or
        configuring the newest end first; from the lane's thread): the live line says so, with
        the totals last shown."""
        self._under_way[task.lane] = Step(what, sha)
        self._emit()

    def _emit(self) -> None:
        if self.progress is not None and self._shown is not None:
            lanes = dict(self._under_way)
            self.progress(Progress(*self._shown, tuple(lanes[k] for k in sorted(lanes))))

    def named(self) -> tuple[CommitRef, float]:
        """The commit the search names now, and its probability: in a fix search the fix, the
        commit after the culprit of its reversed line (fixes.fix_of)."""
        top, prob = self.state.top_candidate()
        return self.ref(fix_of(top) if self.options.fix else top), prob

    def ref(self, i: int) -> CommitRef:
        return self.commit_ref(self.commits[i])

    def commit_ref(self, sha: str) -> CommitRef:
        if sha not in self._subjects:
            self._subjects[sha] = self.repo.commit_info(sha).subject
        return CommitRef(sha, self._subjects[sha])

    def search(self) -> None:
        self.show()
        if len(self.lanes) > 1 and self.jobs > 1:
            search_in_lanes(self)
            return
        while not self.out_of_time() and (probe := self.state.next_probe()) is not None:
            self.run_at(probe.index, "search", self.jobs if probe.reason in BATCHED else 1)

    def confirm_culprit(self, culprit: int) -> ConfirmationOutcome | None:
        """Fresh runs on the culprit and its parent (design 4.9), folded into the posterior; a
        parent outside the range that cannot be tested gives way to the good end."""
        plan = self._plan(culprit)
        at_culprit = (culprit, self.commits[culprit])
        while not self.out_of_time() and not self._over_budget():
            sides = {"parent": self.parent_at(culprit), "culprit": at_culprit}
            wanted = self._confirm_sides(plan, sides)
            if not wanted:
                break
            if not self._confirm_round(plan, sides, wanted) and (
                not self.replay.testable(at_culprit[1]) or sides["parent"] == self.parent_at(culprit)
            ):
                return None
        parent = self.parent_at(culprit)
        fresh = self._confirm_counts(parent[1]), self._confirm_counts(at_culprit[1])
        return judge_confirmation(plan, *fresh, self._contrast(parent[0], culprit))

    def _contrast(self, parent: int, culprit: int) -> float | None:
        """Where a record counts, stats.fisher_more of the culprit's own runs against its parent's."""
        given = self.options.records_given
        return fisher_more(self.state.counts(culprit), self.state.counts(parent)) if given else None

    def _plan(self, culprit: int) -> ConfirmationPlan:
        """The confirmation's plan for ``culprit``, from the search's runs alone (p, q and its own
        runs): resumed, the state holds the confirmation's runs too, and a plan made from them
        would ask for more runs than the first run's (a finished bisect run again would run again)."""
        state = self.state
        if any(runs for _, runs in self.confirm.values()):
            state = self._stored(BisectState(state.history, state.strategy), but_phase="confirm").state
        return state.result().confirmation_plan(culprit)

    def parent_at(self, culprit: int) -> tuple[int, str]:
        """Where the culprit's parent is run (its runs' position, the commit): its first parent;
        when that is outside the range (known good), that commit as long as it can be tested, its
        runs going to the good end's position; else the good end."""
        sha = self.outside.get(culprit)
        if sha is not None and self.replay.testable(sha):
            return GOOD_END, sha
        parent = GOOD_END if sha is not None else self.state.parent_of(culprit)
        return parent, self.commits[parent]

    def _confirm_round(self, plan: ConfirmationPlan, sides: dict[str, Side], wanted: list[str]) -> bool:
        """One batch of fresh runs: both sides at once when there are two lanes (the runs shared
        between them), else the first side wanted; False when a side turned out untestable."""
        if len(wanted) == 2 and len(self.lanes) > 1 and self.jobs > 1:
            share = {"parent": self.jobs - self.jobs // 2, "culprit": self.jobs // 2}
            runs = [(*sides[s], self._confirm_batch(plan, s, sides[s][1], share[s])) for s in wanted]
            run_together(self, runs, "confirm")
            return all(self.replay.testable(sides[s][1]) for s in wanted)
        index, sha = sides[wanted[0]]
        return self.run_at(index, "confirm", self._confirm_batch(plan, wanted[0], sha), sha)

    def _confirm_sides(self, plan: ConfirmationPlan, sides: dict[str, Side]) -> list[str]:
        """The sides that still need fresh runs, each judged as if the other were done (the plan
        asks for the parent first only because one worktree runs one commit at a time); once the
        plan's held, where a record counts, the side its check asks for (stats.next_contrast_run)."""
        (parent, at_parent), (culprit, at_culprit) = sides["parent"], sides["culprit"]
        fresh = self._confirm_counts(at_parent), self._confirm_counts(at_culprit)
        parent_done, culprit_done = (0, plan.parent_runs), (plan.culprit_failures, 0)
        wanted = [
            next_confirmation_run(plan, fresh[0], culprit_done),
            next_confirmation_run(plan, parent_done, fresh[1]),
        ]
        if not any(wanted):
            wanted = [next_contrast_run(plan, *fresh, self._contrast(parent, culprit))]
        return [side for side in wanted if side is not None]

    def _confirm_batch(self, plan: ConfirmationPlan, side: str, sha: str, width: int | None = None) -> int:
        """Runs to start at once: up to --jobs, never more than the plan still asks of this side."""
        failures, runs = self._confirm_counts(sha)
        left = plan.parent_runs - runs if side == "parent" else plan.culprit_failures - failures
        return max(1, min(width or self.jobs, left))

    def _over_budget(self) -> bool:
        limit = self.options.max_runs
        return limit is not None and self.state.spent_runs >= limit

    def _confirm_counts(self, sha: str) -> tuple[int, int]:
        counts = self.confirm.get(sha, [0, 0])
        return counts[0], counts[1]


def run_bisect(
    repo: GitRepo,
    store: Store,
    spec: ProbeSpec,
    options: BisectOptions,
    prober: Prober | Sequence[Prober],
    progress: Callable[[Progress], None] | None = None,
    settings: Settings | None = None,
) -> BisectReport:
    """Search, confirm, and search again if the confirmation moved the posterior.

    ``prober`` may be one per lane (each in its own worktree): with --jobs 2 or more, the search
    then runs a second commit while the first's runs are under way (parallel.py).

    With --first-parent, a merge named as the culprit is bisected inside automatically (its
    first parent good, the merge bad, over the merged branch); the runs already made at both
    ends are reused from the store, and the line's other runs count as records (BisectState.side_counts:
    bad after the merge, good before it), so p and q carry over.

    A confirmed culprit is then reverted on the bad commit the user named (or, when that cannot be
    tested, the commit that stood in for it) and tested there (revert.py), unless
    ``options.revert_test`` is off or ``settings`` (the tool's data directory, for the temporary
    index) is None. On a cluster the reverted commit travels to the workers as a pack of its objects
    (probe.CarriesCommits).
    """
    probers = list(prober) if isinstance(prober, Sequence) else [prober]
    session, confirmation = search_and_confirm(repo, store, spec, options, probers, progress)
    outer = session  # the range the user named: its bad end is where the revert is tested
    culprit = session.state.result().culprit
    bad = session.commits[session.state.revert_base(culprit) if culprit is not None else -1]
    merge = None
    if options.first_parent and culprit is not None and len(session.state.history.parents[culprit]) < 2:
        parents = repo.out("rev-list", "--parents", "-n", "1", session.commits[culprit]).split()[1:]
        if len(parents) > 1:
            merge = session.ref(culprit)
            known = good_inside(repo, [session.commits[0], *session.also_good], merge.sha)
            # the merged branch was never run (not on the line); the ends' runs are reused inside
            ends = {culprit} | {i for i, sha in enumerate(session.commits) if sha == parents[0]}
            inner = replace(
                session.options, good=parents[0], bad=merge.sha, first_parent=False, also_good=known,
                line_records=session.state.side_counts(culprit, ends),
            )  # fmt: skip
            session, confirmation = search_and_confirm(repo, store, spec, inner, probers, progress)
            session.newest_unusable = session.newest_unusable or outer.newest_unusable  # the line's
    report = with_line(build_report(session, spec, confirmation), merge, outer, session)
    if report.found and report.culprit is not None and options.revert_test:
        culprit_sha = report.culprit.sha
        revert = revert_test(session, settings, culprit_sha, bad)
        spent = _revert_spent(session, revert)
        if _bad_end_to_probe(outer, revert, spent):
            # The search never ran the bad end (a commit between failed first) and the revert test
            # could not run there: probed, if it is the bad end that cannot be tested, the revert
            # is tested where a stand-in holds the culprit, and the report lists the bad end.
            before = outer.state.runs, outer.state.unusable_runs
            if not _testable(outer, outer.state.n, spent):
                named = outer.state.result().culprit
                at = outer.state.revert_base(named) if named is not None else outer.state.n
                if at != outer.state.n:
                    revert = revert_test(session, settings, culprit_sha, outer.commits[at], spent)
                    revert = replace(revert, runs_on_bad_end=spent)
            report = with_line(build_report(session, spec, confirmation), merge, outer, session)
            if outer is not session:  # bisected inside a merge: the bad end is the outer range's
                report = _with_outer_probe(report, outer, before)
        if revert.bad != outer.commits[-1] and not revert.runs_on_bad_end:
            # Resumed: the stored runs set the bad end aside, so the revert went to its stand-in at
            # once; an earlier revert test on the bad end, which could not run it, is reported too.
            earlier = revert_made_on(session.store, session.key, culprit_sha, outer.commits[-1])
            revert = replace(revert, runs_on_bad_end=_runs_of(session, earlier))
        report = replace(report, revert=revert)
    return report


def _bad_end_to_probe(session: _Session, revert: RevertOutcome, spent: int) -> bool:
    """The revert test could not run on the bad end (its reverted tree was built or run, not an
    error; ``spent`` of its runs), and the search never built or ran the bad end: one probe tells
    which cannot be tested."""
    state, limit = session.state, session.options.max_runs
    if revert.status != "untestable" or revert.sha is None or revert.bad != session.commits[-1]:
        return False
    untouched = not state.counts(state.n)[1] and not state.is_untestable(state.n)
    within = limit is None or state.spent_runs + spent < limit
    return untouched and within and not session.out_of_time()


def _with_outer_probe(report: BisectReport, outer: _Session, before: tuple[int, int]) -> BisectReport:
    """The report of a search inside a merge, with the probe of the outer range's bad end: its
    runs (``before``: the outer runs and unusable runs until then), and the bad end when it
    cannot be tested."""
    state = outer.state
    untestable = (outer.ref(state.n),) if state.is_untestable(state.n) else ()
    return replace(
        report,
        runs=report.runs + state.runs - before[0],
        unusable_runs=report.unusable_runs + state.unusable_runs - before[1],
        untestable=(*report.untestable, *untestable),
    )


def _revert_spent(session: _Session, revert: RevertOutcome) -> int:
    """Runs of the test the revert test made (counted or not): the --max-runs budget counts them."""
    return _runs_of(session, revert.sha)


def _runs_of(session: _Session, sha: str | None) -> int:
    """Stored runs of the test at ``sha``, counted or not."""
    rows = load_rows(session.store, session.key, [sha]) if sha else []
    return sum(row[1] not in (BUILT, Verdict.UNTESTABLE) for row in rows)


def _testable(session: _Session, index: int, spent: int) -> bool:
    """Probe a position until one run counts (a pass or the regression's failure) or it cannot be
    tested: it does not build, exits 125, or its runs fail another way often enough to be set aside
    (classify.set_aside; at most 50 of them). --max-runs counts the revert test's ``spent`` runs too;
    out of runs or time, or on an error there, the verdict stays as it is."""
    state, sha, limit = session.state, session.commits[index], session.options.max_runs
    try:
        while session.run_at(index, "search"):
            stop = (limit is not None and state.spent_runs + spent >= limit) or session.out_of_time()
            if stop or state.counts(index)[1] or session.replay.unusable.get(sha, 0) >= 50:
                return True
        return False
    except PatchtoolError:
        return True


def search_and_confirm(
    repo: GitRepo,
    store: Store,
    spec: ProbeSpec,
    options: BisectOptions,
    probers: Sequence[Prober],
    progress: Callable[[Progress], None] | None,
) -> tuple[_Session, ConfirmationOutcome | None]:
    """Search, and confirm the commit named with fresh runs there and at its parent; search again
    when the confirmation moved the posterior (at most _MAX_CYCLES times). Once the search stops, a
    record its own runs on that side of the commit it names contradict (records.records_against)
    is set aside, and the search goes on from its own runs without it (as one that its runs at the
    commits whose side it is sure of contradict is, at any time: _Session.absorb)."""
    session = _Session(repo, store, spec, options, probers, progress)
    confirmation: ConfirmationOutcome | None = None
    cycles = 0
    while cycles < _MAX_CYCLES:
        session.search()
        state = session.state
        held = confident = state.stop_reason() == StopReason.CONFIDENT
        if confident:
            culprit = state.top_candidate()[0]
            confirmation = session.confirm_culprit(culprit)
            held = state.stop_reason() == StopReason.CONFIDENT and state.top_candidate()[0] == culprit
        if session.check_records(state.side_counts(state.top_candidate()[0])):
            confirmation = None  # the search goes on without the record
            continue
        if held or not confident:
            break
        cycles, confirmation = cycles + 1, None
    return session, confirmation
