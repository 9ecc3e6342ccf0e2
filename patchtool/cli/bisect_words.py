"""The words of `patchtool bisect`'s report on the terminal, for a regression and for a fix."""

from __future__ import annotations

from patchtool.bisection.classify import STOP_CERTAINTY, USABLE_SHARE_TO_STOP
from patchtool.bisection.model import StopReason, Strategy
from patchtool.bisection.records import said as said_aside
from patchtool.bisection.revert import describe_revert
from patchtool.bisection.stats import CONTRAST_DOUBT
from patchtool.bisection.summary import BisectReport, CommitRef
from patchtool.cli.app import out
from patchtool.testrun.results import ways_lines


def _short(ref: CommitRef) -> str:
    return f"{ref.sha[:12]} {ref.subject}"


def print_report(report: BisectReport) -> None:
    """The bisect's outcome, one fact per line (what --json says, for people)."""
    say = out.print
    words = _FIX_WORDS if report.fix else _WORDS
    if report.merge is not None:
        say(f"first-parent search named the merge {_short(report.merge)}; bisected inside it", markup=False)
    if report.culprit is not None:
        say(f"{words['culprit']}: {_short(report.culprit)}", markup=False)
        say(f"  posterior probability {report.probability:.4f}", markup=False)
        if report.stand_ins:
            end = f"the {words['bad end']} {_short(report.bad)}"
            say(f"  {end} cannot be tested; run in its place:", markup=False)
            for s in report.stand_ins:
                say(f"    {_short(s.commit)}: failed {s.failures}/{s.runs} runs", markup=False)
        elif any(u.sha == report.bad.sha for u in report.untestable):  # met by the revert test only
            unneeded = "cannot be tested (the search did not need it)"
            say(f"  the bad end {_short(report.bad)} {unneeded}", markup=False)
    elif report.stop_reason == "blocked-by-untestable":
        a, b = report.range99
        say(f"{words['one of']} {a.sha[:12]}..{b.sha[:12]} ({report.range99_size} commits):")
        which = ", or were skipped (--skip)" if report.skipped else ""
        say(f"  the commits between them cannot be built or tested{which}", markup=False)
    elif report.stop_reason == "test-mostly-unusable":
        share, sure = f"{USABLE_SHARE_TO_STOP * 100:g} %", f"{STOP_CERTAINTY * 100:g} %"
        for line in (
            f"no verdict: {report.unusable_runs} of the test's runs were unusable (another",
            f"  failure, inconclusive or timed out) and {report.runs} counted: under {share} of",
            f"  its runs are usable (at {sure}); check --fail-match, --pass-match, --timeout-as",
            "  and the test itself",
        ):
            say(line, markup=False)
    elif report.stop_reason == "bad-end-untestable":
        for line in _bad_end_untestable(report):
            say(line, markup=False)
    else:
        say(f"no verdict ({report.stop_reason}); most likely {_short(report.top)}", markup=False)
        say(f"  posterior probability {report.probability:.4f}", markup=False)
        if report.fix and report.stop_reason == StopReason.BAD_END_DOES_NOT_REPRODUCE.value:
            said = f"  the broken end {_short(report.bad)} (where --fixed's line meets --broken's history)"
            say(f"{said} never failed: is the failure --broken's own, not on --fixed's line?", markup=False)
    for label, (a, b) in (("90%", report.range90), ("99%", report.range99)):
        say(f"  {label} credible range: {a.sha[:12]}..{b.sha[:12]}", markup=False)
    p, q = report.p, report.q
    say(f"  failure rate {words['when bad']} p = {p.mean:.3f} [{p.low:.3f}, {p.high:.3f}]", markup=False)
    say(f"  failure rate {words['when good']} q = {q.mean:.4f} [{q.low:.4f}, {q.high:.4f}]", markup=False)
    given = [
        f"{f}/{r} on {words[side]}"
        for side, (f, r) in (("bad commits", report.bad_record), ("good commits", report.good_record))
        if r
    ]
    if given:
        whence = (
            "the first-parent search's, and any --bad-record, --good-record"
            if report.merge
            else ("--bad-record, --good-record")
        )
        (bf, br), (gf, gr) = report.tested_before
        if br or gr:
            stored = [f"{f}/{r} at the {words[side]}" for side, (f, r) in
                      (("bad end", (bf, br)), ("good end", (gf, gr))) if r]  # fmt: skip
            whence += f"; stored by patchtool test: {', '.join(stored)}"
        say(f"  p and q also count earlier runs: {', '.join(given)} ({whence})", markup=False)
    for doubt in report.records_against:
        why = "the test may fail at another rate where or as it was run: another machine, load, or many"
        why += " runs in one meson"
        say(f"  {said_aside(doubt, words[f'{doubt.side} commits'])} ({why})", markup=False)
    (cf, cr) = report.culprit_counts
    say(f"  evidence: {report.top.sha[:12]} failed {cf}/{cr} runs; {_parent_evidence(report)}", markup=False)
    if report.confirmation is not None:
        c = report.confirmation
        verdict = "confirmed" if c.confirmed else "NOT confirmed"
        if c.contrast is not None:  # a record counted: the pair's own runs must tell them apart
            differ = "differ" if c.contrast < CONTRAST_DOUBT else "do not clearly differ"
            verdict += f" (a record counted: its runs and its parent's {differ}, p = {c.contrast:.2g})"
        say(
            f"  confirmation (fresh runs): parent failed {c.parent_failures}/{c.parent_runs},"
            f" {words['the culprit']} failed {c.culprit_failures}/{c.culprit_runs}: {verdict}"
        )
    if report.revert is not None:
        culprit = report.culprit.sha if report.culprit else "?"
        say(f"  {describe_revert(report.revert, culprit)}", markup=False)
    if report.runs_needed is not None and report.culprit is None:
        least = report.runs_needed_at_best
        at_least = ""
        if least is not None and least < report.runs_needed:
            at_least = f", at least {least} if p and q are at the best of their ranges"
        say(
            f"  p - q is too small to resolve within this budget: about {report.runs_needed} runs"
            f" would do{at_least} (--max-runs)",
            markup=False,
        )
    if report.paths:
        for line in _limited_to(report):
            say(line, markup=False)
    if report.skipped:
        count = f"{len(report.skipped)} commit" + ("s" if len(report.skipped) > 1 else "")
        say(f"  skipped (--skip): {count} of the range, not built or tested")
    if report.unusable_runs:
        say(f"  {report.unusable_runs} runs failed otherwise or were inconclusive (counted apart)")
        newest = report.newest_unusable
        if newest is not None:  # what a --fail-match that missed could have matched
            said = "failed otherwise" if newest.verdict == "other-failure" else "was inconclusive"
            say(f"    the newest ({newest.commit.sha[:12]}, {said}) ended:", markup=False)
            for line in newest.ending:
                say(f"      {line}", markup=False)
    for line in _ways(report, words):
        say(line, markup=False)
    spent = f"  spent {report.runs} runs ({report.reused_runs} reused from the store), {report.builds} builds"
    if report.rebuilds:
        spent += f" and {report.rebuilds} more going back to a commit built before"
    r = report.revert
    if r is not None and (r.runs or r.builds):
        builds = "1 build" if r.builds == 1 else f"{r.builds} builds"
        spent += f"; the revert test {r.runs} runs ({r.reused_runs} reused), {builds}"
    if r is not None and r.runs_on_bad_end:
        spent += f", after {r.runs_on_bad_end} on the bad end, which could not run it"
    if report.line_runs or report.line_builds:
        spent += f"; before it, the first-parent line {report.line_runs} runs, {report.line_builds} builds"
    say(spent)
    if report.tested_inside:
        outside = " (a first parent outside the range)"
        shown = [
            f"{t.failures}/{t.runs} at {t.commit.sha[:12]}" + (outside if t.outside else "")
            for t in report.tested_inside[:4]
        ]
        more = len(report.tested_inside) - len(shown)
        tail = f" and at {more} more commits" if more else ""
        listed = ", ".join(shown) + tail
        say(f"  of those reused, stored by patchtool test between the ends: {listed}", markup=False)


# What the report's lines call things, in a regression search and in a fix search (--broken,
# --fixed), where the culprit is the fix, the bad end the broken one and the good end the fixed.
_WORDS = {
    "culprit": "first bad commit",
    "the culprit": "culprit",
    "one of": "the first bad commit is one of",
    "bad end": "bad end",
    "good end": "good end",
    "bad commits": "bad commits",
    "good commits": "good commits",
    "when bad": "when bad",
    "when good": "when good",
    "bad option": "--bad",
    "before it": "before it",
}
_FIX_WORDS = {
    "culprit": "fixed by",
    "the culprit": "the fix",
    "one of": "the fix is one of",
    "bad end": "broken end",
    "good end": "fixed end",
    "bad commits": "commits before the fix",
    "good commits": "commits after the fix",
    "when bad": "before the fix",
    "when good": "after the fix",
    "bad option": "--broken",
    "before it": "after it",
}


def _ways(report: BisectReport, words: dict[str, str]) -> list[str]:
    """From two ways on, how the search's failed runs ended (the ways `patchtool test` shows):
    how many runs each, how many of them on the good side (where they make q: is that failure
    the regression's?), and which were counted apart."""
    ways = report.failed_ways
    if len(ways) < 2:
        return []
    if any(w.verdict != "fail" for w in ways):
        head = f"  failed runs ended {len(ways)} ways (those --fail-match did not match counted apart):"
    else:
        head = f"  failed runs ended {len(ways)} ways (--fail-match REGEX counts one, the rest apart):"
    listed = [(w.ending, w.runs, w.about(words["good commits"])) for w in ways]
    return [head, *ways_lines(listed, " " * 4)]


def _limited_to(report: BisectReport) -> list[str]:
    """The paths the search was limited to, and what naming a bad end that does not change them means."""
    paths = " ".join(report.paths)
    searched = report.candidates - (not report.bad_changes_paths)
    lines = [f"  limited to {paths}: {searched} of the range's {report.range_commits} commits change them"]
    end = report.good if report.fix else report.bad  # the end that is a candidate itself
    if report.culprit is not None and report.culprit.sha == end.sha and not report.bad_changes_paths:
        lines.append(
            "  the fixed end does not change them, and every commit that does still failed: the fix"
            " changes something else (search without the paths)"
            if report.fix
            else "  the bad end does not change them, and every commit that does tested good: the first"
            " bad commit changes something else (bisect without the paths)"
        )
    return lines


def _parent_evidence(report: BisectReport) -> str:
    """The parent's runs; a parent outside the range is known good (an ancestor of a good commit),
    and when it cannot be tested the confirmation ran at the good end instead, as it does for a
    root commit, which has no parent."""
    (pf, pr), parent = report.parent_counts, report.parent.sha[:12]
    if report.parent_root:
        return f"no parent (a root commit): the good end {parent} {pf}/{pr}"
    if not report.parent_outside:
        return f"parent {parent} {pf}/{pr}"
    if any(u.sha == report.parent.sha for u in report.untestable):
        good = report.good.sha[:12]
        return f"parent {parent} (outside the range, known good) cannot be tested: confirmed at {good}"
    return f"parent {parent} (outside the range, known good) {pf}/{pr}"


def _bad_end_untestable(report: BisectReport) -> list[str]:
    """Why no commit is named when the bad end cannot be tested: no commit before it, tested in
    its place, showed the failure, or none could be tested either."""
    words = _FIX_WORDS if report.fix else _WORDS
    lines = [
        f"no verdict: the {words['bad end']} {_short(report.bad)} cannot be tested",
        "  (it does not build, its test exits 125, or its runs fail another way)",
    ]
    if not report.stand_ins:
        tried, option = min(Strategy().bad_end_stand_ins, report.candidates - 1), words["bad option"]
        nor = f"nor can any commit up to {tried} {words['before it']}"
        lines.append(f"  {nor}: give {option} a commit that can be tested")
        return lines
    lines.append(f"  the commits {words['before it']} run in its place never failed:")
    lines.extend(f"    {_short(s.commit)}: {s.runs} runs" for s in report.stand_ins)
    if report.fix:
        lines.append(f"  the broken end itself may not fail: the fix is {_short(report.bad)} or before")
    else:
        lines.append("  the bad end itself may be the first bad commit")
    return lines
