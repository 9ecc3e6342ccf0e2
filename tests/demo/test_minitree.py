"""The mini QEMU world: deterministic history, the landmarks, the series as mail, real builds and tests."""

from __future__ import annotations

import email
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from patchtool.demo.minitree import MiniTree, generate
from patchtool.errors import InputError
from tests.plugins.gitutil import git

VENV_BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    """PATH with the venv's meson and ninja first (they come with patchtool's dependencies)."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout)


def am(repo: Path, mbox: Path, *options: str) -> bool:
    """`git am` the patches of `mbox` (replies in the thread are dropped as empty); abort on failure."""
    done = run(["git", "am", "-q", "--empty=drop", *options, str(mbox)], repo)
    if done.returncode != 0:
        run(["git", "am", "--abort"], repo)
    return done.returncode == 0


def messages(mbox: Path) -> list[email.message.EmailMessage]:
    text = mbox.read_bytes()
    parts = re.split(rb"^From [^\n]*\n", text, flags=re.MULTILINE)
    return [email.message_from_bytes(p, policy=policy.default) for p in parts if p.strip()]


def refs(repo: Path) -> str:
    return git(repo, "for-each-ref", "--format=%(objectname) %(refname)")


# --- history -----------------------------------------------------------------------------------


def test_generation_is_deterministic(minitree: MiniTree, tmp_path: Path) -> None:
    # Two fresh generations: the session's repository may have gained refs from other tests.
    first, again = generate(tmp_path / "first"), generate(tmp_path / "again")
    assert refs(again.repo) == refs(first.repo)
    assert again.commits == first.commits == minitree.commits
    assert again.tags == minitree.tags and again.tip == minitree.tip
    assert again.expected_backport_tree == minitree.expected_backport_tree
    for name, path in minitree.series.items():
        assert again.series[name].read_bytes() == first.series[name].read_bytes() == path.read_bytes(), name


def test_generation_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    with pytest.raises(InputError, match="not an empty directory"):
        generate(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_history_has_releases_and_several_authors(minitree: MiniTree) -> None:
    repo = minitree.repo
    assert minitree.commit_count >= 300
    assert int(git(repo, "rev-list", "--count", "main")) == minitree.commit_count
    for tag in ("v9.2.0", "v10.0.0", "v10.1.0", "v9.2.1"):
        assert git(repo, "rev-parse", f"{tag}^{{commit}}").strip() == minitree.tags[tag]
        assert git(repo, "cat-file", "-t", tag).strip() == "tag"
    assert git(repo, "rev-parse", "main").strip() == minitree.tip
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git(repo, "status", "--porcelain") == ""
    authors = set(git(repo, "log", "--format=%ae", "main").split())
    assert len(authors) >= 6
    assert git(repo, "show", "v10.1.0:VERSION").strip() == "10.1.0"


def test_landmarks_are_in_order(minitree: MiniTree) -> None:
    repo = minitree.repo
    order = [
        minitree.tags["v9.2.0"],
        minitree.rename,
        minitree.tags["v10.0.0"],
        minitree.build_break,
        minitree.build_fix,
        minitree.rcu_parent,
        minitree.rcu_regression,
        minitree.tags["v10.1.0"],
    ]
    for older, newer in itertools.pairwise(order):
        assert run(["git", "merge-base", "--is-ancestor", older, newer], repo).returncode == 0
    after_release = int(
        git(repo, "rev-list", "--count", f"{minitree.tags['v10.0.0']}..{minitree.rcu_regression}")
    )
    assert 20 <= after_release <= 60
    assert git(repo, "rev-parse", f"{minitree.rcu_regression}^").strip() == minitree.rcu_parent
    touched = git(repo, "diff", "--name-only", minitree.rcu_parent, minitree.rcu_regression).split()
    assert touched == ["util/rcu.c"]
    assert len(minitree.broken_commits) == 3 and minitree.broken_commits[0] == minitree.build_break
    assert git(repo, "rev-parse", f"{minitree.build_fix}^").strip() == minitree.broken_commits[-1]
    fix_message = git(repo, "log", "-1", "--format=%B", minitree.build_fix)
    assert f"Fixes: {minitree.build_break[:12]}" in fix_message


def test_rename_of_sysemu_to_system(minitree: MiniTree) -> None:
    repo = minitree.repo
    status = git(repo, "diff", "-M", "--name-status", f"{minitree.rename}^", minitree.rename)
    assert re.search(r"^R\d+\tinclude/sysemu/kvm\.h\tinclude/system/kvm\.h$", status, re.MULTILINE)
    assert re.search(r"^R\d+\tinclude/sysemu/kvm_int\.h\tinclude/system/kvm_int\.h$", status, re.MULTILINE)
    assert '"sysemu/' not in git(repo, "show", "main:accel/kvm/kvm-all.c")
    assert "F: include/system/kvm*.h" in git(repo, "show", "main:MAINTAINERS")


def test_stable_branch_forks_before_the_rename(minitree: MiniTree) -> None:
    repo = minitree.repo
    assert git(repo, "merge-base", "main", "stable-9.2").strip() == minitree.tags["v9.2.0"]
    assert run(["git", "merge-base", "--is-ancestor", minitree.rename, "stable-9.2"], repo).returncode == 1
    assert git(repo, "rev-parse", "stable-9.2").strip() == minitree.stable_branch_tip
    log = git(repo, "log", "--format=%B%x00", "v9.2.0..stable-9.2").split("\0")
    picked = [
        m.group(1)
        for body in log
        for m in [re.search(r"\(cherry picked from commit ([0-9a-f]{40})\)", body)]
        if m
    ]
    assert len(picked) == 3
    for sha in picked:
        assert run(["git", "merge-base", "--is-ancestor", sha, "main"], repo).returncode == 0
    assert "include/sysemu/kvm.h" in git(repo, "ls-tree", "-r", "--name-only", "stable-9.2")


def test_checkpatch_has_qemu_shape(minitree: MiniTree, tmp_path: Path) -> None:
    repo = minitree.repo
    dirty = messages(minitree.series["dirty-ring-v4"])
    patch13 = tmp_path / "0013.patch"
    patch13.write_bytes(dirty[13].as_bytes())
    done = run(["perl", "scripts/checkpatch.pl", str(patch13)], repo)
    assert done.returncode == 0, done.stderr
    assert "WARNING: line over 80 characters" in done.stdout
    assert re.search(r"^#\d+: FILE: accel/kvm/kvm-all\.c:\d+:$", done.stdout, re.MULTILINE)
    assert re.search(r"^total: 0 errors, 1 warnings, \d+ lines checked$", done.stdout, re.MULTILINE)
    bad = tmp_path / "bad.patch"
    bad.write_text(patch13.read_text().replace("Signed-off-by:", "Signed-off:"))
    done = run(["perl", "scripts/checkpatch.pl", str(bad)], repo)
    assert done.returncode == 1 and "ERROR: Missing Signed-off-by: line(s)" in done.stdout
    done = run(["perl", "scripts/checkpatch.pl", "--branch", "main~3..main"], repo)
    assert done.stdout.count("\ntotal: ") + done.stdout.startswith("total: ") == 3
    assert done.stdout.startswith("1/3 Checking commit ")


# --- series ------------------------------------------------------------------------------------


def test_series_files(minitree: MiniTree) -> None:
    expected = {
        "reaper-v1",
        "reaper-v2",
        "dirty-ring-v4",
        "rcu-gp",
        "conflict",
        "stable-backport",
        "threeway",
        "based",
        "prereq",
        "dependent",
    }
    assert set(minitree.series) == expected
    for path in minitree.series.values():
        assert path.parent == minitree.series_dir and path.is_file()
        for msg in messages(path):
            assert msg["Message-Id"] and msg["From"] and msg["Date"]
            assert "qemu-devel@nongnu.org" in msg["To"] or "qemu-devel@nongnu.org" in str(msg["Cc"])


def test_reaper_v2_shape_and_review(minitree: MiniTree) -> None:
    msgs = messages(minitree.series["reaper-v2"])
    patch, review = msgs
    assert patch["Subject"].startswith("[PATCH v2] accel/kvm: Event-driven wakeup")
    body = patch.get_content()
    for path in (
        "accel/kvm/kvm-all.c",
        "accel/stubs/kvm-stub.c",
        "include/system/kvm.h",
        "include/system/kvm_int.h",
        "system/dirtylimit.c",
    ):
        assert f"diff --git a/{path} b/{path}" in body
    assert "-static void kvm_dirty_ring_reaper_init(KVMState *s)" in body
    assert "+static int kvm_dirty_ring_reaper_init(KVMState *s)" in body
    assert "+void kvm_dirty_ring_reaper_kick(void)" in body
    void_commit = minitree.commits["reaper_void"]
    assert f"commit {void_commit[:10]}" in body
    assert review["In-Reply-To"] == patch["Message-Id"]
    assert review["From"].addresses[0].display_name == "Henke Hult"
    assert "Reviewed-by: Henrik Hult <hhult@example.net>" in review.get_content()


def test_reaper_v1_is_the_same_patch_without_the_stub(minitree: MiniTree) -> None:
    (v1, review), (v2, _) = messages(minitree.series["reaper-v1"]), messages(minitree.series["reaper-v2"])
    assert v1["Subject"].replace("[PATCH]", "[PATCH v2]") == v2["Subject"]
    assert "accel/stubs/kvm-stub.c" not in v1.get_content()
    assert "+void kvm_dirty_ring_reaper_kick(void);" in v1.get_content()
    assert review["In-Reply-To"] == v1["Message-Id"] and "kvm-stub.c" in review.get_content()


def test_dirty_ring_v4_threading(minitree: MiniTree) -> None:
    msgs = messages(minitree.series["dirty-ring-v4"])
    cover, patches = msgs[0], msgs[1:14]
    assert cover["Subject"].startswith("[PATCH v4 00/13]")
    assert [p["Subject"][:16] for p in patches] == [f"[PATCH v4 {n:02d}/13]" for n in range(1, 14)]
    for n, p in enumerate(patches, 1):
        parent = patches[3] if n >= 5 else cover
        assert p["In-Reply-To"] == parent["Message-Id"], n


def test_reaper_v2_applies_to_the_tip(minitree: MiniTree, minitree_copy: Path) -> None:
    assert am(minitree_copy, minitree.series["reaper-v2"])
    assert git(minitree_copy, "rev-parse", "HEAD~1").strip() == minitree.tip


def test_conflict_does_not_apply_even_with_3way(minitree: MiniTree, minitree_copy: Path) -> None:
    assert not am(minitree_copy, minitree.series["conflict"], "-3")
    assert not am(minitree_copy, minitree.series["conflict"])
    assert git(minitree_copy, "rev-parse", "HEAD").strip() == minitree.tip


def test_threeway_needs_a_3way_merge(minitree: MiniTree, minitree_copy: Path) -> None:
    assert not am(minitree_copy, minitree.series["threeway"])
    assert am(minitree_copy, minitree.series["threeway"], "-3")


def test_based_names_an_older_base(minitree: MiniTree, minitree_copy: Path) -> None:
    text = minitree.series["based"].read_text()
    base = re.search(r"^base-commit: ([0-9a-f]{40})$", text, re.MULTILINE)
    assert base and base.group(1) == minitree.tags["v10.1.0"]
    assert "change-id: " in text
    assert not am(minitree_copy, minitree.series["based"], "-3")
    git(minitree_copy, "checkout", "-q", "--detach", base.group(1))
    assert am(minitree_copy, minitree.series["based"])


def test_dependent_needs_its_prerequisite(minitree: MiniTree, minitree_copy: Path) -> None:
    prereq_cover = messages(minitree.series["prereq"])[0]
    dependent_cover = messages(minitree.series["dependent"])[0]
    assert f"Based-on: {prereq_cover['Message-Id']}" in dependent_cover.get_content()
    assert not am(minitree_copy, minitree.series["dependent"])
    assert am(minitree_copy, minitree.series["prereq"])
    assert am(minitree_copy, minitree.series["dependent"])


def test_stable_backport_needs_the_rename_mapped(minitree: MiniTree, minitree_copy: Path) -> None:
    text = minitree.series["stable-backport"].read_text()
    assert "diff --git a/include/system/kvm.h b/include/system/kvm.h" in text
    git(minitree_copy, "checkout", "-q", "stable-9.2")
    assert not am(minitree_copy, minitree.series["stable-backport"])
    between = git(minitree_copy, "log", "--format=%H", "--diff-filter=R", "-M", "stable-9.2..main")
    assert minitree.rename in between.split()
    expected = git(minitree_copy, "rev-parse", "refs/minitree/expected-backport^{tree}").strip()
    assert expected == minitree.expected_backport_tree
    assert "include/sysemu/kvm.h" in git(
        minitree_copy, "diff", "--name-only", "stable-9.2", minitree.expected_backport
    )


# --- real builds and tests ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def build_checkout(minitree: MiniTree, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One private copy of the repository, configured once; tests check out commits and rebuild."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    repo = tmp_path_factory.mktemp("minitree-build") / "qemu"
    shutil.copytree(minitree.repo, repo, symlinks=True)
    done = run(["./configure", "--target-list=alpha-softmmu"], repo)
    assert done.returncode == 0, done.stdout + done.stderr
    yield repo


def checkout_and_build(repo: Path, rev: str) -> subprocess.CompletedProcess[str]:
    git(repo, "checkout", "-q", "-f", "--detach", rev)
    return run(["ninja", "-C", "build"], repo)


def replay_failures(repo: Path, runs: int) -> int:
    """Run func-alpha-replay `runs` times (meson stops --repeat at the first failure, so loop)."""
    failures = 0
    for _ in range(runs):
        done = run(
            ["meson", "test", "-C", "build", "--no-rebuild", "--setup", "thorough", "func-alpha-replay"], repo
        )
        results = [json.loads(line) for line in (repo / "build/meson-logs/testlog-thorough.json").open()]
        assert [r["name"] for r in results] == ["func+thorough - qemu:func-alpha-replay"], done.stdout
        assert results[0]["duration"] < 1.0
        failures += results[0]["result"] != "OK"
        assert (done.returncode != 0) == (results[0]["result"] != "OK")
    return failures


@pytest.mark.slow
def test_tip_builds_and_unit_tests_pass(build_checkout: Path, minitree: MiniTree) -> None:
    done = checkout_and_build(build_checkout, minitree.tip)
    assert done.returncode == 0, done.stdout
    done = run(["meson", "test", "-C", "build", "--no-rebuild"], build_checkout)
    assert done.returncode == 0, done.stdout
    log = build_checkout / "build/meson-logs/testlog.json"
    names = [json.loads(line)["name"].rsplit(":", 1)[-1] for line in log.open()]
    assert "func-alpha-replay" not in names
    assert {"test-rcu", "test-cutils", "test-dirtylimit", "test-event-notifier"} <= set(names)
    version = run(["build/qemu-system-alpha", "-version"], build_checkout)
    assert "10.1.50" in version.stdout


@pytest.mark.slow
def test_build_break_and_fix(build_checkout: Path, minitree: MiniTree) -> None:
    done = checkout_and_build(build_checkout, minitree.build_break)
    assert done.returncode != 0
    assert re.search(
        r"system/main\.c:\d+:\d+: error: too few arguments to function .dirtylimit_set_vcpu", done.stdout
    )
    assert checkout_and_build(build_checkout, minitree.build_fix).returncode == 0


@pytest.mark.slow
def test_replay_is_flaky_only_after_the_rcu_change(build_checkout: Path, minitree: MiniTree) -> None:
    assert checkout_and_build(build_checkout, minitree.rcu_parent).returncode == 0
    assert replay_failures(build_checkout, 20) == 0
    assert checkout_and_build(build_checkout, minitree.rcu_regression).returncode == 0
    assert 8 <= replay_failures(build_checkout, 20) <= 12
    assert 1 <= replay_failures(build_checkout, 4) <= 3


@pytest.mark.slow
def test_series_build_and_rcu_fix_cures_the_replay(build_checkout: Path, minitree: MiniTree) -> None:
    for name in ("reaper-v2", "dirty-ring-v4", "rcu-gp"):
        git(build_checkout, "checkout", "-q", "-f", "--detach", minitree.tip)
        assert am(build_checkout, minitree.series[name]), name
        done = run(["ninja", "-C", "build"], build_checkout)
        assert done.returncode == 0, done.stdout
        assert run(["meson", "test", "-C", "build", "--no-rebuild"], build_checkout).returncode == 0, name
    assert replay_failures(build_checkout, 6) == 0


@pytest.mark.slow
def test_reaper_v1_does_not_link_without_the_stub(build_checkout: Path, minitree: MiniTree) -> None:
    git(build_checkout, "checkout", "-q", "-f", "--detach", minitree.tip)
    assert am(build_checkout, minitree.series["reaper-v1"])
    done = run(["ninja", "-C", "build"], build_checkout)
    assert done.returncode != 0
    assert "undefined reference to `kvm_dirty_ring_reaper_kick'" in done.stdout


def test_padding_files_make_a_bigger_tree_with_the_same_story(minitree: MiniTree, tmp_path: Path) -> None:
    padded = generate(tmp_path / "padded", padding_files=120)
    files = git(padded.repo, "ls-files").split()
    assert len(files) == len(git(minitree.repo, "ls-files").split()) + 120
    assert sum(f.startswith("hw/") for f in files) == 120
    assert padded.commit_count == minitree.commit_count
    subjects = git(padded.repo, "log", "--format=%s", "main")
    assert subjects == git(minitree.repo, "log", "--format=%s", "main")


def test_configure_checks_its_options(minitree_copy: Path) -> None:
    done = run(["./configure", "--target-list=x86_64-softmmu"], minitree_copy)
    assert done.returncode == 1 and "ERROR: Unknown target name 'x86_64-softmmu'" in done.stderr
    done = run(["./configure", "--bogus"], minitree_copy)
    assert done.returncode == 1 and "ERROR: unknown option --bogus" in done.stderr
    done = run(["./configure", "--help"], minitree_copy)
    assert done.returncode == 0 and "--target-list=LIST" in done.stdout
    assert not (minitree_copy / "build").exists()


@pytest.mark.slow
def test_releases_rename_and_stable_build(build_checkout: Path, minitree: MiniTree) -> None:
    revs = [minitree.tags["v9.2.0"], minitree.rename, minitree.tags["v10.0.0"], minitree.tags["v9.2.1"]]
    revs += [f"{minitree.rename}^", minitree.expected_backport, minitree.tags["v10.1.0"]]
    for rev in revs:
        done = checkout_and_build(build_checkout, rev)
        assert done.returncode == 0, (rev, done.stdout[-2000:])
    done = run(["meson", "test", "-C", "build", "--no-rebuild", "--suite", "unit"], build_checkout)
    assert done.returncode == 0, done.stdout
