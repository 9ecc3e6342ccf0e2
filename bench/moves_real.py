"""Real-data check of code moved between files: what the diff reading says against the whole files.

Usage: python bench/moves_real.py QEMU_GIT [--seed S] [--count N] [--rev HEAD] [--since 2023-01-01]
           [--show]

A random sample of N non-merge commits of QEMU_GIT (since --since, shuffled with --seed) is read as
`patchtool` reads a patch (its diff through `summarize_diff`). For each commit:

- **moves**: the names moved between files (`moved`, `prototype-moved`, `macro-moved`,
  `struct-moved`, or `signature-changed` "moved from FILE") are counted by kind;
- **word for word**: each function moved (between files or within one), and each macro and struct
  moved between files, whose detail says "unchanged", "unchanged but for spacing" or "changed" (or
  nothing) is checked against the whole files before and after (a function through
  parse.cwhole.definitions, its signature and body; a macro's `#define` and continued lines and a
  struct's braces read off the text; one of that name on each side), and the table says how often
  the two agree;
- **callers**: each commit that changes a moved function's signature, or makes a function static
  (in place or moved into another .c file), goes through the caller checks at its parent
  (review.callers.check_callers and check_definition_left_behind). The commits were merged, and
  built, so a stale-caller or build-break finding there is most likely false: --show prints each.

Figures from it are only as held-out as the seed: tune on one seed, report on another.
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.fetch.local import read_local  # noqa: E402
from patchtool.models import FunctionChange  # noqa: E402
from patchtool.parse.cmoves import moved_from  # noqa: E402
from patchtool.parse.cwhole import definitions  # noqa: E402
from patchtool.parse.series import build_series  # noqa: E402
from patchtool.review.callers import check_callers  # noqa: E402
from patchtool.review.definitions import check_definition_left_behind, made_static  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402

_WORDED = ("moved", "macro-moved", "struct-moved")  # the moves whose words are checked
_LARGEST = 400_000  # bytes of diff: larger commits (mass renames, imports) are left out


def git(repo: str, *argv: str) -> bytes:
    return subprocess.run(["git", "-C", repo, *argv], capture_output=True, check=False).stdout


def said_of(c: FunctionChange) -> str:
    """What a move's detail says of its text ("" when it says nothing)."""
    for said in ("unchanged but for spacing", "unchanged", "changed"):
        if c.detail.endswith(", " + said):
            return said
    return ""


def _text_of(src: bytes, name: str, kind: str) -> list[bytes] | None:
    """A macro's or a struct's lines in a whole file, read without the parser: the `#define` line
    and its continued lines, or `struct NAME {` to the `}` that closes it (None unless the file
    has exactly one)."""
    rows = src.split(b"\n")
    head = rb"^\s*#\s*define\s+" if kind == "macro-moved" else rb"^\s*(?:typedef\s+)?struct\s+"
    starts = [i for i, r in enumerate(rows) if re.match(head + re.escape(name.encode()) + rb"\b", r)]
    if len(starts) != 1:
        return None
    out, depth, opened = [], 0, False
    for row in rows[starts[0] :]:
        out.append(row.rstrip())
        if kind == "macro-moved":
            if not row.rstrip().endswith(b"\\"):
                return out
            continue
        code = re.sub(rb'"(?:\\.|[^"\\])*"|//.*|/\*.*?\*/', b"", row)
        depth += code.count(b"{") - code.count(b"}")
        opened = opened or b"{" in code
        if opened and depth <= 0:
            return out
    return None


def _word(before: list[bytes], after: list[bytes]) -> str:
    if before == after:
        return "unchanged"
    return (
        "unchanged but for spacing"
        if b"".join(b"".join(before).split()) == b"".join(b"".join(after).split())
        else "changed"
    )


def truth_of(repo: str, commit: str, c: FunctionChange) -> str | None:
    """The whole files' word: "unchanged", "unchanged but for spacing" or "changed" (None when a
    side does not define the name exactly once)."""
    old_file = moved_from(c) or c.file
    before = subprocess.run(["git", "-C", repo, "show", f"{commit}^:{old_file}"], capture_output=True)
    after = subprocess.run(["git", "-C", repo, "show", f"{commit}:{c.file}"], capture_output=True)
    if before.returncode or after.returncode:
        return None
    if c.kind in ("macro-moved", "struct-moved"):
        was, now = _text_of(before.stdout, c.name, c.kind), _text_of(after.stdout, c.name, c.kind)
        return _word(was, now) if was is not None and now is not None else None
    old, new = definitions(before.stdout)[0].get(c.name), definitions(after.stdout)[0].get(c.name)
    if not old or not new or len(old) != 1 or len(new) != 1:
        return None
    (sig_old, body_old, _), (sig_new, body_new, _) = old[0], new[0]
    if body_old == body_new and sig_old == sig_new:
        return "unchanged"
    if b"".join((sig_old.encode() + body_old).split()) == b"".join((sig_new.encode() + body_new).split()):
        return "unchanged but for spacing"
    return "changed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--since", default="2023-01-01")
    ap.add_argument("--show", action="store_true", help="print each disagreement and caller finding")
    args = ap.parse_args()
    shas = git(args.repo, "rev-list", "--no-merges", f"--since={args.since}", args.rev).decode().split()
    random.Random(args.seed).shuffle(shas)
    repo = GitRepo(args.repo)
    kinds: Counter[str] = Counter()
    agree: Counter[tuple[str, str, str]] = Counter()
    read = with_moves = checked = findings = 0
    for sha in shas[: args.count]:
        mbox = git(args.repo, "format-patch", "-M", "--stdout", "-1", sha)
        if not mbox or len(mbox) > _LARGEST:
            continue
        with tempfile.NamedTemporaryFile(suffix=".mbox") as f:
            f.write(mbox)
            f.flush()
            try:
                rev = build_series(read_local(f.name, None)).revision
            except Exception as e:  # a commit git formats oddly is left out, and said
                print(f"{sha[:10]} not read: {e}", file=sys.stderr)
                continue
        read += 1
        changes = [c for p in rev.patches for c in p.summary.functions]
        moves = [c for c in changes if moved_from(c)]
        with_moves += bool(moves)
        kinds.update(c.kind for c in moves)
        for c in changes:
            if c.kind in _WORDED or (c.kind == "body-changed" and c.detail.startswith("moved")):
                truth = truth_of(args.repo, sha, c)
                if truth is not None:
                    said = said_of(c) or "not said"
                    what = (
                        c.kind.removesuffix("-moved")
                        if c.kind in ("macro-moved", "struct-moved")
                        else "function"
                    )
                    agree[(what, said, truth)] += 1
                    if args.show and said not in ("not said", truth):
                        print(f"{sha[:10]} {c.name} in {c.file}: said {said}, the files say {truth}")
        if any((c.kind == "signature-changed" and moved_from(c)) or made_static(c) for c in changes):
            checked += 1
            found = check_callers(rev, repo, f"{sha}^") + check_definition_left_behind(rev)
            findings += len(found)
            for x in found if args.show else ():
                print(f"{sha[:10]} {x.code} {x.file}:{x.line} {x.message}")
    print(f"{read} commits read (seed {args.seed}); {with_moves} move a name between files")
    print("moves by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(f"{'moved':9} {'said':28} {'the files say':28} {'count':>6}")
    for (what, said, truth), n in sorted(agree.items()):
        print(f"{what:9} {said:28} {truth:28} {n:6}")
    reach = "a moved signature change or a function made static"
    print(f"caller checks: {checked} commits ({reach}), {findings} findings")


if __name__ == "__main__":
    main()
