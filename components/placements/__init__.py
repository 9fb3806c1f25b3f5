"""Placement modes: one module each, registered in :data:`PLACEMENTS`.

To add a mode: write a module with a :class:`~.base.PlacementMode` subclass
(every abstract member defined), add an instance to the table below, and give
it tests and a README line. Nothing else lists the modes: the component, the
config schema, the simulator and the docs read this table.
"""

from __future__ import annotations

from ..registry import lookup, registry
from .base import PlacementMode, PodScheduling
from .eci import Eci
from .eci_tiers import EciTiers
from .ecs import Ecs
from .ecs_then_eci import EcsThenEci

PLACEMENTS: dict[str, PlacementMode] = registry(PlacementMode, (Ecs(), Eci(), EcsThenEci(), EciTiers()))
"""Every placement mode, by name."""


def placement_mode(name: str) -> PlacementMode:
    """The registered mode ``name`` (``KeyError`` listing the registered ones otherwise)."""
    return lookup(PLACEMENTS, "placement mode", name)


__all__ = ["PLACEMENTS", "PlacementMode", "PodScheduling", "placement_mode"]
