"""Where a name a backport uses came from upstream: the oldest commit between the fork point and the
series' base that added uses of it (`git log -S`), searched in each file under the names it had."""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.vcs.repo import GitRepo


def introduced_by(
    repo: GitRepo, fork: str, base: str, name: str, pathspec: Sequence[str] = ()
) -> tuple[str, str] | None:
    """The oldest commit between the fork point and the base that added uses of `name` (`git log -S`).

    When a commit found created one of the files by a rename (a file moved upstream after the name
    came, softmmu/ to system/, "adds" every name it holds at its new path), those files are
    searched again under the names they had since the fork. Only then: following a file's renames
    costs seconds, a file, on a decade of QEMU (stable-1.1's check-qjson fix spent 80 of its 115 s
    there).
    """
    paths = sorted(set(pathspec))
    found = _pickaxe_log(repo, fork, base, name, paths)
    moved = _moved_here(repo, found)
    if moved:
        wider = sorted(set(paths) | {old for path in moved for old in former_paths(repo, fork, base, path)})
        found = _pickaxe_log(repo, fork, base, name, wider) or found
    return (found[-1][0], found[-1][1]) if found else None


def _moved_here(repo: GitRepo, found: Sequence[tuple[str, str, tuple[str, ...]]]) -> set[str]:
    """The files the commits found created by a rename (read with rename detection over the whole
    commit, as a pathspec of the new names alone shows a rename as an addition)."""
    moved: set[str] = set()
    for sha, _, created in found:
        if created:
            shown = repo.git("show", "-M", "--name-status", "--format=", sha, check=False, timeout=300)
            rows = (row.split("\t") for row in shown.text().splitlines())
            moved |= {r[2] for r in rows if len(r) == 3 and r[0].startswith("R") and r[2] in created}
    return moved


def _pickaxe_log(
    repo: GitRepo, fork: str, base: str, name: str, paths: Sequence[str]
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(sha, subject, the files of `paths` it created) of the commits between fork and base that
    add or remove uses of `name` in `paths`, newest first: one `git log`."""
    done = repo.git(
        "log",
        "--format=%x01%H%x00%s",
        "--name-status",
        "--no-renames",
        "--pickaxe-regex",
        f"-S{_pickaxe(name)}",
        f"{fork}..{base}",
        "--",
        *paths,
        check=False,
        timeout=300,
    )
    found = []
    for record in done.text().split("\x01")[1:]:
        head, _, rest = record.partition("\n")
        sha, sep, subject = head.partition("\0")
        made = tuple(row.split("\t", 1)[1] for row in rest.splitlines() if row.startswith("A\t"))
        if sep:
            found.append((sha, subject, made))
    return found


_FORMER: dict[tuple[str, str, str, str], frozenset[str]] = {}  # (repository, fork, base, path)


def former_paths(repo: GitRepo, fork: str, base: str, path: str) -> set[str]:
    """The path and the names the file had between the fork point and the base (`git log --follow`,
    2 s a file over a decade of QEMU: remembered, as several names and the backports of one branch
    ask of the same files; stable-1.1's check-qjson fix took 115 s, 80 of them here)."""
    key = (str(repo.common_dir), fork, base, path)
    if key not in _FORMER:
        span = f"{fork}..{base}"
        done = repo.git(
            "log", "--follow", "--format=", "--name-only", span, "--", path, check=False, timeout=300
        )
        if len(_FORMER) >= 4096:
            _FORMER.clear()
        _FORMER[key] = frozenset({path} | {line for line in done.text().splitlines() if line})
    return set(_FORMER[key])


def _pickaxe(name: str) -> str:
    if "." in name:
        outer, member = name.split(".")
        return rf"\b{outer}[[:space:]]*(\.|->)[[:space:]]*{member}\b"
    return rf"\b{name}\b"
