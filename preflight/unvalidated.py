"""Constructors that skip validation, derived from a slotted dataclass's own fields (never written by hand).

The per-table work of a large database builds hundreds of thousands of objects from values whose types are
already known: rows read by our own query, report records a check makes from those rows. A frozen
dataclass's ``__init__`` sets each field through ``object.__setattr__`` and a pydantic dataclass validates
every value; ``builder`` instead stores the values through the class's own slot descriptors (what
``__init__`` ends up doing), the fields the caller does not give taking their declared defaults. Adding a
field to a model needs no change here; a field a caller must give and does not is an error when the
builder is made, not when an object is.
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


def builder(cls: type[T], *given: str) -> Callable[..., T]:
    """A function building ``cls`` from the values of the fields ``given`` (positionally, in that order),
    every other field at its default, without validation.

    For values whose types the caller guarantees (records a check makes from typed rows). ``cls`` is a
    slotted dataclass (stdlib or pydantic) without ``__post_init__``.
    """
    names = list(given)
    fields = _checked(cls, names)
    setters = [vars(cls)[n].__set__ for n in names]
    constants: list[tuple[Callable[[Any, Any], None], Any]] = []
    factories: list[tuple[Callable[[Any, Any], None], Callable[[], Any]]] = []
    for name, field in fields.items():
        if name in names:
            continue
        value, factory = _default(cls, field)
        if value is _MISSING:
            raise TypeError(f"{cls.__name__}.{name} has no default: the builder must be given it")
        if factory is None:
            constants.append((vars(cls)[name].__set__, value))
        else:
            factories.append((vars(cls)[name].__set__, factory))

    def build(*values: Any) -> T:
        obj: T = _new(cls)
        for store, value in zip(setters, values, strict=True):
            store(obj, value)
        for store, value in constants:
            store(obj, value)
        for store, make in factories:
            store(obj, make())
        return obj

    return build


def row_builder(cls: type[T]) -> Callable[[Sequence[Any]], T]:
    """A function building ``cls`` from one sequence holding every field's value in declaration order (a
    result row whose columns are the fields), without validation."""
    names = [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []
    _checked(cls, names)
    setters = [vars(cls)[n].__set__ for n in names]

    def build(values: Sequence[Any]) -> T:
        obj: T = _new(cls)
        for store, value in zip(setters, values, strict=True):
            store(obj, value)
        return obj

    return build
