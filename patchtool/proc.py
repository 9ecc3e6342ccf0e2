"""Run subprocesses safely: argv lists only, explicit cwd, timeouts that kill the process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
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
    args = [os.fspath(a) for a in argv]
    start = time.monotonic()
    try:
        popen = subprocess.Popen(
            args,
            cwd=os.fspath(cwd),
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environ(env, extra_env),
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise EnvironmentProblem(f"{args[0]}: command not found", hint=f"install {Path(args[0]).name}") from e
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
    return Completed(tuple(args), popen.returncode, out, err, time.monotonic() - start, timed_out)


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
