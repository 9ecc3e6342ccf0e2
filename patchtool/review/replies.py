"""Review replies read as a reviewer reads them: quoted parts, the reviewer's own text, what they answer.

A reply's body is split into quote blocks (`> ` lines) and text blocks. A quote block whose lines
are lines of the answered patch's diff is a quoted hunk; the text after it is a comment on the last
lines of that hunk (reviewers quote down to the line they mean, then write).
"""

from __future__ import annotations

import itertools
import re

from patchtool.errors import PatchtoolError
from patchtool.jsonable import record
from patchtool.models import Patch, RawThread, Reply, Revision
from patchtool.parse.difftext import split_files
from patchtool.parse.mail import parse_mail

# An attribution line ("On Mon, 2 Mar 2026, Ann wrote:", "Ann <a@b> writes:") introduces a quote.
_ATTRIBUTION = re.compile(r"(wrote|writes|a écrit|schrieb)\s*:\s*$", re.IGNORECASE)
# What reviewers put where they cut a quote.
_ELISION = re.compile(r"^\s*(\[\.\.\.\]|\[snip\]|<snip>|\.\.\.|\[\s*\.\.\.\s*\])\s*$", re.IGNORECASE)
_COMMENTED = 3  # diff lines just above a comment that the comment is about
_SIGNATURE = "-- "


@record
class ReplyBlock:
    """A run of quoted or own lines of a reply."""

    quoted: bool
    lines: tuple[str, ...]  # without the `> ` marker for quotes
    file: str | None = None  # the patch file a quoted hunk comes from
    diff_lines: tuple[str, ...] = ()  # the quoted lines that are lines of the answered diff


@record
class Comment:
    """Reviewer text written under quoted diff lines: the lines it is about and what it says."""

    file: str | None
    lines: tuple[str, ...]  # the last quoted diff lines above the text, with their +/-/space marker
    text: str


def reply_bodies(raw: RawThread | None) -> dict[str, str]:
    """The text body of every message of a raw thread, by message-id."""
    if raw is None:
        return {}
    bodies: dict[str, str] = {}
    for message in raw.messages:
        try:
            mail = parse_mail(message)
        except PatchtoolError:  # a message the series parser skipped has no thread entry either
            continue
        bodies.setdefault(mail.msgid, mail.body)
    return bodies


def _unquote(line: str) -> str:
    rest = line[1:]
    return rest[1:] if rest.startswith(" ") else rest


def _raw_blocks(body: str) -> list[tuple[bool, list[str]]]:
    blocks: list[tuple[bool, list[str]]] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if line == _SIGNATURE:
            break  # the reviewer's signature is not part of the review
        quoted = line.startswith(">")
        text = _unquote(line) if quoted else line
        if not quoted and _ELISION.match(line) and blocks and blocks[-1][0]:
            blocks[-1][1].append("[...]")
            continue
        if blocks and blocks[-1][0] == quoted:
            blocks[-1][1].append(text)
        else:
            blocks.append((quoted, [text]))
    return blocks


def _trim(lines: list[str]) -> tuple[str, ...]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return tuple(lines)


def split_reply(body: str, patch: Patch | None = None) -> tuple[ReplyBlock, ...]:
    """The reply's quote and text blocks; quoted hunks of `patch` carry their file and diff lines."""
    blocks = _raw_blocks(body)
    out: list[ReplyBlock] = []
    for i, (quoted, lines) in enumerate(blocks):
        if not quoted and i + 1 < len(blocks) and lines and _ATTRIBUTION.search(lines[-1].strip()):
            lines = lines[:-1]  # "X wrote:" says nothing the thread view does not show
        kept = _trim(lines)
        if not kept:
            continue
        if quoted and patch is not None:
            file, diff_lines = locate_quote(kept, patch)
            out.append(ReplyBlock(True, kept, file, diff_lines))
        else:
            out.append(ReplyBlock(quoted, kept))
    return tuple(out)


def _diff_line(line: str) -> str | None:
    """The quoted line as a diff line (`+x`, `-x`, ` x`), or None when it cannot be one."""
    if line == "":
        return " "  # a blank context line loses its space when quoted
    if line[0] in "+- " and not line.startswith(("+++ ", "--- ", "---")):
        return line
    return None


def locate_quote(lines: tuple[str, ...], patch: Patch) -> tuple[str | None, tuple[str, ...]]:
    """Which file of the patch the quoted lines come from, and those of them that are its diff lines."""
    best: tuple[int, str | None, tuple[str, ...]] = (0, None, ())
    for fd in split_files(patch.diff):
        present = {f"{d.kind}{d.text}".rstrip() for d in fd.lines}
        found = tuple(x for line in lines if (x := _diff_line(line)) is not None and x.rstrip() in present)
        changed = sum(1 for x in found if x[0] in "+-")
        if changed > best[0]:
            best = (changed, fd.path, found)
    return best[1], best[2]


def comments(blocks: tuple[ReplyBlock, ...]) -> tuple[Comment, ...]:
    """Each text block that follows a quoted hunk, with the diff lines just above it."""
    out = []
    for previous, block in itertools.pairwise(blocks):
        if block.quoted or not previous.quoted or not previous.diff_lines:
            continue
        marked = [x for x in previous.diff_lines if x[0] in "+-"]
        out.append(Comment(previous.file, tuple(marked[-_COMMENTED:]), "\n".join(block.lines)))
    return tuple(out)


def answered_patch(reply: Reply, revision: Revision) -> Patch | None:
    """The patch of `revision` a reply answers (None for the cover or when unknown)."""
    return next((p for p in revision.patches if f"{p.index}/{p.total}" == reply.answers), None)


def thread_depths(replies: tuple[Reply, ...], roots: set[str]) -> dict[str, int]:
    """How deep each reply sits below the patch or cover it answers (1 = a direct answer)."""
    parent = {r.msgid: r.in_reply_to for r in replies}
    depths: dict[str, int] = {}
    for r in replies:
        depth, up, seen = 1, r.in_reply_to, {r.msgid}
        while up is not None and up in parent and up not in roots and up not in seen:
            seen.add(up)
            depth, up = depth + 1, parent[up]
        depths[r.msgid] = depth
    return depths
