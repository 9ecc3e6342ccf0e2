"""What a failed configure or build says: compiler, linker and meson diagnostics, and the headline.

The headline of a failed build is its first real diagnostic (a compiler error, a linker error such
as `undefined reference`, a meson error), with file:line where the tool gave one; never a ninja
progress line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from patchtool.errors import EnvironmentProblem
from patchtool.jsonable import record

_DIAG = re.compile(
    r"^(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*"
    r"(?P<sev>fatal error|error|warning|ERROR):\s*(?P<msg>.*)$"
)
# GNU ld with debug info: `/usr/bin/ld: ../util/rcu.c:42: undefined reference to `foo'`; some
# versions put the section between: `../util/rcu.c:42:(.text+0x1a): undefined reference to ...`.
_LINK = re.compile(
    r"^(?:\S*ld(?:\.\w+)?: )?(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:\([^)]*\):)? (?P<msg>.*)$"
)
_LINKER_WORDS = ("undefined reference to", "multiple definition of", "cannot find -l", "ld: cannot find")
_STATUS = re.compile(r"^\[\d+/\d+\] ")


@record
class Diagnostic:
    """One compiler, linker or meson message: where it points and what it says."""

    file: str
    line: int
    column: int | None
    severity: str  # "error", "fatal error" or "warning"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.severity}: {self.message}"


def _relative_file(name: str, build_dir: Path, source_dir: Path) -> str:
    path = Path(os.path.normpath(build_dir / name))
    try:
        return path.relative_to(source_dir.resolve()).as_posix()
    except ValueError:
        return name


def _diagnostic(line: str, build_dir: Path, source_dir: Path) -> Diagnostic | None:
    match = _DIAG.match(line)
    if match:
        severity = "error" if match["sev"] == "ERROR" else match["sev"]
        column = int(match["col"]) if match["col"] else None
        message = match["msg"].strip()
    else:
        match = _LINK.match(line)
        if not match or not any(word in match["msg"] for word in _LINKER_WORDS):
            return None
        severity, column, message = "error", None, match["msg"].strip()
    file = _relative_file(match["file"], build_dir, source_dir)
    return Diagnostic(file, int(match["line"]), column, severity, message)


def parse_diagnostics(lines: Sequence[str], build_dir: Path, source_dir: Path) -> tuple[Diagnostic, ...]:
    """Compiler, linker and meson messages in `file:line[:col]: severity: message` form, deduplicated."""
    seen: dict[tuple[str, int, int | None, str, str], Diagnostic] = {}
    for line in lines:
        diag = _diagnostic(line, build_dir, source_dir)
        if diag is not None:
            seen.setdefault((diag.file, diag.line, diag.column, diag.severity, diag.message), diag)
    return tuple(seen.values())


def _tool_line(lines: Sequence[str]) -> str | None:
    """A linker or meson error without file:line (no debug info, a missing library)."""
    for line in lines:
        if _STATUS.match(line) or line.startswith(("FAILED", "ninja:")):
            continue
        if any(word in line for word in _LINKER_WORDS) or line.startswith("ERROR:"):
            return re.sub(r"^\S*ld(?:\.\w+)?: ", "", line.strip())
    return None


def first_error(diagnostics: Sequence[Diagnostic], lines: Sequence[str]) -> str:
    """The headline of a failed build: its first real diagnostic, never a progress line."""
    for diag in diagnostics:
        if diag.severity != "warning":
            return str(diag)
    tool = _tool_line(lines)
    if tool is not None:
        return tool
    for line in lines:
        low = line.lower()
        if "error" in low and not _STATUS.match(line) and not line.startswith(("FAILED", "ninja:")):
            return line.strip()
    failed = [ln for ln in lines if ln.startswith("FAILED")]
    return failed[0] if failed else (lines[-1] if lines else "build failed")


_DOWNLOAD_FAILED = re.compile(
    r"Git command failed|unable to access|[Cc]ould not resolve host|Failed to connect"
)


def configure_problem(source_dir: Path, lines: Sequence[str], log_path: Path) -> EnvironmentProblem:
    """Turn a failed configure's output into an environment error whose hint names what is missing."""
    text = "\n".join(lines)
    compiler = re.search(r"Unknown compiler\(s\): \[\['([^']*)'", text)
    if compiler or re.search(r"[Nn]o (working )?C compiler", text):
        name = compiler.group(1) if compiler else os.environ.get("CC", "cc")
        return EnvironmentProblem(
            f"configure of {source_dir} failed: C compiler {name} not found",
            hint="install a C compiler (gcc or clang) or point CC at one",
        )
    dep = re.search(r"""Dependency "?([\w.+-]+)"? not found""", text) or re.search(
        r"Program '?([\w.+-]+)'? not found", text
    )
    if dep:
        return EnvironmentProblem(
            f"configure of {source_dir} failed: build dependency {dep.group(1)} not found",
            hint=f"install {dep.group(1)} (or its development package) and rerun",
        )
    fetched = re.search(r"Subproject (\S+) is buildable: NO", text)
    if fetched and _DOWNLOAD_FAILED.search(text):
        # offline, a subproject meson would download (QEMU's dtc, keycodemapdb, berkeley-softfloat-3)
        name = fetched.group(1)
        return EnvironmentProblem(
            f"configure of {source_dir} failed: subproject {name} is not in subprojects/ and could not "
            "be downloaded",
            hint=f"put a checkout of it in subprojects/{name} (the revision its .wrap names), or configure "
            "without it (QEMU: --configure '--disable-download ...'); see the full log in " + str(log_path),
        )
    errors = [ln for ln in lines if "ERROR" in ln or "error" in ln.lower()]
    reason = (errors[0] if errors else (lines[-1] if lines else "no output")).strip()
    return EnvironmentProblem(
        f"configure of {source_dir} failed: {reason}", hint=f"see the full log in {log_path}"
    )
