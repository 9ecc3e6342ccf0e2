"""A tls:// scheduler and worker started with the `dask` CLI; patchtool reaches them with Dask's
own security settings (DASK_DISTRIBUTED__COMM__TLS__* variables), and not without them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_patchtool
from tests.plugins.buildtree import make_project

pytestmark = pytest.mark.slow


def _certs(root: Path) -> dict[str, Path]:
    """A CA of ours and one certificate for 127.0.0.1 signed by it (all roles share it here)."""
    ca_key, ca, key, csr, cert = (root / n for n in ("ca.key", "ca.pem", "node.key", "node.csr", "node.pem"))
    ext = root / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    steps = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=patchtool test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ]
    for argv in steps:
        subprocess.run(["openssl", *map(str, argv)], check=True, capture_output=True)
    return {"ca": ca, "key": key, "cert": cert}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tls_cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    certs = _certs(tmp_path)
    tls = ["--tls-ca-file", str(certs["ca"]), "--tls-cert", str(certs["cert"]),
           "--tls-key", str(certs["key"])]
    port = _free_port()
    address = f"tls://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    env = {**os.environ, "PATCHTOOL_DATA_DIR": str(tmp_path / "wdata"),
           "PATCHTOOL_CACHE_DIR": str(tmp_path / "wc")}
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--protocol", "tls",
                                  "--no-dashboard", *tls], env=env, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                               "--nthreads", "1", "--no-dashboard", *tls], env=env, stderr=subprocess.DEVNULL)
    client_env = {
        "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(certs["ca"]),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(certs["cert"]),
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(certs["key"]),
    }
    try:
        time.sleep(3)
        yield address, client_env
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


def test_a_tls_cluster_works_with_dasks_security_settings(
    tmp_path: Path, tls_cluster: tuple[str, dict[str, str]]
) -> None:
    address, client_env = tls_cluster
    repo = make_project(tmp_path / "demo")
    env = {"PATCHTOOL_DATA_DIR": str(tmp_path / "data"), "PATCHTOOL_CACHE_DIR": str(tmp_path / "cache"),
           "PATCHTOOL_TIMEOUT": "20"}
    done = run_patchtool("test", "unit-add", "--repeat", "4", "--repo", repo, "--cluster", address,
                         env={**env, **client_env})
    assert done.code == 0, done.stderr
    assert "unit-add: pass — 0/4 failed" in done.stdout and "warning" not in done.stderr
    refused = run_patchtool("test", "unit-add", "--repo", repo, "--cluster", address,
                            env={**env, "PATCHTOOL_TIMEOUT": "5"})
    assert refused.code == 3
    assert refused.stderr.strip() == (
        f"error: cluster {address}: no TLS settings (set distributed.comm.tls.* in Dask's configuration)")
