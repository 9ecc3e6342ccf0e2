"""How bisect gets a commit ready and runs the test there: a meson test, or a command.

Both work in a worktree patchtool owns (the user's checkout is never touched). A probe that cannot
be made ready (the commit does not build) or whose command exits 125 is untestable. Up to
``jobs`` runs of one commit go at once. Each run is classified (classify.py): the regression's
failure, a pass, another failure, a timeout, or inconclusive.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from patchtool import proc
from patchtool.bisection.classify import Classifier, RawRun, Verdict, ending
from patchtool.config import Settings
from patchtool.errors import EnvironmentProblem, InputError
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import TIMED_OUT, failure_way
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import ensure_worktree, locked, worktree_path

if TYPE_CHECKING:
    from patchtool.build.meson import BuildResult, ConfigureFailed

WORKTREE_NAME = "bisect"
# What a prober says of a step of its own: (what, the commit). The live line shows it.
Tell = Callable[[str, str], None]
CONFIGURING_TIP = "configuring the newest end"
__all__ = ["CommandProber", "MesonProber", "ProbeSpec", "Prober", "Verdict", "prober_for", "probers_for"]


@record
class ProbeSpec:
    """What to run at each commit: a meson test (name and setup) or a command (git bisect run)."""

    test: str | None = None
    setup: str | None = None
    command: str | None = None
    configure_args: tuple[str, ...] = ()
    timeout: float = 3600.0
    classifier: Classifier = field(default_factory=Classifier)
    # The range's newest end (--bad, or --fixed): configured when an older commit does not configure
    # in a build directory these arguments never configured, to tell that version's failure from
    # the machine's or the arguments'. Not part of the key.
    tip: str | None = None

    def key(self) -> str:
        """Stored runs are reused only for the same test, setup and configuration (or command),
        and the same classification of outputs (a match changes what a run's outcome means)."""
        fields: dict[str, object] = {
            "test": self.test, "setup": self.setup, "command": self.command, "cfg": self.configure_args,
        }  # fmt: skip
        if self.classifier != Classifier():
            fields["classify"] = self.classifier.key()
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]

    def describe(self) -> str:
        if self.command is not None:
            return f"command {self.command!r}"
        return f"test {self.test}" + (f" (setup {self.setup})" if self.setup else "")


@record
class BuildFailure:
    """A probed commit that did not build: why, and where its log is (on a cluster, the log's path
    on the worker that built it)."""

    commit: str
    first_error: str
    log: str


# One run as a prober saw it: its verdict, its output, and whether it was killed at its deadline.
Ran = tuple[Verdict, str, bool]
# The runs of a batch that failed, each as (verdict: counted or apart, how it ended).
Ways = tuple[tuple[Verdict, str], ...]


class Prober(Protocol):
    # Why the last prepare (or, on a cluster, the last batch) did not build; None when it did.
    last_failure: BuildFailure | None
    # How the newest run of the last batch that did not count ended (another failure under
    # --fail-match, or inconclusive): its verdict and last lines (classify.ending). None when every
    # run counted (a cluster's worker sends its prober's with the runs: cluster.worker.Probed).
    last_unusable: tuple[Verdict, tuple[str, ...]] | None
    # How each run of the last batch that failed ended (failure_ways), a worker's too.
    last_ways: Ways

    def prepare(self, commit: str, tell: Tell | None = None) -> bool:
        """Check out (and build) `commit`; False when it cannot be tested. ``tell(what, sha)``
        hears a step of its own begin (the live line: the newest end configured first)."""
        ...

    def run_batch(self, count: int) -> list[Verdict]:
        """Run the test ``count`` times at the prepared commit (at once, up to the job limit)."""
        ...


@runtime_checkable
class CarriesCommits(Protocol):
    """A prober whose runs happen where the user's repository is not (a cluster's workers): a
    commit made here on no branch must travel with its runs, as the objects it adds to `base`."""

    def carry(self, commit: str, base: str, pack: bytes) -> None: ...


class CommandProber:
    """`git bisect run` semantics: 0 good, 125 untestable, 1-127 bad, anything else aborts."""

    def __init__(
        self, repo: GitRepo, settings: Settings, spec: ProbeSpec, jobs: int = 1, worktree: str = WORKTREE_NAME
    ) -> None:
        if not spec.command:
            raise InputError("--run needs a command")
        self.last_failure: BuildFailure | None = None  # nothing is built
        self.last_unusable: tuple[Verdict, tuple[str, ...]] | None = None
        self.last_ways: Ways = ()
        self.argv = shlex.split(spec.command)
        if not self.argv:
            raise InputError("--run: empty command")
        self.repo, self.settings, self.timeout = repo, settings, spec.timeout
        self.classifier, self.jobs, self.worktree = spec.classifier, max(jobs, 1), worktree
        self.tree: Path | None = None

    def prepare(self, commit: str, tell: Tell | None = None) -> bool:
        self.tree = ensure_worktree(self.repo, self.settings, self.worktree, commit)
        return True

    def run_batch(self, count: int) -> list[Verdict]:
        if count <= 1 or self.jobs == 1:
            runs = [self._run_one() for _ in range(max(count, 1))]
        else:
            with ThreadPoolExecutor(max_workers=min(self.jobs, count)) as pool:
                runs = list(pool.map(lambda _: self._run_one(), range(count)))
        self.last_unusable, self.last_ways = newest_unusable(runs), failure_ways(runs)
        return [verdict for verdict, *_ in runs]

    def _run_one(self) -> Ran:
        assert self.tree is not None
        argv = list(self.argv)
        if "/" in argv[0] and not Path(argv[0]).is_absolute():
            argv[0] = str(self.tree / argv[0])  # `./t.sh` is the script of the probed commit
        try:
            done = proc.run(argv, cwd=self.tree, timeout=self.timeout)
        except (FileNotFoundError, PermissionError) as e:
            raise InputError(f"--run {self.argv[0]}: cannot run it ({e.strerror})") from e
        check_exit(done.returncode, done.timed_out, self.argv[0])
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        if not done.timed_out and done.returncode < 0:
            output = proc.with_signal(output, done.returncode)  # it crashed: "killed by signal 11 SIGSEGV"
        if done.returncode == 125 and not done.timed_out:
            return Verdict.UNTESTABLE, output, False
        verdict = self.classifier.classify(RawRun(done.returncode == 0, done.timed_out, output))
        return verdict, output, done.timed_out


def newest_unusable(runs: list[Ran]) -> tuple[Verdict, tuple[str, ...]] | None:
    """The verdict and ending of the last of ``runs`` that did not count."""
    unusable = [(verdict, output) for verdict, output, _ in runs if verdict in _UNUSABLE]
    return (unusable[-1][0], ending(unusable[-1][1])) if unusable else None


def failure_ways(runs: list[Ran]) -> Ways:
    """How each of ``runs`` that failed ended (testrun.results.failure_way; TIMED_OUT for a run
    killed at its deadline), with its verdict: counted (fail) or apart (another failure under
    --fail-match). The ways the search's failures took tell a user which --fail-match to give,
    and whether the good commits' failures are the regression's."""
    failed = (Verdict.FAIL, Verdict.OTHER)
    return tuple((v, TIMED_OUT if late else failure_way(output)) for v, output, late in runs if v in failed)


_UNUSABLE = (Verdict.OTHER, Verdict.INCONCLUSIVE)


def check_exit(code: int, timed_out: bool, name: str) -> None:
    """As with git bisect run: 0 good, 1-127 bad, 125 cannot test; any other exit aborts. Unlike
    it, a command a signal killed (a negative code: it crashed) failed, as meson counts a test
    that did: a crash is how many intermittent failures show, and its run reads "killed by signal
    11 SIGSEGV" for ``--fail-match``. An exit of 129-159 (a shell's report of such a death) still
    aborts, as git's does: the script chose it, and the hint says how to count it instead."""
    if timed_out or code <= 127:
        return
    hint = "as with git bisect run, exit 0 = good, 1-127 = bad, 125 = cannot test; others abort"
    if 128 < code < 160:
        died = f"a shell exits {code} when signal {code - 128} kills its command"
        hint += f"; {died}: `cmd || exit 1` makes that bad"
    raise EnvironmentProblem(f"command {name} exited with {code}: bisect aborted", hint=hint)


class MesonProber:
    """Build the commit with meson/ninja (reusing one build directory) and run one meson test once."""

    def __init__(
        self,
        repo: GitRepo,
        settings: Settings,
        spec: ProbeSpec,
        store: Store,
        jobs: int = 1,
        worktree: str = WORKTREE_NAME,
    ) -> None:
        if not spec.test:
            raise InputError("--test needs a test name")
        self.repo, self.settings, self.spec, self.store = repo, settings, spec, store
        self.jobs, self.worktree = max(jobs, 1), worktree
        self.build_dir: Path | None = None
        self.last_failure: BuildFailure | None = None
        self.last_unusable: tuple[Verdict, tuple[str, ...]] | None = None
        self.last_ways: Ways = ()

    def prepare(self, commit: str, tell: Tell | None = None) -> bool:
        from patchtool.build.meson import ConfigureFailed

        try:
            result = self._build(commit)
        except ConfigureFailed as problem:
            # These arguments never configured the bisect's build directory: an old commit that
            # does not know an option they pass (QEMU's --disable-rust) fails as a broken machine
            # would. Where the newest end configures with them, the commit is built in the
            # directory so configured (ninja regenerates it) or, where it cannot be, is that
            # version's failed build; where the newest end does not either, the bisect stops.
            tip = self.spec.tip
            if tip is None or commit == tip or self.repo.try_rev_parse(tip) is None:  # a worker's clone
                raise
            if tell is not None:
                tell(CONFIGURING_TIP, tip)
            at_tip = self._configure_tip()
            if at_tip is not None:
                raise ConfigureFailed(
                    f"{commit[:12]} and the range's newest end {tip[:12]} do not configure: {at_tip.message}",
                    hint=at_tip.hint,
                ) from problem
            if tell is not None:
                tell("building", commit)
            result = self._build(commit)  # now that version's failed build
        self.build_dir = result.build_dir if result.ok else None
        # Only the last prepare's: a failure older than a build that worked is not this commit's now.
        why = result.first_error or "build failed"
        self.last_failure = None if result.ok else BuildFailure(commit, why, str(result.log_path))
        return result.ok

    def _build(self, commit: str) -> BuildResult:
        from patchtool.testrun.measure import Hooks, Measure, build_for_tests

        tree = ensure_worktree(self.repo, self.settings, self.worktree, commit)
        # The test's name and setup are checked against the build's introspection before anything
        # is compiled, and only the targets the test needs are built.
        wanted = Measure(names=(self.spec.test or "",), setup=self.spec.setup,
                         configure_args=self.spec.configure_args)  # fmt: skip
        return build_for_tests(tree, self.settings, self.store, wanted, None, Hooks())

    def _configure_tip(self) -> ConfigureFailed | None:
        from patchtool.build.meson import configure_only

        assert self.spec.tip is not None
        tree = ensure_worktree(self.repo, self.settings, self.worktree, self.spec.tip)
        return configure_only(tree, self.settings, self.spec.configure_args)

    def run_batch(self, count: int) -> list[Verdict]:
        from patchtool.testrun.run import run_tests

        assert self.build_dir is not None and self.spec.test is not None
        count = max(count, 1)
        outcome = run_tests(
            self.build_dir, names=[self.spec.test], setup=self.spec.setup, timeout=None,
            repeat=count, jobs=min(self.jobs, count),
        )  # fmt: skip
        if outcome.interrupted:
            raise KeyboardInterrupt
        classifier = self.spec.classifier
        runs = [(meson_verdict(classifier, r.result, r.output), r.output, r.result == "TIMEOUT")
                for r in outcome.records if r.counted]  # fmt: skip
        self.last_unusable, self.last_ways = newest_unusable(runs), failure_ways(runs)
        return [verdict for verdict, *_ in runs] or [Verdict.UNTESTABLE]


def meson_verdict(classifier: Classifier, result: str, output: str) -> Verdict:
    """What one meson test run (its result name and output) is to the search: a skipped run
    cannot test, the rest as ``classifier`` reads them (a stored run of `patchtool test` too)."""
    if result == "SKIP":
        return Verdict.UNTESTABLE
    passed = result in ("OK", "EXPECTEDFAIL")
    return classifier.classify(RawRun(passed, result == "TIMEOUT", output))


@contextmanager
def prober_for(
    repo: GitRepo, settings: Settings, spec: ProbeSpec, store: Store, jobs: int = 1
) -> Iterator[Prober]:
    """The prober for a spec, holding the bisect worktree's lock while it is used."""
    with probers_for(repo, settings, spec, store, jobs, lanes=1) as probers:
        yield probers[0]


def lane_worktree(lane: int) -> str:
    """The tool worktree of a lane: the first is the bisect worktree, the others bisect-2, ..."""
    return WORKTREE_NAME if lane == 0 else f"{WORKTREE_NAME}-{lane + 1}"


@contextmanager
def probers_for(
    repo: GitRepo, settings: Settings, spec: ProbeSpec, store: Store, jobs: int = 1, lanes: int = 1
) -> Iterator[list[Prober]]:
    """One prober per lane, each in its own tool worktree (and build directory) whose lock it holds
    while it is used, so two commits can be built and run at once. The worktrees stay, to be
    reused by the next bisect (a resume rebuilds only what changed)."""
    with ExitStack() as stack:
        probers: list[Prober] = []
        for lane in range(max(lanes, 1)):
            name = lane_worktree(lane)
            stack.enter_context(locked(worktree_path(settings, repo, name)))
            if spec.command is not None:
                probers.append(CommandProber(repo, settings, spec, jobs, name))
            else:
                probers.append(MesonProber(repo, settings, spec, store, jobs, name))
        yield probers
