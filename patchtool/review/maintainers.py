"""Read QEMU's MAINTAINERS file and say who looks after each file a series touches."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import field

from patchtool.jsonable import record
from patchtool.models import Address, Trailer

_UNDERLINE = re.compile(r"^\s*(-{3,}|={3,})\s*$")
_TAG = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
_ADDRESS = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")
APPROVING_KEYS = ("Reviewed-by", "Acked-by")


@record
class Section:
    """One MAINTAINERS section: a title and its tagged lines."""

    name: str
    maintainers: tuple[Address, ...] = ()  # M:
    reviewers: tuple[Address, ...] = ()  # R:
    lists: tuple[str, ...] = ()  # L:
    status: str = ""  # S:
    files: tuple[str, ...] = ()  # F:
    excludes: tuple[str, ...] = ()  # X:
    keywords: tuple[str, ...] = ()  # K:
    name_regexes: tuple[str, ...] = ()  # N:


@record
class Subsystem:
    """A section matched by a series, the files that matched, and who of its people approved."""

    section: Section
    files: tuple[str, ...]  # touched files matched by F:/N: (and not X:)
    by_keyword: bool = False  # matched by a K: regex on the diff
    approved_by: tuple[Address, ...] = ()  # maintainers/reviewers who gave Reviewed-by/Acked-by
    # of those, the ones known only by name: (the section's address, the address they reviewed from)
    by_name: tuple[tuple[Address, Address], ...] = ()


@record
class FileOwners:
    """Who looks after one touched file."""

    path: str
    sections: tuple[str, ...]
    maintainers: tuple[Address, ...]
    reviewers: tuple[Address, ...]
    lists: tuple[str, ...] = ()


@record
class Maintainers:
    """A parsed MAINTAINERS file."""

    sections: tuple[Section, ...] = field(default_factory=tuple)


def parse_address(text: str) -> Address:
    """`Name <mail>` into an Address; a bare address keeps an empty name."""
    m = _ADDRESS.match(text)
    if m:
        return Address(m.group("name").strip().strip('"'), m.group("email"))
    return Address("", text.strip())


def parse_maintainers(text: str) -> Maintainers:
    """Parse QEMU's MAINTAINERS format: a title line, then `X: value` lines, sections split by blanks."""
    sections: list[Section] = []
    title: str | None = None
    tags: dict[str, list[str]] = {}
    for raw in [*text.splitlines(), ""]:
        line = raw.rstrip()
        m = _TAG.match(line)
        if m and title is not None:
            tags.setdefault(m.group(1), []).append(m.group(2))
            continue
        if title is not None and tags:
            sections.append(_section(title, tags))
            title = None
        if _UNDERLINE.match(line):
            tags = {}
            continue  # "-----" under a group heading: the title stays the line above
        # A non-tag line starts a new section title; prose lines become titles with no tags.
        title, tags = (line.strip() or None), {}
    return Maintainers(tuple(sections))


def _section(title: str, tags: dict[str, list[str]]) -> Section:
    return Section(
        name=title,
        maintainers=tuple(parse_address(v) for v in tags.get("M", [])),
        reviewers=tuple(parse_address(v) for v in tags.get("R", [])),
        lists=tuple(tags.get("L", [])),
        status=(tags.get("S") or [""])[0],
        files=tuple(tags.get("F", [])),
        excludes=tuple(tags.get("X", [])),
        keywords=tuple(tags.get("K", [])),
        name_regexes=tuple(tags.get("N", [])),
    )


# a bracket class of an F:/X: line (`target/i386/*.[ch]`, `pegasos[12].dt[sb]`: 13 lines of
# QEMU's MAINTAINERS): get_maintainer.pl turns only `*`, `?` and `.` into regex and keeps the
# brackets as a regex class, which names one of its characters
_CLASS = re.compile(r"\[([^\]/\[\\]+)\]")


def _glob_source(pattern: str) -> str:
    """`*` and `?` within one path component, `[...]` one of its characters, the rest literal."""
    out, at = [], 0
    while at < len(pattern):
        ch = pattern[at]
        if ch == "[" and (cls := _CLASS.match(pattern, at)):
            members = cls.group(1)
            negated = members.startswith("^") and len(members) > 1  # a regex class: `!` is itself
            body = "".join(re.escape(c) if c != "-" else "-" for c in members[negated:])
            out.append(f"[{'^/' if negated else ''}{body}]")
            at = cls.end()
            continue
        out.append("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch))
        at += 1
    return "".join(out)


def _pattern_source(pattern: str) -> str:
    """A regex, for fullmatch, of the paths one F:/X: pattern covers (path_matches' rule)."""
    glob = _glob_source(pattern)
    if pattern.endswith("/"):
        return glob + "(?s:.*)"
    if any(c in pattern for c in "*?") or _CLASS.search(pattern):
        return glob
    return f"{glob}|{re.escape(pattern)}/(?s:.*)"


@functools.lru_cache(maxsize=16384)
def _covering(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled regex for a section's F: (or X:) lines, built once per set of patterns.

    A series that moves headers names thousands of paths (a real 28-patch one: 1,700), each held
    against every F:/X: line of QEMU's MAINTAINERS (2,219) twice. Built at each test, the regexes
    took 372 s there; compiled once per section, 1.6 s (bench/maintainers_speed.py).
    """
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_pattern_source(p)})" for p in patterns))


def path_matches(path: str, pattern: str) -> bool:
    """get_maintainer's F:/X: rule: `dir/` covers everything below; else the glob names the file.

    A pattern without glob characters that names a directory (no trailing slash) also covers it.
    """
    regex = _covering((pattern,))
    return regex is not None and regex.fullmatch(path) is not None


def _safe_search(regex: str, text: str) -> bool:
    try:
        return re.search(regex, text) is not None
    except re.error:
        return False  # a broken K:/N: line in MAINTAINERS must not stop the report


def section_covers(section: Section, path: str) -> bool:
    excludes, files = _covering(section.excludes), _covering(section.files)
    if excludes is not None and excludes.fullmatch(path):
        return False
    if files is not None and files.fullmatch(path):
        return True
    return any(_safe_search(n, path) for n in section.name_regexes)


def owners_of(maint: Maintainers, path: str) -> FileOwners:
    """The sections covering one file and their maintainers, reviewers and lists (no duplicates)."""
    return _owners(path, [s for s in maint.sections if section_covers(s, path)])


def owners_in(subsystems: Iterable[Subsystem], paths: Iterable[str]) -> tuple[FileOwners, ...]:
    """``owners_of`` each path, read off the sections ``subsystems_for`` found for them (in
    MAINTAINERS' order) instead of holding every path against MAINTAINERS a second time."""
    covering = [(s.section, set(s.files)) for s in subsystems if s.files]
    return tuple(_owners(p, [section for section, files in covering if p in files]) for p in paths)


def _owners(path: str, hits: list[Section]) -> FileOwners:
    return FileOwners(
        path=path,
        sections=tuple(s.name for s in hits),
        maintainers=_unique(a for s in hits for a in s.maintainers),
        reviewers=_unique(a for s in hits for a in s.reviewers),
        lists=tuple(dict.fromkeys(x for s in hits for x in s.lists)),
    )


def _unique(addresses: Iterable[Address]) -> tuple[Address, ...]:
    seen: dict[str, Address] = {}
    for a in addresses:
        seen.setdefault(a.email.lower(), a)
    return tuple(seen.values())


_MAILMAP_ADDR = re.compile(r"<([^<>\s]+)>")


def parse_mailmap(text: str) -> dict[str, str]:
    """git's .mailmap as {lower-cased commit address: lower-cased proper address}.

    Forms: `Name <proper> <commit>`, `<proper> <commit>`, `Name <proper> Other <commit>`; a line
    with one address only fixes a name, so it maps nothing.
    """
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        emails = _MAILMAP_ADDR.findall(line.split("#", 1)[0])
        if len(emails) == 2:
            mapping[emails[1].lower()] = emails[0].lower()
    return mapping


def _canonical(email: str, mailmap: dict[str, str]) -> str:
    return mailmap.get(email.lower(), email.lower())


def _approvals(trailers: Iterable[Trailer]) -> list[Address]:
    """The people who gave a Reviewed-by or Acked-by."""
    return [t.address or parse_address(t.value) for t in trailers if t.key in APPROVING_KEYS]


def _approved(
    people: Iterable[Address], given: list[Address], mailmap: dict[str, str]
) -> tuple[tuple[Address, ...], tuple[tuple[Address, Address], ...]]:
    """Section people who approved: by address or .mailmap, else by the same full name (kept apart)."""
    emails = {_canonical(a.email, mailmap) for a in given}
    ok: list[Address] = []
    by_name: list[tuple[Address, Address]] = []
    for person in _unique(people):
        if _canonical(person.email, mailmap) in emails:
            ok.append(person)
            continue
        same = next((a for a in given if a.name and a.name.casefold() == person.name.casefold()), None)
        if same is not None and " " in person.name.strip():
            ok.append(person)
            by_name.append((person, same))
    return tuple(ok), tuple(by_name)


def subsystems_for(
    maint: Maintainers,
    paths: Iterable[str],
    diff_text: str = "",
    trailers: Iterable[Trailer] = (),
    mailmap: dict[str, str] | None = None,
) -> tuple[Subsystem, ...]:
    """Sections touched by a series: by file (F:/X:/N:) and by content (K: on the diff's -/+ lines)."""
    paths = list(dict.fromkeys(paths))
    changed = "\n".join(
        line[1:]
        for line in diff_text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    given = _approvals(trailers)
    result: list[Subsystem] = []
    for s in maint.sections:
        files = tuple(p for p in paths if section_covers(s, p))
        by_kw = not files and bool(changed) and any(_safe_search(k, changed) for k in s.keywords)
        if not files and not by_kw:
            continue
        ok, by_name = _approved((*s.maintainers, *s.reviewers), given, mailmap or {})
        result.append(Subsystem(s, files, by_kw, ok, by_name))
    return tuple(result)
