"""Run the stages a report asks for (fetch, parse, checks, apply; build and test when asked), reusing
stored results, and collect them into a ReportContext."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from patchtool.bisection.classify import Classifier
from patchtool.config import Settings, jobs_setting
from patchtool.errors import EnvironmentProblem, GitError, VerdictError
from patchtool.jsonable import record
from patchtool.models import RawThread, Series
from patchtool.report.context import build_context
from patchtool.report.records import ReportContext
from patchtool.review.checks import CheckResult, run_checks
from patchtool.review.pull_cache import link_cached_postings
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

if TYPE_CHECKING:
    from patchtool.vcs.trees import ObjectStore

Progress = Callable[[str], None]
# The reason of a stage that the environment kept from running (a missing dependency, a broken
# compiler): the report is still written, and the exit code says "environment" (3).
COULD_NOT_RUN = "could not run: "
BUILD_WORKTREE = "build"  # the tool worktree every build of a repository happens in (bisect has its own)


def environment_blocked(ctx: ReportContext) -> bool:
    """A stage could not run because of the environment (not because it was not asked for)."""
    return any(s.state == "not run" and s.detail.startswith(COULD_NOT_RUN) for s in ctx.stages)


@record
class ReportRequest:
    """What the user asked `patchtool report` for."""

    source: str
    repo: Path | None = None
    base: str | None = None
    revision: int | None = None
    build: bool = False
    tests: tuple[str, ...] = ()
    setup: str | None = None
    repeat: int = 1
    configure_args: tuple[str, ...] = ()
    checkpatch: bool = True
    bisect_test: str | None = None  # the test whose stored bisect result to show (default: the first test)
    # How that bisect classified its runs (--fail-match, --pass-match, --timeout-as): part of its key.
    bisect_match: Classifier = field(default_factory=Classifier)
    local: bool = False  # a report for the user only: may name local paths (log files, mbox paths)


@dataclass
class _Stages:
    apply: Any = None
    build: Any = None
    build_reused: bool = False
    tests: Any = None
    bisect: Any = None
    series: Series | None = None  # the series once applied, its C functions read off whole files
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # stages that gave a negative verdict early


def run_report(
    req: ReportRequest,
    settings: Settings,
    *,
    stdin: BinaryIO | None = None,
    progress: Progress | None = None,
    raw: RawThread | None = None,
) -> ReportContext:
    """Fetch and parse the series, then run the stages asked for; each missing stage shows as not run.

    `raw` is the thread when the caller already has it (a cluster worker gets the mail, not a source).
    """
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series

    say = progress or (lambda _text: None)
    if raw is None:
        say("fetching the series")
        raw = resolve_source(req.source, settings, repo=req.repo, stdin=stdin)
    series = link_cached_postings(build_series(raw, revision=req.revision), settings.store_path)
    stages = _Stages()
    repo = GitRepo(req.repo) if req.repo is not None else None
    checks = _checks_and_apply(req, settings, series, repo, stages, say)
    series = stages.series or series  # with the functions the applied files say it changes
    if repo is not None and stages.apply is not None:
        _build_and_test(req, settings, repo, stages, say)
    if repo is not None:
        stages.bisect = _stored_bisect(settings, repo, req)
    _explain_skips(req, repo, stages)
    return build_context(
        series,
        checks,
        raw=raw,
        apply=stages.apply,
        build=stages.build,
        build_reused=stages.build_reused,
        tests=stages.tests,
        bisect=stages.bisect,
        skipped=stages.skipped,
        failed=stages.failed,
        reply_from=git_identity(req.repo),
        local=req.local,
    )


def git_identity(repo: Path | None) -> str:
    """`Name <email>` from git config (the repository's, else the global one), or "" when unset."""
    from patchtool.vcs.gitcmd import config_values

    values = config_values(repo if repo is not None else Path.cwd(), r"^user\.(name|email)$")
    name, email = values.get("user.name", "").strip(), values.get("user.email", "").strip()
    if not email:
        return ""
    return f"{name} <{email}>" if name else email


def _checks_and_apply(
    req: ReportRequest,
    settings: Settings,
    series: Series,
    repo: GitRepo | None,
    stages: _Stages,
    say: Progress,
) -> CheckResult:
    base: str | None = None
    if repo is not None:
        stages.apply = _apply(req, settings, series, repo, stages, say)
        # Without an applied result the checks still read the tree at --base or HEAD.
        base = stages.apply.base if stages.apply is not None else repo.try_rev_parse(req.base or "HEAD")
    if stages.apply is not None:
        series = exact_functions(series, repo, stages.apply)
        stages.series = series
    say("running the checks")
    return run_checks(
        series,
        repo=repo,
        base=base,
        stubs=settings["stubs"],
        checkpatch=req.checkpatch,
        checkpatch_timeout=float(settings["checkpatch_timeout"]),
        checkpatch_jobs=jobs_setting(settings["checkpatch_jobs"]),
    )


def exact_functions(series: Series, repo: GitRepo | None, applied: Any) -> Series:
    """The series with each applied patch's C functions completed from the files before and after
    its commit (parse.cwhole): a hunk git headed with a label, or with nothing, names no function."""
    from patchtool.parse.cfuncs import C_SUFFIXES
    from patchtool.parse.cmoves import pair_across_files
    from patchtool.parse.cwhole import refine
    from patchtool.vcs.trees import ObjectStore

    if repo is None:
        return series
    commits = {o.index: o.commit for o in applied.patches if o.commit and o.status != "skipped"}
    patches = []
    with ObjectStore(repo) as store:  # one `git cat-file --batch` reads every file, not a process each
        for patch in series.revision.patches:
            functions, commit = patch.summary.functions, commits.get(patch.index)
            for change in patch.summary.files if commit else ():
                if (
                    change.path.endswith(C_SUFFIXES)
                    and change.status not in ("added", "removed")
                    and not change.binary
                ):
                    before = _file_at(store, f"{commit}^", change.old_path or change.path)
                    after = _file_at(store, f"{commit}", change.path)
                    if before is not None and after is not None:
                        functions = refine(change.path, before, after, functions)
            functions = pair_across_files(functions)  # refine reads one file: a move's source again
            summary = dataclasses.replace(patch.summary, functions=functions)
            patches.append(
                dataclasses.replace(patch, summary=summary) if functions != patch.summary.functions else patch
            )
    revision = dataclasses.replace(series.revision, patches=tuple(patches))
    revisions = tuple(revision if r.number == series.chosen else r for r in series.revisions)
    return dataclasses.replace(series, revisions=revisions)


def _file_at(store: ObjectStore, commit: str, path: str) -> bytes | None:
    """The file at `commit:path` (None when it is not a file there), read by the store's running
    `git cat-file --batch`, which takes one name per line: a path holding a line break is shown
    by its own `git show`."""
    if "\n" in path:
        done = store.repo.git("show", f"{commit}:{path}", check=False)
        return done.stdout if done.ok else None
    try:
        kind, body = store.read(f"{commit}:{path}")
    except GitError:
        return None
    return body if kind == "blob" else None


def _apply(
    req: ReportRequest, settings: Settings, series: Series, repo: GitRepo, stages: _Stages, say: Progress
) -> Any:
    """Apply the series; an incomplete series or a refused apply is a failed stage, not an abort."""
    from patchtool.apply.engine import apply_series

    rev = series.revision
    if rev.missing:
        missing = ", ".join(f"{i}/{rev.total}" for i in rev.missing)
        stages.failed["apply"] = f"the series is incomplete (missing {missing})"
        return None
    say("applying the series")
    try:
        return apply_series(repo, series, settings, base=req.base)
    except VerdictError as e:
        stages.failed["apply"] = e.message
        return None


def _build_and_test(
    req: ReportRequest, settings: Settings, repo: GitRepo, stages: _Stages, say: Progress
) -> None:
    if not (req.build or req.tests):
        return
    from patchtool.apply.engine import ALREADY_IN_BASE

    if stages.apply.head is None or stages.apply.status in ("conflict", ALREADY_IN_BASE):
        already = stages.apply.status == ALREADY_IN_BASE
        why = "the series is already in the base: nothing to build" if already else "the series did not apply"
        stages.skipped["build"] = stages.skipped["test"] = why
        return
    from patchtool.build.meson import last_configuration
    from patchtool.vcs.worktrees import ensure_worktree, locked, worktree_path

    # The same tool worktree as `build --repo` and `test --repo`: one build directory per
    # repository and configuration, so a report after a build recompiles only what the series changed.
    try:
        with locked(worktree_path(settings, repo, BUILD_WORKTREE)):
            tree = ensure_worktree(repo, settings, BUILD_WORKTREE, stages.apply.head)
            args = tuple(req.configure_args) or tuple(last_configuration(tree, settings))
            with Store(settings.store_path) as store:
                _build_then_measure(tree, settings, store, args, req, stages, say)
    except EnvironmentProblem as e:
        reason = COULD_NOT_RUN + e.message
        if stages.build is None:
            stages.skipped["build"] = reason
        if req.tests:
            stages.skipped["test"] = reason


def _build_then_measure(
    tree: Path,
    settings: Settings,
    store: Store,
    args: tuple[str, ...],
    req: ReportRequest,
    stages: _Stages,
    say: Progress,
) -> None:
    """A full build (the report's build verdict; test names checked first), then the tests."""
    from patchtool.build.meson import build_tree
    from patchtool.testrun.measure import Measure, measure
    from patchtool.testrun.selection import plan_for_tests

    check = plan_for_tests(req.tests, req.setup) if req.tests else None

    def checked_full_build(build_dir: Path) -> list[str]:
        if check is not None:
            check(build_dir)  # a typo in a test name stops here, before anything is compiled
        return []

    say("building")
    stages.build = build_tree(
        tree, settings, configure_args=args, store=store, targets_for=checked_full_build
    )
    if not req.tests:
        return
    if not stages.build.ok:
        stages.skipped["test"] = "the build failed"
        return
    say(f"running {', '.join(req.tests)} x{req.repeat}")
    wanted = Measure(names=req.tests, setup=req.setup, repeat=req.repeat, configure_args=args)
    stages.tests, _ = measure(tree, settings, store, wanted, built=stages.build)


def _stored_bisect(settings: Settings, repo: GitRepo, req: ReportRequest) -> Any:
    """A bisect result stored for this repository and test (the first --test, or --bisect-test)."""
    test = req.bisect_test or (req.tests[0] if req.tests else None)
    if test is None:
        return None
    from patchtool.build.meson import last_configuration
    from patchtool.report.stages import load_stored_bisect

    # The same default as `patchtool bisect --test`: the configuration the repository was last built with.
    args = tuple(req.configure_args) or tuple(last_configuration(repo.path, settings))
    with Store(settings.store_path) as store:
        return load_stored_bisect(store, repo, test, req.setup, args, req.bisect_match)


def _explain_skips(req: ReportRequest, repo: GitRepo | None, stages: _Stages) -> None:
    if repo is None:
        for name in ("apply", "build", "test"):
            stages.skipped.setdefault(name, "no repository (use --repo)")
        return
    if stages.apply is None:
        for name in ("build", "test"):
            stages.skipped.setdefault(name, "the series was not applied")
    if not req.build and not req.tests:
        stages.skipped.setdefault("build", "not asked (use --build)")
    if not req.tests:
        stages.skipped.setdefault("test", "not asked (use --test NAMES)")
