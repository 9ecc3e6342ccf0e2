"""Mail bytes reach git exactly as sent: 8-bit UTF-8 and Latin-1 diffs without a Content-Type, any
transfer encoding, CRLF mail, a `From ` line in the body. Proven tree for tree against real `git am`,
for `patchtool apply` and for the `-o` mbox patchtool writes."""

from __future__ import annotations

import base64
import itertools
import json
import quopri
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from patchtool.apply.ammbox import write_am_mbox
from patchtool.fetch.local import read_local
from patchtool.parse.diffs import diff_bytes
from patchtool.parse.series import build_series
from tests.conftest import run_patchtool
from tests.plugins.gitutil import git

_ENVELOPE = re.compile(rb"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n", re.MULTILINE)
_MIME = re.compile(rb"^(MIME-Version|Content-Type|Content-Transfer-Encoding):.*\n", re.MULTILINE)


def _commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _repo_and_series(tmp_path: Path) -> tuple[Path, str, bytes]:
    """A repository, its base, and `git format-patch` output whose diffs carry 8-bit bytes."""
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "ui.c").write_text('const char *done = "done";\n')
    (repo / "names.txt").write_bytes(b"Alice\nBob\n")
    _commit(repo, "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "ui.c").write_text('const char *done = "\u2713 done\u2026 it\u2019s";\n', encoding="utf-8")
    _commit(repo, "ui: mark the finished state\n\nSigned-off-by: Test Author <author@example.org>")
    (repo / "names.txt").write_bytes(b"Alice\nBob\nJos\xe9 M\xfcller\n")  # Latin-1, not UTF-8
    _commit(repo, "names: add a contributor\n\nSigned-off-by: Test Author <author@example.org>")
    (repo / "ui.c").write_text('const char *done = "\u2713 finished";\n', encoding="utf-8")
    _commit(
        repo,
        "ui: reword\n\nFrom the user's point of view, finished reads better.\n\n"
        "Signed-off-by: Test Author <author@example.org>",
    )
    mbox = git_bytes(repo, "format-patch", "--stdout", f"{base}..HEAD")
    # git writes no Content-Type when the message is ASCII; make sure of that shape.
    return repo, base, _MIME.sub(b"", mbox)


def git_bytes(cwd: Path, *args: str) -> bytes:
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True).stdout


def _messages(mbox: bytes) -> list[bytes]:
    starts = [m.start() for m in _ENVELOPE.finditer(mbox)] + [len(mbox)]
    return [mbox[a:b] for a, b in itertools.pairwise(starts)]


def _encode_bodies(mbox: bytes, cte: str, encode: Callable[[bytes], bytes]) -> bytes:
    out = []
    for message in _messages(mbox):
        head, body = message.split(b"\n\n", 1)
        out.append(head + f"\nContent-Transfer-Encoding: {cte}\n\n".encode() + encode(body) + b"\n")
    return b"".join(out)


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "8bit": lambda m: m,
    "crlf": lambda m: m.replace(b"\n", b"\r\n"),
    "base64": lambda m: _encode_bodies(m, "base64", base64.encodebytes),
    "quoted-printable": lambda m: _encode_bodies(m, "quoted-printable", quopri.encodestring),
}


def _am_tree(origin: Path, base: str, mbox: Path, where: Path) -> str:
    git(origin, "worktree", "add", "-q", "--detach", str(where), base)
    git(where, "am", "-q", str(mbox))
    return git(where, "rev-parse", "HEAD^{tree}").strip()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_series_bytes_reach_git_as_sent(tmp_path: Path, variant: str) -> None:
    origin, base, mbox = _repo_and_series(tmp_path)
    sent = tmp_path / f"{variant}.mbox"
    sent.write_bytes(VARIANTS[variant](mbox))
    want = _am_tree(origin, base, sent, tmp_path / "am")
    assert want == git(origin, "rev-parse", "HEAD^{tree}").strip()  # git am reproduces the author

    series = build_series(read_local(str(sent), None))
    assert b"+Jos\xe9 M\xfcller" in diff_bytes(series.revision.patches[1])  # what git gets
    assert "+Jos\u00e9 M\u00fcller" in series.revision.patches[1].diff  # what a reader sees
    assert "\u2713 done\u2026 it\u2019s" in series.revision.patches[0].diff
    assert "\ufffd" not in "".join(p.diff + p.message for p in series.revision.patches)
    json.dumps([p.diff for p in series.revision.patches], ensure_ascii=False).encode()  # no surrogates

    done = run_patchtool("apply", sent, "--repo", origin, "--base", base, "--json")
    assert done.code == 0, done.stderr
    head = json.loads(done.stdout)["head"]
    assert git(origin, "rev-parse", f"{head}^{{tree}}").strip() == want

    written = write_am_mbox(series, tmp_path / "out")
    assert _am_tree(origin, base, written, tmp_path / "am-ours") == want


def test_message_from_line_is_kept(tmp_path: Path) -> None:
    _, _, mbox = _repo_and_series(tmp_path)
    sent = tmp_path / "s.mbox"
    sent.write_bytes(mbox)
    third = build_series(read_local(str(sent), None)).revision.patches[2]
    assert third.message.startswith("From the user's point of view")


def test_binary_patches_first_middle_last_apply_as_git_am(tmp_path: Path) -> None:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name in ("b.c", "m.c", "z.c"):
        (repo / name).write_text(f"int {name[0]};\n")
    _commit(repo, "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    blobs = {"a.bin": bytes(range(256)) * 4, "m.bin": b"\x00\xff" * 300, "zz.bin": b"\x7fELF" + bytes(500)}
    for binary, texts in (("a.bin", ["m.c"]), ("m.bin", ["b.c", "z.c"]), ("zz.bin", ["b.c"])):
        (repo / binary).write_bytes(blobs[binary])
        for name in texts:
            (repo / name).write_text((repo / name).read_text() + f"int {binary[0]}2;\n")
        _commit(repo, f"fw: add {binary}\n\nSigned-off-by: Test Author <author@example.org>")
    sent = tmp_path / "fw.mbox"
    sent.write_bytes(git_bytes(repo, "format-patch", "--stdout", f"{base}..HEAD"))
    want = git(repo, "rev-parse", "HEAD^{tree}").strip()
    series = build_series(read_local(str(sent), None))
    positions = [[f.binary for f in p.summary.files] for p in series.revision.patches]
    assert positions == [[True, False], [False, True, False], [False, True]]  # first, middle, last
    done = run_patchtool("apply", sent, "--repo", repo, "--base", base, "--json")
    assert done.code == 0, done.stderr
    head = json.loads(done.stdout)["head"]
    assert git(repo, "rev-parse", f"{head}^{{tree}}").strip() == want
    written = write_am_mbox(series, tmp_path / "out")
    assert _am_tree(repo, base, written, tmp_path / "am-ours") == want
