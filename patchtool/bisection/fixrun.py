"""Run a fix search (fixes.py) over real commits, going down into the merges it names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from patchtool.bisection.core import BisectState
from patchtool.bisection.driver import search_and_confirm
from patchtool.bisection.fixes import fix_line, fix_of
from patchtool.bisection.line import line_spent, line_ways
from patchtool.bisection.options import BisectOptions
from patchtool.bisection.probe import Prober, ProbeSpec
from patchtool.bisection.records import plus
from patchtool.bisection.revertrun import revert_test
from patchtool.bisection.stats import ConfirmationOutcome
from patchtool.bisection.summary import BisectReport, CommitRef, Finished, Progress, build_report
from patchtool.config import Settings
from patchtool.errors import InputError
from patchtool.store import Store
from patchtool.vcs.repo import GitRepo


def run_fix_search(
    repo: GitRepo,
    store: Store,
    spec: ProbeSpec,
    options: BisectOptions,
    prober: Prober | Sequence[Prober],
    progress: Callable[[Progress], None] | None = None,
    settings: Settings | None = None,
) -> BisectReport:
    """The search for the fix (fixes.py). A merge named as the fix is searched inside, from its
    first parent (broken) to its second (fixed), with the line's runs as records (failing at the
    commits before the fix, passing after), and so on down while a merge is named; a merge whose
    branch has no commit of its own, or inside which no fix is found, is the answer.

    The fix found is then reverted on the fixed end the user named and tested there: the failure
    should come back (revertrun.revert_test with ``fix``), unless ``options.revert_test`` is off
    or ``settings`` is None."""
    probers = list(prober) if isinstance(prober, Sequence) else [prober]
    session, confirmation = search_and_confirm(repo, store, spec, options, probers, progress)
    fixed_end = session.commits[0]
    report = as_fix(build_report(session, spec, confirmation), session.state, session.ref)
    lines: list[Finished] = []  # the searches that named the merge the next went down into
    for _ in range(_MAX_DEPTH):
        culprit = session.state.result().culprit
        if culprit is None or not report.found:
            break
        parents = repo.out("rev-list", "--parents", "-n", "1", session.commits[fix_of(culprit)]).split()[1:]
        if len(parents) < 2:
            break
        try:
            inner_line = set(fix_line(repo, parents[0], parents[1], options.paths)[0])
        except InputError:
            break  # the branch merged has nothing the first parent lacks
        ends = {i for i, sha in enumerate(session.commits) if sha in inner_line}
        broken_runs, fixed_runs = session.state.side_counts(culprit, ends)
        # the line's runs count inside with the records, and grow at each merge gone down into:
        # the lines above count, each run once (records set aside above stay so: session.options)
        above = session.options.line_records
        options = replace(
            session.options, good=parents[1], bad=parents[0],
            line_records=(plus(above[0], broken_runs), plus(above[1], fixed_runs)),
        )  # fmt: skip
        inside, inner_confirmation = search_and_confirm(repo, store, spec, options, probers, progress)
        inside_report = as_fix(build_report(inside, spec, inner_confirmation), inside.state, inside.ref)
        if not inside_report.found:
            break
        runs, builds = line_spent(session, inside)
        lines.append(session)
        inside_report = replace(
            inside_report,
            line_runs=report.line_runs + runs,
            line_builds=report.line_builds + builds,
            failed_ways=line_ways(lines, inside, store, inside.key),
        )
        session, report = inside, replace(inside_report, merge=report.culprit)
    if report.found and report.culprit is not None and options.revert_test:
        revert = revert_test(session, settings, report.culprit.sha, fixed_end, fix=True)
        report = replace(report, revert=revert)
    return report


_MAX_DEPTH = 8  # merges inside merges a fix search goes down


def as_fix(report: BisectReport, state: BisectState, ref: Callable[[int], CommitRef]) -> BisectReport:
    """A search's report in the fix's terms: the culprit is the fix (the first commit that passes),
    its parent the last commit that fails, the credible ranges oldest first, and the
    confirmation's sides swapped (the fix must pass, its parent fail). ``good`` is the fixed end,
    ``bad`` the broken end; p and q keep their meaning (failure rate before and after the fix)."""
    result = state.result()
    top = result.top
    (a90, b90), (a99, b99) = result.range90, result.range99
    confirmation = report.confirmation
    if confirmation is not None:
        confirmation = ConfirmationOutcome(
            parent_failures=confirmation.culprit_failures,
            parent_runs=confirmation.culprit_runs,
            culprit_failures=confirmation.parent_failures,
            culprit_runs=confirmation.parent_runs,
            parent_ok=confirmation.culprit_ok,
            culprit_ok=confirmation.parent_ok,
            contrast=confirmation.contrast,
        )
    return replace(
        report,
        fix=True,
        culprit=ref(fix_of(result.culprit)) if result.culprit is not None else None,
        top=ref(fix_of(top)),
        range90=(ref(fix_of(b90)), ref(fix_of(a90))),
        range99=(ref(fix_of(b99)), ref(fix_of(a99))),
        culprit_counts=state.counts(fix_of(top)),
        parent=ref(top),
        parent_counts=state.counts(top),
        parent_outside=False,
        parent_root=False,
        confirmation=confirmation,
    )
