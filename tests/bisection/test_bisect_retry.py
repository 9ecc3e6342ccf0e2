"""bisect and stored "cannot test": retried on the next run once the environment is fixed, --fresh
forgets, and nothing is concluded from zero runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_patchtool
from tests.plugins.buildtree import commit_regression
from tests.plugins.gitutil import git, make_repo

# Deterministic: exit 125 while the environment file says "broken", else bad from "bug" on.
SCRIPT = """#!/bin/sh
grep -q broken "$1" && exit 125
grep -q bug state.txt && exit 1
exit 0
"""


def _history(tmp_path: Path, culprit: int, count: int) -> tuple[Path, str, str]:
    repo = make_repo(tmp_path / "repo", {"state.txt": "fine\n"})
    good = git(repo, "rev-parse", "HEAD").strip()
    for i in range(1, count + 1):
        (repo / "state.txt").write_text(f"bug {i}\n" if i >= culprit else f"fine {i}\n")
        git(repo, "commit", "-q", "-am", f"change {i}")
    return repo, good, git(repo, "rev-parse", "HEAD").strip()


def test_stored_cannot_test_is_retried_fresh_forgets_and_zero_runs_conclude_nothing(
    tmp_path: Path, data_env: dict[str, str]
) -> None:
    repo, good, bad = _history(tmp_path, culprit=5, count=8)
    environment = tmp_path / "environment.txt"
    environment.write_text("broken\n")
    script = tmp_path / "probe.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    args = ("bisect", "--good", good, "--bad", bad, "--run", f"{script} {environment}", "--repo", repo)

    broken = run_patchtool(*args, env=data_env)
    assert broken.code == 3, broken.stdout + broken.stderr
    assert "no test ran" in broken.stderr and "posterior" not in broken.stdout

    environment.write_text("fixed\n")
    fixed = run_patchtool(*args, env=data_env)  # the stored "cannot test" rows are probed again
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    culprit = git(repo, "rev-parse", "HEAD~3").strip()
    assert fixed.stdout.startswith(f"first bad commit: {culprit[:12]} change 5")

    again = run_patchtool(*args, env=data_env)
    assert "runs (0 reused" not in again.stdout  # the stored runs are reused
    # One build tree: the confirmation goes back to commits the search built, and builds them
    # again. The words count those apart from the commits built (as the store's rows do).
    with sqlite3.connect(Path(data_env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as db:
        per_commit = [n for (n,) in db.execute(
            "SELECT COUNT(*) FROM bisect_observations WHERE outcome = 'built' GROUP BY commit_sha"
        )]  # fmt: skip
    report = json.loads(run_patchtool(*args, "--json", env=data_env).stdout)
    assert report["rebuilds"] == sum(per_commit) - len(per_commit) > 0
    assert f"{report['builds']} builds and {report['rebuilds']} more going back" in again.stdout
    fresh = run_patchtool(*args, "--fresh", env=data_env)
    assert fresh.code == 0 and "runs (0 reused from the store)" in fresh.stdout


@pytest.mark.parametrize("jobs", ["1", "2"])  # with 2, two lanes build: the newer failure is named
def test_when_no_commit_builds_the_error_says_why(
    demo_project: Path, data_env: dict[str, str], jobs: str
) -> None:
    # Seen on real QEMU: every probed commit "could not be built or tested", and nothing said
    # why (an option the build directory's configure had passed). The newest build error is named.
    good = git(demo_project, "rev-parse", "HEAD").strip()
    for i in range(4):
        (demo_project / "src" / "util.c").write_text(f"int add(int a, int b)\n{{\n    return a + c{i};\n}}\n")
        git(demo_project, "commit", "-q", "-am", f"util: broken {i}")
    bad = git(demo_project, "rev-parse", "HEAD").strip()
    args = ("bisect", "--good", good, "--bad", bad, "--test", "unit-add", "--repo", demo_project, "-j", jobs)
    done = run_patchtool(*args, env=data_env)
    assert done.code == 3, done.stdout + done.stderr
    # stderr is no terminal here: the search's progress comes as plain lines, then the verdict alone
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("bisect: best ")]
    assert line.startswith("bisect: no test ran"), done.stderr
    shas = git(demo_project, "rev-list", f"{good}..{bad}").split()
    named = line.split("; ", 1)[1]
    assert named[:12] in [sha[:12] for sha in shas], line
    assert ": build failed: src/util.c:3:" in named and "undeclared" in named, line
    log = Path(named.rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.is_file() and Path(data_env["PATCHTOOL_DATA_DIR"]) in log.parents
    as_json = run_patchtool(*args, "--json", env=data_env)
    failure = json.loads(as_json.stdout)["build_failure"]
    assert failure["commit"] in shas and failure["log"].endswith(".log")
    assert failure["first_error"].startswith("src/util.c:3:") and failure["first_error"] in line
    # The store keeps why, for `report --bisect-test` of this bisect later.
    with sqlite3.connect(Path(data_env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as db:
        stored = db.execute("SELECT commit_sha, first_error, log_path FROM bisect_build_failures").fetchall()
    assert (failure["commit"], failure["first_error"], failure["log"]) in stored
    assert {row[0] for row in stored} <= set(shas)


def test_a_build_failure_the_environment_caused_is_forgotten_once_the_commit_builds(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    # CFLAGS makes every commit fail to build (the demo has no prototypes): stored, with why. Once
    # the environment is fixed, the commits built again are cleared, and the report names none of
    # the failures left at commits the resumed search did not probe again (it does not count them
    # as untestable: their "cannot test" may have been the environment's, as it was).
    good, bad = commit_regression(demo_project)
    args = ("bisect", "--good", good, "--bad", bad, "--test", "unit-add", "--repo", demo_project)
    broken = run_patchtool(*args, env={**data_env, "CFLAGS": "-Werror=missing-prototypes"})
    assert broken.code == 3 and "missing-prototypes" in broken.stderr, broken.stdout + broken.stderr
    db_path = Path(data_env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3"

    def stored() -> set[str]:
        with sqlite3.connect(db_path) as db:
            return {row[0] for row in db.execute("SELECT commit_sha FROM bisect_build_failures")}

    assert bad in stored()
    fixed = run_patchtool(*args, "--json", env=data_env)
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["culprit"]["sha"] == bad
    assert bad not in stored() and report["build_failure"] is None, (stored(), report["build_failure"])
    # The stored bisect, as `report --bisect-test` replays it, is the resumed search's: the "cannot
    # test" rows from before it are left out, and no build failure is named.
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    assert stored() - {bad}  # commits the fixed run did not probe again keep theirs
    with Store(db_path) as store:
        found = load_stored_bisect(store, GitRepo(demo_project), "unit-add")
    assert found is not None and found.result.culprit is not None
    assert found.shas[found.result.culprit] == bad and found.build_failure is None
    assert not [e for e in found.result.evidence if e.untestable]


def test_a_probers_build_failure_is_only_its_last_builds(
    demo_project: Path, data_env: dict[str, str]
) -> None:
    # The driver stores a failure wherever the lane's last failure names the task's commit: one
    # older than a build that worked since would be stored again for a commit that builds.
    from patchtool.bisection.probe import ProbeSpec, prober_for
    from patchtool.config import load_settings
    from patchtool.store import Store
    from patchtool.vcs.repo import GitRepo

    good = git(demo_project, "rev-parse", "HEAD").strip()
    (demo_project / "src" / "util.c").write_text("int add(int a, int b)\n{\n    return a + c;\n}\n")
    git(demo_project, "commit", "-q", "-am", "util: broken")
    broken = git(demo_project, "rev-parse", "HEAD").strip()
    settings = load_settings(env=data_env)
    with (
        Store(Path(data_env["PATCHTOOL_CACHE_DIR"]) / "patchtool.sqlite3") as store,
        prober_for(GitRepo(demo_project), settings, ProbeSpec(test="unit-add"), store) as prober,
    ):
        assert not prober.prepare(broken)
        failed = prober.last_failure
        assert failed is not None and failed.commit == broken
        assert failed.first_error.startswith("src/util.c:3:") and failed.log.endswith(".log")
        assert prober.prepare(good)
        assert prober.last_failure is None
