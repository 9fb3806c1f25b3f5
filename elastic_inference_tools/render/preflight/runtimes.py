"""What the preflight knows of model-server runtimes: only what their registry says.

Each runtime's module (``elastic_inference.runtimes``; ``components/runtimes/``
in this repository) holds the facts about its operator that a plan check needs
(``Runtime.unscalable_kinds``, ``crd_providers``, ``workload_pods``,
``workload_hpa_specs``); the checks read them here, from the registry, when
they run, so a runtime registered by a program or a test is judged like a
built-in one and the preflight keeps no list of runtimes of its own.

The registry is the installed package's (``..components``), the one a
program built on ``elastic_inference`` registers its runtimes in.
"""

from __future__ import annotations

from typing import Iterable, Mapping, TypeVar

from ...components import RUNTIMES, CrdProvider, Runtime, WorkloadPod
from . import Plan

K = TypeVar("K")
V = TypeVar("V")
__all__ = ["RUNTIMES", "CrdProvider", "Runtime", "WorkloadPod", "crd_providers", "runtime_of_kind", "unscalable_kinds"]


def unscalable_kinds(plan: Plan) -> Mapping[tuple[str, str], str]:
    """``(API group, kind) -> source`` of the kinds that no HPA can target, as the registered runtimes declare them."""
    table: Mapping[tuple[str, str], str] = plan.memo(
        "runtimes.unscalable_kinds", lambda: _first((key, source) for rt in RUNTIMES.values() for key, source in rt.unscalable_kinds.items()))
    return table


def crd_providers(plan: Plan) -> Mapping[tuple[str, str], CrdProvider]:
    """``(API group, kind) -> what installs its CRD``, as the registered runtimes declare them."""
    table: Mapping[tuple[str, str], CrdProvider] = plan.memo(
        "runtimes.crd_providers", lambda: _first((key, provider) for rt in RUNTIMES.values() for key, provider in rt.crd_providers.items()))
    return table


def runtime_of_kind(plan: Plan, kind: str) -> Runtime | None:
    """The runtime whose workload is of ``kind``, or None."""
    table: Mapping[str, Runtime] = plan.memo(
        "runtimes.by_kind", lambda: _first((k, rt) for rt in RUNTIMES.values() for k in rt.workload_kinds))
    return table.get(kind)


def _first(pairs: Iterable[tuple[K, V]]) -> dict[K, V]:
    """The pairs as a table; the first registered runtime's wins where two declare the same key."""
    table: dict[K, V] = {}
    for key, value in pairs:
        table.setdefault(key, value)
    return table
