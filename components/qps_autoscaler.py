"""QpsAutoscaler: an HPA that scales a workload on the ingress QPS measured by SLS.

Replaces the seeds' ``hpa.yaml`` (``autoscaling/v2beta1`` in seeds 000 and
002, ``autoscaling/v2`` in 003). The ``sls.ingress.route`` label is computed
from the Ingress backend that really exists (``{namespace}-{service}-{port}``)
rather than copied from ``kubectl get service``, and the scaling behaviour is
explicit: fast scale-up for bursts, stabilized scale-down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from ._annotations import with_skips

TYPE = "elastic-inference:scaling:QpsAutoscaler"
METRIC = "sls_ingress_qps"
DEFAULT_LOGSTORE = "nginx-ingress"


def ingress_route(namespace: str, service: str, port: int, sticky: bool = False) -> str:
    """The metrics adapter's ``sls.ingress.route`` for an Ingress backend."""
    route = f"{namespace}-{service}-{port}"
    return f"sticky-{route}" if sticky else route


@dataclass
class QpsAutoscalerArgs:
    """Arguments of :class:`QpsAutoscaler`."""

    namespace: str
    """Namespace of the HPA and its target."""
    scale_target: Mapping[str, str]
    """``apiVersion``, ``kind`` and ``name`` of the workload to scale."""
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
    """Logstore of the ingress logs."""
    query_period_seconds: Optional[int] = None
    """``sls.query.period`` (>= 15 s); None keeps the adapter's default."""
    scale_up_pods: int = 4
    """Most pods added per 15 s (or ``scale_up_percent``, whichever is more)."""
    scale_up_percent: int = 100
    """Most percent added per 15 s."""
    scale_down_stabilization_seconds: int = 300
    """The highest recommendation of this window is used when scaling down."""
    scale_down_percent: int = 50
    """Most percent removed per minute."""


class QpsAutoscaler(pulumi.ComponentResource):
    """An ``autoscaling/v2`` HPA on the External metric ``sls_ingress_qps``."""

    hpa_name: str
    """Name of the HorizontalPodAutoscaler."""

    def __init__(self, name: str, args: QpsAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        self.hpa_name = name
        labels: dict[str, pulumi.Input[str]] = {
            "sls.project": args.sls_project,
            "sls.logstore": args.sls_logstore,
            "sls.ingress.route": args.route,
        }
        if args.query_period_seconds is not None:
            labels["sls.query.period"] = f"{args.query_period_seconds}s"
        target = args.target_qps_per_replica
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                namespace=args.namespace,
                labels={"app.kubernetes.io/managed-by": "pulumi"},
                annotations=with_skips(None, namespace=args.namespace),
            ),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version=args.scale_target["apiVersion"], kind=args.scale_target["kind"], name=args.scale_target["name"]
                ),
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="External",
                        external=k8s.autoscaling.v2.ExternalMetricSourceArgs(
                            metric=k8s.autoscaling.v2.MetricIdentifierArgs(
                                name=METRIC, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels)
                            ),
                            target=k8s.autoscaling.v2.MetricTargetArgs(
                                type="AverageValue", average_value=f"{int(target)}" if float(target).is_integer() else f"{round(target * 1000)}m"
                            ),
                        ),
                    )
                ],
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
        self.register_outputs({"hpaName": self.hpa_name})


def _validate(args: QpsAutoscalerArgs) -> None:
    if not 1 <= args.min_replicas <= args.max_replicas:
        raise ValueError(f"QpsAutoscalerArgs: need 1 <= min_replicas <= max_replicas, got {args.min_replicas} and {args.max_replicas}")
    if args.target_qps_per_replica <= 0:
        raise ValueError("QpsAutoscalerArgs.target_qps_per_replica must be > 0")
    if args.query_period_seconds is not None and args.query_period_seconds < 15:
        raise ValueError("QpsAutoscalerArgs.query_period_seconds must be >= 15 (the adapter's minimum)")
    missing = {"apiVersion", "kind", "name"} - set(args.scale_target)
    if missing:
        raise ValueError(f"QpsAutoscalerArgs.scale_target lacks {sorted(missing)}")
    if not 0 <= args.scale_down_stabilization_seconds <= 3600:
        raise ValueError("QpsAutoscalerArgs.scale_down_stabilization_seconds must be within 0-3600")
