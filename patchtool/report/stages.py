"""Report pieces read from other stages' output: a build log's failing lines and a stored bisect result."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchtool.report.records import BisectCommitView, BisectView
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo

# patchew's rule for build-failure mails: these lines, three lines around each, groups split by ---.
_INTERESTING = re.compile(r"FAIL|XPASS|ERROR|WARN|error:|warning:")
_CONTEXT = 3
_MAX_LOG_BYTES = 4 * 1024 * 1024


def log_excerpt(lines: Sequence[str], context: int = _CONTEXT, limit: int = 80) -> tuple[str, ...]:
    """The lines matching patchew's pattern with `context` lines around each; groups split by `---`."""
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if _INTERESTING.search(line):
            keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    out: list[str] = []
    previous = None
    for i in sorted(keep):
        if previous is not None and i != previous + 1:
            out.append("---")
        out.append(lines[i].rstrip())
        previous = i
        if len(out) >= limit:
            out.append("[...]")
            break
    return tuple(out)


def build_log_excerpt(path: Path | str | None) -> tuple[str, ...]:
    if not path:
        return ()
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_LOG_BYTES)  # bounded: a runaway build log must not fill memory
    except OSError:
        return ()
    return log_excerpt(data.decode("utf-8", "replace").splitlines())


@dataclass(frozen=True)
class BisectInput:
    """A bisect result with the commits it ranged over (oldest first; shas[0] is the good end)."""

    test: str
    shas: tuple[str, ...]
    subjects: tuple[str, ...]
    posterior: tuple[float, ...]  # per commit, same length as shas (0 for the good end)
    result: Any  # bisection.BisectResult


def _estimate(e: Any) -> str:
    if e is None:
        return ""
    return f"{e.mean:.2f} ({e.low:.2f}-{e.high:.2f})"


def bisect_view(data: BisectInput) -> BisectView:
    """Plain records for the report: culprit, ranges, evidence and the posterior per commit."""
    r = data.result
    evidence = {e.index: e for e in r.evidence}
    commits = []
    for i, sha in enumerate(data.shas):
        ev = evidence.get(i)
        commits.append(
            BisectCommitView(
                i,
                sha[:12],
                data.subjects[i] if i < len(data.subjects) else "",
                float(data.posterior[i]) if i < len(data.posterior) else 0.0,
                ev.runs if ev else 0,
                ev.failures if ev else 0,
                bool(ev and ev.untestable),
            )
        )

    def at(i: int) -> str:
        return data.shas[i][:12] if 0 <= i < len(data.shas) else str(i)

    culprit = at(r.culprit) if r.culprit is not None else None
    return BisectView(
        test=data.test,
        good=at(0),
        bad=at(len(data.shas) - 1),
        culprit=culprit,
        culprit_subject=data.subjects[r.culprit]
        if r.culprit is not None and r.culprit < len(data.subjects)
        else None,
        probability=float(r.probability),
        range90=(at(r.range90[0]), at(r.range90[1])),
        range99=(at(r.range99[0]), at(r.range99[1])),
        runs=int(r.runs),
        builds=int(r.builds),
        commits=tuple(commits),
        p=_estimate(getattr(r, "p", None)),
        q=_estimate(getattr(r, "q", None)),
    )


def load_stored_bisect(
    store: Store, repo: GitRepo, test: str, setup: str | None = None, configure_args: Sequence[str] = ()
) -> BisectInput | None:
    """The bisect evidence stored for `test` in this repository, replayed into a posterior.

    `patchtool bisect` writes every observation to the store as it happens (keyed by test, setup
    and configuration). The range is the oldest to the newest commit observed (the bisect always
    probes both ends); None when the store has nothing for this test here.
    """
    from patchtool.bisection.driver import BISECT_DDL, candidate_commits, load_rows
    from patchtool.bisection.probe import ProbeSpec

    key = ProbeSpec(test=test, setup=setup, configure_args=tuple(configure_args)).key()
    store.ensure_schema(BISECT_DDL)
    rows = store.query("SELECT DISTINCT commit_sha FROM bisect_observations WHERE probe_key = ?", (key,))
    known = [sha for r in rows if (sha := repo.try_rev_parse(str(r[0])))]
    if len(known) < 2:
        return None
    # The bad end is the one observed commit no other descends from; the good end is the common
    # ancestor of them all (bisect probes both ends, so both are among the observed commits).
    tips = repo.out("merge-base", "--independent", *known).split()
    base = repo.git("merge-base", "--octopus", *known, check=False).text().split()
    if len(tips) != 1 or len(base) != 1 or base[0] not in known or base[0] == tips[0]:
        return None
    good, bad = base[0], tips[0]
    commits = candidate_commits(repo, good, bad, first_parent=False)
    state = _replay(
        len(commits) - 1, {sha: i for i, sha in enumerate(commits)}, load_rows(store, key, commits)
    )
    subjects = _subjects(repo, good, bad)
    return BisectInput(
        test,
        tuple(commits),
        tuple(subjects.get(c, "") for c in commits),
        tuple(state.posterior()),
        state.result(),
    )


def _replay(n: int, index: dict[str, int], rows: Sequence[tuple[str, str, str, float]]) -> Any:
    """Feed stored observations to the bisection core, as the bisect command does when it resumes."""
    from patchtool.bisection.core import BisectState
    from patchtool.bisection.probe import Verdict

    state = BisectState(n)
    for sha, outcome, _phase, _seconds in rows:
        i = index[sha]
        if outcome == Verdict.UNTESTABLE:
            if not state.is_untestable(i) and state.counts(i)[1] == 0:
                state.mark_untestable(i)
        elif outcome in (Verdict.PASS, Verdict.FAIL) and not state.is_untestable(i):
            state.observe(i, outcome == Verdict.FAIL)
    return state


def _subjects(repo: GitRepo, good: str, bad: str) -> dict[str, str]:
    listing = repo.out("log", "--format=%H%x00%s", f"{good}..{bad}", "--")
    pairs = (line.split("\0", 1) for line in listing.splitlines() if "\0" in line)
    return {good: repo.commit_info(good).subject, **dict(pairs)}
