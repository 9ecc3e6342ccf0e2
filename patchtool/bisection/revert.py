"""The revert test (design 4.9): the bad commit with the culprit reverted, made without a checkout.

"Reverting X on top of master fixes it" is what a maintainer checks before blaming X: a first bad
commit whose revert does not fix the tip means something later fails as well (a second
regression, or a fix of X that broke differently). The reverted commit is made as `git revert`
merges, by `git merge-tree` and object writes with no work tree: the user's HEAD, index,
branches and hooks are untouched, and no ref points at it. Its author,
committer and dates are fixed by its inputs, so the same culprit on the same bad commit always
gives the same commit, and the runs stored for it are reused by a resumed bisect.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patchtool.apply.patches import temp_index
from patchtool.bisection.classify import Verdict
from patchtool.bisection.stats import ConfirmationPlan
from patchtool.config import Settings
from patchtool.jsonable import record
from patchtool.vcs.repo import GitRepo
from patchtool.vcs.trees import ObjectStore

_IDENT = "patchtool <patchtool@localhost>"


@record
class RevertCommit:
    """The bad commit with the culprit reverted (``sha``), or why it could not be made."""

    sha: str | None
    conflicts: tuple[str, ...] = ()  # files where the revert did not apply on the bad commit


@record
class RevertOutcome:
    """What the revert test found, and what it cost (runs, of them reused, and builds).

    ``status``: "fixed" (the test passes there as on the culprit's parent), "still-fails",
    "fails-again" and "still-passes" (a fix search's, ``fix``),
    "conflicts" (the revert does not apply on the bad commit), "untestable" (the reverted tree does
    not build, or the test cannot run), "no-op" (the reverted tree is the bad commit's: the culprit
    changes no file, or a later commit undid it; nothing to run), or "not-run" (out of budget or
    time, no parent, ...).
    """

    status: str
    bad: str
    sha: str | None = None
    failures: int = 0
    runs: int = 0
    allowed_failures: int = 0
    conflicts: tuple[str, ...] = ()
    detail: str = ""
    reused_runs: int = 0  # of ``runs``, found in the store (an earlier bisect of the same range)
    builds: int = 0  # builds of the reverted commit in this bisect (0 or 1; a resumed one may reuse)
    # Runs of a first revert test on the bad end, which could not run the test (then this one ran
    # on the commit that stands in for it).
    runs_on_bad_end: int = 0
    # A fix search's: the fix reverted on the fixed end (``bad``), where the failure should come
    # back ("fails-again", at least ``allowed_failures`` failures) or does not ("still-passes").
    fix: bool = False


def make_revert(repo: GitRepo, settings: Settings, culprit: str, bad: str) -> RevertCommit:
    """`bad` with `culprit` reverted (against its first parent, so a merge's branch is taken out).

    As `git revert` does it: a three-way merge of `bad` and the culprit's parent tree over the
    culprit (`git merge-tree --write-tree`, git 2.38 or later: renames followed, git's own merge),
    with no work tree. With an older git, or a culprit that is not an ancestor of `bad`, the
    culprit's diff reversed is applied to a temporary index (`git apply --cached --3way`), which
    may refuse a revert git revert would make.
    """
    parent = repo.out("rev-parse", "--verify", f"{culprit}^1")
    subject = repo.commit_info(culprit).subject
    ident = f"{_IDENT} {repo.out('show', '-s', '--date=raw', '--format=%cd', bad, '--')}"  # "<epoch> +hhmm"
    message = (
        f'Revert "{subject}"\n\nThis reverts commit {culprit}.\n\n'
        f"Made by patchtool bisect to test the revert on {bad}; on no branch.\n"
    )
    if not repo.is_ancestor(culprit, bad):  # the culprit cannot be the merge base (never in a bisect)
        return revert_by_apply(repo, settings, culprit, parent, bad, ident, message)
    with ObjectStore(repo) as store:
        store.set_algorithm(bad)
        merged = _merge_tree(repo, store, culprit, parent, bad, ident)
        if merged is None:
            return revert_by_apply(repo, settings, culprit, parent, bad, ident, message)
        tree, conflicts = merged
        if conflicts:
            return RevertCommit(None, conflicts)
        sha = store.make_commit(tree, bad, ident, ident, message)
        store.flush(Path())
    return RevertCommit(sha)


def _merge_tree(
    repo: GitRepo, store: ObjectStore, culprit: str, parent: str, bad: str, ident: str
) -> tuple[str, tuple[str, ...]] | None:
    """(tree, conflicting files) of the three-way merge, or None when git has no `merge-tree
    --write-tree`. The other side is a commit holding the parent's tree on top of the culprit, so
    the culprit is the merge base: what `git revert` merges."""
    undo = store.make_commit(store.tree_of_commit(parent), culprit, ident, ident, "undo\n")
    store.flush(Path())
    options = ("--write-tree", "--name-only", "--no-messages", "-z")
    done = repo.git("merge-tree", *options, bad, undo, check=False)
    fields = done.stdout.split(b"\0")
    if done.returncode not in (0, 1) or not fields[0]:
        return None
    tree = fields[0].decode()
    conflicts = tuple(dict.fromkeys(f.decode("utf-8", "surrogateescape") for f in fields[1:] if f))
    return tree, conflicts if done.returncode == 1 else ()


def revert_by_apply(
    repo: GitRepo, settings: Settings, culprit: str, parent: str, bad: str, ident: str, message: str
) -> RevertCommit:
    """The revert from the culprit's diff, reversed, applied to a temporary index on `bad`."""
    changed = repo.git("diff", "--no-renames", "--name-only", "-z", parent, culprit).stdout
    paths = [p.decode("utf-8", "surrogateescape") for p in changed.split(b"\0") if p]
    diff = repo.git("diff", "--binary", "--full-index", "--no-renames", culprit, parent).stdout
    with temp_index(repo, settings) as index:
        index.load(bad, paths)
        if paths:
            step = index.apply(diff)
            if step.status == "conflict":
                return RevertCommit(None, tuple(dict.fromkeys(c.file for c in step.conflicts)))
        sha = index.store.make_commit(index.write_tree(), bad, ident, ident, message)
    return RevertCommit(sha)


def noop_detail(repo: GitRepo, culprit: str, bad: str, made: RevertCommit) -> str:
    """Why the revert test would only run `bad` again (its tree unchanged), or "": the culprit
    changes no file (then the verdict itself is in doubt), or else the reverted commit ``made``
    has `bad`'s tree (a later commit already undid the culprit)."""

    def tree(rev: str) -> str | None:  # None: not here (a root's parent, a commit made elsewhere)
        return repo.try_rev_parse(rev, "tree")

    if tree(culprit) == tree(f"{culprit}^1") is not None:
        return "the culprit changes no file: doubt the verdict"
    if made.sha is not None and tree(made.sha) == tree(bad) is not None:
        return "its change is already undone there"
    return ""


def conflicts_outcome(repo: GitRepo, culprit: str, bad: str, files: tuple[str, ...]) -> RevertOutcome:
    """The revert does not apply on ``bad``; said with the commit between them that already
    reverts the culprit, when one says so (`This reverts commit <culprit>.`): the culprit's change
    is then gone from ``bad``, which is why the revert finds nothing to take out (6 of 112 of
    master's plain reverts, a culprit reverted after its revert, in bench/revert_real.py --noop)."""
    full = repo.try_rev_parse(culprit)
    if full is None:
        return RevertOutcome("conflicts", bad, conflicts=files)
    done = repo.git(
        "log", "--format=%H%x00%s", "--fixed-strings", f"--grep=This reverts commit {full}",
        f"{full}..{bad}", "--", check=False,
    )  # fmt: skip
    found = [line.split("\0", 1) for line in done.text().splitlines() if "\0" in line] if done.ok else []
    if not found:
        return RevertOutcome("conflicts", bad, conflicts=files)
    sha, subject = found[-1]  # the oldest: the one that first undid it
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    detail = f"already reverted by {sha[:12]} {subject!r}{more}"
    return RevertOutcome("conflicts", bad, conflicts=files, detail=detail)


def revert_pack(repo: GitRepo, sha: str, bad: str) -> bytes:
    """The objects the reverted commit adds to `bad`, as a pack: what a cluster worker, whose
    repository never had the commit, unpacks to check out the same commit, byte for byte."""
    return repo.git("pack-objects", "--stdout", "--revs", "-q", input=f"{sha}\n^{bad}\n".encode()).stdout


def judge_revert(
    bad: str, sha: str, outcomes: Sequence[str], plan: ConfirmationPlan, fix: bool = False
) -> RevertOutcome:
    """The revert test from the outcomes of the reverted commit so far (build rows included): the
    test passes there as on the culprit's parent (at most the parent's allowed failures in as many
    runs), fails more than that, cannot be built or run, or has not run enough yet ("not-run").

    With ``fix`` (a fix search, reverted on the fixed end): the failure comes back as on the fix's
    parent ("fails-again": the failures the culprit's confirmation asks for, within as many runs),
    or not ("still-passes")."""
    failures = sum(o == Verdict.FAIL for o in outcomes)
    runs = sum(o in (Verdict.PASS, Verdict.FAIL) for o in outcomes)
    if Verdict.UNTESTABLE in outcomes:
        status = "untestable"
    elif fix:
        status = "fails-again" if failures >= plan.culprit_failures else "still-passes"
        status = status if status == "fails-again" or runs >= plan.culprit_max_runs else "not-run"
        return RevertOutcome(status, bad, sha, failures, runs, plan.culprit_failures, fix=True)
    elif failures > plan.parent_max_failures:
        status = "still-fails"
    else:
        status = "fixed" if runs >= plan.parent_runs else "not-run"
    return RevertOutcome(status, bad, sha, failures, runs, plan.parent_max_failures)


def describe_revert(r: RevertOutcome, culprit: str) -> str:
    """One line for people: what reverting `culprit` (a short sha) on the bad commit did."""
    what = f"revert test ({r.bad[:12]} with {culprit[:12]} reverted)"
    if r.status == "fails-again":
        return f"{what}: failed {r.failures}/{r.runs} runs: without the fix it fails again"
    if r.status == "still-passes":
        return (
            f"{what}: failed {r.failures}/{r.runs} runs (at least {r.allowed_failures} expected):"
            " without the fix it does NOT fail again; something after the fix fixes or hides it too"
        )
    if r.status == "fixed":
        return f"{what}: failed {r.failures}/{r.runs} runs: the revert fixes it"
    if r.status == "still-fails":
        return (
            f"{what}: failed {r.failures}/{r.runs} runs (at most {r.allowed_failures} expected):"
            " the revert does NOT fix it; something after the culprit fails too"
        )
    if r.status == "conflicts":
        why = f"; {r.detail}" if r.detail else ""
        return f"{what}: does not apply there (conflicts in {', '.join(r.conflicts)}{why}): not run"
    if r.status == "no-op":
        return f"{what}: reverting it changes nothing there ({r.detail}): not run"
    if r.status == "untestable":
        return f"{what}: the reverted tree cannot be built or tested" + (f" ({r.detail})" if r.detail else "")
    return f"{what}: not run ({r.detail or 'interrupted'})"
