"""The meson and ninja a build uses, and what a build directory records of its configures."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from patchtool.errors import EnvironmentProblem

MARKER = "patchtool-configure.json"  # in a configured build directory: its arguments and ninja


def find_tool(name: str) -> str:
    """meson/ninja: the one next to the running Python (the venv's bin) first, then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise EnvironmentProblem(
        f"{name}: not found next to {sys.executable} nor on PATH",
        hint=f"install it with `pip install {name}` (patchtool depends on it)",
    )


def pick_ninja() -> str:
    """The ninja a new build directory is configured with: the developer's own (the one their shell
    runs, so a `ninja` typed in a directory patchtool printed agrees with ours), else the venv's.
    Two ninja versions take turns rebuilding everything in one directory."""
    return shutil.which("ninja") or find_tool("ninja")


def ninja_of(build_dir: Path) -> str:
    """The ninja `build_dir` was configured with (recorded at configure), so one ninja drives it."""
    try:
        recorded = json.loads((build_dir / MARKER).read_text()).get("ninja")
    except (OSError, ValueError):
        recorded = None
    if isinstance(recorded, str) and os.access(recorded, os.X_OK):
        return recorded
    return pick_ninja()


def _once(build_dir: Path) -> Path:
    """Beside the build directory (it survives the directory's removal): the arguments that
    configured it once."""
    return build_dir.parent / f"{build_dir.name}.configured"


def note_configured(build_dir: Path, args: Sequence[str]) -> None:
    """Remember that ``args`` configured ``build_dir`` (for some version of the tree)."""
    _once(build_dir).write_text(json.dumps(list(args)))


def configured_once(build_dir: Path, args: Sequence[str]) -> bool:
    """Whether ``args`` configured ``build_dir`` before, for some version of the tree: then this
    machine can configure with them, and a version that does not is that version's failure."""
    try:
        return bool(json.loads(_once(build_dir).read_text()) == list(args))
    except (OSError, ValueError):
        return False
