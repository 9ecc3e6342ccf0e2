"""The patches of the mail series, as edits of the tree they are written against."""

from __future__ import annotations

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree._filler import Planned
from patchtool.demo.minitree._tree import Append, Change, Replace, Tree, Write, story_text

KVM = "accel/kvm/kvm-all.c"
STUB = "accel/stubs/kvm-stub.c"
KVM_H = "include/system/kvm.h"
KVM_INT = "include/system/kvm_int.h"


def _reaper_kvm_all() -> list[Change]:
    """accel/kvm/kvm-all.c: poll an EventNotifier instead of sleep(1); init returns int again."""
    init_old = (
        "static void kvm_dirty_ring_reaper_init(KVMState *s)\n{\n"
        "    struct KVMDirtyRingReaper *r = &s->reaper;\n\n"
        '    qemu_thread_create(&r->reaper_thr, "kvm-reaper",\n'
        "                       kvm_dirty_ring_reaper_thread,\n"
        "                       s, QEMU_THREAD_DETACHED);\n}\n"
    )
    init_new = (
        "static int kvm_dirty_ring_reaper_init(KVMState *s)\n{\n"
        "    struct KVMDirtyRingReaper *r = &s->reaper;\n    int ret;\n\n"
        "    ret = event_notifier_init(&r->reaper_notifier, 0);\n"
        "    if (ret < 0) {\n"
        '        error_report("Failed to initialize dirty ring reaper notifier: %s",\n'
        "                     strerror(-ret));\n"
        "        return ret;\n    }\n\n"
        '    qemu_thread_create(&r->reaper_thr, "kvm-reaper",\n'
        "                       kvm_dirty_ring_reaper_thread,\n"
        "                       s, QEMU_THREAD_DETACHED);\n    return 0;\n}\n\n"
        "void kvm_dirty_ring_reaper_kick(void)\n{\n    KVMState *s = kvm_state;\n\n"
        "    if (!s || !s->kvm_dirty_ring_size) {\n        return;\n    }\n"
        "    event_notifier_set(&s->reaper.reaper_notifier);\n}\n"
    )
    wait_old = (
        "    while (true) {\n        r->reaper_state = KVM_DIRTY_RING_REAPER_WAIT;\n"
        "        /*\n         * TODO: provide a smarter timeout rather than a constant?\n         */\n"
        "        sleep(1);\n"
    )
    wait_new = (
        "    while (true) {\n        struct pollfd pfd = {\n"
        "            .fd = event_notifier_get_fd(&r->reaper_notifier),\n"
        "            .events = POLLIN,\n        };\n\n"
        "        r->reaper_state = KVM_DIRTY_RING_REAPER_WAIT;\n"
        "        qemu_poll_ns(&pfd, 1, KVM_DIRTY_RING_REAPER_FALLBACK_NS);\n\n"
        "        /* Drain unconditionally so a stale event can't spin the next loop. */\n"
        "        event_notifier_test_and_clear(&r->reaper_notifier);\n"
    )
    return [
        Replace(
            KVM,
            "static void *kvm_dirty_ring_reaper_thread(void *data)\n",
            "#define KVM_DIRTY_RING_REAPER_FALLBACK_NS  (1 * NANOSECONDS_PER_SECOND)\n\n"
            "static void *kvm_dirty_ring_reaper_thread(void *data)\n",
        ),
        Replace(KVM, wait_old, wait_new),
        Replace(KVM, init_old, init_new),
        Replace(
            KVM,
            "        kvm_dirty_ring_reaper_init(s);\n",
            "        ret = kvm_dirty_ring_reaper_init(s);\n"
            "        if (ret < 0) {\n            goto err;\n        }\n",
        ),
    ]


def _reaper_interfaces(with_stub: bool) -> list[Change]:
    """The stub, the prototype, the struct member and the kick from dirtylimit_state_finalize()."""
    stub: list[Change] = [
        Replace(
            STUB,
            "uint32_t kvm_dirty_ring_size(void)\n{\n    return 0;\n}\n",
            "uint32_t kvm_dirty_ring_size(void)\n{\n    return 0;\n}\n\n"
            "void kvm_dirty_ring_reaper_kick(void)\n{\n}\n",
        )
    ]
    return [
        *(stub if with_stub else []),
        Replace(
            KVM_H,
            "uint32_t kvm_dirty_ring_size(void);\n",
            "uint32_t kvm_dirty_ring_size(void);\n\n/**\n"
            " * kvm_dirty_ring_reaper_kick - wake the background dirty ring reaper.\n *\n"
            " * Safe from any thread; no-op when the dirty ring is not in use.\n */\n"
            "void kvm_dirty_ring_reaper_kick(void);\n",
        ),
        Replace(
            KVM_INT,
            '#include "qemu/thread.h"\n',
            '#include "qemu/event_notifier.h"\n#include "qemu/thread.h"\n',
        ),
        Replace(
            KVM_INT,
            "    volatile enum KVMDirtyRingReaperState reaper_state; /* reap thr state */\n",
            "    volatile enum KVMDirtyRingReaperState reaper_state; /* reap thr state */\n"
            "    /* Wakeup channel: kicked when dirty-limit is torn down. */\n"
            "    EventNotifier reaper_notifier;\n",
        ),
        Replace(
            "system/dirtylimit.c",
            "    free(dirtylimit_state);\n    dirtylimit_state = NULL;\n",
            "    free(dirtylimit_state);\n    dirtylimit_state = NULL;\n\n"
            "    kvm_dirty_ring_reaper_kick();\n",
        ),
    ]


def reaper_wakeup(tree: Tree, void_commit: str, with_stub: bool = True) -> Planned:
    """Seed 000's shape: event-driven reaper wakeup, five files, a signature change and a stub.

    Without the stub (v1) the tree does not link test-dirtylimit, which uses the KVM stubs.
    """
    return Planned(
        people.WEN,
        people.WEN,
        "accel/kvm: Event-driven wakeup for the dirty ring reaper thread",
        "The reaper sleeps for a whole second between rounds (there is a TODO\n"
        "about it), so it notices the end of the dirty page rate limit only at\n"
        "its next tick.\n\n"
        "Wait on an EventNotifier with qemu_poll_ns() instead, and kick it from\n"
        "dirtylimit_state_finalize() once dirtylimit_state is NULL: a kick\n"
        "before that point finds dirtylimit_in_service() still true and the\n"
        "reaper goes straight back to sleep.  The one second timeout stays as\n"
        "a fallback.\n\n"
        "Ten set/cancel cycles of the limit, time from cancel to reaper wakeup:\n\n"
        "    before: median 480 ms, max 996 ms\n"
        "    after:  median 0.4 ms, max  19 ms\n\n"
        "kvm_dirty_ring_reaper_init() returns int again (it was made void in\n"
        f"commit {void_commit[:10]}) so that an event_notifier_init() failure\n"
        "reaches kvm_init().\n",
        [*_reaper_kvm_all(), *_reaper_interfaces(with_stub)],
    )


def rcu_gp_fix(tree: Tree, regression: str, subject: str) -> Planned:
    """Fixes the RCU regression: a poll that times out forces the grace period instead of ending it."""
    return Planned(
        people.AKIRA,
        people.AKIRA,
        "rcu: Force the grace period when polling times out",
        "wait_for_readers() gives up after RCU_POLL_MAX polls and returns as if\n"
        "the grace period had ended.  drain_call_rcu() then runs callbacks that\n"
        "free memory a reader still holds; func-alpha-replay catches it as a\n"
        "replay divergence in about half of its runs.\n\n"
        "Switch to the force quiescent state when polling times out, as the\n"
        "commit message of the original change intended.\n\n"
        f'Fixes: {regression[:12]} ("{subject}")\n'
        f"Reported-by: {people.TOMAS.ident}\n",
        [
            Replace(
                "util/rcu.c",
                "        } else {\n"
                "            /* Polling timed out: the next grace period catches stragglers. */\n"
                "            break;\n        }\n",
                story_text("rcu-gp-fix.wait_tail.txt"),
            )
        ],
    )


def hwpoison(tree: Tree) -> Planned:
    """Written after the rename: touches include/system/ files that are include/sysemu/ in 9.2."""
    return Planned(
        people.PIETER,
        people.PIETER,
        "accel/kvm: Remember hardware memory errors in guest RAM",
        "kvm_hwpoisoned_mem() always returned false, so a guest that hit a\n"
        "memory error could be migrated with the poisoned pages.  Keep a flag in\n"
        "KVMState and return it.\n\n"
        "Cc: qemu-stable@nongnu.org\n",
        [
            Replace(
                KVM_INT,
                "    bool guest_state_protected;\n",
                "    bool guest_state_protected;\n"
                "    bool hwpoisoned_mem;            /* A memory error hit guest RAM */\n",
            ),
            Replace(
                KVM,
                "bool kvm_hwpoisoned_mem(void)\n{\n    return false;\n}\n",
                "bool kvm_hwpoisoned_mem(void)\n{\n    return kvm_state && kvm_state->hwpoisoned_mem;\n}\n",
            ),
            Replace(
                KVM_H,
                " * kvm_hwpoisoned_mem - whether guest memory saw a hardware error.\n",
                " * kvm_hwpoisoned_mem - whether guest memory saw a hardware error.\n *\n"
                " * Returns false when KVM is not in use.\n",
            ),
        ],
    )


def nographic_help(tree: Tree) -> Planned:
    return Planned(
        people.LENA,
        people.LENA,
        "system/main: Say what -nographic does",
        "-nographic is not only accepted, it is what the emulator always does.\n",
        [
            Replace(
                "system/main.c",
                '"-nographic        accepted for compatibility\\n"',
                '"-nographic        disable graphical output (the default)\\n"',
            )
        ],
    )


def dirtylimit_quota_comment(tree: Tree) -> Planned:
    return Planned(
        people.LENA,
        people.LENA,
        "system/dirtylimit: Clarify the quota field",
        "The quota is kept while a limit is paused; say so.\n",
        [
            Replace(
                "system/dirtylimit.c",
                "    /* Quota dirty page rate, unit is MB/s, zero if not enabled. */\n",
                "    /* Quota dirty page rate in MB/s, kept while the limit is paused. */\n",
            )
        ],
    )


def dirtylimit_warn_invalid(tree: Tree) -> Planned:
    return Planned(
        people.LENA,
        people.LENA,
        "system/dirtylimit: Only warn about an invalid vCPU index",
        "An invalid index comes from the user and the limit is simply not set;\n"
        "this is not an error of the emulator.\n",
        [
            Replace(
                "system/dirtylimit.c",
                'error_report("invalid vCPU index %d for dirty limit", cpu_index);',
                'warn_report("ignoring dirty limit for invalid vCPU index %d", cpu_index);',
            )
        ],
    )


def event_notifier_eagain(tree: Tree) -> Planned:
    return Planned(
        people.MARKUS,
        people.MARKUS,
        "util/event_notifier: Document the EAGAIN case of event_notifier_set()",
        "Say why EAGAIN from write() is not reported to the caller.\n",
        [
            Replace(
                "util/event_notifier-posix.c",
                "    /* A full pipe means the event is already pending. */\n",
                "    /* A full pipe (EAGAIN) means the event is already pending. */\n",
            )
        ],
    )


def strtosz_mib(tree: Tree) -> Planned:
    return Planned(
        people.LENA,
        people.LENA,
        "util/cutils: Add qemu_strtosz_MiB()",
        "Like qemu_strtosz(), but a number without a suffix is in MiB.\n",
        [
            Replace(
                "include/qemu/cutils.h",
                "\n#endif /* QEMU_CUTILS_H */",
                "\n/* Like qemu_strtosz(), with MiB as the default unit. */\n"
                "int qemu_strtosz_MiB(const char *nptr, uint64_t *result);\n\n#endif /* QEMU_CUTILS_H */",
            ),
            Append(
                "util/cutils.c",
                "\nint qemu_strtosz_MiB(const char *nptr, uint64_t *result)\n{\n"
                "    size_t len = strlen(nptr);\n    int ret = qemu_strtosz(nptr, result);\n\n"
                "    if (ret == 0 && len && isdigit((unsigned char)nptr[len - 1])) {\n"
                "        *result <<= 20;\n    }\n    return ret;\n}\n",
            ),
        ],
    )


def dirty_limit_suffix(tree: Tree) -> Planned:
    return Planned(
        people.LENA,
        people.LENA,
        "system/main: Accept size suffixes in -dirty-limit",
        "Parse the rate with qemu_strtosz_MiB() and reject garbage instead of\nreading it as zero.\n",
        [
            Replace(
                "system/main.c",
                '#include "qemu/error-report.h"\n',
                '#include "qemu/cutils.h"\n#include "qemu/error-report.h"\n',
            ),
            Replace(
                "system/main.c",
                "            o->dirty_limit = strtoull(argv[++i], NULL, 0);\n",
                "            if (qemu_strtosz_MiB(argv[++i], &o->dirty_limit) < 0) {\n"
                "                error_report(\"-dirty-limit: invalid rate '%s'\", argv[i]);\n"
                "                return -1;\n            }\n",
            ),
        ],
    )


def dirty_limit_zero(tree: Tree) -> Planned:
    return Planned(
        people.DANIEL,
        people.DANIEL,
        "system/main: Reject a zero -dirty-limit",
        "A rate of zero would disable the limit it asks for.\n",
        [
            Replace(
                "system/main.c",
                "            if (qemu_strtosz_MiB(argv[++i], &o->dirty_limit) < 0) {\n",
                "            if (qemu_strtosz_MiB(argv[++i], &o->dirty_limit) < 0 ||\n"
                "                !o->dirty_limit) {\n",
            )
        ],
    )


def dirty_limit_docs(tree: Tree) -> Planned:
    return Planned(
        people.DANIEL,
        people.DANIEL,
        "docs/devel/dirtylimit: Document -dirty-limit units",
        "Tell users which suffixes -dirty-limit accepts.\n",
        [
            Write(
                "docs/devel/dirtylimit-cli.rst",
                "The -dirty-limit option\n=======================\n\n"
                "``-dirty-limit`` takes a rate in MiB/s; k, M, G and T suffixes are\n"
                "accepted.  Zero is rejected.\n",
            )
        ],
    )
