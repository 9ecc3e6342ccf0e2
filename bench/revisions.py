"""Real-data check of revision comparison: consecutive revisions of real qemu-devel series.

Usage: python bench/revisions.py MIRROR [--pairs N] [--half tune|report]

MIRROR is the bare qemu-ci mirror (branches named by message-id, a `<msgid>_ci` twin whose tip
commit carries the cover's subject). Series whose titles match and whose revision numbers follow
each other (vN, vN+1) are turned back into mail with `git format-patch -v N` and compared with
patchtool's matcher. Each pairing is checked against git itself: two patches count as the same
change when `git patch-id --stable` says so. Printed: how patches were paired (patch-id, title,
similarity), new/dropped counts, how many paired patches were retitled (a tag relayed to one is
checked against the replies to its earlier version all the same: parse/pairing.py), and the
agreement of our patch-id with git's on every old x new pair of patches. The pairs are split in
two halves by a hash of the newer message-id (`--half`): nothing here is tuned, but a threshold
change should be judged on `tune` and reported on `report`.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import hashlib  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.errors import PatchtoolError  # noqa: E402
from patchtool.models import Patch, RawMessage, RawThread  # noqa: E402
from patchtool.parse.mail import split_mbox  # noqa: E402
from patchtool.parse.pairing import patch_id  # noqa: E402
from patchtool.parse.series import build_series  # noqa: E402
from patchtool.parse.subjects import parse_subject  # noqa: E402
from patchtool.review.revisions import match_patches  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402


class Mirror:
    """The bare mirror, every git call through GitRepo (GitPython would look above a bare dir)."""

    def __init__(self, path: Path) -> None:
        self.repo, self.flag = GitRepo(path), f"--git-dir={path}"

    def git(self, *args: str, input: bytes | None = None) -> bytes:
        return self.repo.git(self.flag, *args, input=input).stdout

    def out(self, *args: str) -> str:
        return self.git(*args).decode("utf-8", "replace").rstrip("\n")


def revision_pairs(repo: Mirror) -> list[tuple[str, str, int, int]]:
    """(old branch, new branch, old number, new number) for consecutive revisions of one title."""
    listing = repo.out("for-each-ref", "--format=%(refname:short)%09%(contents:subject)", "refs/heads/*_ci")
    by_title: dict[str, dict[int, str]] = defaultdict(dict)
    for line in listing.splitlines():
        ref, _, subject = line.partition("\t")
        info = parse_subject(subject)
        if info.is_reply or info.is_pull or not info.title:
            continue
        by_title[info.title.strip().lower()][info.revision] = ref.removesuffix("_ci")
    pairs = []
    for revs in by_title.values():
        for n in sorted(revs):
            if n + 1 in revs:
                pairs.append((revs[n], revs[n + 1], n, n + 1))
    return sorted(pairs)


def _half(title: str) -> str:
    return "tune" if hashlib.sha1(title.encode()).digest()[0] % 2 == 0 else "report"


def mail_of(repo: Mirror, branch: str, number: int) -> bytes:
    base = repo.out("merge-base", branch, "master")
    version = [f"-v{number}"] if number > 1 else []
    return repo.git("format-patch", "--stdout", "--thread", *version, f"{base}..{branch}")


def git_patch_id(repo: Mirror, patch: Patch) -> str:
    text = repo.git("patch-id", "--stable", input=patch.diff.encode()).decode().split()
    return text[0] if text else ""


def compare(repo: Mirror, pair: tuple[str, str, int, int], tally: Counter[str]) -> None:
    old_branch, new_branch, n, m = pair
    data = mail_of(repo, old_branch, n) + b"\n" + mail_of(repo, new_branch, m)
    messages = tuple(RawMessage(chunk, f"bench:{i}") for i, chunk in enumerate(split_mbox(data)))
    series = build_series(RawThread(messages))
    revs = {r.number: r for r in series.revisions}
    if n not in revs or m not in revs:
        tally["skipped (revision numbers not in the mail)"] += 1
        return
    old, new = revs[n], revs[m]
    for p in match_patches(old, new):
        tally[f"status {p.status}" + (f" by {p.matched_by}" if p.matched_by else "")] += 1
        if p.old is not None and p.new is not None:
            retitled = " ".join(p.old.title.split()).casefold() != " ".join(p.new.title.split()).casefold()
            tally["paired patches retitled (a tag relayed to them vouches now)"] += retitled
    ours = {
        (o.index, w.index): patch_id(o.diff) == patch_id(w.diff) for o in old.patches for w in new.patches
    }
    gits_old = {o.index: git_patch_id(repo, o) for o in old.patches}
    gits_new = {w.index: git_patch_id(repo, w) for w in new.patches}
    for (i, j), same in ours.items():
        theirs = gits_old[i] == gits_new[j] and gits_old[i] != ""
        tally["patch-id pairs agreeing with git" if same == theirs else "patch-id pairs disagreeing"] += 1
        tally["patch-id pairs git calls equal"] += theirs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirror", type=Path)
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--half", choices=("tune", "report"), default="report")
    args = ap.parse_args()
    repo = Mirror(args.mirror)
    pairs = [p for p in revision_pairs(repo) if _half(p[1]) == args.half][: args.pairs]
    tally: Counter[str] = Counter()
    for pair in pairs:
        try:
            compare(repo, pair, tally)
            tally["revision pairs compared"] += 1
        except PatchtoolError as e:
            tally[f"failed: {type(e).__name__}"] += 1
    for key in sorted(tally):
        print(f"{key:55} {tally[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
