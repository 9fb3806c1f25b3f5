"""Autoscaling signals: one module each, registered in :data:`SIGNALS`.

To add a signal: write a module with a :class:`~.base.Signal` subclass, add an instance to the table
below, give it tests and a README line; a Prometheus signal also needs a runtime that names its series
(``Runtime.prometheus_metrics``). The autoscaler, the config schema and the docs read this table.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..registry import lookup, registry
from ..runtimes import RUNTIMES
from .base import PrometheusSignal, Signal
from .kv_cache import KvCache
from .qps import Qps
from .queue import Queue

SIGNALS: dict[str, Signal] = registry(Signal, (Qps(), Queue(), KvCache()))
"""Every autoscaling signal, by name."""


def scaled_on(signal_name: str) -> list[PrometheusSignal]:
    """The Prometheus signals an HPA on ``signal_name`` reads: it and its companions (none for ``qps``)."""
    sig = SIGNALS.get(signal_name)
    if not isinstance(sig, PrometheusSignal):
        return []
    return [sig, *(c for c in (SIGNALS[name] for name in sig.companions) if isinstance(c, PrometheusSignal))]


def pods_metrics(runtime_name: str, signal_name: str, targets: Mapping[str, float]) -> list[dict[str, Any]]:
    """The HPA's Pods metrics for a runtime scaled on ``signal_name``; ``targets``: each signal's target, by name."""
    rt = RUNTIMES.get(runtime_name)
    found = []
    for sig in scaled_on(signal_name):
        series = sig.series(rt.prometheus_metrics) if rt is not None else None
        if series is not None:
            found.append(sig.hpa_metric(series, targets[sig.name]))
    return found


def adapter_rules(uses: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The metrics adapter's rules for the ``(runtime name, signal name)`` pairs a stack scales on (each series once)."""
    rules: dict[str, dict[str, Any]] = {}
    for runtime_name, signal_name in uses:
        rt = RUNTIMES.get(runtime_name)
        for sig in scaled_on(signal_name):
            series = sig.series(rt.prometheus_metrics) if rt is not None else None
            if series is not None:
                rules.setdefault(series, sig.adapter_rule(series))
    return [rules[k] for k in sorted(rules)]


def signal(name: str) -> Signal:
    """The registered signal ``name`` (``KeyError`` listing the registered ones otherwise)."""
    return lookup(SIGNALS, "autoscaling signal", name)


__all__ = ["SIGNALS", "PrometheusSignal", "Signal", "adapter_rules", "pods_metrics", "scaled_on", "signal"]
