"""`patchtool fetch` end to end: summary, --json against its schema, -o mbox through real `git am`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from patchtool import models
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git, snapshot_repo
from tests.plugins.mail import check_schema, mail_fixture, preimage_repo

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "patchtool" / "schemas" / "series.schema.json").read_text()
)


def test_readme_first_command_prints_the_summary() -> None:
    result = run_patchtool("fetch", "fixtures/mail/reaper-v2.mbox")
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "Series:    accel/kvm: wake the dirty ring reaper when dirty-limit stops" in out
    assert "Revision:  v2 of 1 patch(es), complete" in out
    assert "Author:    Lin Qiao <lqiao@example-cloud.com>" in out
    assert "accel/kvm/kvm-all.c                      | +36 -6" in out
    assert (
        "signature-changed: kvm_dirty_ring_reaper_init in accel/kvm/kvm-all.c (return type void -> int)"
        in out
    )
    assert "+ Reviewed-by: Wei Zhang <wei.zhang@example.net>" in out
    assert "Source:    file fixtures/mail/reaper-v2.mbox - 2 messages" in out
    assert result.stderr == ""


def test_help_has_an_example() -> None:
    result = run_patchtool("fetch", "--help")
    assert result.code == 0
    assert "Example: patchtool fetch /tmp/pt/world/series/reaper-v2.mbox" in result.stdout
    for option in (
        "--revision",
        "--allow-incomplete",
        "--output",
        "--json",
        "--offline",
        "--repo",
        "--patchew-url",
        "--patchew-git",
        "--patchwork-url",
        "--lore-url",
        "--project",
        "--list",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    "name",
    [
        "reaper-v2.mbox",
        "kvm-dirty-ring-v4.mbox",
        "revisions-v1-v3.mbox",
        "b4-single.mbox",
        "pull-request.mbox",
        "lore-thread.mboxrd",
    ],
)
def test_json_matches_its_schema(name: str) -> None:
    result = run_patchtool("fetch", f"fixtures/mail/{name}", "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == models.SERIES_SCHEMA_VERSION
    check_schema(doc, SCHEMA)


def test_schema_documents_every_model_field() -> None:
    for cls in (
        models.Series,
        models.Revision,
        models.Patch,
        models.Cover,
        models.Reply,
        models.Trailer,
        models.Finding,
        models.DiffSummary,
        models.FileChange,
        models.Hunk,
        models.FunctionChange,
        models.DiffstatLine,
        models.Provenance,
        models.Address,
    ):
        props = SCHEMA["properties"] if cls is models.Series else SCHEMA["$defs"][cls.__name__]["properties"]
        fields = {f.name for f in dataclasses.fields(cls) if f.metadata.get("json", True)}
        missing = fields - set(props)
        assert not missing, f"{cls.__name__} fields missing from series.schema.json: {missing}"


def test_output_mbox_applies_with_git_am_and_carries_the_trailers(tmp_path: Path) -> None:
    repo = preimage_repo(tmp_path / "tree")
    out = tmp_path / "out"
    result = run_patchtool("fetch", "fixtures/mail/reaper-v2.mbox", "-o", out)
    assert result.code == 0, result.stderr
    (mbox,) = out.iterdir()
    assert f"Wrote:     {mbox}" in result.stdout
    git(repo, "am", str(mbox))
    message = git(repo, "log", "-1", "--format=%B")
    assert message.rstrip().endswith(
        "Signed-off-by: Lin Qiao <lqiao@example-cloud.com>\nReviewed-by: Wei Zhang <wei.zhang@example.net>"
    )
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "Lin Qiao <lqiao@example-cloud.com>"
    assert "kvm_dirty_ring_reaper_kick" in (repo / "include/system/kvm.h").read_text()


def test_two_batch_v4_applies_whole_with_in_body_author(tmp_path: Path) -> None:
    repo = preimage_repo(tmp_path / "tree", None)
    out = tmp_path / "out"
    result = run_patchtool("fetch", "fixtures/mail/kvm-dirty-ring-v4.mbox", "-o", out, "--json")
    assert result.code == 0, result.stderr
    mbox = Path(json.loads(result.stdout)["mbox"])
    git(repo, "am", str(mbox))
    log = git(repo, "log", "--reverse", "--format=%an|%s", "main~13..main").splitlines()
    assert len(log) == 13
    assert log[1] == "Ana Pérez|kvm: track the dirty ring per vcpu"
    bodies = git(repo, "log", "--format=%B%x00", "main~13..main").split("\x00")
    assert all("Acked-by: Reviewer One <r1@example.org>" in b for b in bodies if b.strip())
    seventh = git(repo, "log", "-1", "--format=%B", "main~6")
    assert "Tested-by: John Doe <john.doe@example.org>" in seventh
    assert "mallory" not in seventh
    assert seventh.count("Acked-by: Reviewer One") == 1


def test_stdin_source() -> None:
    result = run_patchtool("fetch", "-", input=mail_fixture("reaper-v2.mbox").read_bytes())
    assert result.code == 0, result.stderr
    assert "Source:    stdin -" in result.stdout


def test_revision_option() -> None:
    result = run_patchtool("fetch", "fixtures/mail/revisions-v1-v3.mbox", "--revision", "1", "--json")
    assert result.code == 0
    assert json.loads(result.stdout)["chosen"] == 1
    missing = run_patchtool("fetch", "fixtures/mail/revisions-v1-v3.mbox", "--revision", "9")
    assert missing.code == 2
    assert missing.stderr.startswith("error: fixtures/mail/revisions-v1-v3.mbox: revision 9 not found")


def test_incomplete_series_exits_1_unless_allowed(tmp_path: Path) -> None:
    raw = mail_fixture("kvm-dirty-ring-v4.mbox").read_text()
    # drop patch 06/13 (the next message starts at the following envelope line)
    start = raw.index("Subject: [PATCH v4 06/13]")
    start = raw.rindex("\nFrom mailer@example.com", 0, start) + 1
    end = raw.index("\nFrom mailer@example.com", start) + 1
    partial = tmp_path / "partial.mbox"
    partial.write_text(raw[:start] + raw[end:])
    out = tmp_path / "out"
    result = run_patchtool("fetch", partial, "-o", out)
    assert result.code == 1
    assert "incomplete, missing 6/13" in result.stdout
    assert "error: series v4 is incomplete: 6/13 not found" in result.stderr
    assert not out.exists()
    allowed = run_patchtool("fetch", partial, "-o", out, "--allow-incomplete")
    assert allowed.code == 0, allowed.stderr
    assert len(list(out.iterdir())) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad/empty.mbox", "error: fixtures/mail/bad/empty.mbox: empty file\n"),
        ("bad/not-mail.txt", "error: fixtures/mail/bad/not-mail.txt: not mail (no message headers found)\n"),
        (
            "bad/no-patches.mbox",
            "error: fixtures/mail/bad/no-patches.mbox: no patches found in 2 message(s)\n",
        ),
        (
            "bad/mangled-whitespace.mbox",
            "error: fixtures/mail/bad/mangled-whitespace.mbox: message "
            "<mangled-ws-1@example.org>: mangled diff at line 13: 'memcpy(new_bus, bus, size);' inside hunk "
            "'-10,6 +10,7' is not a diff line (whitespace stripped or lines wrapped?)\n",
        ),
        (
            "bad/mangled-wrapped.mbox",
            "error: fixtures/mail/bad/mangled-wrapped.mbox: message "
            "<mangled-wrap-1@example.org>: mangled diff at line 17: 'hiding a real outage */' inside hunk "
            "'-1,4 +1,5' is not a diff line (whitespace stripped or lines wrapped?)\n",
        ),
        (
            "bad/mangled-outlook.mbox",
            "error: fixtures/mail/bad/mangled-outlook.mbox: message <outlook-1@example.com>: mangled diff "
            "at line 11: '3a1b2c4..5d6e7f8 100644' breaks the diff (unrecognised hunk header, wrong line "
            "counts, whitespace stripped or lines wrapped?)\n",
        ),
        (
            "bad/unknown-charset.mbox",
            "error: fixtures/mail/bad/unknown-charset.mbox: message "
            "<charset-1@example.org> has an unknown charset 'x-no-such-charset'\n",
        ),
        (
            "bad/msgid-dotdot.mbox",
            "error: fixtures/mail/bad/msgid-dotdot.mbox: message "
            "<../../../../tmp/evil@example.org> has an invalid message-id (contains '..')\n",
        ),
        (
            "no/such/file.mbox",
            "error: no/such/file.mbox: no such file, and remote sources are not available\n",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_no_traceback(name: str, expected: str) -> None:
    result = run_patchtool("fetch", f"fixtures/mail/{name}" if not name.startswith("no/") else name)
    if name.startswith("no/"):
        assert result.code in (2, 3)  # a remote source may be tried once remote sources exist
        assert "Traceback" not in result.stderr
        return
    assert result.code == 2
    assert result.stderr == expected
    assert result.stdout == ""


def test_debug_shows_the_traceback() -> None:
    result = run_patchtool("--debug", "fetch", "fixtures/mail/bad/not-mail.txt")
    assert result.code == 2
    assert "Traceback" in result.stderr


def test_msgid_with_slash_never_becomes_a_path(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_patchtool("fetch", "fixtures/mail/msgid-slash.mbox", "-o", out, "--json")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["revisions"][0]["patches"][0]["msgid"] == "20260305/patch/1@example.org"
    assert [p.name for p in out.iterdir()] == ["v1-docs-fix-a-typo.mbox"]
    assert not (out / "20260305").exists()


def test_fetch_never_touches_the_users_checkout(tmp_path: Path) -> None:
    repo = preimage_repo(tmp_path / "tree")
    (repo / "README.local").write_text("uncommitted\n")
    before = snapshot_repo(repo)
    result = run_patchtool("fetch", mail_fixture("reaper-v2.mbox"), "-o", tmp_path / "out", cwd=repo)
    assert result.code == 0, result.stderr
    assert snapshot_repo(repo) == before


def _two_patches(tmp_path: Path, *options: str) -> list[str]:
    """Two commits adding f0.c and f1.c, as `git format-patch -2` files (with ``options``)."""
    repo = preimage_repo(tmp_path / "tree", None)
    for i in range(2):
        (repo / f"f{i}.c").write_text(f"int f{i}(void)\n{{\n    return {i};\n}}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"add f{i}\n\nSigned-off-by: Test Author <author@example.org>")
    return git(repo, "format-patch", "-2", *options, "-o", str(tmp_path / "fp")).split()


def test_several_files_are_one_thread(tmp_path: Path) -> None:
    files = _two_patches(tmp_path)
    result = run_patchtool("fetch", *files, "--json")
    assert result.code == 0, result.stderr
    patches = json.loads(result.stdout)["revisions"][0]["patches"]
    assert [p["title"] for p in patches] == ["add f0", "add f1"]
    assert patches[0]["summary"]["functions"][0]["kind"] == "added"


def test_a_series_line_in_a_reply_to_one_patch_is_shown_on_every_patch(tmp_path: Path) -> None:
    files = _two_patches(tmp_path, "--thread", "--cover-letter")
    first = Path(files[1]).read_text()
    msgid = next(
        line.split(None, 1)[1] for line in first.splitlines() if line.lower().startswith("message-id:")
    )
    reply = (
        "From rita Mon Sep 17 00:00:00 2001\nFrom: Rita Reviewer <rr@example.org>\n"
        f"Subject: Re: [PATCH 1/2] add f0\nMessage-Id: <series-rb@example.org>\nIn-Reply-To: {msgid}\n"
        f"References: {msgid}\nDate: Tue, 3 Feb 2026 10:00:00 +0000\n\n> add f0\n\nSeries:\n"
        "Reviewed-by: Rita Reviewer <rr@example.org>\n"
    )
    mbox = tmp_path / "thread.mbox"
    mbox.write_text("".join(Path(f).read_text() for f in files) + reply)
    result = run_patchtool("fetch", mbox)
    assert result.code == 0, result.stderr
    given = (
        "+ Reviewed-by: Rita Reviewer <rr@example.org>  "
        "(from a reply giving it to the whole series <series-rb@example.org>)"
    )
    assert result.stdout.count(given) == 2, result.stdout
    origins = [
        [t["origin"] for t in p["review_trailers"]]
        for p in json.loads(run_patchtool("fetch", mbox, "--json").stdout)["revisions"][0]["patches"]
    ]
    assert origins == [["series-reply"], ["series-reply"]]
