"""The landmark commits of the mini tree's history: each returns the Planned commit for a tree."""

from __future__ import annotations

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree._filler import Planned
from patchtool.demo.minitree._tree import Change, Move, Replace, ReplaceAll, Tree, Write, story_text


def replace_between(tree: Tree, path: str, start: str, end: str, new: str) -> Replace:
    """Replace the text of `path` from `start` up to (not including) `end`."""
    text = tree[path]
    begin = text.index(start)
    stop = text.index(end, begin)
    return Replace(path, text[begin:stop], new)


def version_bump(version: str, subject: str) -> Planned:
    body = f"Set VERSION to {version}.\n"
    return Planned(people.PAULA, people.PAULA, subject, body, [Write("VERSION", version + "\n")])


def reaper_void(tree: Tree) -> Planned:
    kvm = "accel/kvm/kvm-all.c"
    return Planned(
        people.PIETER,
        people.PAULA,
        "accel/kvm: Make kvm_dirty_ring_reaper_init() return void",
        "kvm_dirty_ring_reaper_init() cannot fail: qemu_thread_create() aborts\n"
        "when it cannot create the thread.  Return void and drop the error path\n"
        "in kvm_init() that could never be taken.\n",
        [
            Replace(kvm, "static int kvm_dirty_ring_reaper_init(", "static void kvm_dirty_ring_reaper_init("),
            Replace(
                kvm,
                "                       s, QEMU_THREAD_DETACHED);\n    return 0;\n}",
                "                       s, QEMU_THREAD_DETACHED);\n}",
            ),
            Replace(
                kvm,
                "        ret = kvm_dirty_ring_reaper_init(s);\n        if (ret < 0) {\n"
                "            goto err;\n        }\n",
                "        kvm_dirty_ring_reaper_init(s);\n",
            ),
        ],
        reviewers=(people.PAULA,),
    )


def rcu_unregister_fix(tree: Tree) -> Planned:
    return Planned(
        people.AKIRA,
        people.PAULA,
        "rcu: Clear the waiting flag when a reader unregisters",
        "A reader that unregisters while a grace period waits for it keeps its\n"
        "waiting flag, and the next registration of the same structure starts\n"
        "out as waited for.  Clear the flag together with the list link.\n",
        [
            Replace(
                "util/rcu.c",
                "            *p = reader->next;\n            reader->next = NULL;\n",
                "            *p = reader->next;\n            reader->next = NULL;\n"
                "            reader->waiting = false;\n",
            )
        ],
        reviewers=(people.PAULA,),
    )


def rename_sysemu(tree: Tree) -> Planned:
    changes: list[Change] = [
        Move(path, "include/system/" + path.removeprefix("include/sysemu/"))
        for path in sorted(tree)
        if path.startswith("include/sysemu/")
    ]
    for path in sorted(tree):
        if path.endswith((".c", ".h")) and '"sysemu/' in tree[path]:
            target = "include/system/" + path.removeprefix("include/sysemu/")
            changes.append(
                ReplaceAll(target if path.startswith("include/sysemu/") else path, '"sysemu/', '"system/')
            )
    changes.append(ReplaceAll("MAINTAINERS", "include/sysemu/", "include/system/"))
    return Planned(
        people.RICHARD,
        people.PAULA,
        "include: Rename sysemu/ to system/",
        "Headers in include/sysemu/ are not only related to system *emulation*,\n"
        "they are about the system part of the emulator as a whole, as opposed\n"
        "to user-mode.  Rename the directory to include/system/ and update the\n"
        "#include lines and MAINTAINERS.\n\n"
        "Mechanical change done with:\n\n"
        "  $ git mv include/sysemu include/system\n"
        "  $ sed -i -e 's,\"sysemu/,\"system/,' $(git grep -l '\"sysemu/')\n",
        changes,
        reviewers=(people.PAULA, people.MARKUS),
    )


def ring_full_count(tree: Tree) -> Planned:
    return Planned(
        people.PIETER,
        people.PAULA,
        "accel/kvm: Count writes that find the dirty ring full",
        "kvm_dirty_ring_mark_page() silently drops a page when the ring is full.\n"
        "The page is still dirty, so count these events: a migration that sees\n"
        "the counter grow must fall back to a full sync.\n",
        [
            Replace(
                "accel/kvm/kvm-all.c",
                "        ring->head++;\n    }\n",
                "        ring->head++;\n    } else {\n        s->dirty_ring_full_events++;\n    }\n",
            ),
            Replace(
                "include/system/kvm_int.h",
                "    uint64_t dirty_pages_reaped;    /* Total pages collected by reaps */\n",
                "    uint64_t dirty_pages_reaped;    /* Total pages collected by reaps */\n"
                "    uint64_t dirty_ring_full_events; /* Writes dropped on a full ring */\n",
            ),
            Replace(
                "include/system/kvm.h",
                " * kvm_dirty_ring_mark_page - record a page write (used by the vCPU loop).\n",
                " * kvm_dirty_ring_mark_page - record a page write (used by the vCPU loop).\n"
                " *\n * A write that finds the ring full is counted, not recorded.\n",
            ),
        ],
        reviewers=(people.HENRIK,),
    )


def dirtylimit_alloc_fix(tree: Tree) -> Planned:
    oom = '        error_report("dirtylimit: out of memory");\n        abort();\n    }\n'
    return Planned(
        people.HENRIK,
        people.PAULA,
        "system/dirtylimit: Check allocations in dirtylimit_state_initialize()",
        "A failed calloc() was dereferenced right away.  Report it and abort,\n"
        "like the rest of the tree does for small allocations.\n",
        [
            Replace(
                "system/dirtylimit.c",
                "    dirtylimit_state = calloc(1, sizeof(*dirtylimit_state));\n"
                "    dirtylimit_state->states = calloc(max_cpus, sizeof(VcpuDirtyLimitState));\n",
                "    dirtylimit_state = calloc(1, sizeof(*dirtylimit_state));\n"
                "    if (!dirtylimit_state) {\n"
                + oom
                + "    dirtylimit_state->states = calloc(max_cpus, sizeof(VcpuDirtyLimitState));\n"
                "    if (!dirtylimit_state->states) {\n" + oom,
            )
        ],
    )


def dirtylimit_enable_flag(tree: Tree) -> Planned:
    """Breaks the build: system/main.c still calls the two-argument form."""
    c = "system/dirtylimit.c"
    return Planned(
        people.HENRIK,
        people.PAULA,
        "system/dirtylimit: Let dirtylimit_set_vcpu() enable and disable limits",
        'A quota of zero doubled as "no limit", so a limit could not be paused\n'
        "without forgetting its quota.  Pass the enable state explicitly.\n",
        [
            Replace(
                "include/system/dirtylimit.h",
                "void dirtylimit_set_vcpu(int cpu_index, uint64_t quota);",
                "void dirtylimit_set_vcpu(int cpu_index, uint64_t quota, bool enable);",
            ),
            Replace(
                c,
                "void dirtylimit_set_vcpu(int cpu_index, uint64_t quota)\n",
                "void dirtylimit_set_vcpu(int cpu_index, uint64_t quota, bool enable)\n",
            ),
            Replace(c, "    if (quota && !state->enabled) {", "    if (enable && !state->enabled) {"),
            Replace(
                c, "    } else if (!quota && state->enabled) {", "    } else if (!enable && state->enabled) {"
            ),
            Replace(
                c,
                "    state->enabled = quota != 0;\n    state->quota = quota;\n",
                "    state->enabled = enable;\n    state->quota = quota;\n",
            ),
            Replace(
                "tests/unit/test-dirtylimit.c",
                "dirtylimit_set_vcpu(1, 200);",
                "dirtylimit_set_vcpu(1, 200, true);",
            ),
        ],
    )


def dirtylimit_build_fix(tree: Tree, broken_sha: str, broken_subject: str) -> Planned:
    return Planned(
        people.TOMAS,
        people.PAULA,
        "system/main: Fix build after dirtylimit_set_vcpu() change",
        "qemu-system-alpha no longer builds:\n\n"
        "  ../system/main.c: error: too few arguments to function 'dirtylimit_set_vcpu'\n\n"
        f'Fixes: {broken_sha[:12]} ("{broken_subject}")\n',
        [
            Replace(
                "system/main.c",
                "dirtylimit_set_vcpu(0, opts.dirty_limit);",
                "dirtylimit_set_vcpu(0, opts.dirty_limit, true);",
            )
        ],
    )


def rcu_force_quiescent_state(tree: Tree) -> Planned:
    """The regression: polling that times out ends the grace period without waiting."""
    path = "util/rcu.c"
    message = story_text("rcu-fqs.message.txt")
    subject, _, body = message.partition("\n\n")
    return Planned(
        people.AKIRA,
        people.PAULA,
        subject,
        body,
        [
            Replace(
                path,
                "#define RCU_GP_CTR              (1UL << 1)\n",
                "#define RCU_GP_CTR              (1UL << 1)\n\n"
                "#define RCU_CALL_MIN_SIZE       30\n#define RCU_POLL_MAX            5\n",
            ),
            Replace(
                path,
                "static unsigned long rcu_gp_count;\n",
                "static unsigned long rcu_gp_count;\nstatic int rcu_call_count;\n",
            ),
            Replace(
                path,
                "static struct rcu_head **cb_tail = &cb_head;\nstatic int rcu_call_count;\n",
                "static struct rcu_head **cb_tail = &cb_head;\n",
            ),
            replace_between(
                tree,
                path,
                "/* Wait until every reader",
                "void synchronize_rcu(void)",
                story_text("rcu-fqs.wait_for_readers.c") + "\n",
            ),
        ],
        reviewers=(),
    )


def usage_icount(tree: Tree) -> Planned:
    """Changes context near the line threeway.mbox edits, without touching that line."""
    return Planned(
        people.TOMAS,
        people.PAULA,
        "system/main: Show the full -icount syntax in the help text",
        "The replay tests pass shift=auto; show it in -help as well.\n",
        [
            Replace(
                "system/main.c",
                '"-icount rr=replay,rrseed=N[,rounds=N]\\n"',
                '"-icount shift=auto,rr=replay,rrseed=N[,rounds=N]\\n"',
            )
        ],
    )


def dirtylimit_error_message(tree: Tree) -> Planned:
    """Rewrites the line conflict.mbox edits."""
    return Planned(
        people.HENRIK,
        people.PAULA,
        "system/dirtylimit: Say which vCPU indexes are valid",
        "Name the valid range in the error message.\n",
        [
            Replace(
                "system/dirtylimit.c",
                'error_report("invalid vCPU index %d for dirty limit", cpu_index);',
                'error_report("dirty limit: vCPU index %d out of range [0, %d)",\n'
                "                     cpu_index, dirtylimit_state ? dirtylimit_state->max_cpus : 0);",
            )
        ],
    )


def event_notifier_comment(tree: Tree) -> Planned:
    """Rewrites the comment based.mbox edits."""
    return Planned(
        people.MARKUS,
        people.MARKUS,
        "util/event_notifier: Explain why EAGAIN is not an error",
        "Spell out why a full pipe is fine.\n",
        [
            Replace(
                "util/event_notifier-posix.c",
                "    /* A full pipe means the event is already pending. */\n",
                "    /*\n     * EAGAIN: the pipe is full, so the reader has not drained it yet\n"
                "     * and will see the event anyway.\n     */\n",
            )
        ],
    )


MAINTAINERS_UPDATES: tuple[tuple[str, str, str, str], ...] = (
    (
        "MAINTAINERS: Cover docs/devel/kvm.rst",
        "F: accel/stubs/kvm-stub.c\n",
        "F: accel/stubs/kvm-stub.c\nF: docs/devel/kvm.rst\n",
        "The KVM page belongs to the KVM maintainers.",
    ),
    (
        "MAINTAINERS: Add Lena Fischer as utilities reviewer",
        "Utilities\nM: Markus Arnesen <marnesen@example.com>\n",
        "Utilities\nM: Markus Arnesen <marnesen@example.com>\nR: Lena Fischer <lfischer@example.de>\n",
        "Lena has been reviewing util/ patches for a while.",
    ),
    (
        "MAINTAINERS: Cover docs/devel/dirtylimit.rst",
        "F: tests/unit/test-dirtylimit.c\n",
        "F: tests/unit/test-dirtylimit.c\nF: docs/devel/dirtylimit.rst\n",
        "Keep the page with its code.",
    ),
    (
        "MAINTAINERS: Add Pieter Xu as KVM dirty ring reviewer",
        "L: kvm@vger.kernel.org\n",
        "R: Pieter Xu <pxu@example.com>\nL: kvm@vger.kernel.org\n",
        "Pieter wrote most of the dirty ring code.",
    ),
    (
        "MAINTAINERS: Cover the record/replay documentation",
        "F: tests/functional/test_alpha_replay.sh\n",
        "F: tests/functional/test_alpha_replay.sh\nF: docs/devel/replay.rst\n",
        "Add the new page.",
    ),
)


def maintainers_update(index: int) -> Planned:
    subject, old, new, why = MAINTAINERS_UPDATES[index]
    return Planned(people.PAULA, people.PAULA, subject, why + "\n", [Replace("MAINTAINERS", old, new)])
