"""Review checks that read C code and the tree: missing stubs, stale callers, the tree's checkpatch.pl."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from patchtool import proc
from patchtool.difflines import DiffLine, FileDiff, join_statements, parse_diff
from patchtool.gitrepo import GitRepo
from patchtool.models import Finding, Patch, Revision

_NOT_TYPES = {"return", "if", "while", "for", "switch", "else", "case", "goto", "sizeof", "do", "typedef"}
_DECL = re.compile(
    r"^(?P<ret>(?:[A-Za-z_]\w*\s+|[A-Za-z_]\w*\s*\*+\s*)+?)\s*(?P<name>[A-Za-z_]\w*)\s*"
    r"\((?P<args>[^()]*(?:\([^()]*\)[^()]*)*)\)\s*(?P<end>[;{])?$"
)
_CHECKPATCH_MSG = re.compile(r"^(?P<sev>ERROR|WARNING|CHECK):\s*(?P<msg>.+)$")
_CHECKPATCH_WHERE = re.compile(r"^#\d+:\s*FILE:\s*(?P<file>[^:]+):(?P<line>\d+):")


@dataclass(frozen=True)
class Decl:
    """A C function declaration or definition head found in a diff."""

    name: str
    ret: str
    args: str
    is_definition: bool
    line: DiffLine

    @property
    def signature(self) -> str:
        return f"{self.ret} {self.name}({self.args})"

    @property
    def static(self) -> bool:
        return "static" in self.ret.split()


def parse_decl(statement: str, first: DiffLine) -> Decl | None:
    m = _DECL.match(statement.strip())
    if not m:
        return None
    ret = " ".join(m.group("ret").replace("*", " * ").split()).replace(" *", "*").replace("* ", "*")
    if ret.split()[0] in _NOT_TYPES or "=" in ret:
        return None
    args = " ".join(m.group("args").split())
    return Decl(m.group("name"), ret.strip(), args, m.group("end") != ";", first)


def decls(lines: tuple[DiffLine, ...]) -> list[Decl]:
    return [d for text, first in join_statements(lines) if (d := parse_decl(text, first))]


def parse_stub_map(spec: str) -> dict[str, str]:
    """`header=stubs,header2=stubs2` (Settings["stubs"]) into a dict; malformed pairs are ignored."""
    pairs = (p.split("=", 1) for p in spec.split(",") if "=" in p)
    return {h.strip(): s.strip() for h, s in pairs if h.strip() and s.strip()}


# ---- stubs -----------------------------------------------------------------------------------


def _grep_has(repo: GitRepo | None, base: str | None, name: str, path: str) -> bool:
    if repo is None or base is None:
        return False
    done = repo.git("grep", "-q", "-w", "-e", name, base, "--", path, check=False)
    return done.ok


def check_stubs(
    rev: Revision, stub_map: dict[str, str], repo: GitRepo | None, base: str | None
) -> list[Finding]:
    """A prototype added to a mapped header, defined in code, needs a stub in the mapped stubs file."""
    files = [(p, f) for p in rev.patches for f in parse_diff(p.diff)]
    defined = {d.name for _, f in files if f.path.endswith(".c") for d in decls(f.added) if d.is_definition}
    found: list[Finding] = []
    for header, stubs in stub_map.items():
        stubbed = {d.name for _, f in files if f.path == stubs for d in decls(f.added) if d.is_definition}
        for patch, f in files:
            if f.path != header:
                continue
            for d in decls(f.added):
                if d.is_definition or d.static or "inline" in d.ret.split():
                    continue
                in_code = d.name in defined - stubbed or _grep_has(repo, base, d.name, ":!" + stubs)
                if not in_code or d.name in stubbed or _grep_has(repo, base, d.name, stubs):
                    continue
                found.append(
                    _f(
                        "error",
                        "missing-stub",
                        f"{d.name}() is declared in {header} but {stubs} gets no stub "
                        "(builds without the accelerator will fail to link)",
                        patch,
                        file=header,
                        line=d.line.new_no,
                    )
                )
    return found


# ---- signature changes -----------------------------------------------------------------------


def signature_changes(f: FileDiff) -> list[tuple[Decl, Decl]]:
    """(old, new) pairs for functions whose head is removed and re-added in another form."""
    old = {d.name: d for d in decls(f.removed)}
    pairs = []
    for new in decls(f.added):
        before = old.get(new.name)
        if before and before.is_definition == new.is_definition and before.signature != new.signature:
            pairs.append((before, new))
    return pairs


def _callers(repo: GitRepo, base: str, name: str, path: str | None) -> list[tuple[str, int, str]]:
    args = ["grep", "-n", "-w", "-e", name, base, "--"]
    done = repo.git(*args, *([path] if path else []), check=False)
    hits = []
    for row in done.text().splitlines():
        parts = row.split(":", 3)  # base:path:line:text
        if len(parts) == 4 and parts[2].isdigit():
            hits.append((parts[1], int(parts[2]), parts[3]))
    return hits


def check_stale_callers(rev: Revision, repo: GitRepo, base: str) -> list[Finding]:
    """A function whose signature changes while callers at the base are left in the old form."""
    removed_text: dict[str, set[str]] = {}
    for p in rev.patches:
        for f in parse_diff(p.diff):
            removed_text.setdefault(f.old_path, set()).update(x.text.strip() for x in f.removed)
    found: list[Finding] = []
    for p in rev.patches:
        for f in parse_diff(p.diff):
            for old, new in signature_changes(f):
                found += _stale(p, f, old, new, repo, base, removed_text)
    return found


def _stale(
    patch: Patch, f: FileDiff, old: Decl, new: Decl, repo: GitRepo, base: str, removed: dict[str, set[str]]
) -> list[Finding]:
    args_changed = old.args != new.args
    found = []
    for path, line, text in _callers(repo, base, old.name, f.old_path if old.static else None):
        stmt = text.strip()
        if stmt in removed.get(path, set()) or parse_decl(
            stmt.rstrip("{").strip(), DiffLine(" ", "", line, line)
        ):
            continue  # updated by the series, or a declaration rather than a call
        if not re.search(rf"\b{re.escape(old.name)}\s*\(", stmt):
            continue  # a mention (comment, function pointer) rather than a call
        found.append(
            _f(
                "warning" if args_changed else "info",
                "stale-caller",
                f"{old.name}() changes from `{old.signature}` to `{new.signature}` but this caller "
                "is not updated by the series",
                patch,
                file=path,
                line=line,
            )
        )
    return found


# ---- checkpatch ------------------------------------------------------------------------------


def patch_mail(patch: Patch) -> str:
    """The patch as a format-patch mail, for checkpatch.pl."""
    return (
        f"From: {patch.author}\nSubject: [PATCH {patch.index}/{patch.total}] {patch.title}\n\n"
        f"{patch.message.rstrip()}\n---\n{patch.diff.rstrip()}\n-- \n"
    )


def parse_checkpatch(output: str, patch: Patch) -> list[Finding]:
    """QEMU/Linux checkpatch output: `ERROR: msg` then `#N: FILE: path:line:` into findings."""
    found: list[Finding] = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        m = _CHECKPATCH_MSG.match(line.strip())
        if not m:
            continue
        where = _CHECKPATCH_WHERE.match(lines[i + 1].strip()) if i + 1 < len(lines) else None
        sev = "error" if m.group("sev") == "ERROR" else "warning"
        found.append(
            _f(
                sev,
                "checkpatch",
                f"checkpatch: {m.group('msg').strip()}",
                patch,
                file=where.group("file") if where else None,
                line=int(where.group("line")) if where else None,
            )
        )
    return found


def run_checkpatch(rev: Revision, repo: GitRepo, base: str, tree: Path | None) -> tuple[bool, list[Finding]]:
    """Run the base tree's scripts/checkpatch.pl on each patch; (ran, findings)."""
    script = repo.git("show", f"{base}:scripts/checkpatch.pl", check=False)
    if not script.ok:
        return False, []
    if shutil.which("perl") is None:
        return False, [_f("info", "checkpatch", "scripts/checkpatch.pl not run: perl is not installed", None)]
    found: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="patchtool-checkpatch-") as tmp:
        path = Path(tmp) / "checkpatch.pl"
        path.write_bytes(script.stdout)
        for patch in rev.patches:
            mail = Path(tmp) / f"{patch.index:04d}.patch"
            mail.write_text(patch_mail(patch), encoding="utf-8")
            done = proc.run(["perl", str(path), str(mail)], cwd=tree or repo.path, timeout=120)
            if done.timed_out:
                found.append(_f("warning", "checkpatch", "checkpatch: timed out", patch))
                continue
            found += parse_checkpatch(done.text(), patch)
    return True, found


def _f(severity: str, code: str, message: str, patch: Patch | None, **kw: object) -> Finding:
    label = f"{patch.index}/{patch.total}" if patch else None
    return Finding(severity, code, message, label, msgid=patch.msgid if patch else None, **kw)  # type: ignore[arg-type]
