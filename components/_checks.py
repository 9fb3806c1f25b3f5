"""Argument checks shared by the components: each names the argument and never repeats its value."""

from __future__ import annotations

import re
from typing import Any, Optional

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def dns_label(arg: str, value: Any) -> None:
    """``value`` must be a Kubernetes name of one label (a namespace, an object name)."""
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(f"{arg} must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
                         "starting and ending with a letter or digit (e.g. 'inference')")


def whole_number(arg: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> None:
    """``value`` must be an int (not a bool, a float or text) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{arg} must be a whole number, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{arg} must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{arg} must be <= {maximum}")


def number(arg: str, value: Any) -> None:
    """``value`` must be an int or a float (not a bool or text)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{arg} must be a number, not {type(value).__name__}")
