"""A bisect given a record of the test from elsewhere (--bad-record, --good-record, or the runs
`patchtool test` stored), simulated: the record counted to the end, against the driver's way, which
sets a record aside once the search stops and its own runs on that side of the commit it names
contradict it (records.records_against, Fisher p < 0.01), and goes on from those runs without it.

A record may be honest (--honest BAD_RUNS:GOOD_RUNS: drawn from the cell's own p and q, so a set
aside is a false alarm that costs runs) or not (--bad-record F/R, --good-record F/R as given: from
another machine, load or way of running the test). Printed per cell and way: wrong answers (with
the 95 % Wilson upper bound), the expected error (bench/bisect.py's Oracle.doubt), the mean cost
(runs + 10 * builds), how many searches set a record aside and how many of those were wrong.

The third way, "driver" (--ways), is the driver's whole loop (driver.search_and_confirm): the
search, the confirmation's fresh runs at the commit named and its parent (where a record counts,
until their own runs differ), the records checked after them, and the searches again. Its cost
counts the confirmation's runs, and it also prints the searches that ended NOT confirmed (the
bisect's exit 1) and those that ended confirmed on a wrong commit.

Usage: python bench/bisect_records.py --cell 32:0.3:0 --bad-record 20/20 --trials 400 --seed 7 \
           --ways "counted,set aside,driver"
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
from patchtool.bisection.model import StopReason, Strategy  # noqa: E402
from patchtool.bisection.records import SURE_DOUBT, records_against, sure_counts, without  # noqa: E402
from patchtool.bisection.stats import (  # noqa: E402
    fisher_more,
    judge_confirmation,
    next_confirmation_run,
    next_contrast_run,
)
from patchtool.testrun.stats import wilson_interval  # noqa: E402

Counts = tuple[int, int]
MAX_CYCLES = 3  # driver._MAX_CYCLES


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


def search_and_confirm(
    sim: object, cell: object, oracle: object, bad: Counts, good: Counts
) -> tuple[int | None, bool, bool]:
    """As driver.search_and_confirm, one run at a time: search (a record set aside as it goes);
    once confident, fresh runs at the commit named and its parent as the confirmation plan asks
    (stats.confirmation_plan from the search's runs alone), folded into the posterior; a record the
    runs on its side of the top candidate then contradict is set aside and the search goes on;
    else it searches again while the confirmation moved the top candidate or its confidence (at
    most driver._MAX_CYCLES rounds). The culprit named, whether the confirmation held (the
    bisect's exit 0 with it), and whether a record was set aside."""
    seen: list[tuple[int, bool, str]] = []
    confirm_runs: dict[int, list[int]] = {}
    records, aside = (bad, good), False

    def state_now(phases: tuple[str, ...] = ("search", "confirm")) -> BisectState:
        bad_record, good_record = records
        strategy = Strategy(
            build_cost_in_runs=10.0,
            max_runs=sim.MAX_RUNS,  # type: ignore[attr-defined]
            bad_record=bad_record,
            good_record=good_record,
        )
        state = BisectState(cell.history, strategy)  # type: ignore[attr-defined]
        for index, failed, phase in seen:
            if phase in phases:
                state.observe(index, failed)
        return state

    def run(state: BisectState, index: int, phase: str) -> None:
        failed = oracle.run(index)  # type: ignore[attr-defined]
        state.observe(index, failed)
        seen.append((index, failed, phase))
        if phase == "confirm":
            counts = confirm_runs.setdefault(index, [0, 0])
            counts[0], counts[1] = counts[0] + failed, counts[1] + 1

    state, confirmed, cycles = state_now(), False, 0
    while cycles < MAX_CYCLES:
        while (probe := state.next_probe()) is not None:
            run(state, probe.index, "search")
            if found := records_against(*records, sure_counts(state), SURE_DOUBT):
                records, aside = without(*records, found), True
                state = state_now()
        held = confident = state.stop_reason() == StopReason.CONFIDENT
        confirmed = False
        if confident:
            culprit = state.top_candidate()[0]
            plan = (state_now(("search",)) if confirm_runs else state).result().confirmation_plan(culprit)
            parent = state.parent_of(culprit)
            counted = bool(records[0][1] or records[1][1])
            while True:
                fresh = tuple(confirm_runs.get(parent, [0, 0])), tuple(confirm_runs.get(culprit, [0, 0]))
                contrast = fisher_more(state.counts(culprit), state.counts(parent)) if counted else None
                wanted = next_confirmation_run(plan, fresh[0], (plan.culprit_failures, 0))
                wanted = wanted or next_confirmation_run(plan, (0, plan.parent_runs), fresh[1])
                wanted = wanted or next_contrast_run(plan, *fresh, contrast)
                if wanted is None:
                    break
                run(state, parent if wanted == "parent" else culprit, "confirm")
            confirmed = judge_confirmation(plan, *fresh, contrast).confirmed
            held = state.stop_reason() == StopReason.CONFIDENT and state.top_candidate()[0] == culprit
        if found := records_against(*records, state.side_counts(state.top_candidate()[0])):
            records, aside, confirmed = without(*records, found), True, False
            state = state_now()
            continue
        if held or not confident:
            break
        cycles += 1
    return state.result().culprit, confirmed, aside


def _counts(text: str | None) -> Counts:
    if not text:
        return 0, 0
    fails, runs = (int(x) for x in text.split("/"))
    return fails, runs


WAYS = ("counted", "set aside", "driver")


def _ways(text: str) -> tuple[str, ...]:
    ways = tuple(way.strip() for way in text.split(","))
    if not ways or any(way not in WAYS for way in ways):
        raise argparse.ArgumentTypeError(f"{text!r}: each way must be one of {', '.join(WAYS)}")
    return ways


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", action="append", required=True, help="N:p:q or dag:... (repeatable)")
    ap.add_argument("--bad-record", help="F/R at the bad end, as given")
    ap.add_argument("--good-record", help="F/R on good commits, as given")
    ap.add_argument("--honest", help="BAD_RUNS:GOOD_RUNS: records drawn from the cell's own p and q")
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument(
        "--ways",
        type=_ways,
        default=WAYS[:2],
        help=f"comma-separated, of {', '.join(WAYS)} (default: the first two); 'driver' is the driver's"
        " whole loop: the search, the confirmation runs, the records checked after them, searches again",
    )
    args = ap.parse_args()
    sim = _simulator()
    for spec in args.cell:
        cell = sim.parse_cell(spec)  # type: ignore[attr-defined]
        for way in args.ways:
            wrong = asides = wrong_aside = unconfirmed = wrong_found = 0
            doubt, costs = 0.0, []
            for t in range(args.trials):
                oracle = sim.Oracle(cell, args.seed + t)  # type: ignore[attr-defined]
                bad, good = _counts(args.bad_record), _counts(args.good_record)
                if args.honest:
                    draw = random.Random(args.seed * 7919 + t)
                    nb, ng = (int(x) for x in args.honest.split(":"))
                    bad = sum(draw.random() < cell.p for _ in range(nb)), nb
                    good = sum(draw.random() < cell.q for _ in range(ng)), ng
                if way == "driver":
                    named, confirmed, aside = search_and_confirm(sim, cell, oracle, bad, good)
                else:
                    named, aside = search(sim, cell, oracle, bad, good, way == "set aside")
                    confirmed = True
                miss = named != oracle.culprit
                unconfirmed += named is not None and not confirmed
                wrong_found += miss and named is not None and confirmed
                wrong, asides, wrong_aside = wrong + miss, asides + aside, wrong_aside + (miss and aside)
                doubt += oracle.doubt(named) if named is not None else 1.0
                costs.append(oracle.runs + 10 * len(oracle.built))
            upper = wilson_interval(wrong, args.trials)[1]
            given = f"honest {args.honest}" if args.honest else f"bad {args.bad_record or '-'}"
            given += "" if args.honest else f" good {args.good_record or '-'}"
            confirmed = f"; NOT confirmed {unconfirmed}, wrong and confirmed {wrong_found}"
            print(
                f"{spec} {given} {way:9}: wrong {wrong}/{args.trials} "
                f"(upper {100 * upper:.1f} %, expected {100 * doubt / args.trials:.2f} %), cost "
                f"{statistics.mean(costs):.1f}, set aside {asides}, wrong among them {wrong_aside}"
                + (confirmed if way == "driver" else ""),
                flush=True,
            )


if __name__ == "__main__":
    main()
