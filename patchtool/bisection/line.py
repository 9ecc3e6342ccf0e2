"""A first-parent search's line around the merge it named, for the search inside that merge: what
the line spent that the inner search did not, and the ways the failed runs of both ended (its runs
count inside as records: core.BisectState.side_counts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from patchtool.bisection.earlier import TestedWays
from patchtool.bisection.summary import BisectReport, CommitRef, Finished, Searched, sides_of
from patchtool.bisection.ways import FailedWay, failed_ways
from patchtool.store import Store


def line_spent(line: Searched, inside: Searched) -> tuple[int, int]:
    """The runs and builds of a first-parent search at the commits the search inside the merge it
    named does not have (those it has, it counts itself)."""
    shared = set(inside.commits)
    runs = sum(line.state.counts(i)[1] for i, sha in enumerate(line.commits) if sha not in shared)
    return runs, len(line.replay.tried - shared)


def line_ways(lines: Sequence[Searched], inside: Searched, store: Store, key: str) -> tuple[FailedWay, ...]:
    """The ways the failed runs of the ``lines`` (outermost first, each naming the merge the next
    searched) and of the search ``inside`` the last merge ended, as stored under the probe ``key``.
    A line's commit is on the good side when it does not descend from the merge that line named;
    the search inside says for the commits it has (the merge and its first parent too)."""
    sides: dict[str, bool] = {}
    tested: TestedWays = {}  # an inner search's ends' records are the line's: each commit once
    for search in (*lines, inside):
        sides.update(sides_of(search, search.state.result().top))
        tested.update(search.tested_ways)
    return failed_ways(store, key, sides, tested)


def with_line(
    report: BisectReport, merge: CommitRef | None, line: Finished, inside: Finished
) -> BisectReport:
    """The report of a search inside the ``merge`` the first-parent search ``line`` named, with the
    line's own runs and builds (line_spent) and the ways the line's failed runs ended beside its
    own (line_ways); unchanged when there was no such search (``inside`` is ``line``)."""
    if inside is line:
        return report
    runs, builds = line_spent(line, inside)
    ways = line_ways([line], inside, inside.store, inside.key)
    return replace(report, merge=merge, line_runs=runs, line_builds=builds, failed_ways=ways)
