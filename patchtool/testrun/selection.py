"""Check a test request against the build's introspection and name the targets it needs.

Both happen once the build directory is configured and before anything is compiled, so a typo in
a test name or setup costs seconds, not a build, and a test run builds only what its tests
depend on (meson introspection knows each test's executable and depends).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from patchtool import proc
from patchtool.build.meson import find_tool, ninja_of
from patchtool.errors import EnvironmentProblem, InputError
from patchtool.testrun.run import TestInfo, explain_failure, list_tests


def _read(path: Path) -> list[dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"{path}: unreadable meson introspection ({e})") from e
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _regenerate(build_dir: Path) -> None:
    # The introspection is as old as the last configure: a test added by the checked-out commit
    # appears only once ninja has rerun meson (it does so only when a meson.build changed).
    proc.run([ninja_of(build_dir), "-C", str(build_dir), "build.ninja"], cwd=build_dir, timeout=600)


def _unknown(names: Sequence[str], known: Sequence[TestInfo]) -> list[str]:
    have = {t.name for t in known}
    return [n for n in names if n not in have]


def check_names(build_dir: Path, names: Sequence[str]) -> list[TestInfo]:
    """The named tests as meson knows them; InputError naming the nearest test for a typo."""
    known = list_tests(build_dir)
    if _unknown(names, known):
        _regenerate(build_dir)
        known = list_tests(build_dir)
    for name in _unknown(names, known):
        close = difflib.get_close_matches(name, [t.name for t in known], n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "`meson test --list` names the tests"
        raise InputError(f"test {name}: no such test in this tree", hint=hint)
    return [t for t in known if t.name in names]


def check_setup(build_dir: Path, setup: str | None, names: Sequence[str]) -> None:
    """The setup exists and runs the named tests (meson itself decides, without building)."""
    if setup is None:
        return
    argv = [find_tool("meson"), "test", "--list", "--no-rebuild", "--setup", setup, *names]
    done = proc.run(argv, cwd=build_dir, timeout=300)
    if not done.ok:
        explain_failure(done.returncode, done.text() + done.errtext(), list(names), setup)


def _relative(path: str, build_dir: Path) -> str | None:
    rel = os.path.relpath(path, build_dir)
    return None if rel.startswith("..") else rel


def test_targets(build_dir: Path, names: Sequence[str]) -> list[str]:
    """The ninja targets the named tests need: their executables and their declared depends."""
    intro = build_dir / "meson-info"
    outputs: dict[str, list[str]] = {}
    for target in _read(intro / "intro-targets.json"):
        files = target.get("filename")
        outputs[str(target.get("id"))] = [str(f) for f in files] if isinstance(files, list) else []
    wanted: list[str] = []
    for test in _read(intro / "intro-tests.json"):
        if test.get("name") not in names:
            continue
        cmd, depends = test.get("cmd"), test.get("depends")
        paths = [str(cmd[0])] if isinstance(cmd, list) and cmd else []
        for dep in depends if isinstance(depends, list) else []:
            paths += outputs.get(str(dep), [])
        wanted += [rel for p in paths if (rel := _relative(p, build_dir)) is not None]
    return sorted(set(wanted))


def plan_for_tests(names: Sequence[str], setup: str | None) -> Callable[[Path], Sequence[str]]:
    """For build_tree: check the request in the configured directory, then name what to build.

    Without names every test of the setup may run, so everything is built.
    """

    def plan(build_dir: Path) -> Sequence[str]:
        if not names:
            check_setup(build_dir, setup, names)
            return []
        check_names(build_dir, names)
        check_setup(build_dir, setup, names)
        return test_targets(build_dir, names) or []

    return plan
