"""The report: a ReportContext of plain dataclasses, rendered as term, md, html, email or json.

The context holds only strings, numbers and tuples of small records (never GitPython, unidiff or
requests objects), so it serialises as JSON as is and templates only loop and test.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT_SCHEMA_VERSION = 1
FORMATS = ("term", "md", "html", "email", "json")

# Stage states shown to the user.
OK, FAILED, NOT_RUN = "ok", "failed", "not run"


@dataclass(frozen=True)
class FindingView:
    severity: str  # "error" | "warning" | "info"
    code: str
    message: str
    patch: str | None = None  # "2/3"
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        place = self.file or ""
        if self.file and self.line:
            place += f":{self.line}"
        return " ".join(x for x in (f"[{self.patch}]" if self.patch else "", place) if x)


@dataclass(frozen=True)
class FileView:
    path: str
    status: str  # added | removed | modified | renamed | copied
    added: int
    removed: int
    old_path: str | None = None


@dataclass(frozen=True)
class FunctionView:
    file: str
    name: str
    kind: str  # added, removed, body-changed, signature-changed, prototype-added, stub-added, ...
    detail: str = ""
    old_signature: str | None = None
    new_signature: str | None = None


@dataclass(frozen=True)
class TrailerView:
    key: str
    value: str
    origin: str  # commit | reply | cover-reply
    given_by: str | None = None  # the reply's sender, for review trailers


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class RevisionView:
    number: int
    patches: int
    chosen: bool
    msgid: str | None = None
    complete: bool = True


@dataclass(frozen=True)
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
    source: str = ""  # where it came from


@dataclass(frozen=True)
class SubsystemView:
    name: str
    status: str
    files: tuple[str, ...]
    maintainers: tuple[str, ...]
    reviewers: tuple[str, ...]
    lists: tuple[str, ...]
    approved_by: tuple[str, ...]
    by_keyword: bool = False


@dataclass(frozen=True)
class ApplyPatchView:
    label: str
    title: str
    status: str
    commit: str | None = None
    conflicts: tuple[str, ...] = ()
    adaptations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyView:
    status: str  # "applied" | "conflict" | ...
    ok: bool
    base: str
    base_label: str
    base_reason: str
    head: str | None
    patches: tuple[ApplyPatchView, ...]


@dataclass(frozen=True)
class DiagnosticView:
    file: str
    line: int
    severity: str
    message: str


@dataclass(frozen=True)
class BuildView:
    ok: bool
    duration: float
    log_path: str
    first_error: str | None
    diagnostics: tuple[DiagnosticView, ...]
    log_excerpt: tuple[str, ...] = ()  # failing lines with context, groups split by "---"
    reused: bool = False


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class TestsView:
    ok: bool
    setup: str | None
    repeat: int
    tests: tuple[TestView, ...]
    interrupted: bool = False


@dataclass(frozen=True)
class BisectCommitView:
    index: int
    sha: str
    subject: str
    probability: float
    runs: int
    failures: int
    untestable: bool = False


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class StageView:
    name: str  # fetch, parse, checks, apply, build, test, bisect
    state: str  # ok | failed | not run
    detail: str = ""


@dataclass(frozen=True)
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

