"""Checks and reports on the mini QEMU tree: the reaper series as sent, and with its stub left out."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from patchtool.config import load_settings
from patchtool.demo.minitree import MiniTree
from patchtool.fetch import resolve_source
from patchtool.models import Series
from patchtool.parse.series import build_series
from patchtool.review.checks import run_checks
from patchtool.vcs.repo import GitRepo
from tests.conftest import ROOT, run_patchtool
from tests.plugins.gitutil import linear_repo

QUIET_CODES = {
    "missing-stub",
    "stale-caller",
    "commit-ref-unknown",
    "commit-ref-subject",
    "dco-missing-author-signoff",
    "codev-without-signoff",
    "sender-signoff-not-last",
    "trailer-malformed",
    "diffstat-mismatch",
}


def _checks(mbox: Path, repo: Path) -> tuple[object, ...]:
    series = build_series(resolve_source(str(mbox), load_settings()))
    git = GitRepo(repo)
    return run_checks(series, repo=git, base=git.rev_parse("HEAD"))  # type: ignore[return-value]


def test_reaper_series_is_clean_on_the_mini_tree(minitree: MiniTree) -> None:
    result = _checks(minitree.series_path("reaper-v2"), minitree.repo)
    codes = {f.code for f in result.findings}  # type: ignore[attr-defined]
    assert not codes & QUIET_CODES, result.findings  # type: ignore[attr-defined]
    assert result.checkpatch_ran  # type: ignore[attr-defined]
    sections = {s.section.name: s for s in result.subsystems}  # type: ignore[attr-defined]
    assert {"Overall KVM CPUs", "Dirty page rate limit"} <= set(sections)
    assert [a.email for a in sections["Dirty page rate limit"].approved_by] == ["hhult@example.net"]


def _without_stub(text: str) -> str:
    """The reaper patch as if its author had forgotten the stub (seed 000's pattern)."""
    head, _, rest = text.partition("\ndiff --git a/accel/stubs/kvm-stub.c")
    _, _, tail = rest.partition("\ndiff --git ")
    text = head + "\ndiff --git " + tail
    return re.sub(r"^ accel/stubs/kvm-stub\.c +\| +\d+ \+*\n", "", text, count=1, flags=re.M)


def test_reaper_series_without_its_stub_is_caught(minitree: MiniTree, tmp_path: Path) -> None:
    mbox = tmp_path / "nostub.mbox"
    original = minitree.series_path("reaper-v2").read_text(encoding="utf-8")
    first_mail = original.split("\nFrom ", 1)[0] + "\n"  # the patch, without the review reply
    mbox.write_text(_without_stub(first_mail), encoding="utf-8")
    result = _checks(mbox, minitree.repo)
    stubs = [f for f in result.findings if f.code == "missing-stub"]  # type: ignore[attr-defined]
    assert len(stubs) == 1, result.findings  # type: ignore[attr-defined]
    assert stubs[0].file == "include/system/kvm.h" and stubs[0].line
    assert "kvm_dirty_ring_reaper_kick" in stubs[0].message
    assert not [f for f in result.findings if f.code == "diffstat-mismatch"]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_report_reuses_stored_test_runs(minitree: MiniTree, minitree_copy: Path, tmp_path: Path) -> None:
    mbox = minitree.series_path("reaper-v2")
    test = ("--test", "func-alpha-replay", "--setup", "thorough", "--repeat", "2")
    args = ("report", mbox, "--repo", minitree_copy, *test, "-f", "json")
    first = run_patchtool(*args, cwd=tmp_path)
    assert first.code in (0, 1), first.stderr
    data = json.loads(first.stdout)
    assert data["apply"]["ok"] and data["build"]["ok"]
    assert data["tests"]["tests"][0]["runs"] == 2
    again = json.loads(run_patchtool(*args, cwd=tmp_path).stdout)
    assert again["tests"]["tests"][0]["runs"] == 2  # read from the store, not run a second time
    assert again["tests"]["tests"][0]["failures"] == data["tests"]["tests"][0]["failures"]
    assert data["verdict"] == ("fail" if data["tests"]["tests"][0]["failures"] else "pass")


def test_stored_bisect_observations_become_a_posterior(tmp_path: Path) -> None:
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.replay import record_row
    from patchtool.report.stages import bisect_view, load_stored_bisect
    from patchtool.store import Store

    shas = linear_repo(tmp_path / "r", 8)
    key = ProbeSpec(test="t", setup="thorough").key()
    with Store(tmp_path / "s.sqlite3") as store:
        assert load_stored_bisect(store, GitRepo(tmp_path / "r"), "t", "thorough") is None
        for i, sha in enumerate(shas):
            record_row(store, key, sha, "built", "search", 1.0)
            for run in range(16 if i in (4, 5) else 4):
                failed = i >= 5 and run % 2 == 0
                record_row(store, key, sha, "fail" if failed else "pass", "search", 0.1)
        record_row(store, ProbeSpec(test="other").key(), shas[3], "fail", "search", 0.1)
        found = load_stored_bisect(store, GitRepo(tmp_path / "r"), "t", "thorough")
        assert load_stored_bisect(store, GitRepo(tmp_path / "r"), "t", None) is None
    assert found is not None and found.shas == tuple(shas)
    view = bisect_view(found)
    assert view.culprit == shas[5][:12] and view.culprit_subject == "c5"
    assert view.probability > 0.9 and view.commits[5].probability == max(c.probability for c in view.commits)
    assert (view.commits[5].failures, view.commits[5].runs) == (8, 16)


def test_stored_bisect_keeps_the_range_it_searched(tmp_path: Path) -> None:
    """The search may never run either end (the bad end is skipped once a commit between fails):
    the report shows the range the bisect was given, not the span of the commits it ran."""
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.replay import forget_rows, record_range, record_row
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas = linear_repo(tmp_path / "r", 12)
    key = ProbeSpec(test="t").key()
    repo = GitRepo(tmp_path / "r")
    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, "0" * 40, "1" * 40, False)  # another repository's bisect: passed over
        record_range(store, key, shas[0], shas[12], False)
        for i in (3, 5, 6, 7):
            record_row(store, key, shas[i], "built", "search", 1.0)
            for run in range(12):
                record_row(store, key, shas[i], "fail" if i >= 6 and run % 2 else "pass", "search", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.shas == tuple(shas)  # not shas[3..7]
        assert found.result.top == 6
        forget_rows(store, key)  # --fresh forgets the range too
        assert load_stored_bisect(store, repo, "t") is None


@pytest.mark.slow
def test_report_shows_the_stored_bisect(minitree: MiniTree, minitree_copy: Path, tmp_path: Path) -> None:
    probe = ("--test", "func-alpha-replay", "--setup", "thorough", "--repo", minitree_copy)
    done = run_patchtool("bisect", "--good", "v10.0.0", "--bad", "main", *probe, cwd=tmp_path)
    assert done.code == 0, done.stderr
    mbox = minitree.series_path("rcu-gp")
    args = ("--repo", minitree_copy, "--bisect-test", "func-alpha-replay", "--setup", "thorough")
    data = json.loads(run_patchtool("report", mbox, *args, "-f", "json", cwd=tmp_path).stdout)
    assert data["bisect"]["culprit"] == minitree.rcu_regression[:12]
    assert data["bisect"]["probability"] > 0.99
    assert {s["name"]: s["state"] for s in data["stages"]}["bisect"] == "ok"
    html = run_patchtool("report", mbox, *args, "-f", "html", cwd=tmp_path).stdout
    assert 'id="posterior"' in html and minitree.rcu_regression[:12] in html


@pytest.mark.slow
def test_report_is_written_when_the_build_cannot_run(
    minitree: MiniTree, minitree_copy: Path, data_env: dict[str, str]
) -> None:
    args = ("report", minitree.series_path("reaper-v2"), "--repo", minitree_copy, "--build")
    done = run_patchtool(
        *args, "--configure", "--target-list=alpha-softmmu", "--test", "test-rcu", "-f", "json",
        env={**data_env, "CC": "/nonexistent"},
    )  # fmt: skip
    assert done.code == 3, done.stderr  # the environment, not the series
    stages = {s["name"]: (s["state"], s["detail"]) for s in json.loads(done.stdout)["stages"]}
    assert stages["apply"][0] == "ok"
    for name in ("build", "test"):
        state, detail = stages[name]
        assert state == "not run" and detail.startswith("could not run: configure of ")
        assert "C compiler /nonexistent not found" in detail
    term = run_patchtool(*args, env={**data_env, "CC": "/nonexistent"})
    assert term.code == 3 and "could not run: configure of" in term.stdout


def test_stored_revert_test_reaches_every_format(tmp_path: Path) -> None:
    """The revert test stored by `bisect` is judged from its rows and shown in each format; a
    conflicting file's name (from the repository) is escaped like any other text."""
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.replay import forget_rows, record_range, record_revert, record_row
    from patchtool.bisection.revert import RevertCommit
    from patchtool.bisection.stats import confirmation_plan
    from patchtool.bisection.stored import StoredBisect
    from patchtool.report.context import ReportContext, build_context
    from patchtool.report.render import render
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas = linear_repo(tmp_path / "r", 12)
    repo = GitRepo(tmp_path / "r")
    key = ProbeSpec(test="t").key()
    raw = resolve_source(str(ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox"), load_settings())
    series = build_series(raw)

    def context(found: StoredBisect | None) -> ReportContext:
        return build_context(series, bisect=found, reply_from="Rev <rev@example.org>")

    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, shas[0], shas[12], False)
        for i in range(1, 13):
            for run in range(12):
                record_row(store, key, shas[i], "fail" if i >= 6 and run % 2 else "pass", "search", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.result.culprit == 6 and found.revert is None

        reverted = "ab" * 20  # the reverted commit: on no branch, so it is never rev-parsed
        record_revert(store, key, shas[6], shas[12], RevertCommit(reverted))
        record_row(store, key, reverted, "built", "revert", 5.0)
        plan = confirmation_plan(found.result.p.mean, found.result.q.mean)
        for _ in range(plan.parent_runs - 1):
            record_row(store, key, reverted, "pass", "revert", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.revert is not None and found.revert.status == "not-run"
        record_row(store, key, reverted, "pass", "revert", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.revert is not None
        assert (found.revert.status, found.revert.failures) == ("fixed", 0)
        ctx = context(found)
        what = f"revert test ({shas[12][:12]} with {shas[6][:12]} reverted)"
        line = f"{what}: failed 0/{plan.parent_runs} runs: the revert fixes it"
        for fmt in ("term", "md", "html", "email"):
            assert line in " ".join(render(ctx, fmt).split()), fmt
        assert json.loads(render(ctx, "json"))["bisect"]["revert"] == line

        for _ in range(3):
            record_row(store, key, reverted, "fail", "revert", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.revert is not None and found.revert.status == "still-fails"
        assert "the revert does NOT fix it" in render(context(found), "md")

        record_revert(store, key, shas[6], shas[12], RevertCommit(None, ("a<b>.c", "x\x1b[31m.h")))
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.revert is not None and found.revert.status == "conflicts"
        html = render(context(found), "html")
        assert "a&lt;b&gt;.c" in html and "a<b>.c" not in html
        assert "\x1b" not in render(context(found), "term")
        forget_rows(store, key)  # --fresh forgets the revert test too
        assert store.query("SELECT COUNT(*) FROM bisect_reverts")[0][0] == 0


def test_a_stored_fix_search_reaches_every_format_in_the_fixs_terms(tmp_path: Path) -> None:
    """A fix search (bisect --broken --fixed) is replayed on its own line: the report names the
    fix, not the last broken commit, with its revert test judged as a fix's."""
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.replay import record_range, record_revert, record_row
    from patchtool.bisection.revert import RevertCommit
    from patchtool.report.context import build_context
    from patchtool.report.render import render
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas = linear_repo(tmp_path / "r", 12)
    repo = GitRepo(tmp_path / "r")
    key = ProbeSpec(test="t").key()
    raw = resolve_source(str(ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox"), load_settings())
    series = build_series(raw)
    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, shas[12], shas[2], True, fix=True)  # as searched: fixed end, broken end
        for i in range(2, 13):
            for run in range(12):
                record_row(store, key, shas[i], "fail" if i < 6 and run % 2 else "pass", "search", 0.1)
        reverted = "cd" * 20
        record_revert(store, key, shas[6], shas[12], RevertCommit(reverted))
        for outcome in ("pass", "fail", "pass", "fail"):
            record_row(store, key, reverted, outcome, "revert", 0.1)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.fix and found.revert is not None
        assert found.revert.status == "fails-again"
        ctx = build_context(series, bisect=found, reply_from="Rev <rev@example.org>")
        fix = shas[6][:12]
        said = {
            "term": f"fixed by: {fix}",
            "md": f"Fixed by `{fix}`",
            "html": f"Fixed by <code>{fix}</code>",
            "email": f"t stops failing at {fix}",
        }
        revert = f"revert test ({shas[12][:12]} with {fix} reverted): failed 2/4 runs: without the fix"
        for fmt, words in said.items():
            text = " ".join(render(ctx, fmt).split())
            assert words in text and revert in text, fmt
        view = json.loads(render(ctx, "json"))["bisect"]
        assert view["fix"] is True and view["culprit"] == fix
        assert (view["good"], view["bad"]) == (shas[12][:12], shas[2][:12])
        older, newer = view["range99"]
        assert shas.index(next(s for s in shas if s.startswith(older))) <= 6
        assert shas.index(next(s for s in shas if s.startswith(newer))) >= 6
        assert max(view["commits"], key=lambda c: c["probability"])["sha"] == fix


def _stored_range(tmp_path: Path) -> tuple[list[str], GitRepo, str, Series]:
    """A repository of 9 commits, the key of a bisect of test "t" and the fixture series a report
    of it is about: (shas, repo, key, series). The store is the test's to fill."""
    from patchtool.bisection.probe import ProbeSpec

    shas = linear_repo(tmp_path / "r", 8)
    mbox = str(ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox")
    series = build_series(resolve_source(mbox, load_settings()))
    return shas, GitRepo(tmp_path / "r"), ProbeSpec(test="t").key(), series


def test_a_stored_build_failure_reaches_every_format(tmp_path: Path) -> None:
    """A stored bisect whose probes did not build says why in the report: the newest failure of
    the range, its first error (a compiler's words, escaped like any text) and its log; --fresh
    forgets it."""
    from patchtool.bisection.replay import (
        BuildFailure,
        forget_build_failure,
        forget_rows,
        record_build_failure,
        record_range,
        record_row,
    )
    from patchtool.report.context import build_context
    from patchtool.report.render import render
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas, repo, key, series = _stored_range(tmp_path)
    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, shas[0], shas[8], False)
        for i in (4, 6):
            record_row(store, key, shas[i], "untestable", "search", 3.0)
        record_build_failure(store, key, BuildFailure("f" * 40, "elsewhere", "/x.log"))  # not in range
        record_build_failure(store, key, BuildFailure(shas[4], "a.c:1: error: old", "/l/4.log"))
        record_build_failure(store, key, BuildFailure(shas[6], "a<b>.c:3: error: \x1b[31mred", "/l/6.log"))
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.build_failure is not None
        assert found.build_failure.commit == shas[6]  # the newest of the range's
        ctx = build_context(series, bisect=found, reply_from="Rev <rev@example.org>")
        line = f"{shas[6][:12]} did not build: a<b>.c:3: error:"
        assert json.loads(render(ctx, "json"))["bisect"]["build_failure"].startswith(line)
        term, md = render(ctx, "term"), render(ctx, "md")
        assert line in term and "(log: /l/6.log)" in term and "\x1b" not in term
        assert f"{shas[6][:12]} did not build: a\\<b\\>.c:3" in md and "\x1b" not in md
        html = render(ctx, "html")
        assert "a&lt;b&gt;.c:3" in html and "a<b>.c" not in html and "\x1b" not in html
        forget_build_failure(store, key, shas[6])  # it built when probed again: the older one shows
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.build_failure is not None and found.build_failure.commit == shas[4]
        forget_rows(store, key)
        assert store.query("SELECT COUNT(*) FROM bisect_build_failures")[0][0] == 0


def test_how_the_newest_run_that_did_not_count_ended_reaches_every_format(tmp_path: Path) -> None:
    """A stored bisect whose runs failed another way (--fail-match missed them) says how the newest
    of the range ended: its commit, its verdict and its lines (a test's words, escaped like any
    text); --fresh forgets it."""
    from patchtool.bisection.classify import Verdict
    from patchtool.bisection.replay import forget_rows, record_range, record_row, record_unusable
    from patchtool.report.context import build_context
    from patchtool.report.render import render
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas, repo, key, series = _stored_range(tmp_path)
    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, shas[0], shas[8], False)
        for i in (5, 7):
            record_row(store, key, shas[i], "other-failure", "search", 3.0)
        record_unusable(store, key, (shas[5], Verdict.OTHER, ("older",)))
        lines = ("# Start of <iothread> tests", "\x1b[31mkilled by signal 11 SIGSEGV")
        record_unusable(store, key, (shas[7], Verdict.OTHER, lines))
        record_unusable(store, key, ("e" * 40, Verdict.INCONCLUSIVE, ("elsewhere",)))  # not in range
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.newest_unusable is not None
        assert found.newest_unusable[0] == shas[7]
        ctx = build_context(series, bisect=found, reply_from="Rev <rev@example.org>")
        line = f"the newest run that did not count ({shas[7][:12]}, failed otherwise) ended: # Start of"
        assert json.loads(render(ctx, "json"))["bisect"]["unusable"].startswith(line)
        term, md, html = render(ctx, "term"), render(ctx, "md"), render(ctx, "html")
        assert line in term and "killed by signal 11 SIGSEGV" in term and "\x1b" not in term
        assert "\\<iothread\\>" in md and "\x1b" not in md
        assert "&lt;iothread&gt;" in html and "<iothread>" not in html and "\x1b" not in html
        forget_rows(store, key)
        assert store.query("SELECT COUNT(*) FROM bisect_unusable")[0][0] == 0


def test_the_ways_failed_runs_ended_reach_every_format(tmp_path: Path) -> None:
    """A stored bisect whose failures ended two ways lists them in every format: the runs of each,
    how many were on commits the search holds good, which were counted apart, and the first run's
    words (a test's words, escaped like any text). One way alone is not listed."""
    from patchtool.bisection.classify import Verdict
    from patchtool.bisection.records import RecordAgainst
    from patchtool.bisection.replay import record_range, record_row, record_unusable
    from patchtool.bisection.ways import record_ways
    from patchtool.report.context import build_context
    from patchtool.report.render import render
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store

    shas, repo, key, series = _stored_range(tmp_path)
    with Store(tmp_path / "s.sqlite3") as store:
        record_range(store, key, shas[0], shas[8], False)
        for i, runs in ((2, 20), (4, 40), (5, 40), (8, 20)):
            for run in range(runs):
                record_row(store, key, shas[i], "fail" if i >= 5 and run % 2 else "pass", "search", 0.1)
        record_ways(store, key, shas[5], ((Verdict.FAIL, "killed by signal 11 SIGSEGV"),) * 3)
        found = load_stored_bisect(store, repo, "t")
        assert found is not None and found.result.culprit == 5
        assert [(w.runs, w.on_good_side) for w in found.failed_ways] == [(3, 0)]
        assert build_context(series, bisect=found).bisect.ways == ()  # one way: nothing to choose
        lost = (Verdict.OTHER, "<harness> lost the monitor at step 12")
        record_ways(store, key, shas[2], (lost,))
        record_ways(store, key, shas[8], ((Verdict.OTHER, "<harness> lost the monitor at step 40"),))
        found = load_stored_bisect(store, repo, "t")
        assert found is not None
        ctx = build_context(series, bisect=found, reply_from="Rev <rev@example.org>")
        crashed, apart = "3 runs: killed by signal 11 SIGSEGV", "2 runs, 1 on good commits, counted apart: "
        assert json.loads(render(ctx, "json"))["bisect"]["ways"] == [crashed, apart + lost[1]]
        term, md, html, mail = (render(ctx, form) for form in ("term", "md", "html", "email"))
        assert f"  failed runs ended 2 ways:\n    {crashed}\n    {apart}{lost[1]}\n" in term
        assert f"- {crashed}\n- {apart}\\<harness\\> lost" in md
        assert f"<li>{apart}&lt;harness&gt; lost" in html and "<harness>" not in html
        assert f"Its failed runs ended 2 ways:\n  - {crashed}\n  - {apart}<harness>" in mail
        # and, in the reply too, how the newest run that did not count ended
        assert "The newest run that did not count" not in mail
        record_unusable(store, key, (shas[8], Verdict.OTHER, ("<harness> lost the monitor at step 40",)))
        found = load_stored_bisect(store, repo, "t")
        mail = render(build_context(series, bisect=found, reply_from="Rev <rev@example.org>"), "email")
        said = f"The newest run that did not count ({shas[8][:12]}, failed otherwise) ended:"
        assert said in mail and "<harness> lost the monitor at step 40" in mail
        # a report lists every way, and counts them right (the words stop at five)
        record_ways(store, key, shas[6], tuple((Verdict.FAIL, f"check {name} failed") for name in "abcde"))
        found = load_stored_bisect(store, repo, "t")
        ctx = build_context(series, bisect=found)
        assert len(ctx.bisect.ways) == 7 and not any(" more, " in line for line in ctx.bisect.ways)
        assert "  failed runs ended 7 ways:\n" in render(ctx, "term")
        # a record of `patchtool test` the search's own runs contradicted, set aside: said in each
        doubt = RecordAgainst("bad", (1, 30), (9, 18), 0.00043)
        ctx = build_context(series, bisect=replace(found, records_against=(doubt,)), reply_from="R <r@x.org>")
        said = "the record 1/30 is not what this search saw on bad commits, 9/18 (Fisher p = 0.00043): set"
        assert json.loads(render(ctx, "json"))["bisect"]["set_aside"][0].startswith(said)
        term, md, html, mail = (render(ctx, form) for form in ("term", "md", "html", "email"))
        assert f"\n  {said} aside, the search went on from its own runs\n" in term
        said, rest = "T" + said[1:], " aside, the search went on from its own runs."
        assert f"\n{said}{rest}\n" in md and f'<p class="set-aside">{said}{rest}</p>' in html
        assert " ".join(mail.split()).count(f"{said}{rest}") == 1


def test_an_old_store_range_leaves_out_the_revert_commit(tmp_path: Path) -> None:
    """A store from before ranges were recorded: the range is worked out from the commits run, and
    a revert test's commit (a child of the bad end, on no branch) is not one of them."""
    from patchtool.bisection.probe import ProbeSpec
    from patchtool.bisection.replay import record_row
    from patchtool.report.stages import load_stored_bisect
    from patchtool.store import Store
    from tests.plugins.gitutil import git

    shas = linear_repo(tmp_path / "r", 8)
    child = git(tmp_path / "r", "commit-tree", f"{shas[8]}^{{tree}}", "-p", shas[8], "-m", "revert").strip()
    key = ProbeSpec(test="t").key()
    with Store(tmp_path / "s.sqlite3") as store:
        for i in (0, 3, 5, 8):
            for run in range(12):
                record_row(store, key, shas[i], "fail" if i >= 5 and run % 2 else "pass", "search", 0.1)
        for _ in range(7):
            record_row(store, key, child, "pass", "revert", 0.1)
        found = load_stored_bisect(store, GitRepo(tmp_path / "r"), "t")
    assert found is not None and found.shas == tuple(shas)
