"""The apply/backport/clean command line, run as a user would; interruption by real signals."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import run_patchtool
from tests.plugins.applyrepo import (
    ApplyRepo,
    commit_all,
    data_dir,
    edit,
    merge_both_sides,
    numbered,
    start_patchtool,
    wait_for_work,
)
from tests.plugins.gitutil import git, make_repo, snapshot_repo
from tests.plugins.schemacheck import report_schema, validate


def test_apply_honours_base_commit_and_keeps_a_branch(apply_repo: ApplyRepo) -> None:
    before = snapshot_repo(apply_repo.path)
    done = run_patchtool("apply", apply_repo.series_mbox, "--repo", apply_repo.path, "--branch", "review/t")
    assert done.code == 0, done.stderr
    assert f"base: {apply_repo.base[:12]} (base-commit: {apply_repo.base}" in done.stdout
    assert done.stdout.count(" clean ") == 3 and "branch: review/t" in done.stdout
    head = git(apply_repo.path, "rev-parse", "review/t").strip()
    assert git(apply_repo.path, "rev-parse", f"{head}^{{tree}}") == git(
        apply_repo.path, "rev-parse", f"{apply_repo.topic}^{{tree}}"
    )
    after = snapshot_repo(apply_repo.path)
    assert {k: v for k, v in after.items() if k != "refs"} == {k: v for k, v in before.items() if k != "refs"}
    assert set(after["refs"].splitlines()) == {*before["refs"].splitlines(), f"refs/heads/review/t {head}"}


def test_conflict_exits_1_with_one_line_naming_patch_base_and_file(apply_repo: ApplyRepo) -> None:
    done = run_patchtool("apply", apply_repo.series_mbox, "--repo", apply_repo.path, "--base", "main")
    assert done.code == 1
    # and where the series was written (the fork point, whose tree holds its 2 preimage blobs)
    fork = apply_repo.base[:12]
    assert done.stderr.strip() == (
        'error: patch 3/3 "a: spell out thirty" does not apply to main (conflict in src/a.c); '
        f"written on {fork} (its tree holds the 2 blob(s) the patches' index lines name): "
        f"--base {fork} applies it where it was written"
    )
    assert "conflict: src/a.c @@ -27,7 +27,7 @@ line 26" in done.stdout


def test_a_series_the_base_has_already_makes_no_commit(apply_repo: ApplyRepo) -> None:
    # git am says "No changes -- Patch already applied" and makes no commit: an old posting of a
    # merged series, applied to the tree that merged it, is no three empty commits called "applied"
    repo = apply_repo.path
    args = ("--repo", repo, "--base", "topic", "--branch", "again", "--json")
    done = run_patchtool("apply", apply_repo.series_mbox, *args)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert [p["status"] for p in result["patches"]] == ["already-applied"] * 3
    topic = git(repo, "rev-parse", "topic").strip()
    assert result["status"] == "already in the base" and result["head"] == topic  # the base, unchanged
    assert git(repo, "rev-parse", "again").strip() == topic  # --branch points at it
    landed = git(repo, "log", "--reverse", "--format=%h", "-3", "topic", "--abbrev=12").split()
    listed = ", ".join(f"{i}/3 as {sha}" for i, sha in enumerate(landed, 1))
    assert result["hints"] == [f"every patch is already in topic: {listed}"]
    full = git(repo, "log", "--reverse", "--format=%H", "-3", "topic").split()
    assert [(x["index"], x["kind"], x["commit"], x["same"]) for x in result["landed"]] == [
        (i, "in-base", sha, True) for i, sha in enumerate(full, 1)
    ]  # a script reads every patch's commit here, not from the hint's words
    # two of the three there: the third is applied, the first two named
    part = run_patchtool("apply", apply_repo.series_mbox, "--repo", repo, "--base", "topic~1", "--json")
    assert part.code == 0, part.stderr
    result = json.loads(part.stdout)
    assert [p["status"] for p in result["patches"]] == ["already-applied", "already-applied", "clean"]
    assert result["status"] == "applied" and result["head"]
    assert result["hints"] == [f"already in topic~1: 1/3 as {landed[0]}, 2/3 as {landed[1]}"]
    assert git(repo, "rev-parse", f"{result['head']}^") == git(repo, "rev-parse", "topic~1")


def test_a_report_on_a_series_the_base_has_says_so(apply_repo: ApplyRepo, tmp_path: Path) -> None:
    # the reply a maintainer sends to an old posting of a merged series: it changes nothing here
    out = tmp_path / "reply.eml"
    args = ("--repo", apply_repo.path, "--base", "topic", "--build", "-f", "email", "-o", out)
    done = run_patchtool("report", apply_repo.series_mbox, *args, "--from", "Rev <rev@example.org>")
    assert done.code == 1, done.stderr  # the fixture's mail draws findings of its own; apply is fine
    text = out.read_text()
    assert "The series changes nothing on topic:" in text
    assert "every patch is already in topic: 1/3 as " in text
    data = tmp_path / "r.json"
    run_patchtool("report", apply_repo.series_mbox, *args[:-4], "-f", "json", "-o", data)
    report = json.loads(data.read_text())
    stages = {s["name"]: (s["state"], s["detail"]) for s in report["stages"]}
    assert stages["apply"] == ("ok", "already in topic")
    assert stages["build"] == ("not run", "the series is already in the base: nothing to build")
    assert not any(r.startswith("apply") for r in report["reasons"])
    # two of the three there: the reply says which, under a heading that fits any such note
    part = tmp_path / "part.eml"
    args = ("--repo", apply_repo.path, "--base", "topic~1", "-f", "email", "-o", part)
    run_patchtool("report", apply_repo.series_mbox, *args, "--from", "Rev <rev@example.org>")
    text = part.read_text()
    assert "The history of topic~1 has some of the series:" in text
    run_patchtool("report", apply_repo.series_mbox, *args[:-4], "-f", "json", "-o", data)
    report = json.loads(data.read_text())
    stages = {s["name"]: s["detail"] for s in report["stages"]}
    assert stages["apply"] == "applied on topic~1; 1 note"  # not the bare "applied" of a clean series
    landed = [(x["label"], x["kind"]) for x in report["apply"]["landed"]]
    assert landed == [("1/3", "in-base"), ("2/3", "in-base")]
    schema = report_schema()
    assert validate(report, schema, schema) == []
    assert "already in topic~1: 1/3 as " in text and "The series changes nothing" not in text


def test_a_series_written_on_a_merge_is_said_to_be(tmp_path: Path) -> None:
    # sample AO: the blob a series was written on came from a merge (both sides changed the file),
    # so no commit but the merge left it; the hint names the merge, and the series applies there
    repo = make_repo(tmp_path / "q", {"a.c": numbered(30)})
    merge = merge_both_sides(repo, "a.c")
    edit(repo / "a.c", "line 10\n", "line ten\n")
    commit_all(repo, "a: ten")
    git(repo, "format-patch", "-q", "-1", "-o", str(tmp_path / "mail"))
    git(repo, "reset", "-q", "--hard", merge)
    edit(repo / "a.c", "line 10\n", "line X\n")
    commit_all(repo, "a: roman ten")
    mail = next((tmp_path / "mail").glob("*.patch"))
    done = run_patchtool("apply", mail, "--repo", repo)
    assert done.code == 1
    assert f"written on {merge[:12]} (its tree holds the 1 blob(s)" in done.stderr
    assert run_patchtool("apply", mail, "--repo", repo, "--base", merge[:12]).code == 0


def test_json_result_and_worktree(apply_repo: ApplyRepo, hermetic: Path) -> None:
    done = run_patchtool(
        "apply", apply_repo.series_mbox, "--repo", apply_repo.path, "--base", "main~1", "--checkout", "--json"
    )
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert [p["status"] for p in result["patches"]] == ["3way", "clean", "clean"]
    assert result["base_reason"] == "--base main~1" and result["status"] == "applied"
    worktree = Path(result["worktree"])
    assert data_dir(hermetic) in worktree.parents and "line thirty" in (worktree / "src/a.c").read_text()
    cleaned = run_patchtool("clean", "--repo", apply_repo.path)
    assert cleaned.code == 0 and f"removed {worktree}" in cleaned.stdout
    assert not worktree.exists()
    assert git(apply_repo.path, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_bad_source_and_bad_base_are_usage_errors(apply_repo: ApplyRepo, tmp_path: Path) -> None:
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    done = run_patchtool("apply", empty, "--repo", apply_repo.path)
    assert done.code == 2 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    done = run_patchtool("apply", apply_repo.series_mbox, "--repo", apply_repo.path, "--base", "nope")
    assert done.code == 2 and done.stderr.startswith("error: nope: no such commit")
    done = run_patchtool("apply", apply_repo.series_mbox, "--repo", tmp_path)
    assert done.code == 2 and "not a git repository" in done.stderr


def test_help_has_examples() -> None:
    for command in ("apply", "backport", "clean"):
        done = run_patchtool(command, "--help")
        assert done.code == 0 and "Example:" in done.stdout


# ---- interruption ------------------------------------------------------------------------------


def long_series(root: Path) -> tuple[Path, Path]:
    """A repository and a 24-patch mbox against it, so an apply lasts long enough to be killed."""
    repo = make_repo(root / "long", {f"f{i}.c": numbered(30) for i in range(24)})
    git(repo, "checkout", "-q", "-b", "topic")
    for i in range(24):
        edit(repo / f"f{i}.c", "line 10\n", f"line ten of {i}\n")
        commit_all(repo, f"f{i}: spell out ten")
    mbox = root / "long.mbox"
    mbox.write_bytes(git(repo, "format-patch", "--stdout", "main..topic").encode())
    git(repo, "checkout", "-q", "main")
    return repo, mbox


def _dirty(repo: Path) -> None:
    edit(repo / "f1.c", "line 2\n", "line 2 (unstaged)\n")
    edit(repo / "f2.c", "line 2\n", "line 2 (staged)\n")
    git(repo, "add", "f2.c")
    (repo / "untracked.txt").write_text("mine\n")


def test_killed_applies_leave_the_user_repo_unchanged(tmp_path: Path, hermetic: Path) -> None:
    repo, mbox = long_series(tmp_path)
    _dirty(repo)
    before = snapshot_repo(repo)
    tmp_root = data_dir(hermetic) / "tmp"
    rng = random.Random(4)
    killed_mid_apply = 0
    for attempt in range(7):
        child = start_patchtool(
            ["apply", str(mbox), "--repo", str(repo), "--checkout", "--branch", "kept", "--force"]
        )
        if attempt < 2:  # anywhere: while starting, parsing, applying or checking out
            time.sleep(rng.uniform(0.0, 1.0))
        elif wait_for_work(tmp_root, child):  # while applying (24 patches take well over 50 ms)
            time.sleep(rng.uniform(0.0, 0.05))
            killed_mid_apply += child.poll() is None
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        assert snapshot_repo(repo) == before or _only_branch_added(repo, before)
    assert killed_mid_apply >= 3
    done = run_patchtool("apply", mbox, "--repo", repo, "--checkout")
    assert done.code == 0, done.stderr
    assert done.stdout.count(" clean ") == 24
    leftovers = [p for d in tmp_root.iterdir() for p in d.iterdir()] if tmp_root.exists() else []
    assert leftovers == []
    assert run_patchtool("clean", "--repo", repo).code == 0
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not list((data_dir(hermetic) / "worktrees").glob("*/*"))
    assert snapshot_repo(repo) == before or _only_branch_added(repo, before)


def _only_branch_added(repo: Path, before: dict[str, str]) -> bool:
    """A run that finished before the kill may have kept its result on the branch it was asked for."""
    after = snapshot_repo(repo)
    kept = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/kept")
    rest = {k: v for k, v in after.items() if k != "refs"} == {k: v for k, v in before.items() if k != "refs"}
    return rest and after["refs"].replace(kept, "") == before["refs"]


def test_ctrl_c_exits_130_and_cleans_up_mid_rebase(tmp_path: Path, hermetic: Path) -> None:
    repo, mbox = long_series(tmp_path)
    edit(repo / "f0.c", "line 10\n", "line 10 upstream\n")
    commit_all(repo, "f0: upstream change")
    git(repo, "checkout", "-q", "topic")
    assert (
        subprocess.run(["git", "rebase", "main"], cwd=repo, capture_output=True, check=False).returncode != 0
    )
    before = snapshot_repo(repo)
    tmp_root = data_dir(hermetic) / "tmp"
    child = start_patchtool(["apply", str(mbox), "--repo", str(repo), "--base", "main~1"])
    assert wait_for_work(tmp_root, child)
    os.killpg(child.pid, signal.SIGINT)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stderr
    assert stderr.decode().strip().endswith("error: interrupted")
    assert snapshot_repo(repo) == before and (repo / ".git" / "rebase-merge").is_dir()
    assert [p for d in tmp_root.iterdir() for p in d.iterdir()] == []
