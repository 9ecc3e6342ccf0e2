"""Series from local mail: an mbox file, a maildir, a directory of .eml/.patch files, or stdin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from patchtool.errors import InputError
from patchtool.models import Provenance, RawMessage, RawThread
from patchtool.parse.mail import iter_mbox

MAIL_SUFFIXES = (".eml", ".patch", ".mbox", ".mbx", ".msg", ".diff", ".txt", ".mail")
# Mail to read is bounded: a compressed mbox must not expand without limit.
MAX_BYTES = 256 * 1024 * 1024


def is_local(ref: str) -> bool:
    """A local source is "-" (stdin) or a path that exists (a name too long or with a NUL is none)."""
    try:
        return ref == "-" or Path(ref).exists()
    except (OSError, ValueError):
        return False


class _Bounded:
    """The lines of a mail stream, refusing more than MAX_BYTES; notes whether any text was seen."""

    def __init__(self, fh: BinaryIO, name: str) -> None:
        self.fh, self.name, self.total, self.text = fh, name, 0, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for line in self.fh:
                self.total += len(line)
                if self.total > MAX_BYTES:
                    raise InputError(f"{self.name}: larger than {MAX_BYTES // (1024 * 1024)} MiB of mail")
                self.text = self.text or bool(line.strip())
                yield line
        except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
            raise InputError(f"{self.name}: cannot be read ({e})") from e


def _messages_of(lines: _Bounded, origin: str) -> list[RawMessage]:
    # Streamed: a large mbox is held once (as its messages), never twice (input and messages).
    return [RawMessage(m, f"{origin}#{i}") for i, m in enumerate(iter_mbox(lines), 1)]


def _open(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        import gzip  # only for .gz files

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _read_file(path: Path) -> tuple[list[RawMessage], bool]:
    """The messages of one file (gzip allowed) and whether it held any text at all."""
    try:
        with _open(path) as fh:
            lines = _Bounded(fh, str(path))
            return _messages_of(lines, f"file:{path}"), lines.text
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e})") from e


def _dir_files(path: Path) -> list[Path]:
    if (path / "cur").is_dir() or (path / "new").is_dir():  # a maildir: every file is one message
        return sorted(
            f
            for sub in ("cur", "new")
            if (path / sub).is_dir()
            for f in (path / sub).iterdir()
            if f.is_file()
        )
    return sorted(
        f for f in path.iterdir() if f.is_file() and f.name.lower().endswith((*MAIL_SUFFIXES, ".gz"))
    )


def read_paths(paths: list[Path]) -> list[RawMessage]:
    """Messages of several files, in the given order (format-patch numbering sorts by name)."""
    messages: list[RawMessage] = []
    for file in paths:
        found, text = _read_file(file)
        if not text:
            raise InputError(f"{file}: empty file")
        if not found:
            raise InputError(f"{file}: not mail (no message headers found)")
        messages += found
    return messages


def read_local(source: str, stdin: BinaryIO | None) -> RawThread:
    """Read the mail of a local SOURCE: a file, a maildir, a directory of mail files, or "-"."""
    if source == "-":
        if stdin is None:
            raise InputError("-: no standard input to read")
        lines = _Bounded(stdin, "-")
        messages = _messages_of(lines, "stdin")
        if not lines.text:
            raise InputError("-: empty input on stdin")
        if not messages:
            raise InputError("-: not mail (no message headers found)")
        return RawThread(tuple(messages), (Provenance("stdin", "-", f"{len(messages)} messages"),))
    path = Path(source)
    if path.is_dir():
        files = _dir_files(path)
        if not files:
            raise InputError(
                f"{path}: no mail files (maildir, or {', '.join(MAIL_SUFFIXES)}) in this directory"
            )
    elif path.exists():
        files = [path]
    else:
        raise InputError(f"{path}: no such file or directory")
    messages = read_paths(files)
    return RawThread(tuple(messages), (Provenance("file", str(path), f"{len(messages)} messages"),))


def read_many(sources: list[str]) -> RawThread:
    """Several local sources (e.g. the files `git format-patch` wrote) read as one thread."""
    messages: list[RawMessage] = []
    for source in sources:
        messages += read_local(source, None).messages
    return RawThread(tuple(messages), tuple(Provenance("file", s, "") for s in sources))
