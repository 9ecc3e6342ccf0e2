"""Render a ReportContext with the jinja2 templates: terminal text, Markdown, HTML and the reply e-mail."""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import json
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import jinja2
from markupsafe import Markup

from patchtool.jsonable import to_jsonable
from patchtool.report import escape
from patchtool.report import html as report_html
from patchtool.report.records import ReportContext
from patchtool.resources import templates_dir

_TEMPLATES = {
    "term": "report.term.j2",
    "md": "report.md.j2",
    "html": "report.html.j2",
    "email": "report.email.j2",
}
REPLY_FROM = "patchtool <patchtool@localhost>"


def _html_finalize(value: object) -> object:
    # autoescape escapes what this returns, so Markup (pygments output) must stay Markup
    return escape.for_html(value) if isinstance(value, Markup) else escape.for_terminal(value)


# Applied to every `{{ }}` of a format's templates, so no value from mail reaches the output raw,
# whether or not the template remembered a filter.
_FINALIZE: dict[str, Callable[[object], object]] = {
    "term": escape.for_terminal,
    "md": escape.for_terminal,  # |md adds Markdown escaping where a template asks for it
    "html": _html_finalize,
    "email": escape.for_email_body,
}


def _environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_FINALIZE[fmt],
    )
    env.filters["pct"] = lambda x: f"{100 * float(x):.0f}%"
    env.filters["short"] = lambda sha: (sha or "")[:12]
    env.filters["md"] = escape.for_markdown
    env.filters["term"] = escape.for_terminal
    env.filters["email_body"] = escape.for_email_body
    return env


def render_text(ctx: ReportContext, fmt: str) -> str:
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown report format {fmt!r}")
    env = _environment(fmt)
    values: dict[str, Any] = {"ctx": ctx, "counts": ctx.counts, "failed": ctx.failed}
    if fmt == "html":
        values["view"] = report_html.html_view(ctx)
    text = env.get_template(_TEMPLATES[fmt]).render(**values)
    if fmt == "email":
        return reply_message(ctx, text, ctx.reply_from or REPLY_FROM).as_string()
    return text


def _reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


_ADDRESS_SPECIALS = set('()<>@,;:\\"[]')


def _address(name: str, addr: str) -> str:
    """`Name <addr>` with both parts CR/LF-free; a name with specials is quoted so it stays one."""
    name, addr = escape.for_email_header(name), escape.for_email_header(addr).strip("<>")
    if not name:
        return addr
    if _ADDRESS_SPECIALS & set(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def reply_message(ctx: ReportContext, body: str, sender: str = REPLY_FROM) -> EmailMessage:
    """A plain-text reply to the series in patchew's manner: Re: subject, threaded, To the author.

    Every header value from mail goes through escape.for_email_header: a display name or subject
    that decoded to text with a newline can neither crash the e-mail policy nor add a header.
    """
    s = ctx.series
    header = escape.for_email_header
    msg = EmailMessage(policy=email.policy.default.clone(linesep="\n", max_line_length=998))
    msg["From"] = header(sender)
    msg["To"] = _address(s.author, s.author_email)
    cc = [header(a) for a in dict.fromkeys((*s.to, *s.cc)) if s.author_email.lower() not in a.lower()]
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _reply_subject(header(s.subject))
    msg["In-Reply-To"] = f"<{header(s.msgid)}>"
    msg["References"] = " ".join(f"<{header(r)}>" for r in dict.fromkeys((*s.references, s.msgid)))
    msg["Date"] = _date(ctx.generated)
    digest = hashlib.sha256(f"{s.msgid}\0{ctx.generated}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<patchtool.{digest}@localhost>"
    msg["X-Mailer"] = "patchtool"
    # 8bit keeps the reply readable as sent; quoted-printable only when a line is too long for SMTP.
    long_line = any(len(line.encode()) > 990 for line in body.splitlines())
    msg.set_content(body, charset="utf-8", cte="quoted-printable" if long_line else "8bit")
    return msg


def _date(iso: str) -> str:
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        when = dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(when)


def render(ctx: ReportContext, fmt: str) -> str:
    """The report as text in one of FORMATS."""
    if fmt == "json":
        data: dict[str, object] = {"schema_version": ctx.schema_version}
        data.update(verdict="fail" if ctx.failed else "pass", counts=ctx.counts)
        data.update(to_jsonable(ctx))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return render_text(ctx, fmt)
