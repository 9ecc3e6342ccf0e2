"""Fixtures for the mini QEMU world: one generation per test session, and private copies of it.

`minitree` (session) is shared: treat its repository as read-only. Tests that change a repository
(apply, checkout, build in place) take `minitree_copy`, a private copy of the repository as it was
generated (copied from a pristine snapshot, so changes other tests made to the shared one never leak in).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchtool.demo.minitree import MiniTree, generate


@pytest.fixture(scope="session")
def _minitree_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[MiniTree, Path]:
    world = generate(tmp_path_factory.mktemp("minitree") / "world")
    pristine = world.repo.parent.parent / "pristine-qemu"
    shutil.copytree(world.repo, pristine, symlinks=True)
    return world, pristine


@pytest.fixture(scope="session")
def minitree(_minitree_world: tuple[MiniTree, Path]) -> MiniTree:
    """The generated world (repository + series mboxes), made once per test session."""
    return _minitree_world[0]


@pytest.fixture
def minitree_copy(_minitree_world: tuple[MiniTree, Path], tmp_path: Path) -> Path:
    """A private copy of the mini tree's repository as generated (all refs, checked out at main)."""
    dest = tmp_path / "qemu"
    shutil.copytree(_minitree_world[1], dest, symlinks=True)
    return dest
