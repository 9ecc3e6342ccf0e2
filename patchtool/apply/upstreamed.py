"""Why a series does not apply to a base: it may be there already, or written on an older one.

A reviewer handed a series that conflicts wants to know before reading the conflict whether the
base already has it (it was merged, the mail is old) and where it was written (the commit holding
the blobs its `index` lines name). Both are read from the repository alone: a commit of the base
with the patch's title, among the commits that touched its files, is the patch already there (the
same change when its added and removed lines are the patch's); the preimage blobs give the commit
the author's tree was at. Paths from the mail reach git as literal pathspecs only.
"""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.apply.backbase import series_preimages, written_on
from patchtool.jsonable import record
from patchtool.models import Patch, Series
from patchtool.parse.difftext import changed_lines, split_files
from patchtool.vcs.repo import GitRepo

# How far back the base's history of a patch's files is searched for its title.
_HISTORY = 3000
# How many patches a hint names before "and N more".
_NAMED = 3


@record
class Landed:
    """A patch found in the base: the commit, and whether its added and removed lines are the patch's."""

    index: int
    total: int
    commit: str
    same: bool


def _title(text: str) -> str:
    return " ".join(text.split()).casefold()


def _changed(diff: str) -> list[str]:
    """The file headers and the added and removed lines of a diff, without whitespace."""
    return ["".join(line.split()) for line in changed_lines(diff)]


def landed_as(repo: GitRepo, base: str, patch: Patch) -> Landed | None:
    """The commit of `base` (not a merge) with the patch's title that touched one of its files."""
    paths = sorted({p for f in split_files(patch.diff) for p in (f.old_path, f.new_path) if p})
    if not paths:
        return None
    done = repo.git(
        "log", "--no-merges", "--format=%H%x00%s", "-n", str(_HISTORY), base, "--",
        *(f":(literal){p}" for p in paths), check=False, timeout=120,
    )  # fmt: skip
    wanted = _title(patch.title)
    for line in done.text().splitlines() if done.ok else ():
        sha, _, subject = line.partition("\0")
        if _title(subject) == wanted:
            shown = repo.git("show", "--format=", "-M", "--no-color", sha, check=False, timeout=120)
            same = shown.ok and _changed(shown.text()) == _changed(patch.diff)
            return Landed(patch.index, patch.total, sha, same)
    return None


def _where(landed: Sequence[Landed]) -> str:
    named = [f"{x.index}/{x.total} as {x.commit[:12]}" + ("" if x.same else " (changed when merged)")
             for x in landed[:_NAMED]]  # fmt: skip
    more = f" and {len(landed) - _NAMED} more" if len(landed) > _NAMED else ""
    return ", ".join(named) + more


def conflict_hints(
    repo: GitRepo, series: Series, patches: Sequence[Patch], base: str, label: str, *, conflict: bool = True
) -> tuple[str, ...]:
    """What the repository says of a series that conflicts on `base` (`label`, as the user named it),
    or some of whose patches changed nothing there (``conflict`` False: where it was written is
    then no question)."""
    landed = [x for x in (landed_as(repo, base, p) for p in patches) if x is not None]
    hints = []
    if landed and len(landed) == len(patches):
        hints.append(f"every patch is already in {label}: {_where(landed)}")
    elif landed:
        hints.append(f"already in {label}: {_where(landed)}")
    if conflict and len(landed) < len(patches):
        pres = series_preimages(series)
        written = written_on(repo, base, pres)
        if written:
            hints.append(
                f"written on {written[:12]} (its tree holds the {len(pres)} blob(s) the patches' index lines"
                f" name): --base {written[:12]} applies it where it was written"
            )
    return tuple(hints)
