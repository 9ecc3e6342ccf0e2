"""A floor under the cost of any flaky bisect that is right in every cell, beside the told rule.

Issue 14 asks for a search at most 1 % wrong in every cell of p from 0.05 to 1 and q from 0 to
0.3 (q < p), p and q unknown, costing at most 1.4x the m-of-k rule told the true p and q. For a
line cell N:p:q this prints a floor under the mean cost (runs + 10 * builds) of every search that
is at most 1 % wrong wherever the culprit is, in every such cell, beside the told rule's cost.
Where the rule costs under the floor / 1.4 (rule / floor below 0.71), no search could meet
both clauses there.

* **Runs** (the change-of-measure bound: Kaufmann, Cappé and Garivier, "On the complexity of
  best-arm identification", JMLR 2016, lemma 1). With culprit c, p and q, the runs a search
  expects at each commit, each weighed by how differently that commit fails in another cell of
  the range with the culprit one commit earlier or later (any p' and q' there), must add up to
  kl(0.99, 0.01) nats, or the search names c there as often as here, and is wrong there over
  1 % of the time. Runs are grouped per culprit as at its parent (the good end when c = 1), at
  the other commits before it, at the culprit and after it; the floor is the least mean over
  the uniform culprit, a linear programme over a grid of p' and q' (fewer alternatives than all:
  the floor is a little low, never high).
* **Builds** (Fano): a commit's runs tell only on which side of it the culprit is, one bit at
  most, and naming one of N culprits at most 1 % wrong takes log2 N - h(0.01) - 0.01 log2(N - 1)
  bits: at least that many commits between the ends are built, on average.

The two floors hold for the same search at once, so their sum is a floor of its cost. It is a
floor, not a design: it lets a search spend its runs where one that knew the culprit would. A
cell's error is its mean over the culprit: a search may be worse than 1 % at some culprits and
better at others, which this floor does not allow for. Line cells only.

Usage: python bench/bisect_bound.py --cell 16:0.05:0 --cell 32:0.28:0 --cost 16:0.05:0=676.3
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py, beside this file, is named like the stdlib module: drop this directory from the
# import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import linprog  # noqa: E402

P_MIN, Q_MAX, ERROR = 0.05, 0.3, 0.01


def kl(a: float, b: float) -> float:
    """KL(Bernoulli(a) || Bernoulli(b)) in nats (inf where b cannot produce what a does)."""
    out = 0.0
    for x, y in ((a, b), (1.0 - a, 1.0 - b)):
        if x > 0.0:
            if y <= 0.0:
                return math.inf
            out += x * math.log(x / y)
    return out


def _rates(low: float, high: float, count: int) -> list[float]:
    """A grid from low to high, dense near both ends (where kl changes fastest)."""
    if high <= low:
        return [low]
    inner = [low + (high - low) * (1 - math.cos(math.pi * i / (count - 1))) / 2 for i in range(count)]
    near = [low + (high - low) * 10.0**-e for e in range(2, 7)]
    return sorted({*inner, *near, high - (high - low) * 1e-4})


def runs_floor(n: int, p: float, q: float, grid: int = 60) -> tuple[float, list[float]]:
    """(floor of the mean runs, the floor's runs per role for an inner culprit: parent, before,
    culprit, after)."""
    need = kl(1.0 - ERROR, ERROR)
    # variables: inner culprit (parent, before, culprit, after), c = 1 (parent = good end,
    # culprit, after), c = n (parent, before, culprit = bad end); each held to its own error
    inner_w, edge_w = (n - 2) / n, 1.0 / n
    cost = [inner_w] * 4 + [edge_w] * 3 + [edge_w] * 3
    rows: list[list[float]] = []
    p_grid = sorted({*_rates(max(P_MIN, q), 1.0 - 1e-9, grid), max(p, P_MIN)})
    for p2 in p_grid:
        q_grid = sorted({0.0, q, *_rates(1e-6, min(Q_MAX, p2) * (1 - 1e-6), grid)})
        for q2 in q_grid:
            if q2 >= p2:
                continue
            kq2, kqp2, kpq2, kpp2 = kl(q, q2), kl(q, p2), kl(p, q2), kl(p, p2)
            # the culprit one earlier: the parent fails at p2, the rest before at q2, the culprit
            # and after at p2 (c >= 2)
            early_inner = [kqp2, kq2, kpp2, kpp2]
            early_last = [kqp2, kq2, kpp2]
            # one later: the culprit fails at q2 with all before it, the rest at p2 (c <= n - 1)
            late_inner = [kq2, kq2, kpq2, kpp2]
            late_first = [kq2, kpq2, kpp2]
            for coeffs, at in ((early_inner, 0), (late_inner, 0), (early_last, 7), (late_first, 4)):
                if not all(math.isfinite(x) for x in coeffs):
                    continue  # an infinite weight is met by any run there (a looser floor)
                row = [0.0] * 10
                row[at : at + len(coeffs)] = [-x for x in coeffs]
                rows.append([*row, need])
    a = np.array([r[:-1] for r in rows])
    b = np.array([-r[-1] for r in rows])
    res = linprog(cost, A_ub=a, b_ub=b, bounds=[(0, None)] * 10, method="highs")
    if not res.success:
        raise RuntimeError(f"{n}:{p}:{q}: {res.message}")
    return float(res.fun), [float(x) for x in res.x[:4]]


def builds_floor(n: int) -> float:
    """Fano: commits between the ends a search must build on average to name the culprit."""
    h = -ERROR * math.log2(ERROR) - (1 - ERROR) * math.log2(1 - ERROR)
    return max(0.0, math.log2(n) - h - ERROR * math.log2(max(n - 1, 1)))


def _bench_bisect() -> object:
    path = Path(__file__).with_name("bisect.py")
    spec = importlib.util.spec_from_file_location("bench_bisect", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bisect"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", action="append", required=True, help="N:p:q (repeatable)")
    parser.add_argument("--grid", type=int, default=60, help="alternative rates per axis")
    parser.add_argument(
        "--cost",
        action="append",
        default=[],
        metavar="CELL=COST",
        help="a search's measured mean cost in the cell, shown against the floor (repeatable)",
    )
    args = parser.parse_args()
    measured = dict(item.split("=", 1) for item in args.cost)
    bench = _bench_bisect()
    print(
        "| cell | floor: runs (parent, before, culprit, after) | builds | cost | rule told p, q | "
        "rule / floor | measured / floor |"
    )
    print("|---|---|---|---|---|---|---|")
    for spec in args.cell:
        parts = spec.split(":")
        if len(parts) != 3:
            sys.exit(f"bisect_bound: cell {spec!r}: line cells only (N:p:q)")
        try:
            n, p, q = int(parts[0]), float(parts[1]), float(parts[2])
        except ValueError:
            sys.exit(f"bisect_bound: cell {spec!r}: N:p:q wants an integer and two rates")
        if n < 3 or not (P_MIN <= p <= 1.0 and 0.0 <= q <= Q_MAX and q < p):
            sys.exit(
                f"bisect_bound: cell {spec!r}: outside the issue's range (N >= 3, 0.05 <= p, q <= 0.3, q < p)"
            )
        runs, roles = runs_floor(n, p, q, args.grid)
        builds = builds_floor(n)
        floor = runs + bench.BUILD_COST * builds
        rule = bench.tune_rule(n, p, q)
        if rule is None:
            rule_text, ratio = "none", "-"
        else:
            rule_cost = bench.rule_error_and_cost(n, *rule, p, q)[1]
            rule_text, ratio = f"{rule[1]}-of-{rule[0]}: {rule_cost:.1f}", f"{rule_cost / floor:.2f}"
        mine = f"{float(measured[spec]) / floor:.2f}" if spec in measured else "-"
        role_text = ", ".join(f"{x:.1f}" for x in roles)
        cells = [spec, f"{runs:.1f} ({role_text})", f"{builds:.2f}", f"{floor:.1f}", rule_text, ratio, mine]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
