"""Diff summaries: files, hunks, stated diffstat, and the C functions each hunk touches."""

from __future__ import annotations

from pathlib import Path

from patchtool.fetch.local import read_local
from patchtool.parse.cmoves import moved_from
from patchtool.parse.diffs import check_diffstat, parse_diffstat, summarize_diff
from patchtool.parse.series import build_series
from tests.plugins.gitutil import git
from tests.plugins.mail import mail_fixture


def _reaper_summary():  # type: ignore[no-untyped-def]
    series = build_series(read_local(str(mail_fixture("reaper-v2.mbox")), None))
    return series.revision.patches[0]


def _empty_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    return repo


def test_reaper_function_level_facts() -> None:
    summary = _reaper_summary().summary
    facts = {(f.file, f.name, f.kind, f.detail) for f in summary.functions}
    kvm_all = "accel/kvm/kvm-all.c"
    assert (kvm_all, "kvm_dirty_ring_reaper_thread", "body-changed", "") in facts
    assert (kvm_all, "kvm_dirty_ring_reaper_init", "signature-changed", "return type void -> int") in facts
    assert (kvm_all, "kvm_dirty_ring_reaper_kick", "added", "") in facts
    assert ("include/system/kvm.h", "kvm_dirty_ring_reaper_kick", "prototype-added", "") in facts
    assert ("accel/stubs/kvm-stub.c", "kvm_dirty_ring_reaper_kick", "stub-added", "empty body") in facts
    assert (
        "include/system/kvm_int.h",
        "KVMDirtyRingReaper",
        "struct-member-added",
        "member reaper_wakeup",
    ) in facts
    assert ("system/dirtylimit.c", "dirtylimit_state_finalize", "body-changed", "") in facts
    # and nothing that is not true: the only other facts are the macro and the caller in kvm_init
    assert facts - {
        (kvm_all, "kvm_dirty_ring_reaper_thread", "body-changed", ""),
        (kvm_all, "kvm_dirty_ring_reaper_init", "signature-changed", "return type void -> int"),
        (kvm_all, "kvm_dirty_ring_reaper_kick", "added", ""),
        ("include/system/kvm.h", "kvm_dirty_ring_reaper_kick", "prototype-added", ""),
        ("accel/stubs/kvm-stub.c", "kvm_dirty_ring_reaper_kick", "stub-added", "empty body"),
        ("include/system/kvm_int.h", "KVMDirtyRingReaper", "struct-member-added", "member reaper_wakeup"),
        ("system/dirtylimit.c", "dirtylimit_state_finalize", "body-changed", ""),
    } == {
        (kvm_all, "KVM_DIRTY_RING_REAPER_TIMEOUT_NS", "macro-added", ""),
        (kvm_all, "kvm_init", "body-changed", ""),
    }
    init = next(f for f in summary.functions if f.name == "kvm_dirty_ring_reaper_init")
    assert init.old_signature == "static void kvm_dirty_ring_reaper_init(KVMState *s)"
    assert init.new_signature == "static int kvm_dirty_ring_reaper_init(KVMState *s)"


def test_reaper_files_hunks_and_diffstat_agree() -> None:
    patch = _reaper_summary()
    summary = patch.summary
    assert [(f.path, f.status, f.added, f.removed) for f in summary.files] == [
        ("accel/kvm/kvm-all.c", "modified", 36, 6),
        ("accel/stubs/kvm-stub.c", "modified", 4, 0),
        ("include/system/kvm.h", "modified", 7, 0),
        ("include/system/kvm_int.h", "modified", 3, 0),
        ("system/dirtylimit.c", "modified", 2, 0),
    ]
    assert (summary.added, summary.removed) == (52, 6)
    hunks = summary.files[0].hunks
    assert len(hunks) == 4
    assert hunks[1].section == "static void *kvm_dirty_ring_reaper_thread(void *data)"
    assert (hunks[0].old_start, hunks[0].old_lines, hunks[0].new_lines) == (18, 6, 8)
    assert check_diffstat(patch.diffstat, summary, "1/1") == []


def test_diffstat_mismatch_is_a_finding() -> None:
    patch = _reaper_summary()
    stated = parse_diffstat(" accel/kvm/kvm-all.c | 40 +++++---\n docs/none.txt | 1 +\n")
    findings = check_diffstat(stated, patch.summary, "1/1")
    messages = [f.message for f in findings]
    assert all(f.code == "diffstat-mismatch" for f in findings)
    assert "diffstat says 40 changed lines in accel/kvm/kvm-all.c, the diff has 42 (+36 -6)" in messages
    assert "diffstat names docs/none.txt but the diff does not touch it" in messages
    assert "system/dirtylimit.c is changed by the diff but missing from the diffstat" in messages


def test_renames_modes_binaries_from_real_git(tmp_path: Path) -> None:
    repo = _empty_repo(tmp_path)
    body = "".join(f"line {i}\n" for i in range(40))
    (repo / "old.c").write_text(body)
    (repo / "run.sh").write_text("echo hi\n")
    (repo / "gone.txt").write_text("bye\n")
    (repo / "logo.bin").write_bytes(bytes(range(256)))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "mv", "old.c", "new.c")
    (repo / "new.c").write_text(body.replace("line 3\n", "line three\n"))
    (repo / "run.sh").chmod(0o755)
    (repo / "gone.txt").unlink()
    (repo / "logo.bin").write_bytes(bytes(range(255, -1, -1)))
    (repo / "added.h").write_text("int added(void);\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    diff = git(repo, "show", "--format=", "-M", "--binary", "HEAD")
    files = {f.path: f for f in summarize_diff(diff).files}
    assert files["new.c"].status == "renamed" and files["new.c"].old_path == "old.c"
    assert files["new.c"].similarity is not None and files["new.c"].similarity >= 90
    assert (files["new.c"].added, files["new.c"].removed) == (1, 1)
    assert (files["run.sh"].old_mode, files["run.sh"].new_mode) == ("100644", "100755")
    assert files["gone.txt"].status == "removed"
    assert files["logo.bin"].binary
    assert files["added.h"].status == "added" and files["added.h"].new_mode == "100644"
    functions = summarize_diff(diff).functions
    assert [(f.name, f.kind) for f in functions] == [("added", "prototype-added")]


def _diff(path: str, section: str, lines: list[str], old: tuple[int, int], new: tuple[int, int]) -> str:
    header = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
    return header + f"@@ -{old[0]},{old[1]} +{new[0]},{new[1]} @@ {section}\n" + "\n".join(lines) + "\n"


def test_parameters_change_function_removed_and_member_removed() -> None:
    diff = _diff(
        "hw/dev.c",
        "",
        [
            ' #include "x.h"',
            " ",
            "-static void dev_reset(Dev *d)",
            "+static void dev_reset(Dev *d, bool hard)",
            " {",
            "     d->x = 0;",
            " }",
            " ",
            "-static int dev_old(void)",
            "-{",
            "-    return 1;",
            "-}",
            "-",
            " struct DevState {",
            "     int a;",
            "-    int b;",
            " };",
        ],
        (1, 16),
        (1, 10),
    )
    facts = {(f.name, f.kind, f.detail) for f in summarize_diff(diff).functions}
    assert ("dev_reset", "signature-changed", "parameters (Dev *d) -> (Dev *d, bool hard)") in facts
    assert ("dev_old", "removed", "") in facts
    assert ("DevState", "struct-member-removed", "member b") in facts


def test_hunk_inside_a_function_uses_git_section_header() -> None:
    diff = _diff(
        "util/x.c",
        "int compute(int a, int b)",
        ["     int r = a;", "-    r += b;", "+    r -= b;", "     return r;"],
        (10, 3),
        (10, 3),
    )
    assert [(f.name, f.kind) for f in summarize_diff(diff).functions] == [("compute", "body-changed")]


def test_non_c_files_get_no_function_analysis() -> None:
    diff = _diff("docs/a.rst", "Intro", [" text", "-old", "+new"], (1, 2), (1, 2))
    summary = summarize_diff(diff)
    assert summary.functions == ()
    assert summary.files[0].hunks[0].section == "Intro"


def _functions(names: list[str]) -> str:
    return "".join(f"static int {n}(int a)\n{{\n    return a + {i};\n}}\n\n" for i, n in enumerate(names))


def test_a_function_moved_within_its_file_is_one_change(tmp_path: Path) -> None:
    # git shows a move as a removal in one hunk and an addition in another; each hunk is read
    # alone, but what the patch does is change the function (or only move it)
    repo = _empty_repo(tmp_path)
    stop = "static int nic_stop(NicState *s)\n{\n    s->on = 0;\n    return 0;\n}\n\n"
    kick = "static void nic_kick(NicState *s)\n{\n    s->kicks++;\n}\n\n"
    filler = _functions([f"nic_helper{i}" for i in range(6)])
    (repo / "nic.c").write_text(stop + kick + filler)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    moved_stop = stop.replace("(NicState *s)", "(NicState *s, bool hard)")
    (repo / "nic.c").write_text(filler + moved_stop + kick)
    diff = git(repo, "diff", "HEAD")
    facts = [(f.name, f.kind, f.detail) for f in summarize_diff(diff).functions]
    assert sorted(facts) == [
        ("nic_kick", "body-changed", "moved, unchanged"),
        ("nic_stop", "signature-changed", "parameters (NicState *s) -> (NicState *s, bool hard)"),
    ]


def test_a_name_moved_to_another_file_is_one_change_at_its_new_place(tmp_path: Path) -> None:
    # QEMU moves code between files: a header's static inline helper into a .c file, taking other
    # parameters; a macro from a shared file into a target's header; a struct and helpers into a
    # new file. Each is one entry where it lands, saying where from and whether its text moved
    # word for word (a reviewer's first question about code motion). A name removed twice is
    # left as it reads (which copy went where is not known).
    repo = _empty_repo(tmp_path)
    helper = "static inline void nic_tick(const NicState *s)\n{\n    s->ticks++;\n}\n"
    macros = "#define NIC_RING 16\n#define NIC_QUEUES(n) \\\n    ((n) * 2)\n"
    (repo / "nic.h").write_text(
        macros + "\n" + helper + "\nint nic_count(NicState *s);\nint nic_depth(NicState *s);\n"
    )
    stats = "struct NicStats {\n    int rx; /* frames } in */\n};\n\n"
    stats += 'static int nic_rx(struct NicStats *st)\n{\n    printf("}");\n    return st->rx;\n}\n\n'
    # a brace in a string or a comment does not end the function: what changes comes after them
    tx = 'static int nic_tx(struct NicStats *st)\n{\n    printf("}");\n    /* } */\n    return st->rx;\n}\n\n'
    wrap = "static int nic_wrap(int a, int b)\n{\n    return nic_sum(a, b);\n}\n"
    twice = "static int nic_probe(void)\n{\n    return 0;\n}\n"
    (repo / "nic.c").write_text(stats + tx + wrap + "\n" + twice + "\n" + _functions(["nic_a", "nic_b"]))
    (repo / "bus.c").write_text(twice + "\n" + _functions(["bus_a"]))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "nic.h").write_text("\nint nic_count(NicState *s);\n")
    (repo / "nic.c").write_text(_functions(["nic_a", "nic_b"]))
    (repo / "bus.c").write_text(_functions(["bus_a"]))
    (repo / "tick.c").write_text("void nic_tick(NicState *s, int n)\n{\n    s->ticks += n;\n}\n")
    wrapped = wrap.replace("(a, b)", "(a,\n                   b)")
    (repo / "stats.c").write_text(stats + tx.replace("rx;", "tx;") + wrapped + "\n" + twice)
    (repo / "ring.h").write_text(
        macros.replace("RING 16", "RING  16") + "int nic_depth(NicState *s, int q);\n"
    )
    git(repo, "add", "-A")
    facts = sorted(
        (f.file, f.name, f.kind, f.detail) for f in summarize_diff(git(repo, "diff", "--cached")).functions
    )
    depth = "parameters (NicState *s) -> (NicState *s, int q); prototype moved from nic.h"
    tick = "parameters (const NicState *s) -> (NicState *s, int n); moved from nic.h"
    assert facts == [
        ("bus.c", "nic_probe", "removed", ""),
        ("nic.c", "nic_probe", "removed", ""),
        ("ring.h", "NIC_QUEUES", "macro-moved", "moved from nic.h, unchanged"),
        ("ring.h", "NIC_RING", "macro-moved", "moved from nic.h, unchanged but for spacing"),
        ("ring.h", "nic_depth", "signature-changed", depth),
        ("stats.c", "NicStats", "struct-moved", "moved from nic.c, unchanged"),
        ("stats.c", "nic_probe", "added", ""),
        ("stats.c", "nic_rx", "moved", "moved from nic.c, unchanged"),
        ("stats.c", "nic_tx", "moved", "moved from nic.c, changed"),
        ("stats.c", "nic_wrap", "moved", "moved from nic.c, unchanged but for spacing"),
        ("tick.c", "nic_tick", "signature-changed", tick),
    ]
    moved = {f.name: f for f in summarize_diff(git(repo, "diff", "--cached")).functions}
    assert moved["nic_tick"].old_signature == "static inline void nic_tick(const NicState *s)"
    assert moved["nic_tick"].new_signature == "void nic_tick(NicState *s, int n)"
    assert moved_from(moved["nic_tx"]) == "nic.c"
    assert moved_from(moved["nic_depth"]) == "nic.h"


def test_a_prototype_declared_again_with_new_parameters_is_one_signature_change(tmp_path: Path) -> None:
    # sample S: a header drops `void snd_set_volume(Voice *v, int mute, int l, int r);` in one hunk
    # and declares it below a new struct taking a `Volume *` in another; a prototype only moved
    # stays as it reads (removed here, added there: no caller changes)
    repo = _empty_repo(tmp_path)
    filler = "".join(f"int snd_helper{i}(Voice *v);\n\n" for i in range(8))
    head = "void snd_set_volume(Voice *v, int mute, int l, int r);\nvoid snd_reset(Voice *v);\n\n"
    (repo / "snd.h").write_text(head + filler)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    tail = "typedef struct Volume { int mute; int l, r; } Volume;\n\n"
    tail += "void snd_set_volume(Voice *v, Volume *vol);\nvoid snd_reset(Voice *v);\n"
    (repo / "snd.h").write_text(filler + tail)
    diff = git(repo, "diff", "HEAD")
    facts = sorted((f.name, f.kind) for f in summarize_diff(diff).functions)
    assert facts == [
        ("Volume", "struct-added"),
        ("snd_reset", "prototype-added"),
        ("snd_reset", "prototype-removed"),
        ("snd_set_volume", "signature-changed"),
    ]


def test_a_binary_file_moved_unchanged_is_read_from_the_diffstat(tmp_path: Path) -> None:
    # git states a pure binary rename as `pc-bios/{ => dtb}/board.dtb | Bin`, with nothing after
    # "Bin": it is the file's diffstat line, not a line of notes, and no diffstat-mismatch
    from patchtool.review.checks import check_diffstat as review_diffstat

    repo = tmp_path / "repo"
    (repo / "pc-bios").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "pc-bios" / "board.dtb").write_bytes(bytes(range(256)))
    (repo / "pc-bios" / "board.dts").write_text("/dts-v1/;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "pc-bios" / "dtb").mkdir()
    git(repo, "mv", "pc-bios/board.dtb", "pc-bios/board.dts", "pc-bios/dtb/")
    message = "pc-bios: move the device trees\n\nSigned-off-by: A U Thor <a@example.org>"
    git(repo, "commit", "-q", "-m", message)
    mail = tmp_path / "move.mbox"
    mail.write_text(git(repo, "format-patch", "-M", "--stdout", "-1"))
    assert "pc-bios/{ => dtb}/board.dtb | Bin\n" in mail.read_text()
    patch = build_series(read_local(str(mail), None)).revision.patches[0]
    assert [(d.path, d.binary) for d in patch.diffstat] == [
        ("pc-bios/{ => dtb}/board.dtb", True),
        ("pc-bios/{ => dtb}/board.dts", False),
    ]
    assert review_diffstat(patch) == []
    assert "Bin" not in patch.notes


def test_a_hunk_headed_by_a_renamed_functions_old_name_is_the_rename(tmp_path: Path) -> None:
    # sample AQ: `npcm7xx_gcr_read` renamed `npcm_gcr_read`, a line of its body changed two hunks
    # down, under a header git takes from the old file: no "npcm7xx_gcr_read body-changed"
    repo = _empty_repo(tmp_path)
    body = "".join(f"    int v{i} = {i};\n" for i in range(12))
    old = f"static int gcr_read(void *opaque, int offset)\n{{\n{body}    return trace_old(offset);\n}}\n"
    (repo / "gcr.c").write_text("/* gcr */\n\n" + old)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    new = old.replace("gcr_read(", "npcm_gcr_read(").replace("trace_old", "trace_new")
    (repo / "gcr.c").write_text("/* gcr */\n\n" + new)
    git(repo, "commit", "-q", "-a", "-m", "rename")
    diff = git(repo, "show", "--format=", "-U2", "HEAD")
    assert diff.count("@@ -") == 2 and "@@ static int gcr_read(void *opaque, int offset)" in diff
    functions = summarize_diff(diff).functions
    assert [(f.name, f.kind, f.detail) for f in functions] == [
        ("npcm_gcr_read", "renamed", "renamed from gcr_read")
    ]
