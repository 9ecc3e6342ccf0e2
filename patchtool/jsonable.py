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
    names = tuple(f.name for f in fields)
    defaults = {f.name: f.default for f in fields if f.default is not _MISSING}
    factories = {f.name: f.default_factory for f in fields if f.default_factory is not _MISSING}
    post_init = hasattr(cls, "__post_init__")
    where = f"{cls.__qualname__}.__init__()"
    required = sum(1 for n in names if n not in defaults and n not in factories)
    takes = f"from {required + 1} to {len(names) + 1}" if required < len(names) else str(len(names) + 1)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{where} takes {takes} positional arguments but {len(args) + 1} were given")
        put = object.__setattr__
        for name, value in zip(names, args, strict=False):
            put(self, name, value)
        for name in names[len(args) :]:
            if name in kwargs:
                put(self, name, kwargs.pop(name))
            elif name in defaults:
                put(self, name, defaults[name])
            elif name in factories:
                put(self, name, factories[name]())
            else:
                raise TypeError(f"{where} missing 1 required positional argument: '{name}'")
        if kwargs:
            name = next(iter(kwargs))
            twice = name in names[: len(args)]
            raise TypeError(
                f"{where} got {'multiple values for' if twice else 'an unexpected keyword'} argument '{name}'"
            )
        if post_init:
            self.__post_init__()

    return __init__


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
