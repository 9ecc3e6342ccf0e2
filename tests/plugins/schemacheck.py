"""A small JSON-schema checker for the keywords patchtool's schemas use (no jsonschema dependency)."""

from __future__ import annotations

import json
from pathlib import Path

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def validate(value: object, schema: dict[str, object], root: dict[str, object], path: str = "$") -> list[str]:
    """A small JSON-schema checker for the keywords report.schema.json uses."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return validate(value, root["$defs"][name], root, path)  # type: ignore[index]
    if "anyOf" in schema:
        options = [validate(value, s, root, path) for s in schema["anyOf"]]  # type: ignore[attr-defined]
        return [] if any(not o for o in options) else [f"{path}: matches no alternative"]
    if "const" in schema and value != schema["const"]:
        return [f"{path}: {value!r} is not {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:  # type: ignore[operator]
        return [f"{path}: {value!r} not in {schema['enum']}"]
    if schema.get("type") == "null":
        return [] if value is None else [f"{path}: not null"]
    kind = _TYPES.get(str(schema.get("type")))
    if kind and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        return [f"{path}: {type(value).__name__} is not {schema['type']}"]
    errors: list[str] = []
    if isinstance(value, dict):
        props: dict[str, dict[str, object]] = schema.get("properties", {})  # type: ignore[assignment]
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]  # type: ignore[attr-defined]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {k}" for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                errors += validate(v, props[k], root, f"{path}.{k}")
    if isinstance(value, list):
        if "prefixItems" in schema:
            items = schema["prefixItems"]
            if len(value) != len(items):  # type: ignore[arg-type]
                errors.append(f"{path}: expected {len(items)} items")  # type: ignore[arg-type]
            for i, (v, s) in enumerate(zip(value, items, strict=False)):  # type: ignore[call-overload]
                errors += validate(v, s, root, f"{path}[{i}]")
        elif "items" in schema:
            for i, v in enumerate(value):
                errors += validate(v, schema["items"], root, f"{path}[{i}]")  # type: ignore[arg-type]
    return errors


def report_schema() -> dict[str, object]:
    path = Path(__file__).resolve().parents[2] / "patchtool" / "schemas" / "report.schema.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]
