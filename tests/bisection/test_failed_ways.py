"""How a bisect's failed runs ended, kept per commit: what a prober reads of each run, and the
counts the store keeps of each way (a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

from patchtool.bisection.classify import Verdict
from patchtool.bisection.probe import failure_ways
from patchtool.bisection.replay import forget_rows
from patchtool.bisection.ways import record_endings, record_ways, stored_ways
from patchtool.store import Store


def test_a_batch_keeps_the_way_of_each_failed_run_and_only_those() -> None:
    """Counted failures and those counted apart are kept with their verdicts; a run killed at its
    deadline is "(timed out)" whatever it printed; passes, inconclusive and untestable runs are not
    failures."""
    runs = [
        (Verdict.FAIL, "# Start of drain tests\nkilled by signal 11 SIGSEGV\n", False),
        (Verdict.PASS, "all fine\n", False),
        (Verdict.OTHER, "harness: lost the monitor at step 12\n", False),
        (Verdict.FAIL, "ok 3 /drain/all\n", True),
        (Verdict.INCONCLUSIVE, "no verdict printed\n", True),
        (Verdict.UNTESTABLE, "", False),
    ]
    assert failure_ways(runs) == (
        (Verdict.FAIL, "killed by signal 11 SIGSEGV"),
        (Verdict.OTHER, "harness: lost the monitor at step 12"),
        (Verdict.FAIL, "(timed out)"),
    )


def test_the_store_counts_each_way_per_commit_and_verdict(tmp_path: Path) -> None:
    """Runs that failed alike but for their numbers are one way, shown as the first said it, and
    batches add up; the same words under another verdict, at another commit or of another probe
    are counted apart; --fresh forgets them."""
    a, b = "a" * 40, "b" * 40
    with Store(tmp_path / "s.sqlite3") as store:
        record_ways(store, "k", a, ((Verdict.OTHER, "lost the monitor at step 12"),))
        newest = record_endings(
            store, "k", a, (Verdict.OTHER, ("lost the monitor at step 40",)),
            ((Verdict.OTHER, "lost the monitor at step 40"), (Verdict.FAIL, "lost the monitor at step 7")),
        )  # fmt: skip
        assert newest == (a, Verdict.OTHER, ("lost the monitor at step 40",))
        record_ways(store, "k", b, ((Verdict.FAIL, "killed by signal 11 SIGSEGV"),) * 3)
        record_ways(store, "other", a, ((Verdict.FAIL, "killed by signal 11 SIGSEGV"),))
        assert record_endings(store, "k", b, None, ()) is None
        rows = stored_ways(store, "k", [a, b])
        assert sorted(rows) == sorted([
            (a, Verdict.OTHER, "lost the monitor at step N", "lost the monitor at step 12", 2),
            (a, Verdict.FAIL, "lost the monitor at step N", "lost the monitor at step 7", 1),
            (b, Verdict.FAIL, "killed by signal N SIGSEGV", "killed by signal 11 SIGSEGV", 3),
        ])  # fmt: skip
        assert stored_ways(store, "k", [b]) == [(b, Verdict.FAIL, "killed by signal N SIGSEGV",
                                                 "killed by signal 11 SIGSEGV", 3)]  # fmt: skip
        forget_rows(store, "k")
        assert stored_ways(store, "k", [a, b]) == []
        assert len(stored_ways(store, "other", [a])) == 1
