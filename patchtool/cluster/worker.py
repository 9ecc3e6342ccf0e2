"""What runs on a Dask worker: reproduce a tree in the worker's own clone, build it, run tests.

A worker keeps, under its data directory, one clone per repository and one tool worktree per
clone, reused from task to task so builds are incremental. Nothing here knows Dask: the task
functions take and return plain records, so they also run in-process (the `local` fallback).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path

from patchtool.bisection.probe import BuildFailure, ProbeSpec, Verdict, prober_for
from patchtool.build.meson import build_tree, config_key
from patchtool.cluster.spec import Observation, RunSpec, SliceResult, TreeSpec
from patchtool.config import Settings, load_settings
from patchtool.errors import EnvironmentProblem, InputError, PatchtoolError
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import RunRecord
from patchtool.testrun.run import run_tests
from patchtool.testrun.selection import plan_for_tests
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.worktrees import carried_dirs, ensure_worktree, locked, sync_carried

WORKTREE = "cluster"


_SLOT: dict[str, object] = {}  # the data-directory slot this process holds, for its lifetime


def worker_settings() -> Settings:
    """The worker's own settings: its environment, with a data directory no other worker uses.

    Workers on one machine share the configured data directory; each process claims the first
    free numbered slot in it (an exclusive lock held while the process lives), so a restarted
    worker gets a warm slot back and two live workers never share a worktree.
    """
    settings = load_settings(repo=None)
    root = settings.data_dir / "cluster" / "slots"
    key = str(root)
    if key not in _SLOT:
        _SLOT[key] = _claim_slot(root)
    slot_dir = root / str(_SLOT[key])
    values = {**settings.values, "data_dir": str(slot_dir)}
    return Settings(values=values, origins=settings.origins, offline=settings.offline)


def _claim_slot(root: Path) -> int:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1024):
        handle = open(root / f"{n}.lock", "w")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _SLOT[f"{root}#handle"] = handle
        return n
    raise EnvironmentProblem(f"{root}: no free worker slot (1024 workers on one machine?)")


def worker_name() -> str:
    return os.environ.get("PATCHTOOL_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def _clone_dir(settings: Settings, repo: str) -> Path:
    digest = hashlib.sha256(repo.encode()).hexdigest()[:12]
    return settings.data_dir / "clones" / digest


def ensure_clone(
    settings: Settings, repo: str, commit: str, carried: tuple[str, bytes] | None = None
) -> GitRepo:
    """The worker's clone of `repo`, holding `commit` (fetched on demand).

    `carried` = (base, pack) brings a commit `repo` does not have (the bisect's revert test, on
    no branch): `base` is fetched as usual, then the pack of the objects `commit` adds to it is
    unpacked, so the worker checks out the very commit the client made.
    """
    path = _clone_dir(settings, repo)
    with locked(path):
        if not (path / ".git").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            GitRepo.clone(repo, path)
        clone = GitRepo(path)
        if carried is not None and clone.try_rev_parse(commit) is None:
            base, pack = carried
            _fetch(clone, repo, base)
            clone.git("unpack-objects", "-q", "--strict", input=pack)  # objects checked as they land
        _fetch(clone, repo, commit)
        clone.rev_parse(commit)  # InputError when the repository does not have it
        _lend_subprojects(repo, clone)
        return clone


def _lend_subprojects(repo: str, clone: GitRepo) -> None:
    """A repository the workers see as a path (a shared disk) lends its checkout's untracked
    directories under subprojects/ (what QEMU's configure downloads) to the worker's clone, whose
    tool worktrees take them in turn, as a local build's do (vcs.worktrees): offline, a worker's
    configure could not fetch them ("missing subprojects" on real QEMU). From a URL, the workers'
    configure downloads them itself."""
    source = Path(repo)
    if (source / "subprojects").is_dir():
        sync_carried(source, clone.path, carried_dirs(GitRepo(source)))


def _fetch(clone: GitRepo, repo: str, commit: str) -> None:
    if clone.try_rev_parse(commit) is None:
        clone.git("fetch", "--quiet", "--", repo, commit, check=False)
        if clone.try_rev_parse(commit) is None:
            clone.git("fetch", "--quiet", "--", repo, "+refs/heads/*:refs/remotes/origin/*")


def _apply_mbox(clone: GitRepo, settings: Settings, commit: str, mbox: bytes) -> str:
    """Apply the series' mail onto `commit` in the worker's clone; the resulting commit."""
    from patchtool.apply.engine import apply_series
    from patchtool.fetch.local import read_local
    from patchtool.parse.series import build_series

    with tempfile.NamedTemporaryFile(suffix=".mbox") as handle:
        handle.write(mbox)
        handle.flush()
        series = build_series(read_local(handle.name, None))
    result = apply_series(clone, series, settings, base=commit)
    if not result.ok or result.head is None:
        raise InputError(f"series does not apply to {commit[:12]} on worker {worker_name()}")
    return result.head


def prepare_tree(settings: Settings, tree: TreeSpec) -> tuple[Path, str]:
    """Check the tree out in the worker's reused worktree; its path and tree id."""
    clone = ensure_clone(settings, tree.repo, tree.commit)
    commit = tree.commit if tree.mbox is None else _apply_mbox(clone, settings, tree.commit, tree.mbox)
    path = ensure_worktree(clone, settings, WORKTREE, commit)
    return path, clone.tree_of(commit)


def run_slice(spec: RunSpec) -> SliceResult:
    """Build the tree (incrementally: the targets its tests need) and run every test once per slot
    of `spec`."""
    settings = worker_settings()
    key = config_key(spec.tree.configure_args)
    clone_path = _clone_dir(settings, spec.tree.repo)
    with locked(clone_path.with_name(clone_path.name + "-run")):  # one task per clone at a time
        path, tree_id = prepare_tree(settings, spec.tree)
        with Store(settings.store_path) as store:
            build = build_tree(
                path, settings, configure_args=spec.tree.configure_args, store=store, tree_id=tree_id,
                targets_for=plan_for_tests(spec.tests, spec.setup),
            )  # only what the tests need, as a local `test` builds (real QEMU: ~500 steps of 2,500)
        if not build.ok:
            error = str(build.errors[0]) if build.errors else "build failed"
            return SliceResult(worker_name(), tree_id, key, (), build_ok=False, build_error=error)
        outcome = run_tests(
            build.build_dir, names=spec.tests, setup=spec.setup, repeat=len(spec.slots), timeout=spec.timeout
        )
    return SliceResult(worker_name(), tree_id, key, _label(spec, outcome.records))


def _label(spec: RunSpec, records: Sequence[RunRecord]) -> tuple[Observation, ...]:
    """Give the n-th run of each test the n-th slot's id (meson runs the repeats in order)."""
    seen: dict[str, int] = {}
    out = []
    for run in records:
        n = seen.get(run.name, 0)
        seen[run.name] = n + 1
        if n < len(spec.slots) and run.counted:
            out.append(Observation(f"{spec.slots[n]}/{run.name}", run))
    return tuple(out)


def describe_failure(error: BaseException) -> str:
    """One line for an error raised on a worker, as the client prints it."""
    if isinstance(error, PatchtoolError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@record
class Probed:
    """A worker's bisect runs: their verdicts, how the newest that did not count ended
    (verdict, last lines: Prober.last_unusable) and how each that failed did (verdict, way:
    Prober.last_ways), so the client can show them."""

    verdicts: tuple[str, ...]
    unusable: tuple[str, tuple[str, ...]] | None = None
    ways: tuple[tuple[str, str], ...] = ()


def bisect_probe(
    repo: str, commit: str, spec: ProbeSpec, runs: int, carried: tuple[str, bytes] | None = None
) -> Probed | BuildFailure:
    """Bisect runs on a worker: the same probers (build, run, classify) as a local bisect; where
    the commit does not build, why (the prober's first error and log). `carried`: the objects of
    a commit `repo` lacks, on a base it has (see ensure_clone)."""
    settings = worker_settings()
    clone = ensure_clone(settings, repo, commit, carried)
    with Store(settings.store_path) as store, prober_for(clone, settings, spec, store) as prober:
        if not prober.prepare(commit):
            failed = prober.last_failure
            if failed is None:
                return Probed((str(Verdict.UNTESTABLE),))
            return BuildFailure(failed.commit, failed.first_error, f"{failed.log} on worker {worker_name()}")
        verdicts = tuple(str(v) for v in prober.run_batch(runs))
        unusable = prober.last_unusable
        ways = tuple((str(v), way) for v, way in prober.last_ways)
        return Probed(verdicts, None if unusable is None else (str(unusable[0]), unusable[1]), ways)
