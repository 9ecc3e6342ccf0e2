"""The command line over a real loopback Dask cluster: `test --cluster`, fallbacks, `batch`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_patchtool
from tests.plugins.buildtree import commit_regression, make_project, use_ignored_subproject
from tests.plugins.gitutil import git, snapshot_repo

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"PATCHTOOL_DATA_DIR": str(tmp_path / "data"), "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)  # the workers started below inherit these
    return values


@pytest.fixture
def scheduler(env: dict[str, str]) -> Iterator[str]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=50)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _counts(stdout: str) -> dict[str, tuple[int, int]]:
    return {t["name"]: (t["runs"], t["failures"]) for t in json.loads(stdout)["tests"]}


def test_test_on_the_cluster_gives_the_local_counts_and_a_local_run_reuses_them(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    repo = make_project(tmp_path / "demo")
    common = ("test", "unit-add", "alternate", "--setup", "thorough", "--repo", repo)
    args = (*common, "--repeat", "16")
    remote = run_patchtool(*args, "--cluster", scheduler, "--json", env=env)
    assert remote.code == 1, remote.stderr  # alternate fails every second run: a negative verdict
    assert _counts(remote.stdout) == {"unit-add": (16, 0), "alternate": (16, 8)}
    assert json.loads(remote.stdout)["from_store"] is False
    local = run_patchtool(*args, "--json", env=env)  # same keys: nothing runs again
    assert _counts(local.stdout) == {"unit-add": (16, 0), "alternate": (16, 8)}
    assert json.loads(local.stdout)["from_store"] is True
    more = run_patchtool(*common, "--repeat", "20", "--cluster", scheduler, "--json", env=env)
    assert _counts(more.stdout)["unit-add"] == (20, 0)  # only the 4 missing runs were sent


def test_an_unreachable_scheduler_is_one_line_and_exit_3_unless_falling_back(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = make_project(tmp_path / "demo")
    args = ("test", "unit-add", "--repo", repo, "--cluster", "tcp://127.0.0.1:9")
    gone = run_patchtool(*args, env={**env, "PATCHTOOL_TIMEOUT": "3"})
    assert gone.code == 3
    last = gone.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cluster tcp://127.0.0.1:9: scheduler unreachable")
    here = run_patchtool(*args, "--cluster-fallback", "local", env={**env, "PATCHTOOL_TIMEOUT": "3"})
    assert here.code == 0 and "unit-add: pass" in here.stdout and "running here" in here.stderr
    via_env = run_patchtool("test", "unit-add", "--repo", repo,
                            env={**env, "PATCHTOOL_TIMEOUT": "3", "PATCHTOOL_CLUSTER": "tcp://127.0.0.1:9"})
    assert via_env.code == 3


def test_batch_reviews_many_series_on_the_cluster(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    series = [FIXTURES / "mail" / "reaper-v2.mbox", FIXTURES / "mail" / "b4-single.mbox"]
    done = run_patchtool("batch", *series, "-d", out, "--cluster", scheduler, env=env)
    assert done.code in (0, 1), done.stderr
    written = sorted(out.iterdir())
    assert len(written) == 2
    for path in written:
        report = json.loads(path.read_text())
        assert report["patches"] and report["series"]["msgid"]
    local = tmp_path / "local"
    local.mkdir()
    here = run_patchtool("batch", *series, "-d", local, env=env)
    assert here.code == done.code
    assert [p.name for p in sorted(local.iterdir())] == [p.name for p in written]


def _history(path: Path, culprit: int, length: int = 12) -> list[str]:
    """A line of commits; from `culprit` on, the tree's t.sh fails half of its runs."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    shas = []
    for i in range(length):
        body = "exit $(( $(od -An -N1 -tu1 /dev/urandom) % 2 ))\n" if i >= culprit else "exit 0\n"
        (path / "t.sh").write_text("#!/bin/sh\n" + body)
        (path / "t.sh").chmod(0o755)
        (path / f"step{i}.txt").write_text(f"{i}\n")  # a file of its own: a revert applies cleanly
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"step {i}")
        shas.append(git(path, "rev-parse", "HEAD").strip())
    return shas


def test_bisect_on_the_cluster_names_the_culprit(tmp_path: Path, env: dict[str, str], scheduler: str) -> None:
    shas = _history(tmp_path / "repo", culprit=7)
    done = run_patchtool("bisect", "--good", shas[0], "--bad", shas[-1], "--run", "./t.sh", "--repo",
                         tmp_path / "repo", "--cluster", scheduler, "--json", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[7]
    assert report["revert"]["status"] == "fixed", report["revert"]["detail"]  # run on the workers too


def test_how_a_run_that_did_not_count_ended_comes_back_from_the_workers(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    """From commit 3 on, the test fails saying something --fail-match does not look for: how the
    newest such run ended comes back from the worker that ran it, as a local bisect shows it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(6):
        body = "echo 'worker: crashed hard'\nexit 1\n" if i >= 3 else "exit 0\n"
        (repo / "t.sh").write_text("#!/bin/sh\n" + body)
        (repo / "t.sh").chmod(0o755)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"step {i}")
    done = run_patchtool("bisect", "--good", "main~5", "--bad", "main", "--run", "./t.sh", "--repo", repo,
                         "--cluster", scheduler, "--fail-match", "regression:", "--max-runs", "12",
                         "--no-revert-test", "--json", env=env)  # fmt: skip
    report = json.loads(done.stdout)
    assert report["unusable_runs"] > 0, done.stderr
    newest = report["newest_unusable"]
    assert newest is not None and newest["verdict"] == "other-failure", done.stderr
    assert newest["ending"] == ["worker: crashed hard"]
    # and how each failed run ended, from every worker's batch
    ways = [(w["ending"], w["verdict"], w["runs"]) for w in report["failed_ways"]]
    assert ways == [("worker: crashed hard", "other-failure", report["unusable_runs"])]


def test_the_revert_test_reaches_workers_whose_repository_lacks_the_reverted_commit(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    """The workers clone a server (--cluster-repo) that never gets the reverted commit (on no
    branch, made on this machine): it travels with its runs as a pack, and the server is not
    written to."""
    shas = _history(tmp_path / "repo", culprit=5, length=10)
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "repo"), str(server))
    before = sorted(p.relative_to(server) for p in server.rglob("*"))
    done = run_patchtool("bisect", "--good", shas[0], "--bad", shas[-1], "--run", "./t.sh", "--repo",
                         tmp_path / "repo", "--cluster", scheduler, "--cluster-repo", str(server),
                         "--json", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[5]
    revert = report["revert"]
    assert revert["status"] == "fixed", revert  # every planned run passed, on the workers
    assert revert["runs"] >= 2 and revert["failures"] == 0
    assert subprocess.run(["git", "cat-file", "-e", revert["sha"]], cwd=server, check=False).returncode != 0
    assert sorted(p.relative_to(server) for p in server.rglob("*")) == before


def test_a_commit_that_does_not_build_on_the_workers_is_named_with_why(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    """A worker's build failure comes back with its first error and its log (a path on that
    worker), is stored for the report, and is what the bisect says when nothing could be tested."""
    repo = make_project(tmp_path / "demo")
    good = git(repo, "rev-parse", "HEAD").strip()
    for i in range(3):
        (repo / "src" / "util.c").write_text(f"int add(int a, int b)\n{{\n    return a + c{i};\n}}\n")
        git(repo, "commit", "-q", "-am", f"util: broken {i}")
    bad = git(repo, "rev-parse", "HEAD").strip()
    shas = git(repo, "rev-list", f"{good}..{bad}").split()
    args = ("bisect", "--good", good, "--bad", bad, "--test", "unit-add", "--repo", repo,
            "--cluster", scheduler)  # fmt: skip
    done = run_patchtool(*args, env=env)
    assert done.code == 3, done.stdout + done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("bisect: no test ran") and ": build failed: src/util.c:3:" in line, line
    assert "undeclared" in line and " on worker " in line, line
    log = Path(line.rsplit("(log: ", 1)[1].split(" on worker ", 1)[0])
    assert log.is_file() and Path(env["PATCHTOOL_DATA_DIR"]) in log.parents  # the workers share our disk
    with sqlite3.connect(Path(env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as db:
        stored = db.execute("SELECT commit_sha, first_error, log_path FROM bisect_build_failures").fetchall()
    assert stored and {row[0] for row in stored} <= set(shas)
    assert all(row[1].startswith("src/util.c:3:") and " on worker " in row[2] for row in stored), stored


def test_the_workers_build_what_a_test_needs_of_a_tree_that_needs_the_checkouts_subprojects(
    minitree_copy: Path, env: dict[str, str], scheduler: str
) -> None:
    """As QEMU offline: the subproject configure would download is an ignored directory of the
    user's checkout. The workers (sharing this disk) get it as a local build's worktree does;
    before, their configure failed ("missing subprojects" on real QEMU)."""
    use_ignored_subproject(minitree_copy)
    before = snapshot_repo(minitree_copy)
    args = ("test", "test-rcu", "--repo", minitree_copy, "--configure", "--target-list=alpha-softmmu")
    done = run_patchtool(*args, "--cluster", scheduler, "--json", env=env)
    assert done.code == 0, done.stdout + done.stderr
    assert _counts(done.stdout) == {"test-rcu": (1, 0)}
    assert snapshot_repo(minitree_copy) == before  # the checkout lends, and is not written to
    # And the worker built only what the test needs, as a local `test` does.
    (build_dir,) = [p.parent for p in (Path(env["PATCHTOOL_DATA_DIR"]) / "cluster").rglob("build.ninja")]
    assert (build_dir / "tests" / "unit" / "test-rcu").is_file()
    assert not (build_dir / "qemu-system-alpha").exists()


def test_a_commit_that_builds_on_one_worker_is_tested_there_and_not_lost_to_the_other(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Two workers, one whose CFLAGS break every build (the demo has no prototypes): the runs the
    other makes count, the bisect names the culprit, and the failing worker's error is stored."""
    import os
    import sys
    import time

    from distributed import Client, LocalCluster

    repo = make_project(tmp_path / "demo")
    good, bad = commit_regression(repo)
    cluster = LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None, silence_logs=50)
    dask = [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
            "--nthreads", "1", "--no-dashboard"]  # fmt: skip
    broken = {**os.environ, **env, "CFLAGS": "-Werror=missing-prototypes"}
    workers = [subprocess.Popen(dask, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for e in ({**os.environ, **env}, broken)]  # fmt: skip
    try:
        with Client(cluster.scheduler_address) as client:
            deadline = time.monotonic() + 60
            while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(client.scheduler_info()["workers"]) == 2
        done = run_patchtool("bisect", "--good", good, "--bad", bad, "--test", "unit-add", "--repo", repo,
                             "--cluster", cluster.scheduler_address, "--json", env=env)  # fmt: skip
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        cluster.close()
    assert done.code == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == bad and report["untestable"] == []
    with sqlite3.connect(Path(env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as db:
        stored = db.execute("SELECT first_error, log_path FROM bisect_build_failures").fetchall()
    assert stored and all("missing-prototypes" in e and " on worker " in g for e, g in stored), stored


def test_commits_older_than_a_configure_option_are_skipped_on_the_workers_too(
    tmp_path: Path, env: dict[str, str], scheduler: str
) -> None:
    """A worker whose build directory these arguments never configured configures the newest end
    when an older commit does not configure (bisection/probe.py), as a local bisect does."""
    from tests.bisection.test_bisect_configure import CULPRIT, option_history

    repo, shas = option_history(tmp_path / "repo", fixed=False)
    args = ("bisect", "--good", shas[0], "--bad", shas[-1], "--test", "regress", "--repo", repo,
            "--configure", "--with-extra", "--no-revert-test", "--cluster", scheduler, "--json")  # fmt: skip
    done = run_patchtool(*args, env=env, timeout=900)
    assert done.code == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["culprit"]["sha"] == shas[CULPRIT]
