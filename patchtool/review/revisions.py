"""Two revisions of a series compared: patches matched, what changed, and whether review was answered.

Patches are matched the way a reviewer would pair them (parse/pairing.py): first by patch-id (the
same change, even renumbered or retitled), then by title, then by how much of the changed lines
they share. For every comment of a reply to the older revision that sits under quoted diff lines,
the newer revision says whether those lines changed; for every review trailer, whether the author
carried it over.
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import unquote

from patchtool.config import Settings
from patchtool.errors import InputError
from patchtool.jsonable import record
from patchtool.models import Patch, RawThread, Revision, Series, Trailer
from patchtool.parse.difftext import split_files
from patchtool.parse.pairing import pair_patches
from patchtool.parse.series import build_series
from patchtool.review.replies import answered_patch, comments, reply_bodies, split_reply

UNCHANGED, CHANGED, NEW, DROPPED = "unchanged", "changed", "new", "dropped"
_INDEX = re.compile(r"^index [0-9a-f]+\.\.[0-9a-f]+")
_HUNK = re.compile(r"^@@ [^@]* @@")
_CHANGES = re.compile(r"^\s*(changes\s+(in|since|from)\b|v\d+\s*[:-]|since\s+v\d+)", re.IGNORECASE)


@record
class PatchPair:
    """One patch of the older and/or newer revision and how it moved between them."""

    old: Patch | None
    new: Patch | None
    status: str  # unchanged | changed | new | dropped
    matched_by: str = ""  # patch-id | title | similarity
    similarity: float = 0.0
    interdiff: str = ""


@record
class CommentCheck:
    """A reviewer's comment on quoted lines of the older revision, looked for in the newer one.

    The report shows it as it is (no view copy of its fields)."""

    reviewer: str
    date: str | None
    old_label: str
    new_label: str | None
    file: str | None
    lines: tuple[str, ...]
    text: str
    addressed: str  # changed | unchanged | patch dropped
    msgid: str


@record
class TrailerCarry:
    """A review trailer given on the older revision, and whether the newer one carries it."""

    trailer: Trailer
    old_label: str
    new_label: str | None
    carried: bool


@record
class RevisionComparison:
    old: int
    new: int
    pairs: tuple[PatchPair, ...]
    comments: tuple[CommentCheck, ...]
    trailers: tuple[TrailerCarry, ...]
    changes: str  # the "Changes in vN" notes of the newer cover letter


def interdiff(old: Patch, new: Patch, labels: tuple[str, str] = ("old", "new")) -> str:
    """The diff between two versions of one patch's diff (index lines and hunk offsets left out)."""

    def lines(p: Patch) -> list[str]:
        kept = [line for line in p.diff.splitlines() if not _INDEX.match(line)]
        return [_HUNK.sub("@@", line) if line.startswith("@@") else line for line in kept]

    return "\n".join(difflib.unified_diff(lines(old), lines(new), labels[0], labels[1], n=2, lineterm=""))


def match_patches(old: Revision, new: Revision) -> tuple[PatchPair, ...]:
    """Every patch of both revisions, paired when they are one patch; in the newer revision's order."""
    olds, news = list(old.patches), list(new.patches)
    names = (f"v{old.number}", f"v{new.number}")
    found = pair_patches(olds, news)
    pairs = [
        PatchPair(
            o,
            n,
            UNCHANGED if key == "patch-id" else CHANGED,
            key,
            round(score, 2),
            "" if key == "patch-id" else interdiff(o, n, names),
        )
        for o, n, key, score in found
    ]
    pairs += [PatchPair(None, n, NEW) for n in news]
    pairs += [PatchPair(o, None, DROPPED) for o in olds]
    return tuple(sorted(pairs, key=_order))


def _order(p: PatchPair) -> tuple[int, int]:
    if p.new is not None:
        return (p.new.index, 0)
    assert p.old is not None
    return (p.old.index, 1)  # a dropped patch sits where it was


def _label(p: Patch | None) -> str | None:
    return f"{p.index}/{p.total}" if p is not None else None


def _still_there(lines: tuple[str, ...], file: str | None, new: Patch) -> bool:
    """Whether every commented line is still a line of the newer patch's diff, in the same file."""
    present = {
        f"{d.kind}{d.text}".rstrip()
        for fd in split_files(new.diff)
        if file in (None, fd.path)
        for d in fd.lines
    }
    return all(line.rstrip() in present for line in lines)


def check_comments(
    old: Revision, pairs: tuple[PatchPair, ...], bodies: dict[str, str]
) -> tuple[CommentCheck, ...]:
    """For each comment under quoted diff lines in a reply to the older revision: did those lines change?"""
    newer = {id(p.old): p for p in pairs if p.old is not None}
    out = []
    for reply in old.replies:
        patch = answered_patch(reply, old)
        if patch is None or reply.msgid not in bodies:
            continue
        pair = newer.get(id(patch))
        for c in comments(split_reply(bodies[reply.msgid], patch)):
            if pair is None or pair.new is None:
                addressed = "patch dropped"
            elif pair.status == UNCHANGED:
                addressed = UNCHANGED
            else:
                addressed = UNCHANGED if _still_there(c.lines, c.file, pair.new) else CHANGED
            out.append(
                CommentCheck(
                    str(reply.sender),
                    reply.date.isoformat() if reply.date else None,
                    _label(patch) or "",
                    _label(pair.new if pair else None),
                    c.file,
                    c.lines,
                    c.text,
                    addressed,
                    reply.msgid,
                )
            )
    return tuple(out)


def _carries(patch: Patch, trailer: Trailer) -> bool:
    email = trailer.address.email.lower() if trailer.address else None
    for t in (*patch.trailers, *patch.review_trailers):
        if t.key.lower() != trailer.key.lower():
            continue
        if (email and t.address and t.address.email.lower() == email) or t.value == trailer.value:
            return True
    return False


def check_trailers(old: Revision, new: Revision, pairs: tuple[PatchPair, ...]) -> tuple[TrailerCarry, ...]:
    """Review trailers given in replies to the older revision, and whether the newer one has them."""
    newer = {id(p.old): p.new for p in pairs if p.old is not None}
    out = []
    for reply in old.replies:
        patch = answered_patch(reply, old)
        targets = [newer.get(id(patch))] if patch is not None else list(new.patches)
        for trailer in reply.trailers:
            carried = bool(targets) and all(t is not None and _carries(t, trailer) for t in targets)
            label = _label(targets[0]) if patch is not None and targets else None
            out.append(TrailerCarry(trailer, _label(patch) or "cover", label, carried))
    return tuple(out)


def changes_notes(revision: Revision) -> str:
    """The "Changes in vN" part of a revision's cover letter (from that line to the next blank line pair)."""
    if revision.cover is None:
        return ""
    lines = revision.cover.body.splitlines()
    start = next((i for i, line in enumerate(lines) if _CHANGES.match(line)), None)
    if start is None:
        return ""
    out: list[str] = []
    for line in lines[start:]:
        if not line.strip() and out and not out[-1].strip():
            break
        if re.match(r"^(Supersedes|Based-on):", line):
            break
        out.append(line)
    return "\n".join(out).strip()


def compare_revisions(series: Series, raw: RawThread | None, old: int, new: int) -> RevisionComparison:
    """Revision `old` against revision `new` of the same thread."""
    by_number = {r.number: r for r in series.revisions}
    for n in (old, new):
        if n not in by_number:
            found = ", ".join(f"v{r.number}" for r in series.revisions)
            raise InputError(f"revision {n} is not in the thread (it has {found})")
    if old == new:
        raise InputError(f"--from and --to both name v{old}: nothing to compare")
    older, newer = by_number[old], by_number[new]
    pairs = match_patches(older, newer)
    bodies = reply_bodies(raw)
    return RevisionComparison(
        old,
        new,
        pairs,
        check_comments(older, pairs, bodies),
        check_trailers(older, newer, pairs),
        changes_notes(newer),
    )


_ARCHIVE_LINK = re.compile(
    r"^\s*v\d+\s*:\s*https?://(?:lore\.kernel\.org|patchew\.org)/[^/\s]+/([^/\s]+@[^/\s]+)/?\s*$"
)


def archive_links(revision: Revision) -> tuple[str, ...]:
    """Message-ids of earlier revisions named by `v1: https://lore.kernel.org/<list>/<msgid>/` lines."""
    body = revision.cover.body if revision.cover else "\n".join(p.notes for p in revision.patches)
    found = (m.group(1) for line in body.splitlines() if (m := _ARCHIVE_LINK.match(line)))
    return tuple(dict.fromkeys(unquote(x) for x in found))


def with_older_revision(
    raw: RawThread, series: Series, settings: Settings, wanted: int | None = None
) -> tuple[RawThread, Series]:
    """The thread with the revision it supersedes added, when it lacks one and `Supersedes:` names it."""
    have = {r.number for r in series.revisions if r.patches}
    if (wanted in have) or (wanted is None and any(n < series.chosen for n in have)):
        return raw, series
    names = (*series.revision.supersedes, *archive_links(series.revision))
    if not names:
        return raw, series
    from patchtool.fetch import resolve_source

    older = resolve_source(names[0], settings)
    merged = RawThread(
        raw.messages + older.messages, raw.provenance + older.provenance, raw.wanted_msgid, dict(raw.extras)
    )
    return merged, build_series(merged, revision=series.chosen)


def default_pair(series: Series) -> tuple[int, int] | None:
    """The chosen revision and the one before it in the thread, when there is one."""
    numbers = [r.number for r in series.revisions if r.patches]
    older = [n for n in numbers if n < series.chosen]
    return (max(older), series.chosen) if older else None
