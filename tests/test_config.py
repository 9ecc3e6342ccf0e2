"""Settings precedence: command-line option > environment variable > git config > default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool.config import SPECS, load_settings
from patchtool.vcs.gitcmd import patchtool_config
from tests.conftest import ROOT
from tests.plugins.gitutil import git


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, repo=tmp_path, env={})
    assert settings["patchew_url"] == "https://patchew.org"
    assert settings["patchew_git"] == "https://github.com/patchew-project/qemu"
    assert settings["patchwork_url"] == "https://patchwork.ozlabs.org"
    assert settings["lore_url"] == "https://lore.kernel.org"
    assert (settings["project"], settings["list"]) == ("QEMU", "qemu-devel")
    assert settings["sources"] == "patchew,lore,patchwork"
    assert settings.origins["lore_url"] == "default"


def test_git_config_beats_default(repo_factory: Callable[..., Path]) -> None:
    repo = repo_factory("r")
    git(repo, "config", "patchtool.lore.url", "http://lore.local")
    settings = load_settings({}, repo=repo, env={}, git_values=patchtool_config(repo))
    assert settings["lore_url"] == "http://lore.local"
    assert settings.origins["lore_url"] == "git config patchtool.lore.url"


def test_global_git_config_is_read_outside_a_repository(tmp_path: Path, hermetic: Path) -> None:
    git(tmp_path, "config", "--global", "patchtool.project", "Other")
    assert load_settings({}, env={}, git_values=patchtool_config(tmp_path))["project"] == "Other"


def test_environment_beats_git_config(repo_factory: Callable[..., Path]) -> None:
    repo = repo_factory("r")
    git(repo, "config", "patchtool.patchwork.url", "http://from-git")
    settings = load_settings(
        {}, env={"PATCHTOOL_PATCHWORK_URL": "http://from-env"}, git_values=patchtool_config(repo)
    )
    assert settings["patchwork_url"] == "http://from-env"
    assert settings.origins["patchwork_url"] == "$PATCHTOOL_PATCHWORK_URL"


def test_option_beats_everything(repo_factory: Callable[..., Path]) -> None:
    repo = repo_factory("r")
    git(repo, "config", "patchtool.patchew.url", "http://from-git")
    settings = load_settings(
        {"patchew_url": "http://from-option"},
        env={"PATCHTOOL_PATCHEW_URL": "http://from-env"},
        git_values=patchtool_config(repo),
    )
    assert settings["patchew_url"] == "http://from-option"
    assert settings.origins["patchew_url"] == "option"


def test_an_empty_environment_variable_does_not_count(tmp_path: Path) -> None:
    assert load_settings({}, repo=tmp_path, env={"PATCHTOOL_LIST": ""})["list"] == "qemu-devel"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_setting_is_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    spec = SPECS[name]
    assert f"`{spec.key}`" in readme and f"`{spec.env}`" in readme


def test_cli_option_reaches_the_fetch(tmp_path: Path) -> None:
    from tests.conftest import run_patchtool

    # an option pointing at a closed port wins over the environment and fails fast, naming it
    result = run_patchtool(
        "fetch",
        "x@y",
        "--lore-url",
        "http://127.0.0.1:9",
        cwd=tmp_path,
        env={"PATCHTOOL_SOURCES": "lore", "PATCHTOOL_LORE_URL": "http://127.0.0.1:1"},
    )
    assert result.code == 3
    assert result.stderr.startswith("error: http://127.0.0.1:9/qemu-devel/x@y/t.mbox.gz: cannot connect")
