"""Where the callers of a function a series changes are looked for, and which files name it.

Each whole-tree `git grep` at the base reads every C file of the tree (0.4 s on real QEMU); a
series that changes several functions' signatures asks it once for all of them (files_naming).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from patchtool.models import Revision
from patchtool.vcs.repo import GitRepo

C_PATHSPECS = ("*.c", "*.h", "*.c.inc", "*.h.inc", "*.inc")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def local_scope(rev: Revision, name: str) -> list[str] | None:
    """The C files that can see `name` when the series declares it only in headers outside
    include/ (`target/loongarch/internals.h`): those under the headers' directories. Other
    targets' functions of the same name are theirs (None: every C file)."""
    headers = {
        c.file for p in rev.patches for c in p.summary.functions if c.name == name and c.file.endswith(".h")
    }
    if not headers or any(h.startswith("include/") or "/" not in h for h in headers):
        return None
    return [spec for d in sorted({h.rsplit("/", 1)[0] for h in headers}) for spec in _under(d)]


def program_scope(path: str) -> list[str] | None:
    """Where a program's `main` (defined in ``path``) is called from: its own directory. QEMU keeps
    each tool's or test's program, and any start-up code that calls main, in one
    (tests/tcg/aarch64/bti-crt.c.inc), while 1,500 files name `main`. None for a file at the top."""
    return _under(path.rsplit("/", 1)[0]) if "/" in path else None


def _under(directory: str) -> list[str]:
    """The C files in ``directory`` and below, as pathspecs."""
    return [f":(glob){directory}/**/{ext}" for ext in C_PATHSPECS]


def pathspecs(scope: str | list[str] | None) -> tuple[str, ...]:
    """What git grep is given for a scope: a file, pathspecs, or None for every C file."""
    return (scope,) if isinstance(scope, str) else tuple(scope or C_PATHSPECS)


def files_naming(
    repo: GitRepo, base: str, names: Iterable[str], specs: Sequence[str]
) -> dict[str, list[str]]:
    """For each plain identifier of ``names``, the files at ``base`` (of those ``specs`` match, in
    git's order) where it stands as a word, as `git grep -l -w -e NAME` lists them, from one
    `git grep -o` for them all. Names that are not plain identifiers are left out (grep alone)."""
    idents = sorted({n for n in names if _IDENTIFIER.fullmatch(n)})
    if not idents:
        return {}
    patterns = [arg for n in idents for arg in ("-e", n)]
    done = repo.git("grep", "-z", "-w", "-o", *patterns, base, "--", *specs, check=False)
    found: dict[str, list[str]] = {n: [] for n in idents}
    for row in done.stdout.split(b"\n"):
        where, sep, match = row.partition(b"\0")  # `base:path` NUL `the match` (a file's rows together)
        if not sep or b":" not in where:
            continue
        path = where.split(b":", 1)[1].decode("utf-8", "replace")
        files = found.get(match.decode("utf-8", "replace"))
        if files is not None and (not files or files[-1] != path):
            files.append(path)
    return found


def files_naming_each(
    repo: GitRepo, base: str, wanted: Sequence[tuple[str, str | list[str] | None]]
) -> dict[tuple[str, tuple[str, ...]], list[str]]:
    """files_naming for each (name, scope) of ``wanted``, by (name, pathspecs(scope)): one grep per
    set of pathspecs that several names share. A name alone, or a static function's one file, is
    left to its own `git grep -l`."""
    by_specs: dict[tuple[str, ...], set[str]] = {}
    for name, scope in wanted:
        if not isinstance(scope, str):
            by_specs.setdefault(pathspecs(scope), set()).add(name)
    return {
        (name, specs): files
        for specs, names in by_specs.items()
        if len(names) > 1
        for name, files in files_naming(repo, base, names, specs).items()
    }
