"""The report finds a stored bisect by its whole probe: test, setup, configuration and the match
options (--fail-match, --pass-match, --timeout-as), so two bisects of one range are never confused."""

from __future__ import annotations

import json
from pathlib import Path

from patchtool.bisection.classify import Classifier, TimeoutAs
from patchtool.bisection.probe import ProbeSpec
from patchtool.bisection.replay import record_row
from patchtool.store import Store
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, linear_repo


def _store_bisect(store: Store, shas: list[str], spec: ProbeSpec, culprit: int) -> None:
    """Rows as `patchtool bisect` writes them: every commit built, the bad side failing half its runs."""
    key = spec.key()
    for i, sha in enumerate(shas):
        record_row(store, key, sha, "built", "search", 1.0)
        for run in range(16 if i in (culprit - 1, culprit) else 6):
            failed = i >= culprit and run % 2 == 0
            record_row(store, key, sha, "fail" if failed else "pass", "search", 0.1)


def _mbox(repo: Path, path: Path) -> Path:
    """A one-patch series made by git format-patch (the report needs a series to review)."""
    (repo / "g").write_text("new\n")
    git(repo, "add", "g")
    git(repo, "commit", "-qm", "add g")
    path.write_text(git(repo, "format-patch", "--stdout", "-1", "HEAD"))
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    return path


def _report_culprit(tmp_path: Path, repo: Path, mbox: Path, *match: str) -> str | None:
    env = {"PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"), "PATCHTOOL_DATA_DIR": str(tmp_path / "data")}
    args = ("report", mbox, "--repo", repo, "--bisect-test", "t", "--no-checkpatch", "-f", "json")
    done = run_patchtool(*args, *match, env=env, cwd=tmp_path)
    assert done.code in (0, 1), done.stderr
    bisect = json.loads(done.stdout)["bisect"]
    return None if bisect is None else str(bisect["culprit"])


def test_two_bisects_with_different_fail_match_are_not_confused(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    shas = linear_repo(repo, 9)
    mbox = _mbox(repo, tmp_path / "s.mbox")
    plain = ProbeSpec(test="t")
    matched = ProbeSpec(test="t", classifier=Classifier(fail_match=r"rcu: stall"))
    timeouts = ProbeSpec(test="t", classifier=Classifier(timeout_as=TimeoutAs.INCONCLUSIVE))
    (tmp_path / "cache").mkdir()
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        _store_bisect(store, shas, plain, 6)
        _store_bisect(store, shas, matched, 3)
    assert _report_culprit(tmp_path, repo, mbox) == shas[6][:12]
    assert _report_culprit(tmp_path, repo, mbox, "--bisect-fail-match", "rcu: stall") == shas[3][:12]
    # A match no bisect was run with shows no bisect, not the one of another match.
    assert _report_culprit(tmp_path, repo, mbox, "--bisect-fail-match", "other") is None
    with Store(tmp_path / "cache" / "patchtool.sqlite3") as store:
        _store_bisect(store, shas, timeouts, 8)
    assert _report_culprit(tmp_path, repo, mbox, "--bisect-timeout-as", "inconclusive") == shas[8][:12]
