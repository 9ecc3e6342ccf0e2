"""The frozen records passed between stages: how they are made (`record`) and turned into JSON.

`record` is `dataclass(frozen=True)` built without generated code. The standard decorator compiles
six methods per class with exec (about 0.5 ms a class, 140 classes: a large share of a one-patch
`fetch`); `record` installs shared ones in 0.04 ms. The class is still a dataclass to
`dataclasses.fields`, `replace`, `asdict` and `is_dataclass`; equality, hashing, repr, defaults,
`default_factory`, `__post_init__` and the frozen error are those of `dataclass(frozen=True)`
(tests/test_records.py holds them side by side).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")
_MISSING = dataclasses.MISSING
_FACTORY = object()  # a default_factory field's default in a compiled __init__: call the factory


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T]) -> type[_T]:
    """Make cls a frozen dataclass, as `@dataclass(frozen=True)` would, without exec."""
    if cls.__doc__ is None:
        cls.__doc__ = cls.__name__  # else dataclass asks inspect for a signature to write one
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)  # fields only: nothing compiled
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        if not f.init or f.kw_only is True:
            raise TypeError(f"record {cls.__qualname__}: field {f.name} needs @dataclass")
    for base in cls.__mro__[1:-1]:
        if dataclasses.is_dataclass(base) and "__record__" not in base.__dict__:
            raise TypeError(f"record {cls.__qualname__}: base {base.__qualname__} is not a record")
    shown = tuple(f.name for f in fields if f.repr)
    compared = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    methods: dict[str, object] = {
        "__init__": _init(cls, fields),
        "__repr__": _repr(shown),
        "__eq__": _eq(compared),
        "__hash__": _hash(hashed),
        "__setattr__": _frozen_setattr(cls, fields),
        "__delattr__": _frozen_delattr(cls, fields),
        "__record__": True,
    }
    for name, value in methods.items():
        setattr(cls, name, value)
    return cls


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """A stand-in that compiles the class's real __init__ on its first instantiation.

    Most record classes of a run are never instantiated; those that are get the same __init__
    `dataclass` would write (one exec, ~0.1 ms), so construction stays as fast as a dataclass's and
    argument errors read the same.
    """
    seen_default = ""
    for f in fields:
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = f.name
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument {seen_default!r}")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        compiled = _compile_init(cls, fields)
        type.__setattr__(cls, "__init__", compiled)
        compiled(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _compile_init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    namespace: dict[str, Any] = {"_put": object.__setattr__, "_FACTORY": _FACTORY}
    params, lines = ["self"], []
    for i, f in enumerate(fields):
        if f.default is not _MISSING:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        elif f.default_factory is not _MISSING:
            namespace[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            lines.append(f"if {f.name} is _FACTORY: {f.name} = _factory{i}()")
        else:
            params.append(f.name)
        lines.append(f"_put(self, {f.name!r}, {f.name})")
    if hasattr(cls, "__post_init__"):
        lines.append("self.__post_init__()")
    body = "".join(f"    {line}\n" for line in lines or ["pass"])
    exec(f"def __init__({', '.join(params)}):\n{body}", namespace)  # names are field names only
    compiled: Callable[..., None] = namespace["__init__"]
    compiled.__qualname__ = f"{cls.__qualname__}.__init__"
    return compiled


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(names: tuple[str, ...]) -> Callable[[Any, object], bool]:
    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in names))

    return __hash__


def _frozen_setattr(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[[Any, str, Any], None]:
    names = frozenset(f.name for f in fields)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    return __setattr__


def _frozen_delattr(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[[Any, str], None]:
    names = frozenset(f.name for f in fields)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __delattr__


def to_jsonable(value: Any) -> Any:
    """Dataclasses become objects, tuples lists, enums their value, paths and dates strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (f for f in dataclasses.fields(value) if f.metadata.get("json", True))
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields}
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
