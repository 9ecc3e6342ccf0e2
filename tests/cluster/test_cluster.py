"""Test repeats over a real Dask scheduler and worker processes on 127.0.0.1, on a real meson tree."""

from __future__ import annotations

import contextlib
import operator
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchtool.build.meson import config_key
from patchtool.cluster.client import Cluster, check_address, connect
from patchtool.cluster.placement import nearest_worker, preferred_workers, split_repeats
from patchtool.cluster.spec import TreeSpec
from patchtool.errors import EnvironmentProblem, UsageError
from patchtool.store import Store
from patchtool.testrun.results import RunRecord, record_observed_runs, stored_records
from tests.plugins.buildtree import write_project
from tests.plugins.gitutil import git

pytestmark = pytest.mark.slow

SLOW_TEST = {
    "meson.build": "project('demo', 'c')\nsh = find_program('sh')\n"
    "test('slow', sh, args: [files('tests/slow.sh')], suite: 'thorough', timeout: 30)\n"
    "test('broken', sh, args: [files('tests/broken.sh')], suite: 'thorough')\n"
    "add_test_setup('thorough')\n",
    "tests/slow.sh": "sleep 0.4\necho slow done\n",
    "tests/broken.sh": "echo 'assertion failed' >&2\nexit 1\n",
}


@pytest.fixture
def data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Set before the workers start: they inherit this environment.
    monkeypatch.setenv("PATCHTOOL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PATCHTOOL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def local_cluster(data_dirs: Path) -> Iterator[tuple[str, object]]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=50)
    try:
        yield cluster.scheduler_address, cluster
    finally:
        cluster.close()


def _repo(path: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    write_project(path, files)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "demo: initial")
    return path, git(path, "rev-parse", "HEAD").strip()


def test_repeats_on_the_cluster_count_as_locally_and_land_in_the_store(
    local_cluster: tuple[str, object], data_dirs: Path
) -> None:
    address, _ = local_cluster
    repo, commit = _repo(data_dirs / "repo")
    cluster = connect(address, timeout=30)
    try:
        with Store(data_dirs / "cache" / "patchtool.sqlite3") as store:
            outcome = cluster.run_repeats(TreeSpec(str(repo), commit), ["unit-add", "alternate"], 40, store,
                                          setup="thorough")
            names = ["unit-add", "alternate"]
            rows = stored_records(store, outcome.tree_id, config_key(()), "thorough", names)
    finally:
        cluster.close()
    # The same counts a local `test --repeat 40` gives: unit-add never fails, alternate every 2nd run.
    by_test = {name: [r for r in outcome.records if r.name == name] for name in ("unit-add", "alternate")}
    assert len(by_test["unit-add"]) == 40 and not any(r.failed for r in by_test["unit-add"])
    assert len(by_test["alternate"]) == 40 and sum(r.failed for r in by_test["alternate"]) == 20
    assert outcome.stored == 80 and len(rows) == 80
    assert len(outcome.workers) == 2  # the repeats were spread over both workers
    assert outcome.tree_id == git(repo, "rev-parse", f"{commit}^{{tree}}").strip()  # the local key


def test_a_worker_killed_mid_run_loses_no_run_and_counts_none_twice(
    local_cluster: tuple[str, object], data_dirs: Path
) -> None:
    address, _ = local_cluster
    repo, commit = _repo(data_dirs / "repo", SLOW_TEST)
    cluster = connect(address, timeout=30)
    client = cluster._client
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_when_running() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                time.sleep(3.0)  # well into a task: it has built and started running tests
                killed.append(pids[busy[0]])
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    try:
        with Store(data_dirs / "cache" / "patchtool.sqlite3") as store:
            outcome = cluster.run_repeats(TreeSpec(str(repo), commit), ["slow"], 24, store, setup="thorough")
            rows = stored_records(store, outcome.tree_id, config_key(()), "thorough", ["slow"])
    finally:
        killer.join()
        cluster.close()
    assert killed and not _alive(killed[0])
    assert len(rows) == 24 and outcome.stored == 24
    assert all(r.result == "OK" for r in rows)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_an_observation_delivered_twice_is_stored_once(tmp_path: Path) -> None:
    record = RunRecord("slow", "OK", 0.4, "")
    with Store(tmp_path / "s.sqlite3") as store:
        first = record_observed_runs(store, "t", "k", None, [("req/0/slow", record), ("req/1/slow", record)])
        again = record_observed_runs(store, "t", "k", None, [("req/1/slow", record), ("req/2/slow", record)])
        rows = stored_records(store, "t", "k", None, ["slow"])
    assert (first, again, len(rows)) == (2, 1, 3)


@contextlib.contextmanager
def _no_worker_yet() -> Iterator[Cluster]:
    """A real scheduler with no worker, and a Cluster on it: a worker joins 0.5 s after this yields.

    Right after connecting, the client's view of the scheduler can list no worker yet (it is
    refreshed in the background). Work sent then used to ask Dask for "other workers" without
    naming any, which Dask refuses (CI, a bisect on the cluster: "Only use allow_other_workers=
    if using workers="): it must go to any worker, and wait for one to join."""
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=0, threads_per_worker=1, processes=False, protocol="tcp://",
                         host="127.0.0.1", dashboard_address=None, silence_logs=50)
    client = Client(local.scheduler_address, set_as_default=False)
    joins = threading.Timer(0.5, lambda: local.scale(1))
    joins.start()
    try:
        cluster = Cluster(client)
        assert cluster.workers == []
        yield cluster
    finally:
        joins.join()
        client.close()
        local.close()


def test_work_sent_while_the_client_knows_no_worker_waits_for_one() -> None:
    with _no_worker_yet() as cluster:
        assert cluster.map_on_workers("tree", operator.add, [(1, 2), (3, 4)]) == [3, 7]


def test_repeats_sent_while_the_client_knows_no_worker_wait_for_one(data_dirs: Path) -> None:
    repo, commit = _repo(data_dirs / "repo")
    with _no_worker_yet() as cluster, Store(data_dirs / "cache" / "patchtool.sqlite3") as store:
        outcome = cluster.run_repeats(TreeSpec(str(repo), commit), ["unit-add"], 4, store)
    assert len(outcome.records) == 4 and not any(r.failed for r in outcome.records)


def test_an_unreachable_scheduler_is_one_environment_error() -> None:
    with pytest.raises(EnvironmentProblem, match=r"^cluster tcp://127\.0\.0\.1:9: scheduler unreachable"):
        connect("tcp://127.0.0.1:9", timeout=2)


def test_addresses_are_checked_and_plain_tcp_off_this_machine_is_warned() -> None:
    assert check_address("tcp://127.0.0.1:8786") == []
    assert check_address("tls://sched.example:8786") == []
    assert "not encrypted" in check_address("tcp://10.1.2.3:8786")[0]
    with pytest.raises(UsageError):
        check_address("http://x:1")


def test_placement_keeps_builds_warm_and_splits_repeats_small() -> None:
    assert sum(split_repeats(64, 4)) == 64 and max(split_repeats(64, 4)) <= 8
    assert len(split_repeats(64, 4)) >= 4
    assert split_repeats(3, 4) == [1, 1, 1]
    assert preferred_workers("t2", {"b": "t2", "a": "t1"}, ["a", "b", "c"]) == ["b", "a", "c"]
    assert nearest_worker(10, {"a": 2, "b": 11}, ["a", "b", "c"]) == "b"
    assert nearest_worker(10, {"a": 2, "b": 11}, ["a", "b", "c"], busy=["b"]) == "a"
    assert nearest_worker(10, {}, ["a"], busy=["a"]) is None


def test_cluster_type_is_importable_without_connecting() -> None:
    assert Cluster.__name__ == "Cluster"

