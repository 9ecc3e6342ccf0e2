"""CLI commands: build and test (registered on the shared app)."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from patchtool.build.meson import BuildResult, build_tree, last_configuration
from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, err, out, settings_for
from patchtool.cli.cluster_cmd import (
    ClusterOption,
    ClusterRepoOption,
    FallbackOption,
    cluster_repo,
    open_cluster,
)
from patchtool.cli.progress import progress
from patchtool.config import Settings
from patchtool.errors import ExitCode, InputError, UsageError
from patchtool.store import Store
from patchtool.testrun.measure import Hooks, Measure, measure
from patchtool.testrun.results import TestOutcome, TestStats, ways_lines
from patchtool.testrun.run import RunProgress

RevOption = Annotated[
    str | None, typer.Option("--rev", help="With --repo: the revision to build (default HEAD).")
]
WorktreeOption = Annotated[
    Path | None,
    typer.Option("--worktree", help="Build this directory in place (the build directory stays outside it)."),
]
TargetOption = Annotated[
    list[str] | None, typer.Option("--target", help="Build only this ninja target (repeatable).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")]


@contextmanager
def source_tree(
    settings: Settings, repo: Path | None, rev: str | None, worktree: Path | None
) -> Iterator[Path]:
    """The tree to build: a tool-owned worktree at REV of --repo (locked while used), or a directory."""
    if repo is not None and worktree is not None:
        raise UsageError("--repo and --worktree are exclusive: name one tree to build")
    if rev is not None and repo is None:
        raise UsageError("--rev needs --repo (a --worktree is built as it is on disk)")
    if repo is None:
        path = (worktree or Path.cwd()).resolve()
        if not path.is_dir():
            raise InputError(f"{path}: no such directory")
        yield path
        return
    from patchtool.vcs.repo import GitRepo
    from patchtool.vcs.worktrees import ensure_worktree, locked, worktree_path

    git_repo = GitRepo(repo)
    commit = git_repo.rev_parse(rev or "HEAD")
    if not git_repo.git("cat-file", "-e", f"{commit}:meson.build", check=False).ok:
        # Checked before a tool worktree is registered in the user's repository.
        raise InputError(f"{repo}: no meson.build at {commit[:12]} (not a meson source tree)")
    path = worktree_path(settings, git_repo, "build")
    with locked(path):
        yield ensure_worktree(git_repo, settings, "build", commit)


def configuration(source: Path, settings: Settings, given: list[str] | None) -> list[str]:
    """The configure arguments given, else the ones this tree (or repository) was last built with."""
    return list(given) if given else last_configuration(source, settings)


def _build(
    source: Path, settings: Settings, args: list[str], targets: list[str], store: Store, quiet: bool
) -> BuildResult:
    with progress("build", quiet=quiet) as say:
        return build_tree(source, settings, configure_args=args, targets=targets, store=store, progress=say)


def _commit_label(repo: Path | None, rev: str | None) -> str | None:
    """`REV (commit SHA)` for a build of --repo (its tool worktree's path means nothing to a user)."""
    if repo is None:
        return None
    from patchtool.vcs.repo import GitRepo

    return f"{rev or 'HEAD'} (commit {GitRepo(repo).rev_parse(rev or 'HEAD')[:12]})"


def _print_build(result: BuildResult, label: str | None = None) -> None:
    if result.ok:
        warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
        what = label or result.source_dir
        out.print(
            f"built {what} in {result.duration:.1f}s: {result.steps_run} step(s){warned}",
            markup=False,
        )
    else:
        out.print(f"build failed: {result.first_error}", markup=False)
        for diag in result.errors[1:10]:
            out.print(f"  {diag}", markup=False)
    for diag in result.warnings[:10]:
        out.print(f"  {diag}", markup=False)
    out.print(f"build dir: {result.build_dir}", markup=False)
    out.print(f"log: {result.log_path}", markup=False)


@app.command()
def build(
    configure_args: Annotated[
        list[str] | None, typer.Argument(help="Arguments for configure (or meson setup), after --.")
    ] = None,
    repo: RepoOption = None,
    rev: RevOption = None,
    worktree: WorktreeOption = None,
    target: TargetOption = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Configure (once) and compile a tree with meson and ninja, reusing its build directory.

    Without configure arguments the tree's last configuration is used again. The build directory
    is driven by the ninja it was configured with (the one on PATH), so running `ninja` there
    yourself never forces a full rebuild.

    Example: patchtool build --repo /tmp/pt/world/qemu --rev v10.1.0
    """
    settings = settings_for(repo=repo)
    with Store(settings.store_path) as store, source_tree(settings, repo, rev, worktree) as source:
        args = configuration(source, settings, configure_args)
        result = _build(source, settings, args, list(target or []), store, quiet)
    if as_json:
        emit_json(result)
    else:
        _print_build(result, _commit_label(repo, rev))
    if not result.ok:
        raise typer.Exit(int(ExitCode.VERDICT))


def _stats_json(stats: TestStats) -> dict[str, Any]:
    return {
        "name": stats.name,
        "runs": stats.runs,
        "passes": stats.passes,
        "failures": stats.failures,
        "skips": stats.skips,
        "timeouts": stats.timeouts,
        "failure_rate": stats.failure_rate,
        "interval": list(stats.interval),
        "mean_duration": stats.mean_duration,
        "flaky": stats.flaky,
        "first_failures": list(stats.first_failures),
        "crashes": dict(stats.crashes),
        "failed_ways": [{"ending": way, "runs": n} for way, n in stats.failed_ways],
    }


def _outcome_json(outcome: TestOutcome, build: BuildResult | None) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "interrupted": outcome.interrupted,
        "stopped_early": outcome.stopped_early,
        "from_store": outcome.from_store,
        "setup": outcome.setup,
        "repeat": outcome.repeat,
        "build_dir": str(build.build_dir) if build else None,
        "tests": [_stats_json(t) for t in outcome.tests],
    }


def _verdict(stats: TestStats) -> str:
    if stats.runs == 0:
        return "not run"
    if stats.flaky:
        return "FLAKY"
    if stats.failed_runs:
        return "FAIL"
    return "skipped" if stats.skips == stats.runs else "pass"


def _print_outcome(outcome: TestOutcome) -> None:
    source = " (stored results)" if outcome.from_store else ""
    out.print(f"tests{source}:", markup=False)
    for t in outcome.tests:
        low, high = t.interval
        timeouts = f", {t.timeouts} timeout(s)" if t.timeouts else ""
        skips = f", {t.skips} skipped" if t.skips else ""
        crashed = sum(n for _, n in t.crashes)  # "2 crashed (SIGSEGV)", "3 crashed (2 SIGSEGV, 1 SIGABRT)"
        kinds = ", ".join(name if crashed == n else f"{n} {name}" for name, n in t.crashes)
        crashes = f", {crashed} crashed ({kinds})" if crashed else ""
        out.print(
            f"  {t.name}: {_verdict(t)} — {t.failed_runs}/{t.decided_runs} failed{crashes}{timeouts}{skips}, "
            f"rate {t.failure_rate:.0%} (95% CI {low:.0%}-{high:.0%}), mean {t.mean_duration:.2f}s",
            markup=False,
        )
        _print_ways(t)
        if t.first_failures:
            first = t.first_failures[0].strip().splitlines()[-5:]
            for line in first:
                out.print(f"      | {line}", markup=False)
    if outcome.stopped_early:
        out.print("stopped at the first failure (--until-fail)", markup=False)
    if outcome.interrupted:
        out.print("interrupted: the counts above are what was measured before Ctrl-C", markup=False)


def _print_ways(stats: TestStats) -> None:
    """A test that fails more than one way: how many runs ended each way, for choosing the one a
    bisect should look for (`--fail-match`)."""
    ways = stats.failed_ways
    if len(ways) < 2:
        return
    head = f"      failed {len(ways)} ways (bisect --fail-match REGEX counts one, the rest apart):"
    out.print(head, markup=False)
    for line in ways_lines([(way, n, "") for way, n in ways], " " * 8):
        out.print(line, markup=False)


def _measure(
    source: Path, settings: Settings, store: Store, req: Measure, quiet: bool
) -> tuple[TestOutcome, BuildResult | None]:
    """The one measuring routine, with one progress line for the build and then each test run."""
    with progress("test", quiet=quiet) as say:

        def on_step(line: str) -> None:
            if say is not None:
                say(f"building {line}")

        def on_run(p: RunProgress) -> None:
            if say is not None:
                say(f"{p.runs_done}/{p.runs_total} runs, {p.failures} failed: {p.current}")

        outcome, build = measure(source, settings, store, req, hooks=Hooks(on_step, on_run))
    if build is not None and build.steps_run and not quiet:
        err.print(f"built {source}: {build.steps_run} step(s) in {build.duration:.1f}s", markup=False)
    return outcome, build


def _measure_remote(
    remote: Any,
    settings: Settings,
    store: Store,
    repo: Path | None,
    rev: str | None,
    repo_url: str | None,
    req: Measure,
) -> TestOutcome:
    """The same measurement on the cluster's workers: they clone the repository, not this checkout."""
    from patchtool.cluster.measure import measure_on_cluster
    from patchtool.cluster.spec import TreeSpec
    from patchtool.vcs.repo import GitRepo

    git_repo = GitRepo(repo or Path.cwd())
    commit = git_repo.rev_parse(rev or "HEAD")
    tree = TreeSpec(cluster_repo(settings, repo_url, git_repo.path), commit, req.configure_args)
    with progress("test", quiet=False) as say:

        def on_runs(done: int, total: int) -> None:
            if say is not None:
                say(f"{done}/{total} runs on the cluster: {commit[:12]}")

        return measure_on_cluster(remote, tree, git_repo.tree_of(commit), req, store, on_runs)


def _exit_code(outcome: TestOutcome) -> int:
    if outcome.interrupted:
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.VERDICT) if outcome.failed else int(ExitCode.OK)


@app.command("test")
def test_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Tests to run (default: all of the setup).")
    ] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="Run only this meson test suite.")] = None,
    setup: Annotated[str | None, typer.Option("--setup", help="meson test setup, e.g. thorough.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Run each test N times.")] = 1,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Per-run time limit in seconds (default: the test's).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Tests run in parallel.")] = 1,
    until_fail: Annotated[bool, typer.Option("--until-fail", help="Stop at the first failure.")] = False,
    repo: RepoOption = None,
    rev: RevOption = None,
    worktree: WorktreeOption = None,
    configure: Annotated[
        str | None,
        typer.Option(
            "--configure", help="Configure arguments, as one string, e.g. '--target-list=alpha-softmmu'."
        ),
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Run again even when results are stored.")] = False,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
    cluster: ClusterOption = None,
    cluster_fallback: FallbackOption = "fail",
    cluster_repo_url: ClusterRepoOption = None,
) -> None:
    """Build if needed, run meson tests repeatedly and report each test's failure rate.

    A test that fails more than one way lists how many runs ended each way (its last line, and
    the signal that ended it), to choose what a bisect's --fail-match should look for.

    Example: patchtool test func-alpha-replay --setup thorough --repeat 4 --repo /tmp/pt/world/qemu
    """
    settings = settings_for(repo=repo)
    req = Measure(
        names=tuple(names or ()), setup=setup, suite=suite, repeat=repeat, timeout=timeout, jobs=jobs,
        until_fail=until_fail, fresh=fresh,
    )  # fmt: skip
    given = shlex.split(configure) if configure is not None else None
    with Store(settings.store_path) as store, open_cluster(settings, cluster, cluster_fallback) as remote:
        if remote is not None:
            req = dataclasses.replace(req, configure_args=tuple(given or ()))
            outcome, build = _measure_remote(remote, settings, store, repo, rev, cluster_repo_url, req), None
        else:
            with source_tree(settings, repo, rev, worktree) as source:
                req = dataclasses.replace(req, configure_args=tuple(configuration(source, settings, given)))
                outcome, build = _measure(source, settings, store, req, quiet)
    if build is not None and not build.ok:
        if as_json:
            emit_json({"ok": False, "build": build, "tests": []})
        else:
            _print_build(build)
        raise typer.Exit(int(ExitCode.VERDICT))
    if not outcome.tests and not outcome.interrupted:
        raise InputError("no tests ran: none selected by these names, suite and setup")
    if as_json:
        emit_json(_outcome_json(outcome, build))
    else:
        _print_outcome(outcome)
    code = _exit_code(outcome)
    if code:
        raise typer.Exit(code)
