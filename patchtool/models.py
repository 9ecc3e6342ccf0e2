"""Frozen dataclasses passed between stages: raw mail, the Series model, diff summaries, findings.

JSON output (`--json`) is these records through jsonable.to_jsonable; the schema version below is
bumped whenever a field changes meaning or disappears (adding a field is compatible).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import field

from patchtool.jsonable import record

SERIES_SCHEMA_VERSION = 1


# ---- raw input -------------------------------------------------------------------------------


@record
class RawMessage:
    """One mail exactly as received, and where it came from."""

    data: bytes
    origin: str  # e.g. "file:fixtures/mail/x.mbox#3", "patchew:https://.../mbox"


@record
class Provenance:
    """Which source supplied which part of a thread (shown to the user)."""

    source: str  # "file", "patchew", "patchwork", "lore", "list-archive", "cache"
    location: str  # URL or path
    detail: str = ""  # e.g. "incomplete: 4 of 13 patches"
    from_cache: bool = False


@record
class RawThread:
    """All the mail of one thread (possibly several revisions), before any interpretation."""

    messages: tuple[RawMessage, ...]
    provenance: tuple[Provenance, ...] = ()
    wanted_msgid: str | None = None  # the message-id the user asked for, when known
    extras: dict[str, str] = field(default_factory=dict)  # e.g. patchew git base/tag


# ---- people and trailers ---------------------------------------------------------------------


@record
class Address:
    name: str
    email: str

    def __str__(self) -> str:
        if not self.name:
            return f"<{self.email}>"
        name = self.name
        if any(c in name for c in ',;:()<>@"[]\\'):  # RFC 5322 specials: quote `"Doe, John"`
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            name = f'"{escaped}"'
        return f"{name} <{self.email}>" if self.email else name


@record
class Trailer:
    """A `Key: value` trailer, from the commit message itself or from a review reply."""

    key: str  # canonical spelling, e.g. "Reviewed-by"
    value: str
    address: Address | None = None  # parsed person, for person trailers
    origin: str = "commit"  # "commit" | "reply" | "cover-reply" | "series-reply" (under "Series:")
    msgid: str | None = None  # the reply that carried it, for review trailers
    sender: Address | None = None  # the reply's From:, for review trailers
    scope: str = ""  # a `[for the parts touching X]` line written right under a reply trailer


@record
class Finding:
    """Something a reviewer should know: a mismatch, a missing stub, a checkpatch error..."""

    severity: str  # "error" | "warning" | "info"
    code: str  # stable identifier, e.g. "trailer-sender-mismatch", "diffstat-mismatch"
    message: str  # one line
    patch: str | None = None  # "3/7" or None for the series
    file: str | None = None
    line: int | None = None
    msgid: str | None = None


# ---- diffs -----------------------------------------------------------------------------------


@record
class Hunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    section: str  # the text after @@ ... @@ (git's function context)
    added: int
    removed: int


@record
class FunctionChange:
    """What a patch does to one C function (or declaration) in one file."""

    file: str
    name: str
    # "added", "removed", "body-changed", "signature-changed", "prototype-added",
    # "prototype-removed", "stub-added", "struct-member-added", "macro-added", ...; "moved",
    # "prototype-moved", "macro-moved", "struct-moved": from the file its detail ends with
    # ("moved from FILE"), old_signature read there (parse.cmoves.pair_across_files)
    kind: str
    old_signature: str | None = None
    new_signature: str | None = None
    detail: str = ""  # e.g. "return type void -> int"
    # The entity's first line in the file: new side for added/changed kinds, old side for removed
    # ones, the member's own line for struct-member-*; None when it starts before the hunk.
    line: int | None = None


@record
class FileChange:
    path: str  # new path (old path for a deletion)
    old_path: str | None
    status: str  # "added" | "removed" | "modified" | "renamed" | "copied"
    added: int
    removed: int
    similarity: int | None = None  # for renames/copies, percent
    old_mode: str | None = None
    new_mode: str | None = None
    binary: bool = False
    hunks: tuple[Hunk, ...] = ()


@record
class DiffstatLine:
    path: str
    changes: int  # the number in the stated diffstat ("| 42")
    binary: bool = False


@record
class DiffSummary:
    files: tuple[FileChange, ...]
    functions: tuple[FunctionChange, ...]
    added: int
    removed: int


# ---- the series ------------------------------------------------------------------------------


@record
class SubjectInfo:
    """What a subject line says: `[RFC PATCH v3 2/5] area: title`."""

    title: str
    prefixes: tuple[str, ...]  # all bracket tokens that are not version/counter, e.g. ("RFC", "PATCH")
    revision: int  # 1 when no vN
    index: int | None  # 2 in 2/5; None for a lone patch
    total: int | None  # 5 in 2/5
    is_reply: bool
    is_rfc: bool = False
    is_pull: bool = False


@record
class Patch:
    """One patch of one revision, as the maintainer will apply it."""

    msgid: str
    index: int  # 1-based; 1 for a lone patch
    total: int
    subject: str  # the full subject line as sent
    title: str  # the subject without prefixes: becomes the commit's first line
    author: Address
    date: dt.datetime | None
    message: str  # the commit message body (after the title), trailers included
    trailers: tuple[Trailer, ...]  # trailers of the commit message itself
    review_trailers: tuple[Trailer, ...]  # collected from replies (and the cover's replies)
    notes: str  # what stands between `---` and the diff (e.g. "Changes in v2")
    diffstat: tuple[DiffstatLine, ...]  # as stated in the mail
    diff: str  # the unified diff text, as git apply wants it
    summary: DiffSummary
    footers: dict[str, str] = field(default_factory=dict)  # base-commit, change-id, ...
    sender: Address | None = None  # the mail's From: when an in-body From: overrides it
    in_reply_to: str | None = None
    based_on: tuple[str, ...] = ()  # QEMU `Based-on: <msgid>` lines in this patch's mail
    supersedes: tuple[str, ...] = ()  # QEMU `Supersedes: <msgid>` lines in this patch's mail
    # The diff's bytes as received, kept only when they are not UTF-8 (then `diff` shows those lines
    # decoded as Latin-1); what git gets is parse.diffs.diff_bytes(patch). Not part of the JSON.
    raw_diff: bytes = field(default=b"", repr=False, metadata={"json": False})


@record
class Cover:
    """The cover letter (0/N) of a revision."""

    msgid: str
    subject: str
    title: str
    author: Address
    date: dt.datetime | None
    body: str
    trailers: tuple[Trailer, ...] = ()
    footers: dict[str, str] = field(default_factory=dict)


@record
class Reply:
    """A reply in the thread (review, ack, question) with the trailers it gave."""

    msgid: str
    in_reply_to: str | None
    subject: str
    sender: Address
    date: dt.datetime | None
    trailers: tuple[Trailer, ...]
    answers: str | None  # "cover", "2/5" ... which part of the series it answers, when known


@record
class Revision:
    number: int
    subject_prefixes: tuple[str, ...]
    total: int
    cover: Cover | None
    patches: tuple[Patch, ...]
    missing: tuple[int, ...]  # indices of patches not found
    replies: tuple[Reply, ...]
    based_on: tuple[str, ...] = ()  # QEMU `Based-on: <msgid>`
    supersedes: tuple[str, ...] = ()  # QEMU `Supersedes: <msgid>`
    base_commit: str | None = None  # b4's `base-commit:` footer

    @property
    def complete(self) -> bool:
        return not self.missing


@record
class PullLink:
    """A patch of a PULL request and the earlier [PATCH] posting it was reviewed as."""

    patch: str  # "3/18" in the pull
    posting: str  # the posting's msgid
    # "message-id" (a Link:/Message-Id: trailer names it), "patch-id", "subject"; "named" when only
    # the trailer names it and the posting itself was not in the input
    how: str
    reviews: tuple[Trailer, ...] = ()  # Reviewed-by/Acked-by/Tested-by given to the posting


@record
class PullRequest:
    """A maintainer's PULL request: where to fetch it, and its patches' earlier postings."""

    url: str  # the repository in the cover's "are available in the Git repository at"
    tag: str  # e.g. "tags/pull-vfio-20251003"
    base: str | None = None  # "The following changes since commit ..."
    head: str | None = None  # "for you to fetch changes up to ..."
    links: tuple[PullLink, ...] = ()


@record
class Series:
    """A thread understood: every revision found, the one chosen, and what was noticed."""

    title: str
    revisions: tuple[Revision, ...]  # oldest first
    chosen: int  # the revision number selected (newest by default)
    findings: tuple[Finding, ...]
    provenance: tuple[Provenance, ...] = ()
    extras: dict[str, str] = field(default_factory=dict)
    pull: PullRequest | None = None  # set when the thread is a PULL request

    @property
    def revision(self) -> Revision:
        for rev in self.revisions:
            if rev.number == self.chosen:
                return rev
        raise KeyError(self.chosen)
