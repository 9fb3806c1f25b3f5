"""Ingress controllers: one module each, registered in :data:`INGRESS_CONTROLLERS`.

To add a controller: write a module with an :class:`~.base.IngressController`
subclass (every abstract member defined), add an instance to the table below,
and give it tests and a README line. Nothing else lists the controllers: the
public endpoint, the autoscaler's metric, the config schema and the docs read
this table.
"""

from __future__ import annotations

from ..registry import lookup, registry
from .alb import Alb
from .base import IngressController, Routing
from .nginx import Nginx

INGRESS_CONTROLLERS: dict[str, IngressController] = registry(IngressController, (Nginx(), Alb()))
"""Every ingress controller, by name."""


def ingress_controller(name: str) -> IngressController:
    """The registered controller ``name`` (``KeyError`` listing the registered ones otherwise)."""
    return lookup(INGRESS_CONTROLLERS, "ingress controller", name)


__all__ = ["INGRESS_CONTROLLERS", "IngressController", "Routing", "ingress_controller"]
