"""Records of the bisection core: the policy (Strategy), probes, stop reasons and the result."""

from __future__ import annotations

import enum
import functools
import itertools
import math
from dataclasses import field

from patchtool.bisection.stats import ConfirmationPlan, Estimate, confirmation_plan
from patchtool.jsonable import record

# (build cost in test runs, epsilon) from the design note, section 3.3 ("0.1 if B/t <= 2, 0.05 if
# <= 5, 0.01 if 10-30, 0.002 if >= 100"), interpolated in log-log between the knots.
_EPSILON_KNOTS: tuple[tuple[float, float], ...] = (
    (2.0, 0.1),
    (5.0, 0.05),
    (10.0, 0.01),
    (30.0, 0.01),
    (100.0, 0.002),
)


@functools.cache
def epsilon_for_cost_ratio(build_cost_in_runs: float) -> float:
    """Per-commit resolution threshold for a measured build/test cost ratio (design section 3.3)."""
    ratio = max(build_cost_in_runs, _EPSILON_KNOTS[0][0])
    for (x0, y0), (x1, y1) in itertools.pairwise(_EPSILON_KNOTS):
        if ratio <= x1:
            t = math.log(ratio / x0) / math.log(x1 / x0)
            return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    return _EPSILON_KNOTS[-1][1]


@record
class Strategy:
    """The policy: confidence, per-commit thresholds, budgets and priors.

    * ``confidence``: what the user asks for. Because p and q are estimated, the search stops at
      the stricter ``stop_threshold``: 1 - (1 - confidence) * ``stop_error_share`` (0.997 for
      0.99). The design note (2.3) saw 1.6-3.2 % wrong culprits at a 0.99 stop with p estimated;
      at 0.995 the bench still had cells with 3-4 wrong of 400, so the share is 0.3. The culprit
      must also hold the confidence with p and q at ``pessimism_z`` / ``pessimism_q_z`` standard
      deviations towards each other; q at ``pessimism_q_z_failed`` once a commit on the good side
      has failed (q > 0 is then sure, and near-q cells, q >= p / 2, expected 1.13 % wrong at 1.645
      in a fresh bench draw; 2.326 cut their expected error by 13-39 % for 3-5 % more cost, and
      leaves searches whose good side never failed as they were).
    * ``epsilon``: leave a commit once P(bad) < epsilon (it looks good); ``bad_epsilon``: leave once
      P(bad) > 1 - bad_epsilon. Both default from ``build_cost_in_runs`` (measured by the driver).
      The bad side is looser (15x, at most 0.2): a "bad" verdict left early is cheap to revisit,
      while a "good" one at small p needs many clean runs (measured in bench/bisect.py).
    * q (failure rate of good commits) has prior ``q_zero_weight`` on exactly 0 plus a
      Beta(``q_prior``) slab, Beta(1, 12): mean 7.7 %, its mode at 0, 28 % of its mass above
      10 % and 7 % above 20 % (wide enough to learn q of 0.1-0.3); overall mean 3.8 %. The
      spike lets a few failures convict a commit when good commits stay clean, while flakiness
      on good commits still shows up in the data. The stop's pessimistic q does not use this
      prior but a flat one, save for its chance of q = 0 (Posterior._q_high). p has a uniform prior.
    * ``calibration_failures`` / ``calibration_min_runs`` / ``calibration_max_runs``: the bad end
      is run until that many failures and at least the minimum of runs (cheap when p is high, and
      a sharper p saves clean runs on every good commit); with no failure after the maximum the
      search stops (the bad end does not reproduce). The maximum, 300, leaves a bad end with
      p = 0.05 silent once in 5 million (at 60 it was 1 in 22). The first split goes before the
      bad end, and when some commit between the ends has failed the bad end is not built, while
      q = 0 stays likely (ends.bad_end_can_wait).
    * ``bad_end_stand_ins``: when the bad end cannot be tested (it does not build, its test exits
      125, or its runs are set aside as unusable) and no commit between has failed, a commit at
      most this many parent steps before it is calibrated in its place (nearest and first parents
      first), as ``git bisect`` never runs the bad end at all: the first bad commit is before the
      bad end unless the bad end itself is it. The bad end's parents take turns (on a merge, its
      first parent and the tip of the branch merged; standins.bad_index) until one fails; one
      that cannot be tested, or waits its turn, is stood in for by the commit before it. One
      that runs ``calibration_max_runs`` times clean clears its ancestors, and the next is tried.
      The search stops (bad-end-untestable) only when none is left. A bad end whose first runs
      all failed another way waits while a stand-in runs, and then takes turns with the commits
      before it (standins.bad_end_pending) until its runs are shown to be its own or a commit
      fails (its stand-ins are then calibrated in its place). A commit between the ends (a
      stand-in among them) whose first 32 runs all failed another way takes turns with the rest
      too (core.BisectState.waiting).
    * ``bad_record`` / ``good_record``: (failures, runs) of the test known before the search, at
      the bad end and on commits known good (CI's history of it: ``--bad-record``,
      ``--good-record``). They count as runs made there without a build: the bad end's record
      counts towards its calibration (a record with ``calibration_failures`` failures and
      ``calibration_min_runs`` runs spares the bad end's build), the good record towards
      ``good_end_runs``, and both into the posterior of p and q.
    * The good end is run (``good_end_runs``) only once P(q = 0) falls below
      ``good_end_when_q_zero_below``: while every failure can be blamed on bad commits its build
      buys nothing the commits judged good do not measure for free. Nor is it built while the
      search is estimated to need fewer than ``good_end_min_need`` times the good end's cost
      (its build and ``good_end_runs``) in runs still to come (BisectState.runs_needed): a short
      search (a few dozen commits, p well above q) ends before a sharper q repays the build
      (bench, 16:0.7:0.1: cost 130 -> 115, same errors).
    * ``good_end_share`` / ``bad_end_share``: once built, an end is kept at this share of all the
      runs (the bad end's own: a record there does not stand in for them, as a record is checked
      against them, driver.check_records): a search whose commits each take hundreds of runs
      (p - q of a few percent) learns p
      and q where they are certain, at a run's cost, instead of from commits whose side is in
      doubt. The good end's share is capped at the runs that measure q to ``good_end_gap_frac``
      of p - q (one standard error): where p - q is wide, the interior measures q well enough.
      An end left for the search is come back to once under half of what it should hold (a
      return is a switch of the build tree). Tuned together with ``good_end_min_need`` on the bench's "tune"
      grid and six of report5's cells (600 trials): 72:0.06:0.02 3512 -> 3166, 256:0.2:0.1
      2117 -> 1955, 16:0.05:0 818 -> 779, 128:0.6:0.3 516 -> 538 (its expected error 0.45 ->
      0.22 %), the rest -3 % to +1 % but 16:0.7:0.1 (-11 %, the good end's need).
    * ``side_stay_ratio``: in the end game, the culprit or its parent, whichever is being run,
      keeps being run while the move of the stop one run there is expected to make is at least
      1/ratio of the other's (endgame.side_gain; before, the share of the doubt on its
      side). Running the better side at every run alternated them one run at a time, a rebuild
      per switch with one build tree (bench, seen cells: the same cost in runs and builds, 0-2 %
      less with one build tree; 4 and 10 alike).
    * ``revisit_slack_bits``: a commit built already is run again instead of a new split whose
      run tells at most this many bits more (splits.prefer_built). Tuned on the bench's "tune"
      and "report9" grids (150 trials each): 0.1 cut the mean cost 1-9 % in 16 of 17 cells (the
      17th by 0.6 %), the cost with one build tree moving -5 % to +3 %; 0.2 and 0.3 cut builds
      more but a single tree paid up to 6 % more; 0 turns it off.
    * ``visit_cap_runs``: a visit (the sticky repeats of one commit) ends after
      ``visit_cap_runs`` / (p - q) runs at the current estimates, resolved or not; the next
      probe is chosen afresh, often the same commit (no build), but the split, the ends and
      the culprit's side then compete for the run. The design note's 10 let one visit take
      hundreds of runs where p - q is a few percent, while an end or another commit told more.
      Tuned on 14 cells of earlier grids (seed base 3434, 200 trials): 5 cut the mean cost
      1.5-9.7 % in 13 of them (+3.3 % in 20:0.15:0.02), with as many wrong answers (5 -> 6
      of 2,800) and 0-4 % more builds; and 4-8 % in four short cells with p - q of 0.03-0.08
      (seed base 5656), where git-bayesect was cheaper. With a single build tree, 5 moves the
      cost -9 % to +8 %; 3 and 2 cut the cost as much, but a single tree then paid up to 14 %
      and 23 % more (16:0.7:0.1). Held out (grids report16 and lowp1, 400 trials, run once):
      -0.2 % to -7.4 % in 18 of 20 cells, +0.2 % and +1.2 % in two; 26 -> 19 wrong of 8,000.
    """

    confidence: float = 0.99
    build_cost_in_runs: float = 10.0
    epsilon: float | None = None
    bad_epsilon: float | None = None
    max_runs: int | None = None
    p_prior: tuple[float, float] = (1.0, 1.0)
    q_prior: tuple[float, float] = (1.0, 12.0)
    q_zero_weight: float = 0.5
    calibration_failures: int = 2
    calibration_max_runs: int = 300
    calibration_min_runs: int = 6
    bad_end_stand_ins: int = 3
    good_end_runs: int = 10
    good_end_runs_when_failing: int = 12
    min_culprit_failures: int = 2
    split_target: float = 0.5
    bracket_mass: float = 0.9
    pessimism_z: float = 1.645
    stop_error_share: float = 0.3
    pessimism_q_z: float = 1.645
    pessimism_q_z_failed: float = 2.326
    good_end_when_q_zero_below: float = 0.4
    good_end_min_need: float = 8.0
    good_end_share: float = 0.15
    good_end_gap_frac: float = 0.4
    bad_end_share: float = 0.05
    side_stay_ratio: float = 4.0
    revisit_slack_bits: float = 0.1
    visit_cap_runs: float = 5.0
    bad_record: tuple[int, int] = (0, 0)
    good_record: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"confidence {self.confidence} must be in [0.5, 1)")
        if self.build_cost_in_runs < 0:
            raise ValueError("build cost must not be negative")
        for name in ("epsilon", "bad_epsilon"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value < 0.5:
                raise ValueError(f"{name} {value} must be in (0, 0.5)")
        if self.max_runs is not None and self.max_runs < 1:
            raise ValueError("max_runs must be at least 1")
        if not 0.0 <= self.q_zero_weight <= 1.0:
            raise ValueError("q_zero_weight must be in [0, 1]")
        if self.visit_cap_runs <= 0:
            raise ValueError(f"visit_cap_runs {self.visit_cap_runs} must be positive")
        if not 0.0 <= self.revisit_slack_bits <= 1.0:
            raise ValueError("revisit_slack_bits must be in [0, 1]")
        for name in ("good_end_share", "bad_end_share"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"{name} {getattr(self, name)} must be in [0, 0.5]")
        if self.good_end_min_need < 0 or self.good_end_gap_frac < 0:
            raise ValueError("good_end_min_need and good_end_gap_frac must not be negative")
        if self.side_stay_ratio < 1.0:
            raise ValueError("side_stay_ratio must be at least 1")
        for name in ("bad_record", "good_record"):
            fails, runs = getattr(self, name)
            if not 0 <= fails <= runs:
                raise ValueError(f"{name} {fails}/{runs}: failures must be between 0 and the runs")

    @property
    def pessimism(self) -> tuple[float, float, float]:
        """The z of the stop's pessimistic p and q: Posterior.pessimistic(c, *strategy.pessimism)."""
        return self.pessimism_z, self.pessimism_q_z, self.pessimism_q_z_failed

    @property
    def stop_threshold(self) -> float:
        return 1.0 - (1.0 - self.confidence) * self.stop_error_share

    @property
    def resolved_epsilon(self) -> float:
        if self.epsilon is not None:
            return self.epsilon
        return epsilon_for_cost_ratio(self.build_cost_in_runs)

    @property
    def resolved_bad_epsilon(self) -> float:
        if self.bad_epsilon is not None:
            return self.bad_epsilon
        return min(15.0 * self.resolved_epsilon, 0.2)


class ProbeReason(enum.StrEnum):
    CALIBRATE_BAD = "calibrate-bad-end"
    CALIBRATE_GOOD = "calibrate-good-end"
    REPEAT = "repeat-until-resolved"
    SPLIT = "split-posterior"
    ENDPOINT = "endpoint-information"
    DECIDE = "decide-culprit"
    CULPRIT = "culprit-information"  # the culprit, where one run there tells more than the split


class StopReason(enum.StrEnum):
    CONFIDENT = "confident"
    BLOCKED = "blocked-by-untestable"
    BUDGET = "budget-exhausted"
    BAD_END_DOES_NOT_REPRODUCE = "bad-end-does-not-reproduce"
    BAD_END_UNTESTABLE = "bad-end-untestable"
    GOOD_END_FAILS = "good-end-fails"
    TEST_UNUSABLE = "test-mostly-unusable"
    UNRESOLVABLE = "unresolvable-within-budget"


@record
class Probe:
    """Which position to run next, and why."""

    index: int
    reason: ProbeReason


@record
class Evidence:
    """Raw counts at one position."""

    index: int
    failures: int
    runs: int
    untestable: bool = False


@record
class BisectResult:
    """Where the search stands: the culprit (when confident), its probability, ranges, estimates.

    ``culprit`` is None unless the stop reason is CONFIDENT; ``top`` is the most probable position
    either way. ``builds`` counts distinct positions probed (including untestable ones), ``switches``
    the changes of probed position (the builds spent with a single build tree and no cache).
    """

    n_candidates: int
    culprit: int | None
    top: int
    probability: float
    range90: tuple[int, int]
    range99: tuple[int, int]
    p: Estimate
    q: Estimate
    evidence: tuple[Evidence, ...]
    runs: int
    builds: int
    switches: int
    stop_reason: StopReason | None
    bayes_factor_vs_parent: float = field(default=math.inf)
    runs_needed: int | None = None  # when stopped short: about how many runs the search needs
    runs_needed_at_best: int | None = None  # the same at the most hopeful p and q (90 % intervals)

    def confirmation_plan(self, at: int | None = None) -> ConfirmationPlan:
        """The confirmation's runs (stats.confirmation_plan) for the commit at ``at`` (the top
        candidate unless given): from p and q, and that commit's own runs when it has some."""
        index = self.top if at is None else at
        own = next(((e.failures, e.runs) for e in self.evidence if e.index == index and e.runs), None)
        return confirmation_plan(self.p.mean, self.q.mean, culprit=own)
