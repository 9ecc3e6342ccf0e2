"""Which C files QEMU compiles only with an accelerator, read off the base tree's meson.build and
Kconfig files, and who calls a function.

A function declared in an accelerator's header needs a stub only where a build without that
accelerator links a call to it. QEMU lists a file built only with KVM under a source set of its
own (`kvm_ss.add(files('kvm-all.c'))`), under `when: 'CONFIG_KVM', if_true: files(...)`, or under a
config whose Kconfig entry depends on KVM (`config SEV ... depends on KVM && X86_64`).
"""

from __future__ import annotations

import posixpath
import re

from patchtool.models import Revision
from patchtool.parse.difftext import split_files
from patchtool.review.callers import calling_files
from patchtool.vcs.repo import GitRepo

_CONFIG = re.compile(r"CONFIG_(\w+)")


def accelerator_of(stubs: str) -> str:
    """`accel/stubs/kvm-stub.c` -> `kvm`: the accelerator a stubs file stands in for."""
    return posixpath.basename(stubs).split("-stub", 1)[0].split(".", 1)[0].lower()


def callers(repo: GitRepo, base: str, rev: Revision, name: str) -> set[str]:
    """The C files that call `name`: at the base (a call, not a mention), or on a line the series
    adds (indented: a definition or prototype starts at column 0)."""
    found = calling_files(repo, base, name, ["*.c", "*.c.inc"])
    call = re.compile(rf"\b{re.escape(name)}\s*\(")
    for patch in rev.patches:
        for f in split_files(patch.diff):
            source = bool(f.new_path) and f.path.endswith((".c", ".c.inc"))
            if source and any(x.text[:1].isspace() and call.search(x.text) for x in f.added):
                found.add(f.path)
    return found


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
