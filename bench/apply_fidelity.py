"""Real-data check: does `patchtool apply` reproduce the author's tree, as `git am -3` does?

For each <msgid>.mbox with its <msgid>.meta (lines "base <sha>", "tip <sha>", "count <n>") in
SERIES_DIR, apply the mbox with patchtool at the meta's base and compare the resulting tree with the
tip's tree; then do the same with plain `git am -3` in a scratch worktree, side by side. QEMU_GIT is
a clone that holds every base and tip (an alternates file naming the qemu-ci mirror's objects is
enough). Prints one line per series and the totals.

Usage: python bench/apply_fidelity.py SERIES_DIR QEMU_GIT [--limit N] [--no-git-am]
"""

from __future__ import annotations

import sys

# bench/ holds a bisect.py, which would shadow the standard library's when run as a script.
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}
PATCHTOOL = [sys.executable, "-m", "patchtool"]


def git(repo: Path, *argv: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *argv], cwd=repo, capture_output=True, env=ENV, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(argv)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().strip()


def read_meta(path: Path) -> dict[str, str]:
    return dict(line.split(None, 1) for line in path.read_text().splitlines() if " " in line)


def patchtool_tree(repo: Path, mbox: Path, base: str) -> tuple[str | None, str]:
    done = subprocess.run(
        [*PATCHTOOL, "apply", str(mbox), "--repo", str(repo), "--base", base, "--json"],
        capture_output=True,
        env=ENV,
        check=False,
    )
    if done.returncode not in (0, 1) or not done.stdout.strip():
        # An error (an incomplete series, say) is one line on stderr and no JSON.
        return None, done.stderr.decode(errors="replace").strip().splitlines()[-1:][0] if done.stderr else "?"
    result = json.loads(done.stdout)
    if result["status"] != "applied" or not result["head"]:
        bad = [p for p in result["patches"] if p["status"] != "clean"]
        return (
            None,
            f"{result['status']}: {bad[0]['index'] if bad else '?'} {bad[0]['status'] if bad else ''}",
        )
    return git(repo, "rev-parse", result["head"] + "^{tree}"), result["status"]


def git_am_tree(wt: Path, mbox: Path, base: str) -> tuple[str | None, str]:
    """`git am -3` of the mbox at `base` in the one scratch worktree (reset between series)."""
    git(wt, "am", "--abort", check=False)
    git(wt, "checkout", "-q", "-f", "--detach", base)
    git(wt, "clean", "-q", "-f", "-d", "-x")
    argv = ["am", "-q", "-3", str(mbox)]
    for _ in range(50):
        done = subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *argv],
            cwd=wt,
            capture_output=True,
            env=ENV,
            check=False,
        )
        # The cover letter (0/N) is a mail without a diff: git am stops on it; skip it as b4 does.
        if done.returncode == 0 or b"Patch is empty" not in done.stdout + done.stderr:
            break
        argv = ["am", "-q", "--skip"]
    if done.returncode != 0:
        git(wt, "am", "--abort", check=False)
        return None, "git am failed"
    return git(wt, "rev-parse", "HEAD^{tree}"), "applied"


def compare(repo: Path, meta_path: Path, wt: Path | None) -> tuple[tuple[bool, bool], str]:
    """Apply one series both ways; ((patchtool same, git am same), the line to print)."""
    meta = read_meta(meta_path)
    mbox = meta_path.with_suffix(".mbox")
    want = git(repo, "rev-parse", meta["tip"] + "^{tree}")
    tree, why = patchtool_tree(repo, mbox, meta["base"])
    line = f"{'same' if tree == want else 'DIFF'} patchtool ({why})"
    am_ok = False
    if wt is not None:
        am_tree, am_why = git_am_tree(wt, mbox, meta["base"])
        am_ok = am_tree == want
        line += f" | {'same' if am_ok else 'DIFF'} git am -3 ({am_why})"
    return (tree == want, am_ok), f"{meta_path.stem[:60]:60} {meta.get('count', '?'):>3}  {line}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("series_dir", type=Path)
    parser.add_argument("qemu_git", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--no-git-am", action="store_true")
    args = parser.parse_args()
    # git am runs in a scratch worktree: paths given relative to here are made absolute.
    args.series_dir, args.qemu_git = args.series_dir.resolve(), args.qemu_git.resolve()
    metas = sorted(args.series_dir.glob("*.meta"))[: args.limit or None]
    ours = theirs = 0
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        wt = Path(tmp) / "am"
        if not args.no_git_am:
            git(args.qemu_git, "worktree", "add", "-q", "--detach", str(wt), "HEAD")
        try:
            for meta_path in metas:
                ok, line = compare(args.qemu_git, meta_path, None if args.no_git_am else wt)
                ours += ok[0]
                theirs += ok[1]
                print(line, flush=True)
        finally:
            if not args.no_git_am:
                git(args.qemu_git, "worktree", "remove", "--force", str(wt), check=False)
    total = len(metas)
    print(f"patchtool reproduces {ours}/{total} trees", end="")
    print("" if args.no_git_am else f"; git am -3 reproduces {theirs}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
