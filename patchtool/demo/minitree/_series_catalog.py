"""Which series exist, what they are written against, who sent them and who replied."""

from __future__ import annotations

from patchtool.demo.minitree import _people as people
from patchtool.demo.minitree import _series_patches as sp
from patchtool.demo.minitree._history import Chronicle
from patchtool.demo.minitree._series_dirty_ring import PATCHES as DIRTY_RING_PATCHES
from patchtool.demo.minitree._series_spec import ReplySpec, SeriesSpec, first_msgid

REAPER_NOTES = """Changes in v2:
- Fix the build: kvm_init() has no Error **errp, so the reaper init now
  reports with error_report() and no longer takes an errp argument.
- Drop the kick from the ring-full exit: that path already reaps
  synchronously, so a background kick there is redundant.
- Kick from dirtylimit_state_finalize() after dirtylimit_state = NULL
  instead of from dirtylimit_change(false), so that the reaper really
  gets past the dirtylimit_in_service() check.
"""

REAPER_V1_REVIEW = """This does not build without KVM: tests/unit/test-dirtylimit links
system/dirtylimit.c with accel/stubs/kvm-stub.c, and the new call in
dirtylimit_state_finalize() has no stub there:

  undefined reference to `kvm_dirty_ring_reaper_kick'

Please add an empty kvm_dirty_ring_reaper_kick() to accel/stubs/kvm-stub.c.
"""

DIRTY_RING_COVER = (
    "KVM: Dirty ring statistics and cleanups",
    "This series adds counters around the KVM dirty ring (pending pages,\n"
    "reaper wakeups, writes dropped on a full ring), splits the locking out\n"
    "of kvm_dirty_ring_reap(), and adds a unit test for the ring.\n\n"
    "v4:\n- rebased on master\n- patch 7: link the test with kvm-all.c (Tomas)\n"
    "- patch 10: add the stub (Paula)\n\nv3: https://lore.kernel.org/qemu-devel/20250902101500.4242-1-pxu@example.com/\n",
)


def catalog(c: Chronicle) -> list[SeriesSpec]:
    """Every series, in the order they are written (a series named in a base comes first)."""
    return [*_review_series(c), *_apply_series(c)]


def _review_series(c: Chronicle) -> list[SeriesSpec]:
    """Series in the shape of the seeds, for checks, builds and tests: reaper v1/v2, dirty ring, RCU fix."""
    sha = c.imp.sha
    void_commit = sha(c.names["reaper_void"])
    regression = c.names["rcu_regression"]
    kvm_cc = (people.PAULA, people.HENRIK, "kvm@vger.kernel.org")
    return [
        SeriesSpec(
            name="reaper-v1",
            base="tip",
            author=people.WEN,
            pid=29117,
            day=0,
            patches=(lambda t: sp.reaper_wakeup(t, void_commit, with_stub=False),),
            cc=kvm_cc,
            replies=(ReplySpec(0, people.PAULA, REAPER_V1_REVIEW, 20, 40),),
        ),
        SeriesSpec(
            name="reaper-v2",
            base="tip",
            author=people.WEN,
            pid=34982,
            day=3,
            version=2,
            patches=(lambda t: sp.reaper_wakeup(t, void_commit),),
            notes=REAPER_NOTES,
            cc=kvm_cc,
            replies=(ReplySpec(0, people.HENRIK_MAIL, f"Reviewed-by: {people.HENRIK.ident}\n", 46, None),),
        ),
        SeriesSpec(
            name="dirty-ring-v4",
            base="tip",
            author=people.PIETER,
            pid=406906,
            day=2,
            version=4,
            patches=DIRTY_RING_PATCHES,
            cover=DIRTY_RING_COVER,
            deep_from=5,
            cc=(people.PAULA, people.TOMAS),
            replies=(
                ReplySpec(0, people.PAULA, f"For the series:\n\nReviewed-by: {people.PAULA.ident}\n", 20, 6),
                ReplySpec(7, people.TOMAS, f"Tested-by: {people.TOMAS.ident}\n", 30, 10),
            ),
        ),
        SeriesSpec(
            name="rcu-gp",
            base="tip",
            author=people.AKIRA,
            pid=77100,
            day=4,
            patches=(lambda t: sp.rcu_gp_fix(t, sha(regression), c.plans[regression].subject),),
            cc=(people.PAULA, people.TOMAS),
            replies=(
                ReplySpec(
                    0,
                    people.TOMAS,
                    "func-alpha-replay passes 20 out of 20 runs again, thanks!\n\n"
                    f"Tested-by: {people.TOMAS.ident}\n",
                    12,
                    8,
                ),
            ),
        ),
    ]


def _apply_series(c: Chronicle) -> list[SeriesSpec]:
    """Series that exercise applying: conflict, backport, 3-way, base-commit, Based-on."""
    prereq = SeriesSpec(
        name="prereq",
        base="tip",
        author=people.LENA,
        pid=51200,
        day=6,
        patches=(sp.strtosz_mib, sp.dirty_limit_suffix),
        cc=(people.MARKUS, people.PAULA),
        cover=(
            "Size suffixes for -dirty-limit",
            "Let -dirty-limit take 512M or 1G like other size options.\n",
        ),
    )
    return [
        SeriesSpec(
            name="conflict",
            base="v10.1.0",
            author=people.LENA,
            pid=61000,
            day=1,
            patches=(sp.dirtylimit_quota_comment, sp.dirtylimit_warn_invalid),
            cc=(people.HENRIK,),
            cover=(
                "system/dirtylimit: Small cleanups",
                "Two small cleanups I had lying around since 10.1.\n",
            ),
        ),
        SeriesSpec(
            name="stable-backport",
            base="tip",
            author=people.PIETER,
            pid=24680,
            day=5,
            patches=(sp.hwpoison,),
            cc=(people.PAULA, people.STABLE_LIST),
        ),
        SeriesSpec(
            name="threeway",
            base="v10.1.0",
            author=people.LENA,
            pid=13579,
            day=1,
            patches=(sp.nographic_help,),
            cc=(people.PAULA,),
        ),
        SeriesSpec(
            name="based",
            base="v10.1.0",
            author=people.MARKUS,
            pid=97531,
            day=2,
            version=3,
            patches=(sp.event_notifier_eagain,),
            base_footer=True,
            notes="Changes in v3:\n- Reword the comment (Lena)\n"
            "- Link to v2: https://lore.kernel.org/r/20250910-notifier-v2-1-a1b2c3d4e5f6@example.com\n",
        ),
        prereq,
        SeriesSpec(
            name="dependent",
            base="series:prereq",
            author=people.DANIEL,
            pid=51900,
            day=7,
            patches=(sp.dirty_limit_zero, sp.dirty_limit_docs),
            cover=(
                "Reject zero -dirty-limit",
                f"Based-on: {first_msgid(c, prereq)}\n\n"
                "A zero rate is rejected, and the docs say which units are accepted.\n",
            ),
            cc=(people.LENA,),
        ),
    ]
