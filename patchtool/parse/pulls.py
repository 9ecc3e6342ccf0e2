"""PULL requests: where to fetch them (from the cover), and each patch's earlier `[PATCH]` posting.

A maintainer's `[PULL n/m]` patches are commits that were reviewed on the list as `[PATCH]` mail
before. A reviewer wants that link, not "v1 of m, incomplete": a patch is linked to a posting the
thread holds by the `Message-Id:`/`Link:` trailer b4 adds, else by the same patch-id (the diff
without line numbers and whitespace), else by the same subject.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace

from patchtool.errors import InputError
from patchtool.models import Finding, Patch, PullLink, PullRequest, RawMessage, RawThread, Series, Trailer
from patchtool.parse.mail import parse_mail
from patchtool.parse.subjects import parse_subject
from patchtool.parse.trailers import REVIEW_KEYS

_SINCE = re.compile(r"changes since commit ([0-9a-f]{7,40})")
_AT = re.compile(r"available in the [Gg]it repository at:?\s*\n\s*\n?\s*(\S+)(?:[ \t]+(\S+))?")
_UP_TO = re.compile(r"fetch changes up to ([0-9a-f]{7,40})")
_LINKED_ID = re.compile(
    r"^(?:Message-Id|Link):\s*(?:https?://\S*/)?<?([^<>\s/]+@[^<>\s/]+)>?/?\s*$", re.I | re.M
)
_HUNK_NUMBERS = re.compile(r"^@@ [^@]* @@")


def read_cover(body: str) -> PullRequest | None:
    """The repository, tag and commits a pull cover names; None when it does not read as one."""
    at = _AT.search(body)
    if at is None:
        return None
    since, up_to = _SINCE.search(body), _UP_TO.search(body)
    return PullRequest(
        url=at.group(1),
        tag=at.group(2) or "",
        base=since.group(1) if since else None,
        head=up_to.group(1) if up_to else None,
    )


def patch_id(diff: str) -> str:
    """A stable id of a diff's content, like `git patch-id --stable`: no line numbers, no whitespace."""
    import hashlib  # only pull requests need it; OpenSSL's loading is ~3 ms of start-up

    digest = hashlib.sha1(usedforsecurity=False)
    for line in diff.split("\n"):
        if line.startswith(("index ", "similarity ", "dissimilarity ")):
            continue
        line = _HUNK_NUMBERS.sub("@@", line)
        digest.update("".join(line.split()).encode())
    return digest.hexdigest()


def _is_pull(raw: RawMessage) -> tuple[bool, str, tuple[str, ...]]:
    mail = parse_mail(raw)
    root = mail.references[0] if mail.references else mail.in_reply_to or mail.msgid
    return parse_subject(mail.subject).is_pull, root, (mail.msgid, *mail.references)


def split_thread(raw: RawThread) -> tuple[RawThread, list[RawThread]] | None:
    """The PULL messages (with their replies), and the other threads (earlier postings) in the input.

    None when no message is part of a PULL request.
    """
    marks = [_is_pull(m) for m in raw.messages]
    pull_roots = {root for is_pull, root, _ in marks if is_pull}
    if not pull_roots:
        return None
    pull, others = [], defaultdict(list)
    for message, (is_pull, root, chain) in zip(raw.messages, marks, strict=True):
        if is_pull or root in pull_roots or pull_roots & set(chain):
            pull.append(message)
        else:
            others[root].append(message)
    earlier = [RawThread(tuple(msgs), raw.provenance) for msgs in others.values()]
    return RawThread(tuple(pull), raw.provenance, raw.wanted_msgid, raw.extras), earlier


def _postings(earlier: Iterable[Series]) -> list[Patch]:
    """Every posted patch, newest revision first (a pull carries the version that was accepted)."""
    found: list[Patch] = []
    for series in earlier:
        for rev in sorted(series.revisions, key=lambda r: -r.number):
            found += rev.patches
    return found


def _match(patch: Patch, postings: list[Patch]) -> tuple[Patch, str] | None:
    named = set(_LINKED_ID.findall(patch.message))
    for p in postings:
        if p.msgid in named:
            return p, "message-id"
    pid = patch_id(patch.diff)
    for p in postings:
        if patch_id(p.diff) == pid:
            return p, "patch-id"
    for p in postings:
        if p.title.strip() == patch.title.strip():
            return p, "subject"
    return None


def _reviews(posting: Patch) -> tuple[Trailer, ...]:
    given = [t for t in (*posting.trailers, *posting.review_trailers) if t.key in REVIEW_KEYS]
    return tuple(dict.fromkeys(given))


def link_patches(patches: Iterable[Patch], earlier: Iterable[Series]) -> tuple[PullLink, ...]:
    """Each pull patch whose earlier posting the thread holds, with that posting's reviews."""
    postings = _postings(earlier)
    links = []
    for patch in patches:
        label = f"{patch.index}/{patch.total}"
        found = _match(patch, postings)
        if found is not None:
            links.append(PullLink(label, found[0].msgid, found[1], _reviews(found[0])))
        elif named := _LINKED_ID.findall(patch.message):
            links.append(PullLink(label, named[-1], "named"))  # the posting is not in the input
    return tuple(links)


def earlier_series(threads: list[RawThread], assemble: Callable[[RawThread, None], Series]) -> list[Series]:
    """The earlier postings the input holds, as series; a thread that is not one is left out."""
    found = []
    for thread in threads:
        try:
            found.append(assemble(thread, None))
        except InputError:
            continue  # replies without patches, or mail we cannot read: nothing to link to
    return found


def attach(series: Series, earlier: list[Series]) -> Series:
    """The pull's series with its PullRequest; a pull's missing patches are in its tag, not an error."""
    rev = series.revision
    pull = read_cover(rev.cover.body) if rev.cover else None
    pull = replace(pull or PullRequest("", ""), links=link_patches(rev.patches, earlier))
    findings = [f for f in series.findings if f.code != "missing-patches"]
    if rev.missing:
        where = f" ({pull.tag or pull.url})" if pull.tag or pull.url else ""
        message = (
            f"the thread holds {len(rev.patches)} of the pull's {rev.total} patches; "
            f"the rest are in the pull{where}"
        )
        findings.append(Finding("info", "pull-partial", message))
    return replace(series, pull=pull, findings=tuple(findings))
