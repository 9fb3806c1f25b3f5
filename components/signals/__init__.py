"""Autoscaling signals: one module each, registered in :data:`SIGNALS`.

To add a signal: write a module with a :class:`~.base.Signal` subclass, add an instance to the table
below, give it tests and a README line; a Prometheus signal also needs a runtime that names its series
(``Runtime.prometheus_metrics``). The autoscaler, the config schema and the docs read this table.
"""

from __future__ import annotations

from typing import Any

from ..registry import lookup, registry
from ..runtimes import RUNTIMES
from .base import PrometheusSignal, Signal
from .kv_cache import KvCache
from .qps import Qps
from .queue import Queue

SIGNALS: dict[str, Signal] = registry(Signal, (Qps(), Queue(), KvCache()))
"""Every autoscaling signal, by name."""


def adapter_rules(uses: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The metrics adapter's rules for the ``(runtime name, signal name)`` pairs a stack scales on (each series once)."""
    rules: dict[str, dict[str, Any]] = {}
    for runtime_name, signal_name in uses:
        sig, rt = SIGNALS.get(signal_name), RUNTIMES.get(runtime_name)
        series = sig.series(rt.prometheus_metrics) if isinstance(sig, PrometheusSignal) and rt is not None else None
        if isinstance(sig, PrometheusSignal) and series is not None:
            rules.setdefault(series, sig.adapter_rule(series))
    return [rules[k] for k in sorted(rules)]


def signal(name: str) -> Signal:
    """The registered signal ``name`` (``KeyError`` listing the registered ones otherwise)."""
    return lookup(SIGNALS, "autoscaling signal", name)


__all__ = ["SIGNALS", "PrometheusSignal", "Signal", "adapter_rules", "signal"]
