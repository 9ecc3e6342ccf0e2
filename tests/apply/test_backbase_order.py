"""The order of the commits that introduced a backport's preimage blobs, read from one walk."""

from __future__ import annotations

import json
from itertools import permutations, product
from pathlib import Path

import pytest

from patchtool.apply.backbase import _ancestry, preimages, written_on
from patchtool.vcs.repo import GitRepo
from tests.plugins.gitutil import git, make_repo


def _commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"{name}: {text.strip()}")
    return git(repo, "rev-parse", "HEAD").strip()


def _history(tmp_path: Path) -> tuple[Path, list[str]]:
    """A main line with two side branches merged into it, one after the other, and an old commit
    below the fork: twelve commits, some in line, some on parallel branches, two merges."""
    repo = make_repo(tmp_path / "q", {"README": "hello\n"})
    made = [_commit(repo, "old.c", "1\n")]
    made.append(_commit(repo, "a.c", "1\n"))
    fork = made[-1]
    made += [_commit(repo, "a.c", "2\n"), _commit(repo, "b.c", "1\n")]
    git(repo, "checkout", "-q", "-b", "side", fork)
    made += [_commit(repo, "s.c", "1\n"), _commit(repo, "s.c", "2\n"), _commit(repo, "t.c", "1\n")]
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    made.append(git(repo, "rev-parse", "HEAD").strip())
    git(repo, "checkout", "-q", "-b", "other", made[2])
    made += [_commit(repo, "u.c", "1\n"), _commit(repo, "u.c", "2\n")]
    git(repo, "checkout", "-q", "main")
    made.append(_commit(repo, "c.c", "1\n"))
    git(repo, "merge", "-q", "--no-ff", "-m", "merge other", "other")
    made.append(git(repo, "rev-parse", "HEAD").strip())
    return repo, made


@pytest.mark.parametrize("count", [2, 6, 7, 12])
def test_one_walk_orders_the_introducers_as_git_does_pair_by_pair(tmp_path: Path, count: int) -> None:
    # above six commits the ancestry is read from one rev-list walk down to their common ancestor
    # (a real 40-file backport asked git 468 times, 23 s); it must agree with git on every pair,
    # the common ancestor among them or not, merges and parallel branches alike
    repo, made = _history(tmp_path)
    r = GitRepo(repo)
    for commits in (made[:count], made[-count:], made[1::2][:count] + made[::2][: max(0, count - 6)]):
        commits = list(dict.fromkeys(commits))
        is_ancestor = _ancestry(r, commits)
        for a, b in product(commits, repeat=2):  # a commit against itself too
            assert is_ancestor(a, b) is r.is_ancestor(a, b), (made.index(a), made.index(b))


def test_the_walk_replaces_a_git_process_per_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # twelve introducers: two git processes (merge-base, rev-list), not one per pair of them
    repo, made = _history(tmp_path)
    r = GitRepo(repo)  # (opening it asks git twice)
    trace = tmp_path / "trace.json"
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    is_ancestor = _ancestry(r, made)
    asked = [is_ancestor(a, b) for a, b in permutations(made, 2)]
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    started = [
        e["argv"][e["argv"].index("maintenance.auto=false") + 1] for e in events if e.get("event") == "start"
    ]
    assert started == ["merge-base", "rev-list"] and sum(asked) > 0


def test_a_series_written_on_a_merged_branch_is_placed_after_many_introducers(tmp_path: Path) -> None:
    # written_on orders the commits that left each preimage blob: the newest holding them all
    repo, made = _history(tmp_path)
    files = ("old.c", "a.c", "b.c", "s.c", "t.c", "u.c", "c.c")
    diff = "".join(
        f"diff --git a/{f} b/{f}\nindex {git(repo, 'rev-parse', f'HEAD:{f}').strip()[:12]}..1234567 100644\n"
        f"--- a/{f}\n+++ b/{f}\n@@ -1 +1 @@\n-x\n+y\n"
        for f in files
    )
    (repo / "a.c").write_text("3\n")
    git(repo, "commit", "-qam", "a.c moves on")
    pres = preimages(diff)
    assert written_on(GitRepo(repo), git(repo, "rev-parse", "HEAD").strip(), pres) == made[-1]
