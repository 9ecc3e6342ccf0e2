"""Commit messages for applied patches: the patch's message plus collected trailers, as `b4 am` does."""

from __future__ import annotations

from collections.abc import Iterable

from patchtool.models import Patch, Trailer
from patchtool.parse.trailers import trailer_block, trailer_text


def _key(line: str) -> str:
    key, _, value = line.partition(":")
    return f"{key.strip().lower()}:{' '.join(value.split()).lower()}"


def trailer_line(trailer: Trailer) -> str:
    return trailer_text(trailer)


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
    _, block = trailer_block("\n".join(lines))
    has_block = bool(block)
    seen = {_key(line) for line in block}
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
