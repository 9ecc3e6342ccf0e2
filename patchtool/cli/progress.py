"""Progress of long steps on stderr: a live line on a terminal (cut to its width, the step counter
first so it stays visible), plain lines at most every few seconds otherwise (a CI log shows the
build advancing) and at once when the step under way changes, nothing with --quiet."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol

from patchtool.cli.app import err


class Say(Protocol):
    """Show `text`; `step` names what is under way (a bisect's "building 1d335b1bf213", None
    between steps): text for another step than the last named is shown at once, not after the
    period."""

    def __call__(self, text: str, step: str | None = None) -> None: ...


PERIOD = 10.0  # seconds between plain lines when stderr is not a terminal


class _Live:
    """One line rewritten in place; cleared when the step ends so the result starts on a clean line."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label, self.shown = stream, label, False

    def __call__(self, text: str, step: str | None = None) -> None:
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        line = f"{self.label}: {' '.join(text.split())}"[:width]
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class _Periodic:
    """Plain lines: the first at once, then the newest state every PERIOD seconds (at once for a
    new step), and the last."""

    def __init__(self, stream: IO[str], label: str, period: float) -> None:
        self.stream, self.label, self.period = stream, label, period
        self.last = -period
        self.pending: str | None = None
        self.step: str | None = None

    def __call__(self, text: str, step: str | None = None) -> None:
        now = time.monotonic()
        self.pending = text
        new_step = step is not None and step != self.step
        self.step = self.step if step is None else step
        if new_step or now - self.last >= self.period:
            self.last = now
            self._write()

    def _write(self) -> None:
        if self.pending is not None:
            self.stream.write(f"{self.label}: {' '.join(self.pending.split())}\n")
            self.stream.flush()
            self.pending = None

    def close(self) -> None:
        self._write()  # where the step ended (the last ninja step, the last test run)


@contextmanager
def progress(label: str, *, quiet: bool = False, period: float = PERIOD) -> Iterator[Say | None]:
    """A `say(text)` for the step named `label`, or None with --quiet."""
    if quiet:
        yield None
        return
    stream: IO[str] = err.file
    shown: _Live | _Periodic = _Live(stream, label) if err.is_terminal else _Periodic(stream, label, period)
    try:
        yield shown
    finally:
        shown.close()
