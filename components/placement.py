"""Placement: where a service's pods run, ECS node pool, ECI, or both in order.

Replaces three outdated seed steps with ACK's current mechanisms (DESIGN.md):

- seed 002's ``--selector=inference=tensorflow`` -> ``ecs``: a nodeSelector on
  the pool's labels, tolerations for its taints, pods spread across zones;
- seed 003's ``alibabacloud.com/burst-resource: eci_only`` (unmaintained on
  1.24+) -> ``eci``: the ``alibabacloud.com/eci`` pod label and
  ``k8s.aliyun.com/eci-use-specs``; and ``burst-resource: eci`` ->
  ``ecs-then-eci``: a ``ResourcePolicy`` with an ECS unit then an ECI unit;
- seed 000's deprecated ``ElasticWorkload`` -> ``eci-tiers``: a
  ``ResourcePolicy`` with one ECI unit per tier, spot tiers by pod annotations.

The component computes the pod-side settings (:attr:`Placement.pod`) for the
workload to carry and creates the ResourcePolicy where one is needed; create
the workload after it (``depends_on``), since a ResourcePolicy only governs
pods scheduled after it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import _checks
from ._annotations import with_skips
from .spot_node_pool import NodeTaint

TYPE = "elastic-inference:scheduling:Placement"
MODES = ("ecs", "eci", "ecs-then-eci", "eci-tiers")
ECI_SPOT_STRATEGIES = ("SpotAsPriceGo", "SpotWithPriceLimit")
RESOURCE_POLICY_API = "scheduling.alibabacloud.com/v1alpha1"
RESOURCE_POLICY_CRD = "resourcepolicies.scheduling.alibabacloud.com"

ECI_LABEL = "alibabacloud.com/eci"
ECI_USE_SPECS = "k8s.aliyun.com/eci-use-specs"
ECI_SPOT_STRATEGY = "k8s.aliyun.com/eci-spot-strategy"
ECI_SPOT_PRICE_LIMIT = "k8s.aliyun.com/eci-spot-price-limit"
ECI_SPOT_FALLBACK = "k8s.aliyun.com/eci-spot-fallback"
ECI_SPOT_DURATION = "k8s.aliyun.com/eci-spot-duration"
VIRTUAL_NODE_TAINT = "virtual-kubelet.io/provider"
MAX_ECI_SPECS = 5
# ACK "Configure priority-based resource scheduling": with the default whenTryNextUnits
# (LackResourceOrExceedMax) a pod moves to the next unit as soon as the existing nodes are
# full, so none stays pending and the autoscaler never grows the pool. A unit whose
# podLabels carry this label (the scheduler does not put it on the pod) keeps the pod
# waiting for a new node, up to whenTryNextUnits.timeout with TimeoutOrExceedMax.
WAIT_FOR_ECS_SCALING = "k8s.aliyun.com/resource-policy-wait-for-ecs-scaling"
WAIT_POLICY = "TimeoutOrExceedMax"
# The timeout must cover creating the node and its becoming Ready: a pod still waiting
# for a NotReady node at the timeout goes to ECI all the same (same ACK doc).
DEFAULT_POOL_WAIT_SECONDS = 300


@dataclass(frozen=True)
class EciTier:
    """One ECI unit of an ``eci-tiers`` placement, filled in order."""

    max: Optional[int] = None
    """Most pods in this tier; None (last tier only) is unbounded."""
    spot_strategy: Optional[str] = None
    """None: on-demand ECI. ``SpotAsPriceGo`` or ``SpotWithPriceLimit``: preemptible ECI."""
    spot_price_limit: Optional[float] = None
    """Hourly price limit with ``SpotWithPriceLimit``."""
    spot_fallback: bool = True
    """Fall back to on-demand ECI when no spot capacity is left (a spot tier never stalls)."""
    spot_protection_hours: int = 1
    """Hours a spot ECI pod cannot be reclaimed after creation: 1 (ECI's default, stated here) or 0."""


@dataclass(frozen=True)
class PodScheduling:
    """What a pod template must carry for a placement (Kubernetes field shapes)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    topology_spread_constraints: Sequence[Mapping[str, Any]] = ()


@dataclass
class PlacementArgs:
    """Arguments of :class:`Placement`."""

    mode: str
    """``ecs``, ``eci``, ``ecs-then-eci`` or ``eci-tiers``."""
    namespace: str
    """Namespace of the workload (and of its ResourcePolicy)."""
    selector: Mapping[str, str]
    """Labels that select exactly this workload's pods."""
    node_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the ECS node pool (``ecs`` and ``ecs-then-eci``)."""
    node_taints: Sequence[NodeTaint] = ()
    """Taints of the ECS node pool, tolerated by the pods."""
    eci_instance_types: Sequence[str] = ()
    """ECI specs to try in order (at most 5); GPU specs need a GPU limit on the container."""
    tiers: Sequence[EciTier] = ()
    """The ECI tiers of ``eci-tiers``, in fill order."""
    pool_wait_seconds: int = DEFAULT_POOL_WAIT_SECONDS
    """``ecs-then-eci``: how long a pod waits for the auto-scaling pool to add a Ready node
    before it goes to ECI (``whenTryNextUnits.timeout``). Needs Kubernetes 1.24+ and ACK's
    scheduler 6.4+, and node instant scaling for the pool."""


class Placement(pulumi.ComponentResource):
    """Pod scheduling for one workload, and its ResourcePolicy when the mode needs one."""

    pod: PodScheduling
    """Labels, annotations, node selector, tolerations and spread for the pod template."""
    resource_policy_name: Optional[str]
    """Name of the ResourcePolicy (``ecs-then-eci``, ``eci-tiers``), else None."""
    resources: list[pulumi.Resource]
    """Resources the workload must be created after."""
    prerequisites: dict[str, str]
    """What the cluster must already have for this placement (name -> why), for the stack's
    ``clusterPrerequisites`` output."""

    def __init__(self, name: str, args: PlacementArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _validate(args)
        super().__init__(TYPE, name, None, opts)
        self.pod = pod_scheduling(args)
        self.resource_policy_name = None
        self.resources = []
        self.prerequisites = {}
        units = resource_policy_units(args)
        if units:
            self.resource_policy_name = name
            self.prerequisites[RESOURCE_POLICY_CRD] = (
                "ACK Pro's scheduler serves ResourcePolicy (ACK Pro >= 1.20.11; ACK 'Configure priority-based resource scheduling')")
            if args.mode == "ecs-then-eci":
                self.prerequisites["node-instant-scaling"] = (
                    "the pool must grow through node instant scaling (ack-goatscaler): ACK says a ResourcePolicy with auto "
                    "scaling must use instant elasticity; Kubernetes >= 1.24, scheduler >= 6.4 for whenTryNextUnits")
            policy = k8s.apiextensions.CustomResource(
                f"{name}-resource-policy",
                api_version=RESOURCE_POLICY_API,
                kind="ResourcePolicy",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, namespace=args.namespace, labels=dict(args.selector), annotations=with_skips(None, namespace=args.namespace)
                ),
                spec={
                    "selector": dict(args.selector),
                    "strategy": "prefer",
                    "units": units,
                    **({"whenTryNextUnits": {"policy": WAIT_POLICY, "timeout": f"{args.pool_wait_seconds}s"}}
                       if args.mode == "ecs-then-eci" else {}),
                    # Scale-in removes pods of the last units first; terminating pods
                    # must not count against a unit's max or a scale-out stalls.
                    "ignoreTerminatingPod": True,
                    "preemptPolicy": "AfterAllUnits",
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.resources.append(policy)
        self.register_outputs({"resourcePolicyName": self.resource_policy_name})


def _validate(args: PlacementArgs) -> None:
    _checks.dns_label("PlacementArgs.namespace", args.namespace)
    _checks.whole_number("PlacementArgs.pool_wait_seconds", args.pool_wait_seconds)
    if args.mode not in MODES:
        raise ValueError(f"PlacementArgs.mode must be one of {MODES}")
    if not args.selector:
        raise ValueError("PlacementArgs.selector must name the labels of the workload's pods")
    if args.mode in ("ecs", "ecs-then-eci") and not args.node_labels:
        raise ValueError(f"PlacementArgs.node_labels is required with mode {args.mode!r} (it selects the node pool)")
    if len(args.eci_instance_types) > MAX_ECI_SPECS:
        raise ValueError(f"PlacementArgs.eci_instance_types: ECI accepts at most {MAX_ECI_SPECS} specs")
    if args.mode == "eci-tiers":
        if not args.tiers:
            raise ValueError("PlacementArgs.tiers is required with mode 'eci-tiers'")
        for i, tier in enumerate(args.tiers):
            if tier.max is None and i != len(args.tiers) - 1:
                raise ValueError(f"PlacementArgs.tiers[{i}].max is required (only the last tier may be unbounded)")
            if tier.spot_strategy is not None and tier.spot_strategy not in ECI_SPOT_STRATEGIES:
                raise ValueError(f"PlacementArgs.tiers[{i}].spot_strategy must be one of {ECI_SPOT_STRATEGIES}")
            if tier.spot_protection_hours not in (0, 1):
                raise ValueError(f"PlacementArgs.tiers[{i}].spot_protection_hours must be 0 or 1 (ECI's protection period)")
            if (tier.spot_strategy == "SpotWithPriceLimit") != (tier.spot_price_limit is not None):
                raise ValueError(f"PlacementArgs.tiers[{i}]: spot_price_limit goes with spot_strategy 'SpotWithPriceLimit' only")
    elif args.tiers:
        raise ValueError(f"PlacementArgs.tiers is only used with mode 'eci-tiers', not {args.mode!r}")
    if not 30 <= args.pool_wait_seconds <= 3600:
        raise ValueError("PlacementArgs.pool_wait_seconds must be within 30-3600 (the time for a node to be created and Ready)")


def _eci_spec_annotations(args: PlacementArgs) -> dict[str, str]:
    return {ECI_USE_SPECS: ",".join(args.eci_instance_types)} if args.eci_instance_types else {}


def _tolerate(taints: Sequence[NodeTaint]) -> list[dict[str, Any]]:
    out = []
    for t in taints:
        toleration: dict[str, Any] = {"key": t.key, "effect": t.effect}
        if t.value is None:
            toleration["operator"] = "Exists"
        else:
            toleration.update(operator="Equal", value=t.value)
        out.append(toleration)
    return out


_TOLERATE_VIRTUAL_NODE = {"key": VIRTUAL_NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}


def pod_scheduling(args: PlacementArgs) -> PodScheduling:
    """The pod-template side of a placement."""
    if args.mode == "ecs":
        return PodScheduling(
            node_selector=dict(args.node_labels),
            tolerations=_tolerate(args.node_taints),
            # Spot nodes are reclaimed per zone: keep replicas in several zones.
            topology_spread_constraints=[
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(args.selector)},
                }
            ],
        )
    if args.mode == "eci":
        return PodScheduling(
            labels={ECI_LABEL: "true"},
            annotations=_eci_spec_annotations(args),
            tolerations=[_TOLERATE_VIRTUAL_NODE],
        )
    # ResourcePolicy modes: the units carry node selectors and ECI annotations.
    return PodScheduling(tolerations=[*_tolerate(args.node_taints), _TOLERATE_VIRTUAL_NODE])


def resource_policy_units(args: PlacementArgs) -> list[dict[str, Any]]:
    """The ``spec.units`` of the mode's ResourcePolicy ([] when it needs none)."""
    if args.mode == "ecs-then-eci":
        # No `max` on the ECS unit: it holds an auto-scaling node pool (DESIGN.md).
        ecs_unit = {"resource": "ecs", "nodeSelector": dict(args.node_labels), "podLabels": {WAIT_FOR_ECS_SCALING: "true"}}
        eci_unit: dict[str, Any] = {"resource": "eci"}
        if args.eci_instance_types:
            eci_unit["podAnnotations"] = _eci_spec_annotations(args)
        return [ecs_unit, eci_unit]
    if args.mode == "eci-tiers":
        units = []
        for tier in args.tiers:
            annotations = _eci_spec_annotations(args)
            if tier.spot_strategy:
                annotations[ECI_SPOT_STRATEGY] = tier.spot_strategy
                if tier.spot_price_limit is not None:
                    annotations[ECI_SPOT_PRICE_LIMIT] = f"{tier.spot_price_limit:g}"
                if tier.spot_fallback:
                    annotations[ECI_SPOT_FALLBACK] = "true"
                annotations[ECI_SPOT_DURATION] = str(tier.spot_protection_hours)
            unit: dict[str, Any] = {"resource": "eci"}
            if tier.max is not None:
                unit["max"] = tier.max
            if annotations:
                unit["podAnnotations"] = annotations
            units.append(unit)
        return units
    return []
