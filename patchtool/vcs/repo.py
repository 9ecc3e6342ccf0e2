"""The one place patchtool talks to git: GitPython for discovery, git's plumbing for the work.

Every git command goes through `GitRepo.git()`, which runs an argv list (never a shell) with a
timeout and turns failures into GitError naming the command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from patchtool import proc
from patchtool.errors import GitError, InputError

# Never let the user's environment redirect the commands we run at another repository.
_SCRUBBED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    subject: str
    author_name: str
    author_email: str
    author_date: str


class GitRepo:
    """A git repository (or one of its worktrees) on disk."""

    def __init__(self, path: Path) -> None:
        import git as gitpython  # imported here: GitPython costs ~50 ms at start-up

        try:
            repo = gitpython.Repo(path, search_parent_directories=True)
        except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError) as e:
            raise InputError(f"{path}: not a git repository") from e
        self._repo = repo
        self.path = Path(repo.working_tree_dir or repo.git_dir).resolve()
        self.git_dir = Path(repo.git_dir).resolve()
        self.common_dir = Path(repo.common_dir).resolve()

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        extra_env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = 600.0,
        cwd: Path | None = None,
    ) -> proc.Completed:
        """Run `git ARGS` in this repository; raise GitError unless it succeeded (or check=False)."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        done = proc.run(
            ["git", *args],
            cwd=cwd or self.path,
            input=input,
            env=env,
            extra_env=extra_env,
            timeout=timeout,
        )
        if check and not done.ok:
            detail = done.errtext().strip().splitlines()
            reason = "timed out" if done.timed_out else (detail[-1] if detail else f"exit {done.returncode}")
            raise GitError(f"git {args[0]} in {self.path}: {reason}")
        return done

    def out(self, *args: str, **kwargs: object) -> str:
        """Run git and return its stdout as text with the trailing newline removed."""
        return self.git(*args, **kwargs).text().rstrip("\n")  # type: ignore[arg-type]

    def rev_parse(self, rev: str) -> str:
        """The full commit sha of `rev`; InputError if it does not name a commit."""
        done = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if not done.ok:
            raise InputError(f"{rev}: no such commit in {self.path}")
        return done.text().strip()

    def try_rev_parse(self, rev: str) -> str | None:
        try:
            return self.rev_parse(rev)
        except InputError:
            return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.git("merge-base", "--is-ancestor", ancestor, descendant, check=False).ok

    def commit_info(self, rev: str) -> CommitInfo:
        fields = self.out("show", "-s", "--format=%H%x00%s%x00%an%x00%ae%x00%aI", rev, "--")
        sha, subject, name, email, date = fields.split("\x00")
        return CommitInfo(sha, subject, name, email, date)

    def head(self) -> str | None:
        """HEAD's sha, or None on an unborn branch."""
        return self.try_rev_parse("HEAD")

    def tree_of(self, rev: str) -> str:
        return self.out("rev-parse", f"{rev}^{{tree}}")

    @classmethod
    def clone(cls, source: str, dest: Path, timeout: float = 3600.0) -> GitRepo:
        """Clone `source` (a URL or a path) into `dest` without checking files out."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        argv = ["git", "clone", "--quiet", "--no-checkout", "--", source, str(dest)]
        done = proc.run(argv, cwd=dest.parent, env=env, timeout=timeout)
        if not done.ok:
            detail = done.errtext().strip().splitlines()
            raise GitError(f"git clone {source}: {detail[-1] if detail else f'exit {done.returncode}'}")
        return cls(dest)
