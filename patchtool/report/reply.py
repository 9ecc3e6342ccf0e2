"""What the reply e-mail needs beyond the context: the sender, hunks quoted under their findings,
the build failure cut to its error lines, and prose wrapped to 76 columns.

A maintainer's review quotes the lines it talks about (`> `) and writes under them; it does not
tell the author how to run our tool. Quoted code is never re-wrapped (it would stop being code).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

from patchtool.errors import UsageError
from patchtool.jsonable import record
from patchtool.report.records import BuildView, FindingView, PatchView, ReportContext

WIDTH = 76
HUNK_CONTEXT = 4  # diff lines quoted above the line a finding is about
_ERROR_LINE = re.compile(r"\b(error|fatal error|undefined reference|FAILED)\b|^FAILED:|: Error ")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@record
class QuotedFinding:
    """Findings of one patch line with the diff lines above it, as a reviewer would quote them."""

    patch: str  # "2/3"
    title: str
    lines: tuple[str, ...]  # diff lines, without the "> " marker
    findings: tuple[FindingView, ...]


def sender_identity(explicit: str | None, configured: str, environ: Mapping[str, str]) -> str:
    """`--from`, else git's identity, else the environment (PATCHTOOL_FROM, EMAIL); "" when none."""
    if explicit:
        return explicit.strip()
    if configured:
        return configured
    if environ.get("PATCHTOOL_FROM"):
        return environ["PATCHTOOL_FROM"].strip()
    email = environ.get("EMAIL", "").strip()
    name = environ.get("GIT_AUTHOR_NAME", "").strip()
    return f"{name} <{email}>" if email and name else email


def require_sender(sender: str) -> str:
    if "@" not in sender:
        raise UsageError(
            "the reply e-mail needs a sender: set git config user.email, pass --from, or set EMAIL"
        )
    return sender


def sender_domain(sender: str) -> str:
    """The domain of `Name <user@domain>` (for the Message-ID)."""
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] or "localhost"


def wrap(text: str, indent: str = "", first: str | None = None) -> str:
    """Prose wrapped to WIDTH columns, long words (paths, URLs) kept whole on their own line."""
    lines = []
    for i, para in enumerate(str(text).splitlines() or [""]):
        lead = first if first is not None and i == 0 else indent
        if not para.strip():
            lines.append("")
            continue
        lines.extend(
            textwrap.wrap(
                para,
                WIDTH,
                initial_indent=lead,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _hunk_lines(patch: PatchView, file: str, line: int) -> tuple[str, ...]:
    """The diff lines of `file` down to new-side line `line`, cut to the last few, hunk header first."""
    current, new_no, header = "", 0, ""
    above: list[str] = []
    for raw in patch.diff.splitlines():
        if raw.startswith("diff --git "):
            current = raw.split(" b/", 1)[-1]
            continue
        if current != file:
            continue
        if m := _HUNK.match(raw):
            header, new_no, above = raw, int(m.group(1)), []
            continue
        if not header or raw.startswith(("--- ", "+++ ")):
            continue
        above.append(raw)
        if raw[:1] != "-":
            if new_no == line:
                return (header, *above[-HUNK_CONTEXT:])
            new_no += 1
    return ()


def quoted_findings(ctx: ReportContext) -> tuple[QuotedFinding, ...]:
    """For each patch line with findings: the quoted hunk and those findings, in patch order."""
    out = []
    for p in ctx.patches:
        places: dict[tuple[str, int], list[FindingView]] = {}
        for f in ctx.findings:
            if f.patch == p.label and f.file and f.line:
                places.setdefault((f.file, f.line), []).append(f)
        for (file, line), found in places.items():
            lines = _hunk_lines(p, file, line)
            if lines:
                out.append(QuotedFinding(p.label, p.title, lines, tuple(found)))
    return tuple(out)


def unquoted_findings(ctx: ReportContext, quoted: tuple[QuotedFinding, ...]) -> tuple[FindingView, ...]:
    shown = {id(f) for q in quoted for f in q.findings}
    return tuple(f for f in ctx.findings if id(f) not in shown)


def error_lines(build: BuildView | None, limit: int = 12) -> tuple[str, ...]:
    """The build log's real error lines (compiler errors, failed steps), not the commands around them."""
    if build is None:
        return ()
    found = [line.strip() for line in build.log_excerpt if _ERROR_LINE.search(line)]
    if not found and build.first_error:
        found = [build.first_error]
    return tuple(dict.fromkeys(found))[:limit]
