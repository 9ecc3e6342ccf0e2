"""Which C files QEMU compiles only with an accelerator, read off the base tree's meson.build and
Kconfig files, and who calls a function.

A function declared in an accelerator's header needs a stub only where a build without that
accelerator links a call to it. QEMU lists a file built only with KVM under a source set of its
own (`kvm_ss.add(files('kvm-all.c'))`), under `when: 'CONFIG_KVM', if_true: files(...)`, or under a
config whose Kconfig entry depends on KVM (`config SEV ... depends on KVM && X86_64`). A call
inside `#ifdef CONFIG_KVM` (or `#if defined(CONFIG_KVM) && ...`) is not compiled without it either.
"""

from __future__ import annotations

import posixpath
import re

from patchtool.models import Revision
from patchtool.parse.difftext import split_files
from patchtool.review.callers import call_rows
from patchtool.vcs.repo import GitRepo

_CONFIG = re.compile(r"CONFIG_(\w+)")


def accelerator_of(stubs: str) -> str:
    """`accel/stubs/kvm-stub.c` -> `kvm`: the accelerator a stubs file stands in for."""
    return posixpath.basename(stubs).split("-stub", 1)[0].split(".", 1)[0].lower()


def callers(repo: GitRepo, base: str, rev: Revision, name: str, accel: str = "") -> tuple[set[str], bool]:
    """The C files that call `name`: at the base (a call, not a mention), or on a line the series
    adds (indented: a definition or prototype starts at column 0); with `accel`, not counting
    calls compiled only with that accelerator (`#ifdef CONFIG_KVM`; in an added hunk, only a
    condition the hunk itself shows). Also whether any call was left out so."""
    symbol = f"CONFIG_{accel.upper()}" if accel else ""
    call = re.compile(rf"\b{re.escape(name)}\s*\(")
    found: set[str] = set()
    left_out = False

    def weigh(path: str, rows: list[str], sites: list[int]) -> None:
        nonlocal left_out
        if any(not (symbol and guarded(rows, i, symbol)) for i in sites):
            found.add(path)
        elif sites:
            left_out = True

    for path, (rows, sites) in call_rows(repo, base, name, ["*.c", "*.c.inc"]).items():
        weigh(path, rows, sites)
    for patch in rev.patches:
        for f in split_files(patch.diff):
            if not (f.new_path and f.path.endswith((".c", ".c.inc"))):
                continue
            for hunk in f.hunk_texts:
                lines = [x for x in hunk.lines if x.kind != "-"]
                added = [i for i, x in enumerate(lines) if x.kind == "+" and x.text[:1].isspace()]
                weigh(f.path, [x.text for x in lines], [i for i in added if call.search(lines[i].text)])
    return found, left_out


_COND = re.compile(r"^\s*#\s*(ifdef|ifndef|if|elif|else|endif)\b(.*)$")


def guarded(rows: list[str], index: int, symbol: str) -> bool:
    """Whether row ``index`` is inside a preprocessor branch taken only when ``symbol`` is defined
    (as far as ``rows`` show: a condition opened before them is not seen)."""
    stack: list[bool] = []
    for row in rows[:index]:
        m = _COND.match(row)
        if m is None:
            continue
        word, cond = m.group(1), re.sub(r"/\*.*?\*/|//.*", "", m.group(2)).strip()
        if word in ("if", "ifdef", "ifndef"):
            stack.append(word != "ifndef" and _requires(word, cond, symbol))
        elif stack and word in ("elif", "else"):
            stack[-1] = False  # another branch of it
        elif stack and word == "endif":
            stack.pop()
    return any(stack)


def _requires(word: str, cond: str, symbol: str) -> bool:
    if word == "ifdef":
        return cond == symbol
    if "||" in cond:
        return False
    for term in cond.split("&&"):
        t = re.sub(r"\s+", "", term)
        while t.startswith("(") and t.endswith(")") and t[1:-1].count("(") == t[1:-1].count(")"):
            t = t[1:-1]  # `(defined(CONFIG_KVM))`
        if t in (symbol, f"defined({symbol})", f"defined{symbol}"):
            return True
    return False


def built_only_with(repo: GitRepo, base: str, path: str, accel: str) -> bool:
    """Whether every meson.build line that lists `path` (in its own directory) builds it only with
    the accelerator; False when none lists it there."""
    directory, name = posixpath.split(path)
    shown = repo.git("show", f"{base}:{posixpath.join(directory, 'meson.build')}", check=False)
    if not shown.ok:
        return False
    text = shown.text()
    listed = [m.start() for m in re.finditer(rf"'{re.escape(name)}'", text)]
    return bool(listed) and all(_listed_only_with(repo, base, text, at, accel) for at in listed)


def _listed_only_with(repo: GitRepo, base: str, text: str, at: int, accel: str) -> bool:
    add = text.rfind(".add", 0, at)
    if add < 0:
        return False
    statement = text[text.rfind("\n", 0, add) + 1 : at]
    if statement.rfind("if_false") > statement.rfind("if_true"):
        return False  # built only *without* it (`if_false: files('kvm-stub.c')`)
    if accel in statement.split("(", 1)[0].lower():
        return True  # a source set of its own: `kvm_ss.add(files(...))`
    return any(
        symbol.lower() == accel or _depends_on(repo, base, symbol, accel.upper())
        for symbol in _CONFIG.findall(statement)
    )


def _depends_on(repo: GitRepo, base: str, symbol: str, accel: str) -> bool:
    """Whether a Kconfig symbol's `depends on` has the accelerator as one of its `&&` terms."""
    done = repo.git("grep", "-h", "-A8", "-e", f"^config {symbol}$", base, "--", "*Kconfig*", check=False)
    for line in done.text().splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("config ") or stripped == "--":
            break
        if stripped.startswith("depends on"):
            terms = [t.strip() for t in stripped.removeprefix("depends on").split("&&")]
            if accel in terms:
                return True
    return False
