"""Mail thread to Series: revisions, cover letters, ordered patches, trailers and findings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from patchtool.errors import InputError
from patchtool.jsonable import record
from patchtool.models import (
    Address,
    Cover,
    Finding,
    Patch,
    RawThread,
    Reply,
    Revision,
    Series,
    SubjectInfo,
    Trailer,
)
from patchtool.parse import pulls
from patchtool.parse.addresses import mailinfo_author
from patchtool.parse.body import cover_parts, has_diff, parse_patch_body
from patchtool.parse.diffs import check_diffstat, parse_diffstat, summarize_diff
from patchtool.parse.duplicates import unique_mails
from patchtool.parse.mail import Mail, looks_like_mail, origin_name, parse_date, parse_mail
from patchtool.parse.pairing import Counterparts
from patchtool.parse.subjects import mailinfo_subject, parse_subject
from patchtool.parse.trailers import (
    REFERENCE_KEYS,
    REPLY_KEYS,
    REVIEW_KEYS,
    commit_trailers,
    dedupe,
    given_before,
    refusal,
    relay_note,
    reply_trailers,
    same_trailer,
    sender_matches,
    sent_by_namesake,
)


@record
class _Msg:
    mail: Mail
    info: SubjectInfo
    kind: str  # "patch" | "cover" | "reply"

    @property
    def key(self) -> tuple[int, int]:
        return (self.info.revision, self.info.index if self.info.index is not None else 1)


def _classify(mail: Mail) -> _Msg:
    info = parse_subject(mail.subject)
    if info.is_reply:
        return _Msg(mail, info, "reply")
    if info.index == 0:  # a cover letter may carry a diff (format-patch --interdiff)
        return _Msg(mail, info, "cover")
    return _Msg(mail, info, "patch" if has_diff(mail.body) else "reply")


def _where(msg: _Msg) -> str:
    return f"{origin_name(msg.mail.origin)}: message <{msg.mail.msgid}>"


def _read_messages(raw: RawThread) -> tuple[list[_Msg], list[Finding]]:
    name = raw.provenance[0].location if raw.provenance else "input"
    if not raw.messages:
        raise InputError(f"{name}: no mail found (empty input)")
    if not any(looks_like_mail(m) for m in raw.messages):
        raise InputError(f"{name}: not mail (no message headers found)")
    # the same message twice (two archives, a Cc copy) is read once; differing copies are an error
    mails, duplicates = unique_mails(parse_mail(raw_msg) for raw_msg in raw.messages)
    msgs = [_classify(mail) for mail in mails]
    if not any(m.kind == "patch" for m in msgs):
        raise InputError(f"{name}: no patches found in {len(msgs)} message(s)")
    return msgs, duplicates


def _author_and_sender(msg: _Msg, in_body: dict[str, str]) -> tuple[Address, Address | None]:
    """The author as `git am` records it: the in-body From: when there is one, else the mail's."""
    author = msg.mail.sender
    if "From" not in in_body:
        return author, None
    found = mailinfo_author(in_body["From"])
    if (found.email.lower(), found.name) == (author.email.lower(), author.name):
        return author, None
    return found, msg.mail.sender


def _date(msg: _Msg, in_body: dict[str, str]) -> dt.datetime | None:
    """An in-body Date: that parses is the author date (as in git am); else the mail's."""
    found = parse_date(in_body["Date"]) if "Date" in in_body else None
    return found or msg.mail.date


def _build_patch(msg: _Msg, total: int, functions: bool = True) -> tuple[Patch, list[Finding]]:
    where = _where(msg)
    text, exact = msg.mail.body, msg.mail.exact_body
    body = parse_patch_body(text, where, None if exact == text else exact)  # one copy when equal
    author, sender = _author_and_sender(msg, body.in_body)
    index = msg.info.index if msg.info.index is not None else 1
    label = f"{index}/{total}"
    try:
        summary = summarize_diff(body.diff, functions=functions)
    except InputError as e:
        raise InputError(f"{where}: {e.message}") from e
    stated = parse_diffstat(body.stat_text)
    title = mailinfo_subject(body.in_body.get("Subject", msg.mail.subject))
    patch = Patch(
        msgid=msg.mail.msgid,
        index=index,
        total=total,
        subject=msg.mail.subject,
        title=title,
        author=author,
        date=_date(msg, body.in_body),
        message=body.message,
        trailers=commit_trailers(body.message),
        review_trailers=(),
        notes=body.notes,
        diffstat=stated,
        diff=body.diff,
        summary=summary,
        footers=body.footers,
        sender=sender,
        in_reply_to=msg.mail.in_reply_to,
        based_on=body.based_on,
        supersedes=body.supersedes,
        raw_diff=body.raw_diff,
    )
    return patch, check_diffstat(stated, summary, label) + _list_rewrite_findings(msg.mail, patch, label)


def _list_rewrite_findings(mail: Mail, patch: Patch, label: str) -> list[Finding]:
    """A From: the list rewrote to its own address (DMARC): where the author came from instead."""
    if mail.sender_header == "From" or patch.sender is not None:
        return []  # the mail's own From:, or an in-body From: names the author
    if mail.sender_header:
        what = f"the list rewrote From: to its own address; the author is taken from {mail.sender_header}:"
        return [Finding("info", "author-from-list-rewrite", f"{what} {patch.author}", patch=label)]
    return [
        Finding(
            "warning",
            "author-mangled",
            f"the list rewrote From: to its own address ({patch.author}) and the mail names nobody else: "
            "a commit would record the list as the author (set it with git commit --amend --author)",
            patch=label,
        )
    ]


def _pick_duplicates(msgs: list[_Msg], ids: set[str]) -> tuple[_Msg, list[Finding]]:
    """Copies of one patch: keep the one threaded into the series, else the first sent."""
    threaded = [m for m in msgs if m.mail.in_reply_to in ids]
    keep = threaded[0] if threaded else msgs[0]
    findings = []
    for other in msgs:
        if other is not keep:
            same = other.mail.body.strip() == keep.mail.body.strip()
            findings.append(
                Finding(
                    "info" if same else "warning",
                    "duplicate-patch",
                    f"patch {keep.key[1]} was sent twice; kept <{keep.mail.msgid}>, "
                    f"dropped <{other.mail.msgid}>" + ("" if same else " (the copies differ)"),
                    patch=f"{keep.key[1]}",
                    msgid=other.mail.msgid,
                )
            )
    return keep, findings


def _target(reply: _Msg, by_id: dict[str, _Msg], parts: dict[tuple[int, int], _Msg]) -> _Msg | None:
    """The patch or cover a reply answers: up the In-Reply-To/References chain, else by subject."""
    chain = [reply.mail.in_reply_to, *reversed(reply.mail.references)]
    seen: set[str] = set()
    while chain:
        msgid = chain.pop(0)
        if msgid is None or msgid in seen:
            continue
        seen.add(msgid)
        parent = by_id.get(msgid)
        if parent is None:
            continue
        if parent.kind in ("patch", "cover"):
            return parts.get(parent.key, parent)
        chain.insert(0, parent.mail.in_reply_to)
    # No usable threading headers: a "Re: [PATCH vN i/n] title" subject still says what it answers.
    info = reply.info
    part = parts.get((info.revision, info.index if info.index is not None else 1))
    if part is not None and info.prefixes and info.title == part.info.title:
        return part
    return None


@dataclass
class _RevisionParts:
    """Everything gathered for one revision number before it becomes a frozen Revision."""

    number: int
    cover: _Msg | None = None
    patches: dict[int, _Msg] | None = None
    replies: list[tuple[_Msg, _Msg]] | None = None  # (reply, the part it answers)


def _covers_by_shape(msgs: list[_Msg]) -> list[_Msg]:
    """A thread root without `0/N` is the cover letter when its author's patches reply to it.

    Some mail clients and tools send the cover as a plain `[PATCH]` (or prefix-less) mail; it has
    no diff, starts the thread, and the same author's patches answer it.
    """
    ids = {m.mail.msgid for m in msgs}
    answers: dict[str, list[_Msg]] = defaultdict(list)
    for m in msgs:
        if m.kind == "patch":
            for parent in dict.fromkeys((m.mail.in_reply_to, *m.mail.references[:1])):
                answers[parent or ""].append(m)
    fixed = []
    for msg in msgs:
        children = answers.get(msg.mail.msgid, [])
        root = msg.mail.in_reply_to is None or msg.mail.in_reply_to not in ids
        same_author = children and all(
            c.mail.sender.email.lower() == msg.mail.sender.email.lower() for c in children
        )
        if msg.kind == "reply" and not msg.info.is_reply and root and same_author:
            first = children[0].info
            info = replace(msg.info, revision=first.revision, index=0, total=first.total or len(children))
            msg = _Msg(msg.mail, info, "cover")
        fixed.append(msg)
    return fixed


def _inherit_revision(msgs: list[_Msg]) -> list[_Msg]:
    """A patch without `vN` threaded under a `[PATCH vN 0/M]` cover belongs to revision N."""
    covers = {m.mail.msgid: m for m in msgs if m.kind == "cover"}
    fixed = []
    for msg in msgs:
        parents = [msg.mail.in_reply_to, *msg.mail.references[:1]]
        cover = next((covers[p] for p in parents if p in covers), None)
        if (
            msg.kind == "patch"
            and cover is not None
            and msg.info.revision == 1
            and cover.info.revision > 1
            and msg.info.total == cover.info.total
        ):
            msg = replace(msg, info=replace(msg.info, revision=cover.info.revision))
        fixed.append(msg)
    return fixed


def _number_unnumbered(msgs: list[_Msg]) -> list[_Msg]:
    """Several different `[PATCH]` mails of one revision (`format-patch -N`) are patches 1..k in order."""
    titles: dict[int, list[str]] = defaultdict(list)
    for msg in msgs:
        if msg.kind == "patch" and msg.info.index is None and msg.info.title not in titles[msg.info.revision]:
            titles[msg.info.revision].append(msg.info.title)
    numbered = []
    for msg in msgs:
        order = titles.get(msg.info.revision, [])
        if msg.kind == "patch" and msg.info.index is None and len(order) > 1:
            index = order.index(msg.info.title) + 1
            msg = replace(msg, info=replace(msg.info, index=index, total=len(order)))
        numbered.append(msg)
    return numbered


def _group(msgs: list[_Msg]) -> tuple[dict[tuple[int, int], _Msg], list[Finding]]:
    copies: dict[tuple[int, int], list[_Msg]] = defaultdict(list)
    for msg in msgs:
        if msg.kind in ("patch", "cover"):
            copies[(msg.key[0], 0 if msg.kind == "cover" else msg.key[1])].append(msg)
    ids = {m.mail.msgid for m in msgs}
    parts, findings = {}, []
    for key, found in copies.items():
        parts[key], dup_findings = _pick_duplicates(found, ids)
        findings += dup_findings
    return parts, findings


_SERIES_WIDE = ""  # _collect_trailers' key for the trailers a reply to one patch gives the whole series


def _collect_trailers(
    replies: list[tuple[_Msg, _Msg]],
    label: dict[str, str],
    carried: dict[str, tuple[Trailer, ...]],
    counterparts: Counterparts,
    earlier: Sequence[Revision] = (),
) -> tuple[dict[str, list[Trailer]], list[Finding]]:
    """Trusted reply trailers per answered msgid (_SERIES_WIDE: given to every patch from a reply
    to one, under a "Series:" line); a person trailer is applied only when every person it names
    sent the reply, or when a reply relays it openly and an `earlier` revision in the thread has
    it from them (on the patch `counterparts` pairs with this one, or for the whole series); else
    it is a finding naming who did not. Trailers the patch already carries (a replier restating
    them) are neither applied again nor flagged. A Link:, Closes:, Resolves: or Fixes: is taken
    from a reply to the patch itself, never spread from the cover."""
    trusted: dict[str, list[Trailer]] = defaultdict(list)
    findings = []
    for reply, part in replies:
        origin = "cover-reply" if part.kind == "cover" else "reply"
        keys = REVIEW_KEYS if part.kind == "cover" else REPLY_KEYS
        own = carried.get(part.mail.msgid, ())
        for trailer in reply_trailers(reply.mail.body, reply.mail.sender, reply.mail.msgid, origin, keys):
            if any(same_trailer(trailer, t) for t in own):
                continue
            to = part.mail.msgid
            if trailer.origin == "series-reply":
                if trailer.key in REVIEW_KEYS:
                    to = _SERIES_WIDE
                else:  # a reference is the patch's own, whatever the line above it says
                    trailer = replace(trailer, origin="reply")
            if trailer.key in REFERENCE_KEYS or sender_matches(trailer, reply.mail.sender):
                trusted[to].append(trailer)
            elif sent_by_namesake(trailer, reply.mail.sender):
                trusted[to].append(trailer)
                findings.append(refusal(trailer, reply.mail, label.get(part.mail.msgid), alias=True))
            else:
                mine = to == part.mail.msgid and part.kind != "cover"
                counterpart = partial(counterparts.of, part.mail.msgid) if mine else None
                note = relay_note(reply.mail.body, trailer)
                vouched = given_before(trailer, counterpart, earlier) if note is not None else None
                if vouched is not None:
                    trusted[to].append(trailer)
                found = refusal(trailer, reply.mail, label.get(part.mail.msgid), note=note, vouched=vouched)
                findings.append(found)
    return trusted, findings


def _make_cover(msg: _Msg) -> Cover:
    body, footers, _, _ = cover_parts(msg.mail.body)
    return Cover(
        msg.mail.msgid,
        msg.mail.subject,
        msg.info.title,
        msg.mail.sender,
        msg.mail.date,
        body,
        commit_trailers(body),
        footers,
    )


def _build_revision(
    rp: _RevisionParts, functions: bool = True, earlier: Sequence[Revision] = ()
) -> tuple[Revision, list[Finding]]:
    patches_in = rp.patches or {}
    totals = [m.info.total or 1 for m in patches_in.values()]
    if rp.cover is not None and rp.cover.info.total:
        totals.append(rp.cover.info.total)
    total = max(totals or [1])
    findings: list[Finding] = []
    built: list[Patch] = []
    for index in sorted(patches_in):
        patch, patch_findings = _build_patch(patches_in[index], total, functions)
        built.append(patch)
        findings += patch_findings
    label = {p.msgid: f"{p.index}/{p.total}" for p in built}
    carried = {p.msgid: p.trailers for p in built}
    counterparts = Counterparts(built)
    trusted, trailer_findings = _collect_trailers(rp.replies or [], label, carried, counterparts, earlier)
    findings += trailer_findings
    cover_msgid = rp.cover.mail.msgid if rp.cover else None
    from_cover = (trusted.get(cover_msgid, []) if cover_msgid else []) + trusted.get(_SERIES_WIDE, [])
    built = [
        replace(p, review_trailers=dedupe(trusted.get(p.msgid, []) + from_cover, p.trailers)) for p in built
    ]
    missing = tuple(i for i in range(1, total + 1) if i not in patches_in)
    if missing:
        names = ", ".join(f"{i}/{total}" for i in missing)
        findings.append(Finding("error", "missing-patches", f"v{rp.number} is incomplete: {names} not found"))
    return _revision(rp, total, built, missing, label), findings


def _revision(
    rp: _RevisionParts, total: int, built: list[Patch], missing: tuple[int, ...], label: dict[str, str]
) -> Revision:
    cover = _make_cover(rp.cover) if rp.cover else None
    first = rp.cover or next(iter((rp.patches or {}).values()), None)
    _, cover_footers, based_on, supersedes = cover_parts(rp.cover.mail.body) if rp.cover else ("", {}, (), ())
    base = cover_footers.get("base-commit") or next(
        (p.footers["base-commit"] for p in built if "base-commit" in p.footers), None
    )
    replies = tuple(
        Reply(
            r.mail.msgid,
            r.mail.in_reply_to,
            r.mail.subject,
            r.mail.sender,
            r.mail.date,
            tuple(reply_trailers(r.mail.body, r.mail.sender, r.mail.msgid)),
            "cover" if part.kind == "cover" else label.get(part.mail.msgid),
        )
        for r, part in rp.replies or []
    )
    return Revision(
        number=rp.number,
        subject_prefixes=first.info.prefixes if first else (),
        total=total,
        cover=cover,
        patches=tuple(built),
        missing=missing,
        replies=replies,
        based_on=tuple(dict.fromkeys(based_on + tuple(b for p in built for b in p.based_on))),
        supersedes=tuple(dict.fromkeys(supersedes + tuple(s for p in built for s in p.supersedes))),
        base_commit=base,
    )


def _revision_parts(msgs: list[_Msg]) -> tuple[dict[int, _RevisionParts], list[Finding]]:
    parts, findings = _group(msgs)
    revisions: dict[int, _RevisionParts] = {}
    for (number, index), msg in parts.items():
        rp = revisions.setdefault(number, _RevisionParts(number, patches={}, replies=[]))
        if index == 0:
            rp.cover = msg
        else:
            assert rp.patches is not None
            rp.patches[index] = msg
    by_id = {m.mail.msgid: m for m in msgs}
    for msg in msgs:
        if msg.kind == "reply" and (target := _target(msg, by_id, parts)) is not None:
            rp = revisions[target.key[0]]
            assert rp.replies is not None
            rp.replies.append(
                (msg, parts.get((target.key[0], 0 if target.kind == "cover" else target.key[1]), target))
            )
    return revisions, findings


def build_series(raw: RawThread, *, revision: int | None = None, functions: bool = True) -> Series:
    """Understand a thread; the newest revision is chosen unless `revision` names another.

    `functions=False` leaves out which C functions each diff changes (its summaries list none):
    applying a series does not read them, and the C parse is most of a patch's parse time.
    """
    pull = pulls.split_thread(raw)
    if pull is None:
        return _assemble_series(raw, revision, functions)
    assemble = partial(_assemble_series, functions=functions)
    return pulls.attach(assemble(pull[0], revision), pulls.earlier_series(pull[1], assemble))


def _assemble_series(raw: RawThread, revision: int | None, functions: bool = True) -> Series:
    read, duplicates = _read_messages(raw)
    msgs = _number_unnumbered(_inherit_revision(_covers_by_shape(read)))
    parts, findings = _revision_parts(msgs)
    findings = duplicates + findings
    numbers = sorted(n for n, rp in parts.items() if rp.patches or rp.cover)
    chosen = max(n for n in numbers if parts[n].patches) if revision is None else revision
    if chosen not in parts:
        name = raw.provenance[0].location if raw.provenance else "input"
        found = ", ".join(f"v{n}" for n in numbers)
        raise InputError(f"{name}: revision {revision} not found (the thread has {found})")
    revisions: list[Revision] = []
    for number in numbers:
        try:
            rev, rev_findings = _build_revision(parts[number], functions, revisions)
        except InputError as e:
            if number == chosen:
                raise
            # An older or newer revision that cannot be read must not hide the one asked for.
            findings.append(Finding("warning", "revision-unreadable", f"v{number} skipped: {e.message}"))
            continue
        revisions.append(rev)
        if number == chosen:
            findings += rev_findings
    findings += [
        Finding(
            "warning", "revision-without-patches", f"v{n} is newer but none of its patches are in the thread"
        )
        for n in numbers
        if n > chosen and not parts[n].patches and revision is None
    ]
    chosen_rev = next(r for r in revisions if r.number == chosen)
    title = (
        chosen_rev.cover.title
        if chosen_rev.cover
        else (chosen_rev.patches[0].title if chosen_rev.patches else "")
    )
    return Series(
        title=title,
        revisions=tuple(revisions),
        chosen=chosen,
        findings=tuple(findings),
        provenance=raw.provenance,
        extras=dict(raw.extras),
    )
