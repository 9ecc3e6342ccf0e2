"""Benchmark: `patchtool apply` of a 13-patch series on a QEMU-sized tree, against plain `git am`.

Generates (with git fast-import) a repository of >= 10,000 files and a few hundred commits, a
13-patch series against its tip (real `git format-patch` output), then times, side by side,
`git am -3` of that mbox in an existing clone and `patchtool apply` of the same mbox on the same
clone, checks both results have the same tree, and prints the medians and their ratio (target <= 1.2x).

Usage: python bench/apply.py [--files 10000] [--commits 300] [--runs 7] [--keep DIR]
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ENV = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C.UTF-8",
}


def run(*argv: str, cwd: Path, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    done = subprocess.run(argv, cwd=cwd, input=input, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def file_text(rng: random.Random, name: str, lines: int = 24) -> str:
    body = [f"/* {name} */", f'#include "{name.rsplit("/", 1)[0]}.h"', ""]
    for i in range(lines):
        body.append(
            f"int {name.replace('/', '_').replace('.', '_')}_{i}(void) {{ return {rng.randint(0, 999)}; }}"
        )
    return "\n".join(body) + "\n"


def data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def fast_import_stream(files: int, commits: int, seed: int = 1) -> tuple[bytes, list[str]]:
    """A history: one commit adding every file, then `commits` small commits touching a few each."""
    rng = random.Random(seed)
    dirs = max(1, files // 100)
    names = [f"dir{d:03d}/file{f:03d}.c" for d in range(dirs) for f in range(files // dirs)]
    contents = {n: file_text(rng, n) for n in names}
    out = [
        b"commit refs/heads/main\n",
        b"committer Bench <b@example.org> 1700000000 +0000\n",
        data("initial"),
    ]
    out += [b"M 100644 inline %s\n%s" % (n.encode(), data(contents[n])) for n in names]
    for c in range(1, commits):
        out += [b"commit refs/heads/main\n", b"committer Bench <b@example.org> %d +0000\n" % (1700000000 + c)]
        out.append(data(f"change {c}"))
        for n in rng.sample(names, 3):
            lines = contents[n].splitlines(keepends=True)
            k = rng.randrange(3, len(lines))
            lines[k] = lines[k].replace("return", f"return /* c{c} */")
            contents[n] = "".join(lines)
            out.append(b"M 100644 inline %s\n%s" % (n.encode(), data(contents[n])))
    return b"".join(out), names


def make_world(root: Path, files: int, commits: int) -> tuple[Path, Path, str]:
    """The source repository, a 13-patch mbox against main, and main's sha."""
    src = root / "src"
    run("git", "init", "-q", "-b", "main", str(src), cwd=root)
    stream, names = fast_import_stream(files, commits)
    run("git", "fast-import", "--quiet", cwd=src, input=stream)
    run("git", "checkout", "-q", "-f", "main", cwd=src)
    base = run("git", "rev-parse", "HEAD", cwd=src).decode().strip()
    run("git", "checkout", "-q", "-b", "topic", cwd=src)
    rng = random.Random(2)
    for i in range(1, 14):
        for n in rng.sample(names, 2):
            path = src / n
            text = path.read_text().replace(" return ", f" return /* series {i} */ ", 1)
            path.write_text(text + f"/* patch {i} */\n")
        run(
            "git",
            "commit",
            "-q",
            "-am",
            f"area{i}: change {i}\n\nSigned-off-by: Bench <b@example.org>",
            cwd=src,
            env=ENV | dict(os.environ),
        )
    mbox = root / "series.mbox"
    mbox.write_bytes(run("git", "format-patch", "--stdout", f"--base={base}", f"{base}..topic", cwd=src))
    return src, mbox, base


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed, done.stdout


def bench(clone: Path, mbox: Path, base: str, runs: int, data_dir: Path) -> dict[str, object]:
    env = dict(os.environ) | ENV | {"PATCHTOOL_DATA_DIR": str(data_dir), "PATCHTOOL_CACHE_DIR": str(data_dir)}
    patchtool = [sys.executable, "-m", "patchtool", "apply", str(mbox), "--repo", str(clone), "--json"]
    am_times, tool_times = [], []
    am_tree = tool_tree = ""
    for _ in range(runs):  # alternate, so machine noise hits both sides alike
        run("git", "checkout", "-q", "--detach", "-f", base, cwd=clone)
        seconds, _ = timed(["git", "am", "-3", "-q", str(mbox)], clone, env)
        am_times.append(seconds)
        am_tree = run("git", "rev-parse", "HEAD^{tree}", cwd=clone).decode().strip()
        run("git", "checkout", "-q", "--detach", "-f", base, cwd=clone)
        seconds, out = timed(patchtool, clone, env)
        tool_times.append(seconds)
        head = json.loads(out)["head"]
        tool_tree = run("git", "rev-parse", f"{head}^{{tree}}", cwd=clone).decode().strip()
    return {
        "am": am_times,
        "tool": tool_times,
        "engine": engine_times(clone, mbox, runs, data_dir),
        "same_tree": am_tree == tool_tree,
        "tree": tool_tree,
    }


def engine_times(clone: Path, mbox: Path, runs: int, data_dir: Path) -> list[float]:
    """The same apply in this process: parsing the mbox and apply_series, without Python's startup."""
    from patchtool.apply.engine import apply_series
    from patchtool.config import load_settings
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series
    from patchtool.vcs.gitcmd import patchtool_config
    from patchtool.vcs.repo import GitRepo

    settings = load_settings(
        {"data_dir": str(data_dir), "cache_dir": str(data_dir)},
        repo=clone,
        git_values=patchtool_config(clone),
    )
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        repo = GitRepo(clone)
        series = build_series(resolve_source(str(mbox), settings, repo=clone))
        result = apply_series(repo, series, settings)
        times.append(time.perf_counter() - start)
        if result.status != "applied":
            sys.exit(f"bench: in-process apply gave {result.status}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the world in DIR and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="patchtool-bench-apply-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        src, mbox, base = make_world(root, args.files, args.commits)
        clone = root / "clone"
        run("git", "clone", "-q", "-b", "main", str(src), str(clone), cwd=root)
        tracked = len(run("git", "ls-files", cwd=clone).splitlines())
        count = run("git", "rev-list", "--count", "main", cwd=clone).decode().strip()
        took = time.perf_counter() - start
        print(f"tree: {tracked} files, {count} commits; series: 13 patches (generated in {took:.1f}s)")
        result = bench(clone, mbox, base, args.runs, root / "data")
        am, tool = statistics.median(result["am"]), statistics.median(result["tool"])  # type: ignore[arg-type]
        print(f"git am -3 (existing clone):   median {am * 1000:7.1f} ms  runs: {_ms(result['am'])}")
        print(f"patchtool apply (no checkout): median {tool * 1000:7.1f} ms  runs: {_ms(result['tool'])}")
        engine = statistics.median(result["engine"])  # type: ignore[arg-type]
        print(
            f"  of which parse + apply in-process: median {engine * 1000:7.1f} ms"
            f"  runs: {_ms(result['engine'])}"
        )
        print(f"same tree: {'yes' if result['same_tree'] else 'NO'} ({result['tree']})")
        print(f"ratio patchtool/git am: {tool / am:.2f}x (target <= 1.2x)")
        if not result["same_tree"]:
            sys.exit(1)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _ms(values: object) -> str:
    return " ".join(f"{v * 1000:.0f}" for v in values)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
