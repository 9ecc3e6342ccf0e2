"""testrun: real `meson test` runs of the demo project (flaky, hanging, skipping tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from patchtool.build.meson import BuildResult, build_tree, config_key, tree_id_of
from patchtool.config import load_settings
from patchtool.demo.minitree import MiniTree
from patchtool.errors import InputError
from patchtool.store import Store
from patchtool.testrun.results import RunRecord, record_runs, stored_outcome, summarize
from patchtool.testrun.run import RunProgress, read_testlog, run_tests
from tests.conftest import ROOT, run_patchtool
from tests.plugins.buildtree import pid_alive

pytestmark = pytest.mark.slow


@pytest.fixture
def built(demo_project: Path, data_env: dict[str, str]) -> BuildResult:
    result = build_tree(demo_project, load_settings())
    assert result.ok
    return result


def _pids(build: BuildResult) -> list[int]:
    pid_file = build.build_dir / "hang.pids"
    return [int(p) for p in pid_file.read_text().split()] if pid_file.exists() else []


def _assert_all_dead(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids and not [p for p in pids if pid_alive(p)]


def test_repeat_counts_every_run_and_finds_a_flaky_test(built: BuildResult) -> None:
    seen: list[RunProgress] = []
    outcome = run_tests(
        built.build_dir, names=["alternate"], setup="thorough", repeat=20, progress=seen.append
    )
    stats = outcome.test("alternate")
    assert stats is not None
    # meson's own --repeat stops after the first failing repetition; we must still get all 20.
    assert (stats.runs, stats.passes, stats.failures, stats.timeouts) == (20, 10, 10, 0)
    assert stats.flaky and stats.failure_rate == 0.5
    assert stats.interval[0] < 0.5 < stats.interval[1]
    assert "replay diverged at run 2" in stats.first_failures[0]
    assert len(stats.first_failures) == 3
    assert (built.build_dir / "alternate.state").read_text().strip() == "20"
    assert seen and seen[-1].runs_total == 20 and not outcome.ok and outcome.failed


def test_every_test_gets_its_runs_when_another_one_fails(built: BuildResult) -> None:
    outcome = run_tests(built.build_dir, names=["alternate", "unit-add"], setup="thorough", repeat=6)
    assert [(t.name, t.runs, t.failures) for t in outcome.tests] == [("alternate", 6, 3), ("unit-add", 6, 0)]


def test_until_fail_stops_at_the_first_failure(built: BuildResult) -> None:
    outcome = run_tests(built.build_dir, names=["alternate"], setup="thorough", repeat=50, until_fail=True)
    stats = outcome.test("alternate")
    assert stats is not None and (stats.runs, stats.failures) == (2, 1)
    assert outcome.stopped_early


def test_passing_and_skipping_tests(built: BuildResult) -> None:
    outcome = run_tests(built.build_dir, names=["unit-add", "skipper"], setup="thorough", repeat=3)
    unit, skip = outcome.test("unit-add"), outcome.test("skipper")
    assert unit is not None and (unit.runs, unit.passes, unit.failure_rate) == (3, 3, 0.0)
    assert skip is not None and (skip.runs, skip.skips) == (3, 3) and skip.interval == (0.0, 1.0)
    assert outcome.ok


def test_default_setup_selects_its_own_tests(built: BuildResult) -> None:
    outcome = run_tests(built.build_dir)
    assert [t.name for t in outcome.tests] == ["unit-add"]


def test_hanging_test_is_a_timeout_and_leaves_no_process(built: BuildResult) -> None:
    # Two declared timeouts (2 s and meson's default 30 s): two multipliers, two meson runs.
    outcome = run_tests(built.build_dir, names=["hang", "unit-add"], setup="thorough", repeat=2, timeout=1)
    unit = outcome.test("unit-add")
    assert unit is not None and (unit.runs, unit.passes) == (2, 2)
    stats = outcome.test("hang")
    assert stats is not None and (stats.runs, stats.timeouts, stats.failure_rate) == (2, 2, 1.0)
    assert 0.9 < stats.mean_duration < 2.0  # our --timeout, not the test's own 2 s
    assert "timeout" in stats.first_failures[0]
    pids = _pids(built)
    assert len(pids) == 6  # per run: the escaped sleep, the plain sleep, the shell
    _assert_all_dead(pids)


def test_unknown_and_excluded_tests_are_named(built: BuildResult) -> None:
    with pytest.raises(InputError, match="test nosuch: no such test"):
        run_tests(built.build_dir, names=["nosuch"])
    with pytest.raises(InputError, match=r"test alternate: not run by the test setup \(default\)") as caught:
        run_tests(built.build_dir, names=["alternate"])
    assert caught.value.hint and "--setup thorough" in caught.value.hint
    with pytest.raises(InputError, match="test setup nosuch: not defined"):
        run_tests(built.build_dir, names=["unit-add"], setup="nosuch")


def test_interrupted_log_lines_are_not_runs(tmp_path: Path) -> None:
    log = tmp_path / "testlog.json"
    entries = [
        {"name": "unit - demo:unit-add", "result": "OK", "duration": 0.1, "stdout": "ok\n"},
        {
            "name": "thorough - demo:alternate",
            "result": "FAIL",
            "duration": 0.2,
            "stdout": "x",
            "stderr": "y",
        },
        {"name": "hangs - demo:hang", "result": "INTERRUPT", "duration": 1.0, "stdout": ""},
    ]
    log.write_text("\n".join(json.dumps(e) for e in entries) + '\n{"name": "cut sh')
    records = read_testlog(log, ["unit-add", "alternate", "hang"])
    assert [(r.name, r.result, r.output) for r in records] == [
        ("unit-add", "OK", "ok\n"),
        ("alternate", "FAIL", "xy"),
        ("hang", "INTERRUPT", ""),
    ]
    stats = {s.name: s for s in summarize(records, ["hang"])}
    assert stats["hang"].runs == 0 and stats["alternate"].failures == 1


def test_runs_are_stored_by_tree_configuration_setup_and_test(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        runs = [
            RunRecord("t", "OK", 0.1, ""),
            RunRecord("t", "FAIL", 0.3, "boom"),
            RunRecord("t", "INTERRUPT", 0, ""),
        ]
        assert record_runs(store, "tree1", "cfg", "thorough", runs) == 2
        outcome = stored_outcome(store, "tree1", "cfg", ["t"], "thorough")
        assert outcome is not None and outcome.from_store
        stats = outcome.test("t")
        assert stats is not None and (stats.runs, stats.failures, stats.first_failures) == (2, 1, ("boom",))
        assert stored_outcome(store, "tree1", "cfg", ["t"], None) is None
        assert stored_outcome(store, "tree2", "cfg", ["t"], "thorough") is None


def test_cli_reports_json_stores_and_reuses(demo_project: Path, data_env: dict[str, str]) -> None:
    args = ("test", "alternate", "--setup", "thorough", "--repeat", "6", "--worktree", demo_project)
    done = run_patchtool(*args, "--json", env=data_env)
    assert done.code == 1, done.stderr
    result = json.loads(done.stdout)
    (alt,) = result["tests"]
    assert {k: alt[k] for k in ("name", "runs", "passes", "failures", "skips", "timeouts")} == {
        "name": "alternate", "runs": 6, "passes": 3, "failures": 3, "skips": 0, "timeouts": 0,
    }  # fmt: skip
    assert alt["failure_rate"] == 0.5 and alt["interval"][0] < 0.5 < alt["interval"][1]
    state = next(Path(data_env["PATCHTOOL_DATA_DIR"]).glob("builds/*/*/alternate.state"))
    assert state.read_text().strip() == "6"

    again = run_patchtool(*args, env=data_env)
    assert again.code == 1 and "stored results" in again.stdout and "FLAKY" in again.stdout
    assert state.read_text().strip() == "6"  # nothing ran again
    with Store(load_settings().store_path) as store:
        kept = stored_outcome(
            store, tree_id_of(demo_project) or "", config_key([]), ["alternate"], "thorough"
        )
        assert kept is not None and kept.tests[0].runs == 6

    fresh = run_patchtool(*args, "--fresh", env=data_env)
    assert fresh.code == 1 and "stored results" not in fresh.stdout
    assert state.read_text().strip() == "12"
    passing = run_patchtool("test", "unit-add", "--worktree", demo_project, env=data_env)
    assert passing.code == 0 and "unit-add: pass" in passing.stdout
    # A stale build is rebuilt before testing: the broken add() makes the unit test fail.
    (demo_project / "src" / "util.c").write_text("int add(int a, int b)\n{\n    return a - b;\n}\n")
    stale = run_patchtool("test", "unit-add", "--worktree", demo_project, env=data_env)
    assert stale.code == 1 and "unit-add: FAIL — 1/1 failed" in stale.stdout
    assert "| add broken" in stale.stdout and "built " in stale.stderr
    assert "Example:" in run_patchtool("test", "--help").stdout


def test_cli_ctrl_c_stops_everything_and_reports_what_was_measured(
    demo_project: Path, data_env: dict[str, str], built: BuildResult
) -> None:
    # The unit test, then the hanging one, given far longer than the test waits before Ctrl-C.
    env = {**os.environ, **data_env}
    argv = [sys.executable, "-m", "patchtool", "test", "unit-add", "hang", "--setup", "thorough"]
    child = subprocess.Popen(
        [*argv, "--repeat", "3", "--timeout", "100", "--worktree", str(demo_project)],
        cwd=ROOT, env={**env, "MESON_TESTTHREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    pid_file = built.build_dir / "hang.pids"
    deadline = time.monotonic() + 60
    while len(_pids(built)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr.decode()
    text = stdout.decode()
    assert "interrupted" in text and "unit-add: pass — 0/3 failed" in text
    assert "hang: not run" in text
    _assert_all_dead([int(p) for p in pid_file.read_text().split()])


# --- the mini QEMU tree: the story of seed 004 ---


@pytest.mark.slow
def test_minitree_replay_test_is_flaky_after_the_rcu_change_and_solid_before(
    minitree: MiniTree, minitree_copy: Path, data_env: dict[str, str]
) -> None:
    args = ("test", "func-alpha-replay", "--setup", "thorough", "--repeat", "20", "--repo", minitree_copy)
    after = run_patchtool(*args, "--rev", minitree.rcu_regression, "--json", env=data_env)
    assert after.code == 1, after.stderr
    (replay,) = json.loads(after.stdout)["tests"]
    assert replay["name"] == "func-alpha-replay" and replay["runs"] == 20 and replay["flaky"]
    assert replay["failures"] + replay["timeouts"] > 0 and replay["passes"] > 0
    low, high = replay["interval"]
    assert low < 0.5 < high

    before = run_patchtool(*args, "--rev", minitree.rcu_parent, env=data_env)
    assert before.code == 0, before.stdout + before.stderr
    assert "func-alpha-replay: pass — 0/20 failed" in before.stdout

    # Only the thorough setup runs it.
    quick = run_patchtool("test", "func-alpha-replay", "--repo", minitree_copy, env=data_env)
    assert quick.code == 2 and "not run by the test setup (default)" in quick.stderr
