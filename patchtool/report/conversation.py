"""The conversation around a series as report records: cover letter, replies as a thread, links,
the `git fetch` line, and the comparison with an older revision ("since vN").

Views are derived from the models (Series, Reply) and the review modules (replies, revisions); the
reply bodies come from the raw thread, since the Series keeps only what a reply concludes.
"""

from __future__ import annotations

from urllib.parse import quote

from patchtool.models import Patch, RawThread, Reply, Revision, Series, Trailer
from patchtool.report.records import (
    CarryView,
    CoverView,
    LinksView,
    PairView,
    ReplyBlockView,
    ReplyView,
    SinceView,
    TrailerView,
)
from patchtool.review.replies import ReplyBlock, answered_patch, reply_bodies, split_reply, thread_depths
from patchtool.review.revisions import RevisionComparison, compare_revisions, default_pair

LORE = "https://lore.kernel.org/qemu-devel/"
PATCHEW = "https://patchew.org/QEMU/"
UPSTREAM = "https://gitlab.com/qemu-project/qemu.git"
FOLD_AFTER = 8  # quoted lines shown open; a longer quote is folded


def links(msgid: str) -> LinksView:
    """lore and patchew addresses of a message (msgids may hold `/`, `+` or `%`: quoted)."""
    safe = quote(msgid, safe="@=-._~+!$,;:")  # parentheses, quotes and `*` would end a Markdown link
    return LinksView(f"{LORE}{safe}/", f"{PATCHEW}{safe}/")


def _trailer(t: Trailer) -> TrailerView:
    return TrailerView(t.key, t.value, t.origin, str(t.sender) if t.sender else None)


def _block(b: ReplyBlock) -> ReplyBlockView:
    return ReplyBlockView(b.quoted, b.lines, b.quoted and len(b.lines) > FOLD_AFTER, b.file)


def reply_view(reply: Reply, body: str, depth: int, patch: Patch | None) -> ReplyView:
    return ReplyView(
        reply.msgid,
        str(reply.sender),
        reply.date.isoformat() if reply.date else None,
        depth,
        tuple(_block(b) for b in split_reply(body, patch)),
        tuple(_trailer(t) for t in reply.trailers),
        links(reply.msgid),
    )


def _ordered(replies: list[Reply]) -> list[Reply]:
    """Replies in thread order: each answer right under the message it answers, oldest first."""
    ids = {r.msgid for r in replies}
    children: dict[str | None, list[Reply]] = {}
    for r in sorted(replies, key=lambda r: (r.date is None, r.date.timestamp() if r.date else 0.0)):
        children.setdefault(r.in_reply_to if r.in_reply_to in ids else None, []).append(r)
    out: list[Reply] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        r = stack.pop()
        out.append(r)
        stack.extend(reversed(children.get(r.msgid, [])))
    return out


def thread_views(revision: Revision, raw: RawThread | None) -> dict[str, tuple[ReplyView, ...]]:
    """The replies under each patch label and under "cover", in thread order."""
    bodies = reply_bodies(raw)
    roots = {p.msgid for p in revision.patches} | ({revision.cover.msgid} if revision.cover else set())
    depths = thread_depths(revision.replies, roots)
    grouped: dict[str, list[Reply]] = {}
    for r in revision.replies:
        grouped.setdefault(r.answers or "cover", []).append(r)
    return {
        where: tuple(
            reply_view(r, bodies.get(r.msgid, ""), depths.get(r.msgid, 1), answered_patch(r, revision))
            for r in _ordered(replies)
        )
        for where, replies in grouped.items()
    }


def cover_view(revision: Revision, replies: tuple[ReplyView, ...]) -> CoverView | None:
    c = revision.cover
    if c is None:
        return None
    date = c.date.isoformat() if c.date else None
    body = c.body.split("\n-- \n", 1)[0]  # git's version signature is not the author's text
    return CoverView(c.msgid, c.subject, str(c.author), date, body.strip("\n"), links(c.msgid), replies)


def fetch_line(series: Series) -> tuple[str | None, str]:
    """The base commit and a `git fetch` command for the series' tag, else for its base."""
    extras = series.extras
    base = extras.get("patchew.base") or series.revision.base_commit
    base = base.split()[0] if base else None
    if extras.get("patchew.repo") and extras.get("patchew.tag"):
        return base, f"git fetch {extras['patchew.repo']} {extras['patchew.tag']}"
    if base:
        return base, f"git fetch {UPSTREAM} {base}"
    return None, ""


def _label(p: Patch | None) -> str | None:
    return f"{p.index}/{p.total}" if p is not None else None


def _title(p: Patch | None) -> str:
    return p.title if p is not None else ""


def since_view(cmp: RevisionComparison) -> SinceView:
    pairs = tuple(
        PairView(
            p.status,
            _label(p.old),
            _label(p.new),
            _title(p.new or p.old),
            p.matched_by,
            p.similarity,
            p.interdiff,
            p.new.notes.strip("\n") if p.new else "",
        )
        for p in cmp.pairs
    )
    trailers = tuple(
        CarryView(t.trailer.key, t.trailer.value, t.old_label, t.new_label, t.carried) for t in cmp.trailers
    )
    return SinceView(cmp.old, cmp.new, pairs, cmp.comments, trailers, cmp.changes)


def since_for(series: Series, raw: RawThread | None) -> SinceView | None:
    """The comparison of the chosen revision with the one before it, when the thread holds both."""
    pair = default_pair(series)
    return since_view(compare_revisions(series, raw, *pair)) if pair else None
