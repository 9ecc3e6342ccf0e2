"""CLI: the --cluster options every command shares, and `batch` (review many series at once)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from patchtool.cli.app import RepoOption, app, err, out, settings_for
from patchtool.config import Settings
from patchtool.errors import EnvironmentProblem, ExitCode, UsageError

ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS",
        help="Run on this Dask scheduler (tcp://host:8786, tls://...); also patchtool.cluster / "
        "PATCHTOOL_CLUSTER. Needs pip install 'patchtool[cluster]'.",
    ),
]
FallbackOption = Annotated[
    str,
    typer.Option(
        "--cluster-fallback",
        metavar="WHAT",
        help="When the scheduler cannot be reached: 'fail' (exit 3) or 'local' (run here).",
    ),
]
ClusterRepoOption = Annotated[
    str | None,
    typer.Option(
        "--cluster-repo",
        metavar="URL",
        help="What the workers clone (default: the --repo path, for workers that see this disk).",
    ),
]


@contextmanager
def open_cluster(settings: Settings, address: str | None, fallback: str) -> Iterator[Any | None]:
    """The connected cluster, or None to run here (no address, or fallback after a failure)."""
    if fallback not in ("fail", "local"):
        raise UsageError(f"--cluster-fallback {fallback}: choose fail or local")
    address = address or settings["cluster"] or None
    if address is None:
        yield None
        return
    from patchtool.cluster.client import check_address, connect

    for warning in check_address(address):
        err.print(f"warning: {warning}", markup=False)
    try:
        cluster = connect(address, timeout=min(settings.timeout, 30.0))
    except EnvironmentProblem as e:
        if fallback != "local":
            raise
        err.print(f"warning: {e}; running here (--cluster-fallback local)", markup=False)
        yield None
        return
    try:
        yield cluster
    finally:
        cluster.close()


def cluster_repo(settings: Settings, option: str | None, repo_path: Path) -> str:
    return option or settings["cluster_repo"] or str(repo_path)


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def _report_name(source: str, n: int, ext: str) -> str:
    stem = _UNSAFE.sub("_", Path(source).name if Path(source).exists() else source).strip("._")[:80]
    return f"{n:03d}-{stem or 'series'}.{ext}"


@app.command()
def batch(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE...", help="The series to review.")],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-d", metavar="DIR", help="Write one report per series here.")
    ],
    repo: RepoOption = None,
    base: Annotated[
        str | None, typer.Option("--base", metavar="REV", help="Apply onto this revision.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="json, md, html or term.")
    ] = "json",
    cluster: ClusterOption = None,
    fallback: FallbackOption = "fail",
    repo_url: ClusterRepoOption = None,
) -> None:
    """Review many series: one report each, here or spread over a Dask cluster.

    Exit code 1 when any series got a negative verdict or could not be reviewed.

    Example: patchtool batch a.mbox b.mbox -d reports/ --cluster tcp://127.0.0.1:8786
    """
    from patchtool.cluster.batch import ReviewTask, review_locally
    from patchtool.fetch import resolve_source
    from patchtool.pipeline import ReportRequest
    from patchtool.report.records import FORMATS
    from patchtool.report.render import render

    if fmt not in FORMATS or fmt == "email":
        raise UsageError(f"--format {fmt}: choose one of json, md, html, term")
    if not output_dir.is_dir():
        raise UsageError(f"{output_dir}: no such directory")
    settings = settings_for(repo=repo)
    request = ReportRequest(source="", repo=repo, base=base)
    tasks = [ReviewTask(s, resolve_source(s, settings, repo=repo), _with_source(request, s)) for s in sources]
    failed = 0
    with open_cluster(settings, cluster, fallback) as remote:
        if remote is not None and repo is not None:
            url = cluster_repo(settings, repo_url, repo)
            tasks = [_with_url(t, url) for t in tasks]
        reviews = remote.review_many(tasks) if remote is not None else review_locally(tasks, settings)
        names = {t.source: n for n, t in enumerate(tasks, 1)}
        for result in reviews:
            failed += _write_one(result, names[result.source], output_dir, fmt, render)
    out.print(f"{len(tasks)} series reviewed, {failed} with a negative verdict or an error", markup=False)
    if failed:
        raise typer.Exit(int(ExitCode.VERDICT))


def _with_source(request: Any, source: str) -> Any:
    import dataclasses

    return dataclasses.replace(request, source=source)


def _with_url(task: Any, url: str) -> Any:
    import dataclasses

    return dataclasses.replace(task, repo_url=url)


def _write_one(result: Any, n: int, output_dir: Path, fmt: str, render: Any) -> int:
    if result.context is None:
        out.print(f"{result.source}: not reviewed: {result.error}", markup=False)
        return 1
    path = output_dir / _report_name(result.source, n, "txt" if fmt == "term" else fmt)
    path.write_text(render(result.context, fmt), encoding="utf-8")
    verdict = "FAIL" if result.context.failed else "PASS"
    out.print(f"{result.source}: {verdict} -> {path}", markup=False)
    return 1 if result.context.failed else 0
