"""The one routine that measures tests on a tree with the stored runs: reuse what the store holds
for this tree and configuration, build only what the tests need, run only the missing repetitions,
store them. The test command, the report pipeline and bisect's probes all go through here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from patchtool.build.meson import BuildResult, build_tree, config_key, tree_id_of
from patchtool.config import Settings
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import TestOutcome, forget_runs, record_runs, stored_outcome
from patchtool.testrun.run import RunProgress, run_tests
from patchtool.testrun.selection import plan_for_tests


@record
class Measure:
    """Which tests to measure, how often, and in which configuration."""

    names: tuple[str, ...] = ()
    setup: str | None = None
    suite: str | None = None
    repeat: int = 1
    timeout: float | None = None
    jobs: int = 1
    until_fail: bool = False
    fresh: bool = False  # forget stored runs and measure again
    configure_args: tuple[str, ...] = ()


@record
class Hooks:
    """Progress callbacks: build steps (ninja lines) and test runs."""

    build: Callable[[str], None] | None = None
    run: Callable[[RunProgress], None] | None = None


def _reusable(req: Measure) -> bool:
    return bool(req.names and not req.fresh and not req.until_fail and not req.suite)


def stored_progress(store: Store, tree_id: str | None, req: Measure) -> tuple[TestOutcome | None, int]:
    """What the store holds for this tree and request, and how many repetitions that covers."""
    if not tree_id or not _reusable(req):
        return None, 0
    have = stored_outcome(store, tree_id, config_key(req.configure_args), req.names, req.setup)
    return have, min((t.runs for t in have.tests), default=0) if have else 0


def build_for_tests(
    source: Path, settings: Settings, store: Store, req: Measure, tree_id: str | None, hooks: Hooks
) -> BuildResult:
    """Configure if needed, check names and setup, then build only the targets the tests need."""
    return build_tree(
        source,
        settings,
        configure_args=req.configure_args,
        store=store,
        progress=hooks.build,
        tree_id=tree_id,
        targets_for=plan_for_tests(req.names, req.setup),
    )


def measure(
    source: Path,
    settings: Settings,
    store: Store,
    req: Measure,
    *,
    hooks: Hooks = Hooks(),
    built: BuildResult | None = None,
) -> tuple[TestOutcome, BuildResult | None]:
    """Stored runs when there are enough; else build (unless `built`), run what is missing, store.

    The build result is None when nothing had to be built; a failed build comes back with an
    outcome that has no tests.
    """
    key = config_key(req.configure_args)
    tree_id = built.tree_id if built is not None and built.tree_id else tree_id_of(source)
    have, done = stored_progress(store, tree_id, req)
    if have is not None and done >= req.repeat:
        return have, None
    build = built or build_for_tests(source, settings, store, req, tree_id, hooks)
    if not build.ok:
        return TestOutcome(build_dir=build.build_dir, tests=()), build
    fresh = run_tests(
        build.build_dir, names=req.names, suite=req.suite, setup=req.setup, repeat=req.repeat - done,
        timeout=req.timeout, jobs=req.jobs, until_fail=req.until_fail, progress=hooks.run,
    )  # fmt: skip
    if tree_id is None:
        return fresh, build
    if req.fresh:
        forget_runs(store, tree_id, key, req.setup, [t.name for t in fresh.tests])
    record_runs(store, tree_id, key, req.setup, fresh.records)
    combined = stored_outcome(store, tree_id, key, req.names, req.setup) if have else None
    if combined is None:
        return fresh, build
    return _merged(build, combined, fresh, req), build


def _merged(build: BuildResult, combined: TestOutcome, fresh: TestOutcome, req: Measure) -> TestOutcome:
    return TestOutcome(
        build_dir=build.build_dir,
        tests=combined.tests,
        setup=req.setup,
        repeat=req.repeat,
        interrupted=fresh.interrupted,
        stopped_early=fresh.stopped_early,
        duration=fresh.duration,
        records=combined.records,
    )
