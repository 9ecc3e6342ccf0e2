"""A finished `patchtool bisect` run again is a replay: every run reused, none made. Real git, the
--run script of test_bisectrun (fails half its runs from the culprit on, its coin a seeded counter)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.bisection.test_bisectrun import CULPRIT, bisect_env, make_flaky_repo
from tests.conftest import run_patchtool


def _rows(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "cache" / "patchtool.sqlite3") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM bisect_observations").fetchone()[0])


def test_a_finished_bisect_run_again_runs_nothing_more(tmp_path: Path) -> None:
    """The confirmation's plan (runs at the parent) comes from p and q as the search left them. Run
    again, the state also holds the confirmation's runs; planned from those, this coin (counter
    from 2000: the culprit's confirmation took 9 runs for its 2 failures, p looked smaller) asked
    for more runs at the parent, and a finished bisect ran the test again."""
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    env = bisect_env(tmp_path)
    Path(env["BISECT_COUNTER"]).write_text("2000")
    args = ["bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo]
    args += ["--no-revert-test", "--json"]
    first = run_patchtool(*args, env=env)
    assert first.code == 0, first.stderr
    rows = _rows(tmp_path)
    again = run_patchtool(*args, env=env)
    assert again.code == 0, again.stderr
    one, two = json.loads(first.stdout), json.loads(again.stdout)
    assert one["culprit"]["sha"] == shas[CULPRIT]
    assert one["confirmation"]["culprit_runs"] > 4  # the case: p looked smaller after it
    assert _rows(tmp_path) == rows
    assert two["confirmation"] == one["confirmation"]
    assert two["reused_runs"] == two["runs"] and two["probability"] == one["probability"]
