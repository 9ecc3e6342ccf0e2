"""Trees and commits made in memory reach git as git would have written them (one pack, one process).

Checked in a SHA-1 and a SHA-256 repository: the ids computed here are the ids git computes for
the same objects (`git mktree` / `git commit-tree` from the same content), every object is readable
afterwards, and a store that computes a wrong id is caught.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from patchtool.errors import GitError
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.trees import ObjectStore, pack, read_index_file, write_index_file
from tests.plugins.gitutil import git


def _repo(tmp_path: Path, fmt: str) -> tuple[GitRepo, str]:
    path = tmp_path / fmt
    path.mkdir()
    git(path, "init", "-q", "-b", "main", f"--object-format={fmt}")
    (path / "dir").mkdir()
    (path / "dir" / "a.c").write_text("int a;\n")
    (path / "top.txt").write_text("top\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "base")
    return GitRepo(path), git(path, "rev-parse", "HEAD").strip()


@pytest.mark.parametrize("fmt", ["sha1", "sha256"])
def test_made_objects_are_git_s_own(tmp_path: Path, fmt: str) -> None:
    repo, base = _repo(tmp_path, fmt)
    blob = git(repo.path, "hash-object", "-w", "--stdin", input=b"int b;\n").strip()
    ident = "A U Thor <a@example.org> 1700000000 +0100"
    with ObjectStore(repo) as store:
        store.set_algorithm(base)
        tree = store.update_tree(store.tree_of_commit(base), {"dir/b.c": (b"100644", blob), "top.txt": None})
        commit = store.make_commit(tree, base, ident, ident, "add b, drop top\n")
        store.flush(tmp_path)
        assert not store.pending
    listing = git(repo.path, "ls-tree", "-r", "--name-only", commit)
    assert listing.split() == ["dir/a.c", "dir/b.c"]
    sub = git(repo.path, "rev-parse", f"{commit}:dir").strip()
    made = git(repo.path, "mktree", input=git(repo.path, "ls-tree", sub).encode()).strip()
    assert made == sub  # git computes the same id for the same entries
    assert git(repo.path, "cat-file", "-p", commit).split("\n")[0] == f"tree {tree}"
    # fsck re-hashes every object: a content that does not match its id fails here
    assert git(repo.path, "fsck", "--no-dangling").strip() == ""


def test_pack_stream_is_what_unpack_objects_reads(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, "sha1")
    bodies = [("tree", b""), ("commit", b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nempty\n")]
    git(repo.path, "unpack-objects", "-q", input=pack(bodies))
    for kind, body in bodies:
        oid = hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()
        assert git(repo.path, "cat-file", "-t", oid).strip() == kind
    large = ("commit", b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\n" + b"x" * 70000)
    git(repo.path, "unpack-objects", "-q", input=pack([large]))  # a size over several header bytes


def test_an_id_git_does_not_confirm_is_an_error(tmp_path: Path) -> None:
    repo, base = _repo(tmp_path, "sha1")
    with ObjectStore(repo) as store:
        tree = store.tree_of_commit(base)
        commit = store.make_commit(tree, base, "T <t@x> 1 +0000", "T <t@x> 1 +0000", "m\n")
        kind, body = store.pending.pop(commit)
        store.pending["0" * 40] = (kind, body)  # an id that is not the content's
        with pytest.raises(GitError, match="0000000000"):
            store.flush(tmp_path)


@pytest.mark.parametrize("fmt", ["sha1", "sha256"])
def test_index_written_here_is_the_one_update_index_writes(tmp_path: Path, fmt: str) -> None:
    repo, base = _repo(tmp_path, fmt)
    blob = git(repo.path, "rev-parse", f"{base}:top.txt").strip()
    names = [b"z", b"a/b.c", b"a b/\xc3\xa9t\xc3\xa9", b"a/b", b"x" * 5000, b"link", b"sub"]
    modes = [b"100644", b"100755", b"100644", b"100644", b"100644", b"120000", b"160000"]
    files = [(mode, blob, name) for mode, name in zip(modes, names, strict=True)]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    write_index_file(ours, files, fmt)
    info = b"".join(b"%s %s\t%s\0" % (mode, oid.encode(), name) for mode, oid, name in files)
    env = {"GIT_INDEX_FILE": str(theirs), "GIT_INDEX_VERSION": "2"}
    done = subprocess.run(
        ["git", "update-index", "-z", "--index-info"], cwd=repo.path, input=info, env={**os.environ, **env}
    )
    assert done.returncode == 0
    assert ours.read_bytes() == theirs.read_bytes()
    width = 32 if fmt == "sha256" else 20
    assert read_index_file(ours, width) == read_index_file(theirs, width)
