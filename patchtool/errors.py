"""The one error type of patchtool, its subclasses, and the exit codes they map to."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes from the house style: a CI bot must tell "bad patch" from "broken tool"."""

    OK = 0
    VERDICT = 1  # a negative verdict: does not apply, build, or tests fail
    USAGE = 2  # bad command line or bad input named by the user
    ENVIRONMENT = 3  # tool or environment error: network, git, meson missing, bad config
    INTERRUPTED = 130


class PatchtoolError(Exception):
    """An error with a one-line message naming the object, an optional hint, and an exit code."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(PatchtoolError):
    """The input the user named is unusable (empty file, not mail, mangled patch...)."""

    exit_code = ExitCode.USAGE


class UsageError(PatchtoolError):
    """The command line is inconsistent."""

    exit_code = ExitCode.USAGE


class VerdictError(PatchtoolError):
    """A negative verdict reached as an error (e.g. an incomplete series without --allow-incomplete)."""

    exit_code = ExitCode.VERDICT


class EnvironmentProblem(PatchtoolError):
    """A tool or the machine is missing something (compiler, meson, git)."""

    exit_code = ExitCode.ENVIRONMENT


class GitError(PatchtoolError):
    """A git command failed."""

    exit_code = ExitCode.ENVIRONMENT


class FetchError(PatchtoolError):
    """A remote source could not supply what was asked."""

    exit_code = ExitCode.ENVIRONMENT

    def __init__(self, url: str, message: str, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(f"{url}: {message}", hint)
        self.url = url
        self.status = status


class NotCachedError(FetchError):
    """--offline was given and the cache lacks the answer."""


class Interrupted(PatchtoolError):
    """The user pressed Ctrl-C; what was measured so far is kept."""

    exit_code = ExitCode.INTERRUPTED
