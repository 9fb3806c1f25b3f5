"""Kubernetes resource quantities (``500m``, ``15Gi``, ``4``) as numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
# apimachinery pkg/api/resource/suffix.go: binary (Ki..Ei) and decimal (n..E) suffixes.
_FACTORS = {
    None: Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40), "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
GIB = Decimal(2**30)


def parse(value: Any) -> Optional[Decimal]:
    """The quantity's value in base units (cores, bytes, count), or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        return None
    if suffix and suffix[0] in "eE" and len(suffix) > 1:
        return base * (Decimal(10) ** int(suffix[1:]))
    return base * _FACTORS[suffix]
