"""The same Message-Id twice in one thread: drop a true copy, flag copies that differ.

Two archives (or a Cc copy) may hand over the same message; its headers may differ but its
subject and body do not. When they do, someone may have reposted a different diff under an
already reviewed message-id: both copies are named in a `duplicate-msgid-differs` error, so the
verdict fails instead of one copy being chosen in silence.
"""

from __future__ import annotations

from collections.abc import Iterable

from patchtool.models import Finding
from patchtool.parse.mail import Mail


def _content(mail: Mail) -> tuple[str, tuple[str, ...]]:
    """What must agree between copies: the subject and the body, blind to line ends and trailing space."""
    body = mail.body if isinstance(mail.body, str) else bytes(mail.body).decode("utf-8", "surrogateescape")
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return " ".join(mail.subject.split()), tuple(lines)


def unique_mails(mails: Iterable[Mail]) -> tuple[list[Mail], list[Finding]]:
    """Each message-id once (the first copy), and an error for every later copy that differs."""
    first: dict[str, Mail] = {}
    kept: list[Mail] = []
    findings: list[Finding] = []
    for mail in mails:
        earlier = first.get(mail.msgid)
        if earlier is None:
            first[mail.msgid] = mail
            kept.append(mail)
        elif _content(earlier) != _content(mail):
            findings.append(
                Finding(
                    "error",
                    "duplicate-msgid-differs",
                    f"message <{mail.msgid}> was sent twice with different content: {earlier.origin} "
                    f"and {mail.origin}; the first is shown, review both before trusting either",
                    msgid=mail.msgid,
                )
            )
    return kept, findings
