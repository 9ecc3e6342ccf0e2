"""Progress lines on stderr when it is not a terminal (a CI log): throttled, but a new step at once."""

from __future__ import annotations

import io
import re
from pathlib import Path

from patchtool.cli.progress import _Periodic
from tests.bisection.test_bisectrun import CULPRIT, bisect_env, make_flaky_repo
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git


def test_a_new_step_is_written_at_once_and_the_same_step_only_after_the_period() -> None:
    stream = io.StringIO()
    say = _Periodic(stream, "bisect", period=3600.0)
    say("runs 0", "building a")  # the first line: at once
    say("runs 0, still", "building a")  # the same step within the period: held
    say("runs 1", "testing a")  # another step: at once
    say("runs 1, done")  # between steps
    say("runs 2", "testing a")  # the same step again: held
    say("runs 3", "testing a")  # held, the newest kept
    say.close()  # the last state is written when the step ends
    assert stream.getvalue().splitlines() == ["bisect: runs 0", "bisect: runs 1", "bisect: runs 3"]


def test_a_bisect_logs_each_commit_it_goes_on_to(tmp_path: Path) -> None:
    """stderr is a pipe here, as in CI: the log names every commit the search goes to test, as it
    goes, though the whole search takes less than the period between plain lines."""
    repo = tmp_path / "repo"
    shas = make_flaky_repo(repo)
    done = run_patchtool("bisect", "--good", shas[0], "--bad", "main", "--run", "./t.sh", "--repo", repo,
                         env=bisect_env(tmp_path))  # fmt: skip
    assert done.code == 0, done.stderr
    assert f"first bad commit: {shas[CULPRIT][:12]}" in done.stdout
    line = re.compile(
        r"^bisect: best [0-9a-f]{12} P=[01]\.\d{3} runs \d+ builds \d+ testing ([0-9a-f]{12})$", re.M
    )
    tested = line.findall(done.stderr)
    assert set(tested) <= {sha[:12] for sha in shas}
    assert len(set(tested)) >= 4, done.stderr  # every commit the search went to
    # ... once each time it goes there, not at every run (the search makes dozens)
    assert len(tested) <= 2 * len(set(tested)) + 2, done.stderr


def test_a_test_name_the_tree_lacks_is_the_only_line_of_a_bisect_log(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    """Found while the first commit is prepared: no progress line comes before the error."""
    good = git(demo_project, "rev-parse", "HEAD").strip()
    (demo_project / "NEWS").write_text("news\n")
    git(demo_project, "add", "NEWS")
    git(demo_project, "commit", "-q", "-m", "news")
    done = run_patchtool("bisect", "--good", good, "--bad", "HEAD", "--test", "no-such-test", "--repo",
                         demo_project, env=data_env)  # fmt: skip
    assert done.code == 2, done.stderr
    said = [line for line in done.stderr.splitlines() if not line.startswith("hint: ")]
    assert said == ["error: test no-such-test: no such test in this tree"], done.stderr
