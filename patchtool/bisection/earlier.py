"""Runs of the test that `patchtool test` stored at the ends of a bisect: records it starts from.

`patchtool test NAME --repeat 20` at the bad commit stores each run under the commit's tree, the
configuration, the setup and the test (testrun.results). A bisect of that test over a range ending
there would run the bad end again to learn how often it fails, with a build first; the runs are
already known. They are counted as the bad end's record (and the good commits' as the good
record), as --bad-record and --good-record are: the bad end's build is spared once they hold the
failures its calibration asks for.

Only runs whose outcome means the same here are counted: those of the same test, setup and
configuration, on the commit's own tree (a checkout with changes of its own has another tree), and
only while no --fail-match or --pass-match is given (the store keeps the output of a few failing
runs, not of every run). A timed-out run counts as --timeout-as says.
"""

from __future__ import annotations

from patchtool.bisection.classify import Verdict
from patchtool.bisection.probe import ProbeSpec, meson_verdict
from patchtool.build.meson import config_key
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.testrun.results import stored_records
from patchtool.vcs.repo import GitRepo


@record
class EarlierRuns:
    """(failures, runs) stored for the test at the bad end, and over the good commits given."""

    bad: tuple[int, int] = (0, 0)
    good: tuple[int, int] = (0, 0)

    def added_to(
        self, bad: tuple[int, int], good: tuple[int, int]
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """The records given (--bad-record, --good-record) with these runs counted too."""
        return (bad[0] + self.bad[0], bad[1] + self.bad[1]), (good[0] + self.good[0], good[1] + self.good[1])


def reusable(spec: ProbeSpec) -> bool:
    """Whether stored runs of `patchtool test` mean what a run of this probe means."""
    c = spec.classifier
    return spec.test is not None and c.fail_match is None and c.pass_match is None


def counts_at(store: Store, repo: GitRepo, spec: ProbeSpec, commit: str) -> tuple[int, int]:
    """(failures, runs) of the probe's test stored for ``commit``'s tree, as the probe counts them."""
    assert spec.test is not None
    tree = repo.try_rev_parse(commit, "tree")
    if tree is None:
        return 0, 0
    key = config_key(spec.configure_args)
    fails = runs = 0
    for r in stored_records(store, tree, key, spec.setup, [spec.test]):
        verdict = meson_verdict(spec.classifier, r.result, r.output)  # a skipped run tests nothing
        if verdict.conclusive:
            runs += 1
            fails += verdict == Verdict.FAIL
    return fails, runs


def earlier_runs(store: Store, repo: GitRepo, spec: ProbeSpec, bad: str, goods: list[str]) -> EarlierRuns:
    """The stored runs at ``bad`` and at each of ``goods`` (each commit once)."""
    if not reusable(spec):
        return EarlierRuns()
    good_f = good_r = 0
    for commit in dict.fromkeys(goods):
        f, r = counts_at(store, repo, spec, commit)
        good_f, good_r = good_f + f, good_r + r
    return EarlierRuns(counts_at(store, repo, spec, bad), (good_f, good_r))
