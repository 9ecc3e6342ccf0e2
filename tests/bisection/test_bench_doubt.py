"""The benchmark's expected-error estimate (Oracle.doubt): what it says is what chance does."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "bisect.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_bisect_under_test", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    yield module
    del sys.modules[spec.name]


def _brute(cell, oracle, named: int) -> float:
    """1 - P(named | runs) by the definition: every candidate, every tested position."""
    hist = cell.history
    candidates = cell.side or range(1, hist.n + 1)
    weights = {}
    for c in candidates:
        like = 1.0
        for pos, runs in oracle.tried.items():
            rate = cell.p if hist.is_ancestor(c, pos) else cell.q
            f = oracle.fails[pos]
            like *= rate**f * (1 - rate) ** (runs - f)
        weights[c] = like
    return 1 - weights.get(named, 0.0) / sum(weights.values())


@pytest.mark.parametrize("spec", ["12:0.6:0.2", "9:0.5:0", "7:1:0.3", "dag:2:2:2:0.7:0.1"])
def test_the_doubt_is_the_posterior_of_the_answer_by_brute_force(bench, spec):
    cell = bench.parse_cell(spec)
    for seed in range(6):
        oracle = bench.Oracle(cell, seed)
        hist = cell.history
        for pos in range(hist.n + 1):  # a few runs everywhere, the ends included
            for _ in range(1 + (seed + pos) % 3):
                oracle.run(pos)
        for named in (oracle.culprit, hist.n, 1):
            got, want = oracle.doubt(named), _brute(cell, oracle, named)
            assert not math.isnan(got)
            assert got == pytest.approx(want, abs=1e-9)


def test_the_mean_doubt_matches_the_error_rate_it_estimates(bench):
    """A loose m-of-k rule is wrong often; over many seeded trials the mean doubt of its answers
    agrees with the fraction it got wrong (within sampling error), on a line and on a DAG."""
    for spec, rule in (("40:0.5:0.1", (3, 1)), ("dag:2:3:2:0.6:0.1", (2, 1))):
        cell = bench.parse_cell(spec)
        wrong, doubt, trials = 0, 0.0, 1500
        for seed in range(trials):
            oracle = bench.Oracle(cell, 10_000 + seed)
            named = bench.strategy_mofk(oracle, rule)
            wrong += named != oracle.culprit
            doubt += oracle.doubt(named)
        rate, expected = wrong / trials, doubt / trials
        assert 0.1 < rate < 0.9  # the rule is loose enough that the comparison means something
        spread = math.sqrt(expected * (1 - expected) / trials)
        assert abs(rate - expected) < 3.5 * spread, (spec, rate, expected)


def test_the_report_grids_are_what_their_stated_rule_draws(bench) -> None:
    """report3 to report10 were drawn, one round each, by the rule in draw_grid from
    random.Random(20261201) onwards: the grids written into the bench are that draw (report3 in
    another order), so none was picked by hand."""
    names = ("report3", "report4", "report5", "report6", "report7", "report8", "report9", "report10")
    for k, name in enumerate(names):
        cells, base = bench.draw_grid(20261201 + k)
        written, written_base = bench.GRIDS[name]
        assert sorted(written) == sorted(cells) and written_base == base, name


def test_the_corner_grids_are_their_draws_and_stay_in_their_corners(bench) -> None:
    """highq1, lowp1 and nearq1 are the draws of their corners' rules (not picked by hand), and
    every cell those rules draw is in its corner and in the issue's range: p in [0.05, 1],
    q <= 0.3 and q < p; near-q cells have q >= p / 2 (to the rounding of q), so p <= 0.6."""
    for name, corner, seed in (("highq1", "high-q", 20261204), ("lowp1", "low-p", 20261205),
                               ("nearq1", "near-q", 20261206)):  # fmt: skip
        assert bench.draw_grid(seed, corner) == bench.GRIDS[name], name
    for seed in range(500, 600):
        for corner in ("high-q", "low-p", "near-q"):
            for spec in bench.draw_grid(seed, corner)[0]:
                p, q = (float(x) for x in spec.split(":")[-2:])
                assert 0.05 <= p <= 1 and 0 <= q <= 0.3 and q < p, (corner, spec)
                if corner == "near-q":
                    assert q >= p / 2 - 0.005 and p <= 0.6, spec
                if corner == "low-p":
                    assert p <= 0.15 and (q == 0 or q >= 0.02), spec


@pytest.mark.parametrize("spec", ["40:0.5:0", "30:0.6:0.15", "dag:3:2:3:0.5:0", "20:1:0"])
def test_the_told_search_measures_neither_rate_and_is_right_at_its_confidence(bench, spec) -> None:
    """patchtool told p and q (the m-of-k rule's knowledge) calibrates neither end, and its stop is
    the exact posterior: every answer holds the asked 99 % under the true rates."""
    from patchtool.bisection.model import ProbeReason

    cell = bench.parse_cell(spec)
    doubts, reasons = [], set()
    for seed in range(60):
        oracle = bench.Oracle(cell, 4242 + seed)
        state = bench.told_state(cell)
        while (probe := state.next_probe()) is not None:
            reasons.add(probe.reason)
            state.observe(probe.index, oracle.run(probe.index))
        named = state.result().culprit
        assert named is not None and 0 not in oracle.tried
        doubts.append(oracle.doubt(named))
    assert not reasons & {ProbeReason.CALIBRATE_BAD, ProbeReason.CALIBRATE_GOOD}
    assert max(doubts) < 0.0101  # each stop held the confidence under the true rates


@pytest.mark.parametrize("spec", ["64:0.08:0", "200:0.4:0", "dag:3:2:3:0.2:0"])
def test_the_learning_rule_holds_its_error_whatever_p_is_and_pays_to_learn_it(bench, spec) -> None:
    """The 1-of-n rule told q = 0 but not p: its clean-run count follows the runs it needed per
    failure at bad commits, so its expected error (mean doubt under the true rates) stays under
    1 % at a low and a high p, and it costs more than the m-of-k rule told p."""
    cell = bench.parse_cell(spec)
    rule = bench.tune_rule(cell.history.n, cell.p, cell.q)
    trials = 300
    learning, doubt = _trials(bench, cell, bench.strategy_learning_rule, None, range(7_000, 7_000 + trials))
    told, _ = _trials(bench, cell, bench.strategy_mofk, rule, range(7_000, 7_000 + trials))
    assert doubt / trials < 0.01, spec
    assert 1.2 < learning / told < 2.5, (spec, learning / told)


def _trials(bench, cell, strategy, rule, seeds) -> tuple[float, float]:
    """(total cost, total doubt) of ``strategy`` over the trials of ``seeds``."""
    cost = doubt = 0.0
    for seed in seeds:
        oracle = bench.Oracle(cell, seed)
        named = strategy(oracle, rule)
        cost += oracle.runs + bench.BUILD_COST * len(oracle.built)
        doubt += oracle.doubt(named) if named is not None else 1.0
    return cost, doubt


@pytest.mark.parametrize("spec", ["64:0.08:0", "200:0.4:0", "dag:3:2:3:0.2:0"])
def test_the_deferred_rule_confirms_only_what_its_answer_rests_on_and_pays_less(bench, spec) -> None:
    """The learning rule with its good verdicts taken for now and confirmed at the end: on the same
    trials its expected error stays under 1 % (with no confirmation it would not), and it costs
    less than the learning rule, which runs every probe to the count an answer needs."""
    cell = bench.parse_cell(spec)
    trials = 300
    deferred, doubt = _trials(bench, cell, bench.strategy_deferred_rule, None, range(9_100, 9_100 + trials))
    learning, _ = _trials(bench, cell, bench.strategy_learning_rule, None, range(9_100, 9_100 + trials))
    assert doubt / trials < 0.01, spec
    assert deferred < 0.9 * learning, (spec, deferred / learning)


def test_a_rule_that_must_also_hold_at_a_small_q_is_the_cheapest_that_does(bench) -> None:
    """tune_rule with also_q: at most 1 % wrong at both q, and no rule that is costs less at the
    cell's own q (checked against every (k, m) up to the found k); here it needs m = 2."""
    n, p = 12, 0.4
    told = bench.tune_rule(n, p, 0.0)
    robust = bench.tune_rule(n, p, 0.0, 0.02)
    assert told is not None and robust is not None and told[1] == 1 and robust[1] >= 2
    cost = bench.rule_error_and_cost(n, *robust, p, 0.0)[1]
    assert bench.rule_error_and_cost(n, *robust, p, 0.02)[0] <= 0.01
    assert bench.rule_error_and_cost(n, *robust, p, 0.0)[0] <= 0.01
    for k in range(1, robust[0] + 1):
        for m in range(1, k + 1):
            err0, cost0 = bench.rule_error_and_cost(n, k, m, p, 0.0)
            if err0 <= 0.01 and bench.rule_error_and_cost(n, k, m, p, 0.02)[0] <= 0.01:
                assert cost0 >= cost - 1e-9, (k, m)
    assert cost > bench.rule_error_and_cost(n, *told, p, 0.0)[1]


@pytest.mark.parametrize("text", ["x", "0.01,", "1", "-0.1", "0.01,1.5"])
def test_rule_robust_to_refuses_what_is_not_a_list_of_rates(bench, text) -> None:
    """--rule-robust-to takes rates in [0, 1): anything else is argparse's one error, not a trace."""
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        bench._rates(text)
    assert bench._rates("0,0.005,0.3") == [0.0, 0.005, 0.3]


def test_the_search_told_q_is_zero_or_q1_pays_at_zero_for_staying_right_at_q1(bench) -> None:
    """patchtool-q-or: told p, and that q is 0 or Q1 (half the prior on each). It calibrates
    neither end; its exact-posterior stop holds 99 % over that prior, so the two cells' mean
    doubts average at most 1 %; and where q is 0 it pays more than the search told q = 0."""
    from patchtool.bisection.model import ProbeReason

    doubts, costs = [], []
    for spec in ("30:0.5:0", "30:0.5:0.1"):
        cell, reasons = bench.parse_cell(spec), set()
        cost = doubt = 0.0
        for seed in range(150):
            oracle = bench.Oracle(cell, 5_300 + seed)
            state = bench.told_state(cell, (0.1, 0.5))
            while (probe := state.next_probe()) is not None:
                reasons.add(probe.reason)
                state.observe(probe.index, oracle.run(probe.index))
            named = state.result().culprit
            assert named is not None
            cost += oracle.runs + bench.BUILD_COST * len(oracle.built)
            doubt += oracle.doubt(named)
        assert not reasons & {ProbeReason.CALIBRATE_BAD, ProbeReason.CALIBRATE_GOOD}, spec
        doubts.append(doubt / 150)
        costs.append(cost)
    assert (doubts[0] + doubts[1]) / 2 < 0.0101, doubts
    told, _ = _trials(
        bench, bench.parse_cell("30:0.5:0"), bench.strategy_patchtool_told, None, range(5_300, 5_450)
    )
    assert costs[0] > 1.05 * told, costs[0] / told


@pytest.mark.parametrize("text", ["x", "0", "1", "0.1:0", "0.1:1", "0.1:x"])
def test_q_or_refuses_what_is_not_a_rate_and_a_weight(bench, text) -> None:
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        bench._q_or(text)
    assert bench._q_or("0.03") == (0.03, 0.5) and bench._q_or("0.03:0.2") == (0.03, 0.2)
