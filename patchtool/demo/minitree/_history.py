"""The mini tree's history: releases, the sysemu/ rename, a build break, the RCU regression, stable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree import _story as story
from patchtool.demo.minitree._filler import Fillers, Planned, commit_message
from patchtool.demo.minitree._importer import Importer
from patchtool.demo.minitree._tree import Tree, Write, load_initial_tree, map_paths

STABLE_BRANCH = "stable-9.2"
# Main-line fixes that the stable branch carries, in the order they were picked.
STABLE_PICKS = ("fix_rcu_unregister", "fix_ring_full", "fix_dirtylimit_alloc")


def to_sysemu(path: str) -> str:
    """Map a path after the rename to the same file before it."""
    return (
        "include/sysemu/" + path.removeprefix("include/system/")
        if path.startswith("include/system/")
        else path
    )


@dataclass
class Chronicle:
    """Writes the main line commit by commit and remembers the landmarks by name."""

    imp: Importer
    clock: people.Clock = field(default_factory=people.Clock)
    fillers: Fillers = field(default_factory=Fillers)
    names: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    plans: dict[int, Planned] = field(default_factory=dict)
    messages: dict[int, str] = field(default_factory=dict)
    serial: int = 0

    def tree(self, branch: str = "main") -> Tree:
        return self.imp.tree_of(branch)

    def add(self, plan: Planned | Callable[[Tree], Planned], name: str | None = None) -> int:
        if not isinstance(plan, Planned):
            plan = plan(self.tree())
        date = self.clock.tick()
        self.serial += 1
        message = commit_message(plan, date, self.serial)
        mark = self.imp.commit("main", plan.author, plan.committer, date, message, plan.changes)
        self.plans[mark] = plan
        self.messages[mark] = message
        if name:
            self.names[name] = mark
        return mark

    def fill(self, count: int) -> None:
        for _ in range(count):
            self.add(self.fillers.next(self.tree()))

    def release(self, version: str, tag: str) -> int:
        mark = self.add(story.version_bump(version, f"Update version for {tag} release"))
        self.imp.tag(tag, mark, people.PAULA, self.clock.now + 7200, f"{tag} release\n")
        self.tags[tag] = mark
        return mark


PADDING_AREAS = ("audio", "block", "char", "display", "i2c", "input", "misc", "net", "pci", "timer", "usb")


def padding_files(count: int) -> dict[str, str]:
    """`count` small device-model files that are never built, to make the tree QEMU-sized."""
    files = {}
    for i in range(count):
        area = PADDING_AREAS[i % len(PADDING_AREAS)]
        path = f"hw/{area}/group{i // 400:03d}/dev{i:05d}.c"
        files[path] = (
            f"/*\n * {area} device model {i}.\n *\n"
            " * This work is licensed under the terms of the GNU GPL, version 2 or later.\n */\n"
            f'#include "qemu/osdep.h"\n\nint {area}_dev{i:05d}_realize(void)\n{{\n    return {i % 97};\n}}\n'
        )
    return files


def initial_import(tree: Tree, padding: int = 0) -> Planned:
    files = {**load_initial_tree(), **padding_files(padding)}
    return Planned(
        people.PAULA,
        people.PAULA,
        "Initial import of mini-QEMU",
        "A small machine emulator laid out like QEMU: the KVM dirty ring with\n"
        "its reaper thread, RCU, the dirty page rate limit, record/replay of an\n"
        "alpha guest, unit tests and a functional replay test.\n",
        [Write(path, text) for path, text in files.items()],
    )


def write_main(c: Chronicle, padding: int = 0) -> None:
    """The main line, from the initial import to the tip, with its three releases."""
    c.add(initial_import(c.tree(), padding), "initial")
    c.fill(18)
    c.add(story.maintainers_update(0))
    c.fill(12)
    c.add(story.reaper_void, "reaper_void")
    c.fill(25)
    c.add(story.maintainers_update(1))
    c.fill(30)
    c.release("9.2.0", "v9.2.0")

    c.add(story.version_bump("9.2.50", "Open 10.0 development tree"))
    c.fill(8)
    c.add(story.rcu_unregister_fix, "fix_rcu_unregister")
    c.fill(20)
    c.add(story.rename_sysemu, "rename")
    c.fill(10)
    c.add(story.ring_full_count, "fix_ring_full")
    c.fill(6)
    c.add(story.dirtylimit_alloc_fix, "fix_dirtylimit_alloc")
    c.fill(20)
    c.add(story.maintainers_update(2))
    c.fill(25)
    c.release("10.0.0", "v10.0.0")

    write_after_v10(c)


def write_after_v10(c: Chronicle) -> None:
    c.add(story.version_bump("10.0.50", "Open 10.1 development tree"))
    c.fill(22)
    broken = c.add(story.dirtylimit_enable_flag, "build_break")
    c.fill(2)
    c.add(lambda t: story.dirtylimit_build_fix(t, c.imp.sha(broken), c.plans[broken].subject), "build_fix")
    c.fill(11)
    c.add(story.rcu_force_quiescent_state, "rcu_regression")
    c.fill(20)
    c.add(story.maintainers_update(3))
    c.fill(25)
    c.release("10.1.0", "v10.1.0")

    c.add(story.version_bump("10.1.50", "Open 10.2 development tree"))
    c.fill(10)
    c.add(story.usage_icount, "threeway_context")
    c.fill(8)
    c.add(story.dirtylimit_error_message, "conflict_context")
    c.fill(6)
    c.add(story.event_notifier_comment, "based_context")
    c.add(story.maintainers_update(4))
    c.fill(14)
    c.names["tip"] = c.imp.heads["main"]


def write_stable(c: Chronicle) -> None:
    """stable-9.2: forked at v9.2.0, before the rename; picks fixes, mapping include/system back."""
    parent = c.tags["v9.2.0"]
    for name in STABLE_PICKS:
        mark = c.names[name]
        plan = c.plans[mark]
        changes = map_paths(plan.changes, to_sysemu)
        note = ""
        if changes != plan.changes:
            note = "(MK: include/system/ is include/sysemu/ in 9.2)\n"
        message = (
            c.messages[mark]
            + f"(cherry picked from commit {c.imp.sha(mark)})\n"
            + note
            + f"Signed-off-by: {people.MAREN.ident}\n"
        )
        date = c.imp.commits[mark].date + 2 * 86400
        parent = c.imp.commit(STABLE_BRANCH, plan.author, people.MAREN, date, message, changes, parent=parent)
        c.names[f"stable_{name}"] = parent
    bump = Planned(
        people.MAREN,
        people.MAREN,
        "Update version for v9.2.1 release",
        "Set VERSION to 9.2.1.\n",
        [Write("VERSION", "9.2.1\n")],
    )
    date = c.imp.commits[parent].date + 86400
    message = commit_message(bump, date, 900)
    mark = c.imp.commit(STABLE_BRANCH, people.MAREN, people.MAREN, date, message, bump.changes, parent=parent)
    c.imp.tag("v9.2.1", mark, people.MAREN, date + 7200, "v9.2.1 release\n")
    c.tags["v9.2.1"] = mark
    c.names["stable_branch_tip"] = mark
