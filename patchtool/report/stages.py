"""Report pieces read from other stages' output: a build log's failing lines and a stored bisect result."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patchtool.bisection.classify import Classifier, Verdict
from patchtool.bisection.fixes import fix_of
from patchtool.bisection.probe import ProbeSpec
from patchtool.bisection.records import said
from patchtool.bisection.revert import describe_revert
from patchtool.bisection.stored import StoredBisect, load_stored
from patchtool.report.records import BisectCommitView, BisectView
from patchtool.store import Store
from patchtool.testrun.results import ways_lines
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


# The report reads the bisection's public record of a stored bisect (one replay, in bisection/).
BisectInput = StoredBisect


def _estimate(e: Any) -> str:
    if e is None:
        return ""
    return f"{e.mean:.2f} ({e.low:.2f}-{e.high:.2f})"


def bisect_view(data: BisectInput) -> BisectView:
    """Plain records for the report: culprit, ranges, evidence and the posterior per commit."""
    r = data.result
    evidence = {e.index: e for e in r.evidence}
    # A fix search's line is newest first and its culprit c names the fix at c - 1: the chance
    # that a commit is the fix is the search's at the commit before it.
    named = fix_of if data.fix else (lambda i: i)
    chance = [*data.posterior[1:], 0.0] if data.fix else list(data.posterior)
    commits = []
    for i, sha in enumerate(data.shas):
        ev = evidence.get(i)
        commits.append(
            BisectCommitView(
                i,
                sha[:12],
                data.subjects[i] if i < len(data.subjects) else "",
                float(chance[i]) if i < len(chance) else 0.0,
                ev.runs if ev else 0,
                ev.failures if ev else 0,
                bool(ev and ev.untestable),
            )
        )

    def at(i: int) -> str:
        return data.shas[i][:12] if 0 <= i < len(data.shas) else str(i)

    culprit = named(r.culprit) if r.culprit is not None else None
    ranges = [(named(a), named(b)) for a, b in (r.range90, r.range99)]
    if data.fix:  # oldest first
        ranges = [(b, a) for a, b in ranges]
    return BisectView(
        test=data.test,
        good=at(0),
        bad=at(len(data.shas) - 1),
        culprit=at(culprit) if culprit is not None else None,
        culprit_subject=(
            data.subjects[culprit] if culprit is not None and culprit < len(data.subjects) else None
        ),
        probability=float(r.probability),
        range90=(at(ranges[0][0]), at(ranges[0][1])),
        range99=(at(ranges[1][0]), at(ranges[1][1])),
        runs=int(r.runs),
        builds=int(r.builds),
        commits=tuple(commits),
        p=_estimate(getattr(r, "p", None)),
        q=_estimate(getattr(r, "q", None)),
        revert=_revert_line(data, culprit),
        paths=tuple(data.paths),
        build_failure=_build_failure_line(data),
        unusable=_unusable_line(data),
        ways=_ways_lines(data),
        set_aside=tuple(said(d, _side_words(data.fix, d.side)) for d in data.records_against),
        fix=data.fix,
        merge=_merge_line(data),
    )


def _merge_line(data: BisectInput) -> str:
    if data.merge is None:
        return ""
    sha, subject = data.merge
    runs = "1 run" if data.line_runs == 1 else f"{data.line_runs} runs"
    builds = "1 build" if data.line_builds == 1 else f"{data.line_builds} builds"
    return (
        f"the first-parent search named the merge {sha[:12]} {subject}; bisected inside it"
        f" (before it, the first-parent line {runs}, {builds})"
    )


def _unusable_line(data: BisectInput) -> str:
    if data.newest_unusable is None:
        return ""
    sha, verdict, ending = data.newest_unusable
    said = "failed otherwise" if verdict == Verdict.OTHER else "inconclusive"
    return f"the newest run that did not count ({sha[:12]}, {said}) ended: {' / '.join(ending)}"


def _ways_lines(data: BisectInput) -> tuple[str, ...]:
    """A line per way, every way (the report is the whole record; the templates count them)."""
    ways = data.failed_ways
    if len(ways) < 2:
        return ()
    good = _side_words(data.fix, "good")
    return tuple(ways_lines([(w.ending, w.runs, w.about(good)) for w in ways], "", shown=len(ways)))


def _side_words(fix: bool, side: str) -> str:
    """Commits on the ``side`` ("bad" or "good") of the commit named, in a fix search's words too."""
    if fix:
        return "commits before the fix" if side == "bad" else "commits after the fix"
    return f"{side} commits"


def _build_failure_line(data: BisectInput) -> str:
    failed = data.build_failure
    if failed is None:
        return ""
    return f"{failed.commit[:12]} did not build: {failed.first_error} (log: {failed.log})"


def _revert_line(data: BisectInput, culprit: int | None) -> str:
    """The revert test of the commit named at ``culprit`` (the fix, in a fix search)."""
    if data.revert is None or culprit is None:
        return ""
    return describe_revert(data.revert, data.shas[culprit])


def load_stored_bisect(
    store: Store,
    repo: GitRepo,
    test: str,
    setup: str | None = None,
    configure_args: Sequence[str] = (),
    classifier: Classifier | None = None,
) -> StoredBisect | None:
    """The bisect evidence stored for `test` (with this setup, configuration and classification of
    outputs: --fail-match, --pass-match, --timeout-as) in this repository.

    The classification is part of the key: the same runs mean different things under another
    match, so a bisect with --fail-match is never shown for one without it, nor the other way round.
    """
    spec = ProbeSpec(test=test, setup=setup, configure_args=tuple(configure_args),
                     classifier=classifier or Classifier())  # fmt: skip
    return load_stored(store, repo, test, spec.key(), spec)
