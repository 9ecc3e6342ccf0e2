"""Commit messages for applied patches: the patch's message plus collected trailers, as `b4 am` does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from patchtool.models import Patch, Trailer

_TRAILER_LINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*:\s")


def _is_trailer_block(paragraph: Sequence[str]) -> bool:
    """A paragraph of trailers (continuations and `(cherry picked ...)` / `[mjt: ...]` notes allowed)."""
    if not paragraph or not _TRAILER_LINE.match(paragraph[0]):
        return False
    return all(_TRAILER_LINE.match(line) or line[:1] in (" ", "\t", "(", "[") for line in paragraph)


def _key(line: str) -> str:
    key, _, value = line.partition(":")
    return f"{key.strip().lower()}:{' '.join(value.split()).lower()}"


def trailer_line(trailer: Trailer) -> str:
    return f"{trailer.key}: {trailer.value.strip()}"


def stripspace(text: str) -> list[str]:
    """The lines `git stripspace` keeps (as `git am` cleans a message): trailing whitespace removed,
    runs of blank lines made one, none at either end. Only LF ends a line; a lone CR is text."""
    kept: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip(" \t\r\v\f")
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return kept


def build_message(title: str, body: str, extra_lines: Iterable[str] = ()) -> str:
    """`title`, the body, and `extra_lines` appended to its trailer block, skipping exact duplicates."""
    lines = stripspace(body)
    last_blank = max((i for i, line in enumerate(lines) if not line.strip()), default=-1)
    has_block = _is_trailer_block(lines[last_blank + 1 :])
    seen = {_key(line) for line in lines[last_blank + 1 :]} if has_block else set()
    added = []
    for line in extra_lines:
        if _key(line) not in seen:
            seen.add(_key(line))
            added.append(line)
    if added and lines and not has_block:
        lines.append("")
    lines += added
    text = title.strip()
    if lines:
        text += "\n\n" + "\n".join(lines)
    return text + "\n"


def patch_message(patch: Patch, extra_lines: Iterable[str] = ()) -> str:
    """The message `git am` would record, with the review trailers collected from replies added."""
    review = [trailer_line(t) for t in patch.review_trailers]
    return build_message(patch.title, patch.message, [*review, *extra_lines])
