"""What a series is made of: its patches, base, sender, threading and the replies it gets."""

from __future__ import annotations

from collections.abc import Callable

from patchtool.demo.minitree._filler import Planned
from patchtool.demo.minitree._history import Chronicle
from patchtool.demo.minitree._importer import Person
from patchtool.demo.minitree._mail import msgid_for
from patchtool.demo.minitree._tree import Tree
from patchtool.jsonable import record


@record
class ReplySpec:
    to: int  # index into the thread: 0 is the cover letter when there is one, else the first patch
    sender: Person
    text: str
    hours: int
    quote_lines: int | None = 12


@record
class SeriesSpec:
    name: str
    base: str  # a landmark name ("tip"...), a tag, or "series:NAME" (on top of an earlier series)
    author: Person
    patches: tuple[Callable[[Tree], Planned], ...]
    pid: int
    day: int  # days after the tip's date that the series is sent
    version: int = 1
    cover: tuple[str, str] | None = None
    notes: str = ""
    cc: tuple[Person | str, ...] = ()
    replies: tuple[ReplySpec, ...] = ()
    deep_from: int | None = None  # patches from this number on reply to the one before it (seed 001)
    base_footer: bool = False  # b4 style: base-commit: and change-id: after the diff


def sent_time(c: Chronicle, spec: SeriesSpec) -> int:
    return c.imp.commits[c.names["tip"]].date + spec.day * 86400 + spec.pid % 3600


def first_msgid(c: Chronicle, spec: SeriesSpec) -> str:
    return msgid_for(sent_time(c, spec), spec.pid, 1, spec.author)
