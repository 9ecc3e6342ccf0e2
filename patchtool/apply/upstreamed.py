"""Why a series does not apply to a base: it may be there already, or written on an older one.

A reviewer handed a series that conflicts wants to know before reading the conflict whether the
base already has it (it was merged, the mail is old) and where it was written (the commit holding
the blobs its `index` lines name). Both are read from the repository alone: a commit of the base
with the patch's title, among the commits that touched its files, is the patch already there (the
same change when its added and removed lines are the patch's); the preimage blobs give the commit
the author's tree was at. Paths from the mail reach git as literal pathspecs only.

A patch the base has under another title (maintainers retitle) is found by its change: the
commits that added or removed its most telling line (git's pickaxe) are read, and the first whose
changed lines hold all of the patch's is it. A patch merged and then reverted is no patch the base
has: the hint says so, and says it for a series that applies cleanly too (a reposting after a
revert is news to its reviewer), reading only the commits made since the patches were written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection, Sequence

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
    """A patch found in the base: the commit, and whether its added and removed lines are the patch's.

    ``retitled``: found by its change, under this other title; ``reverted_by``: the commit of the
    base that reverted it (the base then does not have it). ``kind``: "in-base" (the base has it:
    the series conflicts or changes nothing there), "reverted" (merged and then reverted), or
    "applied-again" (the series applies cleanly although the base has a commit with its title)."""

    index: int
    total: int
    commit: str
    same: bool
    retitled: str = ""
    reverted_by: str | None = None
    kind: str = "in-base"


@record
class HistoryNotes:
    """What the base's history has of a series: the hints a person reads, one line each, and every
    patch they speak of (the hints name a few and count the rest; a script reads ``landed``)."""

    hints: tuple[str, ...] = ()
    landed: tuple[Landed, ...] = ()


# How far back a clean series' reverts are looked for when its mail has no date.
_REVERT_HISTORY = 20000
# A line must be this long (without spaces) to find a retitled patch by: shorter ones are too common.
_TELLING = 12
# How many of the commits that added or removed that line are read.
_PICKAXE = 20
# git's titles for a revert and a reapplication, casefolded.
_REVERT = re.compile(r'revert "(.*)"')
_REAPPLY = re.compile(r'(?:reapply "(.*)"|revert "revert "(.*)"")')


def _title(text: str) -> str:
    return " ".join(text.split()).casefold()


def _changed(diff: str) -> list[str]:
    """The file headers and the added and removed lines of a diff, without whitespace."""
    return ["".join(line.split()) for line in changed_lines(diff)]


def _paths(patch: Patch) -> list[str]:
    return sorted({p for f in split_files(patch.diff) for p in (f.old_path, f.new_path) if p})


def _literal(paths: Sequence[str]) -> list[str]:
    return [f":(literal){p}" for p in paths]


def _shown(repo: GitRepo, sha: str) -> list[str] | None:
    done = repo.git("show", "--format=", "-M", "--no-color", sha, check=False, timeout=120)
    return _changed(done.text()) if done.ok else None


def _events(subject: str, wanted: str) -> str | None:
    """What a commit titled `subject` is to the patch titled `wanted`: itself, its revert, or its
    reapplication (git's own titles for those), else None."""
    title = _title(subject)
    if title == wanted:
        return "landed"
    if title == f'revert "{wanted}"':
        return "reverted"
    if title in (f'revert "revert "{wanted}""', f'reapply "{wanted}"'):
        return "reapplied"
    return None


def landed_as(repo: GitRepo, base: str, patch: Patch, *, by_change: bool = False) -> Landed | None:
    """The commit of `base` (not a merge) with the patch's title that touched one of its files; its
    revert when the newest of those is one. With ``by_change`` (the base is known to hold the
    change), a commit under another title is looked for when none has the patch's."""
    paths = _paths(patch)
    if not paths:
        return None
    done = repo.git(
        "log", "--no-merges", "--format=%H%x00%s", "-n", str(_HISTORY), base, "--", *_literal(paths),
        check=False, timeout=120,
    )  # fmt: skip
    wanted = _title(patch.title)
    reverted: str | None = None
    for line in done.text().splitlines() if done.ok else ():
        sha, _, subject = line.partition("\0")
        event = _events(subject, wanted)
        if event == "reverted" and reverted is None:
            reverted = sha  # the newest word on it: look on for the commit it reverted
        elif event is not None and (event == "landed" or reverted is None):
            shown = _shown(repo, sha)
            same = shown is not None and shown == _changed(patch.diff)
            kind = "reverted" if reverted else "in-base"
            return Landed(patch.index, patch.total, sha, same, reverted_by=reverted, kind=kind)
    if by_change and reverted is None:
        return _landed_by_change(repo, base, patch, paths)
    return None


def _telling(diff: str, wanted: int = 2) -> list[str]:
    """Up to `wanted` of the patch's changed lines git's pickaxe can find it by, longest first:
    stripped, at least `_TELLING` long, and found in no other changed line (a line the patch only
    re-indents inside a new `if` occurs as often after it as before: sample AO). Only the
    candidates taken are checked against the others, so a huge patch costs `wanted` passes."""
    texts = [line[1:].strip() for line in changed_lines(diff) if line[:1] in "+-" and "\0" not in line]
    found: list[str] = []
    for text in sorted(set(texts), key=lambda t: len("".join(t.split())), reverse=True):
        if len(found) == wanted or len("".join(text.split())) < _TELLING:
            break
        if sum(text in other for other in texts) == 1:
            found.append(text)
    return found


def _landed_by_change(repo: GitRepo, base: str, patch: Patch, paths: Sequence[str]) -> Landed | None:
    """The newest commit of `base` whose changed lines hold every line the patch adds or removes,
    among those that added or removed one of its two most telling lines."""
    want = Counter(_changed(patch.diff))
    for telling in _telling(patch.diff):
        done = repo.git(
            "log", "--no-merges", "--format=%H", "-n", str(_PICKAXE), f"-S{telling}", base, "--",
            *_literal(paths), check=False, timeout=120,
        )  # fmt: skip
        for sha in done.text().split() if done.ok else ():
            shown = _shown(repo, sha)
            if shown is not None and not want - Counter(shown):
                subject = repo.git("log", "-1", "--format=%s", sha, check=False).text().strip()
                return Landed(patch.index, patch.total, sha, Counter(shown) == want, subject or "?")
    return None


def _event_of(title: str, wanted: Collection[str]) -> tuple[str, str] | None:
    """(the wanted title a commit titled `title` speaks of, what it is to it), as `_events` says."""
    named = (m.group(m.lastindex or 0) for m in (_REAPPLY.fullmatch(title), _REVERT.fullmatch(title)) if m)
    for key in (title, *named):
        if key in wanted:
            event = _events(title, key)
            return (key, event) if event else None
    return None


def titled_since(repo: GitRepo, base: str, patches: Sequence[Patch]) -> list[Landed]:
    """The patches of a series that applies whose title `base` has among the commits made since the
    earliest patch was written: applied again on top, or merged and then reverted (``reverted_by``).
    A commit with the title counts when it touched one of the patch's files."""
    wanted = {_title(p.title): p for p in patches}
    dates = [p.date for p in patches if p.date is not None]
    since = min(dates) - dt.timedelta(days=1) if dates else None
    bound = [f"--since={since.isoformat()}"] if since else ["-n", str(_REVERT_HISTORY)]
    done = repo.git("log", "--no-merges", "--format=%H%x00%s", *bound, base, check=False, timeout=120)
    said: dict[str, list[tuple[str, str]]] = {}  # title -> (commit, what it is to it), newest first
    for line in done.text().splitlines() if done.ok else ():
        sha, _, subject = line.partition("\0")
        found = _event_of(_title(subject), wanted)
        if found is not None:
            said.setdefault(found[0], []).append((sha, found[1]))
    out = []
    for key, events in said.items():
        patch = wanted[key]
        newest, word = events[0]
        if word == "reverted":
            original = next((sha for sha, w in events[1:] if w == "landed"), "")
            out.append(Landed(patch.index, patch.total, original, False, reverted_by=newest, kind="reverted"))
        elif _touches(repo, newest, _paths(patch)):
            shown = _shown(repo, newest)
            same = shown == _changed(patch.diff)
            out.append(Landed(patch.index, patch.total, newest, same, kind="applied-again"))
    return sorted(out, key=lambda x: x.index)


def _touches(repo: GitRepo, sha: str, paths: Sequence[str]) -> bool:
    done = repo.git("show", "--format=", "--name-only", "-M", sha, "--", *_literal(paths), check=False)
    return done.ok and bool(done.text().strip())


def _where(landed: Sequence[Landed]) -> str:
    def one(x: Landed) -> str:
        text = f"{x.index}/{x.total} as {x.commit[:12]}" if x.commit else f"{x.index}/{x.total}"
        if x.reverted_by:
            return text + f" (reverted by {x.reverted_by[:12]})"
        if x.retitled:
            shown = x.retitled if len(x.retitled) <= 60 else x.retitled[:57] + "..."
            text += f' ("{shown}")'
        return text + ("" if x.same else " (changed when merged)")

    named = [one(x) for x in landed[:_NAMED]]
    more = f" and {len(landed) - _NAMED} more" if len(landed) > _NAMED else ""
    return ", ".join(named) + more


def conflict_hints(
    repo: GitRepo,
    series: Series,
    patches: Sequence[Patch],
    base: str,
    label: str,
    *,
    conflict: bool = True,
    already: Collection[int] = (),
) -> HistoryNotes:
    """What the repository says of a series that conflicts on `base` (`label`, as the user named it),
    or some of whose patches changed nothing there (``conflict`` False: where it was written is
    then no question). ``already``: the indexes of the patches that changed nothing, whose commit
    is looked for by their change too."""
    found = (landed_as(repo, base, p, by_change=p.index in already) for p in patches)
    landed = [x for x in found if x is not None]
    there = [x for x in landed if x.reverted_by is None]
    undone = [x for x in landed if x.reverted_by is not None]
    hints = []
    if there and len(there) == len(patches):
        hints.append(f"every patch is already in {label}: {_where(there)}")
    elif there:
        hints.append(f"already in {label}: {_where(there)}")
    if undone:
        hints.append(f"merged and reverted in {label}: {_where(undone)}")
    if conflict and len(there) < len(patches):
        pres = series_preimages(series)
        written = written_on(repo, base, pres)
        if written:
            hints.append(
                f"written on {written[:12]} (its tree holds the {len(pres)} blob(s) the patches' index lines"
                f" name): --base {written[:12]} applies it where it was written"
            )
    return HistoryNotes(tuple(hints), tuple(landed))


def applied_hints(repo: GitRepo, patches: Sequence[Patch], base: str, label: str) -> HistoryNotes:
    """What the repository says of a series that applies: that `base` has some of its titles (the
    patches applied again on top), or merged and reverted them."""
    titled = titled_since(repo, base, patches)
    there = [x for x in titled if x.reverted_by is None]
    undone = [x for x in titled if x.reverted_by is not None]
    hints = []
    if there:
        hints.append(f"already in {label} under these titles, yet applied again on top: {_where(there)}")
    if undone:
        hints.append(f"merged and reverted in {label}: {_where(undone)}")
    return HistoryNotes(tuple(hints), tuple(titled))
