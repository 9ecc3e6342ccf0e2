"""`patchtool bisect --skip` (git bisect skip): commits named not to build or test are never
probed; when the culprit is among them, the range of them is reported. Real git, a --run script."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from patchtool.bisection.core import BisectState
from patchtool.bisection.graph import History
from patchtool.bisection.replay import Replay
from tests.bisection.test_bisectrun import CULPRIT, SKIPPED, bisect_env, make_flaky_repo
from tests.conftest import run_patchtool


def _rows_at(tmp_path: Path, shas: list[str]) -> int:
    """The bisect's stored rows (runs, builds, untestable verdicts) at these commits."""
    marks = ",".join("?" * len(shas))
    with sqlite3.connect(tmp_path / "cache" / "patchtool.sqlite3") as conn:
        rows = conn.execute(f"SELECT COUNT(*) FROM bisect_observations WHERE commit_sha IN ({marks})", shas)
        return int(rows.fetchone()[0])


def test_skipped_commits_are_never_run_and_not_called_untestable(tmp_path: Path) -> None:
    """Commits 12 and 13 exit 125: without --skip the first midpoint is run and found untestable;
    with --skip naming them (one by name, one as a range) neither is ever run."""
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    twelve, thirteen = (shas[i] for i in SKIPPED)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    args += ["--skip", twelve, "--skip", f"{twelve}..{thirteen}", "--no-revert-test"]
    done = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["culprit"]["sha"] == shas[CULPRIT]
    assert [ref["sha"] for ref in report["skipped"]] == [twelve, thirteen]
    assert report["untestable"] == []
    assert _rows_at(tmp_path, [twelve, thirteen]) == 0

    human = run_patchtool(*args, env=bisect_env(tmp_path))  # resumed: still skipped, and said
    assert human.code == 0, human.stderr
    assert "skipped (--skip): 2 commits of the range, not built or tested" in human.stdout
    assert _rows_at(tmp_path, [twelve, thirteen]) == 0


def test_a_culprit_among_the_skipped_commits_gives_their_range(tmp_path: Path) -> None:
    """The culprit (17) and the commit after it skipped: the first bad commit is 17, 18 or 19 (19
    is bad whichever it is; only runs of 17 and 18 would tell), so the answer is the range 17..19,
    as git bisect's "only skipped commits left to test"."""
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    args += ["--skip", f"{shas[CULPRIT - 1]}..{shas[CULPRIT + 1]}", "--no-revert-test"]
    done = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert done.code == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["stop_reason"] == "blocked-by-untestable" and report["culprit"] is None
    assert (report["range99"][0]["sha"], report["range99"][1]["sha"]) == (shas[CULPRIT], shas[CULPRIT + 2])
    assert _rows_at(tmp_path, [shas[CULPRIT], shas[CULPRIT + 1]]) == 0
    human = run_patchtool(*args, env=bisect_env(tmp_path))
    first, last = shas[CULPRIT][:12], shas[CULPRIT + 2][:12]
    assert f"the first bad commit is one of {first}..{last} (3 commits)" in human.stdout
    assert "the commits between them cannot be built or tested, or were skipped (--skip)" in human.stdout


def test_the_runs_stored_for_a_skipped_commit_do_not_count(tmp_path: Path) -> None:
    """A bisect names the culprit, its parent run clean many times. Skipped afterwards (it builds
    something else than it seemed, say), the parent's stored runs no longer count: the culprit and
    its parent cannot be told apart, and the answer is their range."""
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    args.append("--no-revert-test")
    first = run_patchtool(*args, "--json", env=bisect_env(tmp_path))
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout)["parent_counts"][1] > 0
    parent = shas[CULPRIT - 1]
    again = run_patchtool(*args, "--skip", parent, "--json", env=bisect_env(tmp_path))
    assert again.code == 1, again.stderr
    report = json.loads(again.stdout)
    assert report["stop_reason"] == "blocked-by-untestable"
    assert (report["range99"][0]["sha"], report["range99"][1]["sha"]) == (parent, shas[CULPRIT])
    assert [ref["sha"] for ref in report["skipped"]] == [parent]


def test_no_row_of_a_skipped_commit_counts_in_the_replay() -> None:
    """Rows of any kind at a skipped commit (an earlier bisect's: runs, failures another way) count
    for nothing: no run at its position, no unusable run; the other commits' rows count."""
    shas = [f"{i:040x}" for i in range(6)]
    state = BisectState(History.chain(5))
    replay = Replay.over(state, shas, {}, [shas[2], shas[0], shas[5]])  # the ends are never skipped
    assert replay.skipped == {shas[2]}
    for outcome in ("pass", "fail", "other-failure", "inconclusive", "untestable"):
        replay.apply(shas[2], outcome, "search", 1.0)
    replay.apply(shas[3], "other-failure", "search", 1.0)
    replay.apply(shas[3], "fail", "search", 1.0)
    assert state.counts(2) == (0, 0) and state.is_untestable(2)
    assert state.counts(3) == (1, 1) and state.unusable_runs == 1
    assert replay.unusable == {shas[3]: 1} and shas[2] not in replay.tried


@pytest.mark.parametrize(
    ("skip", "message"),
    [
        ("nosuch", "nosuch: no such commit"),
        ("HEAD~1..nosuch", "--skip HEAD~1..nosuch: not a range of commits"),
        ("main", "--skip main: it is --good or --bad, which bound the search"),
    ],
)
def test_a_skip_that_names_no_commit_or_an_end_is_refused_before_any_build(
    tmp_path: Path, skip: str, message: str
) -> None:
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo, "--skip", skip]
    done = run_patchtool(*args, env=bisect_env(tmp_path))
    assert done.code == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "worktrees").exists()
