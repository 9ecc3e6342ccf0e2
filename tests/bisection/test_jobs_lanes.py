"""`--jobs 2` across two commits: a second commit built and run in a second tool worktree while the
first's runs are under way, chosen by what its outcome adds to the first's."""

from __future__ import annotations

import json
from pathlib import Path

from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import History
from patchtool.bisection.parallel import second_probe
from tests.bisection.test_bisect_graph import merge_heavy_repo
from tests.bisection.test_bisectrun import bisect_env
from tests.conftest import run_patchtool
from tests.plugins.gitutil import snapshot_repo


def _calibrated(history: History) -> BisectState:
    """A state whose ends have been run (bad end failing, good end clean), nothing in between."""
    state = BisectState(history)
    for _ in range(3):
        state.observe(history.n, True)
        state.observe(0, False)
    return state


def test_second_probe_splits_what_the_first_leaves() -> None:
    state = _calibrated(History.chain(32))
    second = second_probe(state, 16, set())
    assert second is not None and (6 <= second <= 10 or 22 <= second <= 26)  # a quarter point
    assert second_probe(state, 16, {second}) not in (None, second)
    for _ in range(32):  # its runs all fail another way: it waits its turn (core.BisectState.waiting)
        state.visit(second)
    assert state.waiting() == {second} and second_probe(state, 16, set()) not in (None, second)


def test_second_probe_on_a_merge_takes_the_other_branch() -> None:
    # The good end, two branches of 8 commits (1-8 and 9-16) forked from it, and their merge (17).
    first = [(0,), *[(i,) for i in range(1, 8)]]
    other = [(0,), *[(i,) for i in range(9, 16)]]
    parents: list[tuple[int, ...]] = [(), *first, *other, (8, 16)]
    state = _calibrated(History(parents))
    second = second_probe(state, 4, set())  # the middle of the first branch
    assert second is not None and 9 <= second <= 16  # no overlap with the first's descendants


def test_no_second_probe_when_the_posterior_is_nearly_decided() -> None:
    state = _calibrated(History.chain(32))
    for _ in range(12):
        state.observe(20, True)
        state.observe(19, False)
    assert state.top_candidate()[0] == 20
    assert second_probe(state, 20, set()) is None


# Every run sleeps, then logs its commit and start/end stamps; it fails exactly where bug.txt exists.
SLOW = """#!/bin/sh
start=$(date +%s.%N)
sleep "$LANE_SLEEP"
end=$(date +%s.%N)
echo "$(git rev-parse HEAD) $start $end" >> "$LANE_LOG"
if test -f bug.txt; then exit 1; fi
"""


def _overlaps(log: Path, only: set[str] | None = None) -> int:
    """Pairs of runs at two different commits (among ``only``) under way at the same time."""
    rows = (line.split() for line in log.read_text().splitlines())
    runs = [(sha, float(a), float(b)) for sha, a, b in rows if only is None or sha in only]
    return sum(
        1
        for i, (sha1, a1, b1) in enumerate(runs)
        for sha2, a2, b2 in runs[i + 1 :]
        if sha1 != sha2 and a1 < b2 and a2 < b1
    )


def test_two_jobs_run_two_commits_at_once_and_resume_the_same(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    good, commits = merge_heavy_repo(repo, (1, 0, 2))
    script = tmp_path / "slow.sh"
    script.write_text(SLOW)
    script.chmod(0o755)
    log = tmp_path / "runs.log"
    env = {**bisect_env(tmp_path), "LANE_SLEEP": "0.3", "LANE_LOG": str(log)}
    before = snapshot_repo(repo)
    args = ["bisect", "--good", good, "--bad", "main", "--run", str(script), "--jobs", "2", "--repo", repo]
    done = run_patchtool(*args, "--json", env=env)
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == commits[(1, 0, 2)]
    assert _overlaps(log) >= 3, log.read_text()
    # The confirmation's fresh runs of the culprit and of its parent went at once too.
    confirm = report["confirmation"]
    assert confirm["parent_runs"] >= 2 and confirm["culprit_runs"] >= 2
    last = tmp_path / "confirm.log"
    last.write_text("".join(log.read_text().splitlines(keepends=True)[-4:]))
    assert _overlaps(last, {report["culprit"]["sha"], report["parent"]["sha"]}) >= 1, log.read_text()
    assert len({line.split()[0] for line in log.read_text().splitlines()}) >= 4
    assert snapshot_repo(repo) == before  # the user's checkout is never touched
    lanes = list((tmp_path / "data" / "worktrees").glob("*/bisect-2"))
    assert len(lanes) == 1 and (lanes[0] / ".git").exists()  # the second lane's own worktree
    # The rows stored in the order the lanes finished replay to the same state: nothing to run.
    again = run_patchtool(*args, "--json", env=env)
    assert again.code == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["reused_runs"] == resumed["runs"] == report["runs"]
    assert resumed["probability"] == report["probability"]
    assert resumed["culprit"] == report["culprit"]
