"""Where a name a backport uses came from upstream: the oldest commit between the fork point and the
series' base that added uses of it (`git log -S`), searched in each file under the names it had."""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.vcs.repo import GitRepo


def introduced_by(
    repo: GitRepo, fork: str, base: str, name: str, pathspec: Sequence[str] = ()
) -> tuple[str, str] | None:
    """The oldest commit between the fork point and the base that added uses of `name` (`git log -S`).

    When that commit created one of the files (a file moved upstream after the name came, softmmu/
    to system/, "adds" every name it holds at its new path), those files are searched again under
    the names they had since the fork. Only then: following a file's renames costs seconds, a
    file, on a decade of QEMU (stable-1.1's check-qjson fix spent 80 of its 115 s there).
    """
    paths = sorted(set(pathspec))
    lines = _pickaxe_log(repo, fork, base, name, paths)
    if not lines:
        return None
    made = repo.git(
        "show", "--format=", "--name-status", "--no-renames", lines[-1][0], "--", *paths, check=False
    )
    created = [row.split("\t", 1)[1] for row in made.text().splitlines() if row.startswith("A\t")]
    if created:
        wider = sorted(set(paths) | {old for path in created for old in former_paths(repo, fork, base, path)})
        if wider != paths:
            lines = _pickaxe_log(repo, fork, base, name, wider) or lines
    return lines[-1]


def _pickaxe_log(
    repo: GitRepo, fork: str, base: str, name: str, paths: Sequence[str]
) -> list[tuple[str, str]]:
    """(sha, subject) of the commits between fork and base that add or remove uses of `name` in
    `paths`, newest first."""
    done = repo.git(
        "log",
        "--format=%H%x00%s",
        "--pickaxe-regex",
        f"-S{_pickaxe(name)}",
        f"{fork}..{base}",
        "--",
        *paths,
        check=False,
        timeout=300,
    )
    return [
        (sha, subject) for sha, _, subject in (line.partition("\0") for line in done.text().splitlines()) if _
    ]


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
