"""`patchtool fetch patchew/<msgid> --repo R`: the tag lands in R's object store and nothing else moves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool.config import load_settings
from patchtool.fetch import patchew
from patchtool.fetch.http import Http
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, snapshot_repo
from tests.plugins.httpreplay import Replay, path_key


def make_patchew_mirror(
    user: Path, tmp_path: Path, msgid: str, commits: int = 2
) -> tuple[Path, str, list[str]]:
    """A bare 'patchew-project/qemu' holding tags/patchew/<msgid>: `commits` commits on the user's HEAD."""
    work = tmp_path / "applier"
    git(tmp_path, "clone", "-q", str(user), str(work))
    base = git(work, "rev-parse", "HEAD").strip()
    subjects = []
    for i in range(commits):
        (work / f"file{i}.txt").write_text(f"change {i}\n")
        git(work, "add", "-A")
        subject = f"accel/kvm: step {i} of the reaper wakeup"
        git(work, "commit", "-q", "-m", f"{subject}\n\nMessage-Id: <{msgid}>")
        subjects.append(subject)
    git(work, "tag", f"patchew/{msgid}")  # lightweight, as patchew's applier makes it
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "init", "-q", "--bare", str(mirror))
    git(work, "push", "-q", str(mirror), f"refs/tags/patchew/{msgid}:refs/tags/patchew/{msgid}")
    return mirror, base, subjects


def dirty_user_repo(repo_factory: Callable[..., Path]) -> Path:
    user = repo_factory("user", {"README": "hello\n", "src/a.c": "int a;\n"})
    git(user, "checkout", "-q", "-b", "topic")
    (user / "src/a.c").write_text("int a = 1;\n")  # uncommitted work
    (user / "staged.txt").write_text("staged\n")
    git(user, "add", "staged.txt")
    (user / "untracked.txt").write_text("mine\n")
    return user


def serve_results(replay: Replay, msgid: str, base: str) -> None:
    path = f"/api/v1/projects/1/series/{msgid}/results/"
    results = json.loads(replay.routes[("patchew", path_key(path), ())].body)
    results["results"][0]["data"]["base"] = base
    replay.add("patchew", path, json_body=results)


def without_tool_refs(snapshot: dict[str, str]) -> dict[str, str]:
    refs = [
        line for line in snapshot["refs"].splitlines(keepends=True) if not line.startswith("refs/patchtool/")
    ]
    return snapshot | {"refs": "".join(refs)}


def test_fetch_tag_leaves_the_user_repo_alone(
    replay: Replay, repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    head = replay.threads["reaper-v2"][0]
    user = dirty_user_repo(repo_factory)
    mirror, base, subjects = make_patchew_mirror(user, tmp_path, head)
    serve_results(replay, head, base)
    before = snapshot_repo(user)
    result = run_patchtool(
        "fetch", f"patchew/{head}", "--repo", user, env={"PATCHTOOL_PATCHEW_GIT": f"file://{mirror}"}
    )
    assert result.code == 0, result.stderr
    after = snapshot_repo(user)
    # byte for byte: HEAD, index, work tree, stash, status and every ref but the one we own
    assert without_tool_refs(after) == before
    added = set(after["refs"].splitlines()) - set(before["refs"].splitlines())
    tip = git(mirror, "rev-parse", f"refs/tags/patchew/{head}").strip()
    assert added == {f"refs/patchtool/patchew/{head} {tip}"}
    assert not (user / ".git" / "FETCH_HEAD").exists()
    assert f"Extra:     patchew.base: {base}" in result.stdout
    for subject in subjects:
        assert subject in result.stdout
    assert "Source:    patchew-git" in result.stdout


def test_tag_base_falls_back_to_one_commit_per_patch(
    replay: Replay, repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    head = replay.threads["reaper-v2"][0]
    user = repo_factory("user")
    mirror, base, _ = make_patchew_mirror(user, tmp_path, head, commits=1)
    thread = patchew.fetch_tag(user, f"file://{mirror}", head, "2fc3c6a3ac6c0f1d1c1e7c19d3b0c4ed9a1b0f1e", 1)
    assert thread["patchew.base"].startswith(base) and "is not an ancestor" in thread["patchew.base"]
    assert len(thread["patchew.commits"].splitlines()) == 1


def test_missing_tag_is_a_one_line_git_error(
    replay: Replay, repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    head = replay.threads["reaper-v2"][0]
    user = repo_factory("user")
    mirror = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(mirror))
    before = snapshot_repo(user)
    result = run_patchtool(
        "fetch", f"patchew/{head}", "--repo", user, env={"PATCHTOOL_PATCHEW_GIT": f"file://{mirror}"}
    )
    assert result.code == 3
    assert result.stderr.startswith(f"error: git fetch file://{mirror} tags/patchew/{head}: ")
    assert "couldn't find remote ref" in result.stderr
    assert snapshot_repo(user) == before


def test_offline_tag_uses_what_was_fetched(
    replay: Replay, repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    head = replay.threads["reaper-v2"][0]
    user = repo_factory("user")
    mirror, base, subjects = make_patchew_mirror(user, tmp_path, head)
    serve_results(replay, head, base)
    env = {"PATCHTOOL_PATCHEW_GIT": f"file://{mirror}"}
    assert run_patchtool("fetch", f"patchew/{head}", "--repo", user, env=env).code == 0
    result = run_patchtool("fetch", "--offline", f"patchew/{head}", "--repo", user, env=env)
    assert result.code == 0, result.stderr
    assert f"patchew.base: {base}" in result.stdout and subjects[-1] in result.stdout


def test_series_mbox_of_an_incomplete_series_is_none(replay: Replay) -> None:
    http = Http(5)
    settings = load_settings({})
    complete = patchew.series_detail(http, settings["patchew_url"], "QEMU", replay.threads["reaper-v2"][0])
    assert (patchew.series_mbox(http, complete) or b"").startswith(b"From nobody")
    incomplete = patchew.series_detail(
        http, settings["patchew_url"], "QEMU", replay.threads["kvm-dirty-ring-v4"][0]
    )
    assert patchew.series_mbox(http, incomplete) is None  # patchew answers 500 for it


def test_a_msgid_that_is_no_ref_name_is_refused(repo_factory: Callable[..., Path]) -> None:
    user = repo_factory("user")
    with pytest.raises(Exception, match="not a valid tag name"):
        patchew.fetch_tag(user, "file:///nonexistent", "a..b@c", None, 1)


def test_no_tag_is_fetched_for_a_series_patchew_could_not_apply(
    replay: Replay, repo_factory: Callable[..., Path], tmp_path: Path
) -> None:
    head = replay.threads["kvm-dirty-ring-v4"][0]
    user = repo_factory("user")
    before = snapshot_repo(user)
    result = run_patchtool(
        "fetch", f"patchew/{head}", "--repo", user, env={"PATCHTOOL_PATCHEW_GIT": "file:///nowhere"}
    )
    assert result.code == 0, result.stderr
    assert "patchew-git file:///nowhere - no tag: patchew's git result is missing" in result.stdout
    assert "patchew had only 4 of 13 patches" in result.stdout
    assert snapshot_repo(user) == before
