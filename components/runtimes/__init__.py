"""Model-server runtimes: one module each, registered in :data:`RUNTIMES`.

To add a runtime: write a module with a :class:`~.base.Runtime` subclass
(every abstract member defined), add an instance to the table below, and give
it tests and a README line. Nothing else lists the runtimes: the component,
the config schema, the simulator, the render's preflight and the docs read
this table.
"""

from __future__ import annotations

from ..registry import lookup, registry
from .base import CrdProvider, PodContext, Runtime, Workload, WorkloadPod
from .seldon import Seldon
from .tf_serving import TfServing
from .vllm import Vllm

RUNTIMES: dict[str, Runtime] = registry(Runtime, (TfServing(), Seldon(), Vllm()))
"""Every runtime, by name."""


def runtime(name: str) -> Runtime:
    """The registered runtime ``name`` (``KeyError`` listing the registered ones otherwise)."""
    return lookup(RUNTIMES, "runtime", name)


__all__ = ["RUNTIMES", "CrdProvider", "PodContext", "Runtime", "Workload", "WorkloadPod", "runtime"]
