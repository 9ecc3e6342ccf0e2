"""Runs of the test that `patchtool test` stored in a bisect's range: what it starts from.

`patchtool test NAME --repeat 20` at the bad commit stores each run under the commit's tree, the
configuration, the setup and the test (testrun.results). A bisect of that test over a range ending
there would run the bad end again to learn how often it fails, with a build first; the runs are
already known. They are counted as the bad end's record (and the good commits' as the good
record), as --bad-record and --good-record are: the bad end's build is spared once they hold the
failures its calibration asks for. Runs stored at commits between the ends (a few tried by hand
before the bisect) count as runs the bisect made there, as an earlier bisect's do (inside_rows);
so do those at a first parent outside the range (known good), where a culprit's parent is
confirmed.

Only runs whose outcome means the same here are counted: those of the same test, setup and
configuration, on the commit's own tree (a checkout with changes of its own has another tree),
read as the probe reads its own runs (a timed-out run as --timeout-as says, the output against
--fail-match and --pass-match). The store keeps the last 4,000 characters of each run's output: a
run whose pattern was not found in an output cut so might have matched in the part left out, and
then none of that commit's runs count (leaving out that run alone would leave its commit's runs
the cleaner, where the regression's failures are the long ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from patchtool.bisection.classify import Verdict
from patchtool.bisection.probe import ProbeSpec, Ways, failure_ways, meson_verdict
from patchtool.build.meson import config_key
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import RunRecord, output_cut, stored_records, stored_trees
from patchtool.vcs.repo import GitRepo

TestedWays = dict[str, Ways]  # per commit, how the failed runs `patchtool test` stored there ended


@record
class EarlierRuns:
    """(failures, runs) stored for the test at the bad end, and over the good commits given."""

    bad: tuple[int, int] = (0, 0)
    good: tuple[int, int] = (0, 0)
    # where they were counted: the bad end, then the good commits (BisectOptions.tested_ends)
    ends: tuple[str, ...] = ()

    def added_to(
        self, bad: tuple[int, int], good: tuple[int, int]
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """The records given (--bad-record, --good-record) with these runs counted too."""
        return (bad[0] + self.bad[0], bad[1] + self.bad[1]), (good[0] + self.good[0], good[1] + self.good[1])


def _read(spec: ProbeSpec, records: Sequence[RunRecord]) -> list[tuple[Verdict, float, str]]:
    """The conclusive verdicts (and durations) of the stored runs of one tree, as the probe reads
    them (a skipped run tests nothing), with how each that failed ended (probe.failure_ways); none
    when a pattern not found may be in a cut output."""
    read = []
    for r in records:
        verdict = meson_verdict(spec.classifier, r.result, r.output)
        late = r.result == "TIMEOUT"
        by_pattern = verdict in (Verdict.OTHER, Verdict.INCONCLUSIVE) and not late
        if by_pattern and output_cut(r.output):
            return []
        if verdict.conclusive:
            ways = failure_ways([(verdict, r.output, late)])
            read.append((verdict, r.duration, ways[0][1] if ways else ""))
    return read


def counts_at(store: Store, repo: GitRepo, spec: ProbeSpec, commit: str) -> tuple[int, int]:
    """(failures, runs) of the probe's test stored for ``commit``'s tree, as the probe counts them."""
    assert spec.test is not None
    tree = repo.try_rev_parse(commit, "tree")
    if tree is None:
        return 0, 0
    read = _read(spec, stored_records(store, tree, config_key(spec.configure_args), spec.setup, [spec.test]))
    return sum(v == Verdict.FAIL for v, _, _ in read), len(read)


def earlier_runs(store: Store, repo: GitRepo, spec: ProbeSpec, bad: str, goods: list[str]) -> EarlierRuns:
    """The stored runs at ``bad`` and at each of ``goods`` (each commit once); none for --run."""
    if spec.test is None:
        return EarlierRuns()
    good_f = good_r = 0
    for commit in dict.fromkeys(goods):
        f, r = counts_at(store, repo, spec, commit)
        good_f, good_r = good_f + f, good_r + r
    return EarlierRuns(counts_at(store, repo, spec, bad), (good_f, good_r), (bad, *dict.fromkeys(goods)))


def tested_ways(store: Store, repo: GitRepo, spec: ProbeSpec, commits: Sequence[str]) -> TestedWays:
    """How the failed runs `patchtool test` stored at ``commits`` ended, per commit, of those the
    search counts (_read; its verdicts: fail, or another failure under --fail-match): the ways
    `patchtool bisect` lists beside its own (ways.failed_ways). None for --run."""
    if spec.test is None or not commits:
        return {}
    key = config_key(spec.configure_args)
    trees = _trees(repo, list(dict.fromkeys(commits)))
    found = {}
    for sha, tree in trees.items():
        read = _read(spec, stored_records(store, tree, key, spec.setup, [spec.test]))
        if ways := tuple((verdict, way) for verdict, _, way in read if way):
            found[sha] = ways
    return found


def inside_rows(
    store: Store,
    repo: GitRepo,
    spec: ProbeSpec,
    shas: Sequence[str],
    also_good: Sequence[str] = (),
    outside: Sequence[str] = (),
) -> list[tuple[str, str, str, float]]:
    """The runs stored at the commits between the ends of the range ``shas`` (good end first,
    bad end last), and at its first parents ``outside`` it (known good; the confirmation runs the
    culprit's there), as rows of a bisect's own (commit, verdict, "search", seconds), in order.

    Only conclusive runs (_read). None at a tree that another commit of the range, an end or one of
    ``also_good`` has too, nor at an outside parent that is one of ``also_good``: the same runs
    would count at two places (the ends' count as records).
    """
    known = {*shas, *also_good}
    outside = [sha for sha in dict.fromkeys(outside) if sha not in known]
    if spec.test is None or len(shas) + len(outside) < 3:
        return []
    key = config_key(spec.configure_args)
    stored = stored_trees(store, key, spec.setup, spec.test)
    if not stored:
        return []
    commits = list(dict.fromkeys([*shas, *also_good, *outside]))
    trees = _trees(repo, commits)
    shared = Counter(trees.get(c) for c in commits)
    rows = []
    for sha in [*shas[1:-1], *outside]:
        tree = trees.get(sha)
        if tree is None or tree not in stored or shared[tree] > 1:
            continue
        read = _read(spec, stored_records(store, tree, key, spec.setup, [spec.test]))
        rows += [(sha, verdict.value, "search", seconds) for verdict, seconds, _ in read]
    return rows


def _trees(repo: GitRepo, commits: Sequence[str]) -> dict[str, str]:
    """Each commit's tree, from one `git log` (commit shas on its standard input)."""
    listed = "".join(f"{c}\n" for c in commits).encode()
    done = repo.git("log", "--no-walk=unsorted", "--stdin", "--format=%H %T", input=listed)
    pairs = (line.split() for line in done.text().splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
