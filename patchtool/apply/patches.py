"""Low-level apply machinery: a temporary index, `git apply --cached [--3way]`, and commit-tree.

Nothing here touches a work tree: each patch is applied to an index file of our own (GIT_INDEX_FILE
in a private directory), so the user's HEAD, index and files are never read for writing, and a
QEMU-sized tree costs a `read-tree` instead of a checkout.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from patchtool.config import Settings
from patchtool.jsonable import record
from patchtool.parse.difftext import hunk_headers_at
from patchtool.vcs.gitcmd import committer_ident
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.trees import Entry, ObjectStore, read_index_file, tree_mode, write_index_file
from patchtool.vcs.worktrees import repo_key

_CONFLICTED = re.compile(r"^Applied patch to '(.+)' with conflicts\.$")
_FAILED_HUNK = re.compile(r"^error: patch failed: (.+):(\d+)$")
_UNAPPLIABLE = re.compile(
    r"^error: (.+?): (does not exist in index|already exists in index|patch does not apply)"
)
_CHECKING = re.compile(r"^Checking patch (.+)\.\.\.$")
_OFFSET = re.compile(r"^Hunk #(\d+) succeeded at (\d+) \((?:offset (-?\d+) lines?)?.*\)\.$")


@record
class Conflict:
    """Where a patch failed: the file, and the hunk header that did not apply ("" when unknown)."""

    file: str
    hunk: str


@record
class StepOutcome:
    """What applying one diff to the temporary index did."""

    status: str  # "clean" | "3way" | "fuzz" | "conflict"
    conflicts: tuple[Conflict, ...] = ()
    offsets: tuple[str, ...] = ()  # "path: hunk #2 at offset 3 lines"
    merged_files: tuple[str, ...] = ()  # files that needed the 3-way merge


def temp_root(settings: Settings, repo: GitRepo) -> Path:
    return settings.data_dir / "tmp" / repo_key(repo)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_indexes(settings: Settings, repo: GitRepo, *, all_dead_only: bool = True) -> list[Path]:
    """Remove temporary index directories whose process is gone (left by a kill or a crash)."""
    root = temp_root(settings, repo)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        pid_text = entry.name.split("-", 1)[0]
        alive = pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid()
        if all_dead_only and alive:
            continue
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


class TempIndex:
    """A small index of our own holding only the paths the series touches, plus the full trees.

    `git apply --cached` needs index entries only for the files a patch touches, so the index is
    kept to those (cheap to read and write per patch even on a 10,000-file tree); the full tree of
    each commit is rebuilt in memory by ObjectStore along the changed paths.
    """

    def __init__(self, repo: GitRepo, directory: Path, store: ObjectStore) -> None:
        self.repo = repo
        self.directory = directory
        self.store = store
        self.env = {
            "GIT_INDEX_FILE": str(directory / "index"),
            "GIT_INDEX_VERSION": "2",  # a shape read_index_file understands (not the user's v4)
            "GIT_LITERAL_PATHSPECS": "1",
        }
        self.entries: dict[str, tuple[str, str]] = {}  # path -> (index mode, oid) before the patch
        self.tree = ""  # the full tree before the patch
        self._committer: str | None = None

    def load(self, commit: str, paths: Iterable[str]) -> None:
        """Start from `commit`, with index entries for `paths` (those that exist there)."""
        self.store.set_algorithm(commit)
        self.tree = self.store.tree_of_commit(commit)
        # The entries come from the trees cat-file already reads (no `ls-tree` process).
        files = self.store.files_at(self.tree, sorted(set(paths)))
        self._write_index(files)
        self.entries = self._read_entries()

    def _write_index(self, files: Iterable[tuple[bytes, str, bytes]]) -> None:
        """The temporary index holding exactly `files` (mode, oid, path), written here (no process)."""
        write_index_file(self.directory / "index", files, "sha256" if len(self.tree) == 64 else "sha1")

    def _read_entries(self) -> dict[str, tuple[str, str]]:
        index = self.directory / "index"
        if not index.exists():  # git writes no index for no entries; it reads a missing one as empty
            return {}
        width = 32 if len(self.tree) == 64 else 20
        parsed = read_index_file(index, width)
        if parsed is not None:
            return parsed
        out = self.repo.git("ls-files", "-s", "-z", extra_env=self.env).stdout
        entries = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, _, path = entry.partition(b"\t")
                mode, oid, _stage = meta.decode().split()
                entries[path.decode("utf-8", "surrogateescape")] = (mode, oid)
        return entries

    def _restore(self) -> None:
        """Put the index back as it was before the patch (a failed 3-way leaves unmerged entries)."""
        self._write_index(
            (mode.encode(), oid, p.encode("utf-8", "surrogateescape"))
            for p, (mode, oid) in self.entries.items()
        )

    def apply(self, diff: bytes, *, fuzz: bool = False) -> StepOutcome:
        """Apply one patch: straight (clean), else by 3-way merge, else (if `fuzz`) with one line of
        context (`-C1`, for backports whose preimage blobs are unknown), else report the conflicts."""
        straight = self.repo.git("apply", "--cached", "-v", "-", input=diff, extra_env=self.env, check=False)
        if straight.ok:
            return StepOutcome("clean", offsets=tuple(_offsets(straight.errtext())))
        merged = self.repo.git(
            "apply", "--cached", "--3way", "-", input=diff, extra_env=self.env, check=False
        )
        needed_merge = tuple(sorted({f for f, _ in _failed_hunks(straight.errtext())}))
        if merged.ok:
            return StepOutcome("3way", merged_files=needed_merge)
        if fuzz:
            self._restore()
            fuzzy = self.repo.git(
                "apply", "--cached", "-C1", "-v", "-", input=diff, extra_env=self.env, check=False
            )
            if fuzzy.ok:
                return StepOutcome(
                    "fuzz", offsets=tuple(_offsets(fuzzy.errtext())), merged_files=needed_merge
                )
        return StepOutcome("conflict", conflicts=self._conflicts(diff, merged.errtext()))

    def _conflicts(self, diff: bytes, merge_err: str) -> tuple[Conflict, ...]:
        """The files the 3-way merge left unmerged (or could not touch) and the hunks that failed there."""
        files = [m.group(1) for line in merge_err.splitlines() if (m := _CONFLICTED.match(line))]
        files += [m.group(1) for line in merge_err.splitlines() if (m := _UNAPPLIABLE.match(line))]
        self._restore()
        # --check --reject tries every hunk (and writes nothing), so all failing hunks are named.
        check = self.repo.git(
            "apply", "--cached", "--check", "--reject", "-v", "-", input=diff, extra_env=self.env, check=False
        )
        failed = _failed_hunks(check.errtext())
        if not files:
            files = [f for f, _ in failed]
        text = diff.decode("utf-8", "surrogateescape")
        conflicts: list[Conflict] = []
        for file in dict.fromkeys(files):
            lines = [line for f, line in failed if f == file]
            headers = hunk_headers_at(text, file, lines)
            conflicts.extend(Conflict(file, h) for h in headers) if headers else conflicts.append(
                Conflict(file, "")
            )
        return tuple(conflicts) or (Conflict("?", ""),)

    def unchanged(self) -> bool:
        """Whether the index holds what it held before the last apply: the patch changed nothing (a
        3-way merge onto a base that has the change already; git am: "No changes -- Patch already
        applied")."""
        return self._read_entries() == self.entries

    def write_tree(self) -> str:
        """The full tree with the index's changes, which become the new starting point."""
        after = self._read_entries()
        changes: dict[str, Entry | None] = {p: None for p in self.entries if p not in after}
        for path, (mode, oid) in after.items():
            if self.entries.get(path) != (mode, oid):
                changes[path] = (tree_mode(mode), oid)
        self.tree = self.store.update_tree(self.tree, changes)
        self.entries = after
        return self.tree

    def commit(self, parent: str, message: str, author: tuple[str, str, str | None]) -> str:
        """Record the index's changes on top of `parent` as a commit by the patch's author."""
        self.write_tree()
        committer = self.committer()
        name, email, date = author
        when = date[1:] if date else " ".join(committer.rsplit(" ", 2)[-2:])
        return self.store.make_commit(
            self.tree, parent, f"{_ident(name)} <{_ident(email)}> {when}", committer, message
        )

    def committer(self) -> str:
        """Who commits: git's own answer (config and GIT_COMMITTER_*), else the tool itself."""
        if self._committer is None:
            self._committer = committer_ident(self.repo.path) or self._git_var_ident()
        return self._committer

    def _git_var_ident(self) -> str:
        done = self.repo.git("var", "GIT_COMMITTER_IDENT", check=False)
        if done.ok:
            return done.text().strip()
        # no identity configured: commit as the tool rather than fail the whole apply
        return f"patchtool <patchtool@localhost> {int(time.time())} +0000"


def _ident(text: str) -> str:
    """A name or address as git stores it: no angle brackets or newlines, trimmed."""
    return " ".join(text.replace("<", "").replace(">", "").split())


@contextmanager
def temp_index(repo: GitRepo, settings: Settings) -> Iterator[TempIndex]:
    """A fresh temporary index under the tool's data directory, removed on exit (even on Ctrl-C).

    The directory name starts with our pid, so a run killed with SIGKILL leaves a directory that the
    next run (or `patchtool clean`) recognises as stale and removes.
    """
    root = temp_root(settings, repo)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_indexes(settings, repo)
    # Made inside the try: a Ctrl-C right after the directory appears must still remove it.
    directory = root / f"{os.getpid()}-{time.monotonic_ns()}"
    try:
        directory.mkdir(mode=0o700)
        with ObjectStore(repo) as store:
            index = TempIndex(repo, directory, store)
            yield index
            store.flush(directory)
    finally:
        with suppress(OSError):
            shutil.rmtree(directory)


def _failed_hunks(stderr: str) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for line in stderr.splitlines() if (m := _FAILED_HUNK.match(line))]


def _offsets(stderr: str) -> list[str]:
    """Hunks git applied away from where the patch said ("Hunk #2 succeeded at 40 (offset 3 lines)")."""
    found: list[str] = []
    current = "?"
    for line in stderr.splitlines():
        if m := _CHECKING.match(line):
            current = m.group(1)
        elif m := _OFFSET.match(line):
            found.append(f"{current}: hunk #{m.group(1)} applied at line {m.group(2)} (offset {m.group(3)})")
    return found


def git_date(date: dt.datetime | None) -> str | None:
    """A date in git's raw form (`@<epoch> +zzzz`), keeping the sender's time zone."""
    if date is None:
        return None
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    return f"@{int(date.timestamp())} {date.strftime('%z')}"
