"""`record` behaves as `dataclass(frozen=True)`: each class here is declared twice, once each way,
and every observable behaviour is compared (construction, errors, defaults, equality, hashing, repr,
the frozen error, replace/asdict/fields, pickling, __post_init__, inheritance)."""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import pytest

import patchtool
from patchtool.jsonable import record, to_jsonable


def _pair(body: dict[str, Any], annotations: dict[str, str]) -> tuple[type, type]:
    made = []
    for deco in (record, dataclass(frozen=True)):
        ns = {"__annotations__": dict(annotations), "__module__": __name__, **body}
        made.append(deco(type("Sample", (), ns)))
    return made[0], made[1]


ANN = {"a": "int", "b": "str", "c": "tuple[int, ...]", "d": "list[int]", "e": "bytes"}
BODY = {
    "c": (),
    "d": field(default_factory=list),
    "e": field(default=b"", repr=False, metadata={"json": False}),
}


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as e:  # the exception type and text are part of the behaviour compared
        return (type(e).__name__, str(e).replace("Sample.__init__()", "__init__()"))


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((1, "x"), {}),
        ((1,), {"b": "y", "d": [3]}),
        ((), {"a": 1, "b": "x", "c": (2,), "e": b"z"}),
        ((1, "x", (1,), [2], b"b"), {}),
        ((1,), {}),  # missing b
        ((1, "x"), {"zz": 1}),  # unknown keyword
        ((1, "x"), {"a": 2}),  # a given twice
        ((1, "x", (), [], b"", 9), {}),  # too many positionals
    ],
)
def test_construction_matches_dataclass(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    mine, theirs = _pair(BODY, ANN)
    got, want = _outcome(lambda: mine(*args, **kwargs)), _outcome(lambda: theirs(*args, **kwargs))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert repr(got[1]) == repr(want[1])
        assert dataclasses.asdict(got[1]) == dataclasses.asdict(want[1])
        assert to_jsonable(got[1]) == to_jsonable(want[1])
    elif got[0] == "TypeError":
        assert got[1] == want[1]


def test_equality_hash_frozen_replace_pickle() -> None:
    mine, theirs = _pair({**BODY, "d": field(default_factory=frozenset)}, {**ANN, "d": "frozenset[int]"})
    for cls in (mine, theirs):
        x, y, z = cls(1, "x"), cls(1, "x"), cls(2, "x")
        assert x == y and hash(x) == hash(y) and x != z and x != (1, "x")
        assert {x, y, z} == {x, z}
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
            x.a = 3  # type: ignore[attr-defined]
        with pytest.raises(dataclasses.FrozenInstanceError):
            del x.b  # type: ignore[attr-defined]
        assert dataclasses.replace(x, a=2) == z
        assert [f.name for f in dataclasses.fields(cls)] == ["a", "b", "c", "d", "e"]
        assert cls.__match_args__ == ("a", "b", "c", "d", "e")
    assert hash(mine(1, "x", (2,))) == hash(theirs(1, "x", (2,)))
    # a list field: unhashable the same way for both; the factory gives a fresh list each time
    listed, listed_dc = _pair(BODY, ANN)
    assert (
        _outcome(lambda: hash(listed(1, "x")))[0]
        == _outcome(lambda: hash(listed_dc(1, "x")))[0]
        == "TypeError"
    )
    assert listed(1, "x").d is not listed(1, "x").d


def test_post_init_and_inheritance() -> None:
    def check(self: Any) -> None:
        if self.a < 0:
            raise ValueError("a must be >= 0")

    mine, theirs = _pair({"__post_init__": check}, {"a": "int"})
    assert _outcome(lambda: mine(-1)) == _outcome(lambda: theirs(-1))
    child = record(type("Child", (mine,), {"__annotations__": {"b": "int"}, "b": 0, "__module__": __name__}))
    assert repr(child(1, 2)) == "Child(a=1, b=2)" and child(1) != mine(1)
    with pytest.raises(TypeError, match="non-frozen dataclass from a frozen one"):
        record(type("Bad", (theirs,), {"__annotations__": {"b": "int"}, "__module__": __name__}))
    mutable = dataclass(type("Mutable", (), {"__annotations__": {"a": "int"}, "__module__": __name__}))
    with pytest.raises(TypeError, match="base Mutable is not a record"):
        record(type("Bad", (mutable,), {"__annotations__": {"b": "int"}, "__module__": __name__}))


def test_every_record_in_patchtool_is_a_dataclass_with_record_methods() -> None:
    """A class that lost @record or went back to @dataclass(frozen=True) shows up here."""
    seen = 0
    for mod in pkgutil.walk_packages(patchtool.__path__, "patchtool."):
        if mod.name == "patchtool.__main__":  # importing it runs the command line
            continue
        module = importlib.import_module(mod.name)
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == mod.name and "__record__" in obj.__dict__:
                assert dataclasses.is_dataclass(obj)
                assert obj.__init__.__qualname__ == f"{obj.__qualname__}.__init__"
                seen += 1
            elif isinstance(obj, type) and obj.__module__ == mod.name and dataclasses.is_dataclass(obj):
                assert not obj.__dataclass_params__.frozen, f"{obj.__qualname__}: frozen: use @record"
    assert seen > 100


@record
class Pickled:
    a: int
    b: tuple[int, ...] = ()


def test_pickles_and_copies_like_a_dataclass() -> None:
    """Dask sends records between processes by pickle; copy.replace-style copies must work too."""
    import copy

    x = Pickled(1, (2,))
    assert pickle.loads(pickle.dumps(x)) == x
    assert copy.deepcopy(x) == x and copy.copy(x) == x


def test_field_order_is_checked_when_the_class_is_made() -> None:
    for deco in (record, dataclass(frozen=True)):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
            deco(
                type(
                    "Order", (), {"__annotations__": {"a": "int", "b": "int"}, "a": 0, "__module__": __name__}
                )
            )


def test_the_compiled_init_replaces_the_first_call_stand_in() -> None:
    mine, _ = _pair(BODY, ANN)
    stand_in = mine.__init__
    first, second = mine(1, "x"), mine(2, "y")
    assert mine.__init__ is not stand_in and first.d == [] and second.a == 2
