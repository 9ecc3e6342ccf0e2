"""Hermetic test environment: no user config, fixed identities and dates, no network, no proxies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Area plugins: each helper area keeps its shared fixtures in tests/plugins/<area>.py.
pytest_plugins = [
    "tests.plugins.gitutil",
    "tests.plugins.minitree",
    "tests.plugins.mail",
    "tests.plugins.applyrepo",
    "tests.plugins.reportkit",
    "tests.plugins.buildtree",
    "tests.plugins.httpreplay",
]

_ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


@pytest.fixture(autouse=True, scope="session")
def _no_internet() -> Iterator[None]:
    """Fail any test that tries to reach a host other than loopback."""
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def _check(address: object) -> None:
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            host = address[0]
            if host not in _ALLOWED_HOSTS and not host.startswith("127."):
                raise RuntimeError(f"test tried to reach the internet: {address!r}")

    def guarded_connect(self: socket.socket, address: object) -> None:
        _check(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_create(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        _check(address)
        return real_create(address, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.create_connection = guarded_create  # type: ignore[assignment]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.create_connection = real_create


HERMETIC_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+0000",
    "GIT_EDITOR": "false",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "TZ": "UTC",
    "LC_ALL": "C.UTF-8",
    "NO_COLOR": "1",
    "COLUMNS": "120",
}
_CLEARED = (
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "PATCHTOOL_PATCHEW_URL",
    "PATCHTOOL_PATCHEW_GIT",
    "PATCHTOOL_PATCHWORK_URL",
    "PATCHTOOL_LORE_URL",
    "PATCHTOOL_PROJECT",
    "PATCHTOOL_LIST",
    "PATCHTOOL_SOURCES",
    "PATCHTOOL_CACHE_DIR",
    "PATCHTOOL_DATA_DIR",
    "PATCHTOOL_DEBUG",
    "PATCHTOOL_STUBS",
)


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and XDG dirs in a fresh temporary directory; fixed git identity and dates."""
    home = tmp_path_factory.mktemp("home")
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    for key, value in HERMETIC_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", str(home))
    for xdg in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        path = home / xdg.lower()
        path.mkdir()
        monkeypatch.setenv(xdg, str(path))
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[user]\n\tname = Test User\n\temail = user@example.org\n"
        '[advice]\n\tdetachedHead = false\n[protocol "file"]\n\tallow = always\n'
    )
    return home


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_patchtool(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    input: bytes | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> CliResult:
    """Run the real command line in a subprocess (as a user would), under the hermetic env."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "patchtool", *map(os.fspath, args)],
        cwd=cwd or ROOT,
        input=input,
        capture_output=True,
        timeout=timeout,
        env=full_env,
        check=False,
    )
    return CliResult(
        done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


@pytest.fixture
def patchtool_cli() -> type[CliResult] | object:
    """The run_patchtool function, as a fixture."""
    return run_patchtool
