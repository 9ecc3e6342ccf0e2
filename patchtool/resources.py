"""Find data shipped with patchtool: templates and fixtures, in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory for `name` ("templates" or "fixtures").

    A wheel carries them under patchtool/_data/; a source checkout (editable install, tests)
    has them at the project root beside the package.
    """
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"patchtool data directory {name!r} is missing from this install")


def templates_dir() -> Path:
    return data_dir("templates")


def fixtures_dir() -> Path:
    return data_dir("fixtures")
