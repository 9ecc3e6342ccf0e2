"""The conversation in the report (cover, messages, notes, replies), `patchtool diff` across revisions,
and the reply e-mail read line by line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from markupsafe import escape

from patchtool.config import load_settings
from patchtool.errors import UsageError
from patchtool.fetch import resolve_source
from patchtool.parse.pairing import patch_id
from patchtool.parse.series import build_series
from patchtool.report.context import build_context
from patchtool.report.conversation import fetch_line, links
from patchtool.report.records import ReportContext
from patchtool.report.render import render
from patchtool.review.revisions import archive_links, compare_revisions
from tests.conftest import ROOT, run_patchtool
from tests.plugins.httpreplay import Replay
from tests.plugins.reportkit import GENERATED, SENDER
from tests.report.test_report import full_context

RING = ROOT / "fixtures" / "mail" / "ring-v1-v2.mbox"


def ring_context(local: bool = False) -> ReportContext:
    raw = resolve_source(str(RING), load_settings())
    return build_context(build_series(raw), raw=raw, reply_from=SENDER, local=local)


def test_diff_matches_patches_and_checks_each_comment() -> None:
    raw = resolve_source(str(RING), load_settings())
    cmp = compare_revisions(build_series(raw), raw, 1, 2)
    pairs = {(p.old.index if p.old else None, p.new.index if p.new else None): p for p in cmp.pairs}
    assert {k: (p.status, p.matched_by) for k, p in pairs.items()} == {
        (1, 1): ("changed", "similarity"),  # retitled and changed
        (2, 2): ("changed", "title"),
        (4, 3): ("unchanged", "patch-id"),  # renumbered, same change
        (3, None): ("dropped", ""),
        (None, 4): ("new", ""),
    }
    assert "+    if (len > RING_SIZE || r->used > RING_SIZE - len) {" in pairs[(1, 1)].interdiff
    verdicts = [(c.old_label, c.reviewer.split()[0], c.addressed) for c in cmp.comments]
    assert verdicts == [("1/4", "Ann", "changed"), ("1/4", "Ann", "unchanged"), ("2/4", "Bo", "unchanged")]
    assert cmp.comments[0].lines[-1] == "+    if (len > RING_SIZE - r->used) {"
    carried = {(t.trailer.value.split()[0], t.old_label, t.new_label, t.carried) for t in cmp.trailers}
    assert carried == {("Bo", "2/4", "2/4", False), ("Cy", "4/4", "3/4", True)}
    assert cmp.changes.startswith("Changes in v2:") and "Supersedes" not in cmp.changes


def test_patch_id_ignores_positions_and_whitespace() -> None:
    a = "diff --git a/x b/x\n@@ -1,2 +1,3 @@\n a\n+b  c\n"
    b = "diff --git a/x b/x\nindex 1..2\n@@ -7,2 +7,3 @@\n a\n+b c\n"
    assert patch_id(a) == patch_id(b) and patch_id(a) != patch_id(a.replace("+b", "+d"))
    assert patch_id(a) != patch_id(a.replace(" a\n", " z\n"))  # git hashes the context lines too


def test_diff_command(tmp_path: Path) -> None:
    result = run_patchtool("diff", RING, "--from", "1", "--to", "2")
    assert result.code == 0, result.stderr
    assert "1/4   -> 1/4   changed" in result.stdout and "3/4   -> -     dropped" in result.stdout
    assert "[2/4] Bo Reviewer <bo@example.net>: lines unchanged" in result.stdout
    assert "Reviewed-by: Bo Reviewer <bo@example.net>: not carried over" in result.stdout
    data = json.loads(run_patchtool("diff", RING, "--json").stdout)
    assert (data["old"], data["new"]) == (1, 2)
    assert [c["addressed"] for c in data["comments"]] == ["changed", "unchanged", "unchanged"]
    same = run_patchtool("diff", RING, "--from", "2", "--to", "2")
    assert same.code == 2 and same.stderr.startswith("error: --from and --to both name v2")
    lone = run_patchtool("diff", ROOT / "fixtures" / "mail" / "reaper-v2.mbox")
    assert lone.code == 2 and "has no older revision" in lone.stderr


def test_report_shows_cover_messages_notes_and_threads() -> None:
    ctx = ring_context()
    assert ctx.cover is not None and ctx.cover.body.startswith("The logger forgets")
    assert "2.39.5" not in ctx.cover.body  # git's signature is not the author's text
    first = ctx.patches[0]
    assert first.message.startswith("Keep the last log lines") and first.notes.startswith("Changes in v2:")
    assert [r.author for r in first.replies] == ["Ann Reviewer <ann@example.com>"]
    assert ctx.since is not None and ctx.since.old == 1
    html = render(ctx, "html")
    for text in (
        "Keep the last log lines",
        "say which lock the caller holds",
        "Since v1",
        "not carried over",
    ):
        assert text in html
    assert "<script>" not in html  # the v1 comment carrying markup is text in the since table
    assert '<pre class="text">The rest looks fine. Nit: the commit message once said\n&lt;script&gt;' in html


def test_reply_thread_keeps_depth_and_folds_long_quotes() -> None:
    raw = resolve_source(str(RING), load_settings())
    series = build_series(raw, revision=1)
    ctx = build_context(series, raw=raw, reply_from=SENDER)
    ann, rae = ctx.patches[0].replies
    assert (ann.depth, rae.depth) == (1, 2) and rae.author.startswith("Rae Dev")
    quotes = [b for b in ann.blocks if b.quoted]
    assert quotes[1].file == "util/ring.c" and not quotes[1].folded
    bo = ctx.patches[1].replies[0]
    long_quote = next(b for b in bo.blocks if b.quoted)
    assert long_quote.folded and len(long_quote.lines) > 8
    assert not any(line.endswith("wrote:") for b in ann.blocks for line in b.lines)
    md = render(ctx, "md")
    assert "quoted lines folded" in md


def test_nothing_local_in_shared_formats() -> None:
    shared = ring_context()
    for fmt in ("html", "md", "json", "email", "term"):
        text = render(shared, fmt)
        assert "fixtures/mail" not in text and str(ROOT) not in text, fmt
    local = ring_context(local=True)
    assert "fixtures/mail/ring-v1-v2.mbox" in render(local, "term")
    for fmt in ("md", "json", "html"):
        assert "fixtures/mail" not in run_patchtool("report", RING, "-f", fmt).stdout, fmt
    assert "fixtures/mail/ring-v1-v2.mbox" in run_patchtool("report", RING, "-f", "md", "--local").stdout
    assert f"file: {RING}" in run_patchtool("report", RING).stdout  # the user's own terminal


def test_verdict_line_names_its_reasons(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = full_context(tmp_path, kvm_repo)
    assert ctx.verdict_line == (
        "FAIL: build failed: accel/kvm/kvm-all.c:52:5: error: 'ret' undeclared; "
        "test func-alpha-replay flaky 4/10; 2 notes"
    )
    assert str(escape("; ".join(ctx.reasons))) in render(ctx, "html")
    assert f"verdict: {ctx.verdict_line}" in render(ctx, "term")


def _lines_fit(body: str) -> list[str]:
    return [line for line in body.splitlines() if len(line) > 76 and not line.startswith(">")]


def test_email_reads_like_a_review(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = full_context(tmp_path, kvm_repo)
    finding = dataclasses.replace(
        ctx.findings[0],
        severity="warning",
        patch="1/1",
        file="system/dirtylimit.c",
        line=27,
        message="the kick runs after the trace point in v1 but before it here; is that intended?",
    )
    ctx = dataclasses.replace(ctx, findings=(finding, *ctx.findings))
    msg = email.message_from_string(render(ctx, "email"), policy=email.policy.default)
    assert not msg.defects and msg["From"] == SENDER
    assert msg["Message-ID"].endswith("@maint.example.com>")
    body = msg.get_content()
    lines = body.splitlines()
    assert _lines_fit(body) == []
    assert lines[0] == "Hi Lin," and "-- " in lines and lines[-1] == "patchtool"
    assert lines.index("-- ") == len(lines) - 2
    quote = lines.index("> +    kvm_dirty_ring_reaper_kick();")
    assert lines[quote - 4].startswith("> @@ ") and lines[quote + 2].startswith("warning: the kick runs")
    assert "FAILED: accel/kvm/kvm-all.c.o" in body and "cc -Iinclude" not in body  # error lines only
    for hint in ("--repo", "--build", "use --", "patchtool report", str(tmp_path), "build.log"):
        assert hint not in body, hint
    for line in lines:  # every line is prose, a quote, an indented excerpt or the signature
        assert line == "" or line[0] != " " or line.startswith(("  ", "    ")), line


def test_email_refuses_without_a_sender(tmp_path: Path, kvm_repo: Path) -> None:
    ctx = dataclasses.replace(full_context(tmp_path, kvm_repo), reply_from="")
    with pytest.raises(UsageError, match="needs a sender"):
        render(ctx, "email")
    env = {"GIT_CONFIG_GLOBAL": str(tmp_path / "none"), "EMAIL": "", "PATCHTOOL_FROM": ""}
    result = run_patchtool("report", RING, "-f", "email", cwd=tmp_path, env=env)
    assert result.code == 2 and "needs a sender" in result.stderr and "Traceback" not in result.stderr
    given = run_patchtool("report", RING, "-f", "email", "--from", SENDER, cwd=tmp_path, env=env)
    assert (
        given.code == 0
        and "Message-ID: <patchtool." in given.stdout
        and "@maint.example.com>" in given.stdout
    )


def _ring_parts() -> tuple[str, str]:
    """The fixture thread split into v1 (with its review) and v2 (with its own)."""
    mails = [m for m in re.split(r"(?m)^(?=From (?:[0-9a-f]{40} |mailer@))", RING.read_text()) if m]
    older = [m for m in mails if re.search(r"(?m)^Message-Id: <(v1-|r[1-4]\.)", m)]
    newer = [m for m in mails if m not in older]
    return "".join(older), "".join(newer)


def test_diff_fetches_the_superseded_revision(tmp_path: Path, replay: Replay) -> None:
    older, newer = _ring_parts()
    lone = tmp_path / "v2.mbox"
    lone.write_text(newer)
    replay.add("lore", "/qemu-devel/v1-0.ring@example.org/t.mbox.gz", body=gzip.compress(older.encode()))
    result = run_patchtool("diff", lone, "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [c["addressed"] for c in data["comments"]] == ["changed", "unchanged", "unchanged"]
    assert any("v1-0.ring@example.org" in r for r in replay.requests_to("lore"))
    replay.routes.clear()  # without the older thread the command says what is missing
    missing = run_patchtool("diff", lone)
    assert missing.code != 0 and "Traceback" not in missing.stderr


def test_fetch_line_from_the_patchew_tag_or_the_base() -> None:
    raw = resolve_source(str(RING), load_settings())
    series = build_series(raw)
    assert fetch_line(series) == (None, "")  # nothing known: no command to offer
    tagged = dataclasses.replace(
        series,
        extras={
            "patchew.repo": "https://github.com/patchew-project/qemu",
            "patchew.tag": "patchew/v2-0.ring@example.org",
            "patchew.base": "1234567890abcdef1234567890abcdef12345678",
        },
    )
    base, line = fetch_line(tagged)
    assert line == "git fetch https://github.com/patchew-project/qemu patchew/v2-0.ring@example.org"
    assert base == "1234567890abcdef1234567890abcdef12345678"
    rev = dataclasses.replace(series.revision, base_commit="abcdef0123456789abcdef0123456789abcdef01")
    based = dataclasses.replace(series, revisions=(series.revisions[0], rev))
    assert fetch_line(based)[1].endswith("qemu.git abcdef0123456789abcdef0123456789abcdef01")
    ctx = build_context(tagged, raw=raw, reply_from=SENDER)
    assert ctx.series.fetch == line and line in render(ctx, "md") and line in render(ctx, "term")
    assert links("a(b)c@x").lore == "https://lore.kernel.org/qemu-devel/a%28b%29c@x/"


def test_older_revision_named_by_an_archive_link() -> None:
    raw = resolve_source(str(RING), load_settings())
    series = build_series(raw)
    cover = series.revision.cover
    assert cover is not None
    body = cover.body + "\nv1: https://lore.kernel.org/qemu-devel/v0-0.older%2Bx@example.org/\n"
    rev = dataclasses.replace(series.revision, cover=dataclasses.replace(cover, body=body))
    assert archive_links(rev) == ("v0-0.older+x@example.org",)
    assert archive_links(series.revision) == ()


@pytest.mark.parametrize("fmt", ["term", "md", "html", "email", "json"])
def test_ring_thread_golden(fmt: str, golden: Callable[[str, str], None]) -> None:
    raw = resolve_source(str(RING), load_settings())
    when = dt.datetime.fromisoformat(GENERATED)
    ctx = build_context(build_series(raw), raw=raw, reply_from=SENDER, generated=when)
    suffix = {"term": "txt", "md": "md", "html": "html", "email": "eml", "json": "json"}[fmt]
    golden(f"report-ring.{suffix}", render(ctx, fmt))


def test_charts_have_axes_and_scales(tmp_path: Path, kvm_repo: Path) -> None:
    html = render(full_context(tmp_path, kvm_repo), "html")
    rates = html[
        html.index('<svg id="test-rates"') : html.index("</svg>", html.index('<svg id="test-rates"'))
    ]
    assert all(f">{p}%</text>" in rates for p in (0, 25, 50, 75, 100)) and "95% interval" in rates
    post = html[html.index('<svg id="posterior"') :]
    post = post[: post.index("</svg>")]
    assert ">0.00</text>" in post and ">0.60</text>" in post and "9 commits from good to bad" in post
