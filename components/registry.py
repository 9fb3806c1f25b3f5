"""Tables of registered variants (runtimes, placement modes), checked when they are built."""

from __future__ import annotations

from typing import Iterable, Mapping, TypeVar

T = TypeVar("T")


class RegistryError(TypeError):
    """A variant registered twice, without a name, or not an implementation of its contract."""


def registry(kind: type, variants: Iterable[T]) -> dict[str, T]:
    """A ``name -> variant`` table; each variant an instance of ``kind`` with a unique name.

    A subclass that leaves out an abstract member of its contract already fails
    where it is instantiated, that is when its table is built at import: in the
    program, the render, the policy check and the simulator alike.
    """
    table: dict[str, T] = {}
    for variant in variants:
        if not isinstance(variant, kind):
            raise RegistryError(f"{variant!r} is not a {kind.__name__}")
        # Abstract methods are enforced by the ABC; the contract's class attributes here.
        missing = [member for member in getattr(kind, "__annotations__", {}) if not hasattr(variant, member)]
        if missing:
            raise RegistryError(f"{type(variant).__name__} does not define {', '.join(missing)}, of the {kind.__name__} contract "
                                f"(see the {kind.__name__} class)")
        name = getattr(variant, "name", None)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{type(variant).__name__} has no name")
        if name in table:
            raise RegistryError(f"{kind.__name__} {name!r} is registered twice")
        table[name] = variant
    return table


def lookup(table: Mapping[str, T], what: str, name: str) -> T:
    """``table[name]``, or a ``KeyError`` that lists the registered names."""
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"no {what} {name!r}; registered: {', '.join(table)}") from None
