"""A search for the commit that fixed a test (``git bisect --term-old broken --term-new fixed``).

The test fails (sometimes) at the broken commit and passes at the fixed one; the fix is the first
commit of the fixed commit's first-parent line after which it stops failing. Read backwards, that
line is a regression search: newest first, the commits that still fail are the ones after a
point, the first of them is the fix's parent, and every rule of the search (the bad end run to
learn how often the test fails, the good end once good commits may fail, the stop) holds as it
is. So the search runs on the reversed line: position 0 is the fixed commit, positions 1..n the
line's older commits, newest first, and n the line's first commit that is an ancestor of the
broken one (the broken commit itself when it is on the line). "Culprit c" there means the fix is
the commit at position c - 1, and the report is turned back into the fix's terms (``as_fix``).

Only a line is searched: on a merge history the set of commits without a fix is not the ancestors
of any one commit, so a merge the line names is the fix as far as the line can tell, and the
commit inside it is found by a search from its first parent to its second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import History
from patchtool.bisection.stats import ConfirmationOutcome
from patchtool.bisection.summary import BisectReport, CommitRef
from patchtool.errors import InputError
from patchtool.vcs.repo import GitRepo


def fix_line(repo: GitRepo, broken: str, fixed: str) -> tuple[list[str], History, dict[int, str]]:
    """The search's positions, newest first: ``fixed``, the older commits of its first-parent line
    up to ``broken``'s history, and the first of that history on the line (the broken end); the
    history is a chain, and no parent lies outside it."""
    fixed_sha, broken_sha = repo.rev_parse(fixed), repo.rev_parse(broken)
    listing = repo.out("rev-list", "--first-parent", "--parents", fixed_sha, f"^{broken_sha}")
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    if not rows:
        raise InputError(f"no commits between {broken} and {fixed}: {fixed} is {broken} or before it")
    if len(rows[-1]) < 2:
        raise InputError(f"{fixed}'s first parents reach a root commit and never {broken}'s history")
    shas = [row[0] for row in rows] + [rows[-1][1]]
    return shas, History.chain(len(rows)), {}


def fix_of(culprit: int) -> int:
    """The position of the fix when the search's culprit (the newest commit that fails) is
    ``culprit``: the commit after it, which is before it in the reversed line."""
    return culprit - 1


def as_fix(report: BisectReport, state: BisectState, ref: Callable[[int], CommitRef]) -> BisectReport:
    """A search's report in the fix's terms: the culprit is the fix (the first commit that passes),
    its parent the last commit that fails, the credible ranges oldest first, and the
    confirmation's sides swapped (the fix must pass, its parent fail). ``good`` is the fixed end,
    ``bad`` the broken end; p and q keep their meaning (failure rate before and after the fix)."""
    result = state.result()
    top = result.top
    (a90, b90), (a99, b99) = result.range90, result.range99
    confirmation = report.confirmation
    if confirmation is not None:
        confirmation = ConfirmationOutcome(
            parent_failures=confirmation.culprit_failures,
            parent_runs=confirmation.culprit_runs,
            culprit_failures=confirmation.parent_failures,
            culprit_runs=confirmation.parent_runs,
            parent_ok=confirmation.culprit_ok,
            culprit_ok=confirmation.parent_ok,
        )
    return replace(
        report,
        fix=True,
        culprit=ref(fix_of(result.culprit)) if result.culprit is not None else None,
        top=ref(fix_of(top)),
        range90=(ref(fix_of(b90)), ref(fix_of(a90))),
        range99=(ref(fix_of(b99)), ref(fix_of(a99))),
        culprit_counts=state.counts(fix_of(top)),
        parent=ref(top),
        parent_counts=state.counts(top),
        parent_outside=False,
        parent_root=False,
        confirmation=confirmation,
    )
