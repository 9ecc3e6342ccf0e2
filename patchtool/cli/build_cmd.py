"""CLI commands: build and test (registered on the shared app)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from patchtool.build.meson import BuildResult, build_tree, config_key, tree_id_of
from patchtool.cli.app import JsonOption, RepoOption, app, emit_json, err, out, settings_for
from patchtool.cli.cluster_cmd import (
    ClusterOption,
    ClusterRepoOption,
    FallbackOption,
    cluster_repo,
    open_cluster,
)
from patchtool.config import Settings
from patchtool.errors import ExitCode, InputError, UsageError
from patchtool.store import Store
from patchtool.testrun.results import TestOutcome, TestStats, forget_runs, record_runs, stored_outcome
from patchtool.testrun.run import RunProgress, run_tests

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
    path = worktree_path(settings, git_repo, "build")
    with locked(path):
        yield ensure_worktree(git_repo, settings, "build", commit)


@contextmanager
def _progress_display(label: str) -> Iterator[Callable[[str, int | None, int | None], None] | None]:
    """A rich progress bar on stderr, only when stderr is a terminal."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(text: str, done: int | None = None, total: int | None = None) -> None:
            bar.update(task, description=text[:80], completed=done, total=total)

        yield update


def _build(
    source: Path,
    settings: Settings,
    args: list[str],
    targets: list[str],
    store: Store,
    tree_id: str | None = None,
) -> BuildResult:
    with _progress_display("building") as show:

        def on_step(line: str) -> None:
            if show is None:
                return
            head, _, desc = line.partition("] ")
            done, _, total = head.lstrip("[").partition("/")
            ok = done.isdigit() and total.isdigit()
            show(desc or line, int(done) if ok else None, int(total) if ok else None)

        return build_tree(
            source,
            settings,
            configure_args=args,
            targets=targets,
            store=store,
            progress=on_step,
            tree_id=tree_id,
        )


def _print_build(result: BuildResult) -> None:
    if result.ok:
        warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
        out.print(
            f"built {result.source_dir} in {result.duration:.1f}s: {result.steps_run} step(s){warned}",
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
    as_json: JsonOption = False,
) -> None:
    """Configure (once) and compile a tree with meson and ninja, reusing its build directory.

    Example: patchtool build --repo ~/src/qemu --rev v10.1.0 -- --target-list=alpha-softmmu
    """
    settings = settings_for(repo=repo)
    with Store(settings.store_path) as store, source_tree(settings, repo, rev, worktree) as source:
        result = _build(source, settings, list(configure_args or []), list(target or []), store)
    if as_json:
        emit_json(result)
    else:
        _print_build(result)
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
        out.print(
            f"  {t.name}: {_verdict(t)} — {t.failed_runs}/{t.decided_runs} failed{timeouts}{skips}, "
            f"rate {t.failure_rate:.0%} (95% CI {low:.0%}-{high:.0%}), mean {t.mean_duration:.2f}s",
            markup=False,
        )
        if t.first_failures:
            first = t.first_failures[0].strip().splitlines()[-5:]
            for line in first:
                out.print(f"      | {line}", markup=False)
    if outcome.stopped_early:
        out.print("stopped at the first failure (--until-fail)", markup=False)
    if outcome.interrupted:
        out.print("interrupted: the counts above are what was measured before Ctrl-C", markup=False)


def _run(build: BuildResult, names: list[str], opts: dict[str, Any], repeat: int) -> TestOutcome:
    with _progress_display("testing") as show:

        def on_run(p: RunProgress) -> None:
            if show is not None:
                show(f"{p.current}  [{p.failures} failed]", p.runs_done, p.runs_total)

        return run_tests(build.build_dir, names=names, repeat=repeat, progress=on_run, **opts)


def _measure(
    source: Path,
    settings: Settings,
    store: Store,
    names: list[str],
    opts: dict[str, Any],
    plan: dict[str, Any],
) -> tuple[TestOutcome, BuildResult | None]:
    """Reuse stored runs of this tree when there are enough; else build, run what is missing, store."""
    key = config_key(plan["configure_args"])
    tree_id = tree_id_of(source)
    setup, repeat = opts["setup"], plan["repeat"]
    reusable = bool(tree_id and names and not plan["fresh"] and not opts["until_fail"] and not opts["suite"])
    have = stored_outcome(store, tree_id, key, names, setup) if reusable and tree_id else None
    done = min((t.runs for t in have.tests), default=0) if have else 0
    if have and done >= repeat:
        return have, None
    build = _build(source, settings, plan["configure_args"], [], store, tree_id)
    if build.steps_run:
        err.print(f"built {source}: {build.steps_run} step(s) in {build.duration:.1f}s", markup=False)
    if not build.ok:
        return TestOutcome(build_dir=build.build_dir, tests=()), build
    fresh = _run(build, names, opts, repeat - done)
    if tree_id:
        if plan["fresh"]:
            forget_runs(store, tree_id, key, setup, [t.name for t in fresh.tests])
        record_runs(store, tree_id, key, setup, fresh.records)
    if not have or tree_id is None:
        return fresh, build
    combined = stored_outcome(store, tree_id, key, names, setup) or fresh
    merged = TestOutcome(
        build_dir=build.build_dir,
        tests=combined.tests,
        setup=setup,
        repeat=repeat,
        interrupted=fresh.interrupted,
        stopped_early=fresh.stopped_early,
        duration=fresh.duration,
        records=combined.records,
    )
    return merged, build


def _measure_remote(
    remote: Any,
    settings: Settings,
    store: Store,
    repo: Path | None,
    rev: str | None,
    repo_url: str | None,
    names: list[str],
    opts: dict[str, Any],
    plan: dict[str, Any],
) -> TestOutcome:
    """The same measurement on the cluster's workers: they clone the repository, not this checkout."""
    from patchtool.cluster.measure import measure_on_cluster
    from patchtool.cluster.spec import TreeSpec
    from patchtool.vcs.repo import GitRepo

    if opts["until_fail"] or opts["suite"]:
        raise UsageError("--cluster runs named tests; --until-fail and --suite run here only")
    git_repo = GitRepo(repo or Path.cwd())
    commit = git_repo.rev_parse(rev or "HEAD")
    tree = TreeSpec(cluster_repo(settings, repo_url, git_repo.path), commit, tuple(plan["configure_args"]))
    with _progress_display("testing on the cluster") as show:

        def on_runs(done: int, total: int) -> None:
            if show is not None:
                show(f"{commit[:12]}", done, total)

        return measure_on_cluster(remote, tree, git_repo.tree_of(commit), names, plan["repeat"], store,
                                  setup=opts["setup"], timeout=opts["timeout"], fresh=plan["fresh"],
                                  progress=on_runs)


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
    as_json: JsonOption = False,
    cluster: ClusterOption = None,
    cluster_fallback: FallbackOption = "fail",
    cluster_repo_url: ClusterRepoOption = None,
) -> None:
    """Build if needed, run meson tests repeatedly and report each test's failure rate.

    Example: patchtool test func-alpha-replay --setup thorough --repeat 20 --repo ~/src/qemu
    """
    settings = settings_for(repo=repo)
    opts = {"suite": suite, "setup": setup, "timeout": timeout, "jobs": jobs, "until_fail": until_fail}
    plan = {"configure_args": shlex.split(configure or ""), "repeat": repeat, "fresh": fresh}
    with Store(settings.store_path) as store, open_cluster(settings, cluster, cluster_fallback) as remote:
        if remote is not None:
            outcome, build = _measure_remote(remote, settings, store, repo, rev, cluster_repo_url,
                                             list(names or []), opts, plan), None
        else:
            with source_tree(settings, repo, rev, worktree) as source:
                outcome, build = _measure(source, settings, store, list(names or []), opts, plan)
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
