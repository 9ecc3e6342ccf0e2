"""Settings: each from a CLI option, else an environment variable, else `git config`, else a default.

The git config values are read by the caller (vcs.gitcmd.patchtool_config: every git process
starts in vcs) and passed in; each value is checked here, so a bad one is a one-line usage error
naming the setting, where it came from and the form it takes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path

import platformdirs

from patchtool.errors import UsageError
from patchtool.jsonable import record


@record
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
    "checkpatch_timeout": SettingSpec(
        "patchtool.checkpatch.timeout", "PATCHTOOL_CHECKPATCH_TIMEOUT", "600"
    ),
    "checkpatch_jobs": SettingSpec("patchtool.checkpatch.jobs", "PATCHTOOL_CHECKPATCH_JOBS", "auto"),
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


@record
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


def _check_timeout(value: str) -> str | None:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds) and seconds > 0:
        return None
    return "a number of seconds greater than 0, e.g. 30"


def _check_jobs(value: str) -> str | None:
    if value == "auto" or (value.isascii() and value.isdigit() and 0 < int(value) <= 1024):
        return None
    return "auto (the CPUs this process may use) or a number of processes from 1 to 1024, e.g. 4"


def jobs_setting(value: str) -> int | None:
    """A checked jobs setting as a count (None: auto)."""
    return None if value == "auto" else int(value)


def _check_url(value: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    return None if ok else "an http:// or https:// URL, e.g. https://patchew.org"


_CHECKS = {
    "timeout": _check_timeout,
    "checkpatch_timeout": _check_timeout,
    "checkpatch_jobs": _check_jobs,
    "patchew_url": _check_url,
    "patchwork_url": _check_url,
    "lore_url": _check_url,
}


def check_settings(values: Mapping[str, str], origins: Mapping[str, str]) -> None:
    """UsageError naming the first setting whose value is not of its allowed form."""
    for name, check in _CHECKS.items():
        if name in values and (form := check(values[name])) is not None:
            where = origins.get(name, "default")
            shown = values[name] if len(values[name]) <= 80 else values[name][:80] + "..."
            raise UsageError(f"{SPECS[name].key}: bad value {shown!r} (from {where}); it must be {form}")


def load_settings(
    cli: Mapping[str, str | None] | None = None,
    *,
    repo: Path | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
    git_values: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: CLI option > environment variable > git config > default.

    `git_values` are the `patchtool.*` git config values (lower-cased keys) the caller read for
    `repo` (vcs.gitcmd.patchtool_config); without them git config is not consulted.
    """
    cli = cli or {}
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    from_git = git_values or {}
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
    check_settings(values, origins)
    return Settings(values=values, origins=origins, offline=offline)
