"""The report: a ReportContext of plain dataclasses, rendered as term, md, html, email or json.

The context holds only strings, numbers and tuples of small records (never GitPython, unidiff or
requests objects), so it serialises as JSON as is and templates only loop and test.
"""

from __future__ import annotations

from dataclasses import field

from patchtool.jsonable import record
from patchtool.models import FileChange, Finding, FunctionChange
from patchtool.review.revisions import CommentCheck

REPORT_SCHEMA_VERSION = 1
FORMATS = ("term", "md", "html", "email", "json")

# Stage states shown to the user.
OK, FAILED, NOT_RUN = "ok", "failed", "not run"


# The report shows the models' own records for findings, files and functions: one record per fact.
FindingView = Finding
FileView = FileChange
FunctionView = FunctionChange


def where(f: Finding) -> str:
    """`[2/3] path:line`: where a finding points, for one line of text."""
    place = f.file or ""
    if f.file and f.line:
        place += f":{f.line}"
    return " ".join(x for x in (f"[{f.patch}]" if f.patch else "", place) if x)


@record
class TrailerView:
    key: str
    value: str
    origin: str  # commit | reply | cover-reply | series-reply
    given_by: str | None = None  # the reply's sender, for review trailers


@record
class LinksView:
    """Where a message can be read on the web (lore) and its series on patchew."""

    lore: str
    patchew: str


@record
class ReplyBlockView:
    """A run of quoted or own lines of a reply; long quotes are shown folded."""

    quoted: bool
    lines: tuple[str, ...]
    folded: bool = False
    file: str | None = None  # the patch file a quoted hunk comes from


@record
class ReplyView:
    """One reply of the thread under the patch or cover it answers."""

    msgid: str
    author: str
    date: str | None
    depth: int  # 1 for a direct answer, 2 for an answer to that answer...
    blocks: tuple[ReplyBlockView, ...]
    trailers: tuple[TrailerView, ...]
    links: LinksView


@record
class CoverView:
    msgid: str
    subject: str
    author: str
    date: str | None
    body: str
    links: LinksView
    replies: tuple[ReplyView, ...] = ()


@record
class PatchView:
    index: int
    total: int
    label: str  # "2/3"
    msgid: str
    subject: str
    title: str
    author: str
    date: str | None
    files: tuple[FileView, ...]
    added: int
    removed: int
    functions: tuple[FunctionView, ...]
    trailers: tuple[TrailerView, ...]
    review_trailers: tuple[TrailerView, ...]
    reviewed_by: tuple[str, ...]  # who gave Reviewed-by/Acked-by (commit or replies)
    diff: str
    apply_status: str | None = None  # applied clean | applied 3-way | conflict | not applied
    commit: str | None = None
    message: str = ""  # the commit message body below the title, trailers included
    notes: str = ""  # what the author wrote between `---` and the diff (e.g. "Changes in v2")
    replies: tuple[ReplyView, ...] = ()
    links: LinksView | None = None


@record
class RevisionView:
    number: int
    patches: int
    chosen: bool
    msgid: str | None = None
    complete: bool = True


@record
class SeriesView:
    title: str
    subject: str  # the cover's subject, else the first patch's
    msgid: str  # the cover's msgid, else the first patch's
    author: str
    author_email: str
    revision: int
    revisions: tuple[RevisionView, ...]
    total: int
    missing: tuple[int, ...] = ()
    to: tuple[str, ...] = ()  # the original mail's recipients, for a reply
    cc: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # the original mail's References, for a reply
    source: str = ""  # where it came from (web sources only unless the report is --local)
    links: LinksView | None = None
    base: str | None = None  # the commit the series is based on, when the thread or patchew says
    fetch: str = ""  # a `git fetch` command for the series' tag or base, when one is known
    # The address the mail was sent from (RFC 5322, before decoding): where a reply goes. The
    # author above is what `git am` would record, which a crafted display name can steer.
    reply_to: str = field(default="", metadata={"json": False})


@record
class SubsystemView:
    name: str
    status: str
    files: tuple[str, ...]
    maintainers: tuple[str, ...]
    reviewers: tuple[str, ...]
    lists: tuple[str, ...]
    approved_by: tuple[str, ...]
    by_keyword: bool = False


@record
class ApplyPatchView:
    label: str
    title: str
    status: str
    commit: str | None = None
    conflicts: tuple[str, ...] = ()
    adaptations: tuple[str, ...] = ()


@record
class LandedView:
    """A patch the base's history has: in the base, merged and reverted, or applied again on top."""

    label: str  # "2/5"
    kind: str  # "in-base" | "reverted" | "applied-again"
    commit: str  # the base's commit with it ("" when a revert names no commit of it)
    same: bool  # its added and removed lines are the patch's
    retitled: str = ""  # the commit's own title, when it was found by its change
    reverted_by: str | None = None


@record
class ApplyView:
    status: str  # "applied" | "conflict" | ...
    ok: bool
    base: str
    base_label: str
    base_reason: str
    head: str | None
    patches: tuple[ApplyPatchView, ...]
    hints: tuple[str, ...] = ()  # patches the base has (or merged and reverted), where it was written
    landed: tuple[LandedView, ...] = ()  # every patch the hints speak of


@record
class DiagnosticView:
    file: str
    line: int
    severity: str
    message: str


@record
class BuildView:
    ok: bool
    duration: float
    log_path: str
    first_error: str | None
    diagnostics: tuple[DiagnosticView, ...]
    log_excerpt: tuple[str, ...] = ()  # failing lines with context, groups split by "---"
    reused: bool = False


@record
class TestWay:
    ending: str  # the last line of the first run that ended so, and the signal if one ended it
    runs: int


@record
class TestView:
    name: str
    runs: int
    passes: int
    failures: int
    skips: int
    timeouts: int
    rate: float
    low: float
    high: float
    verdict: str  # pass | flaky | fail | skip | not run
    output: str = ""  # the first failure's output (tail)
    # How its failed runs ended, most first (testrun.results.failure_way); shown from two ways on.
    ways: tuple[TestWay, ...] = ()


@record
class TestsView:
    ok: bool
    setup: str | None
    repeat: int
    tests: tuple[TestView, ...]
    interrupted: bool = False


@record
class BisectCommitView:
    index: int
    sha: str
    subject: str
    probability: float
    runs: int
    failures: int
    untestable: bool = False


@record
class BisectView:
    test: str
    good: str
    bad: str
    culprit: str | None  # short sha
    culprit_subject: str | None
    probability: float
    range90: tuple[str, str]
    range99: tuple[str, str]
    runs: int
    builds: int
    commits: tuple[BisectCommitView, ...]
    p: str = ""  # "0.48 (0.31-0.66)"
    q: str = ""
    revert: str = ""  # what the revert test found ("" when none was run)
    paths: tuple[str, ...] = ()  # git bisect start -- PATH...: only commits that change them searched
    build_failure: str = ""  # "<sha12> did not build: <first error> (log: <path>)", the newest
    # "the newest run that did not count (<sha12>, failed otherwise) ended: <line> / <line>"
    unusable: str = ""
    # From two ways on, how the search's failed runs ended, a line each, most first: "23 runs, 13 on
    # good commits, counted apart: harness: lost the monitor" (bisect's words).
    ways: tuple[str, ...] = ()
    # The records `patchtool test` stored that the search's own runs contradicted, set aside (the
    # bisect's words: records.said).
    set_aside: tuple[str, ...] = ()
    # A fix search (bisect --broken --fixed): ``culprit`` is the fix, ``good`` the fixed end and
    # ``bad`` the broken end; ``commits`` newest first.
    fix: bool = False
    # A search inside the merge a first-parent search named (or a fix search's line): that merge
    # and what the line spent before it, one line (the bisect's words); "" otherwise.
    merge: str = ""


@record
class PairView:
    """One patch across two revisions: unchanged, changed (with its interdiff), new or dropped."""

    status: str
    old_label: str | None
    new_label: str | None
    title: str
    matched_by: str  # patch-id | title | similarity | ""
    similarity: float
    interdiff: str
    notes: str  # the newer patch's notes (its "Changes in vN")


@record
class CarryView:
    """A review trailer given on the older revision and whether the newer one carries it."""

    key: str
    value: str
    old_label: str
    new_label: str | None
    carried: bool


@record
class SinceView:
    """What changed since an older revision of the series, and what happened to its review."""

    old: int
    new: int
    pairs: tuple[PairView, ...]
    comments: tuple[CommentCheck, ...]  # review's own records, shown as they are
    trailers: tuple[CarryView, ...]
    changes: str  # the newer cover letter's "Changes in" notes


@record
class StageView:
    name: str  # fetch, parse, checks, apply, build, test, bisect
    state: str  # ok | failed | not run
    detail: str = ""


@record
class ReportContext:
    """Everything a report shows, as plain data."""

    series: SeriesView
    patches: tuple[PatchView, ...]
    findings: tuple[FindingView, ...]
    subsystems: tuple[SubsystemView, ...]
    stages: tuple[StageView, ...]
    apply: ApplyView | None = None
    build: BuildView | None = None
    tests: TestsView | None = None
    bisect: BisectView | None = None
    generated: str = ""  # ISO date of the report
    tool: str = "patchtool"
    reply_from: str = ""  # the From: of the reply e-mail (the user's git identity when known)
    schema_version: int = REPORT_SCHEMA_VERSION
    cover: CoverView | None = None
    since: SinceView | None = None
    reasons: tuple[str, ...] = ()  # why the verdict is what it is, most important first
    local: bool = False  # a view for the user only: may name local paths

    @property
    def verdict_line(self) -> str:
        """`FAIL: build failed (...); 1 note`: the verdict with its reasons."""
        word = "FAIL" if self.failed else "PASS"
        return f"{word}: {'; '.join(self.reasons)}" if self.reasons else word

    @property
    def failed(self) -> bool:
        """A negative verdict from any stage (the exit code is 1 then)."""
        return any(s.state == FAILED for s in self.stages)

    @property
    def counts(self) -> dict[str, int]:
        result = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            result[f.severity] = result.get(f.severity, 0) + 1
        return result
