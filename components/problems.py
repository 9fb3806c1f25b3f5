"""How a component reports bad arguments: every problem at once, each naming its argument.

A component's ``*Args`` has a ``problems()`` method returning :class:`ArgProblem`
items (the argument's path, e.g. ``tiers[1].max``, and what is wrong, never
the value given: it may be a pasted secret). The component raises
:class:`ArgsError`, the SDK's ``pulumi.InputPropertiesError``, before it
registers anything. The stack program's config calls the same ``problems()``
and maps each argument path onto the stack-file key to change.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, NamedTuple, Optional

import pulumi

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ArgProblem(NamedTuple):
    """One thing wrong with a component's arguments."""

    arg: str
    """The argument's path inside its ``*Args``: ``min_size``, ``tiers[0].max``."""
    reason: str
    """What is wrong and how to fix it (without the value given)."""


class ArgsError(pulumi.InputPropertiesError, ValueError):
    """A component's arguments are invalid; ``problems`` lists every finding.

    ``errors`` (the SDK's ``InputPropertiesError`` field) carries one
    ``{"property_path": "<Args type>.<arg>", "reason": ...}`` per problem.
    """

    def __init__(self, args_type: str, problems: Iterable[ArgProblem]):
        self.args_type = args_type
        self.problems = tuple(problems)
        errors: list[pulumi.InputPropertyErrorDetails] = [
            {"property_path": f"{args_type}.{p.arg}", "reason": p.reason} for p in self.problems]
        super().__init__("; ".join(f"{e['property_path']}: {e['reason']}" for e in errors), errors)


def raise_if_any(args_type: str, problems: Iterable[ArgProblem]) -> None:
    """Raise :class:`ArgsError` when ``problems`` is not empty."""
    found = list(problems)
    if found:
        raise ArgsError(args_type, found)


def dns_label(arg: str, value: Any) -> Optional[ArgProblem]:
    """``value`` must be a Kubernetes name of one label (a namespace, an object name)."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        return ArgProblem(arg, "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
                               "starting and ending with a letter or digit (e.g. 'inference')")
    return None


def dns_subdomain(arg: str, value: Any) -> Optional[ArgProblem]:
    """``value`` must be a Kubernetes object name of the DNS-1123 subdomain form (a Secret, a ConfigMap)."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        return ArgProblem(arg, "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', "
                               "starting and ending with a letter or digit")
    return None


def whole_number(arg: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> Optional[ArgProblem]:
    """``value`` must be an int (not a bool, a float or text) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return ArgProblem(arg, f"must be a whole number, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        return ArgProblem(arg, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        return ArgProblem(arg, f"must be <= {maximum}")
    return None


def number(arg: str, value: Any) -> Optional[ArgProblem]:
    """``value`` must be an int or a float (not a bool or text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ArgProblem(arg, f"must be a number, not {type(value).__name__}")
    return None


def one_of(arg: str, value: Any, allowed: Iterable[str]) -> Optional[ArgProblem]:
    """``value`` must be one of ``allowed`` (the message lists them, not the value)."""
    options = tuple(allowed)
    if value not in options:
        return ArgProblem(arg, "must be one of " + ", ".join(repr(o) for o in options))
    return None


#: A Kubernetes resource quantity ("2", "500m", "15Gi"): apimachinery's resource.Quantity, without exponents.
QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def quantity(arg: str, value: Any) -> Optional[ArgProblem]:
    """``value`` must be a Kubernetes quantity (the API server refuses anything else; the message omits the value)."""
    if not isinstance(value, str) or not QUANTITY.match(value):
        return ArgProblem(arg, "must be a Kubernetes quantity like '4', '500m' or '15Gi'")
    return None


def collect(*found: Optional[ArgProblem]) -> list[ArgProblem]:
    """The problems among ``found`` (checks return None when the argument is sound)."""
    return [p for p in found if p is not None]
