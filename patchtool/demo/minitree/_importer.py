"""Write commits and tags into a repository through one `git fast-import` process.

Fixed identities, dates and contents give the same object ids on every run. The importer keeps
the files of each branch in memory so that the story can edit them and read them back.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import IO

from patchtool.demo.minitree._tree import EXECUTABLES, Change, Tree, apply_changes, changed_paths
from patchtool.errors import GitError
from patchtool.jsonable import record
from patchtool.vcs.gitcmd import no_hooks_dir


@record
class Person:
    name: str
    email: str
    tz: str = "+0000"

    @property
    def ident(self) -> str:
        return f"{self.name} <{self.email}>"


@record
class CommitRecord:
    mark: int
    branch: str
    subject: str
    tree: Tree
    parent: int | None
    date: int


def git_env() -> dict[str, str]:
    """An environment where no user or system configuration can change what git writes, no hook runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C", "TZ": "UTC"})
    # The repositories are fresh, but a template directory could still bring hooks along.
    hooks = {"GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(no_hooks_dir())}
    env.update({"GIT_CONFIG_COUNT": "1", **hooks})
    return env


def git_bytes(repo: Path, *args: str, extra_env: dict[str, str] | None = None) -> bytes:
    """Run git in `repo` under git_env() plus `extra_env`; return stdout, raise GitError on failure."""
    env = {**git_env(), **(extra_env or {})}
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, env=env, check=False, timeout=120)
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise GitError(f"git {args[0]} failed in {repo}: {last}")
    return done.stdout


def run_git(repo: Path, *args: str) -> str:
    return git_bytes(repo, *args).decode("utf-8", "replace")


class Importer:
    """Feeds a `git fast-import` process; `sha(mark)` asks it for a commit id at any point."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._marks = repo / ".git" / "minitree-marks"
        self._proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done", "--date-format=raw", f"--export-marks={self._marks}"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=git_env(),
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout
        self._next_mark = 1
        self._shas: dict[int, str] = {}
        self.commits: dict[int, CommitRecord] = {}
        self.heads: dict[str, int] = {}
        self._write(b"feature done\nfeature get-mark\n")

    def _write(self, data: bytes) -> None:
        self._in.write(data)

    def _data(self, text: str | bytes) -> None:
        raw = text.encode("utf-8") if isinstance(text, str) else text
        self._write(b"data %d\n" % len(raw) + raw + b"\n")

    def tree_of(self, branch: str) -> Tree:
        head = self.heads.get(branch)
        return dict(self.commits[head].tree) if head is not None else {}

    def commit(
        self,
        branch: str,
        author: Person,
        committer: Person,
        date: int,
        message: str,
        changes: list[Change],
        parent: int | None = None,
    ) -> int:
        """Commit `changes` on top of `parent` (default: the branch head); return the mark."""
        parent = self.heads.get(branch) if parent is None else parent
        before = self.commits[parent].tree if parent is not None else {}
        after = apply_changes(before, changes)
        mark = self._next_mark
        self._next_mark += 1
        ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
        self._write(f"commit {ref}\nmark :{mark}\n".encode())
        self._write(f"author {author.ident} {date} {author.tz}\n".encode())
        self._write(f"committer {committer.ident} {date + 3600} {committer.tz}\n".encode())
        self._data(message if message.endswith("\n") else message + "\n")
        if parent is not None:
            self._write(f"from :{parent}\n".encode())
        modified, deleted = changed_paths(before, after)
        for path in deleted:
            self._write(f"D {path}\n".encode())
        for path in modified:
            mode = "100755" if path in EXECUTABLES else "100644"
            self._write(f"M {mode} inline {path}\n".encode())
            self._data(after[path])
        self._write(b"\n")
        subject = message.split("\n", 1)[0]
        self.commits[mark] = CommitRecord(mark, branch, subject, after, parent, date)
        self.heads[branch] = mark
        return mark

    def tag(self, name: str, mark: int, tagger: Person, date: int, message: str) -> None:
        self._write(f"tag {name}\nfrom :{mark}\ntagger {tagger.ident} {date} {tagger.tz}\n".encode())
        self._data(message)

    def sha(self, mark: int) -> str:
        """The object id of a commit already written (fast-import computes it on the fly)."""
        if mark not in self._shas:
            self._write(f"get-mark :{mark}\n".encode())
            self._in.flush()
            self._shas[mark] = self._out.readline().decode().strip()
            if len(self._shas[mark]) != 40:
                raise GitError(f"git fast-import did not answer get-mark :{mark}")
        return self._shas[mark]

    def kill(self) -> None:
        """Stop fast-import after a failure (nothing it wrote is referenced yet)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def finish(self) -> None:
        self._write(b"done\n")
        self._in.close()
        if self._proc.wait(timeout=120) != 0:
            raise GitError("git fast-import failed while writing the mini tree")
        self._out.close()
        # From now on ids come from the marks file fast-import wrote when it finished.
        for line in self._marks.read_text().splitlines():
            mark, sha = line.split()
            self._shas[int(mark.lstrip(":"))] = sha
        self._marks.unlink()
