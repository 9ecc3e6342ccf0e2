"""proc.run_all: several commands at once, results in order, nothing left running when it leaves early."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from patchtool import proc
from patchtool.errors import EnvironmentProblem

# Each waits (up to 20 s) for the flag of the other before it ends: two can end well only when
# they run at the same time.
_MEET = (
    "import pathlib, sys, time\n"
    "me, other = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
    "me.touch()\n"
    "end = time.monotonic() + 20\n"
    "while not other.exists() and time.monotonic() < end:\n"
    "    time.sleep(0.02)\n"
    "print(me.name)\n"
    "sys.exit(0 if other.exists() else 1)\n"
)


def _meet(tmp_path: Path, me: str, other: str) -> list[str]:
    return [sys.executable, "-c", _MEET, str(tmp_path / me), str(tmp_path / other)]


def test_run_all_runs_commands_at_once_and_gives_their_results_in_order(tmp_path: Path) -> None:
    commands = [_meet(tmp_path, "a", "b"), _meet(tmp_path, "b", "a"), ["echo", "c"]]
    done = proc.run_all(commands, cwd=tmp_path, jobs=2)
    assert [(d.returncode, d.stdout) for d in done] == [(0, b"a\n"), (0, b"b\n"), (0, b"c\n")]
    assert [d.argv[-1] for d in done] == [str(tmp_path / "b"), str(tmp_path / "a"), "c"]


def test_run_all_one_at_a_time_is_run_in_order(tmp_path: Path) -> None:
    # one job: the first waits for a partner that never starts, and is timed out on its own
    commands = [_meet(tmp_path, "a", "b"), ["echo", "c"]]
    done = proc.run_all(commands, cwd=tmp_path, jobs=1, timeout=1)
    assert done[0].timed_out and not (tmp_path / "b").exists()
    assert (done[1].timed_out, done[1].stdout) == (False, b"c\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _sleeper(tmp_path: Path, name: str) -> list[str]:
    """Writes its pid, sleeps 30 s, then leaves a mark: killed, it leaves none."""
    return ["sh", "-c", f'echo $$ > "{tmp_path / name}"; sleep 30; touch "{tmp_path / name}.done"']


def _pids(tmp_path: Path, names: list[str]) -> list[int]:
    return [int(t) for n in names if (f := tmp_path / n).exists() and (t := f.read_text().strip())]


def test_ctrl_c_in_run_all_kills_the_commands_it_started(tmp_path: Path) -> None:
    names = ["one.pid", "two.pid"]

    def interrupt_once_both_run() -> None:
        end = time.monotonic() + 20
        while len(_pids(tmp_path, names)) < 2 and time.monotonic() < end:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    # Python's own Ctrl-C (a test before may have left the CLI's handler installed)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt_once_both_run, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            proc.run_all([_sleeper(tmp_path, n) for n in names] + [["true"]], cwd=tmp_path, jobs=3)
    finally:
        signal.signal(signal.SIGINT, before)
    pids = _pids(tmp_path, names)
    assert len(pids) == 2 and not any(_alive(p) for p in pids)
    assert not list(tmp_path.glob("*.done"))


def test_a_command_not_found_ends_run_all_and_kills_the_others(tmp_path: Path) -> None:
    # the missing command comes last: its error must not wait for the sleepers before it
    names = ["one.pid"]
    missing = str(tmp_path / "no-such-command")
    with pytest.raises(EnvironmentProblem, match="no-such-command: command not found"):
        proc.run_all([_sleeper(tmp_path, "one.pid"), [missing]], cwd=tmp_path, jobs=2, timeout=60)
    assert not any(_alive(p) for p in _pids(tmp_path, names))
    assert not list(tmp_path.glob("*.done"))


def test_a_command_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    """What the README says of a run (`bisect --run`'s command; meson gives each test its own too):
    a session of its own, so a timeout kills all of it. Linux's per-session scheduling then keeps
    other sessions' load from it, which hid a real QEMU race (bench/drain_bisect.py)."""
    done = proc.run(["sh", "-c", "awk '{print $6}' /proc/$$/stat"], cwd=tmp_path)
    assert done.returncode == 0
    assert int(done.stdout) != os.getsid(0)
    both = proc.run_all([["sh", "-c", "awk '{print $6}' /proc/$$/stat"]] * 2, cwd=tmp_path, jobs=2)
    assert all(int(d.stdout) != os.getsid(0) for d in both)
