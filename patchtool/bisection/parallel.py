"""`--jobs J` across two commits: while one commit's runs are under way, a second commit is built
and run in a second tool worktree, when the posterior says the second probe is worth it.

The probe the core asks for comes first. The second is the commit that adds the most information
to it: the best split of the posterior once the first's outcome is known, averaged over both
outcomes (the entropy of the culprit's partition by both commits minus that by the first). It goes
only when that gain is worth a build. Each lane owns a worktree and a prober; up to J runs are
under way in all. Outcomes reach the one state (and the store) in the order the lanes finish, so
the stored rows replay to the same state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from typing import Protocol

from patchtool.bisection.classify import Verdict
from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import members
from patchtool.bisection.model import ProbeReason
from patchtool.bisection.probe import Prober, Ways
from patchtool.jsonable import record

# A second commit is worth its build when it is expected to tell at least this much about the
# culprit beyond the first's outcome (a line split in half, then a quarter point: 0.5 bit; a commit
# left with P(bad) under 5 % or over 95 % tells under 0.3 bit).
MIN_GAIN_BITS = 0.3
# Probes where more than one run at the same commit is expected: a batch of runs goes at once.
# The culprit run for what one run there tells (a few failures measure p), and the culprit or its
# parent at the end (tens of runs to the stop), are run many times too.
BATCHED = (
    ProbeReason.CALIBRATE_BAD,
    ProbeReason.CALIBRATE_GOOD,
    ProbeReason.REPEAT,
    ProbeReason.SPLIT,
    ProbeReason.CULPRIT,
    ProbeReason.DECIDE,
)


@dataclass
class Lane:
    """One worktree with its prober, and the commit currently built there."""

    prober: Prober
    prepared: str | None = None


@record
class Task:
    lane: int
    index: int
    sha: str
    count: int
    build: bool  # the lane must check out and build the commit first


@record
class Done:
    """What a lane brings back: the build verdict (when it built), the runs, and when."""

    task: Task
    built: bool | None
    build_seconds: float
    verdicts: tuple[Verdict, ...]
    run_seconds: float
    finished: float = field(default_factory=time.monotonic)
    # the newest of the runs that did not count, as it ended (Prober.last_unusable)
    unusable: tuple[Verdict, tuple[str, ...]] | None = None
    ways: Ways = ()  # how each failed run ended (Prober.last_ways)


def execute(prober: Prober, task: Task, step: Callable[[Task, str, str], None] | None = None) -> Done:
    """Build (if needed) and run one task in its lane (a worker thread: no state, no store rows);
    ``step`` hears "building" and "testing" as each begins, and a step of the prober's own, with
    the commit it is done on (the live line)."""
    built: bool | None = None
    build_seconds = 0.0
    if task.build:
        if step is not None:
            step(task, "building", task.sha)
        start = time.monotonic()
        built = prober.prepare(task.sha, None if step is None else lambda what, sha: step(task, what, sha))
        build_seconds = time.monotonic() - start
        if not built:
            return Done(task, built, build_seconds, (), 0.0)
    if step is not None:
        step(task, "testing", task.sha)
    start = time.monotonic()
    verdicts = tuple(prober.run_batch(task.count))
    seconds = time.monotonic() - start
    unusable, ways = prober.last_unusable, prober.last_ways
    return Done(task, built, build_seconds, verdicts, seconds, unusable=unusable, ways=ways)


class Host(Protocol):
    """What the lanes need of a bisect session (driver.py)."""

    state: BisectState
    lanes: list[Lane]
    jobs: int

    def sha(self, index: int) -> str: ...
    def out_of_time(self) -> bool: ...
    def runs_left(self) -> int | None: ...
    def absorb(self, done: Done, phase: str = "search") -> None: ...
    def step(self, task: Task, what: str, sha: str) -> None: ...


def search_in_lanes(host: Host) -> None:
    """The search with up to one commit per lane under way, until the core stops."""
    running: dict[Future[Done], Task] = {}
    with ThreadPoolExecutor(max_workers=len(host.lanes), thread_name_prefix="bisect-lane") as pool:
        while True:
            if not host.out_of_time():
                for task in plan(host, list(running.values())):
                    running[pool.submit(execute, host.lanes[task.lane].prober, task, host.step)] = task
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: f.result().finished):
                del running[future]
                host.absorb(future.result())


def run_together(host: Host, wanted: Sequence[tuple[int, str, int]], phase: str) -> None:
    """Run (position, commit, count) triples at once, one lane each, absorbing each as it
    finishes (the commit is the position's, or one whose runs go there: an outside parent)."""
    free = list(range(len(host.lanes)))
    tasks = [_task(host, free, index, count, sha) for index, sha, count in wanted]
    with ThreadPoolExecutor(max_workers=len(tasks), thread_name_prefix="bisect-lane") as pool:
        futures = [pool.submit(execute, host.lanes[t.lane].prober, t, host.step) for t in tasks]
        for future in as_completed(futures):
            host.absorb(future.result(), phase)


def plan(host: Host, running: Sequence[Task]) -> list[Task]:
    """The tasks to start now in the free lanes, with the run slots left."""
    state = host.state
    free = [i for i in range(len(host.lanes)) if i not in {t.lane for t in running}]
    slots = host.jobs - sum(t.count for t in running)
    left = host.runs_left()
    if left is not None:
        slots = min(slots, left - sum(t.count for t in running))
    probe = state.next_probe() if free and slots > 0 else None
    if probe is None:
        return []
    busy = {t.index for t in running}
    if probe.index in busy:  # the core wants the commit under way: a second one, or wait
        second = second_probe(state, probe.index, busy)
        return [] if second is None else [_task(host, free, second, slots)]
    second = None
    if not running and len(free) >= 2 and slots >= 2:
        second = second_probe(state, probe.index, busy)
    share = slots - slots // 2 if second is not None else slots
    tasks = [_task(host, free, probe.index, share if probe.reason in BATCHED else 1)]
    if second is not None:
        tasks.append(_task(host, free, second, slots // 2))
    return tasks


def _task(host: Host, free: list[int], index: int, count: int, sha: str | None = None) -> Task:
    """A task in a free lane, preferring the one where the commit is already built."""
    sha = sha or host.sha(index)
    lane = next((i for i in free if host.lanes[i].prepared == sha), free[0])
    free.remove(lane)
    return Task(lane, index, sha, max(count, 1), host.lanes[lane].prepared != sha)


def second_probe(state: BisectState, first: int, busy: set[int]) -> int | None:
    """The commit whose outcome adds the most to the first's, when that is worth a build.

    A commit is bad exactly when the culprit is among its ancestors, so two probes split the
    candidates into four cells; the gain is the entropy of that split minus the first's alone.
    """
    post = state.posterior()
    anc_first = state.history.ancestors(first)
    p_first = _mass(post, anc_first)
    base = _entropy((p_first, 1.0 - p_first))
    best: tuple[float, int] | None = None
    waiting = state.waiting()  # runs all failed another way: its turn is not yet (core)
    for i in range(1, state.n):
        if i == first or i in busy or i in waiting or state.is_untestable(i):
            continue
        anc = state.history.ancestors(i)
        p_i = _mass(post, anc)
        if _entropy((p_i, 1.0 - p_i)) < MIN_GAIN_BITS:
            continue  # the gain is at most this commit's own entropy
        both = _mass(post, anc & anc_first)
        cells = (both, p_first - both, p_i - both, 1.0 - p_first - p_i + both)
        gain = _entropy(cells) - base
        if gain >= MIN_GAIN_BITS and (best is None or gain > best[0]):
            best = (gain, i)
    return None if best is None else best[1]


def _mass(post: Sequence[float], mask: int) -> float:
    return math.fsum(post[i] for i in members(mask))


def _entropy(cells: Sequence[float]) -> float:
    return -sum(x * math.log2(x) for x in cells if x > 1e-15)
