"""Where cluster work goes: keep builds warm, spread repeats over the workers that have the tree.

The policy (also in the README): repeats of one tree go first to the workers that already built
it, then to the rest; a probe at a new commit goes to the worker whose last build is nearest to it
in the candidate order, so its incremental build recompiles least. Pure functions, no Dask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def split_repeats(repeat: int, workers: int, chunk: int | None = None) -> list[int]:
    """Sizes of the tasks that make up `repeat` runs: small enough that a lost worker loses little.

    At least one task per worker (when there are enough runs), each at most `chunk` runs.
    """
    if repeat <= 0:
        return []
    workers = max(1, workers)
    chunk = chunk or max(1, min(8, -(-repeat // (2 * workers))))
    sizes = [chunk] * (repeat // chunk)
    if repeat % chunk:
        sizes.append(repeat % chunk)
    return sizes


def preferred_workers(tree_key: str, warm: Mapping[str, str], workers: Sequence[str]) -> list[str]:
    """Workers that last built `tree_key` first, then the others (a stable order)."""
    have = [w for w in workers if warm.get(w) == tree_key]
    return have + [w for w in workers if w not in have]


def nearest_worker(
    position: int, warm_positions: Mapping[str, int], workers: Sequence[str], busy: Sequence[str] = ()
) -> str | None:
    """The idle worker whose last built commit is nearest `position` (fewest files to recompile).

    A worker that built nothing yet counts as far away; None when every worker is busy.
    """
    idle = [w for w in workers if w not in busy]
    if not idle:
        return None
    far = 1 << 30
    return min(idle, key=lambda w: (abs(warm_positions.get(w, far) - position), w))
