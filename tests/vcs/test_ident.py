"""The committer identity patchtool writes is the one `git var GIT_COMMITTER_IDENT` gives.

Every case sets the identity a different way (environment, committer.*, user.*, $EMAIL, crud around
and inside the values, zones with half hours) in a repository of its own, and compares the name,
address and zone exactly and the time within two seconds. Cases git must work out itself
(GIT_COMMITTER_DATE, no identity) give None, and the caller asks git.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from patchtool.vcs.gitcmd import committer_ident
from tests.plugins.gitutil import git

CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # name: (environment, repository config)
    "user config": ({}, {"user.name": "Ada Lovelace", "user.email": "ada@example.org"}),
    "committer config wins": (
        {},
        {"user.name": "U", "user.email": "u@x", "committer.name": "C Name", "committer.email": "c@x"},
    ),
    "environment wins": (
        {"GIT_COMMITTER_NAME": "Env Name", "GIT_COMMITTER_EMAIL": "env@x"},
        {"user.name": "U"},
    ),
    "address from EMAIL": ({"EMAIL": "mail@example.org"}, {"user.name": "Only Name"}),
    "crud around": ({}, {"user.name": ' "Doe, John"; ', "user.email": " <john@example.org>, "}),
    "brackets inside": ({}, {"user.name": "A <B> C", "user.email": "a@x"}),
    "unicode name": ({}, {"user.name": "Jörg Ünlüt", "user.email": "j@example.org"}),
    "half-hour zone": ({"TZ": "Asia/Kolkata"}, {"user.name": "Z", "user.email": "z@x"}),
    "negative zone": ({"TZ": "America/St_Johns"}, {"user.name": "Z", "user.email": "z@x"}),
}


def _repo(tmp_path: Path, config: dict[str, str]) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    for key, value in config.items():
        git(path, "config", key, value)
    return path


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no global identity
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TZ", "UTC")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    time.tzset()


@pytest.mark.parametrize("case", sorted(CASES))
def test_ident_is_git_var_s(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, config = CASES[case]
    _clean_env(monkeypatch, tmp_path, env)
    repo = _repo(tmp_path, config)
    try:
        mine = committer_ident(repo)
        theirs = subprocess.run(
            ["git", "var", "GIT_COMMITTER_IDENT"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert mine is not None
    who, when, zone = mine.rsplit(" ", 2)
    git_who, git_when, git_zone = theirs.rsplit(" ", 2)
    assert (who, zone) == (git_who, git_zone)
    assert abs(int(when) - int(git_when)) <= 2


@pytest.mark.parametrize(
    "env,config",
    [
        ({"GIT_COMMITTER_DATE": "2020-01-01T00:00:00"}, {"user.name": "A", "user.email": "a@x"}),
        ({}, {"user.email": "a@x"}),  # no name: git works it out from the system
        ({}, {"user.name": "A"}),  # no address
        ({}, {"user.name": "<>", "user.email": "a@x"}),  # nothing left after the crud
    ],
)
def test_cases_git_must_decide_are_left_to_it(
    env: dict[str, str], config: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch, tmp_path, env)
    try:
        assert committer_ident(_repo(tmp_path, config)) is None
    finally:
        monkeypatch.undo()
        time.tzset()
