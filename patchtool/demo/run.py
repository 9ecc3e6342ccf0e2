"""`patchtool demo`: the whole pipeline on the bundled mini QEMU world, in a directory of its own."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from patchtool.config import load_settings
from patchtool.jsonable import record
from patchtool.pipeline import ReportRequest, run_report
from patchtool.report.records import ReportContext
from patchtool.report.render import render
from patchtool.vcs.gitcmd import patchtool_config

DEMO_SERIES = "reaper-v2"
DEMO_TEST = "func-alpha-replay"
DEMO_SETUP = "thorough"


@record
class DemoResult:
    ctx: ReportContext
    terminal: str  # the terminal report
    html_path: Path
    workdir: Path
    seconds: float


def run_demo(
    workdir: Path, *, repeat: int = 4, keep: bool = True, progress: Callable[[str], None] | None = None
) -> DemoResult:
    """Generate the mini tree in `workdir`, then fetch, check, apply, build, test and report the series.

    Everything (tree, worktrees, build directories, the store) lives under `workdir`; unless `keep`,
    all of it but report.html is removed at the end.
    """
    from patchtool.demo.minitree import generate

    say = progress or (lambda _text: None)
    start = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    say("generating the mini QEMU tree")
    world = generate(workdir / "world")
    settings = load_settings(
        {"cache_dir": str(workdir / "cache"), "data_dir": str(workdir / "data")},
        repo=world.repo,
        git_values=patchtool_config(world.repo),
    )
    req = ReportRequest(
        source=str(world.series_path(DEMO_SERIES)),
        repo=world.repo,
        build=True,
        tests=(DEMO_TEST,),
        setup=DEMO_SETUP,
        repeat=repeat,
    )
    try:
        ctx = run_report(req, settings, progress=say)
    finally:
        if not keep:
            _remove_all_but_report(workdir)
    html_path = workdir / "report.html"
    html_path.write_text(render(ctx, "html"), encoding="utf-8")
    return DemoResult(ctx, render(ctx, "term"), html_path, workdir, time.monotonic() - start)


def _remove_all_but_report(workdir: Path) -> None:
    for child in workdir.iterdir():
        if child.name == "report.html":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
