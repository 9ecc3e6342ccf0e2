"""checkpatch's errors on lines that follow the style of the file they are added to.

The tree's checkpatch.pl here is ours: one rule (no tab indentation), for patches and, with -f,
for whole files, printing what QEMU's prints (`ERROR: ...` then `#N: FILE: path:line:`).
"""

from __future__ import annotations

from pathlib import Path

from patchtool.review.checks import run_checks
from patchtool.review.file_style import base_rule_counts, rule_of
from patchtool.vcs.repo import GitRepo
from tests.plugins.gitutil import make_repo
from tests.plugins.reportkit import diff_after, make_patch, make_series

TABS_CHECKPATCH = r"""use strict;
use warnings;
my $file_mode = 0;
my $tabs = "ERROR: code indent should never use tabs";
my @inputs;
for (@ARGV) {
    if ($_ eq '-f') { $file_mode = 1 } elsif (!/^-/) { push @inputs, $_ }
}
for my $in (@inputs) {
    open(my $fh, '<', $in) or die "$in: $!";
    my ($path, $n, $line) = ($in, 0, 0);
    while (my $text = <$fh>) {
        $n++;
        if ($file_mode) {
            print "$tabs\n#$n: FILE: $path:$n:\n+$text\n" if $text =~ /^\t/;
            next;
        }
        if ($text =~ /^\+\+\+ b\/(\S+)/) { $path = $1; next }
        if ($text =~ /^@@ -\d+(?:,\d+)? \+(\d+)/) { $line = $1; next }
        next unless $line;
        if ($text =~ /^\+/) {
            print "$tabs\n#$n: FILE: $path:$line:\n$text\n" if $text =~ /^\+\t/;
            $line++;
        } elsif ($text =~ /^ /) {
            $line++;
        }
    }
}
"""


def _lines(tabbed: int, total: int) -> str:
    return "".join(("\tx();\n" if i < tabbed else "    y();\n") for i in range(total))


FILES = {
    "hw/imported.c": _lines(20, 30),  # the file's own style: tabs on two thirds of its lines
    "hw/legacy.c": _lines(12, 300),  # a few old tabs (4 %): new code follows QEMU's style
    "hw/tiny.c": _lines(5, 6),  # tabs nearly everywhere, but on too few lines to say
}


def _findings(tmp_path: Path) -> list[tuple[str, str]]:
    files = {"scripts/checkpatch.pl": TABS_CHECKPATCH, "MAINTAINERS": "", "README": "hello\n", **FILES}
    repo = make_repo(tmp_path / "q", files)
    edits = {path: text + "\tadded();\n" for path, text in FILES.items()}
    edits["hw/new.c"] = _lines(2, 2)  # a file the patch adds has no style of its own yet
    diff = diff_after(repo, edits)
    r = GitRepo(repo)
    found = run_checks(make_series([make_patch(diff)]), repo=r, base=r.rev_parse("HEAD")).findings
    return [(f.severity, f.message) for f in found if f.code == "checkpatch"]


def test_an_error_that_follows_the_files_own_style_is_a_note(tmp_path: Path) -> None:
    rule = "checkpatch: code indent should never use tabs"
    assert sorted(_findings(tmp_path)) == [
        # hw/legacy.c: 12 of 300 lines (4 %); hw/tiny.c: 5 lines only; hw/new.c: added by the patch
        ("error", f"{rule} (4 times: hw/legacy.c:301, hw/new.c:1, hw/new.c:2, hw/tiny.c:7)"),
        ("info", f"{rule}; the file's own style: it breaks this rule on 20 of its 30 lines"),
    ]


def test_a_rule_is_its_message_without_what_it_quotes_or_counts() -> None:
    assert rule_of("checkpatch: space required before the open parenthesis '('") == rule_of(
        "space required before the open parenthesis '{'"
    )
    assert rule_of("checkpatch: suspect code indent for conditional statements (8, 13)") == rule_of(
        "suspect code indent for conditional statements (4, 9)"
    )
    assert rule_of("checkpatch: trailing whitespace (5 times: a.c:1, a.c:2)") == "trailing whitespace"
    assert rule_of("spaces required around that '=' (ctx:WxV)") == rule_of("spaces required around that '<' ")
    assert rule_of("trailing whitespace") != rule_of("code indent should never use tabs")


def test_a_path_that_would_leave_the_work_folder_or_read_as_an_option_is_not_run(tmp_path: Path) -> None:
    files = {"scripts/checkpatch.pl": TABS_CHECKPATCH, "-x.c": _lines(20, 30), "hw/a.c": _lines(20, 30)}
    repo = GitRepo(make_repo(tmp_path / "q", files))
    script, work = tmp_path / "q" / "scripts" / "checkpatch.pl", tmp_path / "work"
    work.mkdir()
    base = repo.rev_parse("HEAD")
    assert base_rule_counts(repo, base, "hw/a.c", script, work) is not None
    assert base_rule_counts(repo, base, "-x.c", script, work) is None
    assert base_rule_counts(repo, base, "../hw/a.c", script, work) is None
    assert base_rule_counts(repo, base, "/etc/hostname", script, work) is None
    assert not (tmp_path / "hw").exists()
