"""Settings: each from a CLI option, else an environment variable, else `git config`, else a default."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class SettingSpec:
    """Where one setting may come from: its git config key, its environment variable, its default."""

    key: str  # git config key, e.g. patchtool.patchew.url
    env: str  # environment variable, e.g. PATCHTOOL_PATCHEW_URL
    default: str


# Every setting patchtool reads. Add new ones here so the README table stays complete.
SPECS: dict[str, SettingSpec] = {
    "patchew_url": SettingSpec("patchtool.patchew.url", "PATCHTOOL_PATCHEW_URL", "https://patchew.org"),
    "patchew_git": SettingSpec(
        "patchtool.patchew.git", "PATCHTOOL_PATCHEW_GIT", "https://github.com/patchew-project/qemu"
    ),
    "patchwork_url": SettingSpec(
        "patchtool.patchwork.url", "PATCHTOOL_PATCHWORK_URL", "https://patchwork.ozlabs.org"
    ),
    "lore_url": SettingSpec("patchtool.lore.url", "PATCHTOOL_LORE_URL", "https://lore.kernel.org"),
    "project": SettingSpec("patchtool.project", "PATCHTOOL_PROJECT", "QEMU"),
    "list": SettingSpec("patchtool.list", "PATCHTOOL_LIST", "qemu-devel"),
    "sources": SettingSpec("patchtool.sources", "PATCHTOOL_SOURCES", "patchew,lore,patchwork"),
    "timeout": SettingSpec("patchtool.timeout", "PATCHTOOL_TIMEOUT", "30"),
    "cache_dir": SettingSpec(
        "patchtool.cachedir", "PATCHTOOL_CACHE_DIR", platformdirs.user_cache_dir("patchtool")
    ),
    "data_dir": SettingSpec(
        "patchtool.datadir", "PATCHTOOL_DATA_DIR", platformdirs.user_data_dir("patchtool")
    ),
    "stubs": SettingSpec(
        "patchtool.stubs",
        "PATCHTOOL_STUBS",
        "include/system/kvm.h=accel/stubs/kvm-stub.c",
    ),
    "cluster": SettingSpec("patchtool.cluster", "PATCHTOOL_CLUSTER", ""),
    "cluster_repo": SettingSpec("patchtool.cluster.repo", "PATCHTOOL_CLUSTER_REPO", ""),
}


def git_config_all(cwd: Path | None = None) -> dict[str, str]:
    """Every `patchtool.*` git config value, read with one git call (repository config included)."""
    try:
        proc = subprocess.run(
            ["git", "config", "--null", "--get-regexp", r"^patchtool\."],
            cwd=cwd if cwd and cwd.is_dir() else Path.cwd(),
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    values: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        key, _, value = entry.partition("\n")
        if key:
            values[key.lower()] = value  # last one wins, as for `git config --get`
    return values


@dataclass(frozen=True)
class Settings:
    """Resolved settings; `values` maps each SPECS name to its value, `origins` to where it came from."""

    values: Mapping[str, str]
    origins: Mapping[str, str] = field(default_factory=dict)
    offline: bool = False

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    @property
    def cache_dir(self) -> Path:
        return Path(self.values["cache_dir"])

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data_dir"])

    @property
    def store_path(self) -> Path:
        return self.cache_dir / "patchtool.sqlite3"

    @property
    def timeout(self) -> float:
        return float(self.values["timeout"])


def load_settings(
    cli: Mapping[str, str | None] | None = None,
    *,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
) -> Settings:
    """Resolve every setting: CLI option > environment variable > git config > default."""
    cli = cli or {}
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    from_git = git_config_all(repo)
    for name, spec in SPECS.items():
        cli_value = cli.get(name)
        if cli_value is not None:
            values[name], origins[name] = cli_value, "option"
        elif env.get(spec.env):
            values[name], origins[name] = env[spec.env], f"${spec.env}"
        elif (git_value := from_git.get(spec.key.lower())) is not None:
            values[name], origins[name] = git_value, f"git config {spec.key}"
        else:
            values[name], origins[name] = spec.default, "default"
    return Settings(values=values, origins=origins, offline=offline)
