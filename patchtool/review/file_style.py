"""checkpatch's rules against a file's own style.

Some files in QEMU's tree do not follow QEMU's coding style and are not meant to: code imported
from elsewhere (binutils' disassemblers, with tabs and `name (args)`), generated tables (a syscall
list with spaces inside every bracket), headers with a form of their own (an annotation macro
before every function pointer member). A line a patch adds there in the file's style is what the
maintainer merges; checkpatch calls each one an error. On the judged real series this was tuned
on, every such error was false, and every error on a file that breaks the rule only here and
there (tabs on 1.6 % of linux-user/syscall.c's lines, say) was true. A form that is local to one
part of a large file (55 `UNUSED static` prototypes in linux-user/strace.c, 1.2 % of its lines)
is not counted as the file's style: by count and by nearness it looks like syscall.c's tabs (that
form is a note for another reason: checkpatch reads the attribute macro as a type, tree_checks).

So, for each file a patch modifies that checkpatch finds an error in, the base version of that file
is given to the same checkpatch.pl (`-f`): when it already breaks the same rule on at least
``MIN_LINES`` lines and at least ``MIN_SHARE`` of its lines, the error is a note that says so.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath

from patchtool import proc
from patchtool.models import Finding
from patchtool.vcs.repo import GitRepo

MIN_LINES = 10
MIN_SHARE = 0.05
_ERROR = re.compile(r"^ERROR:\s*(.+)$", re.MULTILINE)
_COUNT_SUFFIX = re.compile(r" \(\d+ times.*\)$")


def rule_of(message: str) -> str:
    """The rule a checkpatch message names, without what it quotes or counts:
    "space required before the open parenthesis '('" and "... '{'" are one rule."""
    text = message.removeprefix("checkpatch: ")
    text = _COUNT_SUFFIX.sub("", text)
    text = re.sub(r"'[^']*'", "'_'", text)
    text = re.sub(r"\(ctx:\w+\)", "", text)
    return re.sub(r"\d+", "N", text).strip()


def _safe(path: str) -> PurePosixPath | None:
    rel = PurePosixPath(path)
    if rel.is_absolute() or not rel.parts or any(part in ("", ".", "..") for part in rel.parts):
        return None
    if rel.parts[0].startswith("-"):
        return None  # it would reach checkpatch's command line as an option
    return rel


def base_rule_counts(
    repo: GitRepo, base: str, path: str, script: Path, workdir: Path
) -> tuple[Counter[str], int] | None:
    """checkpatch's errors on the base version of ``path`` by rule, and its number of lines
    (None when the file is not in the base tree, or checkpatch cannot read it)."""
    rel = _safe(path)
    if rel is None:
        return None
    blob = repo.git("show", f"{base}:{rel.as_posix()}", check=False)
    if not blob.ok:
        return None
    target = workdir.joinpath(*rel.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(blob.stdout)
    try:
        done = proc.run(["perl", str(script), "--no-tree", "-f", rel.as_posix()], cwd=workdir, timeout=60)
    finally:
        target.unlink()
    if done.timed_out:
        return None
    return Counter(rule_of(m) for m in _ERROR.findall(done.text())), blob.stdout.count(b"\n")


Counts = dict[str, tuple[Counter[str], int] | None]


def weigh_by_file_style(
    found: list[Finding], repo: GitRepo, base: str, script: Path, workdir: Path, counts: Counts
) -> list[Finding]:
    """Make a note of each checkpatch error that follows the style of the file it is in
    (``counts``: the base files' counts so far, by path, filled as files are read)."""
    out = []
    for f in found:
        if f.severity == "error" and f.file:
            if f.file not in counts:
                counts[f.file] = base_rule_counts(repo, base, f.file, script, workdir)
            seen = counts[f.file]
            if seen is not None:
                times, lines = seen[0][rule_of(f.message)], seen[1]
                if times >= MIN_LINES and times >= MIN_SHARE * lines:
                    note = f"the file's own style: it breaks this rule on {times} of its {lines} lines"
                    f = replace(f, severity="info", message=f"{f.message}; {note}")
        out.append(f)
    return out
