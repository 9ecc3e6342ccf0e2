"""MAINTAINERS in QEMU's format: sections, F:/X: globs, K: keywords, N: regexes, and who approved."""

from __future__ import annotations

import pytest

from patchtool.models import Address, Trailer
from patchtool.review import maintainers
from patchtool.review.maintainers import (
    Section,
    owners_in,
    owners_of,
    parse_address,
    parse_mailmap,
    parse_maintainers,
    path_matches,
    section_covers,
    subsystems_for,
)
from tests.plugins.reportkit import MAINTAINERS


def test_sections_and_tags_are_parsed() -> None:
    m = parse_maintainers(MAINTAINERS)
    assert [s.name for s in m.sections] == ["Overall KVM CPUs", "Dirty limit", "RCU"]
    kvm = m.sections[0]
    assert kvm.maintainers == (Address("Paula Bonzo", "paula@example.org"),)
    assert kvm.reviewers == (Address("Rita Viewer", "rita@example.org"),)
    assert kvm.lists == ("kvm@example.org",) and kvm.status == "Supported"
    assert kvm.excludes == ("accel/kvm/trace-events",)
    assert m.sections[2].keywords == ("\\bcall_rcu\\b",)


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("accel/kvm/kvm-all.c", "accel/kvm/", True),
        ("accel/kvm/sub/x.c", "accel/kvm/", True),
        ("accel/kvmx/x.c", "accel/kvm/", False),
        ("include/system/kvm_int.h", "include/system/kvm*.h", True),
        ("include/system/sub/kvm.h", "include/system/kvm*.h", False),
        ("accel/kvm/x.c", "accel/kvm", True),
        ("hw/a.c", "hw/?.c", True),
        ("hw/ab.c", "hw/?.c", False),
        # a bracket class names one character (13 F: lines of QEMU's: `target/i386/*.[ch]`)
        ("target/i386/cpu.c", "target/i386/*.[ch]", True),
        ("target/i386/cpu.h", "target/i386/*.[ch]", True),
        ("target/i386/cpu.o", "target/i386/*.[ch]", False),
        ("target/i386/tcg/x.c", "target/i386/*.[ch]", False),
        ("target/i386/*.[ch]", "target/i386/*.[ch]", False),
        ("dtb/pegasos2.dtb", "dtb/pegasos[12].dt[sb]", True),
        ("dtb/pegasos3.dtb", "dtb/pegasos[12].dt[sb]", False),
        ("hw/b.c", "hw/[a-c].c", True),
        ("hw/d.c", "hw/[^a-c].c", True),
        ("hw/a.c", "hw/[^a-c].c", False),
        ("hw/[x", "hw/[x", True),
        ("hw/[x/y.c", "hw/[x", True),
    ],
)
def test_path_patterns(path: str, pattern: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected


_PATTERNS = ("accel/kvm/", "include/system/kvm*.h", "hw/?.c", "docs/kvm", "a.b/c+d.c", "hw/x*.[ch]")
_PATHS = (
    "accel/kvm/x.c", "accel/kvm/sub/y.c", "accel/kvmx/x.c", "include/system/kvm_int.h",
    "include/system/sub/kvm.h", "hw/a.c", "hw/ab.c", "docs/kvm", "docs/kvm/index.rst", "docs/kvmx",
    "a.b/c+d.c", "aXb/c+d.c", "a.b/ccd.c", "hw/x1.h", "hw/x.c", "hw/x.o", "hw/y/x.c",
)  # fmt: skip


@pytest.mark.parametrize("excludes", [(), ("accel/kvm/sub/",), ("hw/a.c", "docs/kvm/*.rst")])
def test_a_sections_patterns_read_together_cover_what_each_covers(excludes: tuple[str, ...]) -> None:
    section = Section(name="S", files=_PATTERNS, excludes=excludes)
    for path in _PATHS:
        one_by_one = any(path_matches(path, f) for f in _PATTERNS)
        excluded = any(path_matches(path, x) for x in excludes)
        assert section_covers(section, path) is (one_by_one and not excluded), path


def test_a_sections_patterns_are_compiled_once_whatever_the_number_of_files() -> None:
    # a series moving headers touches thousands of files: compiling each pattern for each file
    # took minutes (bench/maintainers_speed.py)
    m = parse_maintainers(MAINTAINERS)
    paths = [f"accel/kvm/file{i}.c" for i in range(300)] + ["accel/kvm/trace-events"]
    maintainers._covering.cache_clear()
    subsystems_for(m, paths)
    for path in paths:
        owners_of(m, path)
    patterns = {s.files for s in m.sections} | {s.excludes for s in m.sections}
    assert maintainers._covering.cache_info().misses <= len(patterns)


def test_owners_read_off_the_sections_found_are_those_maintainers_gives_each_file() -> None:
    # the report finds the sections once; a keyword section (RCU, on the diff) owns no file
    m = parse_maintainers(MAINTAINERS)
    paths = ["accel/kvm/kvm-all.c", "accel/kvm/trace-events", "system/dirtylimit.c", "util/x.c"]
    subs = subsystems_for(m, paths, "+    call_rcu(&n->rcu, free_node);\n")
    assert any(s.by_keyword for s in subs)
    assert owners_in(subs, paths) == tuple(owners_of(m, p) for p in paths)
    assert [o.sections for o in owners_in(subs, paths)] == [("Overall KVM CPUs",), (), ("Dirty limit",), ()]


def test_excluded_file_has_no_owner_from_that_section() -> None:
    m = parse_maintainers(MAINTAINERS)
    assert owners_of(m, "accel/kvm/trace-events").sections == ()
    owners = owners_of(m, "accel/kvm/kvm-all.c")
    assert owners.sections == ("Overall KVM CPUs",)
    assert [a.email for a in owners.maintainers] == ["paula@example.org"]
    assert [a.email for a in owners.reviewers] == ["rita@example.org"]


def test_keyword_sections_match_diff_content() -> None:
    m = parse_maintainers(MAINTAINERS)
    diff = "+++ b/util/x.c\n+    call_rcu(&n->rcu, free_node);\n"
    subs = subsystems_for(m, ["util/x.c"], diff)
    assert [(s.section.name, s.by_keyword) for s in subs] == [("RCU", True)]
    assert subsystems_for(m, ["util/x.c"], "+    rcu_read_lock();\n") == ()


def test_approvals_come_from_section_people_only() -> None:
    m = parse_maintainers(MAINTAINERS)
    trailers = [
        Trailer("Reviewed-by", "Rita Viewer <RITA@example.org>", Address("Rita Viewer", "RITA@example.org")),
        Trailer("Acked-by", "Someone Else <else@example.org>"),
        Trailer("Tested-by", "Hy Mann <hy@example.org>"),
    ]
    subs = {
        s.section.name: s
        for s in subsystems_for(m, ["accel/kvm/kvm-all.c", "system/dirtylimit.c"], "", trailers)
    }
    assert [a.email for a in subs["Overall KVM CPUs"].approved_by] == ["rita@example.org"]
    assert subs["Dirty limit"].approved_by == ()  # Tested-by is not an approval


def test_parse_address_forms() -> None:
    assert parse_address('"Doe, John" <j@x.org>') == Address("Doe, John", "j@x.org")
    assert parse_address("j@x.org") == Address("", "j@x.org")


def test_broken_keyword_regex_is_ignored() -> None:
    m = parse_maintainers("Broken\nM: A <a@x.org>\nK: (unclosed\nF: a/\n")
    assert [s.section.name for s in subsystems_for(m, ["b/c"], "+(unclosed\n")] == []


def test_group_heading_underline_keeps_the_title() -> None:
    m = parse_maintainers(
        "General Project Administration\n------------------------------\nM: A B <a@x.org>\n"
    )
    assert [s.name for s in m.sections] == ["General Project Administration"]


def test_review_from_a_mailmap_address_counts() -> None:
    # The reviewer moved to a new address; the tree's .mailmap maps it to the one in MAINTAINERS.
    m = parse_maintainers(MAINTAINERS)
    mailmap = parse_mailmap(
        "# comment\nRita Viewer <rita@example.org> <rita@new.example.com>\nOnly Name <x@example.org>\n"
    )
    assert mailmap == {"rita@new.example.com": "rita@example.org"}
    review = [
        Trailer("Reviewed-by", "R. V. <rita@new.example.com>", Address("R. V.", "rita@new.example.com"))
    ]
    subs = subsystems_for(m, ["accel/kvm/kvm-all.c"], "", review, mailmap)
    assert [a.email for a in subs[0].approved_by] == ["rita@example.org"] and subs[0].by_name == ()
    assert subsystems_for(m, ["accel/kvm/kvm-all.c"], "", review)[0].approved_by == ()


def test_review_by_the_same_full_name_counts_and_says_so() -> None:
    m = parse_maintainers(MAINTAINERS)
    other = Address("Rita Viewer", "rviewer@corp.example.com")
    review = [Trailer("Reviewed-by", str(other), other)]
    sub = subsystems_for(m, ["accel/kvm/kvm-all.c"], "", review)[0]
    assert [a.email for a in sub.approved_by] == ["rita@example.org"]
    assert sub.by_name == ((Address("Rita Viewer", "rita@example.org"), other),)
