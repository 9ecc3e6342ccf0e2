"""`patchtool demo`: the whole pipeline on the mini tree, from the checkout and from a wheel install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_patchtool

pytestmark = pytest.mark.slow
# Read before the hermetic fixture moves HOME: reuse the user's pip cache for the wheel build.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def _check_demo_output(stdout: str) -> Path:
    assert re.search(r"^  apply +ok ", stdout, re.M), stdout
    assert re.search(r"^  build +ok ", stdout, re.M), stdout
    assert re.search(r"^  func-alpha-replay +(pass|flaky|fail) +\d+/4 failed", stdout, re.M), stdout
    assert "Overall KVM CPUs" in stdout
    m = re.search(r"^HTML report: (.+)$", stdout, re.M)
    assert m, stdout
    html = Path(m.group(1))
    text = html.read_text(encoding="utf-8")
    assert 'id="test-rates"' in text and '<details class="patch"' in text
    return html


def test_demo_in_a_directory_keeps_everything(tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_patchtool("demo", "--dir", tmp_path / "demo", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert time.monotonic() - start < 120
    html = _check_demo_output(result.stdout)
    assert html == tmp_path / "demo" / "report.html"
    assert (tmp_path / "demo" / "world" / "qemu" / ".git").is_dir()


def test_demo_in_a_temporary_directory_leaves_only_the_report(tmp_path: Path) -> None:
    result = run_patchtool("demo", cwd=tmp_path, env={"TMPDIR": str(tmp_path)})
    assert result.code == 0, result.stderr
    html = _check_demo_output(result.stdout)
    assert html.parent.parent == tmp_path and html.parent.name.startswith("patchtool-demo-")
    assert [p.name for p in html.parent.iterdir()] == ["report.html"]


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    result = run_patchtool("demo", "--dir", tmp_path)
    assert result.code == 2 and "not empty" in result.stderr
    assert (tmp_path / "x").read_text() == "mine"


def _pip(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PIP_CACHE_DIR=PIP_CACHE, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run(
        [str(python), "-m", "pip", *args], cwd=cwd, env=env, capture_output=True, timeout=900, check=False
    )


def test_demo_from_a_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheelhouse"
    built = _pip(Path(sys.executable), "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT), cwd=tmp_path)
    assert built.returncode == 0, built.stderr.decode()[-3000:]
    wheel = next(wheels.glob("patchtool-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # Offline first (wheels already downloaded, e.g. a CI wheelhouse), else the package registry.
    links = [f"--find-links={wheels}"] + [
        f"--find-links={d}" for d in os.environ.get("PATCHTOOL_WHEELHOUSE", "").split(os.pathsep) if d
    ]
    done = _pip(python, "install", "-q", "--no-index", *links, str(wheel), cwd=tmp_path)
    if done.returncode != 0:
        done = _pip(python, "install", "-q", str(wheel), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    where = subprocess.run(
        [str(python), "-c", "import patchtool.resources as r; print(r.templates_dir())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(venv)) and "_data" in where.stdout
    demo = subprocess.run(
        [str(venv / "bin" / "patchtool"), "demo", "--dir", str(tmp_path / "demo")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert _check_demo_output(demo.stdout).is_file()
