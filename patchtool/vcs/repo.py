"""The one place patchtool talks to git: `git rev-parse` for discovery, git's plumbing for the work.

Every git command goes through `GitRepo.git()`, which runs an argv list (never a shell) with a
timeout, the user's hooks, fsmonitor and drivers off (vcs.gitcmd), and turns failures into
GitError naming the command.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from patchtool import proc
from patchtool.errors import GitError, InputError
from patchtool.jsonable import record
from patchtool.vcs.gitcmd import run_git


@record
class CommitInfo:
    sha: str
    subject: str
    author_name: str
    author_email: str
    author_date: str


class GitRepo:
    """A git repository (or one of its worktrees) on disk."""

    def __init__(self, path: Path) -> None:
        # One `git rev-parse` finds the repository (as GitPython's discovery did, parents included)
        # without importing GitPython, which cost ~0.1 s of every apply.
        self.path, self.git_dir, self.common_dir = _discover(Path(path))

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
        done = run_git(args, cwd=cwd or self.path, input=input, extra_env=extra_env, timeout=timeout)
        if check and not done.ok:
            detail = done.errtext().strip().splitlines()
            reason = "timed out" if done.timed_out else (detail[-1] if detail else f"exit {done.returncode}")
            raise GitError(f"git {args[0]} in {self.path}: {reason}")
        return done

    def out(self, *args: str, **kwargs: object) -> str:
        """Run git and return its stdout as text with the trailing newline removed."""
        return self.git(*args, **kwargs).text().rstrip("\n")  # type: ignore[arg-type]

    def rev_parse(self, rev: str, kind: str = "commit") -> str:
        """The full sha of the `kind` (commit, tree) `rev` peels to; InputError if there is none."""
        done = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{{kind}}}", check=False
        )
        if not done.ok:
            raise InputError(f"{rev}: no such {kind} in {self.path}")
        return done.text().strip()

    def try_rev_parse(self, rev: str, kind: str = "commit") -> str | None:
        try:
            return self.rev_parse(rev, kind)
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
        done = run_git(
            ["clone", "--quiet", "--no-checkout", "--", source, str(dest)], cwd=dest.parent, timeout=timeout
        )
        if not done.ok:
            detail = done.errtext().strip().splitlines()
            raise GitError(f"git clone {source}: {detail[-1] if detail else f'exit {done.returncode}'}")
        return cls(dest)


def _discover(path: Path) -> tuple[Path, Path, Path]:
    """(work tree or git dir, git dir, common dir) of the repository at or above `path`."""
    if not path.is_dir():
        raise InputError(f"{path}: not a git repository")
    argv = ["rev-parse", "--absolute-git-dir", "--git-common-dir", "--is-bare-repository"]
    # --show-toplevel fails in a bare repository after the lines above are printed.
    done = run_git([*argv, "--show-toplevel"], cwd=path, timeout=60)
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    bare = len(lines) >= 3 and lines[2] == "true"
    if len(lines) < 3 or not (done.ok or bare):
        raise InputError(f"{path}: not a git repository")
    git_dir = Path(lines[0]).resolve()
    common_dir = (path / lines[1]).resolve()
    top = git_dir if bare or len(lines) < 4 else Path(lines[3]).resolve()
    return top, git_dir, common_dir
