"""What the HTML page needs beyond the context: highlighted diff rows with findings, and chart geometry.

Pygments output and numbers are computed here so the template only loops; everything that came
from mail reaches the page either through pygments (which escapes) or through jinja's autoescape.
"""

from __future__ import annotations

import re

from markupsafe import Markup
from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import DiffLexer  # type: ignore[import-untyped]

from patchtool.jsonable import record
from patchtool.report.records import FindingView, PatchView, ReportContext

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_FILE = re.compile(r"^diff --git a/.+? b/(.+)$")
BAR_W, BAR_H, LABEL_W = 360, 22, 220
CHART_W, CHART_H = 640, 160
MAX_BARS = 400  # a posterior over more commits is drawn in buckets
AXIS_W = 48  # room left of the posterior chart for its probability scale


@record
class DiffRow:
    kind: str  # file | hunk | add | del | ctx | meta
    old_no: int | None
    new_no: int | None
    html: Markup
    findings: tuple[FindingView, ...] = ()


@record
class HtmlPatch:
    patch: PatchView
    rows: tuple[DiffRow, ...]
    findings: tuple[FindingView, ...]  # those not tied to a diff line
    open: bool  # expanded when it has errors or is the only patch


@record
class RateBar:
    name: str
    y: int
    rate_w: float
    low_x: float
    high_x: float
    label: str
    verdict: str


@record
class PosteriorBar:
    x: float
    w: float
    h: float
    y: float
    title: str
    culprit: bool
    untestable: bool


@record
class Tick:
    """A scale mark on a chart axis: its position in pixels and its label."""

    at: float
    label: str


@record
class HtmlView:
    css: Markup
    patches: tuple[HtmlPatch, ...]
    series_findings: tuple[FindingView, ...]
    bars: tuple[RateBar, ...]
    bars_height: int
    posterior: tuple[PosteriorBar, ...]
    bar_w: int = BAR_W
    label_w: int = LABEL_W
    chart_w: int = CHART_W
    chart_h: int = CHART_H
    rate_ticks: tuple[Tick, ...] = ()
    posterior_ticks: tuple[Tick, ...] = ()  # y positions of probability marks
    posterior_caption: str = ""
    axis_w: int = AXIS_W


def _kind(line: str) -> str:
    if line.startswith("diff --git"):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith(
        ("+++", "---", "index ", "new file", "deleted file", "similarity", "rename ", "old mode", "new mode")
    ):
        return "meta"
    return {"+": "add", "-": "del"}.get(line[:1], "ctx")


def diff_rows(
    patch: PatchView, findings: tuple[FindingView, ...]
) -> tuple[tuple[DiffRow, ...], tuple[FindingView, ...]]:
    """Each diff line highlighted, with the findings about that file and line attached after it."""
    mine = [f for f in findings if f.patch == patch.label]
    placed: set[int] = set()
    text = patch.diff.rstrip("\n")
    highlighted = (
        highlight(text, DiffLexer(stripnl=False), HtmlFormatter(nowrap=True)).rstrip("\n").split("\n")
    )
    source = text.split("\n")
    rows: list[DiffRow] = []
    path, old_no, new_no = "", 0, 0
    for raw, html in zip(source, highlighted + [""] * (len(source) - len(highlighted)), strict=True):
        kind = _kind(raw)
        o = n = None
        if kind == "file":
            path = (m.group(1) if (m := _FILE.match(raw)) else "").strip()
        elif kind == "hunk" and (h := _HUNK.match(raw)):
            old_no, new_no = int(h.group(1)), int(h.group(2))
        elif kind in ("add", "ctx"):
            o, n = (old_no if kind == "ctx" else None), new_no
            new_no += 1
            old_no += kind == "ctx"
        elif kind == "del":
            o, old_no = old_no, old_no + 1
        attach = tuple(
            f
            for i, f in enumerate(mine)
            if i not in placed
            and f.file == path
            and ((f.line is not None and n == f.line) or (f.line is None and kind == "file"))
        )
        placed.update(i for i, f in enumerate(mine) if f in attach)
        rows.append(DiffRow(kind, o, n, Markup(html), attach))
    rest = tuple(f for i, f in enumerate(mine) if i not in placed)
    return tuple(rows), rest


def rate_bars(ctx: ReportContext) -> tuple[RateBar, ...]:
    if ctx.tests is None:
        return ()
    bars = []
    for i, t in enumerate(ctx.tests.tests):
        failed = t.failures + t.timeouts
        label = f"{failed}/{t.runs} failed ({t.rate:.0%}, 95% CI {t.low:.0%}-{t.high:.0%})"
        bars.append(
            RateBar(
                t.name,
                8 + i * (BAR_H + 8),
                round(t.rate * BAR_W, 1),
                round(t.low * BAR_W, 1),
                round(t.high * BAR_W, 1),
                label,
                t.verdict,
            )
        )
    return tuple(bars)


def posterior_bars(ctx: ReportContext) -> tuple[PosteriorBar, ...]:
    if ctx.bisect is None or not ctx.bisect.commits:
        return ()
    commits = ctx.bisect.commits
    per = max(1, -(-len(commits) // MAX_BARS))  # commits per bar, rounded up
    groups = [commits[i : i + per] for i in range(0, len(commits), per)]
    top = max(sum(c.probability for c in g) for g in groups) or 1.0
    width = CHART_W / len(groups)
    bars = []
    for i, g in enumerate(groups):
        mass = sum(c.probability for c in g)
        h = round((CHART_H - 20) * mass / top, 2)
        first, last = g[0], g[-1]
        name = first.sha if len(g) == 1 else f"{first.sha}..{last.sha}"
        subject = f" {first.subject}" if len(g) == 1 else ""
        failed, runs = sum(c.failures for c in g), sum(c.runs for c in g)
        title = f"{name}{subject}: P={mass:.3f}, {failed}/{runs} runs failed"
        bars.append(
            PosteriorBar(
                round(i * width, 2),
                round(max(width - 1, 0.5), 2),
                h,
                round(CHART_H - 20 - h, 2),
                title,
                any(c.sha == ctx.bisect.culprit for c in g),
                all(c.untestable for c in g),
            )
        )
    return tuple(bars)


def rate_ticks() -> tuple[Tick, ...]:
    """The failure-rate scale under the bars: 0% to 100% in quarters."""
    return tuple(Tick(round(BAR_W * q / 4, 1), f"{25 * q}%") for q in range(5))


def posterior_ticks(ctx: ReportContext) -> tuple[Tick, ...]:
    """Probability marks for the posterior chart's y axis: 0, half and the tallest bar's mass."""
    if ctx.bisect is None or not ctx.bisect.commits:
        return ()
    commits = ctx.bisect.commits
    per = max(1, -(-len(commits) // MAX_BARS))
    top = max(sum(c.probability for c in commits[i : i + per]) for i in range(0, len(commits), per)) or 1.0
    plot = CHART_H - 20
    return tuple(Tick(round(plot - plot * f, 2), f"{top * f:.2f}") for f in (0.0, 0.5, 1.0))


def posterior_caption(ctx: ReportContext) -> str:
    if ctx.bisect is None or not ctx.bisect.commits:
        return ""
    n = len(ctx.bisect.commits)
    per = max(1, -(-n // MAX_BARS))
    bucket = f", {per} commits per bar" if per > 1 else ""
    if ctx.bisect.fix:
        return f"P(the fix), {n} commits from fixed to broken{bucket}"
    return f"P(first bad commit), {n} commits from good to bad{bucket}"


def html_view(ctx: ReportContext) -> HtmlView:
    patches = []
    for p in ctx.patches:
        rows, rest = diff_rows(p, ctx.findings)
        has_error = any(f.severity == "error" for f in ctx.findings if f.patch == p.label)
        patches.append(HtmlPatch(p, rows, rest, has_error or len(ctx.patches) == 1))
    bars = rate_bars(ctx)
    return HtmlView(
        css=Markup(HtmlFormatter().get_style_defs(".diff")),
        patches=tuple(patches),
        series_findings=tuple(f for f in ctx.findings if f.patch is None),
        bars=bars,
        bars_height=16 + len(bars) * (BAR_H + 8),
        posterior=posterior_bars(ctx),
        rate_ticks=rate_ticks(),
        posterior_ticks=posterior_ticks(ctx),
        posterior_caption=posterior_caption(ctx),
    )
