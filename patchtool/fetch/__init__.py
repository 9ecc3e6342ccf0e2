"""Where a series lives: resolve a SOURCE the user typed to the raw mail of its thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from patchtool.errors import InputError

if TYPE_CHECKING:  # a local file needs no settings: platformdirs stays out of `patchtool fetch FILE`
    from patchtool.config import Settings
    from patchtool.models import RawThread


def resolve_source(
    ref: str,
    settings: Settings,
    *,
    repo: Path | None = None,
    stdin: BinaryIO | None = None,
) -> RawThread:
    """Local forms (a path, several paths, `-`) are read from disk; anything else is remote."""
    from patchtool.fetch import local

    if local.is_local(ref):
        return local.read_local(ref, stdin)
    try:
        from patchtool.fetch import remote
    except ImportError as e:  # remote sources are optional until that module exists
        raise InputError(f"{ref}: no such file, and remote sources are not available") from e
    return remote.resolve_remote(ref, settings, repo=repo)
