"""Configure and compile a source tree with meson and ninja in a build directory the tool keeps.

Build directories live under Settings.data_dir/builds/, one per tree (its path) and configuration
(a hash of the configure arguments and the compiler variables), and are reused: when a worktree
moves to another commit, ninja rebuilds only what changed. Compiler diagnostics are extracted from
the ninja output; the full log stays on disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from typing import IO

from patchtool import proc
from patchtool.build.diagnostics import Diagnostic, configure_problem, first_error, parse_diagnostics
from patchtool.build.lastconfig import last_configuration, remember_configuration
from patchtool.build.tools import MARKER as _MARKER
from patchtool.build.tools import configured_once, find_tool, ninja_of, note_configured, pick_ninja
from patchtool.config import Settings
from patchtool.errors import EnvironmentProblem, InputError
from patchtool.jsonable import record
from patchtool.store import Store
from patchtool.vcs.gitcmd import run_git

# Environment variables that change what a configure produces: part of the configuration key.
_CONFIG_ENV = ("CC", "CXX", "CFLAGS", "CPPFLAGS", "CXXFLAGS", "LDFLAGS", "PKG_CONFIG_PATH")
_KEEP_LOGS = 10
# A bound on one configure or compile, for a build that hangs. A full QEMU build on a busy 2-core
# machine took more than 30 minutes: the bound is far above any real build.
BUILD_TIMEOUT = 6 * 3600.0
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_STATUS = re.compile(r"^\[(\d+)/(\d+)\] (.*)$")
_NINJA_STATUS = "[%f/%t] "

BUILD_DDL = """
CREATE TABLE IF NOT EXISTS build_results (
    tree_id TEXT NOT NULL,
    config_key TEXT NOT NULL,
    ok INTEGER NOT NULL,
    first_error TEXT,
    log_path TEXT NOT NULL,
    duration REAL NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (tree_id, config_key)
);
"""


@record
class BuildResult:
    """What a build did: success, where, the diagnostics, and how much work ninja had to do."""

    ok: bool
    build_dir: Path
    log_path: Path
    diagnostics: tuple[Diagnostic, ...]
    first_error: str | None
    steps_run: int
    duration: float
    configured: bool
    source_dir: Path = Path()
    config_key: str = ""
    tree_id: str | None = None
    steps: tuple[str, ...] = field(default=(), repr=False)

    @property
    def compiled(self) -> tuple[str, ...]:
        """The objects ninja compiled in this build (from meson's "Compiling C object X" steps)."""
        found = []
        for step in self.steps:
            match = re.match(r"Compiling \S+ object (\S+)", step)
            if match:
                found.append(match.group(1))
        return tuple(found)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity != "warning")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")


@record
class StoredBuild:
    """A build verdict remembered for a tree and configuration."""

    ok: bool
    first_error: str | None
    log_path: Path
    duration: float


class ConfigureTimedOut(EnvironmentProblem):
    """A configure that ran past its timeout."""


class ConfigureFailed(EnvironmentProblem):
    """A configure that exited with an error (the tree, the arguments or the machine)."""


def config_key(configure_args: Sequence[str], env: dict[str, str] | None = None) -> str:
    """A short hash naming a configuration: the configure arguments and the compiler variables."""
    env = dict(os.environ) if env is None else env
    material = {"args": list(configure_args), "env": {k: env.get(k, "") for k in _CONFIG_ENV}}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:12]


def build_dir_for(source_dir: Path, settings: Settings, key: str) -> Path:
    """Where the build of `source_dir` in configuration `key` lives (outside the source tree)."""
    source = source_dir.resolve()
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:12]
    return settings.data_dir / "builds" / f"{source.name or 'tree'}-{digest}" / key


def _git(args: Sequence[str], cwd: Path, extra_env: dict[str, str] | None = None) -> proc.Completed:
    # vcs.gitcmd, not GitRepo: importing GitPython would cost more than the no-op build it
    # decorates (tree ids are taken on every build and test command).
    return run_git(args, cwd=cwd, extra_env=extra_env, timeout=300)


def tree_id_of(source_dir: Path) -> str | None:
    """The git tree sha of what is on disk in `source_dir` (uncommitted changes included).

    A copy of the index is updated with `git add -A` and written as a tree, so the user's index
    is never touched and unchanged files are not re-hashed. None when not in a git repository.
    """
    where = _git(["rev-parse", "--show-toplevel", "--absolute-git-dir"], source_dir)
    if not where.ok:
        return None
    top, git_dir = (Path(line) for line in where.text().splitlines()[:2])
    index = git_dir / "index"
    # The copy lives in our own temporary directory: nothing is written inside the user's .git
    # but the objects `git add` stores.
    with tempfile.TemporaryDirectory(prefix="patchtool-index-") as scratch:
        tmp_index = Path(scratch) / "index"
        if index.exists():
            shutil.copyfile(index, tmp_index)
        env = {"GIT_INDEX_FILE": str(tmp_index)}
        added = _git(["add", "-A", "--", "."], top, env)
        written = _git(["write-tree"], top, env)
    if not (added.ok and written.ok):
        raise EnvironmentProblem(f"git could not record the tree of {top}: {added.errtext().strip()}")
    tree = written.text().strip()
    prefix = source_dir.resolve().relative_to(top.resolve()).as_posix()
    if prefix not in ("", "."):
        tree = _git(["rev-parse", f"{tree}:{prefix}"], top).text().strip()
    return tree


def _new_log_path(build_dir: Path, kind: str) -> Path:
    logs = build_dir.parent / f"{build_dir.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in sorted(logs.glob(f"{kind}-*.log"))[: -(_KEEP_LOGS - 1)]:
        old.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return logs / f"{kind}-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}.log"


def _lines(stream: IO[bytes]) -> Iterator[str]:
    for raw in stream:
        yield _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\r\n")


def _stream(
    argv: Sequence[str],
    *,
    cwd: Path,
    log: IO[str],
    timeout: float,
    extra_env: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> tuple[int, bool, list[str]]:
    """Run argv, copying its output (ANSI stripped) to `log`; kill its group after `timeout`."""
    lines: list[str] = []
    with proc.spawn(argv, cwd=cwd, extra_env=extra_env) as popen:
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill_group(popen)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            assert popen.stdout is not None
            for line in _lines(popen.stdout):
                lines.append(line)
                log.write(line + "\n")
                if on_line:
                    on_line(line)
            popen.wait()
        finally:
            timer.cancel()
    return popen.returncode, expired.is_set(), lines


@contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    """One configure-and-compile at a time per build directory, across processes."""
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(build_dir.parent / f"{build_dir.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _configured(build_dir: Path, args: Sequence[str]) -> bool:
    marker = build_dir / _MARKER
    if not (marker.is_file() and (build_dir / "build.ninja").is_file()):
        return False
    try:
        return bool(json.loads(marker.read_text()).get("args") == list(args))
    except (OSError, ValueError):
        return False


def _configure_argv(source_dir: Path, build_dir: Path, args: Sequence[str]) -> list[str]:
    """QEMU's way when the tree has ./configure (run from inside the build dir), else meson setup."""
    configure = source_dir / "configure"
    if configure.is_file() and os.access(configure, os.X_OK):
        return [str(configure), *args]
    return [find_tool("meson"), "setup", str(build_dir), str(source_dir), *args]


def _configure_env(ninja: str) -> dict[str, str]:
    # A ./configure wrapper must find the same meson and ninja as we do.
    bindir = str(Path(find_tool("meson")).parent)
    env = {"PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    env["NINJA"] = ninja
    return env


def configure_tree(
    source_dir: Path,
    build_dir: Path,
    args: Sequence[str],
    timeout: float,
    on_line: Callable[[str], None] | None = None,
) -> bool:
    """Configure `build_dir` for `source_dir` unless already done with these arguments."""
    if _configured(build_dir, args):
        return False
    if build_dir.exists():
        shutil.rmtree(build_dir)  # half-configured or configured differently: start clean
    build_dir.mkdir(parents=True)
    log_path = _new_log_path(build_dir, "configure")
    ninja = pick_ninja()
    with open(log_path, "w", encoding="utf-8", buffering=1) as log:
        code, timed_out, lines = _stream(
            _configure_argv(source_dir, build_dir, args),
            cwd=build_dir,
            log=log,
            timeout=timeout,
            extra_env=_configure_env(ninja),
            on_line=on_line,
        )
    if timed_out:
        raise ConfigureTimedOut(f"configure of {source_dir} timed out after {timeout:.0f}s")
    if code != 0 or not (build_dir / "build.ninja").is_file():
        problem = configure_problem(source_dir, lines, log_path)
        raise ConfigureFailed(problem.message, hint=problem.hint)
    marker = {"args": list(args), "source": str(source_dir), "ninja": ninja}
    (build_dir / _MARKER).write_text(json.dumps(marker))
    note_configured(build_dir, args)
    return True


def configure_only(
    source_dir: Path, settings: Settings, configure_args: Sequence[str]
) -> ConfigureFailed | None:
    """Configure `source_dir` with these arguments in the build directory `build_tree` would use
    (then a version that does not configure there is that version's failure); None when it did."""
    source_dir = source_dir.resolve()
    build_dir = build_dir_for(source_dir, settings, config_key(configure_args))
    with _build_lock(build_dir):
        try:
            configure_tree(source_dir, build_dir, configure_args, BUILD_TIMEOUT)
        except ConfigureFailed as problem:
            return problem
    return None


def _compile(
    build_dir: Path,
    targets: Sequence[str],
    log: IO[str],
    timeout: float,
    progress: Callable[[str], None] | None,
) -> tuple[int, bool, list[str]]:
    def on_line(line: str) -> None:
        if progress and _STATUS.match(line):
            progress(line)

    ninja = ninja_of(build_dir)
    argv = [ninja, "-C", str(build_dir), *targets]
    return _stream(
        argv,
        cwd=build_dir,
        log=log,
        timeout=timeout,
        extra_env={"NINJA_STATUS": _NINJA_STATUS, **_configure_env(ninja)},
        on_line=on_line,
    )


def _check_ninja_failure(code: int, timed_out: bool, lines: Sequence[str], log_path: Path) -> None:
    """A ninja failure that is not a compile failure (bad target, broken build dir) is ours to report."""
    if timed_out:
        raise EnvironmentProblem(f"build timed out (log: {log_path})", hint="raise the timeout")
    if code != 0 and not any(ln.startswith("FAILED") for ln in lines):
        reason = next((ln for ln in lines if ln.startswith("ninja: error")), f"ninja exited with {code}")
        if "unknown target" in reason:
            raise InputError(reason.removeprefix("ninja: error: "))
        raise EnvironmentProblem(f"build failed before compiling: {reason}", hint=f"see {log_path}")


def build_tree(
    source_dir: Path,
    settings: Settings,
    *,
    configure_args: Sequence[str] = (),
    targets: Sequence[str] = (),
    store: Store | None = None,
    progress: Callable[[str], None] | None = None,
    timeout: float = BUILD_TIMEOUT,
    tree_id: str | None = None,
    targets_for: Callable[[Path], Sequence[str]] | None = None,
) -> BuildResult:
    """Configure (once per configuration) and compile `source_dir`; a compile error is ok=False.

    With a store, the result is recorded under the source's tree id: pass `tree_id` when the
    caller has already computed it, since computing it hashes the whole work tree again.
    `targets_for`, given the configured build directory, checks the request against meson's
    introspection (raising before anything is compiled) and names the targets to build.
    """
    source_dir = source_dir.resolve()
    if not (source_dir / "meson.build").is_file():
        raise InputError(f"{source_dir}: no meson.build (not a meson source tree)")
    key = config_key(configure_args)
    build_dir = build_dir_for(source_dir, settings, key)
    start = time.monotonic()
    with _build_lock(build_dir):
        if progress:
            progress(f"configuring {source_dir.name}")
        try:
            configured = configure_tree(source_dir, build_dir, configure_args, timeout, _said(progress))
        except ConfigureFailed as problem:
            # These arguments configured this directory before, for another version of the tree
            # (its fresh configure below failed, say, and the next commit is as old): this
            # version's failure. Never configured with them here: the machine's or the arguments'.
            if not configured_once(build_dir, configure_args):
                raise
            return _unconfigured(source_dir, build_dir, key, problem, start)
        remember_configuration(source_dir, settings, configure_args)
        if targets_for is not None:
            targets = list(targets_for(build_dir))
        log_path = _new_log_path(build_dir, "build")
        with open(log_path, "w", encoding="utf-8", buffering=1) as log:
            code, timed_out, lines = _compile(build_dir, targets, log, timeout, progress)
        if code != 0 and not timed_out and not configured and _regeneration_failed(lines):
            # The directory was configured for another version of the tree: QEMU's ./configure
            # passes options (-Dgdb=...) that an older meson_options.txt does not know, and
            # ninja's regeneration reuses them. As a developer would: configure afresh, once.
            if progress:
                progress(f"configuring {source_dir.name} afresh: its build directory was for another version")
            shutil.rmtree(build_dir)
            try:
                configured = configure_tree(source_dir, build_dir, configure_args, timeout, _said(progress))
            except ConfigureFailed as problem:  # this version of the tree does not configure
                # (a timeout is the machine's problem: load, a hung download; it is raised)
                return _unconfigured(source_dir, build_dir, key, problem, start)
            if targets_for is not None:
                targets = list(targets_for(build_dir))
            log_path = _new_log_path(build_dir, "build")
            with open(log_path, "w", encoding="utf-8", buffering=1) as log:
                code, timed_out, lines = _compile(build_dir, targets, log, timeout, progress)
    _check_ninja_failure(code, timed_out, lines, log_path)
    steps = tuple(m.group(3) for ln in lines if (m := _STATUS.match(ln)))
    diagnostics = parse_diagnostics(lines, build_dir, source_dir)
    result = BuildResult(
        ok=code == 0,
        build_dir=build_dir,
        log_path=log_path,
        diagnostics=diagnostics,
        first_error=None if code == 0 else first_error(diagnostics, lines),
        steps_run=len(steps),
        duration=time.monotonic() - start,
        configured=configured,
        source_dir=source_dir,
        config_key=key,
        # Only full builds are recorded: a targeted build does not hash the tree for nothing.
        tree_id=(tree_id or tree_id_of(source_dir)) if store is not None and not targets else tree_id,
        steps=steps,
    )
    if store is not None and result.tree_id and not targets:
        record_build(store, result)
    return result


def _regeneration_failed(lines: Sequence[str]) -> bool:
    """ninja stopped at re-running meson on changed build files (not at a compile)."""
    return any(ln.startswith("ninja: error: rebuilding 'build.ninja'") for ln in lines)


def _unconfigured(
    source_dir: Path, build_dir: Path, key: str, problem: EnvironmentProblem, start: float
) -> BuildResult:
    """A failed build whose first error is the configure's (a version of the tree that does not
    configure as the others did): a verdict on that version, not on the environment."""
    logs = sorted((build_dir.parent / f"{build_dir.name}-logs").glob("configure-*.log"))
    return BuildResult(
        ok=False,
        build_dir=build_dir,
        log_path=logs[-1] if logs else build_dir,
        diagnostics=(),
        first_error=problem.message,
        steps_run=0,
        duration=time.monotonic() - start,
        configured=False,
        source_dir=source_dir,
        config_key=key,
    )


def _said(progress: Callable[[str], None] | None) -> Callable[[str], None] | None:
    if progress is None:
        return None
    return lambda line: progress(f"configure: {line}") if line.strip() else None


def record_build(store: Store, result: BuildResult) -> None:
    """Remember a full build's verdict for its tree and configuration (for report and bisect)."""
    store.ensure_schema(BUILD_DDL)
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO build_results VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                result.tree_id,
                result.config_key,
                int(result.ok),
                result.first_error,
                str(result.log_path),
                result.duration,
                time.time(),
            ),
        )


def stored_build(store: Store, tree_id: str, key: str) -> StoredBuild | None:
    """The remembered verdict of a full build of `tree_id` in configuration `key`, if any."""
    store.ensure_schema(BUILD_DDL)
    rows = store.query(
        "SELECT ok, first_error, log_path, duration FROM build_results WHERE tree_id = ? AND config_key = ?",
        (tree_id, key),
    )
    if not rows:
        return None
    row = rows[0]
    return StoredBuild(bool(row["ok"]), row["first_error"], Path(row["log_path"]), row["duration"])


__all__ = [
    "BuildResult",
    "Diagnostic",
    "StoredBuild",
    "build_dir_for",
    "build_tree",
    "config_key",
    "find_tool",
    "last_configuration",
    "ninja_of",
    "parse_diagnostics",
    "stored_build",
    "tree_id_of",
]
