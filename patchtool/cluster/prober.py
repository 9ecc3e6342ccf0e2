"""`bisect --cluster`: the bisect driver's Prober, with each batch of runs spread over the workers.

The driver stays the one that bisects locally (posterior, store, replay, confirmation,
--first-parent); only where runs happen changes. A batch at one commit goes to the workers that
already built it first, then to the rest, one run per task, so W workers give W runs at once (a
batch is never narrower than the cluster); a
worker builds the commit in its own reused worktree and classifies each run with the same rules
(--fail-match, --timeout-as, exit 125) as a local probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patchtool.bisection.probe import BuildFailure, ProbeSpec, Tell, Verdict, Ways
from patchtool.cluster.client import Cluster
from patchtool.cluster.worker import Probed, bisect_probe

# A run's task: (repository, commit, spec, runs[, carried]) -> the runs (worker.Probed, or only
# their verdict strings), or why the commit did not build there. Swappable for benchmarks;
# `carried` (base, pack) comes only for a commit given to `carry`.
ProbeTask = Callable[..., "Probed | list[str] | BuildFailure"]


class ClusterProber:
    """Prepare is free here (workers build on demand); run_batch sends one task per run."""

    def __init__(self, cluster: Cluster, repo: str, spec: ProbeSpec, task: ProbeTask = bisect_probe) -> None:
        self.cluster, self.repo, self.spec, self.task = cluster, repo, spec, task
        self.commit: str | None = None
        self.carried: dict[str, tuple[str, bytes]] = {}
        self.last_failure: BuildFailure | None = None  # the last batch's, on a worker
        self.last_unusable: tuple[Verdict, tuple[str, ...]] | None = None  # the last batch's, on a worker
        self.last_ways: Ways = ()  # the last batch's, from every worker

    @property
    def width(self) -> int:
        """Runs that can go at once: one per worker."""
        return max(1, len(self.cluster.workers))

    def prepare(self, commit: str, tell: Tell | None = None) -> bool:
        self.commit = commit
        return True

    def carry(self, commit: str, base: str, pack: bytes) -> None:
        """Send `pack` (the objects `commit` adds to `base`) with every run of `commit`: the
        workers' repository does not have it (a commit on no branch, made here)."""
        self.carried[commit] = (base, pack)

    def run_batch(self, count: int) -> list[Verdict]:
        """At least one run per worker: idle workers cost the same wall time, and every run the
        posterior gets is evidence (the driver records all that come back). Where the commit did
        not build, ``last_failure`` says why; the batch says "cannot test" only when it built on
        no worker: one worker's environment (a compiler, flags) does not make the commit
        untestable for the runs the others made."""
        assert self.commit is not None
        commit = self.commit
        runs = max(count, self.width)
        extra = (self.carried[commit],) if commit in self.carried else ()
        args: list[tuple[Any, ...]] = [(self.repo, commit, self.spec, 1, *extra) for _ in range(runs)]
        self.last_failure, self.last_unusable = None, None
        verdicts: list[Verdict] = []
        ways: list[tuple[Verdict, str]] = []
        for answer in self.cluster.map_on_workers(commit, self.task, args):
            if isinstance(answer, BuildFailure):  # the driver stores why
                self.last_failure = answer
            elif isinstance(answer, Probed):
                verdicts.extend(Verdict(v) for v in answer.verdicts)
                if answer.unusable is not None:
                    self.last_unusable = Verdict(answer.unusable[0]), answer.unusable[1]
                ways.extend((Verdict(v), way) for v, way in answer.ways)
            else:
                verdicts.extend(Verdict(v) for v in answer)
        self.last_ways = tuple(ways)
        return verdicts or [Verdict.UNTESTABLE]
