"""The client side: connect to a Dask scheduler, send test repeats as tasks, store what comes back.

Dask is imported here and only here, when a command was given `--cluster`. Results go into the
client's store in the same rows (same tree id, configuration key, setup and test) as local runs,
each run under an id so a task retried after its worker died is counted once.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from patchtool.cluster.batch import Review, ReviewTask, review_on_worker
from patchtool.cluster.placement import preferred_workers, split_repeats
from patchtool.cluster.spec import RunSpec, SliceResult, TreeSpec, slot_ids
from patchtool.cluster.worker import describe_failure, run_slice
from patchtool.errors import EnvironmentProblem, PatchtoolError, UsageError
from patchtool.store import Store
from patchtool.testrun.results import RunRecord, record_observed_runs

# A task whose worker raised is tried this many more times; a dead worker's is rescheduled by Dask.
RETRIES = 2


def check_address(address: str) -> list[str]:
    """Warnings about an address (plain tcp off this machine); UsageError when it is not one."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss") or not parts.hostname:
        raise UsageError(f"--cluster {address}: not a scheduler address (e.g. tls://host:8786)")
    if parts.scheme != "tcp" or _loopback(parts.hostname):
        return []
    return [
        f"cluster {address}: plain tcp is not encrypted; test output and series travel in clear "
        "(use a tls:// address with Dask's security settings)"
    ]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ClusterOutcome:
    """What a batch of repeats gave: the runs (newly stored or not) and where they ran."""

    tree_id: str = ""
    config_key: str = ""
    records: list[RunRecord] = field(default_factory=list)
    stored: int = 0
    workers: set[str] = field(default_factory=set)
    build_error: str = ""


class Cluster:
    """A connection to a scheduler, with the client's view of which worker built which tree."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._warm: dict[str, str] = {}

    @property
    def workers(self) -> list[str]:
        return sorted(self._client.scheduler_info().get("workers", {}))

    def close(self) -> None:
        self._client.close()

    def map_on_workers(
        self, warm_key: str, func: Callable[..., Any], args: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        """Run func(*a) for every a at once, first on the workers that last ran `warm_key`, spread."""
        order = preferred_workers(warm_key, self._warm, self.workers)
        futures = [
            self._client.submit(
                func,
                *a,
                workers=[order[n % len(order)]] if order else None,
                allow_other_workers=bool(order),  # Dask refuses it without workers=
                retries=RETRIES,
                pure=False,
            )
            for n, a in enumerate(args)
        ]
        results = self._client.gather(futures)
        for holders in self._client.who_has(futures).values():
            for address in holders:
                self._warm[address] = warm_key
        return list(results)

    def review_many(self, tasks: Sequence[ReviewTask]) -> Iterator[Review]:
        """One review task per series; the reviews as they finish (completion order)."""
        from distributed import as_completed

        futures = [
            self._client.submit(
                review_on_worker, task, key=f"patchtool-review-{uuid.uuid4().hex[:12]}", retries=1, pure=False
            )
            for task in tasks
        ]
        for future in as_completed(futures, loop=self._client.loop):
            yield future.result()

    def run_repeats(
        self,
        tree: TreeSpec,
        tests: Sequence[str],
        repeat: int,
        store: Store,
        *,
        setup: str | None = None,
        timeout: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ClusterOutcome:
        """Run `tests` `repeat` times on the tree, split over the workers; store each run once."""
        from distributed import as_completed

        request = uuid.uuid4().hex[:12]
        futures, start = [], 0
        workers = self.workers
        order = preferred_workers(tree.key, self._warm, workers)
        for n, size in enumerate(split_repeats(repeat, len(workers))):
            spec = RunSpec(tree, tuple(tests), slot_ids(request, start, size), setup, timeout)
            start += size
            target = [order[n % len(order)]] if order else None
            futures.append(
                self._client.submit(
                    run_slice,
                    spec,
                    key=f"patchtool-run-{request}-{n}",
                    workers=target,
                    allow_other_workers=target is not None,
                    retries=RETRIES,
                    pure=False,
                )
            )
        outcome = ClusterOutcome()
        for future in as_completed(futures, loop=self._client.loop):
            self._collect(future, tree, setup, store, outcome)
            if progress:
                progress(len(outcome.records), repeat * max(1, len(tests)))
        return outcome

    def _collect(
        self, future: Any, tree: TreeSpec, setup: str | None, store: Store, outcome: ClusterOutcome
    ) -> None:
        try:
            result: SliceResult = future.result()
        except PatchtoolError:  # bad input or environment on the worker: the same exit code as locally
            raise
        except Exception as e:  # anything else the worker raised, after the retries
            raise EnvironmentProblem(f"cluster task {future.key}: {describe_failure(e)}") from e
        holders = self._client.who_has([future]).get(future.key, ())
        for address in holders:
            self._warm[address] = tree.key
        outcome.workers.add(result.worker)
        outcome.tree_id, outcome.config_key = result.tree_id, result.config_key
        if not result.build_ok:
            outcome.build_error = result.build_error
            return
        observed = [(o.obs_id, o.record) for o in result.observations]
        outcome.stored += record_observed_runs(store, result.tree_id, result.config_key, setup, observed)
        outcome.records += [o.record for o in result.observations]


def connect(address: str, *, timeout: float = 10.0, min_workers: int = 1) -> Cluster:
    """Connect to the scheduler at `address`; EnvironmentProblem (exit 3) when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError as e:
        raise EnvironmentProblem("--cluster needs Dask: pip install 'patchtool[cluster]'") from e
    _check_tls(address)
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise EnvironmentProblem(f"cluster {address}: scheduler unreachable ({_reason(e)})") from e
    try:
        client.wait_for_workers(min_workers, timeout=timeout)
    except (OSError, TimeoutError) as e:
        client.close()
        raise EnvironmentProblem(f"cluster {address}: no worker joined within {timeout:g}s") from e
    return Cluster(client)


def _check_tls(address: str) -> None:
    """A tls:// address needs Dask's TLS settings; say so before Dask fails half-way through."""
    from distributed.security import Security

    if address.startswith("tls://") and not getattr(Security(), "tls_ca_file", None):
        raise EnvironmentProblem(
            f"cluster {address}: no TLS settings (set distributed.comm.tls.* in Dask's configuration)"
        )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:160] if text else type(error).__name__
