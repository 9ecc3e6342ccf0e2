"""CLI commands: bisect (registered on the shared app)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from patchtool.bisection.classify import Classifier, TimeoutAs
from patchtool.bisection.driver import run_bisect
from patchtool.bisection.earlier import EarlierRuns, earlier_runs
from patchtool.bisection.fixes import fix_line
from patchtool.bisection.fixrun import run_fix_search
from patchtool.bisection.model import Strategy
from patchtool.bisection.options import BisectOptions
from patchtool.bisection.probe import Prober, ProbeSpec, probers_for
from patchtool.bisection.ranges import bounding_goods, skipped_commits
from patchtool.bisection.records import without
from patchtool.bisection.replay import forget_rows
from patchtool.bisection.summary import Progress
from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, err, settings_for
from patchtool.cli.bisect_words import print_report
from patchtool.cli.cluster_cmd import (
    ClusterOption,
    ClusterRepoOption,
    FallbackOption,
    cluster_repo,
    open_cluster,
)
from patchtool.cli.progress import progress
from patchtool.config import Settings
from patchtool.errors import ExitCode, UsageError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

_RECORD = re.compile(r"(\d{1,9})/(\d{1,9})")


def _record(option: str, value: str | None) -> tuple[int, int]:
    """--bad-record / --good-record F/R: F failures in R runs, known before the search."""
    if value is None:
        return 0, 0
    match = _RECORD.fullmatch(value.strip())
    if match is None:
        raise UsageError(f"{option} {value!r}: expected FAILURES/RUNS, e.g. 3/20")
    fails, runs = int(match[1]), int(match[2])
    if fails > runs:
        raise UsageError(f"{option} {value}: {fails} failures in only {runs} runs")
    return fails, runs


@contextmanager
def _live() -> Iterator[Callable[[Progress], None]]:
    """The search's state on stderr (best candidate, probability, effort, the steps under way): a
    live status on a terminal; elsewhere plain lines (cli.progress) from the first build or run
    on, one at once whenever the steps under way change and the newest every few seconds, so a
    CI log shows an hours-long bisect advancing and what it is building or testing now."""

    def parts(p: Progress) -> tuple[str, str | None]:
        doing = "".join(f"  {step.what} {step.sha[:12]}" for step in p.under_way)
        best = f"best {p.top.sha[:12]} P={p.probability:.3f}  runs {p.runs}  builds {p.builds}"
        return best + doing, doing or None  # between runs nothing is under way: no new step

    if not err.is_terminal:
        with progress("bisect") as say:

            def show(p: Progress) -> None:
                # nothing before the first build or run: a bad --test or --configure is found
                # while the first commit is prepared, and its error stays the only line
                if say is not None and (p.runs or p.builds):
                    say(*parts(p))

            yield show
        return
    with err.status("bisect: starting") as status:
        yield lambda p: status.update(f"bisect: {parts(p)[0]}")


def _ends(
    good: list[str] | None, bad: str | None, broken: str | None, fixed: str | None
) -> tuple[list[str], str, bool]:
    """The search's good commits and bad one, and whether it looks for a fix (--broken, --fixed:
    the fixed commit is then its good end, the broken one its bad end)."""
    if broken is None and fixed is None:
        if not good or bad is None:
            raise UsageError("name --good and --bad (find the regression), or --broken and --fixed (the fix)")
        return good, bad, False
    if good or bad is not None:
        raise UsageError("--broken/--fixed (find the fix) or --good/--bad (find the regression): not both")
    if broken is None or fixed is None:
        raise UsageError("--broken and --fixed go together: where the test fails, and later where it passes")
    return [fixed], broken, True


def _fix_ends(repo: GitRepo, fixed: str, broken: str, bad_record: tuple[int, int]) -> tuple[str, str]:
    """The fixed end and the broken end a fix search runs (fixes.fix_line). The broken end is where
    --fixed's line meets --broken's history: a --bad-record is of that commit only when --broken is
    it (off the line, the failure may be its branch's own, and the broken end must show it)."""
    line = fix_line(repo, broken, fixed)[0]
    if bad_record[1] and line[-1] != repo.rev_parse(broken):
        raise UsageError(
            f"--bad-record: {broken} is not on {fixed}'s first-parent line; the search's broken end is"
            f" {line[-1][:12]} (where the line meets its history): give that commit's record"
        )
    return line[0], line[-1]


@contextmanager
def _prober(
    remote: Any, repo: GitRepo, settings: Settings, spec: ProbeSpec, store: Store, jobs: int, url: str | None
) -> Iterator[tuple[list[Prober], int]]:
    """Probe here (in the bisect worktrees: a second one with --jobs 2 or more, so two commits can
    be under way) or on the cluster's workers, and how many runs go at once."""
    if remote is None:
        with probers_for(repo, settings, spec, store, jobs, lanes=2 if jobs > 1 else 1) as probers:
            yield probers, jobs
        return
    from patchtool.cluster.prober import ClusterProber

    program = shlex.split(spec.command)[:1] if spec.command is not None else []
    if program and program[0].startswith("/"):
        raise UsageError(
            "--run with --cluster: an absolute path names this machine's file; "
            "use a script of the tree (./t.sh) or a command on the workers' PATH"
        )
    remote_prober = ClusterProber(remote, cluster_repo(settings, url, repo.path), spec)
    yield [remote_prober], max(jobs, remote_prober.width)


@app.command()
def bisect(
    good: Annotated[
        list[str] | None,
        typer.Option("--good", help="A commit where the test passes (repeat: git bisect good A B)."),
    ] = None,
    bad: Annotated[
        str | None, typer.Option("--bad", help="A commit where the test fails (sometimes).")
    ] = None,
    broken: Annotated[
        str | None,
        typer.Option("--broken", metavar="REV", help="Find the fix: a commit where the test fails."),
    ] = None,
    fixed: Annotated[
        str | None,
        typer.Option("--fixed", metavar="REV", help="Find the fix: a later commit where the test passes."),
    ] = None,
    test: Annotated[str | None, typer.Option("--test", help="The meson test to run at each commit.")] = None,
    setup: Annotated[str | None, typer.Option("--setup", help="meson test setup, e.g. thorough.")] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="A command run in the probed commit's tree (git bisect run exit codes)."),
    ] = None,
    repo: RepoOption = None,
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="Stop at this posterior probability.")
    ] = 0.99,
    first_parent: Annotated[
        bool, typer.Option("--first-parent", help="Follow only first parents (a merge can be the culprit).")
    ] = False,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Budget of test runs (usable or not).")
    ] = None,
    max_time: Annotated[
        float | None, typer.Option("--max-time", min=1, help="Budget in seconds (this invocation).")
    ] = None,
    configure: Annotated[
        str | None, typer.Option("--configure", help="With --test: configure arguments, as one string.")
    ] = None,
    fail_match: Annotated[
        str | None,
        typer.Option(
            "--fail-match",
            metavar="REGEX",
            help="Count a failure only when its output (and the signal that ended it, if any) matches.",
        ),
    ] = None,
    pass_match: Annotated[
        str | None,
        typer.Option("--pass-match", metavar="REGEX", help="Count a pass only when its output matches."),
    ] = None,
    timeout_as: Annotated[
        TimeoutAs,
        typer.Option(
            "--timeout-as", metavar="fail|skip|inconclusive", help="What a timed-out run counts as."
        ),
    ] = TimeoutAs.FAIL,
    bad_record: Annotated[
        str | None,
        typer.Option(
            "--bad-record",
            metavar="F/R",
            help="The test failed F of R runs at the bad end before (CI): p known sooner, no calibration.",
        ),
    ] = None,
    good_record: Annotated[
        str | None,
        typer.Option(
            "--good-record",
            metavar="F/R",
            help="The test failed F of R runs on commits known good (CI before the regression): q sooner.",
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            metavar="REV",
            help="A commit not to build or test, or a range A..B of them (git bisect skip); repeatable.",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, max=256, help="Test runs at once.")] = 1,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Forget the stored observations of this probe and start over (nor count what"
            " patchtool test stored in the range).",
        ),
    ] = False,
    revert_test: Annotated[
        bool,
        typer.Option(
            "--revert-test/--no-revert-test",
            help="Then test the bad commit with the culprit reverted (one more build); --fixed, the fix.",
        ),
    ] = True,
    as_json: JsonOption = False,
    cluster: ClusterOption = None,
    cluster_fallback: FallbackOption = "fail",
    cluster_repo_url: ClusterRepoOption = None,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="-- PATH...",
            help="Search only the commits that change these paths (git bisect start -- PATH...); in a"
            " fix search, the line's commits that change them against their first parent.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Find the commit that made a test fail (even flakily), with a stated confidence.

    Runs the test once per probe, repeating on the same commit until it is resolved (sticky
    Bayesian bisection); builds each probed commit in patchtool's own worktree. Every run is
    stored: re-running the same command after an interruption resumes.

    Example: patchtool bisect --good v10.0.0 --bad main --test func-alpha-replay --setup thorough
    --repo /tmp/pt/world/qemu

    Several --good commits take the ancestors of each out of the search, as git bisect good A B
    does (a branch known good that was merged in, say). --skip REV or --skip A..B names commits
    known not to build or test for another reason (git bisect skip): they are never built, no run
    stored for them counts, and when the culprit is among them the range of them is reported.

    Paths after -- limit the search to the commits that change them, as git bisect start -- PATH
    does: patchtool bisect --good v10.0.0 --bad master --test func-alpha-replay -- hw/alpha
    target/alpha. The bad end is tested whether it changes them or not.

    What CI already knows of the test saves runs: --good-record 0/300 (300 clean runs on master
    before the regression) tells that good commits rarely fail, --bad-record 7/20 how often the
    bad end fails. They are taken as runs of this test in this environment: one the search's own
    runs contradict (Fisher's exact test) is set aside as soon as they do, and said.

    With --test, the runs patchtool test stored at the bad end and at the good commits (same
    test, setup and configuration, on the commit's own tree) count the same way, and those stored
    at commits between them as runs made there, read with --fail-match and --pass-match as the
    bisect's own (not with --fresh).

    A run a signal ended reads, after its output, as meson says it: "killed by signal 11 SIGSEGV".
    --fail-match 'signal 11' counts only a test's crashes, even those with no error message;
    other failures are counted apart, and the words show how the newest of those ended.
    patchtool test NAME --rev BAD --repeat 20 lists the ways a test fails, to choose the pattern.

    The bisect lists the ways its own failed runs ended too (--json: failed_ways), with how many
    were on commits it holds good: a way seen there is not the regression's, and a --fail-match
    that leaves it out counts it apart.

    --broken and --fixed, instead of --bad and --good, find the commit that fixed the test (git bisect
    --term-old broken --term-new fixed), as a backport needs: patchtool bisect --broken v9.2.3
    --fixed master --test func-alpha-replay. It follows --fixed's first parents, and searches a
    merge it names inside; the revert test reverts the fix on --fixed (it should fail again).
    """
    good, bad, fix = _ends(good, bad, broken, fixed)
    if (test is None) == (run is None):
        raise UsageError("name exactly one of --test NAME or --run CMD")
    if setup is not None and test is None:
        raise UsageError("--setup goes with --test")
    if configure is not None and test is None:
        raise UsageError("--configure goes with --test")
    records = _record("--bad-record", bad_record), _record("--good-record", good_record)
    if records[0][0] == 0 and records[0][1] >= Strategy().calibration_max_runs:
        raise UsageError(
            f"--bad-record {bad_record}: the test never failed in those runs at the bad end, so there"
            " is no failure to bisect"
        )
    settings = settings_for(repo=repo)
    git_repo = GitRepo(repo or Path.cwd())
    classifier = Classifier(fail_match, pass_match, timeout_as)
    from patchtool.build.meson import last_configuration

    # Like build and test: without --configure, the configuration the repository was last built with.
    args = shlex.split(configure) if configure is not None else last_configuration(git_repo.path, settings)
    spec = ProbeSpec(
        test=test,
        setup=setup,
        command=run,
        configure_args=tuple(args) if test else (),
        classifier=classifier,
    )
    skipped = skipped_commits(git_repo, skip or [], [*good, bad])  # one line, before any build
    fix_ends = _fix_ends(git_repo, good[0], bad, records[0]) if fix else None
    if test:  # the newest end: configured when an older commit does not (MesonProber.prepare)
        spec = replace(spec, tip=fix_ends[0] if fix_ends else git_repo.rev_parse(bad))
    with (
        Store(settings.store_path) as store,
        open_cluster(settings, cluster, cluster_fallback) as remote,
        _prober(remote, git_repo, settings, spec, store, jobs, cluster_repo_url) as (probers, width),
        _live() as live,
    ):
        if fresh:
            forget_rows(store, spec.key())
        # what `patchtool test` stored at the ends counts as their record (bisection.earlier), at
        # the good commits that bound the range, as the stored bisect's replay counts them (a fix
        # search's: at the ends of the line it searches)
        before = EarlierRuns()
        if not fresh:
            if fix_ends is not None:
                before = earlier_runs(store, git_repo, spec, fix_ends[1], [fix_ends[0]])
            else:
                before = earlier_runs(store, git_repo, spec, bad, bounding_goods(git_repo, good, bad))
        records = before.added_to(*records)
        options = BisectOptions(
            good[0], bad, first_parent or fix, confidence, max_runs, max_time, width,
            revert_test, tuple(good[1:]), *records,
            count_tested=not fresh, tested_ends=before.ends, skip=skipped, paths=tuple(paths or ()), fix=fix,
        )  # fmt: skip
        if fix:
            report = run_fix_search(git_repo, store, spec, options, probers, live, settings)
        else:
            report = run_bisect(git_repo, store, spec, options, probers, live, settings)
        # a record set aside is not counted, nor said as counted
        report = replace(report, tested_before=without(before.bad, before.good, report.records_against))
    if as_json:
        emit_json(report)
    elif report.runs == 0 and report.unusable_runs == 0:
        # No posterior from zero runs: every probed commit was untestable. The newest build
        # failure says why, as `patchtool build` would.
        built = report.build_failure
        why = f"; {built.commit[:12]}: build failed: {built.first_error} (log: {built.log})" if built else ""
        said = "bisect: no test ran (every probed commit could not be built or tested)"
        err.print(f"{said}{why}", markup=False)
        raise typer.Exit(int(ExitCode.ENVIRONMENT))
    else:
        print_report(report)
    if not report.found:
        raise typer.Exit(int(ExitCode.VERDICT))
