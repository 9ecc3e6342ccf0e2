"""The commit graph a bisection searches: positions, parents and ancestor sets (pure, no git).

Position 0 is the known-good commit; 1..n are the candidates in a topological order (parents
before children) and n is the known-bad commit, which descends from every candidate. "Culprit c"
means a commit is bad exactly when c is among its ancestors (itself included): on a line that is
"position >= c", on a merge history the descendants of c, wherever the listing put them.

Ancestor sets are Python integers used as bit sets (bit i = position i), so splitting the
candidates by "is an ancestor of x" is one AND and a popcount, even for thousands of commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

GOOD_END = 0


class History:
    """Positions 0..n with their parents inside the range (the good end has none)."""

    def __init__(self, parents: Sequence[Sequence[int]]) -> None:
        n = len(parents) - 1
        if n < 1:
            raise ValueError("need at least one candidate commit")
        if parents[0]:
            raise ValueError("the good end has no parents in the range")
        self.n = n
        self.parents: tuple[tuple[int, ...], ...] = tuple(tuple(p) for p in parents)
        children: list[list[int]] = [[] for _ in range(n + 1)]
        anc = [0] * (n + 1)
        for i in range(1, n + 1):
            mask = 1 << i
            for p in self.parents[i]:
                if not 0 <= p < i:
                    raise ValueError(f"position {i}: parent {p} is not listed before it")
                mask |= anc[p]
                children[p].append(i)
            anc[i] = mask & ~1  # the good end (bit 0) is known good, never a candidate
        if anc[n] != (1 << (n + 1)) - 2:
            raise ValueError("the bad end must descend from every candidate")
        self.children: tuple[tuple[int, ...], ...] = tuple(tuple(c) for c in children)
        self._anc = anc
        self.is_chain = all(self.parents[i] == (i - 1,) for i in range(1, n + 1))

    @classmethod
    def chain(cls, n: int) -> History:
        """A linear history of n candidates (every commit's parent is the one before it)."""
        if n < 1:
            raise ValueError("need at least one candidate commit")
        return cls([(), *[(i - 1,) for i in range(1, n + 1)]])

    @classmethod
    def merged_branches(
        cls, rounds: int, branches: int, length: int
    ) -> tuple[History, tuple[int, ...], tuple[int, ...]]:
        """Rounds of parallel branches forked from the main line and merged into it one after
        another, as QEMU's master is made of pull requests: (history, side commits, main line).

        Positions are listed branch by branch, then the merges: a listing where commits after the
        culprit (in position order) do not descend from it. Used by the tests and bench/bisect.py.
        """
        parents: list[tuple[int, ...]] = [()]
        side: list[int] = []
        main = [0]
        for _ in range(rounds):
            fork, tips = main[-1], []
            for _ in range(branches):
                prev = fork
                for _ in range(length):
                    parents.append((prev,))
                    prev = len(parents) - 1
                    side.append(prev)
                tips.append(prev)
            for tip in tips:
                parents.append((main[-1], tip))
                main.append(len(parents) - 1)
        return cls(parents), tuple(side), tuple(main)

    def ancestors(self, index: int) -> int:
        """Bit set of the candidates that are ancestors of ``index`` (itself included)."""
        return self._anc[index]

    def is_ancestor(self, a: int, b: int) -> bool:
        """Whether candidate ``a`` is an ancestor of (or is) position ``b``."""
        return bool(self._anc[b] >> a & 1)

    def splits(self, group: int, positions: Iterable[int]) -> bool:
        """Whether a run at one of ``positions`` can tell candidates of ``group`` (a bit set)
        apart: it descends from some of them but not all."""
        size = group.bit_count()
        return any(0 < (self.ancestors(t) & group).bit_count() < size for t in positions)

    def first_parent(self, index: int) -> int:
        """The first parent inside the range (the good end when there is none)."""
        parents = self.parents[index]
        return parents[0] if parents else GOOD_END


def members(mask: int) -> list[int]:
    """The positions whose bits are set, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out
