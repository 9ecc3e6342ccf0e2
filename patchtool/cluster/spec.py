"""What a cluster task carries: enough to reproduce a tree on any worker, and ids for every run."""

from __future__ import annotations

import hashlib

from patchtool.jsonable import record
from patchtool.testrun.results import RunRecord


@record
class TreeSpec:
    """A tree a worker can rebuild from scratch: a repository, a commit, optionally a series on top.

    `repo` is what the worker clones (a URL, or a path the workers see); nothing of the user's
    checkout travels, only its commit id and the series mbox bytes.
    """

    repo: str
    commit: str
    configure_args: tuple[str, ...] = ()
    mbox: bytes | None = None

    @property
    def key(self) -> str:
        """A short stable name for this tree and configuration (worktree and placement key)."""
        h = hashlib.sha256()
        for part in (self.repo, self.commit, "\0".join(self.configure_args)):
            h.update(part.encode() + b"\0")
        h.update(self.mbox or b"")
        return h.hexdigest()[:16]


@record
class RunSpec:
    """Run `tests` once per slot on the tree; each slot id names one repetition, cluster-wide."""

    tree: TreeSpec
    tests: tuple[str, ...]
    slots: tuple[str, ...]
    setup: str | None = None
    timeout: float | None = None


@record
class Observation:
    """One run of one test, with the id that makes a retried task count it only once."""

    obs_id: str
    record: RunRecord


@record
class SliceResult:
    """What a worker sends back for one RunSpec."""

    worker: str
    tree_id: str
    config_key: str
    observations: tuple[Observation, ...]
    build_ok: bool = True
    build_error: str = ""


def slot_ids(request: str, start: int, count: int) -> tuple[str, ...]:
    return tuple(f"{request}/{n}" for n in range(start, start + count))
