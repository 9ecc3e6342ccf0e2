"""Hostile input, end to end: every protection of issue 11, and the cases that already held.

Every mail, server answer and repository here is written by the test. Each case says which
protection it guards; removing that protection makes the case fail (see the integrity notes).
"""

from __future__ import annotations

import email
import email.policy
import gzip
import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from patchtool.errors import FetchError
from patchtool.fetch.http import Http
from patchtool.fetch.local import read_local
from patchtool.parse.series import build_series
from tests.conftest import ROOT, run_patchtool
from tests.plugins.gitutil import git, make_repo, snapshot_repo
from tests.plugins.httpreplay import Replay

ESC = "\x1b"
# a closed loopback port for every service: nothing in a subprocess may reach the internet
OFFLINE_URLS = {f"PATCHTOOL_{s}_URL": "http://127.0.0.1:9" for s in ("PATCHEW", "PATCHWORK", "LORE")}
README_DIFF = "diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hello\n+hello world\n"


def new_file_diff(path: str, text: str = "x\n", mode: str = "100644") -> str:
    body = "".join(f"+{line}\n" for line in text.splitlines())
    return (
        f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(text.splitlines())} @@\n{body}"
    )


def mail(
    msgid: str,
    subject: str,
    *,
    body: str = "Change it.\n\nSigned-off-by: Ann Author <ann@example.org>\n",
    diff: str | None = README_DIFF,
    sender: str = "Ann Author <ann@example.org>",
    reply_to: str | None = None,
) -> bytes:
    """One message as `git format-patch` would write it (UTF-8 declared), with our own text."""
    lines = [
        "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
        f"From: {sender}",
        "Date: Thu, 1 Jan 2026 00:00:00 +0000",
        f"Subject: {subject}",
        f"Message-Id: <{msgid}>",
        *([f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"] if reply_to else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        body.rstrip("\n"),
    ]
    text = "\n".join(lines) + "\n"
    if diff is not None:
        text += "---\n" + diff + "-- \n2.43.0\n"
    return text.encode("utf-8") + b"\n"


def write(path: Path, *mails: bytes) -> Path:
    path.write_bytes(b"".join(mails))
    return path


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI runs in subprocesses, out of the no-internet guard's reach: point it at loopback."""
    for key, value in OFFLINE_URLS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def user_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, sub in (("PATCHTOOL_DATA_DIR", "data"), ("PATCHTOOL_CACHE_DIR", "cache")):
        monkeypatch.setenv(key, str(tmp_path / sub))
    return make_repo(tmp_path / "user", {"README": "hello\n"})


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) in (1, 2) and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


# ---- terminal, Markdown, HTML and e-mail output (report/escape.py) ------------------------------

# retitle the terminal, clear it, reorder the line (bidi override), and some HTML
HOSTILE_SUBJECT = "=?utf-8?q?=5BPATCH=5D_retitle_=1B=5D0=3Bpwned=07_clear_=1B=5B2J_=E2=80=AEtxt?= <b>bold</b>"
HOSTILE_SENDER = "=?utf-8?q?Zo=C3=AB_=C5=9Amig=C5=82y_=E2=9C=93?= <zoe@example.org>"
HOSTILE_BODY = f"Carriage\rreturn.\n\nSigned-off-by: Zoë Śmigły ✓ {ESC}[31m <zoe@example.org>\n"


def test_fetch_shows_escape_sequences_instead_of_obeying_them(tmp_path: Path) -> None:
    mbox = write(
        tmp_path / "s.mbox",
        mail("esc-1@example.org", HOSTILE_SUBJECT, body=HOSTILE_BODY, sender=HOSTILE_SENDER),
    )
    done = run_patchtool("fetch", mbox, env=OFFLINE_URLS)
    assert done.code == 0, done.stderr
    assert ESC not in done.stdout + done.stderr and "\x07" not in done.stdout and "\r" not in done.stdout
    assert "\\x1b]0;pwned\\x07" in done.stdout and "\\x1b[2J" in done.stdout and "\\u202e" in done.stdout
    assert "Zoë Śmigły ✓" in done.stdout  # letters of any script stay as they are


def test_report_formats_escape_what_came_from_mail(tmp_path: Path, user_repo: Path) -> None:
    name = "=?utf-8?q?Eve=0ABcc=3A_victim=40example=2Eorg?= <eve@example.org>"
    mbox = write(
        tmp_path / "s.mbox", mail("esc-2@example.org", HOSTILE_SUBJECT, body=HOSTILE_BODY, sender=name)
    )
    outputs = {}
    outputs["with-sender"] = run_patchtool(
        "report",
        write(tmp_path / "z.mbox", mail("esc-3@example.org", HOSTILE_SUBJECT, sender=HOSTILE_SENDER)),
        "--repo",
        user_repo,
        "--no-checkpatch",
    ).stdout
    for fmt in ("term", "md", "html", "email"):
        done = run_patchtool("report", mbox, "--repo", user_repo, "--no-checkpatch", "-f", fmt)
        assert done.code in (0, 1), done.stderr
        assert ESC not in done.stdout and "\x07" not in done.stdout and "\u202e" not in done.stdout, fmt
        outputs[fmt] = done.stdout
    assert "\\x1b]0;pwned\\x07" in outputs["term"] and "Zoë Śmigły ✓" in outputs["with-sender"]
    assert "<b>bold</b>" not in outputs["html"] and "&lt;b&gt;bold&lt;/b&gt;" in outputs["html"]
    reply = email.message_from_string(outputs["email"], policy=email.policy.default)
    assert reply["Bcc"] is None and "\n" not in str(reply["To"]) and "eve@example.org" in str(reply["To"])
    assert "victim" in str(reply["To"])  # the name is kept, on one line, inside the To: value
    assert reply["Subject"].startswith("Re: [PATCH] retitle")


def test_error_lines_show_control_characters(tmp_path: Path) -> None:
    done = run_patchtool("fetch", f"{ESC}]0;pwned\x07\nsecond line", env=OFFLINE_URLS)
    assert done.code == 2 and ESC not in done.stderr
    assert "\\x1b]0;pwned\\x07\\x0asecond line" in one_line_error(done.stderr)


# ---- credentials, redirects and the overall deadline (fetch/http.py, fetch/remote.py) -----------


def test_a_token_in_a_typed_source_is_never_shown(tmp_path: Path) -> None:
    forms = [
        "http://alice:s3cr3t-token@127.0.0.1:9/qemu-devel/x@y/",  # cannot connect
        "https://alice:s3cr3t-token@lore.kernel.org/qemu-devel/%00x@y/",  # not a message-id
        "http://alice:s3cr3t-token@[::1/x",  # not a URL at all
    ]
    for source in forms:
        done = run_patchtool(
            "fetch", source, env={"PATCHTOOL_CACHE_DIR": str(tmp_path / "c"), **OFFLINE_URLS}
        )
        assert done.code in (2, 3)
        assert "s3cr3t" not in done.stdout + done.stderr, done.stderr
        one_line_error(done.stderr)


def test_redirect_to_another_host_drops_authorization_and_stores_no_secret(
    replay: Replay, tmp_path: Path
) -> None:
    port = replay.server.port
    replay.add("lore", "/a", status=302, headers={"Location": f"http://localhost:{port}/lore/b"})
    replay.add(
        "lore", "/b", status=302, headers={"Location": f"http://bob:l0cation-token@localhost:{port}/lore/c"}
    )
    replay.add("lore", "/c", body="the answer")
    from patchtool.fetch.cache import Cache

    with Cache(tmp_path / "store.sqlite3") as cache:
        client = Http(5, cache=cache)
        answer = client.get(f"http://alice:typed-token@127.0.0.1:{port}/lore/a", source="lore")
        client.close()
    assert answer.body == b"the answer" and "token" not in answer.url
    sent = {raw: headers for _, raw, headers in replay.log}
    assert "Authorization" in sent["/lore/a"]  # the typed credentials reached the host they name...
    assert "Authorization" not in sent["/lore/b"]  # ...and not the one it redirected to
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"typed-token" not in stored and b"l0cation-token" not in stored


@pytest.fixture
def trickle_server() -> Iterator[str]:
    """A loopback server that sends one byte of its body every 2 seconds, for a minute."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    def drip() -> Iterator[bytes]:
        for _ in range(30):
            yield b"x"
            time.sleep(2)

    def handle(request: Request) -> Response:
        return Response(drip(), headers={"Content-Type": "text/plain"}, direct_passthrough=True)

    server.expect_request("/drip").respond_with_handler(handle)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/drip"
    finally:
        server.clear()
        server.stop()


def test_a_trickling_server_is_cut_off_at_the_overall_deadline(trickle_server: str) -> None:
    client = Http(3)
    start = time.monotonic()
    with pytest.raises(FetchError) as info:
        client.get(trickle_server, source="lore")
    elapsed = time.monotonic() - start
    assert str(info.value) == f"{trickle_server}: timed out after 3s"
    assert elapsed < 7, elapsed  # each read is quick; only the overall deadline stops it
    # the connection was shut on that path: nothing left open to the trickling server
    assert all(s.fileno() == -1 or _peer_closed(s) for s in list(client.sockets._socks))
    client.close()


def _peer_closed(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return True
    return False


class _KeepAlive(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: a connection stays open until the client closes it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        status, body = (200, b"fine") if self.path != "/gone" else (404, b"nope")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that cut the connection is what these tests do


@pytest.fixture
def keepalive_server() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _KeepAlive)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_every_answer_path_leaves_no_connection_open(keepalive_server: str) -> None:
    client = Http(1)
    seen: set[socket.socket] = set()
    client.sockets._socks = seen  # type: ignore[assignment]  # keep every socket alive to look at it
    with pytest.raises(FetchError, match="timed out after 1s"):
        client.get(keepalive_server + "/slow", source="lore")
    assert seen and all(s.fileno() == -1 for s in seen)  # the cut connection is closed at once
    client.get(keepalive_server + "/ok", source="lore")
    assert [s for s in seen if s.fileno() != -1]  # kept alive in the pool, for the next request
    with pytest.raises(FetchError):
        client.get(keepalive_server + "/gone", source="lore")
    client.close()
    assert seen and all(s.fileno() == -1 for s in seen)


def test_a_wrong_shape_patchew_answer_gives_a_clear_line(replay: Replay) -> None:
    head = replay.threads["reaper-v2"][0]
    detail = {"message": "7", "patches": [], "total_patches": 1, "is_complete": True}
    replay.add("patchew", f"/api/v1/projects/1/series/{head}/", json_body=detail)
    done = run_patchtool("fetch", head, env={"PATCHTOOL_SOURCES": "patchew"})
    line = one_line_error(done.stderr)
    assert done.code == 3 and "MissingSchema" not in line
    assert line == "error: 7/mbox/: not an http(s) URL (a link in the patchew server's answer?)"


# ---- bad input is exit 2 with one line naming it ------------------------------------------------


def test_an_overlong_message_id_is_a_usage_error(user_repo: Path) -> None:
    msgid = "a" * 20_000 + "@example.org"
    for args in (("fetch", msgid), ("apply", msgid, "--repo", user_repo)):
        done = run_patchtool(*args, env=OFFLINE_URLS)
        line = one_line_error(done.stderr)
        assert done.code == 2 and "longer than 998 characters" in line and len(line) < 200


@pytest.mark.parametrize("msgid", ["a b@example.org", "<x>@y", "-rf@example.org", "x@y\x01z", "x@y\\z"])
def test_malformed_message_ids_are_usage_errors(msgid: str) -> None:
    done = run_patchtool("fetch", "--", msgid, env=OFFLINE_URLS)
    assert done.code == 2
    one_line_error(done.stderr)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"PATCHTOOL_TIMEOUT": "abc"}, "patchtool.timeout: bad value 'abc' (from $PATCHTOOL_TIMEOUT)"),
        ({"PATCHTOOL_TIMEOUT": "-1"}, "patchtool.timeout: bad value '-1'"),
        ({"PATCHTOOL_TIMEOUT": "nan"}, "patchtool.timeout: bad value 'nan'"),
        ({"PATCHTOOL_LORE_URL": "ftp://x"}, "patchtool.lore.url: bad value 'ftp://x'"),
        ({"PATCHTOOL_CHECKPATCH_JOBS": "0"}, "patchtool.checkpatch.jobs: bad value '0'"),
        ({"PATCHTOOL_CHECKPATCH_JOBS": "many"}, "patchtool.checkpatch.jobs: bad value 'many'"),
        ({"PATCHTOOL_CHECKPATCH_JOBS": "٣"}, "patchtool.checkpatch.jobs: bad value"),  # an Arabic-Indic 3
    ],
)
def test_bad_settings_name_the_setting_and_its_form(env: dict[str, str], words: str) -> None:
    done = run_patchtool("fetch", "x@example.org", env={**OFFLINE_URLS, **env})
    line = one_line_error(done.stderr)
    assert done.code == 2 and words in line and "it must be" in line


def test_a_bad_git_config_setting_names_its_origin(user_repo: Path) -> None:
    git(user_repo, "config", "patchtool.timeout", "soon")
    done = run_patchtool("apply", "x@example.org", "--repo", user_repo, cwd=user_repo, env=OFFLINE_URLS)
    line = one_line_error(done.stderr)
    assert done.code == 2 and "(from git config patchtool.timeout)" in line and "number of seconds" in line


def _three_patches(tmp_path: Path, second: str) -> Path:
    subjects = ["[PATCH 1/3] readme: extend", "[PATCH 2/3] sneak: out", "[PATCH 3/3] more: files"]
    diffs = [README_DIFF, second, new_file_diff("docs/more.txt")]
    mails = [
        mail(f"p{i}@example.org", s, diff=d) for i, (s, d) in enumerate(zip(subjects, diffs, strict=True), 1)
    ]
    return write(tmp_path / "series.mbox", *mails)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../x", "outside the tree"),
        ("docs/../../x", "outside the tree"),
        ("/tmp/x", "outside the tree"),
        (".git/hooks/post-checkout", "inside the repository's .git"),
    ],
)
def test_a_path_outside_the_tree_is_refused_by_name(
    tmp_path: Path, user_repo: Path, path: str, problem: str
) -> None:
    before = snapshot_repo(user_repo)
    done = run_patchtool("apply", _three_patches(tmp_path, new_file_diff(path)), "--repo", user_repo)
    assert done.code == 2
    assert one_line_error(done.stderr) == f'error: patch 2/3 "sneak: out": refuses path {path} {problem}'
    assert not (tmp_path / "x").exists() and snapshot_repo(user_repo) == before


def test_a_write_through_a_symlink_the_series_creates_is_refused(tmp_path: Path, user_repo: Path) -> None:
    link = new_file_diff("lnk", str(tmp_path), mode="120000").replace(
        f"+{tmp_path}\n", f"+{tmp_path}\n\\ No newline at end of file\n"
    )
    mbox = write(
        tmp_path / "s.mbox",
        mail("l1@example.org", "[PATCH 1/2] add: a link", diff=link),
        mail("l2@example.org", "[PATCH 2/2] write: through it", diff=new_file_diff("lnk/evil")),
    )
    done = run_patchtool("apply", mbox, "--repo", user_repo, "--checkout")
    assert done.code == 2
    assert one_line_error(done.stderr) == (
        'error: patch 2/2 "write: through it": refuses to write lnk/evil through the symlink lnk '
        "the series creates"
    )
    assert not (tmp_path / "evil").exists()


# ---- the same Message-Id with different content (parse/duplicates.py) ----------------------------


def test_the_same_message_id_with_another_diff_is_an_error_naming_both(tmp_path: Path) -> None:
    first = mail("dup@example.org", "[PATCH] readme: extend")
    other = mail("dup@example.org", "[PATCH] readme: extend", diff=README_DIFF.replace("world", "there"))
    mbox = write(tmp_path / "s.mbox", first, first, other)
    series = build_series(read_local(str(mbox), None))
    found = [f for f in series.findings if f.code == "duplicate-msgid-differs"]
    assert len(found) == 1 and found[0].severity == "error"
    assert "s.mbox#1" in found[0].message and "s.mbox#3" in found[0].message  # both copies named
    same = build_series(read_local(str(write(tmp_path / "t.mbox", first, first)), None))
    assert not [f for f in same.findings if f.code == "duplicate-msgid-differs"]


# ---- cases that already held: kept from regressing ----------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes(range(256)) * 64,  # binary
        mail("t@example.org", "[PATCH] cut")[:-60],  # truncated in the middle of the diff
        mail("c@example.org", "[PATCH] x").replace(b"charset=UTF-8", b"charset=no-such-set"),
        mail("b@example.org", "[PATCH] y").replace(b"8bit", b"base64"),  # broken base64
        mail("l@example.org", "[PATCH] z").replace(b"Signed", b"\xff\xfe\xc3Signed"),  # bad UTF-8
    ],
    ids=["empty", "binary", "truncated", "unknown-charset", "broken-base64", "bad-utf8"],
)
def test_odd_input_gets_a_verdict_or_one_line_never_a_crash(tmp_path: Path, data: bytes) -> None:
    done = run_patchtool("fetch", write(tmp_path / "odd.mbox", data), "--json")
    assert done.code in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    if done.code == 0:
        json.loads(done.stdout)


def test_gzip_bombs_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.mbox.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        for _ in range(260):  # more than the 256 MiB of mail a file may hold
            fh.write(b"\0" * (1024 * 1024))
    done = run_patchtool("fetch", bomb)
    assert done.code == 2 and "larger than" in one_line_error(done.stderr)
    from patchtool.fetch.http import gunzip_capped

    with pytest.raises(FetchError, match="gzip bomb"):
        gunzip_capped(bomb.read_bytes(), "http://x/", limit=1024 * 1024)


def test_slash_and_dotdot_in_message_ids(tmp_path: Path) -> None:
    done = run_patchtool("fetch", ROOT / "fixtures/mail/msgid-slash.mbox", "-o", tmp_path / "out")
    assert done.code == 0, done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all((tmp_path / "out") in p.parents for p in written)
    done = run_patchtool("fetch", ROOT / "fixtures/mail/bad/msgid-dotdot.mbox")
    assert done.code == 2 and "'..'" in one_line_error(done.stderr)


def test_dotdot_in_a_remote_message_id_stays_one_path_segment(replay: Replay) -> None:
    done = run_patchtool("fetch", "patchew/../../../etc/passwd@x", env={"PATCHTOOL_SOURCES": "patchew"})
    assert done.code == 3 and "not found" in one_line_error(done.stderr)
    asked = replay.requests_to("patchew")
    assert asked and all("..%2F..%2F" in raw and "/etc/passwd" not in raw for raw in asked)


def test_five_thousand_replies_and_reply_cycles(tmp_path: Path) -> None:
    patch = mail("head@example.org", "[PATCH] readme: extend")
    replies = [
        mail(
            f"r{i}@example.org",
            "Re: [PATCH] readme: extend",
            body=f"Reviewed-by: R{i} <r{i}@example.org>\n",
            diff=None,
            sender=f"R{i} <r{i}@example.org>",
            reply_to="head@example.org" if i % 2 else f"r{i - 1}@example.org",
        )
        for i in range(1, 5001)
    ]
    start = time.monotonic()
    series = build_series(read_local(str(write(tmp_path / "r.mbox", patch, *replies)), None))
    assert time.monotonic() - start < 60
    assert len(series.revision.patches[0].review_trailers) == 5000
    loop = [
        mail(
            "ca@example.org", "Re: [PATCH] readme: extend", diff=None, body="a\n", reply_to="cb@example.org"
        ),
        mail(
            "cb@example.org", "Re: [PATCH] readme: extend", diff=None, body="b\n", reply_to="ca@example.org"
        ),
    ]
    assert build_series(
        read_local(str(write(tmp_path / "c.mbox", patch, *loop)), None)
    ).revision.patches  # a cycle ends, it does not hang


def test_a_corrupt_store_is_one_line(tmp_path: Path, user_repo: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "patchtool.sqlite3").write_bytes(b"this is not a database" * 100)
    done = run_patchtool("fetch", "x@example.org", env=OFFLINE_URLS)
    assert done.code in (2, 3) and "Traceback" not in done.stderr
    one_line_error(done.stderr)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(cache / "patchtool.sqlite3").execute("select 1 from sqlite_master").fetchall()


def test_an_index_lock_in_the_user_repo_is_left_alone(tmp_path: Path, user_repo: Path) -> None:
    mbox = write(tmp_path / "s.mbox", mail("lock@example.org", "[PATCH] readme: extend"))
    (user_repo / ".git" / "index.lock").write_bytes(b"someone else's")
    done = run_patchtool("apply", mbox, "--repo", user_repo, "--branch", "r/lock")
    assert done.code == 0, done.stderr
    assert (user_repo / ".git" / "index.lock").read_bytes() == b"someone else's"


def test_concurrent_applies_all_succeed(tmp_path: Path, user_repo: Path) -> None:
    mbox = write(tmp_path / "s.mbox", mail("conc@example.org", "[PATCH] readme: extend"))
    argv: Callable[[int], list[str]] = lambda i: [  # noqa: E731
        sys.executable,
        "-m",
        "patchtool",
        "apply",
        str(mbox),
        "--repo",
        str(user_repo),
        "--checkout",
        "--branch",
        f"r/{i}",
    ]
    procs = [
        subprocess.Popen(argv(i), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(4)
    ]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else b"") for p in procs]
    assert all(code == 0 for code, _ in results), results
    tips = {git(user_repo, "rev-parse", f"r/{i}^{{tree}}").strip() for i in range(4)}
    assert len(tips) == 1


def test_hooks_stay_idle_for_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick form of tests/vcs/test_no_hooks.py (which runs every command)."""
    from tests.vcs.test_no_hooks import hostile_repo

    monkeypatch.setenv("PATCHTOOL_DATA_DIR", str(tmp_path / "data"))
    repo, marks, names = hostile_repo(tmp_path)
    done = run_patchtool("apply", names["series"], "--repo", repo, "--base", names["base"], "--checkout")
    assert done.code == 0, done.stderr
    assert os.listdir(marks) == []


def test_a_hostile_author_name_is_matched_in_one_pass() -> None:
    # A From: name "a_a_..._a!" read as an address's local part: a pattern whose words could hold
    # the separator tries 2^n splits (n = 40: hours). Run apart, with a bound no correct match
    # comes near, so a regression fails instead of hanging the suite.
    code = (
        "from patchtool.models import Address\n"
        "from patchtool.parse.trailers import parse_trailer_line\n"
        "from patchtool.review.signoffs import same_person\n"
        "name = 'a_' * 40 + '!'\n"
        "sob = parse_trailer_line('Signed-off-by: Ada Lovelace <ada@example.org>')\n"
        "print(same_person(Address(name + ' via', 'qemu-devel@nongnu.org'), sob))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
