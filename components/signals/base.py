"""What every autoscaling signal provides: the contract a signal module implements.

A signal is what a service's HPA scales on (``Autoscaling.signal``): the ingress QPS the metrics adapter
reads from the access logs in SLS, or a model server's own gauge (vLLM's queue, its KV-cache use) that
Managed Service for Prometheus scrapes and the adapter serves from Prometheus. It is a subclass of
:class:`Signal`, registered in ``signals/__init__.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, Mapping, Optional

from ..problems import ArgProblem

Source = Literal["ingress-logs", "prometheus"]


def quantity(value: float) -> str:
    """A per-replica target as a Kubernetes quantity (``10``, ``2500m``); never ``0``."""
    milli = round(value * 1000)
    if milli < 1:
        raise ValueError(f"a target of {value} rounds to 0m: give at least 0.001")
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


class Signal(ABC):
    """One quantity an HPA may scale a service on."""

    name: ClassVar[str]
    """The signal's name, as ``Autoscaling.signal`` and the stack file's ``autoscaling.metric`` give it."""
    source: ClassVar[Source]
    """``ingress-logs``: the ingress controller's access logs in SLS (needs the ingress); ``prometheus``: the pods'
    own metrics, scraped by Managed Service for Prometheus (a PodMonitor) and served by the adapter's rules."""
    target_key: ClassVar[str]
    """The ``Autoscaling`` field holding the per-replica target."""
    unit: ClassVar[str]
    """What the target counts, for messages and docs."""
    default_target: ClassVar[float]
    """The target when none is given."""
    max_target: ClassVar[Optional[float]] = None
    """The largest sensible target (a fraction's 1), or None."""

    def problems(self, target: Any) -> list[ArgProblem]:
        """What is wrong with a target of this signal (under ``Autoscaling``'s field name)."""
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            return [ArgProblem(self.target_key, f"must be a number ({self.unit})")]
        if target < 0.001:
            return [ArgProblem(self.target_key, "must be >= 0.001 (a Kubernetes quantity has milli precision)")]
        if self.max_target is not None and target > self.max_target:
            return [ArgProblem(self.target_key, f"must be <= {self.max_target} ({self.unit})")]
        return []


class PrometheusSignal(Signal):
    """A gauge of the model server's pods, averaged over the replicas (an HPA ``Pods`` metric)."""

    source = "prometheus"
    aggregation: ClassVar[str]
    """How a pod's series (one per engine) become the pod's value: ``sum`` (a count) or ``max`` (a fraction)."""
    companions: ClassVar[tuple[str, ...]] = ()
    """Other Prometheus signals the HPA also scales on, with their own targets: the HPA follows whichever asks for the
    most replicas, so a companion holds replicas the signal alone would let go."""

    @abstractmethod
    def series(self, runtime_metrics: Mapping[str, str]) -> Optional[str]:
        """The Prometheus series of this signal among a runtime's (``Runtime.prometheus_metrics``), or None."""

    def metric_name(self, series: str) -> str:
        """The custom metric the adapter serves it as: the series with ':' as '_' (``vllm_num_requests_waiting``)."""
        return series.replace(":", "_")

    def hpa_metric(self, series: str, target: float) -> dict[str, Any]:
        """The ``autoscaling/v2`` MetricSpec: the pods' average against ``target``."""
        return {"type": "Pods", "pods": {"metric": {"name": self.metric_name(series)},
                                         "target": {"type": "AverageValue", "averageValue": quantity(target)}}}

    def adapter_rule(self, series: str) -> dict[str, Any]:
        """The metrics adapter's rule (prometheus-adapter's format) that serves ``series`` per pod.

        alibaba-cloud-metrics-adapter pkg/provider/providerManager.go reads ``rules`` with prometheus-adapter's
        naming; the HPA's namespace and pods come in as ``<<.LabelMatchers>>``, grouped by ``pod``
        (prometheus-adapter docs/config.md), so the series must carry ``namespace`` and ``pod`` labels: the
        PodMonitor sets them (``signals.podmonitor``).
        """
        return {
            "seriesQuery": f'{series}{{namespace!="",pod!=""}}',
            "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
            "name": {"matches": f"^{series}$", "as": self.metric_name(series)},
            "metricsQuery": f"{self.aggregation}(<<.Series>>{{<<.LabelMatchers>>}}) by (<<.GroupBy>>)",
        }
