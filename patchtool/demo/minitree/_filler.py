"""Everyday commits between the story's landmarks: docs, trace events, helpers and test cases.

They only touch places no story commit or series depends on (documentation, trace-events files,
the end of util/cutils.c and its header, the strtosz test table), so every one of them builds.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sized
from datetime import UTC, datetime

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree._importer import Person
from patchtool.demo.minitree._tree import Append, Change, Replace, Tree, Write
from patchtool.jsonable import record
from patchtool.resources import fixtures_dir

TEST_TABLE_END = "    /* new cases go above this line */\n"
HEADER_END = "\n#endif /* QEMU_CUTILS_H */"
TRACE_HEADER = "# See docs/devel/tracing.rst for the syntax documentation.\n"


@record
class Planned:
    """One commit to make: who, what and why."""

    author: Person
    committer: Person
    subject: str
    body: str
    changes: list[Change]
    reviewers: tuple[Person, ...] = ()


def message_id(date: int, serial: int, person: Person) -> str:
    stamp = datetime.fromtimestamp(date, UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{40000 + serial * 37 % 9000}-1-{person.email}>"


_TRAILER = re.compile(r"^[A-Z][A-Za-z-]*: \S")


def with_trailers(subject: str, body: str, trailers: list[str]) -> str:
    """Subject, body and trailers; a body ending in trailers (Fixes:, Cc:...) is one block with them."""
    paragraphs = body.rstrip().split("\n\n")
    last = paragraphs[-1].split("\n")
    if all(_TRAILER.match(line) for line in last):
        paragraphs[-1] = "\n".join(last + trailers)
    else:
        paragraphs.append("\n".join(trailers))
    return subject + "\n\n" + "\n\n".join(paragraphs) + "\n"


def commit_message(plan: Planned, date: int, serial: int) -> str:
    """A QEMU-style message: subject, body, the author's and reviewers' trailers, the committer's."""
    lines = []
    lines.append(f"Signed-off-by: {plan.author.ident}")
    lines.extend(f"Reviewed-by: {r.ident}" for r in plan.reviewers)
    lines.append(f"Message-ID: {message_id(date, serial, plan.author)}")
    if plan.committer != plan.author:
        lines.append(f"Signed-off-by: {plan.committer.ident}")
    return with_trailers(plan.subject, plan.body, lines)


def _read(name: str) -> str:
    return (fixtures_dir() / "minitree" / "filler" / name).read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split '== header' blocks into (header, body) pairs, skipping '#' comment lines before them."""
    blocks: list[tuple[str, str]] = []
    for chunk in text.split("\n== ")[1:]:
        header, _, body = chunk.partition("\n")
        blocks.append((header.strip(), body.rstrip("\n") + "\n"))
    return blocks


class Fillers:
    """Hands out filler commits in a fixed pseudo-random order."""

    def __init__(self, seed: int = 4) -> None:
        self.rng = random.Random(seed)
        self.helpers = _blocks("\n" + _read("cutils-helpers.txt"))
        self.docs = _blocks("\n" + _read("docs-paragraphs.txt"))
        self.glossary = [line for line in _read("glossary.txt").splitlines() if line.strip()]
        self.traces = [line.split("|", 1) for line in _read("trace-events.txt").splitlines() if line]
        self.deprecations = [line.split("|", 1) for line in _read("deprecated.txt").splitlines() if line]
        self.mailmap = [line for line in _read("mailmap.txt").splitlines() if line]
        self.sizes_done: set[str] = set()

    def next(self, tree: Tree) -> Planned:
        kinds = [k for k, pool in self._pools() if pool] + ["strtosz"]
        weights = {
            "helper": 2,
            "docs": 3,
            "glossary": 3,
            "trace": 3,
            "deprecated": 2,
            "mailmap": 1,
            "strtosz": 3,
        }
        kind = self.rng.choices(kinds, [weights[k] for k in kinds])[0]
        return getattr(self, f"_{kind}")(tree)  # type: ignore[no-any-return]

    def _pools(self) -> list[tuple[str, Sized]]:
        """The finite kinds with what is left of each (the strtosz cases never run out)."""
        return [
            ("helper", self.helpers),
            ("docs", self.docs),
            ("glossary", self.glossary),
            ("trace", self.traces),
            ("deprecated", self.deprecations),
            ("mailmap", self.mailmap),
        ]

    def _pick(self, *persons: Person) -> Person:
        return self.rng.choice(persons)

    def _helper(self, tree: Tree) -> Planned:
        subject, block = self.helpers.pop(0)
        proto, _, definition = block.partition("--\n")
        name = subject.rsplit(" ", 1)[1]
        return Planned(
            self._pick(people.MARKUS, people.LENA, people.DANIEL),
            people.MARKUS,
            subject,
            f"The dirty limit and replay code want {name}; add it next to the other\n"
            "string and number helpers.\n",
            [
                Replace("include/qemu/cutils.h", HEADER_END, "\n" + proto.rstrip("\n") + "\n" + HEADER_END),
                Append("util/cutils.c", "\n" + definition),
            ],
            reviewers=(people.LENA,) if self.rng.random() < 0.5 else (),
        )

    def _docs(self, tree: Tree) -> Planned:
        header, paragraph = self.docs.pop(0)
        path, _, subject = (part.strip() for part in header.partition("|"))
        change: Change = Append(path, "\n" + paragraph) if path in tree else Write(path, paragraph)
        return Planned(
            self._pick(people.MARKUS, people.PAULA, people.TOMAS, people.LENA),
            people.MARKUS,
            subject,
            "Readers of the developer documentation asked about this more than once.\n",
            [change],
        )

    def _glossary(self, tree: Tree) -> Planned:
        term, _, meaning = self.glossary.pop(0).partition(": ")
        entry = f"{term}\n  {meaning[0].upper()}{meaning[1:]}\n"
        path = "docs/devel/glossary.rst"
        title = "Glossary\n========\n\nTerms used across the developer documentation.\n\n"
        change: Change = Append(path, "\n" + entry) if path in tree else Write(path, title + entry)
        return Planned(
            self._pick(people.MARKUS, people.LENA),
            people.MARKUS,
            f"docs/devel/glossary: Add '{term}'",
            f"Define '{term}', which the other pages use without explaining it.\n",
            [change],
        )

    def _trace(self, tree: Tree) -> Planned:
        path, event = self.traces.pop(0)
        name = event.split("(", 1)[0]
        source = name.split("_", 1)[0]
        change: Change
        if path in tree:
            change = Append(path, event + "\n")
        else:
            change = Write(path, f"{TRACE_HEADER}\n# {source} events\n{event}\n")
        area = path.rsplit("/", 1)[0]
        return Planned(
            self._pick(people.PAULA, people.PIETER, people.AKIRA, people.HENRIK),
            people.PAULA,
            f"{area}: Declare trace event {name}",
            f"Declare {name} so that the next changes can trace this path\n"
            "without a rebuild of the whole tree.\n",
            [change],
        )

    def _deprecated(self, tree: Tree) -> Planned:
        what, why = self.deprecations.pop(0)
        path = "docs/about/deprecated.rst"
        entry = f"{what}\n{'^' * len(what)}\n\n{why}\n"
        title = (
            "Deprecated features\n===================\n\n"
            "Features listed here may be removed two releases after they were deprecated.\n\n"
        )
        change: Change = Append(path, "\n" + entry) if path in tree else Write(path, title + entry)
        name = what.split("``")[1]
        return Planned(
            self._pick(people.PAULA, people.TOMAS, people.RICHARD),
            people.PAULA,
            f"docs/about/deprecated: Deprecate {name}",
            f"Announce that {name} is going away, and what to use instead.\n",
            [change],
            reviewers=(people.MARKUS,),
        )

    def _mailmap(self, tree: Tree) -> Planned:
        line = self.mailmap.pop(0)
        name = line.split(" <", 1)[0]
        change: Change = (
            Append(".mailmap", line + "\n")
            if ".mailmap" in tree
            else Write(
                ".mailmap",
                "# Map author and committer names and addresses to the canonical ones.\n" + line + "\n",
            )
        )
        return Planned(
            people.MARKUS,
            people.MARKUS,
            f".mailmap: Add an entry for {name}",
            "Fold an older address into the canonical one for git shortlog.\n",
            [change],
        )

    def _strtosz(self, tree: Tree) -> Planned:
        text, ret, value = self._size_case()
        row = f'    {{ "{text}", {ret}, {value} }},\n'
        return Planned(
            self._pick(people.TOMAS, people.LENA, people.DANIEL),
            people.TOMAS,
            f'tests/unit/test-cutils: Cover qemu_strtosz("{text}")',
            "Add a case to the qemu_strtosz() table.\n",
            [Replace("tests/unit/test-cutils.c", TEST_TABLE_END, row + TEST_TABLE_END)],
        )

    def _size_case(self) -> tuple[str, str, str]:
        suffixes = {"": 0, "b": 0, "B": 0, "k": 10, "K": 10, "m": 20, "M": 20, "g": 30, "G": 30}
        suffixes.update({"t": 40, "T": 40})
        while True:
            n = self.rng.randrange(0, 5000)
            if self.rng.random() < 0.2:
                text = self.rng.choice([f"{n}q", f"k{n}", f"{n}kk", f"-{n}", f"{n}.5x", f" {n}"])
                case = (text, "-EINVAL", "0")
            else:
                suffix = self.rng.choice(sorted(suffixes))
                text = f"{n}{suffix}"
                case = (text, "0", f"UINT64_C({n}) << {suffixes[suffix]}")
            if text not in self.sizes_done:
                self.sizes_done.add(text)
                return case
