"""Builders for Series/Patch records and a small QEMU-like C repository, for the checks and report tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from patchtool.errors import InputError
from patchtool.models import Address, DiffstatLine, DiffSummary, Patch, Revision, Series, Trailer
from patchtool.parse.diffs import summarize_diff
from tests.plugins.gitutil import git, make_repo

AUTHOR = Address("Ada Lovelace", "ada@example.org")
_TRAILER = re.compile(r"^([A-Za-z][A-Za-z-]*): (.+)$")
_PERSON = re.compile(r"^(.*?)\s*<([^>]+)>$")


def trailers_of(message: str) -> tuple[Trailer, ...]:
    """A simple trailer reader for building test records (the real one lives in the series parser)."""
    last = message.strip().split("\n\n")[-1]
    out = []
    for line in last.splitlines():
        m = _TRAILER.match(line)
        if m:
            p = _PERSON.match(m.group(2))
            addr = Address(p.group(1), p.group(2)) if p else None
            out.append(Trailer(m.group(1), m.group(2), addr))
    return tuple(out)


def diffstat_of(diff: str) -> tuple[DiffstatLine, ...]:
    counts: dict[str, int] = {}
    path = None
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            path = line.split(" b/", 1)[1]
            counts[path] = 0
        elif path and line[:1] in "+-" and not line.startswith(("+++", "---")):
            counts[path] += 1
    return tuple(DiffstatLine(p, n) for p, n in counts.items())


def summary_of(diff: str) -> DiffSummary:
    """The diff's summary as the series parser makes it; empty for text that is not a diff."""
    try:
        return summarize_diff(diff)
    except InputError:
        return DiffSummary((), (), 0, 0)


def make_patch(
    diff: str,
    *,
    title: str = "kvm: wake the reaper",
    message: str = "Wake it.\n\nSigned-off-by: Ada Lovelace <ada@example.org>\n",
    author: Address = AUTHOR,
    sender: Address | None = None,
    index: int = 1,
    total: int = 1,
    diffstat: Sequence[DiffstatLine] | None = None,
    review: Sequence[Trailer] = (),
    msgid: str | None = None,
    revision: int = 2,
    notes: str = "",
) -> Patch:
    prefix = f"PATCH v{revision}" if revision > 1 else "PATCH"
    counter = f" {index}/{total}" if total > 1 else ""
    return Patch(
        msgid=msgid or f"20260601.{index}.v{revision}@example.org",
        index=index,
        total=total,
        subject=f"[{prefix}{counter}] {title}",
        title=title,
        author=author,
        date=None,
        message=message,
        trailers=trailers_of(message),
        review_trailers=tuple(review),
        notes=notes,
        diffstat=tuple(diffstat_of(diff) if diffstat is None else diffstat),
        diff=diff,
        summary=summary_of(diff),
        sender=sender,
    )


def make_series(patches: Sequence[Patch], revision: int = 2, others: Sequence[int] = (1,)) -> Series:
    revs = [Revision(n, ("PATCH",), len(patches), None, (), (), ()) for n in others]
    revs.append(Revision(revision, ("PATCH",), len(patches), None, tuple(patches), (), ()))
    return Series(title=patches[0].title, revisions=tuple(revs), chosen=revision, findings=())


KVM_H = """#ifndef KVM_H
#define KVM_H
int kvm_enabled(void);

void kvm_flush(int level);

#endif
"""
KVM_STUB = """#include "system/kvm.h"

int kvm_enabled(void)
{
    return 0;
}
"""
KVM_ALL = """#include "system/kvm.h"

static void kvm_reaper_init(int ring)
{
    (void)ring;
}

int kvm_enabled(void)
{
    kvm_reaper_init(4);
    return 1;
}

void kvm_flush(int level)
{
    (void)level;
}
"""
DIRTYLIMIT = """#include "system/kvm.h"

void dirtylimit_finish(void)
{
    kvm_flush(1);
}
"""
MAINTAINERS = """QEMU Maintainers
================

The intention of this file is to say who looks after what.

	M: Mail patches to: FullName <address@domain>

KVM
---
Overall KVM CPUs
M: Paula Bonzo <paula@example.org>
R: Rita Viewer <rita@example.org>
L: kvm@example.org
S: Supported
F: accel/kvm/
F: accel/stubs/kvm-stub.c
F: include/system/kvm*.h
X: accel/kvm/trace-events

Dirty limit
M: Hy Mann <hy@example.org>
S: Maintained
F: system/dirtylimit.c
K: dirty.?limit

RCU
M: Pat Ruse <pat@example.org>
S: Odd Fixes
K: \\bcall_rcu\\b
"""
CHECKPATCH = r"""#!/usr/bin/perl
# A tiny style checker with checkpatch's output shape, for tests.
use strict;
my ($errors, $warnings, $file, $line) = (0, 0, '', 0);
my $n = 0;
while (my $l = <>) {
    $n++;
    chomp $l;
    if ($l =~ m{^\+\+\+ b/(.*)}) { $file = $1; next; }
    if ($l =~ m{^@@ -\d+(?:,\d+)? \+(\d+)}) { $line = $1 - 1; next; }
    if ($l =~ /^[ +]/) { $line++; }
    if ($l =~ /^\+.*[ \t]$/) {
        print "ERROR: trailing whitespace\n#$n: FILE: $file:$line:\n$l\$\n\n"; $errors++;
    }
    if ($l =~ /^\+.*\bsleep\(/) {
        print "WARNING: use g_usleep() instead of sleep()\n#$n: FILE: $file:$line:\n$l\n\n"; $warnings++;
    }
}
print "total: $errors errors, $warnings warnings, $n lines checked\n";
exit($errors ? 1 : 0);
"""


def make_kvm_repo(path: Path, checkpatch: bool = True, maintainers: str = MAINTAINERS) -> Path:
    files = {
        "include/system/kvm.h": KVM_H,
        "accel/stubs/kvm-stub.c": KVM_STUB,
        "accel/kvm/kvm-all.c": KVM_ALL,
        "system/dirtylimit.c": DIRTYLIMIT,
        "MAINTAINERS": maintainers,
    }
    if checkpatch:
        files["scripts/checkpatch.pl"] = CHECKPATCH
    make_repo(path, files, message="kvm: initial tree")
    return path


def diff_after(repo: Path, edits: dict[str, str]) -> str:
    """The diff git makes for these edits (files replaced by the given text), then undone."""
    for name, text in edits.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD")
    git(repo, "clean", "-qfd")
    return diff


@pytest.fixture
def kvm_repo(tmp_path: Path) -> Path:
    return make_kvm_repo(tmp_path / "qemu")


@pytest.fixture
def kvm_diff(kvm_repo: Path) -> Callable[[dict[str, str]], str]:
    return lambda edits: diff_after(kvm_repo, edits)


# ---- golden files -------------------------------------------------------------------------------

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output (review the diff before committing)",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """golden(name, text): compare text with tests/golden/NAME, or rewrite it when regenerating.

    Regenerate with `pytest --regen-golden` or PATCHTOOL_REGEN_GOLDEN=1.
    """
    import os

    regen = (
        bool(request.config.getoption("--regen-golden")) or os.environ.get("PATCHTOOL_REGEN_GOLDEN") == "1"
    )

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if regen:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"{path} is missing: run pytest --regen-golden and review it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (pytest --regen-golden to update)"

    return check


# ---- report contexts for the golden and browser tests ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURE_MBOX = "fixtures/mail/reaper-v2.mbox"
HOSTILE_TITLE = 'kvm: <script>alert("pwned")</script> & <b>bold</b> reaper'


def hostile_mbox(dest: Path) -> Path:
    """The fixture series with a subject full of markup, as a mail file a test can parse."""
    text = (ROOT / FIXTURE_MBOX).read_text(encoding="utf-8")
    text = re.sub(
        r"^Subject: .*(?:\n .*)*", f"Subject: [PATCH v2] {HOSTILE_TITLE}", text, count=1, flags=re.M
    )
    dest.write_text(text, encoding="utf-8")
    return dest


GENERATED = "2026-06-08T09:00:00+00:00"
SENDER = "Mo Maint <mo@maint.example.com>"  # the reviewer sending the reply e-mail


def fixture_context(monkeypatch: pytest.MonkeyPatch) -> object:
    """The bundled fixture series, parsed and checked without a repository (apply/build/test not run)."""
    import datetime as dt

    from patchtool.config import load_settings
    from patchtool.fetch import resolve_source
    from patchtool.parse.series import build_series
    from patchtool.report.context import build_context
    from patchtool.review.checks import run_checks

    monkeypatch.chdir(ROOT)
    raw = resolve_source(FIXTURE_MBOX, load_settings())
    series = build_series(raw)
    return build_context(
        series, run_checks(series), raw=raw, generated=dt.datetime.fromisoformat(GENERATED), reply_from=SENDER
    )
