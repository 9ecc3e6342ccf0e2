"""Which patch of one revision is which of another, as a reviewer pairs them.

First by patch-id (the same change, even renumbered or retitled), then by title, then by how much
of the changed lines they share. The revision comparison (review/revisions.py) and the check of
relayed trailers (parse/trailers.py) both pair this way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from patchtool.models import Patch, Revision
from patchtool.parse.difftext import changed_lines

SIMILAR_ENOUGH = 0.5  # share of changed lines two patches must have in common to be one patch
KEYS = ("patch-id", "title", "similarity")
_INDEX = re.compile(r"^index [0-9a-f]+\.\.[0-9a-f]+")

Pairing = tuple[Patch, Patch, str, float]  # older patch, newer patch, what paired them, score


def patch_id(diff: str) -> str:
    """git's `patch-id --stable` idea: a hash of the file names and hunk lines (context included),
    without whitespace, positions or blob ids: the same change in the same surroundings."""
    import hashlib  # here, not above: hashlib loads OpenSSL, and a series pairs only for a relay

    digest = hashlib.sha1()
    for line in diff.splitlines():
        if _INDEX.match(line) or line.startswith(("@@", "--- ", "+++ ")):
            continue
        digest.update("".join(line.split()).encode())
    return digest.hexdigest()


def similarity(a: Patch, b: Patch) -> float:
    return difflib.SequenceMatcher(None, changed_lines(a.diff), changed_lines(b.diff), autojunk=False).ratio()


def _title(patch: Patch) -> str:
    return " ".join(patch.title.split()).casefold()


def _pair_by(olds: list[Patch], news: list[Patch], key: str) -> list[Pairing]:
    pairs = []
    ids = {id(p): patch_id(p.diff) for p in (*olds, *news)} if key == "patch-id" else {}  # once each
    for new in list(news):
        if key == "patch-id":
            found = next((o for o in olds if ids[id(o)] == ids[id(new)]), None)
            score = 1.0
        elif key == "title":
            found = next((o for o in olds if _title(o) == _title(new)), None)
            score = similarity(found, new) if found else 0.0
        else:
            scored = sorted(((similarity(o, new), o.index, o) for o in olds), key=lambda t: (-t[0], t[1]))
            found = scored[0][2] if scored and scored[0][0] >= SIMILAR_ENOUGH else None
            score = scored[0][0] if found else 0.0
        if found is not None:
            olds.remove(found)
            news.remove(new)
            pairs.append((found, new, key, score))
    return pairs


def pair_patches(olds: list[Patch], news: list[Patch]) -> list[Pairing]:
    """The pairs of one patch of `olds` and one of `news` that are one patch, each paired once, by
    patch-id first, then title, then similarity. What is paired is taken out of both lists; what
    is left in them has no counterpart."""
    return [p for key in KEYS for p in _pair_by(olds, news, key)]


class Counterparts:
    """The patch of an earlier revision that is a given patch of this one: its label ("2/5"), None
    when it has none. Each earlier revision is paired with this one once, when first asked."""

    def __init__(self, current: Sequence[Patch]) -> None:
        self._current = list(current)
        self._paired: dict[int, dict[str, str]] = {}

    def of(self, msgid: str, earlier: Revision) -> str | None:
        if earlier.number not in self._paired:
            pairs = pair_patches(list(earlier.patches), list(self._current))
            self._paired[earlier.number] = {new.msgid: f"{old.index}/{old.total}" for old, new, _, _ in pairs}
        return self._paired[earlier.number].get(msgid)
