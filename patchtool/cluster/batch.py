"""Review many series at once: one report per series, run here or as Dask tasks on a cluster.

The client resolves every SOURCE itself (network, cache and credentials stay on the client) and
sends each worker the thread's mail bytes and, when the series is to be applied, the repository
to clone and the base commit; the worker sends back the report context, rendered here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from patchtool.cluster.worker import describe_failure, ensure_clone, worker_settings
from patchtool.config import Settings
from patchtool.errors import PatchtoolError
from patchtool.jsonable import record
from patchtool.models import RawThread
from patchtool.pipeline import ReportRequest, run_report
from patchtool.report.records import ReportContext


@record
class ReviewTask:
    """One series to review: its source (for naming), its mail, and where to apply it."""

    source: str
    raw: RawThread
    request: ReportRequest  # its `repo` is ignored on a worker: `repo_url` is cloned instead
    repo_url: str | None = None


@record
class Review:
    """The report of one series, or the one-line reason it could not be made."""

    source: str
    context: ReportContext | None
    error: str = ""
    exit_code: int = 0


def review(task: ReviewTask, settings: Settings) -> Review:
    """Run the report pipeline on the task's mail (here, or on a worker)."""
    try:
        ctx = run_report(task.request, settings, raw=task.raw)
    except PatchtoolError as e:
        return Review(task.source, None, str(e), int(e.exit_code))
    return Review(task.source, ctx, exit_code=1 if ctx.failed else 0)


def review_on_worker(task: ReviewTask) -> Review:
    """The Dask task: clone the repository into the worker's data directory, then review."""
    settings = worker_settings()
    request = task.request
    try:
        if task.repo_url is not None:
            clone = ensure_clone(settings, task.repo_url, request.base or "HEAD")
            request = dataclasses.replace(request, repo=clone.path)
    except PatchtoolError as e:
        return Review(task.source, None, describe_failure(e), int(e.exit_code))
    return review(dataclasses.replace(task, request=request), settings)


def review_locally(tasks: Sequence[ReviewTask], settings: Settings) -> Iterator[Review]:
    for task in tasks:
        yield review(task, settings)
