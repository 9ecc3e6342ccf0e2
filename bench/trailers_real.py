"""Real-data check of review trailers: real qemu-devel threads against what QEMU merged.

Usage: python bench/trailers_real.py THREADS_DIR QEMU_GIT [--rev master] [--show]

THREADS_DIR holds one directory per posting, each with a `thread.mbox` (the cover letter, the
patches and every reply of that posting, as the list archive has them). Each thread is read as
`patchtool fetch` reads a local mbox; each patch is matched to the commit of QEMU_GIT (at --rev)
with the same title, and the person trailers a reviewer gives (Reviewed-by, Acked-by, Tested-by)
are compared by address:

- collected: patchtool applied it from a reply of this posting;
- merged: the commit carries it;
- both / collected only / merged only, per trailer key.

"merged only" may be honest (given on another revision or on the PULL request, or added by the
maintainer); "collected only" may be too (a trailer the maintainer dropped). --show prints each
disagreement with the reply that carried it, to judge by hand. patchtool's trailer findings are
counted by code (`trailer-sender-mismatch`: not applied; `trailer-relayed`: passed on by someone
who says so, applied only when an earlier revision in the thread has it from its person;
`trailer-sender-alias`: applied, sent from another address of the same name). A thread whose
patches the archive's index lacks is skipped and counted.
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchtool.errors import PatchtoolError  # noqa: E402
from patchtool.fetch.local import read_local  # noqa: E402
from patchtool.parse.series import build_series  # noqa: E402

KEYS = ("Reviewed-by", "Acked-by", "Tested-by")
_ADDRESS = re.compile(r"<([^<>@\s]+@[^<>\s]+)>|([^\s<>]+@[^\s<>]+)")


def _address(value: str) -> str | None:
    m = _ADDRESS.search(value)
    return (m.group(1) or m.group(2)).strip(".,;").lower() if m else None


def merged_commits(repo: Path, rev: str) -> dict[str, list[str]]:
    """Title -> messages of the commits of `rev` since 2024 with that title."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", "--since=2024-01-01", "--format=%s%x00%b%x01", rev],
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "replace")
    found: dict[str, list[str]] = {}
    for entry in out.split("\x01"):
        title, _, body = entry.strip("\n").partition("\x00")
        if title:
            found.setdefault(" ".join(title.split()), []).append(body)
    return found


def trailers_of(message: str) -> set[tuple[str, str]]:
    """(key, address) of the person trailers a commit message carries."""
    out = set()
    for line in message.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in {k.lower() for k in KEYS}:
            address = _address(value)
            if address:
                canon = next(k for k in KEYS if k.lower() == key.strip().lower())
                out.add((canon, address))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("threads", type=Path)
    ap.add_argument("qemu", type=Path)
    ap.add_argument("--rev", default="master")
    ap.add_argument("--show", action="store_true", help="print every disagreement")
    args = ap.parse_args()
    merged = merged_commits(args.qemu, args.rev)
    totals: Counter[str] = Counter()
    for mbox in sorted(args.threads.glob("*/thread.mbox")):
        name = mbox.parent.name
        try:
            series = build_series(read_local(str(mbox), None), functions=False)
        except PatchtoolError as e:  # the archive's index lacks every patch of the posting
            print(f"{name} skipped: {e.message}")
            totals["threads skipped"] += 1
            continue
        row: Counter[str] = Counter()
        for patch in series.revision.patches:
            bodies = merged.get(" ".join(patch.title.split()))
            if not bodies:
                row["patches not merged"] += 1
                continue
            row["patches"] += 1
            own = {(t.key, t.address.email.lower()) for t in patch.trailers if t.address and t.key in KEYS}
            given = [t for t in patch.review_trailers if t.address and t.key in KEYS]
            collected = {(t.key, t.address.email.lower()): t for t in given if t.address}
            landed = set().union(*(trailers_of(b) for b in bodies)) - own
            for key in KEYS:
                mine = {c for c in collected if c[0] == key}
                theirs = {c for c in landed if c[0] == key}
                row[f"{key} both"] += len(mine & theirs)
                row[f"{key} collected only"] += len(mine - theirs)
                row[f"{key} merged only"] += len(theirs - mine)
                if args.show:
                    for k, who in sorted(mine - theirs):
                        where = collected[k, who].msgid
                        print(f"  {name} {patch.title[:50]!r}: collected only {k} {who} ({where})")
                    for k, who in sorted(theirs - mine):
                        print(f"  {name} {patch.title[:50]!r}: merged only {k} {who}")
        for f in series.findings:
            if f.code.startswith("trailer"):
                row[f"finding {f.code}"] += 1
        print(name, dict(row))
        totals.update(row)
    print("total")
    for key in sorted(totals):
        print(f"  {key:32} {totals[key]}")


if __name__ == "__main__":
    main()
