"""The 13 patches of dirty-ring-v4.mbox (seed 001's shape: a long KVM series)."""

from __future__ import annotations

from collections.abc import Callable

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree._filler import Planned
from patchtool.demo.minitree._importer import Person
from patchtool.demo.minitree._tree import Append, Change, Replace, Tree, Write

KVM = "accel/kvm/kvm-all.c"
STUB = "accel/stubs/kvm-stub.c"
KVM_H = "include/system/kvm.h"
KVM_INT = "include/system/kvm_int.h"
REAP_DECL = "uint64_t kvm_dirty_ring_reap(KVMState *s);\n"

UNIT_TEST = """/*
 * Unit tests for the KVM dirty ring bookkeeping.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */
#include "qemu/osdep.h"
#include "system/kvm.h"

static int check(bool ok, int n, const char *what)
{
    printf("%s %d - %s\\n", ok ? "ok" : "not ok", n, what);
    return ok ? 0 : 1;
}

int main(void)
{
    int failed = 0;

    failed += check(kvm_init(16) == 0, 1, "init with a ring of 16");
    kvm_dirty_ring_mark_page(0, 1);
    kvm_dirty_ring_mark_page(1, 2);
    failed += check(kvm_dirty_ring_pending() == 2, 2, "two pages pending");
    failed += check(kvm_dirty_ring_reap(kvm_state) == 2, 3, "reap collects them");
    failed += check(kvm_dirty_ring_pending() == 0, 4, "nothing pending");

    printf("1..4\\n");
    return failed ? 1 : 0;
}
"""


def _p(subject: str, body: str, changes: list[Change], author: Person = people.PIETER) -> Planned:
    return Planned(author, author, subject, body, changes)


def p01(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Add kvm_dirty_ring_pending()",
        "Callers want to know whether a reap would find anything, without\ncollecting the rings.\n",
        [
            Replace(
                KVM_H,
                REAP_DECL,
                REAP_DECL + "\n/**\n * kvm_dirty_ring_pending - pages written "
                "since the last reap, over all vCPUs.\n */\nuint64_t kvm_dirty_ring_pending(void);\n",
            ),
            Replace(
                KVM,
                "static void *kvm_dirty_ring_reaper_thread(void *data)\n",
                "uint64_t kvm_dirty_ring_pending(void)\n{\n    KVMState *s = kvm_state;\n"
                "    uint64_t total = 0;\n    int i;\n\n    if (!s) {\n        return 0;\n    }\n"
                "    qemu_mutex_lock(&s->ring_lock);\n    for (i = 0; i < s->nr_vcpus; i++) {\n"
                "        total += s->rings[i].head - s->rings[i].tail;\n    }\n"
                "    qemu_mutex_unlock(&s->ring_lock);\n    return total;\n}\n\n"
                "static void *kvm_dirty_ring_reaper_thread(void *data)\n",
            ),
            Replace(
                STUB,
                "void kvm_dirty_ring_mark_page(int cpu_index, uint64_t gfn)\n{\n}\n",
                "void kvm_dirty_ring_mark_page(int cpu_index, uint64_t gfn)\n{\n}\n\n"
                "uint64_t kvm_dirty_ring_pending(void)\n{\n    return 0;\n}\n",
            ),
        ],
    )


def p02(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Count reaper wakeups",
        "Count how often the reaper wakes up, to compare it with the number of\nreaps.\n",
        [
            Replace(
                KVM_INT,
                "    volatile uint64_t reaper_iteration; /* iteration number of reaper thr */\n",
                "    volatile uint64_t reaper_iteration; /* iteration number of reaper thr */\n"
                "    volatile uint64_t reaper_wakeups;   /* times the reaper woke up */\n",
            ),
            Replace(KVM, "        sleep(1);\n", "        sleep(1);\n        r->reaper_wakeups++;\n"),
        ],
    )


def p03(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Declare trace events for the reaper loop",
        "Declare the events used by the next patches.\n",
        [
            Append(
                "accel/kvm/trace-events",
                'kvm_dirty_ring_reaper_iterate(uint64_t iter) "iteration %"PRIu64\n'
                'kvm_dirty_ring_reaper_pending(uint64_t pages) "pending %"PRIu64\n',
            )
        ],
    )


def p04(t: Tree) -> Planned:
    return _p(
        "docs/devel/kvm: Describe what happens when a ring is full",
        "Document the ring-full case before changing the code around it.\n",
        [
            Append(
                "docs/devel/kvm.rst",
                "\nFull rings\n----------\n\nA write that finds its ring full is "
                "counted and dropped; the page stays\ndirty in the guest and is found by the next full "
                "sync.\n",
            )
        ],
    )


def p05(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Factor out kvm_dirty_ring_reap_locked()",
        "Split the loop over the rings from the locking, for callers that\nalready hold ring_lock.\n",
        [
            Replace(
                KVM,
                "uint64_t kvm_dirty_ring_reap(KVMState *s)\n{\n    uint64_t total = 0;\n    int i;\n\n"
                "    qemu_mutex_lock(&s->ring_lock);\n    for (i = 0; i < s->nr_vcpus; i++) {\n"
                "        total += kvm_dirty_ring_reap_one(s, &s->rings[i]);\n    }\n"
                "    s->dirty_pages_reaped += total;\n    qemu_mutex_unlock(&s->ring_lock);\n"
                "    return total;\n}\n",
                "static uint64_t kvm_dirty_ring_reap_locked(KVMState *s)\n{\n    uint64_t total = 0;\n"
                "    int i;\n\n    for (i = 0; i < s->nr_vcpus; i++) {\n"
                "        total += kvm_dirty_ring_reap_one(s, &s->rings[i]);\n    }\n"
                "    s->dirty_pages_reaped += total;\n    return total;\n}\n\n"
                "uint64_t kvm_dirty_ring_reap(KVMState *s)\n{\n    uint64_t total;\n\n"
                "    qemu_mutex_lock(&s->ring_lock);\n    total = kvm_dirty_ring_reap_locked(s);\n"
                "    qemu_mutex_unlock(&s->ring_lock);\n    return total;\n}\n",
            )
        ],
    )


def p06(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Return early from kvm_dirty_ring_reap() without rings",
        "There is nothing to collect when the dirty ring is disabled; do not\ntake the lock.\n",
        [
            Replace(
                KVM,
                "    uint64_t total;\n\n    qemu_mutex_lock(&s->ring_lock);\n",
                "    uint64_t total;\n\n    if (!s->kvm_dirty_ring_enabled) {\n        return 0;\n    }\n\n"
                "    qemu_mutex_lock(&s->ring_lock);\n",
            )
        ],
    )


def p07(t: Tree) -> Planned:
    meson = "tests/unit/meson.build"
    return _p(
        "tests/unit: Add a dirty ring test",
        "Exercise marking, pending and reaping with a real ring.\n",
        [
            Write("tests/unit/test-kvm-dirty-ring.c", UNIT_TEST),
            Replace(
                meson,
                "unit_tests = {\n",
                "unit_tests = {\n"
                "  'test-kvm-dirty-ring': [meson.project_source_root() / 'accel/kvm/kvm-all.c',\n"
                "                          meson.project_source_root() / 'system/dirtylimit.c'],\n",
            ),
        ],
    )


def p08(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Reject dirty ring sizes above 65536",
        "Larger rings only waste memory; the kernel refuses them as well.\n",
        [
            Replace(
                KVM,
                "        return -EINVAL;\n    }\n    for (i = 0; i < s->nr_vcpus; i++) {\n",
                "        return -EINVAL;\n    }\n    if (size > 65536) {\n"
                '        error_report("KVM dirty ring size %" PRIu32 " is too large", size);\n'
                "        return -EINVAL;\n    }\n    for (i = 0; i < s->nr_vcpus; i++) {\n",
            )
        ],
    )


def p09(t: Tree) -> Planned:
    return _p(
        "docs/devel/kvm: Document the reaper wakeup counter",
        "Mention reaper_wakeups next to the iteration counter.\n",
        [
            Append(
                "docs/devel/kvm.rst",
                "\nThe reaper also counts its wakeups (``reaper_wakeups``); a reaper that\n"
                "wakes up much more often than it reaps is being kicked for nothing.\n",
            )
        ],
    )


def p10(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Add kvm_dirty_ring_full_events()",
        "Expose the counter of writes dropped on a full ring.\n",
        [
            Replace(
                KVM_H,
                "void kvm_mark_guest_state_protected(void);\n",
                "/**\n * kvm_dirty_ring_full_events - writes dropped because a ring was full.\n */\n"
                "uint64_t kvm_dirty_ring_full_events(void);\n\nvoid kvm_mark_guest_state_protected(void);\n",
            ),
            Replace(
                KVM,
                "void kvm_mark_guest_state_protected(void)\n",
                "uint64_t kvm_dirty_ring_full_events(void)\n{\n"
                "    return kvm_state ? kvm_state->dirty_ring_full_events : 0;\n}\n\n"
                "void kvm_mark_guest_state_protected(void)\n",
            ),
            Replace(
                STUB,
                "void kvm_mark_guest_state_protected(void)\n",
                "uint64_t kvm_dirty_ring_full_events(void)\n{\n    return 0;\n}\n\n"
                "void kvm_mark_guest_state_protected(void)\n",
            ),
        ],
    )


def p11(t: Tree) -> Planned:
    return _p(
        "system/main: Report dirty ring statistics at exit",
        "With -accel kvm and a dirty ring, say how many pages were dropped.\n",
        [
            Replace(
                "system/main.c",
                "    ret = opts.replay ? run_replay(&opts) : 0;\n",
                "    ret = opts.replay ? run_replay(&opts) : 0;\n    if (kvm_dirty_ring_enabled()) {\n"
                '        info_report("dirty ring: %" PRIu64 " writes dropped",\n'
                "                    kvm_dirty_ring_full_events());\n    }\n",
            )
        ],
    )


def p12(t: Tree) -> Planned:
    return _p(
        "MAINTAINERS: Cover the dirty ring unit test",
        "The new test belongs to the KVM section.\n",
        [
            Replace(
                "MAINTAINERS",
                "F: accel/stubs/kvm-stub.c\n",
                "F: accel/stubs/kvm-stub.c\nF: tests/unit/test-kvm-dirty-ring.c\n",
            )
        ],
    )


def p13(t: Tree) -> Planned:
    return _p(
        "accel/kvm: Explain the reaper's one second period",
        "Say why the reaper does not need to run more often.\n",
        [
            Replace(
                KVM,
                "        r->reaper_state = KVM_DIRTY_RING_REAPER_WAIT;\n",
                "        r->reaper_state = KVM_DIRTY_RING_REAPER_WAIT;\n"
                "        /* A full ring makes its vCPU reap by itself: once a second is plenty. */\n",
            )
        ],
    )


PATCHES: tuple[Callable[[Tree], Planned], ...] = (
    p01,
    p02,
    p03,
    p04,
    p05,
    p06,
    p07,
    p08,
    p09,
    p10,
    p11,
    p12,
    p13,
)
