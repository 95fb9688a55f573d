"""Constructors that skip validation, derived from a slotted dataclass's own fields (never written by hand).

The per-table work of a large database builds hundreds of thousands of objects from values whose types are
already known: rows read by our own query, report records a check makes from those rows. A frozen
dataclass's ``__init__`` sets each field through ``object.__setattr__`` (2-3 us per row of 19 fields) and a
pydantic dataclass validates every value (several us per record). A builder is a function written once per
class from the class's own fields, as ``dataclasses`` writes an ``__init__``: it stores the values (through
the slot descriptors of a frozen class), the fields the caller does not give taking their declared defaults.
The object is an ordinary instance of the class: equal, hashable and frozen like one its constructor builds.
Adding a field to a model needs no change here; a field a caller must give and does not is an error when
the builder is made, not when an object is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

T = TypeVar("T")

_new = object.__new__


_MISSING = object()


def _default(cls: type[Any], field: dataclasses.Field[Any]) -> tuple[Any, Callable[[], Any] | None]:
    """A field's default: (value, None), or (None, factory), or (_MISSING, None) when a caller must give it."""
    info = getattr(cls, "__pydantic_fields__", {}).get(field.name)
    if info is not None:  # a pydantic dataclass: its FieldInfo holds the default or the factory
        if info.is_required():
            return _MISSING, None
        if info.default_factory is not None:
            return None, cast(Callable[[], Any], info.default_factory)
        return info.default, None
    if field.default_factory is not dataclasses.MISSING:
        return None, field.default_factory
    if field.default is not dataclasses.MISSING:
        return field.default, None
    return _MISSING, None


def buildable(cls: type[Any]) -> bool:
    """Whether ``builder`` can build ``cls``: a slotted dataclass without ``__post_init__`` (which it would skip)."""
    return (dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)
            and getattr(cls, "__post_init__", None) is None)


def _checked(cls: type[Any], names: list[str]) -> dict[str, dataclasses.Field[Any]]:
    if not buildable(cls):
        raise TypeError(f"{cls.__name__}: a builder needs a slotted dataclass without __post_init__")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    return fields


_BUILT: dict[tuple[type[Any], tuple[str, ...], bool], Callable[..., Any]] = {}


def _generated(cls: type[Any], given: list[str], one_sequence: bool) -> Callable[..., Any]:
    """The builder's function, written once per class (and fields given) as ``dataclasses`` writes an
    ``__init__``: its source names only the model's own fields (identifiers, by Python's rules for a class
    body). A frozen model's fields are stored through its slot descriptors (what ``object.__setattr__`` does
    in its ``__init__``), an other's by plain attribute stores."""
    key = (cls, tuple(given), one_sequence)
    if key not in _BUILT:
        _BUILT[key] = _written(cls, given, one_sequence)
    return _BUILT[key]


def _written(cls: type[Any], given: list[str], one_sequence: bool) -> Callable[..., Any]:
    fields = _checked(cls, given)
    frozen = cls.__dataclass_params__.frozen
    env: dict[str, Any] = {"_new": _new, "_cls": cls}
    lines: list[str] = []

    def store(name: str, value: str) -> None:
        if frozen:
            env[f"_set_{name}"] = vars(cls)[name].__set__
            lines.append(f"    _set_{name}(_o, {value})")
        else:
            lines.append(f"    _o.{name} = {value}")

    for name in given:
        store(name, name)
    for name, field in fields.items():
        if name in given:
            continue
        value, factory = _default(cls, field)
        if value is _MISSING:
            raise TypeError(f"{cls.__name__}.{name} has no default: the builder must be given it")
        env[f"_default_{name}"] = value if factory is None else factory
        store(name, f"_default_{name}" if factory is None else f"_default_{name}()")
    arguments = ", ".join(given)
    head = (f"def build(_values):\n    ({arguments},) = _values\n" if one_sequence and given
            else f"def build({arguments}):\n")
    exec(head + "    _o = _new(_cls)\n" + "\n".join(lines) + "\n    return _o\n", env)
    return cast(Callable[..., Any], env["build"])


def builder(cls: type[T], *given: str) -> Callable[..., T]:
    """A function building ``cls`` from the values of the fields ``given`` (positionally, in that order),
    every other field at its default, without validation.

    For values whose types the caller guarantees (records a check makes from typed rows). ``cls`` is a
    slotted dataclass (stdlib or pydantic) without ``__post_init__``.
    """
    return _generated(cls, list(given), one_sequence=False)


def row_builder(cls: type[T]) -> Callable[[Sequence[Any]], T]:
    """A function building ``cls`` from one sequence holding every field's value in declaration order (a
    result row whose columns are the fields), without validation; a sequence of another length is refused."""
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    return _generated(cls, names, one_sequence=True)
