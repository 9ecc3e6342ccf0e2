"""`patchtool report` from the command line: formats, output file, exit codes, bad usage."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

from tests.conftest import ROOT, run_patchtool
from tests.plugins.gitutil import snapshot_repo

MBOX = ROOT / "fixtures" / "mail" / "reaper-v2.mbox"


def test_report_terminal_on_the_fixture_series() -> None:
    result = run_patchtool("report", MBOX)
    assert result.code == 0, result.stderr
    assert "accel/kvm: wake the dirty ring reaper" in result.stdout
    assert "apply    not run  no repository (use --repo)" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when stdout is not a terminal


def test_report_writes_the_file_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "reply.eml"
    result = run_patchtool("report", MBOX, "--format", "email", "-o", out, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert result.stdout == "" and f"report written to {out}" in result.stderr
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert msg["Subject"].startswith("Re: [PATCH v2]")
    assert msg["In-Reply-To"] == "<20260605081512.4411-1-lqiao@example-cloud.com>"
    assert msg["From"].addresses[0].addr_spec == "user@example.org"  # the user's git identity


def test_report_json_on_stdout() -> None:
    result = run_patchtool("report", MBOX, "-f", "json")
    data = json.loads(result.stdout)
    again = json.loads(run_patchtool("report", MBOX, "--json").stdout)
    assert {**again, "generated": ""} == {**data, "generated": ""}
    assert data["verdict"] == "pass" and data["apply"] is None and data["series"]["revision"] == 2


def test_series_that_does_not_apply_exits_1_and_still_reports(tmp_path: Path, kvm_repo: Path) -> None:
    before = snapshot_repo(kvm_repo)
    out = tmp_path / "r.md"
    result = run_patchtool("report", MBOX, "--repo", kvm_repo, "-f", "md", "-o", out)
    assert result.code == 1, result.stderr
    text = out.read_text()
    assert "| apply | failed |" in text and "conflict" in text
    assert "Overall KVM CPUs" in text  # MAINTAINERS of the repository were read
    assert snapshot_repo(kvm_repo) == before


def test_bad_usage_exits_2() -> None:
    assert run_patchtool("report", MBOX, "--format", "pdf").code == 2
    result = run_patchtool("report", MBOX, "--build")
    assert result.code == 2 and "error: --build, --test and --bisect-test need --repo" in result.stderr
    missing = run_patchtool("report", "/nonexistent/series.mbox")
    assert missing.code == 2 and "Traceback" not in missing.stderr


def test_help_has_an_example() -> None:
    for command in ("report", "demo"):
        result = run_patchtool(command, "--help")
        assert result.code == 0 and "Example:" in result.stdout


def test_incomplete_series_is_reported_as_a_failed_stage(tmp_path: Path, minitree: object) -> None:
    full = minitree.series_path("dirty-ring-v4").read_text(encoding="utf-8")  # type: ignore[attr-defined]
    mails = re.split(r"(?m)^(?=From [0-9a-f]{40} )", full)
    kept = [m for m in mails if "03/13]" not in m.split("\n\n", 1)[0]]
    mbox = tmp_path / "incomplete.mbox"
    mbox.write_text("".join(kept), encoding="utf-8")
    result = run_patchtool("report", mbox, "--repo", minitree.repo, "-f", "json")  # type: ignore[attr-defined]
    assert result.code == 1, result.stderr
    stages = {s["name"]: (s["state"], s["detail"]) for s in json.loads(result.stdout)["stages"]}
    assert stages["parse"] == ("failed", "missing 3/13")
    assert stages["apply"] == ("failed", "the series is incomplete (missing 3/13)")
    assert stages["build"] == ("not run", "the series was not applied")
