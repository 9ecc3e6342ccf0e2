"""Series made by real `git format-patch --cover-letter` from repositories the tests build."""

from __future__ import annotations

import io
from pathlib import Path

from patchtool.apply.ammbox import write_am_mbox
from patchtool.fetch.local import read_local
from patchtool.parse.series import build_series
from tests.plugins.gitutil import git


def _repo_with_series(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "lib.c").write_text("int lib_a(void)\n{\n    return 1;\n}\n")
    (repo / "lib.h").write_text("int lib_a(void);\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "lib.c").write_text(
        "long lib_a(void)\n{\n    return 1;\n}\n\nint lib_b(int x)\n{\n    return x;\n}\n"
    )
    (repo / "lib.h").write_text("long lib_a(void);\nint lib_b(int x);\n")
    git(
        repo,
        "commit",
        "-q",
        "-am",
        "lib: widen lib_a, add lib_b\n\nSigned-off-by: Test Author <author@example.org>",
    )
    git(repo, "mv", "lib.h", "api.h")
    git(
        repo,
        "-c",
        "user.name=Other Person",
        "-c",
        "user.email=other@example.org",
        "commit",
        "-q",
        "--author=Other Person <other@example.org>",
        "-m",
        "lib: rename the header\n\nSigned-off-by: Other Person <other@example.org>",
    )
    return repo, base


def test_format_patch_cover_letter_thread(tmp_path: Path) -> None:
    repo, base = _repo_with_series(tmp_path)
    out = tmp_path / "fp"
    git(
        repo, "format-patch", "-q", "-2", "--cover-letter", "--thread", "--base", base,
        "--subject-prefix=PATCH v2", "--from=Test Author <author@example.org>", "-o", str(out),
    )  # fmt: skip
    series = build_series(read_local(str(out), None))
    rev = series.revision
    assert (rev.number, rev.total, rev.missing) == (2, 2, ())
    assert rev.cover is not None and rev.cover.title == "*** SUBJECT HERE ***"
    assert rev.base_commit == base
    first, second = rev.patches
    assert first.title == "lib: widen lib_a, add lib_b"
    assert first.in_reply_to == rev.cover.msgid
    facts = {(f.file, f.name, f.kind, f.detail) for f in first.summary.functions}
    assert ("lib.c", "lib_a", "signature-changed", "return type int -> long") in facts
    assert ("lib.c", "lib_b", "added", "") in facts
    assert ("lib.h", "lib_b", "prototype-added", "") in facts
    assert ("lib.h", "lib_a", "signature-changed", "return type int -> long") in facts
    # --from makes git put the real author in the body
    assert second.author.email == "other@example.org"
    assert second.sender is not None and second.sender.email == "author@example.org"
    assert second.summary.files[0].status == "renamed"
    assert second.summary.files[0].old_path == "lib.h"
    assert series.findings == ()


def test_format_patch_stdout_via_stdin_and_am_round_trip(tmp_path: Path) -> None:
    repo, base = _repo_with_series(tmp_path)
    data = git(repo, "format-patch", "-2", "--stdout", "--from=Test Author <author@example.org>").encode()
    series = build_series(read_local("-", io.BytesIO(data)))
    assert [p.index for p in series.revision.patches] == [1, 2]
    mbox = write_am_mbox(series, tmp_path / "out")
    target = tmp_path / "target"
    git(tmp_path, "clone", "-q", str(repo), str(target))
    git(target, "reset", "-q", "--hard", base)
    git(target, "am", "-q", str(mbox))
    assert git(target, "rev-parse", "HEAD^{tree}") == git(repo, "rev-parse", "HEAD^{tree}")
    assert git(target, "log", "-1", "--format=%an").strip() == "Other Person"


def test_unnumbered_format_patch_keeps_every_patch(tmp_path: Path) -> None:
    repo, _base = _repo_with_series(tmp_path)
    data = git(repo, "format-patch", "-N", "-2", "--stdout").encode()
    series = build_series(read_local("-", io.BytesIO(data)))
    rev = series.revision
    assert [(p.index, p.total, p.title) for p in rev.patches] == [
        (1, 2, "lib: widen lib_a, add lib_b"),
        (2, 2, "lib: rename the header"),
    ]
    assert rev.complete


def test_prerequisite_patch_id_footer_from_real_git(tmp_path: Path) -> None:
    repo, base = _repo_with_series(tmp_path)
    data = git(repo, "format-patch", "-1", "--stdout", f"--base={base}").encode()
    patch = build_series(read_local("-", io.BytesIO(data))).revision.patches[0]
    prerequisite = git(repo, "show", "HEAD~1").encode()
    stable = git(repo, "patch-id", "--stable", input=prerequisite).split()[0]
    assert patch.footers == {"base-commit": base, "prerequisite-patch-id": stable}
    assert "prerequisite" not in patch.diff


def test_based_on_in_a_lone_patch(tmp_path: Path) -> None:
    repo, _base = _repo_with_series(tmp_path)
    text = git(repo, "format-patch", "-1", "--stdout")
    text = text.replace("\n---\n", "\n---\nBased-on: <20260101-dep-v2-0-abc@example.org>\n\n", 1)
    series = build_series(read_local("-", io.BytesIO(text.encode())))
    assert series.revision.based_on == ("20260101-dep-v2-0-abc@example.org",)
    assert series.revision.patches[0].notes == "Based-on: <20260101-dep-v2-0-abc@example.org>"


def test_cover_letter_with_interdiff_is_still_the_cover(tmp_path: Path) -> None:
    repo, _base = _repo_with_series(tmp_path)
    git(repo, "branch", "v1", "HEAD~1")
    (repo / "api.h").write_text("long lib_a(void);\nint lib_b(int x);\nint lib_c(void);\n")
    git(repo, "commit", "-q", "-am", "lib: declare lib_c")
    out = tmp_path / "fp"
    git(repo, "format-patch", "-q", "-3", "--cover-letter", "--interdiff=v1", "-v2", "-o", str(out))
    series = build_series(read_local(str(out), None))
    rev = series.revision
    assert rev.cover is not None and "Interdiff" in rev.cover.body
    assert [p.index for p in rev.patches] == [1, 2, 3]
