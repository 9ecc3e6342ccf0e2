"""Backports from mail onto a stable branch of our own: base from the index lines, renames per path,
missing files, missing identifiers and trace events, prerequisites, and stable candidates."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from patchtool.apply.backbase import follow_path, preimages
from patchtool.apply.backcheck import CODE, defined_names, missing_uses, uses
from patchtool.apply.backport import (
    NEEDS_ADAPTATION,
    NOT_BUILT,
    backport_series,
    backport_with_prerequisites,
)
from patchtool.apply.candidates import stable_candidates
from patchtool.apply.engine import ALREADY_IN_BASE
from patchtool.config import Settings, load_settings
from patchtool.fetch.local import read_local
from patchtool.models import Series
from patchtool.parse.series import build_series
from patchtool.vcs.repo import GitRepo
from tests.conftest import run_patchtool
from tests.plugins.applyrepo import commit_all, edit, merge_both_sides, numbered
from tests.plugins.gitutil import git, make_repo

DEV_H = "#ifndef DEV_H\n#define DEV_H\ntypedef struct Dev {\n    int count;\n    int flags;\n} Dev;\n#endif\n"
DEV_C = (
    '#include "dev.h"\n#include "trace.h"\n\nvoid dev_reset(Dev *d)\n{\n    d->count = 0;\n'
    "    trace_dev_reset(d->flags);\n}\n"
    + numbered(12, "/* filler", " */")
    + "int dev_size(Dev *d)\n{\n    return d->flags;\n}\n"
    + numbered(12, "/* more", " */")
    + "void dev_poll(Dev *d)\n{\n    d->flags |= 1;\n}\n"
)
KVM_H = "#ifndef KVM_H\n#define KVM_H\nint kvm_init(void);\n" + numbered(10, "/* doc", " */") + "#endif\n"
TRACE = 'dev_reset(int flags) "flags %d"\n'
STABLE_CC = "\n\nCc: qemu-stable@nongnu.org\nSigned-off-by: Ann <ann@example.org>"


@dataclass(frozen=True)
class StableWorld:
    path: Path
    fork: str
    moved: str  # include/sysemu -> include/system
    added_late: str  # adds include/system/late.h
    renamed_member: str  # Dev.count -> Dev.nr_items
    added_event: str  # declares trace event dev_kick
    fix_move: str  # changes include/system/kvm.h, creates include/system/kick.h
    fix_late: str  # changes include/system/late.h (missing on stable)
    fix_member: str  # uses d->nr_items
    fix_trace: str  # calls trace_dev_kick()
    fix_doc: str  # already on stable under another sha (same patch-id)
    added_macro: str  # defines RETRY_CALL in include/dev.h
    fix_util: str  # uses RETRY_CALL in hw/util.c, a file stable has unchanged


def commit_dated(repo: Path, message: str, when: str) -> str:
    git(repo, "add", "-A")
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, env=env, check=True)
    return git(repo, "rev-parse", "HEAD").strip()


def _upstream(path: Path, fork: str) -> dict[str, str]:
    shas: dict[str, str] = {}
    git(path, "mv", "include/sysemu", "include/system")
    edit(path / "include/system/kvm.h", "#endif\n", "/* moved */\n#endif\n")  # an inexact rename
    shas["moved"] = commit_all(path, "include: move sysemu/ to system/")
    (path / "include/system/late.h").write_text("/* late */\nint late_init(void);\n")
    shas["added_late"] = commit_all(path, "include: add late.h")
    edit(path / "include/dev.h", "int count;", "int nr_items;")
    edit(path / "hw/dev.c", "d->count = 0;", "d->nr_items = 0;")
    shas["renamed_member"] = commit_all(path, "dev: rename count to nr_items")
    (path / "hw/trace-events").write_text(TRACE + 'dev_kick(void) ""\n')
    (path / "hw/dev.c").write_text((path / "hw/dev.c").read_text() + "void dev_kick_all(void)\n{\n}\n")
    shas["added_event"] = commit_all(path, "dev: add a kick trace event")
    edit(
        path / "include/system/kvm.h", "int kvm_init(void);\n", "int kvm_init(void);\nvoid kvm_kick(void);\n"
    )
    (path / "include/system/kick.h").write_text("/* kick */\n")
    shas["fix_move"] = commit_all(path, "kvm: declare kvm_kick" + STABLE_CC)
    edit(path / "include/system/late.h", "int late_init(void);", "int late_init(int flags);")
    (path / "include/system/late-flags.h").write_text("#define LATE_FLAGS 1\n")
    shas["fix_late"] = commit_all(path, "late: take flags" + STABLE_CC)
    edit(path / "hw/dev.c", "    return d->flags;\n", "    return d->flags + d->nr_items;\n")
    shas["fix_member"] = commit_all(path, f"dev: count items in the size\n\nFixes: {fork[:12]}")
    edit(path / "hw/dev.c", "    d->flags |= 1;\n", "    d->flags |= 1;\n    trace_dev_kick();\n")
    shas["fix_trace"] = commit_all(path, "dev: trace polls" + STABLE_CC)
    edit(path / "include/dev.h", "#endif\n", "#define RETRY_CALL(x) (x)\n#endif\n")
    shas["added_macro"] = commit_all(path, "dev: add RETRY_CALL")
    edit(path / "hw/util.c", "    return 0;\n", "    return RETRY_CALL(0);\n")
    shas["fix_util"] = commit_all(path, "util: retry")
    (path / "README").write_text("readme\nfixed\n")
    shas["fix_doc"] = commit_all(path, "docs: fix the readme" + STABLE_CC)
    return shas


@pytest.fixture
def world(tmp_path: Path) -> StableWorld:
    path = make_repo(
        tmp_path / "qemu",
        {
            "include/sysemu/kvm.h": KVM_H,
            "include/sysemu/other.h": "o\n",
            "include/dev.h": DEV_H,
            "hw/dev.c": DEV_C,
            "hw/trace-events": TRACE,
            "README": "readme\n",
            "hw/util.c": "int util(void)\n{\n    return 0;\n}\n",
        },
    )
    shas = {"fork": git(path, "rev-parse", "HEAD").strip()}
    git(path, "branch", "stable")
    shas.update(_upstream(path, shas["fork"]))
    git(path, "checkout", "-q", "stable")  # a stable maintainer's checkout: HEAD is not the base
    (path / "VERSION").write_text("1.0.1\n")
    commit_dated(path, "Update version for 1.0.1 release", "2025-12-01T00:00:00+0000")
    (path / "README").write_text("readme\nfixed\n")
    commit_all(path, "docs: fix the readme (backported by hand)")
    return StableWorld(path=path, **shas)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")})


def mail_series(world: StableWorld, sha: str) -> Series:
    """The commit as mail without a base-commit: footer (as most mail is)."""
    mbox = world.path.parent / f"{sha[:12]}.patch"
    mbox.write_bytes(
        subprocess.run(
            ["git", "format-patch", "-1", "--stdout", sha], cwd=world.path, capture_output=True, check=True
        ).stdout
    )
    return build_series(read_local(str(mbox), None))


def test_base_is_found_from_the_index_lines_and_paths_follow_their_own_history(
    world: StableWorld, settings: Settings
) -> None:
    repo = GitRepo(world.path)
    result = backport_series(repo, mail_series(world, world.fix_move), settings, onto="stable")
    assert result.source_base == world.moved  # the commit that first held the preimage blob
    assert "preimage blob(s) of its index lines" in result.base_reason
    assert result.status == NOT_BUILT and result.findings == ()
    notes = set(result.patches[0].adaptations)
    assert {
        "renamed path: include/system/kvm.h -> include/sysemu/kvm.h",
        "renamed path: include/system/kick.h -> include/sysemu/kick.h",
    } <= notes
    assert result.head is not None
    files = repo.out("ls-tree", "-r", "--name-only", result.head).splitlines()
    assert "include/sysemu/kick.h" in files and not any(f.startswith("include/system/") for f in files)


def test_unknown_preimage_blobs_give_a_stated_guess(world: StableWorld, settings: Settings) -> None:
    repo = GitRepo(world.path)
    series = mail_series(world, world.fix_move)
    patch = series.revision.patches[0]
    assert [p.path for p in preimages(patch.diff)] == ["include/system/kvm.h"]
    foreign = re.sub(r"(?m)^index \w+\.\.", "index 1234567..", patch.diff)

    revision = dataclasses.replace(series.revision, patches=(dataclasses.replace(patch, diff=foreign),))
    series = dataclasses.replace(series, revisions=(revision,))
    result = backport_series(repo, series, settings, onto="stable")
    assert "a guess: " in result.base_reason


def test_a_file_missing_on_the_target_names_the_commit_that_added_it(
    world: StableWorld, settings: Settings
) -> None:
    """late.h sits in a moved directory but was created after the move: never mapped by the directory."""
    repo = GitRepo(world.path)
    result = backport_series(repo, mail_series(world, world.fix_late), settings, onto="stable")
    assert result.status == "conflict"
    outcome = result.patches[0]
    assert [c.file for c in outcome.conflicts] == ["include/system/late.h"]
    # the file it creates follows the directory's move; the file it changes does not
    assert "renamed path: include/system/late-flags.h -> include/sysemu/late-flags.h" in outcome.adaptations
    said = f"include/system/late.h does not exist on stable: added by upstream commit {world.added_late[:12]}"
    assert any(a.startswith(said) and "'include: add late.h'" in a for a in outcome.adaptations)
    assert [f.code for f in result.findings] == ["backport-missing-file"]
    assert result.prerequisites == (world.added_late,)


def test_a_member_missing_on_the_target_is_flagged_with_its_upstream_commit(
    world: StableWorld, settings: Settings
) -> None:
    repo = GitRepo(world.path)
    result = backport_series(repo, mail_series(world, world.fix_member), settings, onto="stable")
    assert result.status == NEEDS_ADAPTATION and result.head is not None
    [finding] = result.findings
    assert finding.code == CODE and finding.severity == "warning" and finding.file == "hw/dev.c"
    assert "member nr_items (d->nr_items) does not exist on stable" in finding.message
    assert (
        f"introduced upstream by {world.renamed_member[:12]} 'dev: rename count to nr_items'"
        in finding.message
    )
    assert result.prerequisites == (world.renamed_member,)


def test_a_trace_event_missing_from_trace_events_is_flagged(world: StableWorld, settings: Settings) -> None:
    repo = GitRepo(world.path)
    result = backport_series(repo, mail_series(world, world.fix_trace), settings, onto="stable")
    assert result.status == NEEDS_ADAPTATION
    [finding] = result.findings
    assert "trace event dev_kick declared in no trace-events file on stable" in finding.message
    assert world.added_event[:12] in finding.message


def test_a_file_unchanged_on_the_target_is_still_checked_against_upstream(
    world: StableWorld, settings: Settings
) -> None:
    """The target holds the preimage blob (so it is the base), yet the macro the patch uses is new."""
    repo = GitRepo(world.path)
    result = backport_series(repo, mail_series(world, world.fix_util), settings, onto="stable")
    assert result.source_base == repo.rev_parse("stable")
    assert result.status == NEEDS_ADAPTATION
    [finding] = result.findings
    assert "identifier RETRY_CALL does not exist on stable" in finding.message
    assert world.added_macro[:12] in finding.message


def test_names_in_comments_and_strings_are_not_uses() -> None:
    diff = (
        "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,3 @@\n ctx\n"
        '+    /* old_name_here */ puts("string_name");\n+    s->regs.widget = trace_one_thing;\n'
    )
    names = {(u.name, u.kind) for u in uses(diff)}
    assert ("old_name_here", "identifier") not in names and ("string_name", "identifier") not in names
    assert {("widget", "member"), ("regs.widget", "member link"), ("puts", "identifier")} <= names


def test_a_function_whose_brace_is_a_context_line_is_defined_by_the_patch() -> None:
    # stable-1.1's PIT fix: git aligned the new abs64()'s `{` with the `{` of the function it
    # pushed down, so the added lines alone read `static int64_t abs64(int64_t v)` as a prototype,
    # and abs64 was "missing" on a backport identical to the maintainer's. A prototype the patch
    # adds, or a function it only calls, defines nothing.
    diff = (
        "diff --git a/hw/pit.c b/hw/pit.c\n--- a/hw/pit.c\n+++ b/hw/pit.c\n@@ -10,4 +10,9 @@\n"
        "-static void pit_get(PITState *s)\n+static int64_t abs64(int64_t v)\n {\n"
        "+    return v < 0 ? -v : v;\n+}\n+\n+static void pit_get(PITState *s)\n+{\n"
        "+    int64_t pit_delta(int64_t a);\n     int i = 0;\n+    i = pit_scale(abs64(i));\n"
    )
    names = defined_names(diff)
    assert "abs64" in names and "pit_get" in names
    assert "pit_delta" not in names and "pit_scale" not in names


def test_a_local_after_unclosed_calls_in_the_added_lines_is_defined_by_the_patch() -> None:
    # stable-1.2's usb-redir fix: the added lines alone hold two calls whose closing lines are
    # context, which swallowed `Cancelled *c, *next_c;` in the parse, and next_c was "missing";
    # read with the context it is a declaration on an added row
    diff = (
        "diff --git a/hw/usb/redir.c b/hw/usb/redir.c\n--- a/hw/usb/redir.c\n+++ b/hw/usb/redir.c\n"
        "@@ -10,3 +10,4 @@\n+    redir_send(dev->parser, p->id,\n                &req);\n"
        "+    redir_send(dev->parser, p->id,\n                &ack);\n"
        "@@ -40,2 +42,6 @@ static void redir_close(Redir *dev)\n {\n+    Cancelled *c, *next_c;\n"
        "+    QTAILQ_FOREACH_SAFE(c, &dev->cancelled, next, next_c) {\n+        g_free(c);\n+    }\n }\n"
    )
    assert {"c", "next_c"} <= defined_names(diff)
    assert "redir_send" not in defined_names(diff)


def test_a_trace_event_the_patch_declares_is_its_own(tmp_path: Path) -> None:
    # stable-1.2's EHCI fix adds usb_ehci_guest_bug to trace-events beside its first call: the
    # backport brings it. An event it calls without declaring is still looked for.
    path = make_repo(tmp_path / "q", {"trace-events": 'usb_ehci_reset(void) ""\n', "hw/ehci.c": "int x;\n"})
    git(path, "branch", "stable")
    edit(path / "trace-events", "\n", '\nusb_ehci_irq(int l) "%d"\n')
    (path / "hw/irq.c").write_text("void ehci_irq(int l)\n{\n    trace_usb_ehci_irq(l);\n}\n")
    irq = commit_all(path, "ehci: trace the interrupts")
    edit(path / "trace-events", "\n", '\nusb_ehci_guest_bug(const char *r) "%s"\n')
    (path / "hw/ehci.c").write_text('int x;\nvoid ehci_bug(void)\n{\n    trace_usb_ehci_guest_bug("x");\n}\n')
    fix = commit_all(path, "ehci: trace guest bugs")
    assert _missing_with(path, fix, irq, "hw") == ["usb_ehci_irq"]


def _missing_with(path: Path, fix: str, other: str, pathspec: str) -> list[str]:
    """What missing_uses names on stable for `fix`'s diff plus `other`'s under `pathspec` (a use
    the fix does not declare), with the fix as the base."""
    repo = GitRepo(path)
    diff = repo.git("show", "--format=", fix).text()
    diff += repo.git("show", "--format=", other, "--", pathspec).text()
    return [m.use.name for m in missing_uses(repo, diff, repo.rev_parse("stable"), fix, "x")]


def test_a_helper_the_patch_declares_is_its_own(tmp_path: Path) -> None:
    # stable-0.14's NEON fix declares `DEF_HELPER_3(neon_qadd_u64, ...)` beside its first
    # `gen_helper_neon_qadd_u64` call: the backport brings the helper. One it calls without
    # declaring (declared upstream by an earlier commit) is still looked for.
    macros = "".join(f"#define DEF_HELPER_{n}(name, ...)\n" for n in ("1", "3", "FLAGS_2"))
    files = {
        "include/helper-gen.h": macros,
        "target/x/helper.h": "DEF_HELPER_1(old_op, i32, i32)\n",
        "target/x/translate.c": "int x;\n",
    }
    path = make_repo(tmp_path / "q", files)
    git(path, "branch", "stable")
    edit(path / "target/x/helper.h", "\n", "\nDEF_HELPER_FLAGS_2(neon_shl, TCG_CALL_NO_RWG, i64, i64, i64)\n")
    (path / "target/x/shl.c").write_text("void gen_shl(void)\n{\n    gen_helper_neon_shl(a, b);\n}\n")
    shl = commit_all(path, "target/x: shifts")
    edit(path / "target/x/helper.h", "\n", "\nDEF_HELPER_3(neon_qadd_u64, i64, env, i64, i64)\n")
    body = "int x;\nvoid gen_q(void)\n{\n    gen_helper_neon_qadd_u64(a, env, b, c);\n}\n"
    (path / "target/x/translate.c").write_text(body)
    fix = commit_all(path, "target/x: saturating add")
    assert _missing_with(path, fix, shl, "*.c") == ["gen_helper_neon_shl"]


def test_a_name_the_patch_was_first_to_use_upstream_is_not_missing(tmp_path: Path) -> None:
    # stable-0.13's ivshmem fix: upstream it was the first user of libc's S_IRWXU, in
    # hw/ivshmem.c; by the base only qga used the name (its win32 compat defines it, 2013), and
    # that commit was named the prerequisite of a backport identical to the maintainer's. A name
    # an earlier commit brought (dev_reset, in a file that keeps it) is still a prerequisite.
    path = make_repo(tmp_path / "q", {"hw/dev.c": "int x;\n", "qga/main.c": "int y;\n"})
    git(path, "branch", "stable")
    (path / "hw/util.c").write_text("int dev_reset(void)\n{\n    return 0;\n}\n")
    commit_all(path, "dev: reset")
    body = "int x;\nvoid dev_open(void)\n{\n    shm_open(S_RWX_ALL);\n    dev_reset();\n}\n"
    (path / "hw/dev.c").write_text(body)
    fix = commit_all(path, "dev: shared memory")
    (path / "qga/main.c").write_text("#define S_RWX_ALL 0777\nint y = S_RWX_ALL;\n")
    commit_all(path, "qga: a mode for win32")
    (path / "hw/dev.c").write_text("int x;\nvoid dev_open(void)\n{\n    shm_open(0);\n}\n")
    commit_all(path, "dev: no mode")
    repo = GitRepo(path)
    diff = repo.git("show", "--format=", fix).text()
    missing = missing_uses(repo, diff, repo.rev_parse("stable"), repo.rev_parse("HEAD"), "dev: shared memory")
    assert [(m.use.name, m.commit[1] if m.commit else None) for m in missing] == [("dev_reset", "dev: reset")]


def test_added_lines_of_a_comment_a_context_line_opened_are_not_uses() -> None:
    # stable-2.12: a patch adds prose to a comment whose `/*` is a context line; read alone, the
    # added lines parsed as code, and a word of the prose ("mindful") was a missing identifier.
    # A hunk that starts inside such a comment (` * more`) is read the same way; code after the
    # comment's end, and a `*` in code, still count.
    diff = (
        "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,5 @@\n    /* this is not\n"
        "      * a hard limit\n+     * be mindful_word of the\n+     */ kick_widget(s);\n"
        "+    n = s->rows * s->cols;\n"
        "@@ -20,1 +23,2 @@ f\n      * carried from above the hunk\n+     * careful_word here\n"
    )
    names = {u.name for u in uses(diff)}
    assert "mindful_word" not in names and "careful_word" not in names
    assert {"kick_widget", "rows", "cols"} <= names


def test_with_prerequisites_backports_the_upstream_commit_first(
    world: StableWorld, settings: Settings
) -> None:
    repo = GitRepo(world.path)
    result = backport_with_prerequisites(
        repo, mail_series(world, world.fix_member), settings, onto="stable", branch="stable-fix"
    )
    assert result.status == NOT_BUILT and result.findings == ()
    [before] = result.dependencies
    assert [p.source_commit for p in before.patches] == [world.renamed_member]
    assert "prerequisites backported first: " + world.renamed_member[:12] in result.base_reason
    log = repo.out("log", "--format=%s", "stable..stable-fix").splitlines()
    assert log == ["dev: count items in the size", "dev: rename count to nr_items"]


def test_a_fix_the_branch_has_already_makes_no_commit(world: StableWorld, settings: Settings) -> None:
    # a fix a stable maintainer picked by hand, in a commit of its own that also changed another
    # file (another patch-id, no cherry-pick line): backporting it again gave an empty commit,
    # "applied, not built", without a word; candidates predicted it "clean"
    path = world.path
    git(path, "checkout", "-q", "main")
    edit(path / "hw/util.c", "int util(void)\n", "/* no state */\nint util(void)\n")
    fix = commit_all(path, "util: say it keeps no state" + STABLE_CC)
    git(path, "checkout", "-q", "stable")
    edit(path / "hw/util.c", "int util(void)\n", "/* no state */\nint util(void)\n")
    (path / "VERSION").write_text("1.0.2\n")
    by_hand = commit_all(path, "util: comments, and 1.0.2")
    repo = GitRepo(path)
    result = backport_series(repo, mail_series(world, fix), settings, onto="stable")
    assert [p.status for p in result.patches] == ["already-applied"]
    assert result.status == ALREADY_IN_BASE and result.ok and result.head == by_hand
    assert repo.rev_parse("stable") == by_hand  # nothing was committed anywhere it could be seen
    report = stable_candidates(repo, settings, "stable", "main")
    listed = {c.sha: c.prediction for c in report.candidates}
    assert listed[fix] == "already applied" and listed[world.fix_trace] == "needs adaptation"


def test_a_fix_the_branch_took_and_reverted_is_backported_with_a_word(
    world: StableWorld, settings: Settings
) -> None:
    # a stable branch that cherry-picked a fix and then reverted it (it regressed there): the fix
    # backports cleanly again, and the maintainer should hear the branch has been there before
    path = world.path
    git(path, "checkout", "-q", "main")
    edit(path / "hw/util.c", "int util(void)\n", "/* no state */\nint util(void)\n")
    fix = commit_all(path, "util: say it keeps no state" + STABLE_CC)
    git(path, "checkout", "-q", "stable")
    git(path, "cherry-pick", "-x", fix)
    picked = git(path, "rev-parse", "HEAD").strip()
    git(path, "revert", "--no-edit", "HEAD")
    reverted = git(path, "rev-parse", "HEAD").strip()
    result = backport_series(GitRepo(path), mail_series(world, fix), settings, onto="stable")
    assert [p.status for p in result.patches] == ["3way"]  # applied (stable's blob is not main's)
    said = f"merged and reverted in stable: 1/1 as {picked[:12]} (reverted by {reverted[:12]})"
    assert result.hints == (said,)
    assert [(x.kind, x.commit, x.reverted_by) for x in result.landed] == [("reverted", picked, reverted)]


def test_follow_path_is_not_limited_by_the_users_rename_limit(world: StableWorld) -> None:
    repo = GitRepo(world.path)
    old, notes = follow_path(repo, world.fork, world.fix_move, "include/system/kvm.h")
    assert old == "include/sysemu/kvm.h" and notes == []
    assert follow_path(repo, world.fork, world.fix_late, "include/system/late.h")[0] is None
    git(world.path, "config", "diff.renameLimit", "1")  # a user's setting must not make it give up
    assert follow_path(repo, world.fork, world.fix_move, "include/system/kvm.h")[0] == "include/sysemu/kvm.h"


def test_candidates_list_marked_commits_not_held_with_predictions(
    world: StableWorld, settings: Settings
) -> None:
    path = world.path
    edit(
        path / "include/sysemu/kvm.h", "int kvm_init(void);\n", "int kvm_init(void);\nvoid kvm_kick(void);\n"
    )
    (path / "include/sysemu/kick.h").write_text("/* kick, adapted */\n")
    commit_all(path, f"kvm: declare kvm_kick\n\n(cherry picked from commit {world.fix_move})")
    git(path, "checkout", "-q", "main")
    (path / "hw/old.c").write_text("int old;\n")
    old = commit_dated(path, "hw: an old fix" + STABLE_CC, "2025-11-01T00:00:00+0000")
    git(path, "checkout", "-q", "stable")
    repo = GitRepo(path)
    report = stable_candidates(repo, settings, "stable", "main")
    listed = {c.sha: c for c in report.candidates}
    assert list(listed) == [world.fix_late, world.fix_member, world.fix_trace]
    assert listed[world.fix_late].prediction == "conflict"
    assert listed[world.fix_member].prediction == "needs adaptation"
    assert listed[world.fix_member].reasons == (f"Fixes: {world.fork[:12]} (on the branch)",)
    assert listed[world.fix_trace].prediction == "needs adaptation"
    assert report.held == 2  # fix_move by its cherry-pick line, fix_doc by patch-id
    everything = stable_candidates(repo, settings, "stable", "main", since_release=False, predict=False)
    assert old in {c.sha for c in everything.candidates}


def test_cli_candidates_json_and_backport_warning(world: StableWorld) -> None:
    done = run_patchtool(
        "backport", "--candidates", "stable", "--upstream", "main", "--repo", world.path, "--json"
    )
    assert done.code == 0, done.stderr
    data = json.loads(done.stdout)
    assert [c["prediction"] for c in data["candidates"]] == [
        "clean",
        "conflict",
        "needs adaptation",
        "needs adaptation",
    ]
    mbox = world.path.parent / "member.patch"
    mbox.write_bytes(
        subprocess.run(
            ["git", "format-patch", "-1", "--stdout", world.fix_member],
            cwd=world.path,
            capture_output=True,
            check=True,
        ).stdout
    )
    done = run_patchtool("backport", mbox, "--onto", "stable", "--repo", world.path)
    assert done.code == 0, done.stderr
    assert "warning: backport-missing-identifier: hw/dev.c:" in done.stdout
    assert f"prerequisites (try --with-prerequisites): {world.renamed_member[:12]}" in done.stdout
    assert done.stdout.rstrip().endswith("status: applied, needs adaptation")


def test_a_name_the_fix_itself_brought_upstream_is_not_missing_after_its_file_moved(
    tmp_path: Path, settings: Settings
) -> None:
    """A fix that starts using a library's name (never defined in the tree), whose file moved
    upstream afterwards: the name's first upstream use is the fix itself, not the move, so a
    stable branch without it lacks nothing (stable-3.0: libseccomp's SCMP_ACT_KILL_PROCESS was
    "introduced" by the move of softmmu/ to system/)."""
    sec_c = "#include <seccomp.h>\n\nint sec_action(void)\n{\n    return SCMP_ACT_TRAP;\n}\n" + numbered(20)
    path = make_repo(tmp_path / "qemu", {"qemu-sec.c": sec_c, "README": "readme\n"})
    git(path, "branch", "stable")
    edit(path / "qemu-sec.c", "    return SCMP_ACT_TRAP;\n", "    return SCMP_ACT_KILL_PROCESS_NOW;\n")
    fix = commit_all(path, "sec: kill the process, not the thread" + STABLE_CC)
    (path / "system").mkdir()
    git(path, "mv", "qemu-sec.c", "system/qemu-sec.c")
    commit_all(path, "system: move qemu-sec.c")
    git(path, "checkout", "-q", "stable")
    repo = GitRepo(path)
    world = StableWorld(path, *([""] * 12))
    result = backport_series(repo, mail_series(world, fix), settings, onto="stable")
    assert [f.message for f in result.findings if f.code == CODE] == []
    assert result.status == NOT_BUILT and not result.prerequisites


def test_a_library_name_no_file_declares_names_no_prerequisite(tmp_path: Path, settings: Settings) -> None:
    """A fix calling glib's g_queue_walk, which the stable branch never used: upstream's first
    caller (a feature) is no prerequisite, and the warning says the name is a library's. A name
    the tree declares (a function of ours added upstream), or a generated one no file declares
    (QAPI's), is still a prerequisite."""
    path = make_repo(
        tmp_path / "qemu",
        {
            "net/filter.c": "#include <glib.h>\n\nvoid filter_flush(Filter *f)\n{\n    f->count = 0;\n}\n"
            + numbered(20)
        },
    )
    git(path, "branch", "stable")
    (path / "net/compare.c").write_text(
        "void compare_flush(GQueue *q)\n{\n    g_queue_walk(q, NULL, NULL);\n}\n"
    )
    feature = commit_all(path, "net: add a packet comparer")
    (path / "net/queue.h").write_text("void queue_purge(GQueue *q);\n")
    helper = commit_all(path, "net: add queue_purge")
    # a name the build generates (QAPI) is declared in no file either, yet its origin is ours
    (path / "net/report.c").write_text("void report_flush(void)\n{\n    qapi_event_send_flushed();\n}\n")
    event = commit_all(path, "qapi: add a FLUSHED event")
    edit(path / "net/filter.c", "    f->count = 0;\n",
         "    f->count = 0;\n    g_queue_walk(f->q, NULL, NULL);\n    queue_purge(f->q);\n"
         "    qapi_event_send_flushed();\n")  # fmt: skip
    fix = commit_all(path, "net/filter: drop queued packets on flush" + STABLE_CC)
    git(path, "checkout", "-q", "stable")
    world = StableWorld(path, *([""] * 12))
    result = backport_series(GitRepo(path), mail_series(world, fix), settings, onto="stable")
    said = {f.message.split(" ")[1]: f.message for f in result.findings if f.code == CODE}
    assert set(said) == {"g_queue_walk", "queue_purge", "qapi_event_send_flushed"}
    assert "declared nowhere in the tree upstream either: a library's?" in said["g_queue_walk"]
    assert f"first used upstream by {feature[:12]}" in said["g_queue_walk"]
    assert f"introduced upstream by {helper[:12]}" in said["queue_purge"]
    assert f"introduced upstream by {event[:12]}" in said["qapi_event_send_flushed"]
    assert set(result.prerequisites) == {helper, event}


def test_a_fix_written_on_a_blob_a_merge_left_finds_its_base(tmp_path: Path, settings: Settings) -> None:
    # both sides of a merge changed the file: no commit but the merge holds the blob the fix's index
    # line names, as for `written_on` (sample AO); the base was "a guess" before
    path = make_repo(tmp_path / "qemu", {"hw/dev.c": numbered(30)})
    git(path, "branch", "stable")
    merge = merge_both_sides(path, "hw/dev.c")
    edit(path / "hw/dev.c", "line 14\n", "line fourteen\n")
    fix = commit_all(path, "dev: fourteen" + STABLE_CC)
    git(path, "checkout", "-q", "stable")
    world = StableWorld(path, *([""] * 12))
    result = backport_series(GitRepo(path), mail_series(world, fix), settings, onto="stable")
    assert result.source_base == merge
    said = f"(series written against {merge[:12]}: the commit holding the 1 preimage blob(s)"
    said += " of its index lines)"
    assert result.base_reason.endswith(said)


def test_a_global_moved_into_a_context_struct_is_flagged_by_its_member_use(
    tmp_path: Path, settings: Settings
) -> None:
    """stable-1.3's xtensa fix: upstream moved the global gen_opc_instr_start into tcg_ctx, and the
    fix writes tcg_ctx.gen_opc_instr_start. The branch still has the global (the word exists) and
    tcg_ctx (with other members), but never that member of it: flagged, with the upstream move. A
    parameter's member written so upstream and not on the branch (`s->flag`; the branch writes
    `d->flag`) is no file-scope variable's: nothing to say."""
    tcg_h = "typedef struct TCGContext {\n    int nb_ops;\n} TCGContext;\nextern TCGContext tcg_ctx;\n"
    exec_h = "extern unsigned char gen_opc_instr_start[64];\nint flag_of(DisasState *d);\n"
    xlate = (
        '#include "tcg.h"\n#include "exec.h"\n\nstatic void gen_block(DisasState *s, int j)\n{\n'
        "    tcg_ctx.nb_ops = j;\n    s->count = j;\n}\n" + numbered(20)
    )
    reset = "void tb_reset(int i)\n{\n    gen_opc_instr_start[i] = 0;\n}\n"
    flags = "int flag_of(DisasState *d)\n{\n    return d->flag;\n}\n"
    files = {"tcg/tcg.h": tcg_h, "exec.h": exec_h, "target/x/translate.c": xlate, "translate-all.c": reset}
    path = make_repo(tmp_path / "qemu", {**files, "target/x/flags.c": flags})
    git(path, "branch", "stable")
    member = "    unsigned char gen_opc_instr_start[64];\n"
    edit(path / "tcg/tcg.h", "    int nb_ops;\n", "    int nb_ops;\n" + member)
    (path / "exec.h").write_text("int flag_of(DisasState *s);\n")
    edit(path / "translate-all.c", "    gen_opc_instr_start[i]", "    tcg_ctx.gen_opc_instr_start[i]")
    (path / "target/x/flags.c").write_text(flags.replace("*d)", "*s)").replace("d->flag", "s->flag"))
    move = commit_all(path, "tcg: use gen_opc_instr_start from the context")
    edit(path / "target/x/translate.c", "    s->count = j;\n",
         "    s->count = j;\n    tcg_ctx.gen_opc_instr_start[j] = 1;\n    s->flag = 0;\n")  # fmt: skip
    fix = commit_all(path, "target/x: mark the instruction start" + STABLE_CC)
    git(path, "checkout", "-q", "stable")
    world = StableWorld(path, *([""] * 12))
    result = backport_series(GitRepo(path), mail_series(world, fix), settings, onto="stable")
    said = [f.message for f in result.findings if f.code == CODE]
    assert len(said) == 1, said
    link = "tcg_ctx.gen_opc_instr_start"
    assert said[0].startswith(f"member {link} ({link}) does not exist")
    assert f"introduced upstream by {move[:12]}" in said[0]
