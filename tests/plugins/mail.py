"""Shared helpers for the mail/series tests: fixture paths, real repos for `git am`, a schema checker."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.gitutil import git

MAIL = Path(__file__).resolve().parents[2] / "fixtures" / "mail"


def mail_fixture(name: str) -> Path:
    return MAIL / name


def preimage_repo(dest: Path, preimage: str | None = "reaper-preimage") -> Path:
    """A real repository whose first commit holds the files a fixture's patches apply to."""
    if preimage is None:
        dest.mkdir(parents=True)
        (dest / "README").write_text("mini tree\n")
    else:
        shutil.copytree(MAIL / preimage, dest)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "initial")
    return dest


def check_schema(
    value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$"
) -> None:
    """A small JSON Schema checker (type, properties, required, items, enum, $ref, additionalProperties)."""
    root = root or schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        check_schema(value, target, root, path)
        return
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
        ok = any(
            (t == "integer" and isinstance(value, int) and not isinstance(value, bool))
            or (t == "number" and isinstance(value, int | float) and not isinstance(value, bool))
            or (t in kinds and isinstance(value, kinds[t]))
            for t in allowed
        )
        assert ok, f"{path}: {value!r} is not of type {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                check_schema(item, props[key], root, f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                check_schema(item, schema["additionalProperties"], root, f"{path}.{key}")
            else:
                assert schema.get("additionalProperties", True) is not False, f"{path}: unexpected {key}"
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check_schema(item, schema["items"], root, f"{path}[{i}]")


@pytest.fixture
def mail_dir() -> Path:
    return MAIL
