"""The bisection core on commit graphs: merge histories, seeded random probes, p and q unknown."""

from __future__ import annotations

import random

import pytest

from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import GOOD_END, History
from patchtool.bisection.model import ProbeReason, StopReason, Strategy
from patchtool.bisection.records import RecordAgainst, records_against, sure_counts
from patchtool.bisection.stats import binomial_quantile, fisher_p


def search(history: History, culprit: int, p: float, q: float, seed: int) -> BisectState:
    rng = random.Random(seed)
    state = BisectState(history, Strategy())
    while (probe := state.next_probe()) is not None:
        rate = p if history.is_ancestor(culprit, probe.index) else q
        state.observe(probe.index, rng.random() < rate)
    return state


def test_history_ancestry_and_chain() -> None:
    history, side, main = History.merged_branches(2, 2, 3)
    assert not history.is_chain and History.chain(5).is_chain
    first_branch_tip = side[2]
    merge = main[1]
    assert history.is_ancestor(side[0], first_branch_tip) and history.is_ancestor(side[0], merge)
    assert not history.is_ancestor(side[3], merge)  # the second branch merges later
    assert history.is_ancestor(side[3], history.n)
    assert history.first_parent(merge) == main[0]
    with pytest.raises(ValueError):
        History([(), (0,), (0,)])  # two tips: the bad end must descend from every candidate


def test_a_commit_listed_after_the_culprit_but_not_descending_stays_a_candidate() -> None:
    history, side, main = History.merged_branches(1, 2, 2)
    culprit, unrelated = side[0], side[2]  # unrelated: the second branch, listed after the culprit
    state = BisectState(history, Strategy(q_zero_weight=1.0))
    for _ in range(3):
        state.observe(history.n, True)
    state.observe(culprit, True)
    # One failure at the culprit (good commits never fail here) convicts its descendants only.
    assert state.prob_bad(side[1]) == pytest.approx(1.0)
    assert state.prob_bad(unrelated) < 0.9
    state.observe(main[1], True)  # the first merge contains the culprit
    assert sum(state.posterior()[c] for c in (side[2], side[3])) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_culprit_on_a_side_branch_is_named_not_the_merge(seed: int) -> None:
    history, side, _ = History.merged_branches(3, 3, 4)
    culprit = random.Random(seed).choice(side)
    state = search(history, culprit, 0.5, 0.0, seed=1000 + seed)
    result = state.result()
    assert result.stop_reason is StopReason.CONFIDENT
    assert result.culprit == culprit
    assert result.builds < len(side) // 2


def test_merge_history_error_within_confidence_when_good_commits_fail_too() -> None:
    history, side, _ = History.merged_branches(3, 3, 4)
    trials, wrong = 60, 0
    for t in range(trials):
        culprit = random.Random(500 + t).choice(side)
        result = search(history, culprit, 0.5, 0.1, seed=600 + t).result()
        assert result.stop_reason is StopReason.CONFIDENT
        wrong += result.culprit != culprit
    assert wrong <= binomial_quantile(trials, 0.01, 0.99)


def test_linear_cells_good_commits_failing_ten_percent() -> None:
    """The issue's worst cell (p 0.2, q 0.1: 69.5 % wrong before): within the confidence now."""
    trials, wrong = 40, 0
    for t in range(trials):
        rng = random.Random(t)
        culprit = rng.randint(1, 32)
        result = search(History.chain(32), culprit, 0.5, 0.1, seed=9000 + t).result()
        wrong += result.culprit is not None and result.culprit != culprit
    assert wrong <= binomial_quantile(trials, 0.01, 0.99)


def test_budget_too_small_for_p_minus_q_says_what_would_do() -> None:
    history = History.chain(64)
    rng = random.Random(3)
    state = BisectState(history, Strategy(max_runs=200))
    while (probe := state.next_probe()) is not None:
        state.observe(probe.index, rng.random() < (0.2 if probe.index >= 40 else 0.15))
    result = state.result()
    assert result.culprit is None
    assert result.stop_reason in (StopReason.BUDGET, StopReason.UNRESOLVABLE)
    assert result.runs_needed is not None and result.runs_needed > 200


def test_large_history_stays_fast() -> None:
    import time

    start = time.process_time()
    state = search(History.chain(4096), 3001, 0.5, 0.02, seed=4)
    assert state.result().culprit == 3001
    assert time.process_time() - start < 10.0


@pytest.mark.parametrize("seed", range(3))
def test_a_merge_bad_end_that_cannot_be_built_stands_in_the_branch_it_merged(seed: int) -> None:
    """The bad end is a merge that does not build (a semantic conflict); the culprit is the tip of
    the branch it merged. Its first parent, calibrated in its place, runs clean and clears its own
    ancestors; the merged branch's tip is calibrated next, fails, and is named."""
    # 0 good; main line 1-2-3; a branch 4-5-6 forked at 1; 7 merges 3 and 6 (the bad end).
    history = History([(), (0,), (1,), (2,), (1,), (4,), (5,), (3, 6)])
    culprit, rng = 6, random.Random(seed)
    state = BisectState(history, Strategy())
    assert state.stand_ins() == [3, 6, 2, 5, 1, 4]
    while (probe := state.next_probe()) is not None:
        if probe.index == history.n:
            state.mark_untestable(probe.index)
            continue
        state.observe(probe.index, rng.random() < (0.5 if history.is_ancestor(culprit, probe.index) else 0.0))
    result = state.result()
    assert result.stop_reason is StopReason.CONFIDENT and result.culprit == culprit
    # Where the search reached the bad end before any failure, the first parent stood in first.
    # The order itself: once it has run clean, the merged branch's tip is next, then nothing.
    fresh = BisectState(history, Strategy())
    fresh.mark_untestable(history.n)
    assert fresh.bad_index() == 3
    for _ in range(Strategy().calibration_max_runs):
        fresh.observe(3, False)
    assert fresh.bad_index() == 6 and fresh.stop_reason() is None
    for _ in range(Strategy().calibration_max_runs):
        fresh.observe(6, False)
    assert fresh.bad_index() is None and fresh.stop_reason() is StopReason.BAD_END_UNTESTABLE


def test_the_parents_of_a_merge_bad_end_that_cannot_be_tested_stand_in_by_turns() -> None:
    """Nothing has failed yet and the bad end (a merge) cannot be tested: its first parent runs
    clean because the culprit came in with the merged branch. The two parents take turns, each
    until it has twice the other's runs, so the branch is tried long before the first parent's
    300 clean runs, and a build tree switches between them a few times, not at every run."""
    history = History([(), (0,), (1,), (2,), (1,), (4,), (5,), (3, 6)])
    state = BisectState(history, Strategy())
    state.mark_untestable(history.n)
    order = []
    while (bad := state.bad_index()) == 3 or (bad == 6 and state.counts(6)[1] < 30):
        order.append(bad)
        state.visit(bad)
        state.observe(bad, False)
    # 6 runs at the first parent, 12 at the branch tip, then 24, 48 ...: every run counted once.
    assert order[:6] == [3] * 6 and order[6:18] == [6] * 12 and order[18:36] == [3] * 18, order
    assert state.counts(3)[1] < 100 and state.switches <= 6
    state.observe(6, True)  # a stand-in that fails is the bad end's from then on
    assert state.bad_index() == 6 and state.counts(3)[1] == 24 and state.counts(6)[1] == 31


def test_a_bad_end_whose_runs_all_fail_another_way_waits_while_its_parent_runs() -> None:
    """Eight runs at the bad end, all failing another way, and nothing run elsewhere: too little to
    set it aside (alone it would take 50 in a row). Its parent stands in meanwhile; once the
    parent's usable runs show the bad end's failures are its own, it is set aside unrun. A test
    that fails that way at the parent too has the two take turns: the bad end comes back once the
    parent has had 32 runs (four times its turn of 8), and waits again at 16 until 64 runs have
    been made before it, and so on. A parent whose 32 runs all failed that way waits its turn too
    (core.BisectState.waiting): the commit before it stands in meanwhile."""
    from patchtool.bisection.standins import bad_end_pending, set_aside_bad_end

    def broken_bad_end() -> BisectState:
        state = BisectState(History.chain(10), Strategy())
        for _ in range(8):
            assert state.bad_index() == 10
            state.visit(10)
        assert bad_end_pending(state) and state.bad_index() == 9
        return state

    state = broken_bad_end()
    runs = 0
    while runs < 20 and not set_aside_bad_end(state):
        state.observe(9, False)
        runs += 1
    assert state.is_untestable(10) and runs < 20 and state.bad_index() == 9

    state = broken_bad_end()
    turns = []
    for _ in range(100):
        at = state.bad_index()
        assert at is not None
        turns.append(at)
        state.visit(at)  # every run fails another way, at the parent too: nothing tells them apart
    assert not set_aside_bad_end(state) and not state.is_untestable(10)
    changes = [i for i in range(1, 100) if turns[i] != turns[i - 1]]
    # after the bad end's first 8: its parent to 32 (four times the turn), the bad end to 16, the
    # parent's parent (the parent waits) to 32, the bad end to 32, the next one back: a few long
    # stretches each, further back as each commit waits
    assert changes == [32, 40, 72, 88] and [turns[i] for i in changes] == [10, 8, 10, 7]
    assert [turns.count(i) for i in (10, 9, 8, 7)] == [8 + 16, 32, 32, 12]


def test_a_parents_turn_the_broken_bad_ends_turn_interrupted_is_finished() -> None:
    """A merge bad end whose runs all fail another way, and a test that often does so elsewhere:
    the first parent's turn (6 runs that count) is cut by the bad end's turn, and is finished after
    it, before the merged branch's tip is tried."""
    history = History([(), (0,), (1,), (2,), (1,), (4,), (5,), (3, 6)])
    state = BisectState(history, Strategy())
    for _ in range(8):
        state.visit(7)
    assert state.bad_index() == 3
    for k in range(32):  # 4 runs that count, 28 that fail another way: the bad end's turn again
        state.observe(3, False) if k < 4 else state.visit(3)
    assert state.bad_index() == 7
    for _ in range(8):
        state.visit(7)
    assert state.bad_index() == 3 and state.counts(3) == (0, 4)


def test_a_merged_branch_whose_tip_cannot_be_tested_is_stood_in_for_by_the_commit_before_it() -> None:
    """A merge bad end (7) and the tip of the branch it merged (6) are both broken, and the culprit
    came in with that branch: the commit before the tip (5) takes the tip's turns with the first
    parent (3), at 6 and 12 runs, not after the first parent's line has run clean 300 times at each
    of its commits (9000 runs of a test failing another way 90 % of the time, on real QEMU). When
    the tip's runs all fail another way (it waits its turn rather than being set aside), the same."""
    history = History([(), (0,), (1,), (2,), (1,), (4,), (5,), (3, 6)])
    for broken in ("untestable", "waits"):
        state = BisectState(history, Strategy())
        state.mark_untestable(7)
        if broken == "untestable":
            state.mark_untestable(6)
        else:
            for _ in range(32):
                state.visit(6)
            assert state.waiting() == {6}
        turns = []
        for _ in range(24):
            at = state.bad_index()
            assert at is not None
            turns.append(at)
            state.observe(at, False)
        assert turns == [3] * 6 + [5] * 12 + [3] * 6, broken


def test_a_bad_end_that_stands_by_is_not_run_as_the_endpoint_worth_more_than_the_split() -> None:
    """A merge-heavy history whose bad end is broken (every run fails another way) in a test that
    fails so 90 % of the time everywhere: while the bad end stands by (bad_index is a stand-in), it
    is never run as the endpoint that tells more than the split. It was, 181 times over these 40
    seeded searches, and on a real QEMU history such runs at the bad end, with its tip's, made 17
    of 30 searches stop as "test-mostly-unusable"."""
    from patchtool.bisection.classify import Verdict
    from patchtool.bisection.replay import Replay

    history = History.merged_branches(3, 3, 4)[0]
    n, named = history.n, 0
    for seed in range(40):
        rng = random.Random(f"standing-by:{seed}")
        culprit = rng.randint(1, n)
        state = BisectState(history, Strategy(max_runs=3000))
        replay = Replay(state, {str(i): i for i in range(n + 1)})
        while (probe := state.next_probe()) is not None:
            at = probe.index
            assert not (at == n and probe.reason == ProbeReason.ENDPOINT and state.bad_index() != n), seed
            if rng.random() < (1.0 if at == n else 0.9):
                verdict = Verdict.OTHER
            else:
                bad = history.is_ancestor(culprit, at) and rng.random() < 0.5
                verdict = Verdict.FAIL if bad else Verdict.PASS
            replay.apply(str(at), verdict, "search", 1.0)
        named += state.result().culprit == culprit
    assert named >= 38


def test_once_a_commit_has_failed_the_stand_ins_are_calibrated_in_a_broken_bad_ends_place() -> None:
    """The bad end's 8 runs all failed another way, commit 4 has failed, and the commits before the
    bad end have had their share of runs: the bad end's turn would come, but the search needs no
    bad end now. Its stand-in, not the bad end, is the one calibrated (else p would be calibrated
    nowhere, and the search cost a quarter more)."""
    state = BisectState(History.chain(10), Strategy())
    for _ in range(8):
        state.visit(10)
    state.observe(4, True)
    for _ in range(31):
        state.observe(9, False)
    probe = state.next_probe()
    assert state.bad_index() == 9 and probe is not None and probe.index == 9


def test_a_broken_bad_end_with_no_stand_in_left_is_run_again_not_called_untestable() -> None:
    """The bad end's runs all failed another way, the good end failed once (q > 0), and every
    stand-in cannot be tested: the bad end, never set aside, is run again rather than the search
    stopping as if it could not be tested."""
    state = BisectState(History.chain(10), Strategy())
    for i in (9, 8, 7):
        state.mark_untestable(i)
    for _ in range(8):
        state.visit(10)
    for k in range(32):
        state.observe(0, k == 0)
    assert state.bad_index() == 10 and state.stop_reason() is None


def test_the_pessimistic_posterior_after_a_run_is_the_one_the_run_makes() -> None:
    """Posterior.pessimistic_after (what the end game weighs a run by) predicts exactly what
    pessimistic says once the run is made, on a merge history, for a failure and for a pass,
    at the culprit, at a parent, at the good end and at commits on other branches."""
    from patchtool.bisection.posterior import Posterior, Priors

    history = History.merged_branches(3, 3, 4)[0]
    n, rng = history.n, random.Random("pessimistic-after")
    checked = 0
    for _ in range(30):
        culprit = rng.randint(1, n)
        post = Posterior(history, Priors())
        for _ in range(rng.randint(10, 60)):
            at = rng.randint(0, n)
            post.add(at, history.is_ancestor(culprit, at) and rng.random() < 0.6)
        c = rng.choice([i for i in range(1, n + 1)])
        for at in post.tested():
            for failed in (False, True):
                predicted = post.pessimistic_after(c, at, failed)
                made = Posterior(history, Priors())
                for i in post.tested():
                    for k in range(post.runs[i]):
                        made.add(i, k < post.fails[i])
                made.add(at, failed)
                assert predicted == pytest.approx(made.pessimistic(c), abs=1e-12), (c, at, failed)
                checked += 1
    assert checked > 200
    fresh = Posterior(history, Priors())
    fresh.add(n, True)
    with pytest.raises(ValueError, match="no runs"):  # a first run would split the classes
        fresh.pessimistic_after(n, 1, True)


def test_a_record_counts_as_runs_at_the_ends_in_every_estimate() -> None:
    """Priors.bad_record / good_record (CI's runs of the test, --bad-record / --good-record) give
    the same posterior, estimates, pessimistic stop and information as those runs made at the bad
    end and at the good end, on a merge history, with and without failures in the records."""
    from patchtool.bisection.posterior import Posterior, Priors

    history = History.merged_branches(3, 2, 4)[0]
    n, rng = history.n, random.Random("records")
    for bad_record, good_record in (((3, 11), (0, 40)), ((7, 9), (2, 30)), ((0, 5), (0, 0))):
        culprit = rng.randint(1, n)
        given = Posterior(history, Priors(bad_record=bad_record, good_record=good_record))
        made = Posterior(history, Priors())
        for at, (fails, runs) in ((n, bad_record), (GOOD_END, good_record)):
            for k in range(runs):
                made.add(at, k < fails)
        for _ in range(40):
            at = rng.randint(1, n)
            failed = rng.random() < (0.5 if history.is_ancestor(culprit, at) else 0.05)
            given.add(at, failed)
            made.add(at, failed)
        assert given.vector() == pytest.approx(made.vector(), abs=1e-12)
        assert given.q_zero_prob() == pytest.approx(made.q_zero_prob(), abs=1e-12)
        estimates = ((given.p_estimate(), made.p_estimate()), (given.q_estimate(), made.q_estimate()))
        for mine, theirs in estimates:
            assert (mine.mean, mine.low, mine.high) == pytest.approx((theirs.mean, theirs.low, theirs.high))
        for c in rng.sample(range(1, n + 1), 6):
            assert given.pessimistic(c) == pytest.approx(made.pessimistic(c), abs=1e-12)
        for i in given.tested():
            assert given.information(i) == pytest.approx(made.information(i), abs=1e-12)
            assert given.prob_bad_without(i) == pytest.approx(made.prob_bad_without(i), abs=1e-12)


# Fisher's exact test (two-sided) of each pair of (failures, runs), as scipy.stats.fisher_exact
# gives it for the 2x2 table of failures and passes.
FISHER = [
    (((0, 16), (2, 2)), 0.0065359477124183),  # session 60's real bad end: a record of 0/16, 2/2 seen
    (((0, 60), (2, 6)), 0.006993006993006992),
    (((40, 100), (0, 12)), 0.004007770696430981),
    (((7, 33), (0, 35)), 0.004406699534004187),
    (((3, 10), (2, 6)), 1.0),
]


@pytest.mark.parametrize(("counts", "expected"), FISHER)
def test_fisher_p_is_fishers_exact_test(
    counts: tuple[tuple[int, int], tuple[int, int]], expected: float
) -> None:
    assert fisher_p(*counts) == pytest.approx(expected, rel=1e-9)
    assert fisher_p(counts[1], counts[0]) == pytest.approx(expected, rel=1e-9)  # symmetric


def test_a_record_its_side_s_runs_contradict_is_found_and_only_then() -> None:
    """records_against over BisectState.side_counts: the bad record against the search's own runs
    at the commits that descend from the commit it names, the good record against the rest (the
    good end among them); no runs of its own there, or counts of one rate, is no contradiction."""
    history = History.chain(8)
    state = BisectState(history, Strategy(bad_record=(1, 60), good_record=(0, 40)))
    assert _against(state, 5) == ()  # no runs of its own
    for at, failed in ((5, True), (8, True), (4, False), (GOOD_END, False), (2, False)):
        state.observe(at, failed)
    (against,) = _against(state, 5)
    assert (against.side, against.record, against.own) == ("bad", (1, 60), (2, 2))
    assert against.p_value == pytest.approx(fisher_p((1, 60), (2, 2)))
    # named one commit later, the run at 5 is on the good side: 1/4 there, 1/1 on the bad side
    assert _against(state, 6) == ()
    agreeing = BisectState(history, Strategy(bad_record=(30, 60), good_record=(0, 40)))
    for failed in (True, False, True):
        agreeing.observe(history.n, failed)
    assert _against(agreeing, 5) == ()


def test_sure_counts_count_only_the_commits_whose_side_the_search_is_sure_of() -> None:
    """records.sure_counts: the runs at commits with P(bad) >= 0.99 (the bad end always) on the bad
    side, <= 0.01 (the good end always) on the good; a commit in doubt counts on neither."""
    state = BisectState(8, Strategy())
    for index, outcomes in ((8, "FFPFP"), (0, "PPPP"), (4, "FPPPP"), (2, "PPPPPPPPPPPPPPPPPPPP")):
        for outcome in outcomes:
            state.observe(index, outcome == "F")
    chances = {i: state.prob_bad(i) for i in (0, 2, 4, 8)}
    assert chances[8] == 1.0 and chances[0] == 0.0
    assert chances[2] <= 0.01 and 0.01 < chances[4] < 0.99, chances
    assert sure_counts(state) == ((3, 5), (0, 24))  # commit 4 (1/5) is in doubt: neither side
    assert sure_counts(state, sure=0.5) == ((4, 10), (0, 24))  # surer than 0.5 that it is bad


def _against(state: BisectState, top: int) -> tuple[RecordAgainst, ...]:
    return records_against(state.strategy.bad_record, state.strategy.good_record, state.side_counts(top))
