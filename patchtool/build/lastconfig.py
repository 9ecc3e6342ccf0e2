"""The configure arguments a repository was last built with: `build`, `test` and `bisect` reuse
them when no --configure is given, as a developer reruns ninja in the build directory they
configured once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from patchtool.config import Settings
from patchtool.vcs.gitcmd import run_git


def _last_configuration_file(source_dir: Path, settings: Settings) -> Path:
    """One record per repository (tool worktrees share their repository's), else per directory."""
    found = run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=source_dir, timeout=300)
    owner = found.text().strip() if found.ok and found.text().strip() else str(source_dir.resolve())
    digest = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return settings.data_dir / "builds" / "last-configuration" / f"{digest}.json"


def remember_configuration(source_dir: Path, settings: Settings, args: Sequence[str]) -> None:
    path = _last_configuration_file(source_dir, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"args": list(args)}))


def last_configuration(source_dir: Path, settings: Settings) -> list[str]:
    """The configure arguments this tree (or its repository) was last built with; [] if never."""
    try:
        args = json.loads(_last_configuration_file(source_dir, settings).read_text()).get("args")
    except (OSError, ValueError):
        return []
    return [str(a) for a in args] if isinstance(args, list) else []
