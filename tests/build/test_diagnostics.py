"""The headline of a failed build: the first real diagnostic, never a ninja progress line."""

from __future__ import annotations

from pathlib import Path

from patchtool.build.diagnostics import first_error, parse_diagnostics

SOURCE = Path("/src/qemu")
BUILD = Path("/data/builds/qemu-1/abc")


def _headline(lines: list[str]) -> str:
    return first_error(parse_diagnostics(lines, BUILD, SOURCE), lines)


def test_linker_line_with_file_and_line_is_the_headline() -> None:
    lines = [
        "[1/23] Compiling C object libqemuutil.a.p/util_rcu.c.o",
        "[2/23] Linking target qemu-system-alpha",
        "FAILED: qemu-system-alpha",
        "/usr/bin/ld: libqemuutil.a.p/util_rcu.c.o: in function `rcu_init':",
        "/usr/bin/ld: /src/qemu/util/rcu.c:412: undefined reference to `rcu_gone'",
        "collect2: error: ld returned 1 exit status",
    ]
    assert _headline(lines) == "util/rcu.c:412: error: undefined reference to `rcu_gone'"
    older = [
        "[2/23] Linking target x",
        "../../../../src/qemu/util/a.c:7:(.text+0x1a): undefined reference to `f'",
    ]
    assert _headline(older) == "util/a.c:7: error: undefined reference to `f'"


def test_linker_and_meson_errors_without_a_line_are_shown_as_said() -> None:
    lines = ["[9/9] Linking target qemu-system-alpha", "/usr/bin/ld: cannot find -lslirp: No such file"]
    assert _headline(lines) == "cannot find -lslirp: No such file"
    meson = ["[1/2] Regenerating build files.", '../meson.build:12:0: ERROR: Unknown variable "x".']
    assert _headline(meson) == '../meson.build:12:0: error: Unknown variable "x".'


def test_a_progress_line_is_never_the_headline() -> None:
    lines = ["[1/23] Compiling C object error-report.c.o", "FAILED: error-report.c.o", "cc: internal failure"]
    assert _headline(lines) == "FAILED: error-report.c.o"
