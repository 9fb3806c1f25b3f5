"""The render's exit codes, :class:`RenderError`, and how a program's bad input is recognised.

A program reports bad input (its configuration, a component's arguments) by
raising the SDK's public ``pulumi.InputPropertiesError``, with one
``{"property_path": ..., "reason": ...}`` per problem in ``errors``; it may be
wrapped (raised ``from`` it, or left as the ``__cause__``/``__context__`` of a
``pulumi.RunError``). :func:`input_problems` finds it in the exception chain.
Nothing here recognises an exception by its class name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pulumi

#: 4, the preflight's, is ``preflight.EXIT_PREFLIGHT``.
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 3


class RenderError(Exception):
    """A render that cannot complete: ``code`` is the exit code, ``lines`` what to tell the user (one per line)."""

    def __init__(self, code: int, lines: list[str]):
        super().__init__("\n".join(lines))
        self.code, self.lines = code, lines


def input_problems(exc: BaseException) -> Optional[list[str]]:
    """The lines of the first ``pulumi.InputPropertiesError`` in ``exc``'s chain, or None if there is none.

    The chain is ``exc`` and, transitively, each exception's ``__cause__`` and
    ``__context__`` (each visited once). The lines are one
    ``"{property_path}: {reason}"`` per item of ``errors``, in the order given;
    without such items, the ``str()`` of each item of a ``problems`` list the
    error carries (a transitional form); without either, its message.
    """
    for found in _chain(exc):
        if isinstance(found, pulumi.InputPropertiesError):
            return _lines(found)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
    return out


def _lines(error: pulumi.InputPropertiesError) -> list[str]:
    details = getattr(error, "errors", None)
    if isinstance(details, list) and details and all(_is_detail(d) for d in details):
        return [f"{d['property_path']}: {d['reason']}" for d in details]
    problems = getattr(error, "problems", None)
    if isinstance(problems, list) and problems:
        return [str(p) for p in problems]
    message = getattr(error, "message", None)
    return [message if isinstance(message, str) else str(error)]


def _is_detail(item: object) -> bool:
    return isinstance(item, Mapping) and "property_path" in item and "reason" in item
