"""Where a backported series was written, and what its paths were called on the target.

The base is found from the patch itself: the `index <pre>..<post>` lines name the blobs the author's
tree held, so the commit that introduced them (and holds them all) is the series' base. Renames are
followed per touched path (that path's own history between the fork point and the base), never by
one tree-wide rename diff, which can hit git's rename limit and silently fall back to exact renames.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence

from patchtool.jsonable import record
from patchtool.models import Series
from patchtool.parse.difftext import split_files
from patchtool.vcs.repo import GitRepo

# Where a series from mail was most likely written, when nothing in it says so.
UPSTREAM_GUESSES = ("HEAD", "refs/remotes/origin/HEAD", "origin/master", "origin/main", "master", "main")
_INDEX = re.compile(r"^index ([0-9a-f]{4,64})\.\.([0-9a-f]{4,64})")
_NULL = re.compile(r"^0+$")
_RAW = re.compile(r"^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) \w+\t(.*)$")
# git's words when it gave up inexact rename detection (the limit was hit): worth a note, never silent.
_MAX_ADDING_COMMITS = 20
# One path's history has few rename candidates, so no limit is needed; and a user's low
# diff.renameLimit makes `log --follow` give up without a word (it prints no warning).
_NO_RENAME_LIMIT = ("-c", "diff.renameLimit=0")
_RENAME_WARNING = re.compile(r"rename detection|renamelimit|renameLimit", re.IGNORECASE)


@record
class Preimage:
    """A file the series changes and the blob (maybe abbreviated) the author's tree held there."""

    path: str
    blob: str


def preimages(diff: str) -> list[Preimage]:
    """The (path, preimage blob) of each file a diff modifies, from its `index` lines."""
    blobs: list[str | None] = []
    in_header = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            blobs.append(None)
            in_header = True
        elif in_header and line.startswith("@@ "):
            in_header = False
        elif in_header and (m := _INDEX.match(line)) and not _NULL.match(m.group(1)):
            blobs[-1] = m.group(1)
    files = split_files(diff)
    return [
        Preimage(f.old_path, blob)
        for f, blob in zip(files, blobs, strict=False)
        if f.old_path and blob is not None
    ]


def series_preimages(series: Series) -> list[Preimage]:
    """The preimages of the first patch that changes each path (later patches see earlier output)."""
    seen: dict[str, Preimage] = {}
    created: set[str] = set()
    for patch in series.revision.patches:
        for pre in preimages(patch.diff):
            if pre.path not in seen and pre.path not in created:
                seen[pre.path] = pre
        created |= {f.new_path for f in split_files(patch.diff) if f.new_path}
    return list(seen.values())


def upstream_revs(repo: GitRepo, extra: Iterable[str] = ()) -> list[str]:
    """The distinct commits of the likely upstream branches that exist here (plus `extra`)."""
    found: dict[str, None] = {}
    for rev in (*extra, *UPSTREAM_GUESSES):
        sha = repo.try_rev_parse(rev)
        if sha:
            found.setdefault(sha)
    return list(found)


def holds(repo: GitRepo, commit: str, pres: Sequence[Preimage]) -> bool:
    """Whether `commit`'s tree has every preimage blob at its path."""
    if not pres:
        return False
    paths = sorted({p.path for p in pres})
    listing = repo.git("ls-tree", "-z", "--full-tree", commit, "--", *paths).stdout.decode(
        "utf-8", "surrogateescape"
    )
    have: dict[str, str] = {}
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        if path:
            have[path] = meta.split()[2]
    return all(have.get(p.path, "").startswith(p.blob) for p in pres)


def _introducers(
    repo: GitRepo,
    target: str | None,
    revs: Sequence[str],
    pres: Sequence[Preimage],
    first_parent: bool = False,
) -> list[str]:
    """For each preimage, the newest commit of `revs` (not on the target, when one is given) whose
    change left its blob at its path: one walk over the upstream commits the target lacks, limited
    to the touched paths. ``first_parent``: the commits of the first-parent line, a merge with its
    change against its first parent (what a branch that merges pull requests saw)."""
    paths = sorted({p.path for p in pres})
    done = repo.git(
        "log",
        "--format=commit %H",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        *(["--first-parent", "--diff-merges=first-parent"] if first_parent else []),
        *revs,
        *([f"^{target}"] if target else []),
        "--",
        *(f":(literal){p}" for p in paths),
        check=False,
        timeout=300,
    )
    wanted = {p.path: p.blob for p in pres}
    found: dict[str, str] = {}
    current = ""
    for line in done.text().splitlines():
        if line.startswith("commit "):
            current = line[7:]
        elif (m := _RAW.match(line)) and (path := m.group(3)) in wanted and path not in found:
            found.update({path: current} if m.group(2).startswith(wanted[path]) else {})
    return list(dict.fromkeys(found.values()))


def base_from_blobs(repo: GitRepo, target: str, pres: Sequence[Preimage], revs: Sequence[str]) -> str | None:
    """The earliest commit holding every preimage blob: the target itself when it does, else the newest
    of the upstream commits that introduced them, if its tree holds them all."""
    if not pres:
        return None
    if holds(repo, target, pres):
        return target
    # a blob a merge left (its own resolution) is found on the first-parent line, as `written_on`
    return _newest_holding(repo, _introducers(repo, target, revs, pres), pres) or _newest_holding(
        repo, _introducers(repo, target, revs, pres, first_parent=True), pres
    )


def written_on(repo: GitRepo, head: str, pres: Sequence[Preimage]) -> str | None:
    """The first commit of `head`'s history whose tree holds every preimage blob (the newest of the
    commits that left them): where a series that no longer applies to `head` was written, or the
    earliest commit with its files as the author had them (None when `head` holds them, or none
    does)."""
    if not pres or holds(repo, head, pres):
        return None
    # A blob a merge brought (its own resolution, or a side branch the walk simplified away) has
    # no introducer among the commits themselves; on the first-parent line the merge is one (a
    # series whose 6 blobs were last set by 5 commits and a merge: sample AO).
    return _newest_holding(repo, _introducers(repo, None, [head], pres), pres) or _newest_holding(
        repo, _introducers(repo, None, [head], pres, first_parent=True), pres
    )


def _newest_holding(repo: GitRepo, introducers: Sequence[str], pres: Sequence[Preimage]) -> str | None:
    is_ancestor = _ancestry(repo, introducers)
    ordered: list[str] = []
    for commit in introducers:  # newest first: a commit that has another as ancestor comes before it
        spot = next((i for i, c in enumerate(ordered) if is_ancestor(c, commit)), len(ordered))
        ordered.insert(spot, commit)
    return next((c for c in ordered if holds(repo, c, pres)), None)


# Up to this many commits, their order is asked of git pair by pair (at most 15 processes of
# 20-50 ms): the walk below costs up to QEMU's whole history, 1.6 s, when one of them is old.
_ASK_EACH_PAIR_UP_TO = 6


def _ancestry(repo: GitRepo, commits: Sequence[str]) -> Callable[[str, str], bool]:
    """``is_ancestor(a, b)`` for two of ``commits``, from one walk of their history down to their
    common ancestor, not a git process per pair: ordering 30 introducers pair by pair took 468
    processes, 23 s on a real 40-file stable-7.2 backport. When the walk cannot be made (no
    common ancestor), each pair asks git."""
    if len(commits) <= _ASK_EACH_PAIR_UP_TO:
        return repo.is_ancestor
    found = repo.git("merge-base", "--octopus", *commits, check=False)
    bottom = found.text().split()[:1] if found.ok else []
    if not bottom:
        return repo.is_ancestor
    walk = repo.git(
        "rev-list", "--topo-order", "--parents", *commits, f"^{bottom[0]}", check=False, timeout=300
    )
    if not walk.ok:
        return repo.is_ancestor
    bit = {c: 1 << i for i, c in enumerate(commits)}
    reach: dict[str, int] = {}  # commit -> the bits of ``commits`` it is or descends from
    for line in reversed(walk.text().splitlines()):  # parents before children
        commit, *parents = line.split()
        mask = bit.get(commit, 0)
        for parent in parents:
            mask |= reach.get(parent, 0)
        reach[commit] = mask
    # The bottom is a common ancestor of them all, and no other of them is its ancestor (it would
    # be theirs too, and so the bottom itself); the walk holds every other path between them. A
    # commit is its own ancestor, as git says.
    return lambda a, b: a == bottom[0] or bool(reach.get(b, 0) & bit.get(a, 0))


@record
class PathHistory:
    """What each touched path was called on the target, and what git said on the way."""

    files: dict[str, str]  # path at the base -> path on the target
    dirs: dict[str, str]  # directory at the base -> directory on the target (for created files)
    notes: tuple[str, ...] = ()


def _rename_notes(stderr: str) -> list[str]:
    return [
        f"git: {line.removeprefix('warning: ').strip()}"
        for line in stderr.splitlines()
        if _RENAME_WARNING.search(line)
    ]


def follow_path(repo: GitRepo, fork: str, base: str, path: str) -> tuple[str | None, list[str]]:
    """The name `path` (at the base) had at the fork point, following its renames; None if it was
    created after the fork. Also git's rename-limit warnings."""
    done = repo.git(
        *_NO_RENAME_LIMIT,
        "log",
        "--follow",
        "-M",
        "--name-status",
        "--format=",
        f"{fork}..{base}",
        "--",
        path,
        check=False,
    )
    name = path
    for line in done.text().splitlines():
        parts = line.split("\t")
        if parts[0].startswith("R") and len(parts) == 3 and parts[2] == name:
            name = parts[1]
        elif parts[0] == "A" and len(parts) == 2 and parts[1] == name:
            return None, _rename_notes(done.errtext())
    return name, _rename_notes(done.errtext())


def directory_moves(repo: GitRepo, fork: str, base: str, directory: str) -> tuple[str | None, list[str]]:
    """Where the files of `directory` (at the base) were at the fork point, when they moved together:
    the commits that added files there are looked at one by one (a rename's old side lies outside
    the directory, so a log limited to it would see additions only)."""
    done = repo.git("log", "--diff-filter=A", "--format=%H", f"{fork}..{base}", "--", directory, check=False)
    notes: list[str] = []
    for sha in done.text().split()[:_MAX_ADDING_COMMITS]:
        tree_diff = repo.git(
            *_NO_RENAME_LIMIT,
            "diff-tree",
            "-r",
            "-M",
            "--diff-filter=R",
            "--name-status",
            "--no-commit-id",
            f"{sha}^",
            sha,
            check=False,
        )
        notes += _rename_notes(tree_diff.errtext())
        for line in tree_diff.text().splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and posixpath.dirname(parts[2]) == directory:
                old_dir = posixpath.dirname(parts[1])
                if posixpath.basename(parts[1]) == posixpath.basename(parts[2]) and old_dir != directory:
                    return old_dir, notes
    return None, notes


def existing(repo: GitRepo, commit: str, paths: Iterable[str]) -> set[str]:
    """Which of `paths` exist (as files) in `commit`."""
    wanted = sorted(set(paths))
    if not wanted:
        return set()
    listing = repo.git("ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", *wanted).stdout
    return set(listing.decode("utf-8", "surrogateescape").split("\0")) & set(wanted)


def directory_exists(repo: GitRepo, commit: str, directory: str) -> bool:
    if not directory:
        return True
    return repo.git("cat-file", "-e", f"{commit}:{directory}", check=False).ok


def path_history(
    repo: GitRepo, target: str, base: str, changed: Iterable[str], created: Iterable[str]
) -> PathHistory:
    """Map each changed path missing on the target to its name there; and the directories of created
    files that do not exist on the target to where they were (directory maps only for created files)."""
    changed, created = sorted(set(changed)), sorted(set(created))
    fork = repo.out("merge-base", target, base) if target != base else base
    present = existing(repo, target, changed)
    files: dict[str, str] = {}
    notes: list[str] = []
    for path in changed:
        if path in present or fork == base:
            continue
        old, said = follow_path(repo, fork, base, path)
        notes += said
        if old and old != path:
            files[path] = old
    dirs: dict[str, str] = {}
    for directory in sorted({posixpath.dirname(p) for p in created}):
        if fork == base or directory_exists(repo, target, directory):
            continue
        old_dir, said = directory_moves(repo, fork, base, directory)
        notes += said
        if old_dir:
            dirs[directory] = old_dir
    return PathHistory(files, dirs, tuple(dict.fromkeys(notes)))


def added_by(repo: GitRepo, base: str, path: str) -> tuple[str, str] | None:
    """(sha, subject) of the upstream commit that created `path` (as of `base`)."""
    done = repo.git("log", "-1", "--diff-filter=A", "--format=%H%x00%s", base, "--", path, check=False)
    sha, _, subject = done.text().strip().partition("\0")
    return (sha, subject) if sha else None
