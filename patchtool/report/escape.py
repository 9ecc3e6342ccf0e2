"""One sanitiser per output kind, for text that came from mail or a server.

A subject, trailer or server message may carry terminal escape sequences (`ESC ] 0 ; title BEL`
retitles a terminal, `ESC [ 2 J` clears it), carriage returns that overwrite a line, or bidi
controls that reorder what a reader sees. None of them may reach an output as such: each is
shown as a visible `\\xNN` / `\\uNNNN` escape, and letters of any script are kept.

- `for_terminal`: terminal text (newlines and tabs kept);
- `for_terminal_line`: one line of terminal text (a newline is shown, not obeyed);
- `for_markdown`: Markdown, with its own significant characters escaped too;
- `for_html`: HTML text (escaped markup, visible controls);
- `for_email_header`: an e-mail header value: no CR/LF or other control character (the
  e-mail policy folds long values);
- `for_email_body`: the plain-text body of an e-mail.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markupsafe import Markup

# markupsafe and email.header are imported where used: the console escapes every line it prints,
# and `patchtool fetch` must not pay for HTML or header machinery (start-up, issue 18).

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate marks.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_HEADER_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_MARKDOWN_SPECIAL = "\\`*_[]<>|#"


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object) -> str:
    """Text for a terminal: every control character and escape sequence shown, not obeyed."""
    return _CONTROLS.sub(_visible, str(text))


def for_terminal_line(text: object) -> str:
    """One line for a terminal (an error message): newlines shown as `\\x0a` too."""
    return _LINE_CONTROLS.sub(_visible, str(text))


def for_markdown(text: object) -> str:
    """Markdown text: controls shown, and Markdown/HTML-significant characters escaped."""
    out = for_terminal(text)
    for ch in _MARKDOWN_SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out


def for_html(text: object) -> Markup:
    """HTML text: markup escaped (already-safe Markup kept as markup), controls shown."""
    from markupsafe import Markup, escape

    if isinstance(text, Markup):
        return Markup(for_terminal(str(text)))
    return escape(for_terminal(text))


def _decode_words(value: str) -> str:
    import email.errors
    import email.header

    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return value


def for_email_header(text: object) -> str:
    """A header value: every CR, LF and other control becomes a space (tabs are header whitespace).

    An RFC 2047 encoded word (`=?utf-8?q?a=0ABcc:_x?=`) would be decoded again, newline and all,
    when the e-mail policy parses the value: encoded words are decoded first, cleaned like the
    rest, and whatever still looks like one is broken up (`= ?`).
    """
    value = str(text)
    if "=?" in value:
        value = _decode_words(value)
    return _HEADER_CONTROLS.sub(" ", value).replace("=?", "= ?")


def for_email_body(text: object) -> str:
    """A plain-text e-mail body: line breaks kept, every other control shown."""
    return for_terminal(text)
