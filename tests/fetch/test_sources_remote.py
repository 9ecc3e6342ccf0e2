"""SOURCE forms and the fallback across patchew, lore and patchwork, against the replay server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from patchtool.config import load_settings
from patchtool.errors import FetchError, InputError
from patchtool.fetch import resolve_source
from patchtool.fetch.remote import parse_ref, resolve_remote
from patchtool.models import RawThread, Series
from patchtool.parse.mail import parse_mail
from patchtool.parse.series import build_series
from tests.conftest import FIXTURES, run_patchtool
from tests.plugins.httpreplay import Replay

LIST_PAGE = """<html><head><title>[PATCH v2] accel/kvm: wake the reaper</title></head><body>
<!--X-Subject: [PATCH v2] accel/kvm: wake the dirty ring reaper -->
<!--X-From-R13: Lin Qiao -->
<!--X-Message-Id: {msgid} -->
<!--X-Content-Type: text/plain -->
<h1>[PATCH v2] accel/kvm: wake the dirty ring reaper</h1>
</body></html>
"""


def msgids(thread: RawThread) -> set[str]:
    return {parse_mail(m).msgid for m in thread.messages}


def comparable(series: Series) -> Series:
    """The Series without where it came from (which is what differs between sources)."""
    return dataclasses.replace(series, provenance=(), extras={})


def reaper_forms(replay: Replay) -> list[str]:
    head = replay.threads["reaper-v2"][0]
    pw = replay.url("patchwork")
    replay.add(
        "lists",
        "/archive/html/qemu-devel/2026-06/msg00123.html",
        body=LIST_PAGE.format(msgid=head.replace("@", "&#64;")),
        headers={"Content-Type": "text/html"},
    )
    return [
        f"patchew/{head}",
        head,
        f"<{head}>",
        f"id:{head}",
        f"{replay.url('patchew')}/QEMU/{head}/",
        f"{replay.url('lore')}/qemu-devel/{head}/",
        f"{replay.url('lore')}/r/{head}",
        f"{pw}/project/qemu-devel/patch/{head}/",
        f"{pw}/patch/15/",
        f"{pw}/project/qemu-devel/list/?series=3",
        f"{replay.url('lists')}/archive/html/qemu-devel/2026-06/msg00123.html",
    ]


def test_every_source_form_gives_the_same_series(replay: Replay) -> None:
    local = comparable(
        build_series(resolve_source(str(FIXTURES / "mail" / "reaper-v2.mbox"), load_settings({})))
    )
    assert local.revision.patches and local.revision.replies
    for ref in reaper_forms(replay):
        thread = resolve_remote(ref, load_settings({}))
        assert comparable(build_series(thread)) == local, ref


@pytest.mark.parametrize("only", ["patchew", "lore", "patchwork"])
def test_each_source_alone_gives_the_same_series(
    replay: Replay, monkeypatch: pytest.MonkeyPatch, only: str
) -> None:
    monkeypatch.setenv("PATCHTOOL_SOURCES", only)
    for name in ("reaper-v2", "b4-reply"):
        head = replay.threads[name][0]
        local_path = FIXTURES / "mail" / f"{name}.mbox"
        if not local_path.exists():
            local_path = FIXTURES / "http" / "threads" / f"{name}.mbox"
        local = comparable(build_series(resolve_source(str(local_path), load_settings({}))))
        thread = resolve_remote(head, load_settings({}))
        assert [p.source for p in thread.provenance] == [only]
        assert comparable(build_series(thread)) == local, (only, name)


def test_patchew_incomplete_series_is_completed_from_lore(replay: Replay) -> None:
    head = replay.threads["kvm-dirty-ring-v4"][0]
    thread = resolve_remote(head, load_settings({}))
    sources = [(p.source, p.detail) for p in thread.provenance]
    assert sources[0][0] == "patchew" and "patchew had only 4 of 13 patches" in sources[0][1]
    assert sources[1][0] == "lore" and "13 of 13 patches" in sources[1][1]
    series = build_series(thread)
    assert series.revision.complete and len(series.revision.patches) == 13


def test_patchew_incomplete_falls_back_to_patchwork_when_lore_fails(
    replay: Replay, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = replay.threads["kvm-dirty-ring-v4"][0]
    replay.add("lore", f"/qemu-devel/{head}/t.mbox.gz", status=503, body="busy")
    thread = resolve_remote(head, load_settings({}))
    assert [p.source for p in thread.provenance] == ["patchew", "lore", "patchwork"]
    assert "failed: server error" in thread.provenance[1].detail
    assert build_series(thread).revision.complete
    assert "build-mingw=fail" in thread.extras["patchwork.checks"]


def test_cli_says_patchew_had_only_4_of_13(replay: Replay) -> None:
    head = replay.threads["kvm-dirty-ring-v4"][0]
    result = run_patchtool("fetch", head)
    assert result.code == 0, result.stderr
    assert "patchew had only 4 of 13 patches" in result.stdout
    assert "Source:    lore" in result.stdout
    assert "v4 of 13 patch(es), complete" in result.stdout


def test_a_patch_msgid_finds_its_series_on_patchew(replay: Replay) -> None:
    head, reply = replay.threads["b4-reply"]
    assert "/" in reply  # the reply's message-id carries a slash
    thread = resolve_remote(reply, load_settings({}))
    assert msgids(thread) == {head, reply}
    assert thread.provenance[0].source == "patchew"
    # the slash travels percent-encoded, inside one path segment
    assert any(reply.replace("/", "%2F") in raw for raw in replay.requests_to("patchew"))
    assert not any(reply in raw for raw in replay.requests_to("patchew"))


def test_a_slash_or_dots_in_a_msgid_never_leave_its_path_segment(replay: Replay) -> None:
    with pytest.raises(FetchError):
        resolve_remote("x/../../../etc/passwd@x", load_settings({}))
    raws = [raw for _, raw, _ in replay.log]
    asked = [raw for raw in raws if "passwd" in raw]
    assert len(asked) >= 4 and all("..%2F..%2F..%2Fetc%2Fpasswd" in raw for raw in asked)
    assert not any("/../" in raw for raw in raws)


def test_unknown_msgid_fails_everywhere_with_one_line(replay: Replay) -> None:
    result = run_patchtool("fetch", "nobody-sent-this@example.org")
    assert result.code == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: nobody-sent-this@example.org: no source could supply it")
    assert "not found (HTTP 404)" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("ref", "source", "msgid"),
    [
        ("patchew/a.b@c", "patchew", "a.b@c"),
        ("tags/patchew/a.b@c", "patchew", "a.b@c"),
        ("<a.b@c>", None, "a.b@c"),
        ("https://patchew.org/QEMU/a.b@c/", "patchew", "a.b@c"),
        ("https://lore.kernel.org/qemu-devel/a.b@c/T/#u", "lore", "a.b@c"),
        ("https://lore.kernel.org/all/a%2Fb@c/", "lore", "a/b@c"),
        ("https://patchwork.kernel.org/project/kvm/patch/a.b@c/", "patchwork", "a.b@c"),
        ("https://patchwork.ozlabs.org/patch/1234/", "patchwork", None),
        ("https://lists.gnu.org/archive/html/qemu-devel/2016-11/msg04321.html", "list-archive", None),
    ],
)
def test_parse_ref_forms(ref: str, source: str | None, msgid: str | None) -> None:
    target = parse_ref(ref, load_settings({}))
    assert (target.source, target.msgid) == (source, msgid)


def test_patchwork_ids_in_urls() -> None:
    settings = load_settings({})
    assert parse_ref("https://pw.example.org/project/qemu-devel/list/?series=7", settings).series_id == 7
    target = parse_ref("https://pw.example.org/api/1.3/patches/15/", settings)
    assert (target.patch_id, target.base) == (15, "https://pw.example.org")


@pytest.mark.parametrize("ref", ["not-a-msgid", "patchew/", "<>", "a b@c", "-rf@x"])
def test_parse_ref_refuses_what_is_no_message_id(ref: str) -> None:
    with pytest.raises(InputError):
        parse_ref(ref, load_settings({}))


@pytest.mark.parametrize(
    "ref",
    [
        "series/20240911145204.17692-1-someone@example.org.mbox",
        "./20240911145204.17692-1-someone@example.org",
        "~/mail/x@example.org",
        "inbox@example.org/thread.eml",
        "20240911145204.17692-1-someone@example.org.patch",
    ],
)
def test_a_missing_file_named_after_a_message_id_is_a_missing_file(ref: str) -> None:
    """An export named after its message-id, mistyped or run from another directory, is not sent
    to the network as a message-id (its "right side" is no host name)."""
    with pytest.raises(InputError, match="no such file"):
        parse_ref(ref, load_settings({}))


@pytest.mark.parametrize("ref", ["20240911145204.17692-1-someone@example.org", "abc.def@mail.gmail.com"])
def test_a_message_id_stays_a_message_id(ref: str) -> None:
    assert parse_ref(ref, load_settings({})).msgid == ref


def test_cli_refuses_bad_ref_with_exit_2(tmp_path: Path) -> None:
    result = run_patchtool("fetch", "missing.mbox", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.splitlines()[0] == "error: missing.mbox: no such file, and not a message-id or URL"


@pytest.mark.parametrize("form", ["cover-url", "series-url", "late-patch"])
def test_other_ways_to_the_13_patch_series(replay: Replay, form: str) -> None:
    ids = replay.threads["kvm-dirty-ring-v4"]
    pw = replay.url("patchwork")
    ref = {
        "cover-url": f"{pw}/project/qemu-devel/cover/{ids[0]}/",
        "series-url": f"{pw}/project/qemu-devel/list/?series=1",
        "late-patch": ids[7],  # 07/13, which replies to 04/13 and is unknown to patchew's series
    }[form]
    thread = resolve_remote(ref, load_settings({}))
    series = build_series(thread)
    assert series.revision.complete and len(series.revision.patches) == 13
    expected_first = "patchew" if form == "late-patch" else "patchwork"
    assert thread.provenance[0].source == expected_first


def test_an_answer_of_unknown_shape_hands_over_to_the_next_source(replay: Replay) -> None:
    head = replay.threads["reaper-v2"][0]
    replay.add("patchew", f"/api/v1/projects/1/series/{head}/", json_body={"surprise": True})
    thread = resolve_remote(head, load_settings({}))
    assert thread.provenance[0].source == "patchew"
    assert "failed: unexpected answer from patchew (KeyError" in thread.provenance[0].detail
    assert thread.provenance[1].source == "lore"


@pytest.mark.parametrize(
    "page",
    [
        "<!--X-Message-Id: 20161124151225.GA1&#64;host.example -->",
        '<meta name="message-id" content="20161124151225.GA1@host.example">',
        "<li><em>Message-id</em>: &lt;20161124151225.GA1@host.example&gt;</li>",
    ],
)
def test_list_archive_pages_give_their_message_id(page: str) -> None:
    from patchtool.fetch.listarchive import msgid_in_page

    assert msgid_in_page(f"<html><body>{page}</body></html>") == "20161124151225.GA1@host.example"


def test_a_page_without_message_id_is_a_clear_error(replay: Replay) -> None:
    replay.add("lists", "/archive/x.html", body="<html>hello</html>", headers={"Content-Type": "text/html"})
    result = run_patchtool("fetch", replay.url("lists") + "/archive/x.html")
    assert result.code == 3
    assert result.stderr.splitlines()[0] == (
        f"error: {replay.url('lists')}/archive/x.html: no Message-Id found in the page "
        "(is it a list-archive message page?)"
    )


def test_cli_redirect_loop_is_bounded(replay: Replay) -> None:
    replay.add("lists", "/a", status=301, headers={"Location": "/b"})
    replay.add("lists", "/b", status=301, headers={"Location": "/a"})
    result = run_patchtool("fetch", replay.url("lists") + "/a")
    assert result.code == 3
    assert (
        result.stderr.splitlines()[0] == f"error: {replay.url('lists')}/a: too many redirects (more than 10)"
    )
