"""A test that crashes (a signal kills it, and it prints nothing) is seen by `--fail-match` and
by a reader: real meson, real git, real processes killing themselves."""

from __future__ import annotations

import json
from pathlib import Path

from patchtool import proc
from tests.bisection.test_bisect_earlier import meson_env, script_project
from tests.bisection.test_bisectrun import bisect_env, make_script_repo
from tests.conftest import run_patchtool

# A meson test (a shell script: no compiler needed). From the commit whose state.txt says "bug",
# every other run kills itself with SIGSEGV and prints nothing; everywhere, every third run fails
# another way with a message. Counters in the build directory make the counts exact.
MESON = """\
project('crash')
sh = find_program('sh')
test('regress', sh, args: [files('regress.sh'), meson.current_build_dir() / 'count',
                           meson.current_source_dir() / 'state.txt'], is_parallel: false)
test('crash-only', sh, args: [files('crash.sh'), meson.current_build_dir() / 'crashes',
                              meson.current_source_dir() / 'state.txt'], is_parallel: false)
"""
SCRIPT = """\
ulimit -c 0
n=$(cat "$1" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$1"
if [ $((n % 3)) -eq 0 ]; then echo "harness: lost the monitor"; exit 1; fi
grep -q bug "$2" || exit 0
if [ $((n % 2)) -eq 1 ]; then kill -SEGV $$; fi
"""
# The same crash, without the harness's failures.
CRASH_ONLY = """\
ulimit -c 0
n=$(cat "$1" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$1"
grep -q bug "$2" || exit 0
echo "starting run $n"
if [ $((n % 2)) -eq 1 ]; then kill -SEGV $$; fi
"""
CULPRIT = 3


def _meson_repo(path: Path) -> list[str]:
    files = {"meson.build": MESON, "regress.sh": SCRIPT, "crash.sh": CRASH_ONLY}
    return script_project(path, files, CULPRIT, 8)


def test_the_signal_that_ended_a_run_is_read_and_shown(tmp_path: Path) -> None:
    """Proc's words for a run a signal ended: a process killed by it, and a shell's exit code
    reporting its child killed so; a run that exited is left as it is."""
    killed = proc.run(["sh", "-c", "ulimit -c 0; echo started; kill -SEGV $$"], cwd=tmp_path)
    assert killed.returncode == -11
    assert proc.with_signal(killed.text(), killed.returncode) == "started\nkilled by signal 11 SIGSEGV\n"
    shell = proc.run(["sh", "-c", "ulimit -c 0; sh -c 'kill -ABRT $$'"], cwd=tmp_path)
    assert shell.returncode == 134
    assert proc.with_signal("", shell.returncode) == "(exit status 134 or signal 6 SIGABRT)\n"
    assert proc.with_signal("failed", 1) == "failed" and proc.signal_words(0) == ""
    # and what a test's stats count as its crashes: the line after the output, not a mention in it
    assert proc.signal_of(proc.with_signal(killed.text(), killed.returncode)) == "SIGSEGV"
    assert proc.signal_of(proc.with_signal("", shell.returncode)) == "SIGABRT"
    assert proc.signal_of("the last run was killed by signal 11 SIGSEGV, then this one\nfailed\n") is None


def test_a_crash_that_prints_nothing_is_matched_in_a_meson_bisect(tmp_path: Path) -> None:
    """`patchtool test` shows a crashed run's signal as its output, and `bisect --test
    --fail-match SIGSEGV` counts the crashes as the regression and the harness's failures apart."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    shas = _meson_repo(repo)
    tested = run_patchtool("test", "regress", "--repeat", "4", "--rev", shas[-1], "--repo", repo, "--json",
                           env=env)  # fmt: skip
    assert tested.code == 1, tested.stderr[-2000:]
    stats = json.loads(tested.stdout)["tests"][0]
    assert stats["failures"] == 2  # run 1 crashed, run 3 lost the monitor
    assert "killed by signal 11 SIGSEGV" in stats["first_failures"][0]
    assert stats["crashes"] == {"SIGSEGV": 1}
    assert stats["failed_ways"] == [  # run 1 crashed first
        {"ending": "killed by signal 11 SIGSEGV", "runs": 1},
        {"ending": "harness: lost the monitor", "runs": 1},
    ]
    # the same runs from the store: counted alike from the output kept there
    stored = run_patchtool("test", "regress", "--repeat", "4", "--rev", shas[-1], "--repo", repo, env=env)
    assert "(stored results)" in stored.stdout, stored.stdout
    assert "regress: FLAKY — 2/4 failed, 1 crashed (SIGSEGV), rate 50%" in stored.stdout
    ways = "failed 2 ways (bisect --fail-match REGEX counts one, the rest apart):\n"
    ways += "        1 run: killed by signal 11 SIGSEGV\n        1 run: harness: lost the monitor\n"
    assert ways in stored.stdout

    args = ["bisect", "--good", shas[0], "--bad", "main", "--test", "regress", "--repo", repo,
            "--no-revert-test", "--fail-match", "signal 11 SIGSEGV", "--json"]  # fmt: skip
    done = run_patchtool(*args, env=env, timeout=600)
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT] and report["stop_reason"] == "confident"
    assert report["unusable_runs"] > 0  # the harness's failures, counted apart
    # the ways the search's failures ended: the crashes counted, none of them on a good commit;
    # the harness's apart, on both sides
    crashed, lost = report["failed_ways"]
    assert crashed["ending"] == "killed by signal 11 SIGSEGV" and crashed["verdict"] == "fail"
    assert crashed["on_good_side"] == 0 and crashed["runs"] >= report["culprit_counts"][0] > 0
    assert lost == {"ending": "harness: lost the monitor", "verdict": "other-failure",
                    "runs": report["unusable_runs"], "on_good_side": lost["on_good_side"]}  # fmt: skip
    assert 0 < lost["on_good_side"] < lost["runs"]
    # and from the store, for a search that resumes (every run reused)
    again = run_patchtool(*args[:-1], env=env, timeout=600)
    assert again.code == 0, again.stderr[-2000:]
    assert f"({report['runs']} reused from the store)" in again.stdout, again.stdout
    head = "  failed runs ended 2 ways (those --fail-match did not match counted apart):\n"
    lines = f"    {crashed['runs']} runs: killed by signal 11 SIGSEGV\n"
    lines += f"    {lost['runs']} runs, {lost['on_good_side']} on good commits, counted apart:"
    lines += " harness: lost the monitor\n"
    assert head + lines in again.stdout, again.stdout


def test_a_pattern_that_misses_is_shown_what_the_failures_said(tmp_path: Path) -> None:
    """A --fail-match that no failure matches (the crash prints no assertion): the search does
    not name a commit, and shows how the newest run that did not count ended, in the words and
    in --json."""
    repo, env = tmp_path / "repo", meson_env(tmp_path)
    shas = _meson_repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--test", "crash-only", "--repo", repo,
            "--no-revert-test", "--fail-match", "Assertion .* failed", "--max-runs", "30"]  # fmt: skip
    done = run_patchtool(*args, "--json", env=env, timeout=600)
    report = json.loads(done.stdout)
    assert report["culprit"] is None and report["unusable_runs"] > 0, done.stderr[-2000:]
    newest = report["newest_unusable"]
    assert newest["verdict"] == "other-failure" and newest["commit"]["sha"] in shas[CULPRIT:]
    assert newest["ending"] == [newest["ending"][0], "killed by signal 11 SIGSEGV"]
    assert newest["ending"][0].startswith("starting run ")
    human = run_patchtool(*args, env=env, timeout=600)
    assert "failed otherwise) ended:\n      starting run" in human.stdout, human.stdout
    assert "      killed by signal 11 SIGSEGV\n" in human.stdout


# The --run form: the script becomes the Python process (exec), which kills itself with SIGSEGV
# in about half the runs from "bug" on, printing nothing; everywhere, 15 % of the runs fail
# another way first. The coin is seeded by a counter outside the repository, as in FLAKY.
CRASHER = """#!/bin/sh
exec "$BISECT_PYTHON" -c '
import os, random, resource, signal, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
path = os.environ["BISECT_COUNTER"]
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
coin = random.Random(n).random()
if coin < 0.15:
    print("harness: lost the monitor")
    sys.exit(1)
if "bug" in open("state.txt").read() and coin < 0.6:
    os.kill(os.getpid(), signal.SIGSEGV)
'
"""


def test_a_command_a_signal_kills_failed_and_its_run_reads_so(tmp_path: Path) -> None:
    """Unlike `git bisect run`, which aborts, a --run command that crashes failed (meson counts a
    test so), and --fail-match finds the signal in its run."""
    repo = tmp_path / "repo"

    def commit(i: int) -> tuple[dict[str, str], str]:
        return {"state.txt": "bug\n" if i >= 9 else "fine\n"}, f"commit {i}"

    shas = make_script_repo(repo, CRASHER, 16, commit)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--fail-match", "SIGSEGV",
            "--repo", repo, "--no-revert-test", "--json"]  # fmt: skip
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[9] and report["stop_reason"] == "confident"
    assert report["unusable_runs"] > 0


def test_a_shells_report_of_a_signal_still_aborts_and_says_how_to_count_it(tmp_path: Path) -> None:
    """A script's own exit of 129-159 aborts as git bisect run's does; the hint names the signal."""
    repo = tmp_path / "repo"
    shas = make_script_repo(repo, "#!/bin/sh\nexit 139\n", 1, lambda i: ({}, f"commit {i}"))
    done = run_patchtool("bisect", "--good", shas[0], "--bad", shas[1], "--run", "./t.sh", "--repo", repo,
                         env=bisect_env(tmp_path))  # fmt: skip
    assert done.code == 3 and "Traceback" not in done.stderr
    assert "exited with 139" in done.stderr and "signal 11" in done.stderr and "|| exit 1" in done.stderr
