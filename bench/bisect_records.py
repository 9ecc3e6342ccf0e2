"""A bisect given a record of the test from elsewhere (--bad-record, --good-record, or the runs
`patchtool test` stored), simulated: the record counted to the end, against the driver's way, which
sets a record aside once the search stops and its own runs on that side of the commit it names
contradict it (records.records_against, Fisher p < 0.01), and goes on from those runs without it.

A record may be honest (--honest BAD_RUNS:GOOD_RUNS: drawn from the cell's own p and q, so a set
aside is a false alarm that costs runs) or not (--bad-record F/R, --good-record F/R as given: from
another machine, load or way of running the test). Printed per cell and way: wrong answers (with
the 95 % Wilson upper bound), the expected error (bench/bisect.py's Oracle.doubt), the mean cost
(runs + 10 * builds), how many searches set a record aside and how many of those were wrong.

Usage: python bench/bisect_records.py --cell 32:0.3:0 --bad-record 20/20 --trials 400 --seed 7
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py, beside this file, is named like the stdlib module: drop this directory from the
# import path before anything imports `bisect`.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchtool.bisection.core import BisectState  # noqa: E402
from patchtool.bisection.model import Strategy  # noqa: E402
from patchtool.bisection.records import SURE_DOUBT, records_against, sure_counts, without  # noqa: E402
from patchtool.testrun.stats import wilson_interval  # noqa: E402

Counts = tuple[int, int]


def _simulator() -> object:
    """bench/bisect.py (its cells, Oracle and MAX_RUNS), loaded by path."""
    spec = importlib.util.spec_from_file_location("bench_bisect", Path(__file__).with_name("bisect.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bisect"] = module
    spec.loader.exec_module(module)
    return module


def search(
    sim: object, cell: object, oracle: object, bad: Counts, good: Counts, set_aside: bool
) -> tuple[int | None, bool]:
    """The core's search with the records (bad, good); with ``set_aside``, as the driver: after
    each run, a record its own runs at the commits whose side it is sure of contradict is left out
    (records.sure_counts), and once it stops, one its runs on each side of the commit it names
    contradict; its runs are replayed into a state without it, and the search goes on. The culprit
    named, and whether a record was set aside."""
    seen: list[tuple[int, bool]] = []
    records, aside = (bad, good), False

    def state_now() -> BisectState:
        limit = sim.MAX_RUNS  # type: ignore[attr-defined]
        bad_record, good_record = records
        strategy = Strategy(
            build_cost_in_runs=10.0, max_runs=limit, bad_record=bad_record, good_record=good_record
        )
        state = BisectState(cell.history, strategy)  # type: ignore[attr-defined]
        for index, failed in seen:
            state.observe(index, failed)
        return state

    state = state_now()
    while True:
        while (probe := state.next_probe()) is not None:
            failed = oracle.run(probe.index)  # type: ignore[attr-defined]
            state.observe(probe.index, failed)
            seen.append((probe.index, failed))
            if set_aside and (found := records_against(*records, sure_counts(state), SURE_DOUBT)):
                records, aside = without(*records, found), True
                state = state_now()
        found = records_against(*records, state.side_counts(state.top_candidate()[0])) if set_aside else ()
        if not found:
            return state.result().culprit, aside
        records, aside = without(*records, found), True
        state = state_now()


def _counts(text: str | None) -> Counts:
    if not text:
        return 0, 0
    fails, runs = (int(x) for x in text.split("/"))
    return fails, runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", action="append", required=True, help="N:p:q or dag:... (repeatable)")
    ap.add_argument("--bad-record", help="F/R at the bad end, as given")
    ap.add_argument("--good-record", help="F/R on good commits, as given")
    ap.add_argument("--honest", help="BAD_RUNS:GOOD_RUNS: records drawn from the cell's own p and q")
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args()
    sim = _simulator()
    for spec in args.cell:
        cell = sim.parse_cell(spec)  # type: ignore[attr-defined]
        for way in ("counted", "set aside"):
            wrong = asides = wrong_aside = 0
            doubt, costs = 0.0, []
            for t in range(args.trials):
                oracle = sim.Oracle(cell, args.seed + t)  # type: ignore[attr-defined]
                bad, good = _counts(args.bad_record), _counts(args.good_record)
                if args.honest:
                    draw = random.Random(args.seed * 7919 + t)
                    nb, ng = (int(x) for x in args.honest.split(":"))
                    bad = sum(draw.random() < cell.p for _ in range(nb)), nb
                    good = sum(draw.random() < cell.q for _ in range(ng)), ng
                named, aside = search(sim, cell, oracle, bad, good, way == "set aside")
                miss = named != oracle.culprit
                wrong, asides, wrong_aside = wrong + miss, asides + aside, wrong_aside + (miss and aside)
                doubt += oracle.doubt(named) if named is not None else 1.0
                costs.append(oracle.runs + 10 * len(oracle.built))
            upper = wilson_interval(wrong, args.trials)[1]
            given = f"honest {args.honest}" if args.honest else f"bad {args.bad_record or '-'}"
            given += "" if args.honest else f" good {args.good_record or '-'}"
            print(
                f"{spec} {given} {way:9}: wrong {wrong}/{args.trials} "
                f"(upper {100 * upper:.1f} %, expected {100 * doubt / args.trials:.2f} %), cost "
                f"{statistics.mean(costs):.1f}, set aside {asides}, wrong among them {wrong_aside}",
                flush=True,
            )


if __name__ == "__main__":
    main()
