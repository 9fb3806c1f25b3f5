"""QpsAutoscaler: an HPA that scales a workload on the ingress QPS measured by SLS.

Replaces the seeds' ``hpa.yaml`` (``autoscaling/v2beta1`` in seeds 000 and
002, ``autoscaling/v2`` in 003). The ``sls.ingress.route`` label is computed
from the Ingress backend that really exists (``{namespace}-{service}-{port}``)
rather than copied from ``kubectl get service``, and the scaling behaviour is
explicit: fast scale-up for bursts, stabilized scale-down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, cast

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from ._annotations import with_skips
from .cluster_addons import INGRESS_LOGSTORE
from .ingresses import INGRESS_CONTROLLERS
from .signals.base import quantity
from .problems import ArgProblem
from .schedule import CRD as CRON_HPA_CRD
from .schedule import PATCH_FORCE
from .schedule import PREREQUISITE as CRON_HPA_PREREQUISITE
from .schedule import ScheduledFloor, cron_hpa, schedule_problems

TYPE = "elastic-inference:scaling:QpsAutoscaler"
# The adapter's QPS metric of each ingress controller's access logs (ingresses/: a controller's `metric`).
QPS_METRICS = tuple(dict.fromkeys(c.metric for c in INGRESS_CONTROLLERS.values()))
METRIC = INGRESS_CONTROLLERS["nginx"].metric
DEFAULT_LOGSTORE = INGRESS_LOGSTORE
# The adapter parses sls.query.interval as whole seconds and raises less than 15 to 15
# (AliyunContainerService/alibaba-cloud-metrics-adapter pkg/metrics/sls/sls.go getSLSParams);
# a smaller value here would only mislead.
MIN_QUERY_INTERVAL = 15
# A Kubernetes quantity has milli precision: a smaller target would render as 0m.
MIN_TARGET_QPS = 0.001
MAX_STABILIZATION_SECONDS = 3600
# Its defaults (getSLSParams), and how far back it reads logs (now-100 s).
DEFAULT_QUERY_INTERVAL = 15
DEFAULT_QUERY_DELAY = 10
MAX_QUERY_WINDOW = 100
# Kubernetes label values (the metric selector's) hold at most 63 characters; the HPA
# controller parses the selector on every sync (apimachinery validation.IsValidLabelValue).
MAX_LABEL_VALUE = 63
# Kinds whose scale subresource reports a label selector. A SeldonDeployment's does not
# (seldon-core CRD: scale without labelSelectorPath): scale it with `seldon_hpa_spec`.
SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def ingress_route(namespace: str, service: str, port: int, sticky: bool = False) -> str:
    """The metrics adapter's ``sls.ingress.route`` for an Ingress backend."""
    route = f"{namespace}-{service}-{port}"
    return f"sticky-{route}" if sticky else route


def route_problem(route: str) -> Optional[str]:
    """Why ``route`` cannot be a selector label value, or None."""
    if len(route) > MAX_LABEL_VALUE:
        return (f"the ingress route ({{namespace}}-{{service}}-{{port}}) is {len(route)} characters, over the {MAX_LABEL_VALUE} "
                "of a Kubernetes label value: the HPA controller would reject the metric selector; shorten the namespace or "
                "the service name")
    return None


target_quantity = quantity
"""A per-replica target as a Kubernetes quantity (``10``, ``2500m``); never ``0`` (``signals.base.quantity``)."""


def qps_metric(
    route: pulumi.Input[str],
    sls_project: str,
    target_qps_per_replica: float,
    sls_logstore: str = DEFAULT_LOGSTORE,
    query_interval_seconds: Optional[int] = None,
    query_delay_seconds: Optional[int] = None,
    metric: str = METRIC,
) -> dict[str, Any]:
    """The ``autoscaling/v2`` External MetricSpec on the ingress QPS (API field names).

    ``metric`` is ``sls_ingress_qps`` (NGINX Ingress logs) or ``sls_alb_ingress_qps`` (ALB
    access logs). Both take the same label keys, those the metrics adapter reads
    (alibaba-cloud-metrics-adapter pkg/metrics/sls/sls.go): ``sls.project``, ``sls.logstore``,
    ``sls.ingress.route``, and ``sls.query.interval``/``sls.query.delay`` as whole seconds.
    """
    if metric not in QPS_METRICS:
        raise ValueError(f"no QPS metric {metric!r}; the metrics adapter serves {', '.join(QPS_METRICS)}")
    labels: dict[str, pulumi.Input[str]] = {"sls.project": sls_project, "sls.logstore": sls_logstore, "sls.ingress.route": route}
    if query_interval_seconds is not None:
        labels["sls.query.interval"] = str(query_interval_seconds)
    if query_delay_seconds is not None:
        labels["sls.query.delay"] = str(query_delay_seconds)
    return {
        "type": "External",
        "external": {
            "metric": {"name": metric, "selector": {"matchLabels": labels}},
            "target": {"type": "AverageValue", "averageValue": target_quantity(target_qps_per_replica)},
        },
    }


def cpu_metric(utilization_percent: int) -> dict[str, Any]:
    """A Resource MetricSpec on the pods' CPU utilization (of their requests), from metrics-server.

    A second signal that does not depend on SLS or the metrics adapter: when the External
    metric cannot be read, the HPA controller still scales up on the metrics it can read,
    and never scales down (kubernetes pkg/controller/podautoscaler/horizontal.go
    ``computeReplicasForMetrics``: "If all metrics are invalid or some are invalid and we
    would scale down, return an error").
    """
    if not 1 <= utilization_percent <= 100:
        raise ValueError("cpu utilization target must be within 1-100 (percent of the CPU request)")
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization_percent}}}


def hpa_metrics(route: pulumi.Input[str], sls_project: str, target_qps_per_replica: float, sls_logstore: str = DEFAULT_LOGSTORE,
                query_interval_seconds: Optional[int] = None, query_delay_seconds: Optional[int] = None,
                cpu_utilization_percent: Optional[int] = None, metric: str = METRIC) -> list[dict[str, Any]]:
    """The metrics of a QPS autoscaler: the ingress QPS, and the CPU fallback when it is given."""
    metrics = [qps_metric(route, sls_project, target_qps_per_replica, sls_logstore, query_interval_seconds, query_delay_seconds, metric)]
    if cpu_utilization_percent is not None:
        metrics.append(cpu_metric(cpu_utilization_percent))
    return metrics


def seldon_hpa_spec(min_replicas: int, max_replicas: int, metric: Mapping[str, Any], *more: Mapping[str, Any]) -> dict[str, Any]:
    """A SeldonDeployment ``componentSpecs[].hpaSpec``: the operator creates the HPA on the Deployment it generates.

    ``metricsv2`` (seldon-core >= 1.16) is copied verbatim into an ``autoscaling/v2`` HPA
    (operator/controllers/seldondeployment_controller.go ``createHpa``), so the External
    metric works as in :class:`QpsAutoscaler`. Seldon's hpaSpec has no ``behavior``: the
    HPA controller's defaults apply (scale-down stabilization 300 s).
    """
    if not 1 <= min_replicas <= max_replicas:
        raise ValueError(f"seldon_hpa_spec: need 1 <= min_replicas <= max_replicas, got {min_replicas} and {max_replicas}")
    return {"minReplicas": min_replicas, "maxReplicas": max_replicas, "metricsv2": [dict(m) for m in (metric, *more)]}


@dataclass(kw_only=True)
class QpsAutoscalerArgs:
    """Arguments of :class:`QpsAutoscaler`."""

    namespace: str
    """Namespace of the HPA and its target."""
    scale_target: Mapping[str, str]
    """``apiVersion``, ``kind`` and ``name`` of the workload to scale: a Deployment, StatefulSet or ReplicaSet."""
    route: pulumi.Input[str]
    """``sls.ingress.route`` of the Ingress backend (see :func:`ingress_route`)."""
    sls_project: str
    """SLS project of the ingress logs, ``k8s-log-{cluster id}`` by default in ACK."""
    min_replicas: int = 1
    """Fewest replicas."""
    max_replicas: int = 10
    """Most replicas."""
    target_qps_per_replica: float = 10
    """Average QPS per replica the HPA steers towards."""
    sls_logstore: str = DEFAULT_LOGSTORE
    """Logstore of the ingress logs (an ALB's ``accessLogConfig.logStore`` for ``sls_alb_ingress_qps``)."""
    metric: str = METRIC
    """The adapter's QPS metric: ``sls_ingress_qps`` (NGINX Ingress) or ``sls_alb_ingress_qps`` (ALB Ingress): the ingress
    controller's ``metric`` (``ingresses.INGRESS_CONTROLLERS``)."""
    query_interval_seconds: Optional[int] = None
    """``sls.query.interval``: the window the QPS is averaged over (>= 15 s); None keeps the adapter's default."""
    query_delay_seconds: Optional[int] = None
    """``sls.query.delay``: how far behind now the window ends; None keeps the adapter's default."""
    cpu_utilization_percent: Optional[int] = None
    """A second metric: average CPU utilization (percent of the request) per replica. The HPA
    scales up on it when the QPS metric cannot be read (SLS or the adapter down), never down."""
    scale_up_pods: int = 4
    """Most pods added per 15 s (or ``scale_up_percent``, whichever is more)."""
    scale_up_percent: int = 100
    """Most percent added per 15 s."""
    scale_down_stabilization_seconds: int = 300
    """The highest recommendation of this window is used when scaling down."""
    scale_down_percent: int = 50
    """Most percent removed per minute."""
    schedule: Sequence[ScheduledFloor] = ()
    """Scheduled floors: cron entries that raise and lower ``min_replicas`` ahead of known peaks, run by ACK's
    CronHPA controller against this HPA (``schedule.py``); empty: none."""
    pods_metrics: Sequence[Mapping[str, Any]] = ()
    """Instead of the ingress QPS, scale on these ``Pods`` MetricSpecs: a Prometheus signal's
    (``signals.PrometheusSignal.hpa_metrics``: vLLM's queue and KV-cache use); the HPA follows the metric that asks for
    the most replicas. ``route`` and the SLS settings are then unused."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(
            checks.dns_label("namespace", self.namespace),
            *(checks.whole_number(arg, getattr(self, arg), 0) for arg in
              ("min_replicas", "max_replicas", "scale_up_pods", "scale_up_percent", "scale_down_stabilization_seconds", "scale_down_percent")),
            *(checks.whole_number(arg, getattr(self, arg)) for arg in ("query_interval_seconds", "query_delay_seconds", "cpu_utilization_percent")
              if getattr(self, arg) is not None),
            checks.number("target_qps_per_replica", self.target_qps_per_replica),
            checks.one_of("metric", self.metric, QPS_METRICS),
        )
        if found:
            return found
        if self.min_replicas < 1:
            found.append(ArgProblem("min_replicas", "must be >= 1"))
        if self.min_replicas > self.max_replicas:
            found.append(ArgProblem("max_replicas", f"must be >= min_replicas ({self.min_replicas})"))
        if self.target_qps_per_replica < MIN_TARGET_QPS:
            found.append(ArgProblem("target_qps_per_replica", f"must be >= {MIN_TARGET_QPS} (a Kubernetes quantity has milli precision)"))
        if self.query_interval_seconds is not None and self.query_interval_seconds < MIN_QUERY_INTERVAL:
            found.append(ArgProblem("query_interval_seconds", f"must be >= {MIN_QUERY_INTERVAL} (the adapter's minimum)"))
        if self.query_delay_seconds is not None and self.query_delay_seconds < 0:
            found.append(ArgProblem("query_delay_seconds", "must be >= 0"))
        # The adapter reads logs from now-100 s on (pkg/metrics/sls/sls.go): a window that starts
        # earlier is undercounted. Its defaults are interval 15 and delay 10.
        window = (self.query_interval_seconds or DEFAULT_QUERY_INTERVAL) + (
            DEFAULT_QUERY_DELAY if self.query_delay_seconds is None else self.query_delay_seconds)
        if window > MAX_QUERY_WINDOW:
            found.append(ArgProblem("query_interval_seconds", f"query interval + delay is {window} s: the metrics adapter reads only "
                                                              f"the last {MAX_QUERY_WINDOW} s of logs and would undercount the QPS; "
                                                              f"keep it within {MAX_QUERY_WINDOW}"))
        if self.cpu_utilization_percent is not None and not 1 <= self.cpu_utilization_percent <= 100:
            found.append(ArgProblem("cpu_utilization_percent", "must be within 1-100 (percent of the CPU request)"))
        if self.scale_down_stabilization_seconds > MAX_STABILIZATION_SECONDS:
            found.append(ArgProblem("scale_down_stabilization_seconds", f"must be <= {MAX_STABILIZATION_SECONDS}"))
        missing = {"apiVersion", "kind", "name"} - set(self.scale_target)
        if missing:
            found.append(ArgProblem("scale_target", f"lacks {', '.join(sorted(missing))}"))
        elif self.scale_target["kind"] not in SCALABLE_KINDS:
            found.append(ArgProblem("scale_target", f"an HPA cannot scale this kind (its scale subresource reports no label selector); "
                                                    f"target one of {', '.join(SCALABLE_KINDS)}, or for a runtime that scales through "
                                                    "its own HPA spec use seldon_hpa_spec() in InferenceServiceArgs.hpa_spec"))
        if any(not isinstance(m, Mapping) or m.get("type") != "Pods" for m in self.pods_metrics):
            found.append(ArgProblem("pods_metrics", "must be autoscaling/v2 MetricSpecs of type Pods (see PrometheusSignal.hpa_metrics)"))
        if not self.pods_metrics and isinstance(self.route, str) and route_problem(self.route):
            found.append(ArgProblem("route", str(route_problem(self.route))))
        if self.min_replicas <= self.max_replicas:
            found += schedule_problems(self.schedule, self.min_replicas, self.max_replicas)
        return found


class QpsAutoscaler(pulumi.ComponentResource):
    """An ``autoscaling/v2`` HPA on the ingress QPS (External metric ``sls_ingress_qps`` or ``sls_alb_ingress_qps``)."""

    hpa_name: str
    """Name of the HorizontalPodAutoscaler."""
    prerequisites: dict[str, str]
    """What the cluster must already have (name -> why): the CronHPA CRD with a schedule."""

    def __init__(self, name: str, args: QpsAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("QpsAutoscalerArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        self.hpa_name = name
        self.prerequisites = {CRON_HPA_CRD: CRON_HPA_PREREQUISITE} if args.schedule else {}
        # Always forced: a CronHPA's controller (now, or one a later update removes) and hand edits take ownership of
        # minReplicas; the stack's apply must win over them rather than fail on a Server-Side Apply conflict.
        annotations = with_skips({PATCH_FORCE: "true"}, namespace=args.namespace)
        if args.pods_metrics:
            metrics = [dict(m) for m in args.pods_metrics] + ([cpu_metric(args.cpu_utilization_percent)] if args.cpu_utilization_percent else [])
        else:
            metrics = hpa_metrics(args.route, args.sls_project, args.target_qps_per_replica, args.sls_logstore,
                                  args.query_interval_seconds, args.query_delay_seconds, args.cpu_utilization_percent, args.metric)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                namespace=args.namespace,
                labels={"app.kubernetes.io/managed-by": "pulumi"},
                annotations=annotations,
            ),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version=args.scale_target["apiVersion"], kind=args.scale_target["kind"], name=args.scale_target["name"]
                ),
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
                # In the API's own (camelCase) field names; the SDK passes the mapping through.
                metrics=[cast(Any, m) for m in metrics],
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    scale_up=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=0,
                        select_policy="Max",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=args.scale_up_pods, period_seconds=15),
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=args.scale_up_percent, period_seconds=15),
                        ],
                    ),
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=args.scale_down_stabilization_seconds,
                        select_policy="Max",
                        policies=[
                            k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Percent", value=args.scale_down_percent, period_seconds=60),
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.schedule:
            # Its kind is served once the controller's CRD exists: the dependencies given to this component
            # (ModelEndpoint passes the cluster's add-ons) are the CronHPA's own, not only its parent's.
            cron_hpa(name, args.namespace, self.hpa_name, args.schedule, parent=self, depends_on=opts.depends_on if opts else None)
        self.register_outputs({"hpaName": self.hpa_name})
