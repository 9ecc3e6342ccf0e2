"""Real-world check of bisect's revert test: patchtool's reverted commit against the maintainers' own.

For a sample of the revert commits R on a branch ("This reverts commit X."), patchtool's
`make_revert(X, R^)` (a temporary index, no checkout) is compared with R's tree, the revert a
maintainer committed, and with plain `git revert --no-commit X` on R^ in a scratch work tree.
Classes:

  identical              patchtool's tree is the maintainer's
  as git revert          not the maintainer's tree, but git revert's (the maintainer edited the revert)
  silently different     clean, neither the maintainer's nor git revert's tree (the failure to avoid)
  refused, git clean     patchtool reports conflicts where git revert (rename-aware) applies
  refused, git too       both report conflicts

The sample is drawn by a stated rule (random.Random(--seed) over the reverts of non-merge commits,
oldest first), so a second draw with another seed is a sample not looked at before. Everything
happens in a `--shared` clone under --workdir (the given repository is only read).

With --pair CULPRIT BAD (repeatable) it checks bisect's own case instead: the culprit of a bisect
reverted on the bad end the user named, against `git revert --no-commit` there.

With --noop it checks the revert test's "no-op" detection instead: each sampled culprit X
reverted on its revert R (as if the bisect's bad end came after R) should change nothing there
when R is a plain revert, or conflict and name R as the commit that already reverted it; and
reverted on R^ (before R) never be a no-op.

With --branch '*' every branch is searched (on a mirror of patchew's series branches, the reverts
posted to the list), each revert once however many branches hold it.

Usage: python -P bench/revert_real.py QEMU_GIT [--branch master] [--exclude BRANCH] [--sample 150]
       [--seed 1] [--workdir DIR] [--verbose]
       python -P bench/revert_real.py QEMU_GIT --pair 55d98e3ede ad9ce9f6f2 [--pair C B ...]
       python -P bench/revert_real.py QEMU_GIT --noop [--sample 150] [--seed 2]
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchtool.bisection.revert import conflicts_outcome, make_revert, noop_detail  # noqa: E402
from patchtool.config import Settings, load_settings  # noqa: E402
from patchtool.vcs.repo import GitRepo  # noqa: E402

REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{40})", re.MULTILINE)
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C.UTF-8", "GIT_EDITOR": "true"}
ENV.update(GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.org")
CLASSES = ("identical", "as git revert", "silently different", "refused, git clean", "refused, git too")


def git(*argv: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, env=ENV, check=False, timeout=600)
    if check and done.returncode != 0:
        sys.exit(f"bench: git {' '.join(argv)} failed: {done.stderr.decode(errors='replace')[:400]}")
    return done


def cases(clone: Path, branch: str, exclude: list[str]) -> list[tuple[str, str]]:
    """(R, X) for every non-merge revert R of a non-merge X on the branch (and not on the
    excluded branches), oldest first."""
    grep = "--grep=This reverts commit"
    not_on = [f"^{ref}" for ref in exclude]
    tips = ["--remotes=origin"] if branch == "origin/*" else [branch]  # --branch '*': every branch
    log = git("log", "--reverse", "--no-merges", "--format=%H%x00%B%x1e", grep, *tips, *not_on, cwd=clone)
    text = log.stdout.decode("utf-8", "replace")
    found, seen = [], set()
    for entry in text.split("\x1e"):
        sha, _, body = entry.strip().partition("\x00")
        m = REVERTS.search(body)
        if not sha or m is None:
            continue
        same = (m.group(1), git("rev-parse", f"{sha}^{{tree}}", f"{sha}^^{{tree}}", cwd=clone).stdout)
        if same in seen:  # one series on several branches (each revision, its CI copy): once
            continue
        seen.add(same)
        parents = git("rev-list", "--parents", "-n", "1", m.group(1), cwd=clone, check=False)
        if parents.returncode == 0 and len(parents.stdout.split()) == 2:
            found.append((sha, m.group(1)))
    return found


def git_revert_tree(clone: Path, base: str, culprit: str) -> str | None:
    git("checkout", "-q", "--force", "--detach", base, cwd=clone)
    done = git("revert", "--no-commit", culprit, cwd=clone, check=False)
    tree = git("write-tree", cwd=clone, check=False) if done.returncode == 0 else None
    git("revert", "--abort", cwd=clone, check=False)
    git("reset", "-q", "--hard", cwd=clone)
    return tree.stdout.decode().strip() if tree is not None and tree.returncode == 0 else None


def noop_check(
    repo: GitRepo, settings: Settings, clone: Path, pairs: list[tuple[str, str]], verbose: bool
) -> None:
    """Culprit X reverted on its revert R: a no-op exactly when R's tree is what reverting X on
    R^ gives (R is a plain revert, which the maintainer may have edited). On R^: never a no-op."""
    counts: Counter[str] = Counter()
    for revert, culprit in pairs:
        base = git("rev-parse", f"{revert}^", cwd=clone).stdout.decode().strip()
        before = make_revert(repo, settings, culprit, base)
        plain = before.sha is not None and repo.tree_of(before.sha) == repo.tree_of(revert)
        made = make_revert(repo, settings, culprit, revert)
        after = noop_detail(repo, culprit, revert, made)
        # a revert that conflicts there says which commit already reverted the culprit
        named = made.sha is None and bool(conflicts_outcome(repo, culprit, revert, made.conflicts).detail)
        wrong_before = noop_detail(repo, culprit, base, before)
        kind = ("plain revert" if plain else "edited or refused") + (
            ", no-op after" if after else ", conflicts naming R after" if named else ", runs after"
        )
        counts[kind] += 1
        counts["no-op before R (wrong)"] += bool(wrong_before)
        if verbose or wrong_before or plain != bool(after or named):
            print(
                f"{revert[:12]} reverts {culprit[:12]}: {kind}; before: {wrong_before or 'runs'}", flush=True
            )
    for kind in ("plain revert, no-op after", "plain revert, conflicts naming R after",
                 "plain revert, runs after", "edited or refused, no-op after",
                 "edited or refused, conflicts naming R after", "edited or refused, runs after",
                 "no-op before R (wrong)"):  # fmt: skip
        print(f"  {kind:32} {counts[kind]:4}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("git_dir", type=Path)
    ap.add_argument("--branch", default="master")
    ap.add_argument("--sample", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--pair", nargs=2, action="append", default=[], metavar=("CULPRIT", "BAD"))
    ap.add_argument("--exclude", action="append", default=[], help="leave out reverts on this branch too")
    ap.add_argument("--noop", action="store_true", help="check the no-op detection (after R and before it)")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="revert-real-"))
    work.mkdir(parents=True, exist_ok=True)
    clone = work / "clone"
    if not clone.exists():
        git("clone", "-q", "--shared", "--no-checkout", str(args.git_dir), str(clone), cwd=work)
        git("checkout", "-q", "--detach", f"origin/{args.branch}", cwd=clone)
    settings = load_settings(env={"PATCHTOOL_DATA_DIR": str(work / "data")})
    repo = GitRepo(clone)
    if args.pair:
        for culprit, bad in args.pair:
            c, b = (git("rev-parse", x, cwd=clone).stdout.decode().strip() for x in (culprit, bad))
            made = make_revert(repo, settings, c, b)
            ours = None
            if made.sha is not None:
                ours = git("rev-parse", f"{made.sha}^{{tree}}", cwd=clone).stdout.decode().strip()
            theirs = git_revert_tree(clone, b, c)
            verdict = "same tree as git revert" if ours == theirs else "DIFFERENT from git revert"
            shown = f"conflicts in {', '.join(made.conflicts)}" if made.conflicts else f"tree {ours}"
            print(f"{culprit} reverted on {bad}: {shown}: {verdict}")
        return
    everything = cases(clone, f"origin/{args.branch}", [f"origin/{ref}" for ref in args.exclude])
    size = min(args.sample, len(everything))
    sample = sorted(random.Random(args.seed).sample(range(len(everything)), size))
    if args.noop:
        noop_check(repo, settings, clone, [everything[i] for i in sample], args.verbose)
        print(f"({size} reverts sampled of {len(everything)} on {args.branch}, seed {args.seed})")
        return
    counts: Counter[str] = Counter()
    ours_seconds: list[float] = []
    for i in sample:
        revert, culprit = everything[i]
        base = git("rev-parse", f"{revert}^", cwd=clone).stdout.decode().strip()
        start = time.monotonic()
        made = make_revert(repo, settings, culprit, base)
        ours_seconds.append(time.monotonic() - start)
        maintainer = git("rev-parse", f"{revert}^{{tree}}", cwd=clone).stdout.decode().strip()
        theirs = git_revert_tree(clone, base, culprit)
        ours = None
        if made.sha is not None:
            ours = git("rev-parse", f"{made.sha}^{{tree}}", cwd=clone).stdout.decode().strip()
        if ours is None:
            kind = "refused, git clean" if theirs is not None else "refused, git too"
        elif ours == maintainer:
            kind = "identical"
        elif ours == theirs:
            kind = "as git revert"
        else:
            kind = "silently different"
        counts[kind] += 1
        if args.verbose or kind in ("silently different", "refused, git clean"):
            extra = f" conflicts {', '.join(made.conflicts)}" if made.conflicts else ""
            print(f"{revert[:12]} reverts {culprit[:12]}: {kind}{extra}", flush=True)
    total = sum(counts.values())
    print(f"\n{total} reverts sampled of {len(everything)} on {args.branch} (seed {args.seed})")
    for kind in CLASSES:
        print(f"  {kind:20} {counts[kind]:4}  {100 * counts[kind] / max(total, 1):5.1f} %")
    ours_seconds.sort()
    if ours_seconds:
        median = ours_seconds[len(ours_seconds) // 2]
        print(f"  make_revert median {median:.2f} s, max {ours_seconds[-1]:.2f} s")


if __name__ == "__main__":
    main()
