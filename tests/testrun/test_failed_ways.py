"""The ways a test's failed runs ended, told apart so a bisect can be pointed at one of them."""

from __future__ import annotations

import pytest

from patchtool import proc
from patchtool.cli.build_cmd import _print_ways
from patchtool.testrun.results import RunRecord, failure_way, stats_for

PROGRESS = "1..12\n# Start of drain tests\nok 11 /drain/graph-change\n# Start of iothread tests\n"


def _failed(output: str, result: str = "FAIL") -> RunRecord:
    return RunRecord("t", result, 1.0, output)


def test_a_run_ends_with_its_last_line_and_the_signal_that_ended_it() -> None:
    crashed = proc.with_signal(PROGRESS, -11)  # the harness's progress, then the signal
    assert failure_way(crashed) == "killed by signal 11 SIGSEGV"
    asserted = "ok 3 /a\nERROR:../tests/unit/test-x.c:612:run: assertion failed: (n == 2)\n"
    assert failure_way(proc.with_signal(asserted, 134)) == (
        "ERROR:../tests/unit/test-x.c:612:run: assertion failed: (n == 2)"
        " / (exit status 134 or signal 6 SIGABRT)"
    )
    assert failure_way("harness: lost the monitor\n\n") == "harness: lost the monitor"
    assert failure_way("") == "(no output)"
    # an exit without a signal or a message of its own, wherever its progress stopped
    assert failure_way(PROGRESS) == "(no message after its progress lines)"
    assert failure_way("1..12\nok 1 /drain/all\n") == failure_way(PROGRESS)
    assert failure_way("ok 3 /a\nnot ok 4 /b\n") == "not ok 4 /b"  # a failed TAP case says which
    # a mention of a signal inside the text is not the line that says a signal ended the run
    mention = "peer killed by signal 9 SIGKILL, giving up"
    assert failure_way(mention + "\n") == mention
    long = failure_way("x" * 500 + "END\n")
    assert long.startswith("…") and long.endswith("END") and len(long) == 201


def test_runs_failing_the_same_way_are_counted_together_whatever_their_numbers() -> None:
    runs = [
        _failed(proc.with_signal(PROGRESS, -11)),
        _failed("ERROR:test-x.c:612:run: assertion failed (pid 4242, at 0x7ffd1234)\n"),
        _failed(proc.with_signal("ok 9 /drain/quiesce\n", -11)),
        _failed("ERROR:test-x.c:618:run: assertion failed (pid 77, at 0x55aa)\n"),
        # the same assertion, where a path names the worktree it was built in
        _failed(proc.with_signal("/wt/qemu-0079206bf9c3/block.h:43: Assertion `ok' failed.\n", -6)),
        _failed(proc.with_signal("/wt/qemu-a1b2c3d4e5f6/block.h:47: Assertion `ok' failed.\n", -6)),
        _failed(proc.with_signal(PROGRESS, -11)),
        _failed("cut short\n", "TIMEOUT"),  # a timeout is counted apart, as the words say
        RunRecord("t", "OK", 1.0, "ERROR: this one passed\n"),
    ]
    stats = stats_for("t", runs)
    assert stats.failed_ways == (
        ("killed by signal 11 SIGSEGV", 3),
        ("ERROR:test-x.c:612:run: assertion failed (pid 4242, at 0x7ffd1234)", 2),  # as the first ended
        ("/wt/qemu-0079206bf9c3/block.h:43: Assertion `ok' failed. / killed by signal 6 SIGABRT", 2),
    )
    assert stats.failures == 7 and stats.timeouts == 1


def test_the_words_list_the_ways_only_when_there_are_several(capsys: pytest.CaptureFixture[str]) -> None:
    one = stats_for("t", [_failed("boom 1\n"), _failed("boom 2\n")])
    _print_ways(one)
    assert capsys.readouterr().out == ""
    many = stats_for("t", [_failed(f"way {w}{'x' * w}\n") for w in range(7) for _ in range(7 - w)])
    _print_ways(many)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "      failed 7 ways (bisect --fail-match REGEX counts one, the rest apart):"
    assert lines[1:3] == ["        7 runs: way 0", "        6 runs: way 1x"]
    assert lines[5] == "        3 runs: way 4xxxx"
    assert lines[6:] == ["        3 runs more, 2 other ways"]  # 2 + 1 runs of ways 5 and 6
    six = stats_for("t", [_failed(f"way {w}{'x' * w}\n") for w in range(6) for _ in range(6 - w)])
    _print_ways(six)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("      failed 6 ways") and len(lines) == 7
    assert lines[6] == "        1 run: way 5xxxxx"  # one way left is listed, not "1 other ways"
