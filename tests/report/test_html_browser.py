"""The HTML report in headless Chromium: it renders with no console errors and mail markup stays text."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_patchtool
from tests.plugins.reportkit import HOSTILE_TITLE, hostile_mbox

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]
_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] (.*)$")


def chromium(page: Path, profile: Path, *extra: str) -> tuple[str, list[str]]:
    """Run headless Chromium on a local page; (stdout, console messages from its log)."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *extra,
        page.as_uri(),
    ]
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    log = done.stderr.decode(errors="replace").splitlines()
    return done.stdout.decode(errors="replace"), [m.group(1) for line in log if (m := _CONSOLE.search(line))]


class _Dom(HTMLParser):
    """Collect the h1 text, script elements and external references of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self._in_h1 = self._in_h1 or tag == "h1"
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("#", "data:")):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_h1 = self._in_h1 and tag != "h1"

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1.append(data)


_ARCHIVES = ("https://lore.kernel.org/qemu-devel/", "https://patchew.org/QEMU/")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _only_archive_links(external: list[str]) -> bool:
    """Links leave the page only for the list archive and patchew; nothing is loaded from anywhere."""
    return all(x.startswith(_ARCHIVES) for x in external)


class _Text(HTMLParser):
    """The text of a dumped DOM, element by element (a <script> in mail must arrive as text)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_conversation_and_since_sections_render_in_chromium(tmp_path: Path) -> None:
    # A thread with a cover, notes, replies (one carrying a <script>) and two revisions.
    mbox = Path(__file__).resolve().parents[2] / "fixtures" / "mail" / "ring-v1-v2.mbox"
    page = tmp_path / "ring.html"
    result = run_patchtool("report", mbox, "--format", "html", "-o", page)
    assert result.code == 0, result.stderr
    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == [], console
    parsed, text = _Dom(), _Text()
    parsed.feed(dom)
    text.feed(dom)
    assert parsed.scripts == 0 and parsed.external and _only_archive_links(parsed.external)
    assert any('<script>alert("ring")</script>' in t for t in text.text)  # shown as text, not run
    for marker in ('id="cover"', 'id="since-patches"', 'id="since-comments"', 'class="thread"', "message"):
        assert marker in dom
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report-conversation.png"
    _, console = chromium(page, tmp_path / "profile2", "--window-size=1200,2600", f"--screenshot={shot}")
    assert console == [] and shot.stat().st_size > 10_000


def test_console_errors_are_detected(tmp_path: Path) -> None:
    # The check below must be able to fail: a page with a script error shows up in the log.
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("marker-1"); nosuchfunction();</script></body></html>')
    _, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert any("marker-1" in c for c in console) and any("nosuchfunction" in c for c in console)


def test_html_report_renders_cleanly_in_chromium(tmp_path: Path) -> None:
    mbox = hostile_mbox(tmp_path / "hostile.mbox")
    page = tmp_path / "report.html"
    result = run_patchtool("report", mbox, "--format", "html", "-o", page)
    assert result.code == 0, result.stderr
    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == [], console
    parsed = _Dom()
    parsed.feed(dom)
    assert "".join(parsed.h1).strip() == HOSTILE_TITLE  # the <script> of the subject is text
    assert parsed.scripts == 0 and _only_archive_links(parsed.external)
    shot = tmp_path / "report.png"
    _, console = chromium(page, tmp_path / "profile2", "--window-size=1200,1600", f"--screenshot={shot}")
    assert console == []
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_full_report_with_charts_renders_cleanly(tmp_path: Path) -> None:
    # The golden page of the full report: apply, build log, test-rate bars and the posterior chart.
    page = tmp_path / "full.html"
    page.write_text((Path(__file__).parents[1] / "golden" / "report-full.html").read_text(encoding="utf-8"))
    shot = tmp_path / "full.png"
    dom, console = chromium(page, tmp_path / "profile", "--dump-dom")
    assert console == [], console
    assert dom.count("<rect") > 10 and 'id="posterior"' in dom and 'id="test-rates"' in dom
    _, console = chromium(page, tmp_path / "profile2", "--window-size=1200,2400", f"--screenshot={shot}")
    assert console == [] and shot.stat().st_size > 10_000
