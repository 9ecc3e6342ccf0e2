"""Stable candidates: the upstream commits a stable branch should consider and does not hold yet.

A commit is a candidate when it asks for stable (`Cc: qemu-stable@nongnu.org`) or fixes a commit the
branch has (`Fixes:` naming a commit before the fork point, or one the branch picked). Held commits
are recognised by the branch's "(cherry picked from commit X)" lines and by patch-id. Each candidate
gets a predicted outcome from a dry run of the backport (nothing is kept: no branch, no checkout).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from patchtool.apply.backcheck import NameOracle
from patchtool.apply.backport import backport_series, series_from_commits
from patchtool.apply.engine import ALREADY_IN_BASE
from patchtool.config import Settings
from patchtool.errors import PatchtoolError
from patchtool.jsonable import record
from patchtool.vcs.repo import GitRepo

_STABLE_CC = re.compile(r"^cc:\s*.*qemu-stable@nongnu\.org", re.IGNORECASE | re.MULTILINE)
_FIXES = re.compile(r"^fixes:\s*([0-9a-f]{7,40})\b", re.IGNORECASE | re.MULTILINE)
_PICKED = re.compile(r"\(cherry picked from commit ([0-9a-f]{40})\)")
_RELEASE = re.compile(r"^Update version for .*release", re.IGNORECASE)


@record
class Candidate:
    """An upstream commit the stable branch lacks, why it is wanted, and how a backport would go."""

    sha: str
    subject: str
    reasons: tuple[str, ...]  # "Cc: qemu-stable", "Fixes: abc123def456 (on the branch)"
    prediction: str  # "clean" | "needs adaptation" | "conflict" | "already applied" | "error"
    detail: tuple[str, ...] = ()  # conflicting files, missing identifiers
    after_release: bool = True  # committed upstream after the branch's last release


@record
class CandidateReport:
    branch: str
    upstream: str
    fork_point: str
    last_release: str | None  # the branch's last "Update version for X release" commit
    candidates: tuple[Candidate, ...]
    held: int  # marked commits the branch already holds


def _log(repo: GitRepo, *args: str) -> list[tuple[str, str, str, int]]:
    """(sha, subject, body, commit time) of each non-merge commit of the range, newest first."""
    text = repo.out("log", "--no-merges", "--format=%H%x00%s%x00%ct%x00%B%x01", *args, "--")
    records = []
    for entry in text.split("\x01"):
        sha, _, rest = entry.strip().partition("\0")
        subject, _, rest = rest.partition("\0")
        when, _, body = rest.partition("\0")
        if sha:
            records.append((sha, subject, body, int(when or 0)))
    return records


def _patch_ids(repo: GitRepo, revs: Sequence[str], *, walk: bool) -> dict[str, str]:
    """commit -> stable patch-id, for a range (walk) or a list of commits."""
    if not revs:
        return {}
    args = ("log", "-p", "--no-merges", "--format=commit %H") if walk else ("show", "--format=commit %H")
    diff = repo.git(*args, *revs, "--", timeout=300).stdout
    ids = repo.git("patch-id", "--stable", input=diff, timeout=300).text()
    return {commit: pid for pid, commit in (line.split() for line in ids.splitlines() if line.strip())}


def _resolve(repo: GitRepo, refs: Sequence[str]) -> dict[str, str]:
    """Abbreviated commit ids -> full ids (one `git cat-file --batch-check`); unknown ones left out."""
    if not refs:
        return {}
    query = "".join(f"{r}^{{commit}}\n" for r in refs).encode()
    answer = repo.git("cat-file", "--batch-check=%(objectname) %(objecttype)", input=query).text()
    return {
        ref: line.split()[0]
        for ref, line in zip(refs, answer.splitlines(), strict=False)
        if line.endswith(" commit")
    }


def _reasons(body: str, after_fork: set[str], picked: set[str], full_ids: dict[str, str]) -> list[str]:
    """Why a commit is wanted: it asks for stable, or fixes a commit the branch holds (one before the
    fork point, or one it picked)."""
    reasons = ["Cc: qemu-stable"] if _STABLE_CC.search(body) else []
    for ref in _FIXES.findall(body):
        full = full_ids.get(ref)
        if full and (full not in after_fork or full in picked):
            reasons.append(f"Fixes: {ref[:12]} (on the branch)")
    return reasons


def _last_release(repo: GitRepo, fork: str, branch: str) -> tuple[str, int] | None:
    for sha, subject, _body, when in _log(repo, f"{fork}..{branch}"):
        if _RELEASE.match(subject):
            return sha, when
    return None


def _predict(
    repo: GitRepo, settings: Settings, branch: str, sha: str, oracle: NameOracle
) -> tuple[str, tuple[str, ...]]:
    try:
        result = backport_series(
            repo, series_from_commits(repo, [sha]), settings, onto=branch, source_commits=[sha], oracle=oracle
        )
    except PatchtoolError as e:
        return "error", (e.message,)
    if result.status == ALREADY_IN_BASE:
        return "already applied", ("its change is on the branch already (picked without its upstream id?)",)
    if not result.ok:
        files = dict.fromkeys(c.file for p in result.patches for c in p.conflicts)
        return "conflict", tuple(f"conflict in {f}" for f in files)
    if result.findings:
        return "needs adaptation", tuple(f.message for f in result.findings)
    return "clean", ()


def stable_candidates(
    repo: GitRepo,
    settings: Settings,
    branch: str,
    upstream: str,
    *,
    predict: bool = True,
    since_release: bool = True,
) -> CandidateReport:
    """The marked upstream commits BRANCH lacks, oldest first, each with its predicted outcome; with
    `since_release`, only those committed upstream after the branch's last release."""
    tip = repo.rev_parse(branch)
    upstream_tip = repo.rev_parse(upstream)
    fork = repo.out("merge-base", tip, upstream_tip)
    upstream_log = _log(repo, f"{fork}..{upstream_tip}")
    branch_log = _log(repo, f"{fork}..{tip}")
    after_fork = {sha for sha, *_ in upstream_log}
    picked = {m for _, _, body, _ in branch_log for m in _PICKED.findall(body)}
    full_ids = _resolve(repo, sorted({r for _, _, body, _ in upstream_log for r in _FIXES.findall(body)}))
    marked = []
    for sha, subject, body, when in reversed(upstream_log):
        reasons = _reasons(body, after_fork, picked, full_ids)
        if reasons:
            marked.append((sha, subject, tuple(reasons), when))
    held_ids = set(_patch_ids(repo, [f"{fork}..{tip}"], walk=True).values())
    wanted = [m for m in marked if m[0] not in picked]
    ids = _patch_ids(repo, [m[0] for m in wanted], walk=False)
    missing = [m for m in wanted if ids.get(m[0]) not in held_ids]
    held = len(marked) - len(missing)
    release = _last_release(repo, fork, tip)
    if since_release and release:
        missing = [m for m in missing if m[3] > release[1]]
    oracle = NameOracle(repo)
    candidates = []
    for sha, subject, why, when in missing:
        prediction, detail = _predict(repo, settings, tip, sha, oracle) if predict else ("unknown", ())
        after = release is None or when > release[1]
        candidates.append(Candidate(sha, subject, why, prediction, detail, after))
    return CandidateReport(branch, upstream, fork, release[0] if release else None, tuple(candidates), held)
