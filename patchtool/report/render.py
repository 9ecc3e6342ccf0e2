"""Render a ReportContext with the jinja2 templates: terminal text, Markdown, HTML and the reply e-mail."""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import json
import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import jinja2
from markupsafe import Markup

from patchtool.jsonable import to_jsonable
from patchtool.report import escape, reply
from patchtool.report import html as report_html
from patchtool.report.records import ReportContext, SinceView, where
from patchtool.resources import templates_dir

_TEMPLATES = {
    "term": "report.term.j2",
    "md": "report.md.j2",
    "html": "report.html.j2",
    "email": "report.email.j2",
}


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
    env.filters["wrap"] = reply.wrap
    env.filters["fence"] = _fence
    env.filters["where"] = where
    env.filters["rstrip"] = lambda text: str(text).rstrip()
    env.filters["quote_line"] = lambda line: f"> {line}"
    return env


def _fence(text: object) -> str:
    """Text from mail as a Markdown code block, fenced longer than any backtick run inside it."""
    body = str(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


def render_text(ctx: ReportContext, fmt: str) -> str:
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown report format {fmt!r}")
    env = _environment(fmt)
    values: dict[str, Any] = {"ctx": ctx, "counts": ctx.counts, "failed": ctx.failed}
    if fmt == "html":
        values["view"] = report_html.html_view(ctx)
    if fmt == "email":
        sender = reply.require_sender(ctx.reply_from)
        values.update(_email_values(ctx, sender))
        return reply_message(ctx, env.get_template(_TEMPLATES[fmt]).render(**values), sender).as_string()
    return env.get_template(_TEMPLATES[fmt]).render(**values)


def _email_values(ctx: ReportContext, sender: str) -> dict[str, Any]:
    quoted = reply.quoted_findings(ctx)
    author = ctx.series.author.split(",")[0].split()
    name = email.utils.parseaddr(sender)[0]
    return {
        "quoted": quoted,
        "others": reply.unquoted_findings(ctx, quoted),
        "errors": reply.error_lines(ctx.build),
        "greeting": author[0] if author else "all",
        "signer": name or sender,
    }


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


def reply_message(ctx: ReportContext, body: str, sender: str) -> EmailMessage:
    """A plain-text reply to the series in patchew's manner: Re: subject, threaded, To the author.

    Every header value from mail goes through escape.for_email_header: a display name or subject
    that decoded to text with a newline can neither crash the e-mail policy nor add a header.
    """
    s = ctx.series
    header = escape.for_email_header
    msg = EmailMessage(policy=email.policy.default.clone(linesep="\n", max_line_length=998))
    msg["From"] = header(sender)
    to = s.reply_to or s.author_email  # the address it was sent from, never one taken from a name
    msg["To"] = _address(s.author, to)
    cc = [header(a) for a in dict.fromkeys((*s.to, *s.cc)) if to.lower() not in a.lower()]
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = _reply_subject(header(s.subject))
    msg["In-Reply-To"] = f"<{header(s.msgid)}>"
    msg["References"] = " ".join(f"<{header(r)}>" for r in dict.fromkeys((*s.references, s.msgid)))
    msg["Date"] = _date(ctx.generated)
    digest = hashlib.sha256(f"{s.msgid}\0{ctx.generated}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<patchtool.{digest}@{reply.sender_domain(sender)}>"
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


def render_since(since: SinceView, *, interdiff: bool = True) -> str:
    """The revision comparison as text, as `patchtool diff` prints it."""
    env = _environment("term")
    return env.get_template("since.term.j2").render(sv=since, show_interdiff=interdiff)


def render(ctx: ReportContext, fmt: str) -> str:
    """The report as text in one of FORMATS."""
    if fmt == "json":
        data: dict[str, object] = {"schema_version": ctx.schema_version}
        data.update(verdict="fail" if ctx.failed else "pass", counts=ctx.counts)
        data.update(to_jsonable(ctx))
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return render_text(ctx, fmt)
