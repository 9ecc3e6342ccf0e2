"""The report in five formats: golden files on the fixture series, escaping, the reply e-mail, JSON schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool import proc
from patchtool.apply.engine import ApplyResult, PatchApplyOutcome
from patchtool.bisection.core import Evidence, replay
from patchtool.bisection.revert import RevertOutcome
from patchtool.bisection.stats import Estimate
from patchtool.build.meson import BuildResult, Diagnostic
from patchtool.config import load_settings
from patchtool.fetch import resolve_source
from patchtool.models import Finding
from patchtool.parse.series import build_series
from patchtool.report.context import build_context
from patchtool.report.records import FORMATS, ReportContext
from patchtool.report.render import render
from patchtool.report.stages import BisectInput, bisect_view, log_excerpt
from patchtool.review.checks import CheckResult, run_checks
from patchtool.testrun import results as testresults
from patchtool.testrun.results import RunRecord, summarize
from patchtool.vcs.repo import GitRepo
from tests.plugins.reportkit import (
    FIXTURE_MBOX,
    GENERATED,
    HOSTILE_TITLE,
    MAINTAINERS,
    ROOT,
    SENDER,
    fixture_context,
    hostile_mbox,
    make_kvm_repo,
)
from tests.plugins.schemacheck import report_schema, validate

SUFFIX = {"term": "txt", "md": "md", "html": "html", "email": "eml", "json": "json"}
BUILD_LOG = """[1/3] Compiling C object util/rcu.c.o
[2/3] Compiling C object accel/kvm/kvm-all.c.o
FAILED: accel/kvm/kvm-all.c.o
cc -Iinclude -c ../accel/kvm/kvm-all.c
../accel/kvm/kvm-all.c:52:5: error: 'ret' undeclared (first use in this function)
   52 |     ret = kvm_dirty_ring_reaper_init(s);
      |     ^~~
ninja: build stopped: subcommand failed.
"""


OBSERVATIONS = [(0, False)] * 6 + [(8, True), (8, False), (8, True)] + [(4, False)] * 3 + [(6, True)] * 2
SHAS = tuple(f"{i:x}" * 40 for i in range(9))
SUBJECTS = tuple(f"commit {i} <subject & more>" for i in range(9))


@dataclasses.dataclass(frozen=True)
class StoredResult:
    """A bisect result as the bisect stage reports it, frozen here so the golden files do not
    follow every change of the bisect model's priors (test_bisect_view_from_the_core uses the model)."""

    culprit: int | None
    probability: float
    range90: tuple[int, int]
    range99: tuple[int, int]
    runs: int
    builds: int
    evidence: tuple[Evidence, ...]
    p: Estimate
    q: Estimate


def fixed_bisect() -> BisectInput:
    evidence = (
        Evidence(0, 0, 6),
        Evidence(4, 0, 3),
        Evidence(6, 2, 2),
        Evidence(7, 0, 0, True),
        Evidence(8, 2, 3),
    )
    posterior = (0.0, 0.02, 0.02, 0.02, 0.02, 0.3, 0.6, 0.01, 0.01)
    result = StoredResult(
        6, 0.6, (5, 6), (1, 6), 14, 4, evidence, Estimate(0.7, 0.38, 0.93), Estimate(0.01, 0.0, 0.03)
    )
    revert = RevertOutcome("still-fails", SHAS[8], "ab" * 20, 3, 5, 0)  # the tip fails otherwise too
    return BisectInput("func-alpha-replay", SHAS, SUBJECTS, posterior, result, revert)


def test_bisect_view_from_the_core() -> None:
    state = replay(8, OBSERVATIONS)
    view = bisect_view(BisectInput("t", SHAS, SUBJECTS, tuple(state.posterior()), state.result()))
    assert len(view.commits) == 9 and view.commits[0].probability == 0.0
    assert abs(sum(c.probability for c in view.commits) - 1.0) < 1e-6
    assert view.runs == 14 and view.builds == state.result().builds
    assert view.good == "0" * 12 and view.bad == "8" * 12
    assert {c.index: (c.failures, c.runs) for c in view.commits if c.runs} == {
        0: (0, 6),
        4: (0, 3),
        6: (2, 2),
        8: (2, 3),
    }


def full_context(tmp_path: Path, kvm_repo: Path) -> ReportContext:
    """A series whose subject carries markup, checked against a real tree, with every stage's result."""
    mbox = hostile_mbox(tmp_path / "hostile.mbox")
    raw = resolve_source(str(mbox), load_settings())
    series = build_series(raw)
    series = dataclasses.replace(series, provenance=())
    repo = GitRepo(kvm_repo)
    checks = run_checks(series, repo=repo, base=repo.rev_parse("HEAD"))
    base = "1" * 40
    outcome = PatchApplyOutcome(index=1, total=1, title=HOSTILE_TITLE, status="clean", commit="2" * 40)
    applied = ApplyResult(
        base=base,
        base_label="v10.1.0",
        base_reason="--base",
        patches=(outcome,),
        head="2" * 40,
        status="applied",
    )
    log = tmp_path / "build.log"
    log.write_text(BUILD_LOG)
    diag = Diagnostic(
        file="accel/kvm/kvm-all.c",
        line=52,
        column=5,
        severity="error",
        message="'ret' undeclared (first use in this function)",
    )
    build = BuildResult(
        ok=False,
        build_dir=tmp_path,
        log_path=log,
        diagnostics=(diag,),
        first_error="accel/kvm/kvm-all.c:52:5: error: 'ret' undeclared",
        steps_run=2,
        duration=3.25,
        configured=True,
    )
    # failed two ways: three replays diverged (at other counts), one run crashed
    diverged = "replay diverged at icount {} (<expected> {})\n"
    outputs = {1: diverged.format(4123, 4000), 3: diverged.format(977, 950), 4: proc.with_signal("", -11)}
    outputs[7] = diverged.format(50, 41)
    records = [
        RunRecord("func-alpha-replay", r, 0.5, outputs.get(i, ""))
        for i, r in enumerate(("OK", "FAIL", "OK", "FAIL", "FAIL", "OK", "OK", "FAIL", "OK", "OK"))
    ]
    records += [RunRecord("unit-rcu", "OK", 0.1, "") for _ in range(10)]
    tests = testresults.TestOutcome(build_dir=tmp_path, tests=summarize(records), setup="thorough", repeat=10)
    bisect = fixed_bisect()
    ctx = build_context(
        series,
        checks,
        raw=raw,
        apply=applied,
        build=build,
        tests=tests,
        bisect=bisect,
        generated=dt.datetime.fromisoformat(GENERATED),
        reply_from=SENDER,
    )
    return ctx


@pytest.mark.parametrize("fmt", FORMATS)
def test_fixture_series_golden(
    fmt: str, monkeypatch: pytest.MonkeyPatch, golden: Callable[[str, str], None]
) -> None:
    ctx = fixture_context(monkeypatch)
    golden(f"report-fixture.{SUFFIX[fmt]}", render(ctx, fmt))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_report_golden(
    fmt: str, tmp_path: Path, kvm_repo: Path, golden: Callable[[str, str], None]
) -> None:
    golden(f"report-full.{SUFFIX[fmt]}", render(full_context(tmp_path, kvm_repo), fmt))


def test_fixture_report_has_no_stage_results(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = fixture_context(monkeypatch)
    assert isinstance(ctx, ReportContext)
    states = {s.name: s.state for s in ctx.stages}
    assert states == {
        "fetch": "ok",
        "parse": "ok",
        "checks": "ok",
        "apply": "not run",
        "build": "not run",
        "test": "not run",
        "bisect": "not run",
    }
    assert ctx.apply is None and ctx.build is None and ctx.tests is None and ctx.bisect is None
    text = render(ctx, "term")
    assert "Reviewed-by: Wei Zhang" in text and "signature-changed: kvm_dirty_ring_reaper_init" in text


def test_findings_follow_the_patches_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # a 14-patch series listed [10/14] before [2/14]: the labels were sorted as text
    monkeypatch.chdir(ROOT)
    series = build_series(resolve_source(FIXTURE_MBOX, load_settings()))
    labels = ["10/14", "2/14", None, "1/14", "9/14", "14/14"]
    found = tuple(Finding("info", "x", f"on {label}", label) for label in labels)
    found += (Finding("error", "x", "an error on 12/14", "12/14"),)
    ctx = build_context(series, CheckResult(findings=found), generated=dt.datetime.fromisoformat(GENERATED))
    assert [f.patch for f in ctx.findings] == ["12/14", None, "1/14", "2/14", "9/14", "10/14", "14/14"]


def test_full_report_facts(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = full_context(tmp_path, kvm_repo)
    assert ctx.failed  # the build failed
    flaky = ctx.tests.tests[0] if ctx.tests else None
    assert flaky is not None and (flaky.verdict, flaky.failures, flaky.runs) == ("flaky", 4, 10)
    assert flaky.low < 0.4 < flaky.high
    assert [(w.ending, w.runs) for w in flaky.ways] == [
        ("replay diverged at icount 4123 (<expected> 4000)", 3),
        ("killed by signal 11 SIGSEGV", 1),
    ]
    ways = "    failed 2 ways:\n      3 runs: replay diverged at icount 4123 (<expected> 4000)\n"
    assert ways in render(ctx, "term")
    assert ways + "      1 run: killed by signal 11 SIGSEGV\n" in render(ctx, "email")
    assert "- 1 run: killed by signal 11 SIGSEGV\n" in render(ctx, "md")
    item = "<li>3 runs: <code>replay diverged at icount 4123 (&lt;expected&gt; 4000)</code></li>"
    assert item in render(ctx, "html")
    assert ctx.bisect is not None and len(ctx.bisect.commits) == 9
    assert [s.name for s in ctx.subsystems] == ["Overall KVM CPUs", "Dirty limit"]
    md = render(ctx, "md")
    assert "<script>" not in md and "\\<script\\>" in md


def test_a_passed_build_line_stands_apart_from_the_tests_heading(tmp_path: Path, kvm_repo: Path) -> None:
    # a real report (a 14-patch chardev series, QEMU's test-char): "Passed in 313.9 s." ran into
    # "### Tests" on the next line, with no blank line between; a first error into its line too
    ctx = full_context(tmp_path, kvm_repo)
    assert ctx.build is not None
    passed = dataclasses.replace(
        ctx, build=dataclasses.replace(ctx.build, ok=True, first_error=None, log_excerpt=())
    )
    assert "\nPassed in 3.2 s.\n\n### Tests" in render(passed, "md")
    assert "\n**Failed** in 3.2 s.\n\nFirst error: `" in render(ctx, "md")


def test_a_section_that_only_names_a_list_shows_the_list(tmp_path: Path) -> None:
    # QEMU's "All patches CC here" (L: qemu-devel, F: *) matches every file: it read
    # "maintainers: none", like an orphaned subsystem
    catch_all = "All patches CC here\nL: devel@example.org\nF: *\nF: */\n\nKVM\n---\n"
    repo = make_kvm_repo(tmp_path / "kvm", maintainers=MAINTAINERS.replace("KVM\n---\n", catch_all, 1))
    ctx = full_context(tmp_path, repo)
    assert [s.name for s in ctx.subsystems] == ["All patches CC here", "Overall KVM CPUs", "Dirty limit"]
    md, term, html = (render(ctx, f) for f in ("md", "term", "html"))  # type: ignore[arg-type]
    section = md.split("**All patches CC here**", 1)[1].split("\n- **", 1)[0]
    assert "list: devel@example.org" in section and "maintainers" not in section
    assert "list: devel@example.org" in term.split("All patches CC here", 1)[1].split("Overall KVM", 1)[0]
    assert '<span class="muted">list: devel@example.org</span>' in html


def test_html_escapes_mail_text(tmp_path: Path, kvm_repo: Path) -> None:
    html = render(full_context(tmp_path, kvm_repo), "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    archives = re.sub(r'href="https://(lore\.kernel\.org/qemu-devel|patchew\.org/QEMU)/[^"]*"', "", html)
    assert "https://" not in archives and "<link" not in html
    assert (
        html.count('<details class="patch"') == 1 and 'id="posterior"' in html and 'id="test-rates"' in html
    )


def test_html_puts_findings_beside_their_line(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = full_context(tmp_path, kvm_repo)
    finding = dataclasses.replace(
        ctx.findings[0], patch="1/1", file="system/dirtylimit.c", line=27, message="a finding on a line"
    )
    html = render(dataclasses.replace(ctx, findings=(finding,)), "html")
    row = html.rindex("a finding on a line")
    before = html[:row]
    line_row = before.rfind('<td class="no">27</td>')
    assert before.rfind('<tr class="finding">') > line_row > before.rfind("dirtylimit.c") > 0


def test_email_is_a_reply_with_threading_headers(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = full_context(tmp_path, kvm_repo)
    msg = email.message_from_string(render(ctx, "email"), policy=email.policy.default)
    assert msg["Subject"] == f"Re: [PATCH v2] {HOSTILE_TITLE}"
    assert msg["In-Reply-To"] == f"<{ctx.series.msgid}>"
    assert f"<{ctx.series.msgid}>" in msg["References"]
    assert msg["To"].addresses[0].addr_spec == "lqiao@example-cloud.com"
    cc = {a.addr_spec for a in msg["Cc"].addresses}
    assert {"qemu-devel@nongnu.org", "pbonzini@redhat.com"} <= cc
    assert msg["Message-ID"] and msg["Date"] and msg.get_content_type() == "text/plain"
    body = msg.get_content()
    assert "FAILED: accel/kvm/kvm-all.c.o" in body and "error: 'ret' undeclared" in body
    assert "func-alpha-replay" in body and "flaky" in body
    assert not msg.defects


def test_json_is_the_whole_result(tmp_path: Path, kvm_repo: Path) -> None:
    data = json.loads(render(full_context(tmp_path, kvm_repo), "json"))
    assert data["schema_version"] == 1 and data["verdict"] == "fail"
    assert data["tests"]["tests"][0]["name"] == "func-alpha-replay"
    assert set(data) >= {
        "series",
        "patches",
        "findings",
        "subsystems",
        "stages",
        "apply",
        "build",
        "tests",
        "bisect",
    }


def test_log_excerpt_keeps_context_and_separates_groups() -> None:
    lines = [f"line {i}" for i in range(20)]
    lines[3] = "error: one"
    lines[15] = "WARNING: two"
    out = log_excerpt(lines)
    assert out == (
        *[f"line {i}" for i in range(0, 3)],
        "error: one",
        "line 4",
        "line 5",
        "line 6",
        "---",
        "line 12",
        "line 13",
        "line 14",
        "WARNING: two",
        "line 16",
        "line 17",
        "line 18",
    )


def test_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError):
        render(fixture_context(monkeypatch), "pdf")  # type: ignore[arg-type]


def test_json_matches_its_schema(tmp_path: Path, kvm_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = report_schema()
    for ctx in (full_context(tmp_path, kvm_repo), fixture_context(monkeypatch)):
        data = json.loads(render(ctx, "json"))  # type: ignore[arg-type]
        assert validate(data, schema, schema) == []


def test_schema_check_can_fail(tmp_path: Path, kvm_repo: Path) -> None:
    schema = report_schema()
    data = json.loads(render(full_context(tmp_path, kvm_repo), "json"))
    data["tests"]["tests"][0]["runs"] = "ten"
    data["series"]["extra"] = 1
    del data["stages"]
    errors = validate(data, schema, schema)
    assert len(errors) == 3, errors
