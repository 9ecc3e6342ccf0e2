"""Names a backported hunk takes from its function upstream that the function lacks on the target.

A hunk can apply cleanly inside a function whose parameters or locals differ on the older branch:
upstream's `error_setg(errp, ...)` lands in a function that takes no `errp` there (QEMU's
stable-1.7 had `qcow2_snapshot_load_tmp(bs, snapshot_name)`, and its maintainer wrote
`error_report(...)` instead). The missing-identifier check (backcheck) cannot see it: `errp` is
everywhere in the tree. So each name the added lines use inside a function is looked up in that
function: one the function declares upstream (a parameter or a local) that it neither declares
nor mentions on the target, outside the patch's own lines, is reported with both signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from patchtool.apply.backcheck import CODE, _nodes, added_lines, declared_name, defined_names
from patchtool.models import Finding
from patchtool.parse.cparser import parser
from patchtool.vcs.repo import GitRepo

_DECLARES = ("parameter_declaration", "declaration")


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "surrogateescape") if node is not None and node.text else ""


def definitions(root: Any) -> Iterator[tuple[str, Any]]:
    """(name, node) of each function definition, inside `#if` blocks too."""
    for node in _nodes(root):
        if node.type == "function_definition":
            name = declared_name(node.child_by_field_name("declarator"))
            if name:
                yield name, node


def _declared(function: Any) -> dict[str, str]:
    """The names a function declares, parameters and locals, each with what declares it."""
    names: dict[str, str] = {}
    for node in _nodes(function):
        if node.type in _DECLARES:
            kind = "a parameter" if node.type == "parameter_declaration" else "a local"
            for decl in node.children_by_field_name("declarator"):
                name = declared_name(decl)
                if name and name not in names:
                    names[name] = kind
    return names


def _signature(function: Any) -> str:
    start = function.start_byte
    body = function.child_by_field_name("body")
    head = function.text[: (body.start_byte - start) if body is not None else None]
    return " ".join(head.decode("utf-8", "surrogateescape").split())


def own_diff(repo: GitRepo, commit: str) -> str:
    """What a commit changes against its parent, with no context (-U0): the backport's own lines."""
    return repo.git("diff", "--no-renames", "--no-ext-diff", "-U0", f"{commit}^", commit, "--").text()


def file_at(repo: GitRepo, rev: str, path: str) -> bytes | None:
    """The file's bytes at `rev` (None when it has no such file)."""
    shown = repo.git("show", f"{rev}:{path}", check=False)
    return shown.stdout if shown.ok else None


def _parse(repo: GitRepo, commit: str, path: str) -> Any | None:
    source = file_at(repo, commit, path)
    return parser().parse(source).root_node if source is not None else None


def out_of_scope(
    repo: GitRepo,
    commit: str,
    source_base: str,
    onto: str,
    patch: str | None,
    base_path: Callable[[str], str],
    made: str | None = None,
) -> list[Finding]:
    """Warnings for names the patch's added lines (``commit`` against its parent) take from their
    function as it is at ``source_base`` that the function lacks where the patch landed."""
    diff = own_diff(repo, commit) if made is None else made
    # what the patch's removed lines declared (a local it drops for the global of the same name,
    # stable-2.2's bdrv_qcow2): the upstream function lost it too, so the use is not of it
    dropped = defined_names(
        repo.git("diff", "--no-renames", "--no-ext-diff", "-U0", commit, f"{commit}^", "--").text()
    )
    found: list[Finding] = []
    for path, lines in added_lines(diff).items():
        rows = {n - 1 for n, _ in lines}
        here = _parse(repo, commit, path)
        if here is None:
            continue
        upstream: dict[str, Any] | None = None
        for name, function in definitions(here):
            start, end = function.start_point[0], function.end_point[0]
            touched = {r for r in rows if start <= r <= end}
            if not touched:
                continue
            declared = _declared(function)
            names = [(_text(n), n.start_point[0]) for n in _nodes(function) if n.type == "identifier"]
            mentioned = {u for u, r in names if r not in touched}
            used = {(u, r) for u, r in names if r in touched}
            alien = {(u, r) for u, r in used if u not in declared and u not in mentioned}
            if not alien:
                continue
            if upstream is None:
                root = _parse(repo, source_base, base_path(path))
                upstream = dict(definitions(root)) if root is not None else {}
            before = upstream.get(name)
            theirs = _declared(before) if before is not None else {}
            for use, row in sorted(alien, key=lambda x: x[1]):
                if use in theirs and use not in dropped and before is not None:
                    message = (
                        f"identifier {use} is {theirs[use]} of {name} upstream, not on {onto}"
                        f" (there: {_signature(function)}; upstream: {_signature(before)})"
                    )
                    found.append(Finding("warning", CODE, message, patch=patch, file=path, line=row + 1))
                    theirs = {k: v for k, v in theirs.items() if k != use}  # once per name
    return found
