"""Real-QEMU check: patchtool's build, test, report and bisect on a real checkout, next to plain tools.

Takes a QEMU checkout (its ignored subprojects/ already in place, as after an online configure or
`meson subprojects download`) and prints, per section:

  full         configure + full build: `patchtool build --repo` next to `../configure && ninja`
  incremental  after touching util/rcu.c: `ninja <the test's targets>`, `patchtool build --target`,
               `patchtool test rcutorture` (build part and total), medians of --runs rounds run
               side by side on the same tree and build directory
  test         `patchtool test rcutorture --repeat 5 --repo QEMU`
  report       `patchtool report PATCH --repo QEMU --build --configure '...'`
  bisect       `patchtool bisect --run` over GOOD..BAD (a real range of util/ history) with a real
               build at each probe and a flaky script whose failure starts at --culprit

Usage: python bench/qemu.py QEMU_PATH [--sections incremental,test] [--runs 5] [--data DIR]
           [--plain-build DIR] [--patch MBOX] [--good REV --bad REV --culprit REV]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/bisect.py would shadow the standard library's bisect (imported by statistics).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import tempfile
import time

CONFIGURE = (
    "--target-list=alpha-softmmu --disable-docs --disable-werror --disable-download"
    " --disable-guest-agent --disable-tools --disable-rust --disable-gtk --disable-sdl --disable-spice"
    " --disable-opengl"
)
TEST = "rcutorture"
TOUCHED = "util/rcu.c"
SECTIONS = ("full", "incremental", "test", "report", "bisect")

# The flaky probe: a real build of the test's targets, then the test; from the chosen commit on,
# about half of the runs fail (a seeded coin stepped by a counter file, so a run is repeatable).
FLAKY = """#!/bin/sh
patchtool build --worktree . --target {target} --quiet -- {configure} >/dev/null 2>&1 || exit 125
if git merge-base --is-ancestor {culprit} HEAD; then
    exec {python} -c '
import os, random, sys
path = {counter!r}
n = int(open(path).read()) if os.path.exists(path) else 0
open(path, "w").write(str(n + 1))
sys.exit(1 if random.Random(n).random() < 0.5 else 0)
'
fi
exit 0
"""


class Bench:
    def __init__(self, qemu: Path, data: Path) -> None:
        self.qemu, self.data = qemu.resolve(), data
        self.env = {
            **os.environ,
            "PATCHTOOL_DATA_DIR": str(data),
            "PATCHTOOL_CACHE_DIR": str(data / "cache"),
        }
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    def run(self, argv: list[str], cwd: Path | None = None, check: bool = True) -> tuple[float, float, str]:
        """Wall seconds, CPU seconds of the children, and the output (stdout then stderr)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd or self.qemu, env=self.env, capture_output=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        text = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if check and done.returncode not in (0, 1):
            sys.exit(f"bench: {shlex.join(argv)} exited {done.returncode}:\n{text[-3000:]}")
        return wall, cpu, text

    def patchtool(self, *args: str, check: bool = True) -> tuple[float, float, str]:
        return self.run([sys.executable, "-m", "patchtool", *args], check=check)


def _med(values: list[float]) -> str:
    return (
        f"{statistics.median(values):6.2f}s (n={len(values)}, min {min(values):.2f}, max {max(values):.2f})"
    )


def _start(b: Bench, argv: list[str], cwd: Path, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process
    popen = subprocess.Popen(argv, cwd=cwd, env=b.env, stdout=handle, stderr=subprocess.STDOUT)
    return popen, time.perf_counter()


def _finish_all(
    started: dict[str, tuple[subprocess.Popen[bytes], float]],
) -> dict[str, tuple[float, float, int]]:
    """Wall and CPU seconds (the child and all it waited for) and exit code of each, as each ends."""
    by_pid = {popen.pid: (label, popen, start) for label, (popen, start) in started.items()}
    done: dict[str, tuple[float, float, int]] = {}
    while by_pid:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in by_pid:
            continue
        label, popen, start = by_pid.pop(pid)
        popen.returncode = os.waitstatus_to_exitcode(status)
        done[label] = (time.perf_counter() - start, usage.ru_utime + usage.ru_stime, popen.returncode)
    return done


def section_full(b: Bench, plain_dir: Path) -> None:
    """Both at once, so they share the machine's load side by side."""
    print("== full: configure + full build (run side by side, at the same time) ==")
    plain_dir.mkdir(parents=True)
    script = f"{shlex.quote(str(b.qemu / 'configure'))} {CONFIGURE} && ninja"
    plain = _start(b, ["sh", "-c", script], plain_dir, b.data / "full-plain.log")
    ours = _start(
        b, [sys.executable, "-m", "patchtool", "build", "--repo", str(b.qemu), "--", *CONFIGURE.split()],
        b.qemu, b.data / "full-patchtool.log",
    )  # fmt: skip
    done = _finish_all({"plain ../configure && ninja": plain, "patchtool build --repo": ours})
    for label, (wall, cpu, code) in done.items():
        print(f"{label:28s}: {wall:7.1f}s wall, {cpu:7.0f}s cpu, exit {code}")
    steps = (b.data / "full-patchtool.log").read_text(errors="replace").splitlines()
    print("patchtool: " + next((ln for ln in steps if ln.startswith("built ")), steps[-1] if steps else "?"))


def _tool_tree(b: Bench) -> tuple[Path, Path]:
    """The tool worktree `build --repo` uses, and its build directory."""
    _, _, text = b.patchtool(
        "build", "--repo", str(b.qemu), "--json", "--quiet", "--target", f"tests/unit/{TEST}"
    )
    result = json.loads(text[: text.rindex("}") + 1])
    return Path(result["source_dir"]), Path(result["build_dir"])


def section_incremental(b: Bench, runs: int) -> None:
    print(f"== incremental: touch {TOUCHED}, then build what `test {TEST}` needs ==")
    tree, build_dir = _tool_tree(b)
    target = f"tests/unit/{TEST}"
    # The ninja the directory was configured with: another version would rebuild everything.
    ninja = json.loads((build_dir / "patchtool-configure.json").read_text())["ninja"]
    print(f"build dir {build_dir} (ninja {ninja})")
    times: dict[str, list[float]] = {"ninja": [], "build": [], "test": [], "plain-test": []}
    times.update({"test-build": [], "test-build-phase": []})
    for _ in range(runs):
        for kind in ("ninja", "build", "test", "plain-test"):
            os.utime(tree / TOUCHED)
            if kind == "ninja":
                times[kind].append(b.run([ninja, "-C", str(build_dir), target])[0])
            elif kind == "plain-test":
                start = time.perf_counter()
                b.run([ninja, "-C", str(build_dir), target])
                b.run(
                    [
                        sys.executable,
                        "-m",
                        "mesonbuild.mesonmain",
                        "test",
                        "-C",
                        str(build_dir),
                        "--no-rebuild",
                        TEST,
                    ]
                )
                times[kind].append(time.perf_counter() - start)
            elif kind == "build":
                times[kind].append(b.patchtool("build", "--worktree", str(tree), "--target", target, "-q")[0])
            elif kind == "test":
                wall, _, text = b.patchtool("test", TEST, "--worktree", str(tree), "--fresh", "--json")
                ran = sum(
                    t["mean_duration"] * t["runs"] for t in json.loads(text[: text.rindex("}") + 1])["tests"]
                )
                times["test"].append(wall)
                times["test-build"].append(wall - ran)
                built = re.search(r"^built .*: \d+ step\(s\) in ([0-9.]+)s$", text, re.M)
                times["test-build-phase"].append(float(built.group(1)) if built else float("nan"))
    base = statistics.median(times["ninja"])
    print(f"ninja {target:28s}: {_med(times['ninja'])}")
    print(
        f"patchtool build --target     : {_med(times['build'])}"
        f"  ratio {statistics.median(times['build']) / base:.2f}"
    )
    print(
        f"patchtool test (build part)  : {_med(times['test-build'])}  ratio "
        f"{statistics.median(times['test-build']) / base:.2f}   (wall minus the test's own run time)"
    )
    print(
        f"patchtool test (build phase) : {_med(times['test-build-phase'])}  ratio "
        f"{statistics.median(times['test-build-phase']) / base:.2f}  (patchtool's clock)"
    )
    plain = statistics.median(times["plain-test"])
    print(f"ninja + meson test (plain)   : {_med(times['plain-test'])}")
    print(
        f"patchtool test (total)       : {_med(times['test'])}"
        f"  ratio {statistics.median(times['test']) / plain:.2f}"
    )


def section_test(b: Bench) -> None:
    print(f"== test: patchtool test {TEST} --repeat 5 --repo ==")
    wall, _, text = b.patchtool("test", TEST, "--repeat", "5", "--fresh", "--repo", str(b.qemu), "-q")
    print(text.rstrip())
    print(f"({wall:.1f}s)")


def section_report(b: Bench, patch: Path) -> None:
    print(f"== report: {patch.name} --build --configure ==")
    wall, _, text = b.patchtool(
        "report",
        str(patch),
        "--repo",
        str(b.qemu),
        "--build",
        "--configure",
        CONFIGURE,
        "--no-checkpatch",
        check=False,
    )
    print("\n".join(line for line in text.splitlines() if line.strip())[:4000])
    print(f"({wall:.1f}s)")


def section_bisect(b: Bench, good: str, bad: str, culprit: str, max_time: float) -> None:
    count = subprocess.run(
        ["git", "rev-list", "--count", "--ancestry-path", f"{good}..{bad}"],
        cwd=b.qemu,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"== bisect --run: {good[:12]}..{bad[:12]} ({count} commits), failure from {culprit[:12]} ==")
    script = b.data / "flaky-probe.sh"
    script.write_text(
        FLAKY.format(
            target=f"tests/unit/{TEST}",
            configure=CONFIGURE,
            culprit=culprit,
            python=sys.executable,
            counter=str(b.data / "coin"),
        )
    )
    script.chmod(0o755)
    wall, _, text = b.patchtool(
        "bisect", "--good", good, "--bad", bad, "--run", str(script), "--repo", str(b.qemu),
        "--max-time", str(max_time), check=False,
    )  # fmt: skip
    print(text.rstrip())
    print(f"({wall:.1f}s; planted culprit {culprit[:12]})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("qemu", type=Path)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, help="patchtool's data directory (default: a new temporary one)")
    parser.add_argument("--plain-build", type=Path, help="where the plain full build goes (must not exist)")
    parser.add_argument("--patch", type=Path, help="a single-patch mbox that applies to the checkout's HEAD")
    parser.add_argument("--good")
    parser.add_argument("--bad")
    parser.add_argument("--culprit")
    parser.add_argument("--max-time", type=float, default=3600)
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="bench-qemu-"))
    data.mkdir(parents=True, exist_ok=True)
    b = Bench(args.qemu, data)
    wanted = args.sections.split(",")
    if "full" in wanted:
        section_full(b, args.plain_build or data / "build-plain")
    if "incremental" in wanted:
        section_incremental(b, args.runs)
    if "test" in wanted:
        section_test(b)
    if "report" in wanted and args.patch:
        section_report(b, args.patch)
    if "bisect" in wanted and args.good and args.bad and args.culprit:
        section_bisect(b, args.good, args.bad, args.culprit, args.max_time)


if __name__ == "__main__":
    main()
