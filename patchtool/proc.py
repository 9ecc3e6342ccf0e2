"""Run subprocesses safely: argv lists only, explicit cwd, timeouts that kill the process group."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from pathlib import Path

from patchtool.errors import EnvironmentProblem
from patchtool.jsonable import record


@record
class Completed:
    """The result of a finished (or timed-out) command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def errtext(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def kill_group(popen: subprocess.Popen[bytes]) -> None:
    """Kill the whole process group started for `popen` (it was started in a new session)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)


def _environ(env: Mapping[str, str] | None, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ if env is None else env)
    if extra_env:
        merged.update(extra_env)
    return merged


# a started child: its Popen, its argv and when it started
_Started = tuple[subprocess.Popen[bytes], tuple[str, ...], float]


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str],
    timeout: float | None = 600.0,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Completed:
    """Run argv in cwd; on timeout kill its whole process group and report timed_out."""
    return _finish(_start(argv, cwd, input is not None, env, extra_env), input, timeout)


def _start(
    argv: Sequence[str | os.PathLike[str]],
    cwd: str | os.PathLike[str],
    stdin: bool,
    env: Mapping[str, str] | None,
    extra_env: Mapping[str, str] | None,
) -> _Started:
    args = [os.fspath(a) for a in argv]
    start = time.monotonic()
    try:
        popen = subprocess.Popen(
            args,
            cwd=os.fspath(cwd),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environ(env, extra_env),
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise EnvironmentProblem(f"{args[0]}: command not found", hint=f"install {Path(args[0]).name}") from e
    return popen, tuple(args), start


def _finish(started: _Started, input: bytes | None, timeout: float | None) -> Completed:
    popen, args, start = started
    try:
        out, err = popen.communicate(input=input, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(popen)
        out, err = popen.communicate()
        timed_out = True
    except BaseException:
        kill_group(popen)
        popen.wait()
        raise
    return Completed(args, popen.returncode, out, err, time.monotonic() - start, timed_out)


def signal_words(returncode: int) -> str:
    """How a run that a signal ended reads, in meson's words, or "" when none did: "killed by
    signal 11 SIGSEGV" for a process the signal killed (a negative returncode), "(exit status 139
    or signal 11 SIGSEGV)" for 129-159, the code a shell between gives a child the signal killed.

    A test that crashes often prints nothing at all; these words are what a pattern
    (``--fail-match SIGSEGV``) can find in its run, and what a reader sees of it."""
    if not (returncode < 0 or 128 < returncode < 160):
        return ""
    number = -returncode if returncode < 0 else returncode - 128
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "SIGinvalid"
    if returncode < 0:
        return f"killed by signal {number} {name}"
    return f"(exit status {returncode} or signal {number} {name})"


# signal_words' two forms, as the last line of a run's output (with_signal)
_SIGNAL_LINE = re.compile(
    r"^(?:killed by signal \d+ (SIG\w+)|\(exit status \d+ or signal \d+ (SIG\w+)\))\s*\Z", re.MULTILINE
)


def signal_of(output: str) -> str | None:
    """The name of the signal that ended a run ("SIGSEGV"), read back from the line with_signal
    put after its output (a stored run keeps its output, not its return code); None when none."""
    found = _SIGNAL_LINE.search(output[-200:])
    return (found.group(1) or found.group(2)) if found else None


def last_lines(output: str, count: int, width: int) -> tuple[str, ...]:
    """The last ``count`` non-blank lines of a run's output, stripped, each cut to its last
    ``width`` characters ("…" before what was cut): how the run ended, to be shown."""
    kept = [line.strip() for line in output.splitlines() if line.strip()][-count:]
    return tuple(line if len(line) <= width else "…" + line[-width:] for line in kept)


def with_signal(output: str, returncode: int) -> str:
    """A run's output, and on a line after it the signal that ended the run if one did."""
    if not (words := signal_words(returncode)):
        return output
    return output + ("\n" if output and not output.endswith("\n") else "") + words + "\n"


def usable_cpus() -> int:
    """The processors this process may run on (its affinity where the system tells it)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def run_all(
    commands: Sequence[Sequence[str | os.PathLike[str]]],
    *,
    cwd: str | os.PathLike[str],
    timeout: float | None = 600.0,
    jobs: int | None = None,
) -> list[Completed]:
    """Run each argv as run() does, up to ``jobs`` at once (default: the usable CPUs); the results
    in the order of ``commands``, each with its own timeout.

    Leaving early (Ctrl-C, a command not found) kills every child already started before the
    error goes on: none is left running, and none is started after it.
    """
    jobs = max(1, min(jobs or usable_cpus(), len(commands)))
    if jobs == 1:
        return [run(argv, cwd=cwd, timeout=timeout) for argv in commands]
    live: set[subprocess.Popen[bytes]] = set()
    lock = threading.Lock()
    stopping = threading.Event()

    def one(argv: Sequence[str | os.PathLike[str]]) -> Completed:
        with lock:
            if stopping.is_set():
                raise _Stopped
            started = _start(argv, cwd, False, None, None)
            live.add(started[0])
        try:
            return _finish(started, None, timeout)
        finally:
            with lock:
                live.discard(started[0])

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="proc-run") as pool:
        futures = [pool.submit(one, argv) for argv in commands]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)  # an error ends the wait at once
            for f in futures:
                if f in done and (error := f.exception()) is not None:
                    raise error
            return [f.result() for f in futures]
        except BaseException:
            with lock:
                stopping.set()
                for popen in live:
                    kill_group(popen)
            for f in futures:
                f.cancel()
            raise


class _Stopped(Exception):
    """A command not started because run_all is leaving early."""


@contextmanager
def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = subprocess.STDOUT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a long-running child in its own process group; kill the group if the caller leaves early.

    Use for builds and test loops that stream output to a progress display. Ctrl-C in the
    caller (KeyboardInterrupt) kills the children before propagating.
    """
    args = [os.fspath(a) for a in argv]
    try:
        popen = subprocess.Popen(
            args,
            cwd=os.fspath(cwd),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=_environ(env, extra_env),
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise EnvironmentProblem(f"{args[0]}: command not found", hint=f"install {Path(args[0]).name}") from e
    try:
        yield popen
    finally:
        if popen.poll() is None:
            kill_group(popen)
            popen.wait()
