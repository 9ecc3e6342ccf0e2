"""Refuse a series whose diffs reach outside the tree, before any of it is applied.

git apply refuses such paths too, but as a tool failure with an absolute path in its text; a
hostile series is bad input, so it is named here, patch by patch, with exit 2:
`patch 2/3 "subject": refuses path ../x outside the tree`. Paths are read with the same reader
the engine uses to load the index (parse.difftext), from the diff that is going to be applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from patchtool.errors import InputError
from patchtool.models import Patch
from patchtool.parse.difftext import split_files

SYMLINK_MODE = "120000"


class Planned(Protocol):
    """What the guard needs of a planned patch: the patch (for its name) and the diff to apply."""

    @property
    def patch(self) -> Patch: ...

    @property
    def diff(self) -> str: ...


def _name(patch: Patch) -> str:
    return f'patch {patch.index}/{patch.total} "{patch.title}"'


def _path_problem(path: str) -> str | None:
    parts = path.split("/")
    if path.startswith("/") or ".." in parts:
        return "outside the tree"
    if any(p.lower() == ".git" for p in parts):
        return "inside the repository's .git"
    return None


def _new_modes(diff: str) -> Iterator[str | None]:
    """For each `diff --git` section in order, the mode its file has afterwards (None: unchanged)."""
    mode: str | None = None
    started = in_header = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            if started:
                yield mode
            started, in_header, mode = True, True, None
        elif line.startswith("@@"):
            in_header = False
        elif in_header and line.startswith(("new file mode ", "new mode ")):
            mode = line.rsplit(" ", 1)[1].strip()
        elif in_header and line.startswith("deleted file mode "):
            mode = "deleted"
    if started:
        yield mode


def _through_link(path: str, links: Iterable[str]) -> str | None:
    return next((link for link in links if path.startswith(link + "/")), None)


def check_paths(planned: Iterable[Planned]) -> None:
    """InputError for the first path outside the tree, or written through a symlink made earlier."""
    links: set[str] = set()  # symlinks the series itself has created so far
    for item in planned:
        files = split_files(item.diff)
        for fd, mode in zip(files, _new_modes(item.diff), strict=False):
            for path in (p for p in (fd.old_path, fd.new_path) if p):
                if problem := _path_problem(path):
                    raise InputError(f"{_name(item.patch)}: refuses path {path} {problem}")
                if link := _through_link(path, links):
                    raise InputError(
                        f"{_name(item.patch)}: refuses to write {path} through the symlink {link} "
                        "the series creates"
                    )
            if fd.new_path and mode == SYMLINK_MODE:
                links.add(fd.new_path)
            elif mode is not None:
                links.discard(fd.new_path or fd.old_path or "")
            if fd.old_path and fd.old_path != fd.new_path:
                links.discard(fd.old_path)
