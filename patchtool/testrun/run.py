"""Run `meson test` repeatedly in a build directory and measure each test's failure rate.

Counts come only from meson's machine log (meson-logs/testlog*.json), never its human output.
meson's own --repeat stops after the first repetition with a failure, so the loop here starts it
again for the repetitions left, counting only runs that really happened. Every meson child gets a
marker in its environment; after each invocation any process still carrying it (a hung test, a
daemon a test left behind) is killed, so nothing survives a run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from patchtool import proc
from patchtool.build.meson import find_tool
from patchtool.errors import EnvironmentProblem, InputError, Interrupted
from patchtool.jsonable import record
from patchtool.testrun.results import RunRecord, TestOutcome, summarize

_MARKER_ENV = "PATCHTOOL_TEST_RUN"
_GRACE = 5.0  # seconds meson gets to stop its tests after SIGTERM before we kill everything


@record
class RunProgress:
    """What the test loop has done so far, for a progress display."""

    runs_done: int
    runs_total: int
    failures: int
    current: str


@record
class TestInfo:
    """A test as meson's introspection describes it."""

    name: str
    suites: tuple[str, ...]
    timeout: float  # seconds; 0 means none


@dataclass
class _Loop:
    """Mutable state of one run_tests call (kept apart from the frozen results)."""

    records: list[RunRecord] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False
    runs_total: int = 0
    overran: bool = False
    live_failures: int = 0  # failures seen in meson's output of the invocation under way


def list_tests(build_dir: Path) -> list[TestInfo]:
    """The tests a configured build directory defines (from meson-info/intro-tests.json)."""
    intro = build_dir / "meson-info" / "intro-tests.json"
    try:
        data = json.loads(intro.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise EnvironmentProblem(
            f"{build_dir}: not a configured meson build directory", hint="run `patchtool build` first"
        ) from e
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(f"{intro}: unreadable ({e})") from e
    return [
        TestInfo(
            str(t["name"]), tuple(s.split(":")[-1] for s in t.get("suite", [])), float(t["timeout"] or 0)
        )
        for t in data
    ]


def _check_names(names: Sequence[str], known: Sequence[TestInfo], build_dir: Path) -> None:
    known_names = {t.name for t in known}
    for name in names:
        if name not in known_names:
            listing = ", ".join(sorted(known_names)[:12]) or "none"
            raise InputError(f"test {name}: no such test in {build_dir}", hint=f"known tests: {listing}")


def _logfile(build_dir: Path, setup: str | None) -> Path:
    suffix = f"-{setup.replace(':', '_')}" if setup else ""
    return build_dir / "meson-logs" / f"testlog{suffix}.json"


def _match_name(logged: str, names: Sequence[str]) -> str:
    """meson logs "suite - project:name"; map it back to the test's own name."""
    for name in names:
        if logged == name or logged.endswith(":" + name):
            return name
    return logged.rsplit(":", 1)[-1]


def read_testlog(path: Path, names: Sequence[str]) -> list[RunRecord]:
    """The runs recorded in one testlog.json (one JSON object per line). A run a signal ended
    has its signal as meson says it on the console ("killed by signal 11 SIGSEGV") after its
    output, which the log's text lacks; not a timeout, whose signal is meson's own."""
    records = []
    with suppress(FileNotFoundError), open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill
            output = str(entry.get("stdout") or "") + str(entry.get("stderr") or "")
            result = str(entry.get("result", "ERROR"))
            if isinstance(code := entry.get("returncode"), int) and result != "TIMEOUT":
                output = proc.with_signal(output, code)  # a crash may print nothing but this
            records.append(
                RunRecord(
                    _match_name(str(entry.get("name", "")), names),
                    result,
                    float(entry.get("duration") or 0.0),
                    output,
                )
            )
    return records


def _meson_argv(
    names: Sequence[str],
    *,
    suite: str | None,
    setup: str | None,
    repeat: int,
    multiplier: float | None,
    jobs: int,
    until_fail: bool,
    no_rebuild: bool,
) -> list[str]:
    argv = [find_tool("meson"), "test", "--num-processes", str(max(1, jobs)), "--repeat", str(repeat)]
    argv += ["--no-rebuild"] if no_rebuild else []
    argv += ["--setup", setup] if setup else []
    argv += ["--suite", suite] if suite else []
    argv += ["--timeout-multiplier", f"{multiplier:g}"] if multiplier is not None else []
    argv += ["--maxfail", "1"] if until_fail else []
    return argv + list(names)


def _marked_pids(marker: str) -> Iterator[int]:
    needle = f"{_MARKER_ENV}={marker}".encode()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                yield int(entry.name)


def reap_marked(marker: str) -> int:
    """Kill every process still carrying our marker (tests that escaped meson's own cleanup)."""
    killed = 0
    for pid in _marked_pids(marker):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


def _stop(popen: subprocess.Popen[bytes], marker: str) -> None:
    """Stop meson: SIGTERM lets it end its tests and finish its log; then kill what is left."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout=_GRACE)
    except (subprocess.TimeoutExpired, KeyboardInterrupt, Interrupted):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
    finally:
        reap_marked(marker)


def _progress_line(line: str, state: _Loop, progress: Callable[[RunProgress], None], base: int) -> None:
    """meson's human lines drive only the display; the counts that matter come from testlog.json."""
    parts = line.split()
    if len(parts) < 3 or "/" not in parts[0] or not parts[0].split("/")[0].isdigit():
        return
    verdicts = ("OK", "FAIL", "TIMEOUT", "SKIP", "ERROR", "EXPECTEDFAIL", "UNEXPECTEDPASS")
    at = next((i for i, p in enumerate(parts) if p in verdicts and i > 1), None)
    if at is None:
        return
    state.live_failures += parts[at] in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS")
    failures = sum(r.failed for r in state.records) + state.live_failures
    name = parts[at - 1].rsplit(":", 1)[-1]
    done = base + int(parts[0].split("/")[0])
    progress(RunProgress(done, state.runs_total, failures, f"{name} {parts[at]}"))


def _invoke(
    argv: list[str],
    build_dir: Path,
    deadline: float,
    state: _Loop,
    progress: Callable[[RunProgress], None] | None,
) -> tuple[int, str, bool]:
    """Run one meson test; returns (exit code, its text output, whether it overran the deadline)."""
    marker = uuid.uuid4().hex
    popen = subprocess.Popen(
        argv,
        cwd=build_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, _MARKER_ENV: marker},
        start_new_session=True,
    )
    output: list[str] = []
    base = len(state.records)
    state.live_failures = 0
    overran = False
    try:
        assert popen.stdout is not None
        for raw in popen.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            output.append(line)
            if progress:
                _progress_line(line, state, progress, base)
            if time.monotonic() > deadline:
                overran = True
                break
        if overran:
            _stop(popen, marker)
        else:
            popen.wait()
    except BaseException:
        _stop(popen, marker)
        raise
    reap_marked(marker)
    return popen.returncode, "\n".join(output), overran


def explain_failure(code: int, text: str, names: Sequence[str], setup: str | None) -> None:
    """meson exited without running anything: say why, naming the test or setup."""
    if "Test setup" in text and "not found" in text:
        raise InputError(f"test setup {setup}: not defined by this tree")
    for name in names:
        if f"{name} test name does not match" in text:
            raise InputError(
                f"test {name}: not run by the test setup {setup or '(default)'}",
                hint="choose a setup that includes it, e.g. --setup thorough",
            )
    last = [ln for ln in text.splitlines() if ln.strip()]
    raise EnvironmentProblem(f"meson test exited with {code}: {last[-1] if last else 'no output'}")


def _groups(selected: Sequence[TestInfo], timeout: float | None) -> list[tuple[float | None, list[str]]]:
    """Split tests by the timeout multiplier that makes each one's limit `timeout` seconds."""
    if timeout is None:
        return [(None, [t.name for t in selected])]
    groups: dict[float | None, list[str]] = {}
    for test in selected:
        multiplier = timeout / test.timeout if test.timeout > 0 else None
        groups.setdefault(multiplier, []).append(test.name)
    return list(groups.items())


def _deadline(selected: Sequence[TestInfo], timeout: float | None, repeat: int) -> float:
    """A guard above meson's own per-test limits, for tests meson would let run forever."""
    per_test = [timeout or t.timeout or 3600.0 for t in selected] or [3600.0]
    return time.monotonic() + sum(per_test) * repeat * 1.5 + 60.0


@record
class _Options:
    suite: str | None
    setup: str | None
    repeat: int
    timeout: float | None
    jobs: int
    until_fail: bool
    no_rebuild: bool
    selected: tuple[TestInfo, ...]


def _run_once(
    build_dir: Path, names: list[str], multiplier: float | None, opts: _Options, left: int, state: _Loop,
    progress: Callable[[RunProgress], None] | None,
) -> tuple[int, str, list[RunRecord]]:  # fmt: skip
    """One meson test invocation for up to `left` repetitions; its records join `state`."""
    argv = _meson_argv(
        names, suite=opts.suite, setup=opts.setup, repeat=left, multiplier=multiplier,
        jobs=opts.jobs, until_fail=opts.until_fail, no_rebuild=opts.no_rebuild,
    )  # fmt: skip
    logfile = _logfile(build_dir, opts.setup)
    logfile.unlink(missing_ok=True)
    overran = False
    code, text = -1, ""
    try:
        code, text, overran = _invoke(
            argv, build_dir, _deadline(opts.selected, opts.timeout, left), state, progress
        )
    finally:
        new = read_testlog(logfile, [t.name for t in opts.selected])
        state.overran = overran
        if overran:  # our guard stopped a test meson would have let run: that is a timeout
            new = [replace(r, result="TIMEOUT") if r.result == "INTERRUPT" else r for r in new]
        state.records.extend(new)
    return code, text, new


def _run_group(
    build_dir: Path,
    names: list[str],
    multiplier: float | None,
    opts: _Options,
    state: _Loop,
    progress: Callable[[RunProgress], None] | None,
) -> None:
    """Run each test of a group until it has `repeat` finished runs (or a stop condition).

    meson stops repeating at the first failure, and may run one test's repetitions before the
    next test's, so after each invocation only the tests still short of runs go again.
    """
    counts = dict.fromkeys(names, 0)
    wanted = list(names)
    while wanted:
        left = min(opts.repeat - counts[n] for n in wanted)
        code, text, new = _run_once(build_dir, wanted, multiplier, opts, left, state, progress)
        counted = [r for r in new if r.counted and r.name in counts]
        if not counted and state.overran:
            # meson was killed before it could log: every test still running hit our guard
            state.records.extend(RunRecord(n, "TIMEOUT", 0.0, "") for n in wanted)
            return
        if not counted:
            if code != 0:
                explain_failure(code, text, wanted, opts.setup)
            return  # meson ran nothing more: do not loop forever
        for r in counted:
            counts[r.name] += 1
        if opts.until_fail and any(r.failed for r in new):
            state.stopped_early = True
            return
        wanted = [n for n, c in counts.items() if c < opts.repeat]


def _selected_names(
    build_dir: Path, known: Sequence[TestInfo], suite: str | None, setup: str | None
) -> list[str]:
    """The tests meson runs for this setup and suite when none is named (`meson test --list`)."""
    argv = [find_tool("meson"), "test", "--list", "--no-rebuild"]
    argv += ["--setup", setup] if setup else []
    argv += ["--suite", suite] if suite else []
    done = proc.run(argv, cwd=build_dir, timeout=120)
    text = done.text() + done.errtext()
    if not done.ok:
        explain_failure(done.returncode, text, [], setup)
    listed = [line.strip() for line in done.text().splitlines() if line.strip()]
    return [t.name for t in known if any(_match_name(line, [t.name]) == t.name for line in listed)]


def run_tests(
    build_dir: Path,
    *,
    names: Sequence[str] = (),
    suite: str | None = None,
    setup: str | None = None,
    repeat: int = 1,
    timeout: float | None = None,
    jobs: int = 1,
    until_fail: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
    no_rebuild: bool = True,
) -> TestOutcome:
    """Run the tests `repeat` times and summarise each; Ctrl-C keeps what was measured."""
    if repeat < 1:
        raise InputError(f"--repeat {repeat}: must be at least 1")
    if timeout is not None and timeout <= 0:
        raise InputError(f"--timeout {timeout:g}: must be positive")
    known = list_tests(build_dir)
    _check_names(names, known, build_dir)
    names = list(names) if names else _selected_names(build_dir, known, suite, setup)
    selected = [t for t in known if t.name in names]
    state = _Loop(
        runs_total=repeat * len(names),
    )
    opts = _Options(suite, setup, repeat, timeout, jobs, until_fail, no_rebuild, tuple(selected))
    start = time.monotonic()
    try:
        for multiplier, group in _groups(selected, timeout):
            _run_group(build_dir, group, multiplier, opts, state, progress)
            if state.stopped_early:
                break
    except (KeyboardInterrupt, Interrupted):
        state.interrupted = True
    return TestOutcome(
        build_dir=build_dir,
        tests=summarize(state.records, names),
        setup=setup,
        suite=suite,
        repeat=repeat,
        interrupted=state.interrupted,
        stopped_early=state.stopped_early,
        duration=time.monotonic() - start,
        records=tuple(state.records),
    )
