"""Real-data check: are the C functions a patch's hunks are said to change the ones it changes?

For every commit of every series in SERIES_DIR (each `<msgid>.meta` names a `base` and a `tip`;
the commits are `git rev-list base..tip`), the commit's diff against its first parent goes through
`summarize_diff` (what `patchtool` reads from the mail), and the truth is read off the whole files
before and after with tree-sitter: a function definition whose name appears on one side only is
added or removed, one whose signature (everything before its body) differs is signature-changed,
one whose body differs is body-changed; a prototype likewise (added, removed, signature-changed);
a macro is added or removed when the name's `#define` line is on one side only.

Per kind it prints what the hunks named, what the files say, the agreement, precision and
recall, and with --show N the first N disagreements on `signature-changed` (the kind that matters
most: the stale-caller and build-break findings start from it) or on the kind --kind names.

With --applied, patchtool's reading is completed from the whole files before and after each
commit, as `patchtool report --repo` does once the series is applied (parse.cwhole). The truth
reads the same files with the same reader (cwhole.entities), so that figure measures how the two
readings are merged, not the reader.

The truth leaves out, by default, names a file defines twice (an `#ifdef` / `#else` pair) and
prototypes of names the file defines (forward declarations). --truth every counts them too
(see `truth`), to measure what patchtool says of those.

Usage: python bench/cfuncs_truth.py SERIES_DIR QEMU_GIT [--applied] [--truth every] [--limit N]
           [--show N [--kind KIND]]
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.models import FunctionChange  # noqa: E402
from patchtool.parse.cfuncs import C_SUFFIXES as C_FILES  # noqa: E402
from patchtool.parse.cmoves import moved_from  # noqa: E402
from patchtool.parse.cwhole import definitions, entities, refine  # noqa: E402
from patchtool.parse.diffs import summarize_diff  # noqa: E402

KINDS = (
    "added",
    "removed",
    "signature-changed",
    "body-changed",
    "prototype-added",
    "prototype-removed",
    "macro-added",
    "macro-removed",
)
# a macro's definition: its name, read from the whole files by this line alone (no tree-sitter)
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
FAMILY = {kind: kind for kind in KINDS} | {"stub-added": "added"}  # patchtool's kind -> the truth's


def git(repo: Path, *argv: str) -> bytes:
    return subprocess.run(["git", *argv], cwd=repo, capture_output=True, check=True).stdout


def show(repo: Path, rev: str, path: str) -> bytes | None:
    done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


def truth(repo: Path, commit: str, every: bool = False) -> set[tuple[str, str, str]]:
    """(path, name, kind) the files say the commit changes.

    By default a name a file defines or declares more than once is left out, and so is a
    prototype of a name the file defines. With ``every`` (--truth every) they count: a name's
    definitions are compared as a list (one more is "added", one fewer "removed", else its
    signatures, then its bodies), and a prototype counts whether or not the file defines the
    name (a forward declaration)."""
    out: set[tuple[str, str, str]] = set()
    for path, before, after in _c_files(repo, commit):
        (od, op), (nd, np_) = _read(before, every), _read(after, every)
        for name in nd.keys() - od.keys():
            out.add((path, name, "added"))
        for name in od.keys() - nd.keys():
            out.add((path, name, "removed"))
        for name in od.keys() & nd.keys():
            old, new = od[name], nd[name]
            if len(new) != len(old):
                out.add((path, name, "added" if len(new) > len(old) else "removed"))
            elif sorted(d[0] for d in old) != sorted(d[0] for d in new):
                out.add((path, name, "signature-changed"))
            elif sorted(d[1] for d in old) != sorted(d[1] for d in new):
                out.add((path, name, "body-changed"))
        for name in np_.keys() - op.keys() - (set() if every else nd.keys()):
            out.add((path, name, "prototype-added"))
        for name in op.keys() - np_.keys() - (set() if every else od.keys()):
            out.add((path, name, "prototype-removed"))
        for name in (op.keys() & np_.keys()) - nd.keys() - od.keys():
            if sorted(op[name]) != sorted(np_[name]):
                out.add((path, name, "signature-changed"))
        macros_old, macros_new = _macros(before, every), _macros(after, every)
        out |= {(path, name, "macro-added") for name in macros_new - macros_old}
        out |= {(path, name, "macro-removed") for name in macros_old - macros_new}
    return out


def _macros(src: bytes, every: bool) -> set[str]:
    """The names a file #defines: once (``every`` False: a name defined under #ifdef and again
    under #else is left out, as definitions are), or at all."""
    names = Counter(m.decode() for m in _DEFINE.findall(src))
    return set(names) if every else {n for n, count in names.items() if count == 1}


def _read(src: bytes, every: bool) -> tuple[dict[str, list[tuple[str, bytes, int]]], dict[str, list[str]]]:
    """A file's definitions and prototypes by name: all of them, or (``every`` False) those of the
    names it defines or declares once (cwhole.entities), each as a list of one."""
    if every:
        return definitions(src)
    defs, protos = entities(src)
    return {k: [v] for k, v in defs.items()}, {k: [v] for k, v in protos.items()}


def _c_files(repo: Path, commit: str) -> list[tuple[str, bytes, bytes]]:
    """(path, before, after) of each C file the commit touches (b"" for a side it does not exist on)."""
    rows = git(
        repo, "diff-tree", "-r", "-M", "--no-commit-id", "--name-status", f"{commit}^", commit
    ).decode()
    out = []
    for row in rows.splitlines():
        parts = row.split("\t")
        status, old, new = parts[0], parts[1], parts[-1]
        if new.endswith(C_FILES):
            before = show(repo, f"{commit}^", old) if status[0] != "A" else b""
            after = show(repo, commit, new) if status[0] != "D" else b""
            out.append((new if status[0] != "D" else old, before or b"", after or b""))
    return out


def claimed(repo: Path, commit: str, applied: bool = False) -> set[tuple[str, str, str]]:
    """(path, name, kind) patchtool reads off the commit's diff; with ``applied``, completed from
    the whole files as `patchtool report --repo` does once the series is applied (parse.cwhole)."""
    diff = git(repo, "diff-tree", "-p", "-M", "--no-commit-id", f"{commit}^", commit)
    summary = summarize_diff(diff.decode("utf-8", "surrogateescape"))
    functions = summary.functions
    for change in summary.files if applied else ():
        if change.path.endswith(C_FILES) and change.status not in ("added", "removed") and not change.binary:
            before = show(repo, f"{commit}^", change.old_path or change.path)
            after = show(repo, commit, change.path)
            if before is not None and after is not None:
                functions = refine(change.path, before, after, functions)
    out: set[tuple[str, str, str]] = set()
    for c in functions:
        if c.kind in ("renamed", "prototype-renamed"):
            prefix = "prototype-" if c.kind == "prototype-renamed" else ""
            out.add((c.file, c.name, prefix + "added"))
            out.add((c.file, c.detail.removeprefix("renamed from "), prefix + "removed"))
        elif (source := moved_from(c)) is not None:  # a move between files: gone there, new here
            prefix = "prototype-" if c.kind == "prototype-moved" or _is_prototype(c) else ""
            prefix = "macro-" if c.kind == "macro-moved" else prefix
            if c.kind in ("moved", "prototype-moved", "macro-moved", "signature-changed"):
                out.add((c.file, c.name, prefix + "added"))
                out.add((source, c.name, prefix + "removed"))
        elif c.kind in FAMILY:
            out.add((c.file, c.name, FAMILY[c.kind]))
    return out


def _is_prototype(c: FunctionChange) -> bool:
    """Whether a signature-changed move between files is a prototype's (its detail says so)."""
    return c.kind == "signature-changed" and "; prototype moved from " in c.detail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("series_dir", type=Path)
    ap.add_argument("qemu_git", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="only the first N series (by name)")
    ap.add_argument("--show", type=int, default=0, help="print the first N disagreements")
    ap.add_argument("--kind", default="signature-changed", choices=KINDS, help="what --show prints")
    ap.add_argument("--applied", action="store_true", help="complete the hunks' reading from the whole files")
    ap.add_argument(
        "--truth",
        choices=("unique", "every"),
        default="unique",
        help="unique: names defined or declared once (as before); every: all of them (see truth)",
    )
    args = ap.parse_args()
    metas = sorted(args.series_dir.glob("*.meta"))[: args.limit or None]
    if not metas:
        ap.error(f"{args.series_dir}: no <msgid>.meta files")
    said: Counter[str] = Counter()
    true: Counter[str] = Counter()
    both: Counter[str] = Counter()
    shown = commits = 0
    for meta in metas:
        fields = dict(line.split(None, 1) for line in meta.read_text().splitlines() if " " in line)
        revs = git(
            args.qemu_git, "rev-list", "--reverse", "--no-merges", f"{fields['base']}..{fields['tip']}"
        )
        for commit in revs.decode().split():
            commits += 1
            t = truth(args.qemu_git, commit, every=args.truth == "every")
            c = claimed(args.qemu_git, commit, args.applied)
            for _, _, kind in t:
                true[kind] += 1
            for _, _, kind in c:
                said[kind] += 1
            for _, _, kind in t & c:
                both[kind] += 1
            for path, name, kind in sorted(t ^ c):
                if shown < args.show and kind == args.kind:
                    side = "said only" if (path, name, kind) in c else "truth only"
                    print(f"  {commit[:10]} {side:10} {kind:18} {path} {name}")
                    shown += 1
    print(f"{len(metas)} series, {commits} commits")
    print(f"{'kind':20} {'said':>6} {'true':>6} {'both':>6} {'precision':>9} {'recall':>7}")
    for kind in KINDS:
        p = both[kind] / said[kind] if said[kind] else float("nan")
        r = both[kind] / true[kind] if true[kind] else float("nan")
        print(f"{kind:20} {said[kind]:6} {true[kind]:6} {both[kind]:6} {p:9.3f} {r:7.3f}")


if __name__ == "__main__":
    main()
