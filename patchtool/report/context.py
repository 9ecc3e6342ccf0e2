"""Build a ReportContext from a Series, the checks, and whichever stages ran (apply, build, test, bisect).

Stage results are read by their documented attributes and copied into the report's plain records,
so the templates never see another module's objects. A stage that did not run is None here and
shows as "not run" in the report.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import re
from typing import Any

from patchtool.bisection.stored import StoredBisect
from patchtool.models import Address, Finding, Patch, RawThread, Series, Trailer
from patchtool.report.conversation import cover_view, fetch_line, links, since_for, thread_views
from patchtool.report.records import (
    FAILED,
    NOT_RUN,
    OK,
    ApplyPatchView,
    ApplyView,
    BuildView,
    DiagnosticView,
    FindingView,
    LandedView,
    PatchView,
    ReplyView,
    ReportContext,
    RevisionView,
    SeriesView,
    StageView,
    SubsystemView,
    TestsView,
    TestView,
    TestWay,
    TrailerView,
)
from patchtool.report.stages import bisect_view, build_log_excerpt
from patchtool.report.verdict import verdict_reasons
from patchtool.review.checks import CheckResult
from patchtool.review.maintainers import APPROVING_KEYS

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_LABEL = re.compile(r"(\d+)/\d+$")


def _patch_order(label: str | None) -> tuple[int, int, str]:
    """The series' own findings first, then the patches' in their order: 2/14 before 10/14."""
    m = _LABEL.match(label or "")
    return (1, int(m.group(1)), "") if m else (0 if label is None else 2, 0, label or "")


_APPLY_WORDS = {
    "clean": "applied clean",
    "3way": "applied by 3-way merge",
    "conflict": "conflict",
    "skipped": "skipped after a conflict",
    "already-applied": "already in the base (no change)",
}


def _person(a: Address) -> str:
    return str(a)


def _trailer(t: Trailer) -> TrailerView:
    return TrailerView(t.key, t.value, t.origin, str(t.sender) if t.sender else None)


def patch_view(p: Patch, replies: tuple[ReplyView, ...] = ()) -> PatchView:
    files = p.summary.files
    functions = p.summary.functions
    trailers = (*p.trailers, *p.review_trailers)
    reviewed = tuple(dict.fromkeys(t.value for t in trailers if t.key in APPROVING_KEYS))
    return PatchView(
        index=p.index,
        total=p.total,
        label=f"{p.index}/{p.total}",
        msgid=p.msgid,
        subject=p.subject,
        title=p.title,
        author=_person(p.author),
        date=p.date.isoformat() if p.date else None,
        files=files,
        added=sum(f.added for f in files),
        removed=sum(f.removed for f in files),
        functions=functions,
        trailers=tuple(_trailer(t) for t in p.trailers),
        review_trailers=tuple(_trailer(t) for t in p.review_trailers),
        reviewed_by=tuple(v for v in reviewed if v),
        diff=p.diff,
        message=p.message.strip("\n"),
        notes=p.notes.strip("\n"),
        replies=replies,
        links=links(p.msgid),
    )


def original_headers(
    raw: RawThread | None, msgid: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """To, Cc and References of the message `msgid` in the raw thread (for a reply to it)."""
    if raw is None:
        return (), (), ()
    for m in raw.messages:
        msg = email.message_from_bytes(m.data, policy=email.policy.compat32)
        if (msg.get("Message-ID") or msg.get("Message-Id") or "").strip().strip("<>") != msgid:
            continue
        to = tuple(_fmt(a) for a in email.utils.getaddresses([str(v) for v in msg.get_all("To", [])]) if a[1])
        cc = tuple(_fmt(a) for a in email.utils.getaddresses([str(v) for v in msg.get_all("Cc", [])]) if a[1])
        refs = tuple(r.strip("<>") for r in str(msg.get("References", "")).split() if r.startswith("<"))
        return to, cc, refs
    return (), (), ()


def sent_from(raw: RawThread | None, msgid: str) -> str:
    """The bare address in the From: of message `msgid`, parsed before any encoded word is decoded."""
    for m in raw.messages if raw is not None else ():
        msg = email.message_from_bytes(m.data, policy=email.policy.compat32)
        if (msg.get("Message-ID") or msg.get("Message-Id") or "").strip().strip("<>") == msgid:
            return email.utils.parseaddr(str(msg.get("From", "")))[1]
    return ""


def _fmt(pair: tuple[str, str]) -> str:
    return email.utils.formataddr(pair) if pair[0] else pair[1]


def _shareable(location: str) -> bool:
    """Web addresses may be shared; a path on the user's machine may not."""
    return location.startswith(("http://", "https://"))


def series_view(series: Series, raw: RawThread | None, local: bool = False) -> SeriesView:
    rev = series.revision
    head: Any = rev.cover or (rev.patches[0] if rev.patches else None)
    msgid = head.msgid if head else ""
    author: Address = head.author if head else Address("", "")
    to, cc, refs = original_headers(raw, msgid)
    revisions = tuple(
        RevisionView(
            r.number,
            len(r.patches),
            r.number == series.chosen,
            (r.cover.msgid if r.cover else r.patches[0].msgid if r.patches else None),
            r.complete,
        )
        for r in series.revisions
    )
    base, fetch = fetch_line(series)
    return SeriesView(
        title=series.title,
        subject=head.subject if head else series.title,
        msgid=msgid,
        author=author.name,
        author_email=author.email,
        reply_to=sent_from(raw, msgid),
        revision=series.chosen,
        revisions=revisions,
        total=rev.total,
        missing=rev.missing,
        to=to,
        cc=cc,
        references=refs,
        source=", ".join(
            f"{p.source}:{p.location}" for p in series.provenance if local or _shareable(p.location)
        ),
        links=links(msgid) if msgid else None,
        base=base,
        fetch=fetch,
    )


def finding_view(f: Finding) -> FindingView:
    return f


def subsystem_views(checks: CheckResult | None) -> tuple[SubsystemView, ...]:
    if checks is None:
        return ()
    return tuple(
        SubsystemView(
            s.section.name,
            s.section.status,
            s.files,
            tuple(map(str, s.section.maintainers)),
            tuple(map(str, s.section.reviewers)),
            s.section.lists,
            tuple(map(str, s.approved_by)),
            s.by_keyword,
        )
        for s in checks.subsystems
    )


def apply_view(result: Any) -> ApplyView:
    """From apply.ApplyResult (base, base_label, base_reason, patches, head, status)."""
    patches = tuple(
        ApplyPatchView(
            f"{o.index}/{o.total}",
            o.title,
            _APPLY_WORDS.get(o.status, o.status),
            o.commit,
            tuple(_conflict_text(c) for c in o.conflicts),
            tuple(o.adaptations),
        )
        for o in result.patches
    )
    ok = result.status != "conflict" and all(
        p.status not in ("conflict", _APPLY_WORDS["skipped"]) for p in patches
    )
    return ApplyView(
        result.status,
        ok,
        result.base,
        result.base_label,
        result.base_reason,
        result.head,
        patches,
        tuple(getattr(result, "hints", ())),
        tuple(
            LandedView(f"{x.index}/{x.total}", x.kind, x.commit, x.same, x.retitled, x.reverted_by)
            for x in getattr(result, "landed", ())
        ),
    )


def _apply_detail(apply: ApplyView) -> str:
    """`applied on X`, `conflict on X`; a series X has already: `already in X`. Notes on what the
    base's history has of the series are counted (`applied on X; 1 note`: a patch applied again on
    top of its own title reads like a clean apply otherwise)."""
    if apply.status == "already in the base":
        return f"already in {apply.base_label}"
    notes = len(apply.hints)
    counted = f"; {notes} note{'s' if notes > 1 else ''}" if notes else ""
    return f"{apply.status} on {apply.base_label}{counted}"


def _conflict_text(c: Any) -> str:
    """patchapply.Conflict (file, hunk) as `file (hunk header)`."""
    path = getattr(c, "file", None)
    hunk = getattr(c, "hunk", "")
    if path is None:
        return str(c)
    return f"{path} ({hunk})" if hunk else str(path)


def build_view(result: Any, reused: bool = False, local: bool = False) -> BuildView:
    """From build.BuildResult (ok, duration, log_path, first_error, diagnostics)."""
    diags = tuple(
        DiagnosticView(d.file, d.line, d.severity, d.message)
        for d in result.diagnostics
        if d.severity != "note"
    )[:20]
    return BuildView(
        ok=bool(result.ok),
        duration=float(result.duration),
        log_path=str(result.log_path) if local else "",
        first_error=result.first_error,
        diagnostics=diags,
        log_excerpt=build_log_excerpt(result.log_path) if not result.ok else (),
        reused=reused,
    )


def tests_view(outcome: Any) -> TestsView:
    """From testresults.TestOutcome (tests: name, runs, passes, failures, skips, timeouts, rate, interval)."""
    tests = []
    for t in outcome.tests:
        failed = t.failures + t.timeouts
        decided = t.runs - t.skips
        verdict = (
            "not run"
            if t.runs == 0
            else "skip"
            if decided == 0
            else "pass"
            if failed == 0
            else "fail"
            if failed == decided
            else "flaky"
        )
        low, high = t.interval
        out = t.first_failures[0] if getattr(t, "first_failures", ()) else ""
        tests.append(
            TestView(
                t.name,
                t.runs,
                t.passes,
                t.failures,
                t.skips,
                t.timeouts,
                float(t.failure_rate),
                float(low),
                float(high),
                verdict,
                _tail(out),
                tuple(TestWay(way, n) for way, n in getattr(t, "failed_ways", ())),
            )
        )
    ok = bool(tests) and all(t.verdict in ("pass", "skip") for t in tests)
    return TestsView(ok, outcome.setup, int(outcome.repeat), tuple(tests), bool(outcome.interrupted))


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def stage_views(
    series: Series,
    checks: CheckResult | None,
    apply: ApplyView | None,
    build: BuildView | None,
    tests: TestsView | None,
    bisect_ran: bool,
    skipped: dict[str, str],
    failed: dict[str, str] | None = None,
    local: bool = False,
) -> tuple[StageView, ...]:
    rev = series.revision
    prov = series.provenance[0] if series.provenance else None
    where = (
        (f"{prov.source}: {prov.location}" if local or _shareable(prov.location) else prov.source)
        if prov
        else ""
    )
    stages = [StageView("fetch", OK, where)]
    missing = ", ".join(f"{i}/{rev.total}" for i in rev.missing)
    stages.append(
        StageView(
            "parse",
            FAILED if rev.missing and series.pull is None else OK,
            f"pull request, {len(rev.patches)} of {rev.total} patches in the thread"
            if series.pull is not None
            else f"missing {missing}"
            if missing
            else f"v{rev.number}, {len(rev.patches)} patch{'es' if len(rev.patches) != 1 else ''}",
        )
    )
    if checks is None:
        stages.append(StageView("checks", NOT_RUN, skipped.get("checks", "")))
    else:
        errors = sum(f.severity == "error" for f in checks.findings)
        stages.append(StageView("checks", FAILED if errors else OK, _checks_detail(checks, errors)))
    stages.append(_stage("apply", (apply.ok, _apply_detail(apply)) if apply else None, skipped))
    build_detail = "ok" if build and build.ok else (build.first_error if build else None) or "failed"
    stages.append(_stage("build", (build.ok, build_detail) if build else None, skipped))
    stages.append(_stage("test", (tests.ok, _tests_detail(tests)) if tests else None, skipped))
    stages.append(StageView("bisect", OK if bisect_ran else NOT_RUN, "stored result" if bisect_ran else ""))
    refused = failed or {}
    return tuple(StageView(s.name, FAILED, refused[s.name]) if s.name in refused else s for s in stages)


def _checks_detail(checks: CheckResult, errors: int) -> str:
    n = len(checks.findings)
    style = "checkpatch ran" if checks.checkpatch_ran else "no checkpatch"
    return f"{errors} error{'s' if errors != 1 else ''}, {n} finding{'s' if n != 1 else ''}; {style}"


def _stage(name: str, result: tuple[bool, str] | None, skipped: dict[str, str]) -> StageView:
    if result is None:
        return StageView(name, NOT_RUN, skipped.get(name, ""))
    return StageView(name, OK if result[0] else FAILED, result[1])


def _tests_detail(tests: TestsView) -> str:
    bad = [t for t in tests.tests if t.verdict in ("fail", "flaky", "not run")]
    if not bad:
        return f"{len(tests.tests)} passed"
    return ", ".join(f"{t.name} {t.verdict} {t.failures + t.timeouts}/{t.runs}" for t in bad)


def build_context(
    series: Series,
    checks: CheckResult | None = None,
    *,
    raw: RawThread | None = None,
    apply: Any = None,
    build: Any = None,
    build_reused: bool = False,
    tests: Any = None,
    bisect: StoredBisect | None = None,
    skipped: dict[str, str] | None = None,
    failed: dict[str, str] | None = None,
    generated: dt.datetime | None = None,
    tool: str = "patchtool",
    reply_from: str = "",
    local: bool = False,
) -> ReportContext:
    """Everything the report shows; stage results that are None show as not run."""
    threads = thread_views(series.revision, raw)
    patches = [patch_view(p, threads.get(f"{p.index}/{p.total}", ())) for p in series.revision.patches]
    apply_v = apply_view(apply) if apply is not None else None
    if apply_v is not None:
        by_label = {a.label: a for a in apply_v.patches}
        patches = [_with_apply(p, by_label.get(p.label)) for p in patches]
    findings = checks.findings if checks is not None else series.findings
    ordered = sorted(
        findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 3), _patch_order(f.patch), f.file or "")
    )
    build_v = build_view(build, build_reused, local) if build is not None else None
    tests_v = tests_view(tests) if tests is not None else None
    bisect_v = bisect_view(bisect) if bisect is not None else None
    stages = stage_views(
        series, checks, apply_v, build_v, tests_v, bisect_v is not None, skipped or {}, failed, local
    )
    finding_views = tuple(finding_view(f) for f in ordered)
    return ReportContext(
        series=series_view(series, raw, local),
        patches=tuple(patches),
        findings=finding_views,
        subsystems=subsystem_views(checks),
        stages=stages,
        apply=apply_v,
        build=build_v,
        tests=tests_v,
        bisect=bisect_v,
        generated=(generated or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat(),
        tool=tool,
        reply_from=reply_from,
        cover=cover_view(series.revision, threads.get("cover", ())),
        since=since_for(series, raw),
        reasons=verdict_reasons(stages, finding_views, build_v),
        local=local,
    )


def _with_apply(p: PatchView, a: ApplyPatchView | None) -> PatchView:
    from dataclasses import replace

    return replace(p, apply_status=a.status, commit=a.commit) if a else replace(p, apply_status="not applied")
