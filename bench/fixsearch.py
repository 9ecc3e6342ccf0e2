"""Fix searches (`patchtool bisect --broken --fixed`) over real history, with a synthetic flaky test.

For each sampled commit F with a "Fixes:" trailer, the test of a tree fails with probability p
unless the tree holds a line F added (its marker: a whole line, absent from F's parent and from
the broken end, present in the fixed end). The range is a first-parent stretch of the fixed
history around the merge that brought F in. The search runs with --run (no build), so only the
graph and the search are measured. Each case prints whether the fix named is F, whether the
marker appears exactly there (named commit has it, its parent not), the runs and builds of the
whole search (from its store: the line's and the merges'), the revert test's status and the time.
With --paths-of-fix the search is limited (`-- DIR`) to the directory of the file the marker is
in, as a user who knows where the fix is would limit it.

    python bench/fixsearch.py --repo /path/to/qemu --range v9.2.0..master --cases 8 --seed 1
    python bench/fixsearch.py --repo /path/to/qemu --stable stable-8.1 --range master --cases 8

With --stable, the fixes are the upstream commits a stable branch's backports were cherry-picked
from, and the broken end is the branch before each backport (stable_cases).

Needs a real checkout (gigabytes); not run by CI.
"""

from __future__ import annotations

import os
import sys

# bench/bisect.py is named like the stdlib module `random` imports: drop this directory from the
# import path first.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """#!/bin/sh
grep -qxFf "{marker}" -- "{path}" 2>/dev/null && exit 0
exec "{python}" -c 'import random, sys; sys.exit(1 if random.random() < {p} else 0)'
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False).stdout


def marker_of(repo: Path, fix: str, broken: str, fixed: str) -> tuple[str, str] | None:
    """A line ``fix`` added that its parent, ``broken`` and ``fixed``'s files show as we need."""
    diff = git(repo, "diff", "--no-color", "--unified=0", f"{fix}^", fix)
    path = None
    for line in diff.splitlines():
        if line.startswith("+++ b/"):
            path = line[6:]
        elif line.startswith("+") and not line.startswith("+++") and path and len(line.strip()) > 25:
            text = line[1:]

            def count(rev: str, text: str = text, path: str = path) -> int:
                return git(repo, "show", f"{rev}:{path}").splitlines().count(text)

            if count(fix) == 1 and count(f"{fix}^") == 0 and count(broken) == 0 and count(fixed) >= 1:
                return path, text
    return None


def contains(repo: Path, commit: str, fix: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", fix, commit], check=False)
    return done.returncode == 0


def brought_in(repo: Path, line: list[str], fix: str) -> int:
    """Index in ``line`` (newest first) of the oldest commit that contains ``fix``: the first-parent
    commit that brought it in (the line's commits after it contain it, those before do not)."""
    lo, hi = 0, len(line) - 1  # line[lo] contains it
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if contains(repo, line[mid], fix) else (lo, mid - 1)
    return lo


def cases(repo: Path, span: str, n: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    """(fix, broken, fixed, path, marker) for ``n`` sampled fixes of the first-parent line."""
    line = git(repo, "rev-list", "--first-parent", span).split()  # newest first
    where = {sha: i for i, sha in enumerate(line)}
    fixes = git(repo, "log", "--no-merges", "--format=%H", "--grep=^Fixes:", span).split()
    rng = random.Random(seed)
    rng.shuffle(fixes)
    out = []
    for fix in fixes:
        merge = line[brought_in(repo, line, fix)]
        if where[merge] < 30 or where[merge] + 60 >= len(line):
            continue
        fixed = line[where[merge] - rng.randint(5, 30)]
        broken = line[where[merge] + rng.randint(20, 60)]
        found = marker_of(repo, fix, broken, fixed)
        if found:
            out.append((fix, broken, fixed, *found))
        if len(out) == n:
            break
    return out


def stable_cases(
    repo: Path, branch: str, upstream: str, n: int, seed: int
) -> list[tuple[str, str, str, str, str]]:
    """(fix, broken, fixed, path, marker) for ``n`` sampled backports on a stable ``branch``: the fix
    is the upstream commit a backport B says it was cherry-picked from, the broken end B's parent
    (the stable branch before the backport), the fixed end a commit of ``upstream``'s first-parent
    line 5-30 after the merge that brought the fix in. The search then runs from where that line
    meets the branch's history (its fork) to the fixed end: the backporter's question."""
    fork = git(repo, "merge-base", branch, upstream).strip()
    line = git(repo, "rev-list", "--first-parent", upstream, f"^{fork}").split()  # newest first
    where = {sha: i for i, sha in enumerate(line)}
    listing = git(repo, "log", "--format=%H%x00%B%x01", f"{fork}..{branch}")
    picked = []
    for entry in listing.split("\x01"):
        sha, _, body = entry.strip().partition("\x00")
        for word in body.split("(cherry picked from commit ")[1:]:
            named = word.split(")")[0].strip()
            upstream_sha = git(repo, "rev-parse", "--verify", "-q", f"{named}^{{commit}}").strip()
            upstream_only = contains(repo, upstream, upstream_sha) and not contains(repo, fork, upstream_sha)
            if upstream_sha and upstream_only:
                picked.append((upstream_sha, sha))
    rng = random.Random(seed)
    rng.shuffle(picked)
    out: list[tuple[str, str, str, str, str]] = []
    for fix, backport in picked:
        merge = line[brought_in(repo, line, fix)]
        if where[merge] < 30:
            continue
        fixed = line[where[merge] - rng.randint(5, 30)]
        found = marker_of(repo, fix, f"{backport}^", fixed)
        if found and git(repo, "show", f"{fork}:{found[0]}").splitlines().count(found[1]) == 0:
            out.append((fix, f"{backport}^", fixed, *found))
        if len(out) == n:
            break
    return out


def spent(db: Path) -> tuple[int, int]:
    """Runs and builds of the whole search (the line's and those inside the merges it named; the
    report counts the last search only), the revert test's left out."""
    if not db.exists():
        return 0, 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT outcome FROM bisect_observations WHERE phase != 'revert'").fetchall()
    return sum(r[0] in ("pass", "fail") for r in rows), sum(r[0] == "built" for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--range", dest="span", required=True, help="first-parent stretch to sample fixes from")
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--p", type=float, default=0.3, help="failure rate before the fix")
    ap.add_argument("--paths-of-fix", action="store_true", help="limit the search to the marker's directory")
    ap.add_argument(
        "--stable",
        metavar="BRANCH",
        help="sample backports on this stable branch instead; --range is then the upstream tip (master)",
    )
    args = ap.parse_args()
    repo = args.repo.resolve()
    rows = []
    sampled = (
        stable_cases(repo, args.stable, args.span, args.cases, args.seed)
        if args.stable
        else cases(repo, args.span, args.cases, args.seed)
    )
    for fix, broken, fixed, path, marker in sampled:
        with tempfile.TemporaryDirectory(prefix="fixsearch-") as tmp:
            mark = Path(tmp) / "marker"
            mark.write_text(marker + "\n")
            script = Path(tmp) / "t.sh"
            script.write_text(SCRIPT.format(marker=mark, path=path, python=sys.executable, p=args.p))
            script.chmod(0o755)
            env = {**os.environ, "PATCHTOOL_CACHE_DIR": f"{tmp}/cache", "PATCHTOOL_DATA_DIR": f"{tmp}/data"}
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
            cmd = [sys.executable, "-m", "patchtool", "bisect", "--broken", broken, "--fixed", fixed]
            cmd += ["--run", str(script), "--repo", str(repo), "--json"]
            limit = os.path.dirname(path) or path
            if args.paths_of_fix:
                cmd += ["--", limit]
            start = time.monotonic()
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            seconds = time.monotonic() - start
            runs, builds = spent(Path(tmp) / "cache" / "patchtool.sqlite3")
        report = json.loads(done.stdout) if done.stdout.strip() else {}
        named = (report.get("culprit") or {}).get("sha")
        has = named is not None and marker in git(repo, "show", f"{named}:{path}").splitlines()
        parent_has = named is not None and marker in git(repo, "show", f"{named}^:{path}").splitlines()
        rows.append((fix[:12], named[:12] if named else "-", named == fix, has and not parent_has))
        limited = ""
        if args.paths_of_fix:  # the line's commits that change the paths, and the last search's candidates
            on_line = git(repo, "rev-list", "--first-parent", fixed, f"^{broken}", "--", limit).split()
            limited = f" paths={limit} line_candidates={len(on_line)} searched={report.get('candidates')}"
        print(
            f"{fix[:12]} line {len(git(repo, 'rev-list', '--first-parent', f'{broken}..{fixed}').split()):3d}"
            f" named {rows[-1][1]} right={named == fix} transition={rows[-1][3]}"
            f" merge={(report.get('merge') or {}).get('sha', '-')[:12]} p={args.p}"
            f" prob={report.get('probability', 0):.4f} runs={runs} builds={builds} exit={done.returncode}"
            f" revert={(report.get('revert') or {}).get('status', '-')}"
            f"{limited}"
            f" {seconds:.0f}s",
            flush=True,
        )
    right = sum(r[2] for r in rows)
    appears = sum(r[3] for r in rows)
    print(f"{right} of {len(rows)} named the fix; {appears} named a commit where the line appears")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
