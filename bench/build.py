"""Benchmark: `patchtool build` against plain configure + ninja on the mini QEMU tree.

Times a full build (configure and compile from nothing), an incremental one (after a change to
util/rcu.c, as in seed 004) and a no-op one, three ways run side by side on separate clones
of the same commit: the `patchtool build` command, the build_tree() API that bisect calls in
process, and plain `../configure && ninja`. Prints the medians and the overhead ratios.

Usage: python bench/build.py [--runs 5] [--repo PATH]   (default: a freshly generated mini tree)
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/bisect.py would shadow the standard library's bisect (imported by statistics).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable

from patchtool.build.meson import build_tree, find_tool
from patchtool.config import load_settings

KINDS = ("full", "incremental", "no-op")
CHANGED_FILE = "util/rcu.c"


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{done.stdout.decode()}{done.stderr.decode()}")


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


class Plain:
    """What a maintainer types: ../configure from an empty build directory, then ninja."""

    def __init__(self, tree: Path) -> None:
        self.tree, self.build_dir = tree, tree / "build"
        self.env = {
            **os.environ,
            "PATH": f"{Path(find_tool('meson')).parent}{os.pathsep}{os.environ['PATH']}",
        }

    def clean(self) -> None:
        shutil.rmtree(self.build_dir, ignore_errors=True)

    def build(self) -> None:
        if not (self.build_dir / "build.ninja").exists():
            self.build_dir.mkdir(exist_ok=True)
            _run([str(self.tree / "configure"), "--target-list=alpha-softmmu"], self.build_dir, self.env)
        _run([find_tool("ninja"), "-C", str(self.build_dir)], self.tree, self.env)


class Command:
    """`patchtool build --worktree TREE -- --target-list=alpha-softmmu` in a subprocess."""

    def __init__(self, tree: Path, data: Path) -> None:
        self.tree, self.data = tree, data
        self.env = {**os.environ, "PATCHTOOL_DATA_DIR": str(data), "PATCHTOOL_CACHE_DIR": str(data / "cache")}

    def clean(self) -> None:
        shutil.rmtree(self.data / "builds", ignore_errors=True)

    def build(self) -> None:
        argv = [sys.executable, "-m", "patchtool", "build", "--worktree", str(self.tree)]
        _run([*argv, "--", "--target-list=alpha-softmmu"], self.tree, self.env)


class Api(Command):
    """build_tree() in this process, as `patchtool bisect` calls it for every probe."""

    def build(self) -> None:
        settings = load_settings({"data_dir": str(self.data), "cache_dir": str(self.data / "cache")})
        result = build_tree(self.tree, settings, configure_args=["--target-list=alpha-softmmu"])
        if not result.ok:
            sys.exit(f"bench: build_tree failed: {result.first_error}")


def _touch(tree: Path, round_no: int) -> None:
    path = tree / CHANGED_FILE
    path.write_text(path.read_text() + f"/* bench round {round_no} */\n")


def measure(
    builders: dict[str, Plain | Command], trees: dict[str, Path], runs: int
) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {name: {k: [] for k in KINDS} for name in builders}
    for round_no in range(runs):
        for name, builder in builders.items():  # side by side: each round runs every way
            builder.clean()
            times[name]["full"].append(_timed(builder.build))
            _touch(trees[name], round_no)
            times[name]["incremental"].append(_timed(builder.build))
            times[name]["no-op"].append(_timed(builder.build))
    return times


def _clone(repo: Path, rev: str, dest: Path) -> Path:
    _run(["git", "clone", "-q", "--no-checkout", str(repo), str(dest)], repo.parent)
    _run(["git", "checkout", "-q", "--detach", rev], dest)
    return dest


def _mini_tree(work: Path, repo: str | None) -> tuple[Path, str]:
    if repo:
        return Path(repo).resolve(), "HEAD"
    from patchtool.demo.minitree import generate

    world = generate(work / "world")
    return world.repo, world.tip


def startup(runs: int) -> float:
    """The floor under every `patchtool` command: the interpreter and the CLI's imports."""
    argv = [sys.executable, "-m", "patchtool", "--version"]
    return statistics.median(_timed(lambda: _run(argv, Path.cwd())) for _ in range(runs))


def report(times: dict[str, dict[str, list[float]]], runs: int, label: str) -> str:
    med = {name: {k: statistics.median(v) for k, v in kinds.items()} for name, kinds in times.items()}
    ccache = "yes" if shutil.which("ccache") else "no"
    head = ("build", "patchtool build", "build_tree()", "plain ninja", "cmd/ninja", "api/ninja")
    lines = [
        f"mini tree {label}: medians of {runs} runs (seconds); ccache: {ccache}",
        f"{head[0]:<12} {head[1]:>16} {head[2]:>13} {head[3]:>12} {head[4]:>10} {head[5]:>10}",
    ]
    for kind in KINDS:
        cmd, api, plain = med["command"][kind], med["api"][kind], med["plain"][kind]
        lines.append(
            f"{kind:<12} {cmd:>16.3f} {api:>13.3f} {plain:>12.3f} {cmd / plain:>9.2f}x {api / plain:>9.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repo", help="an existing mini tree repository (default: generate one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patchtool-bench-build-") as tmp:
        work = Path(tmp)
        repo, rev = _mini_tree(work, args.repo)
        trees = {name: _clone(repo, rev, work / name) for name in ("command", "api", "plain")}
        builders: dict[str, Plain | Command] = {
            "command": Command(trees["command"], work / "data-command"),
            "api": Api(trees["api"], work / "data-api"),
            "plain": Plain(trees["plain"]),
        }
        sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=repo, capture_output=True, text=True)
        print(report(measure(builders, trees, args.runs), args.runs, f"at {sha.stdout.strip()}"))
        print(f"patchtool startup alone (patchtool --version): {startup(args.runs):.3f}")


if __name__ == "__main__":
    main()
