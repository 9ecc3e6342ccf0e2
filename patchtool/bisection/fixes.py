"""A search for the commit that fixed a test (``git bisect --term-old broken --term-new fixed``).

The test fails (sometimes) at the broken commit and passes at the fixed one; the fix is the first
commit of the fixed commit's first-parent line after which it stops failing. Read backwards, that
line is a regression search: newest first, the commits that still fail are the ones after a
point, the first of them is the fix's parent, and every rule of the search (the bad end run to
learn how often the test fails, the good end once good commits may fail, the stop) holds as it
is. So the search runs on the reversed line: position 0 is the fixed commit, positions 1..n the
line's older commits, newest first, and n the line's first commit that is an ancestor of the
broken one (the broken commit itself when it is on the line). "Culprit c" there means the fix is
the commit at position c - 1, and the report is turned back into the fix's terms (fixrun.as_fix).

Only a line is searched: on a merge history the set of commits without a fix is not the ancestors
of any one commit, so a merge the line names is the fix as far as the line can tell, and the
commit inside it is found by a search from its first parent to its second.
"""

from __future__ import annotations

from collections.abc import Sequence

from patchtool.bisection.graph import History
from patchtool.bisection.ranges import limited_listing
from patchtool.errors import InputError
from patchtool.vcs.repo import GitRepo


def fix_line(
    repo: GitRepo, broken: str, fixed: str, paths: Sequence[str] = ()
) -> tuple[list[str], History, dict[int, str]]:
    """The search's positions, newest first: ``fixed``, the older commits of its first-parent line
    up to ``broken``'s history, and the first of that history on the line (the broken end); the
    history is a chain, and no parent lies outside it.

    With ``paths`` (git bisect start -- PATH...), only the line's commits that change them against
    their first parent are between the ends (a merge that brought a branch's changes to them in is
    one); both ends stay, whether they change them or not, so the fixed end may still be named."""
    fixed_sha, broken_sha = repo.rev_parse(fixed), repo.rev_parse(broken)
    listing = repo.out("rev-list", "--first-parent", "--parents", fixed_sha, f"^{broken_sha}")
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    if not rows:
        raise InputError(f"no commits between {broken} and {fixed}: {fixed} is {broken} or before it")
    if len(rows[-1]) < 2:
        raise InputError(f"{fixed}'s first parents reach a root commit and never {broken}'s history")
    shas = [row[0] for row in rows] + [rows[-1][1]]
    if paths:
        args = ("rev-list", "--first-parent", fixed_sha, f"^{broken_sha}")
        changed = set(limited_listing(repo, args, paths).split())
        if not changed:
            raise InputError(
                f"no commit between {broken} and {fixed} changes {' '.join(paths)}: nothing to search"
            )
        shas = [shas[0], *(sha for sha in shas[1:-1] if sha in changed), shas[-1]]
    return shas, History.chain(len(shas) - 1), {}


def fix_of(culprit: int) -> int:
    """The position of the fix when the search's culprit (the newest commit that fails) is
    ``culprit``: the commit after it, which is before it in the reversed line."""
    return culprit - 1
