"""Where the failure is looked for when the bad end cannot be run (pure, no git).

``git bisect`` never runs the bad end: the first bad commit is before it unless the bad end itself
is it. patchtool calibrates p at the bad end; when the bad end does not build, its test exits 125,
or its runs are set aside as failing another way, a commit at most ``bad_end_stand_ins`` parent
steps before it stands in (Strategy). The functions take the search's state (core.BisectState).
"""

from __future__ import annotations

from typing import Protocol

from patchtool.bisection.classify import SET_ASIDE_MIN_UNUSABLE, set_aside
from patchtool.bisection.graph import GOOD_END, History
from patchtool.bisection.model import Strategy
from patchtool.bisection.posterior import Posterior


class BisectState(Protocol):
    """What these functions read of core.BisectState (and ``retire``, which they call)."""

    n: int
    history: History
    strategy: Strategy
    post: Posterior
    unusable_runs: int
    unusable_at: dict[int, int]

    @property
    def runs(self) -> int: ...
    def is_untestable(self, index: int) -> bool: ...
    def counts(self, index: int) -> tuple[int, int]: ...
    def retire(self, index: int) -> None: ...
    def waiting(self) -> set[int]: ...


def stand_ins(state: BisectState) -> list[int]:
    """The commits at most ``bad_end_stand_ins`` parent steps before the bad end, nearest first and
    first parents first (on a line n-1, n-2, n-3; before a merge, its first parent, then the tip of
    the branch it merged)."""
    history = state.history
    order, seen, frontier = [], {state.n}, [state.n]
    for _ in range(state.strategy.bad_end_stand_ins):
        following = []
        for i in frontier:
            for parent in history.parents[i]:
                if parent != GOOD_END and parent not in seen:
                    seen.add(parent)
                    order.append(parent)
                    following.append(parent)
        frontier = following
    return order


def _bad_end_unusable(state: BisectState) -> tuple[int, tuple[int, int]] | None:
    """(unusable runs, (unusable, all) runs elsewhere) while the bad end has runs, all unusable, and
    is not set aside; else None."""
    n = state.n
    unusable = state.unusable_at.get(n, 0)
    if state.is_untestable(n) or state.counts(n)[1] or unusable == 0:
        return None
    elsewhere = state.unusable_runs - unusable
    return unusable, (elsewhere, state.runs + elsewhere)


def bad_end_pending(state: BisectState) -> bool:
    """The bad end's runs have all failed another way (at least the few that can set a commit aside)
    and the commits elsewhere have had fewer than four times its current turn: a stand-in runs
    meanwhile.

    Alone, the bad end would be set aside only after 50 such runs in a row, and where the test
    fails another way often everywhere, never (only classify.set_aside's factor can, and it needs
    runs elsewhere to compare with). A stand-in's runs either find the failure, or give set_aside
    the runs elsewhere it compares with (``set_aside_bad_end`` then sets the bad end aside without
    running it again). The bad end and the rest take turns: its turn ends at 8, 16, 32, ...
    unusable runs, and it waits until the runs elsewhere reach four times that, so a build tree
    switches about log2(runs / 8) times and a broken bad end takes about a fifth of the runs. (With
    the rest only catching up, as many: on a real QEMU merge history with a test failing another
    way 90 % of the time, 128 runs at the bad end against 50 before the turns; at twice, 63; at
    four times, 36, and the search cost what it did before the turns.)
    """
    seen = _bad_end_unusable(state)
    return seen is not None and waits(seen[0], seen[1][1])


def waits(unusable: int, elsewhere: int, first_turn: int = SET_ASIDE_MIN_UNUSABLE) -> bool:
    """A commit none of whose runs counted, with ``unusable`` runs, waits its next turn while the
    runs elsewhere are fewer than four times its current turn: the largest of ``first_turn``,
    twice that, four times, ... not above its runs. Fewer than ``first_turn`` runs never wait."""
    if unusable < first_turn:
        return False
    turn = first_turn
    while 2 * turn <= unusable:
        turn *= 2
    return elsewhere < 4 * turn


def set_aside_bad_end(state: BisectState) -> bool:
    """Set the bad end aside (``retire``) when the runs made elsewhere since its last run show that
    its unusable runs are its own (classify.set_aside): called after each run that counts."""
    seen = _bad_end_unusable(state)
    if seen is None or not set_aside(0, *seen):
        return False
    state.retire(state.n)
    return True


def _replaced_by_stand_ins(state: BisectState) -> bool:
    """The bad end's runs have all failed another way (at least the few that can set a commit
    aside) and some commit has failed: its turns are over, and the stand-ins are calibrated in its
    place, as if it could not be tested.

    Where the test fails another way often everywhere the bad end is seldom set aside. Kept as the
    commit calibrated, it was not run once a commit between had failed (the search needs no bad
    end then), and p was calibrated nowhere."""
    seen = _bad_end_unusable(state)
    return seen is not None and seen[0] >= SET_ASIDE_MIN_UNUSABLE and state.post.total_f > 0


def bad_index(state: BisectState) -> int | None:
    """The commit calibrated as the bad end: the bad end itself, or while it cannot be tested (or is
    pending, ``bad_end_pending``) one of ``stand_ins()`` that can be tested and is not an ancestor
    of one that ran clean ``calibration_max_runs`` times: the first that has failed, else the bad
    end's parents in turn (a parent that cannot be tested or waits is stood in for by the commit
    before it, ``_lines``), else the first left. None when none is left (a bad end that waits, not
    set aside, is then run again).

    On a merge the culprit may be on either side, and its first parent alone would run clean to
    the maximum before the branch it merged was tried: the parents take turns, each staying until
    it has twice the runs the other had (``calibration_min_runs`` the first time), so a build tree
    switches about log2(max/min) times, not at every run.
    """
    n, post, strategy = state.n, state.post, state.strategy
    pending = bad_end_pending(state)
    waiting = pending or _replaced_by_stand_ins(state)  # the bad end, not set aside, stands by
    if not state.is_untestable(n) and not waiting:
        return n
    near, cleared = stand_ins(state), 0
    for i in near:
        if post.fails[i] == 0 and post.runs[i] >= strategy.calibration_max_runs:
            cleared |= state.history.ancestors(i)
    left = [i for i in near if not state.is_untestable(i) and not cleared >> i & 1]
    failed = [i for i in left if post.fails[i]]
    parents = _lines(state, left)
    if failed or not parents:
        return next(iter(failed or left), n if waiting else None)
    # Turn k is parents[k mod m]'s, until it has calibration_min_runs * 2**k runs: read from the
    # counts alone, so a turn the bad end's own turn interrupted (bad_end_pending) is finished.
    k = 0
    while post.runs[parents[k % len(parents)]] >= strategy.calibration_min_runs << k:
        k += 1
    return parents[k % len(parents)]


def _lines(state: BisectState, left: list[int]) -> list[int]:
    """For each parent of the bad end, the nearest commit on its first-parent line (within the
    stand-ins) that is left to calibrate and does not wait its turn (core.BisectState.waiting): a
    merged branch whose tip cannot be tested, or whose tip's runs all fail another way, is stood in
    for by the commit before the tip, in the same turns.

    Before, the stand-ins after the parents ran in order: with the bad end and the merged branch's
    tip both broken (a real QEMU history), the first parent's line ran 300 clean counted runs at
    each of its commits, about 3000 runs each where the test fails another way 90 % of the time,
    before the culprit's branch was tried."""
    history, waiting, found = state.history, state.waiting(), []
    for line in history.parents[state.n]:
        for _ in range(state.strategy.bad_end_stand_ins):
            if line in left and line not in waiting:
                if line not in found:
                    found.append(line)
                break
            if line == GOOD_END or not history.parents[line]:
                break
            line = history.parents[line][0]
    return found


def revert_base(state: BisectState, culprit: int) -> int:
    """Where the culprit's revert is tested: the bad end, or when it cannot be tested, the nearest
    stand-in that holds the culprit and can be tested, one seen failing first."""
    if not state.is_untestable(state.n):
        return state.n
    near = (i for i in stand_ins(state) if not state.is_untestable(i))
    held = [i for i in near if state.history.is_ancestor(culprit, i)]
    failing = [i for i in held if state.post.fails[i]]
    return (failing or held or [state.n])[0]
