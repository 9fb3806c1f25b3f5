"""Placement: where a service's pods run, ECS node pool, ECI, or both in order.

Replaces three outdated seed steps with ACK's current mechanisms (DESIGN.md);
each mode is a module of ``placements/`` (``ecs``, ``eci``, ``ecs-then-eci``,
``eci-tiers``), registered in ``placements.PLACEMENTS``. This component checks
the arguments, asks the mode for the pod-side settings (:attr:`Placement.pod`)
the workload carries, and creates the ResourcePolicy where the mode needs one;
create the workload after it (``depends_on``), since a ResourcePolicy only
governs pods scheduled after it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from ._annotations import with_skips
from .placements import PLACEMENTS, PlacementMode, PodScheduling
from .placements.base import RESOURCE_POLICY_CRD
from .placements.ecs_then_eci import DEFAULT_POOL_WAIT_SECONDS
from .problems import ArgProblem
from .spot_node_pool import NodeTaint

TYPE = "elastic-inference:scheduling:Placement"
RESOURCE_POLICY_API = "scheduling.alibabacloud.com/v1alpha1"
MAX_ECI_SPECS = 5

__all__ = ["DEFAULT_POOL_WAIT_SECONDS", "RESOURCE_POLICY_CRD", "EciTier", "Placement", "PlacementArgs", "PodScheduling"]


@dataclass(frozen=True, kw_only=True)
class EciTier:
    """One ECI unit of an ``eci-tiers`` placement, filled in order."""

    max: Optional[int] = None
    """Most pods in this tier; None (last tier only) is unbounded."""
    spot_strategy: Optional[str] = None
    """None: on-demand ECI. ``SpotAsPriceGo`` or ``SpotWithPriceLimit`` (:data:`~elastic_inference.types.EciSpotStrategy`): preemptible ECI."""
    spot_price_limit: Optional[float] = None
    """Hourly price limit with ``SpotWithPriceLimit``."""
    spot_fallback: bool = True
    """Fall back to on-demand ECI when no spot capacity is left (a spot tier never stalls)."""
    spot_protection_hours: int = 1
    """Hours a spot ECI pod cannot be reclaimed after creation: 1 (ECI's default, stated here) or 0."""


@dataclass(kw_only=True)
class PlacementArgs:
    """Arguments of :class:`Placement`."""

    mode: str
    """A registered placement mode (``placements.PLACEMENTS``): ``ecs``, ``eci``, ``ecs-then-eci`` or ``eci-tiers``."""
    namespace: str
    """Namespace of the workload (and of its ResourcePolicy)."""
    selector: Mapping[str, str]
    """Labels that select exactly this workload's pods."""
    node_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the ECS node pool (modes that use the pool)."""
    node_taints: Sequence[NodeTaint] = ()
    """Taints of the ECS node pool, tolerated by the pods."""
    eci_instance_types: Sequence[str] = ()
    """ECI specs to try in order (at most 5); GPU specs need a GPU limit on the container."""
    tiers: Sequence[EciTier] = ()
    """The ECI tiers of ``eci-tiers``, in fill order."""
    pool_wait_seconds: Optional[int] = None
    """``ecs-then-eci``: how long a pod waits for the auto-scaling pool to add a Ready node
    before it goes to ECI (``whenTryNextUnits.timeout``), 30-3600; None: 300. Needs Kubernetes
    1.24+ and ACK's scheduler 6.4+, and node instant scaling for the pool."""

    @property
    def placement_mode(self) -> PlacementMode:
        """The registered mode (``KeyError`` if ``mode`` is not registered)."""
        return PLACEMENTS[self.mode]

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.dns_label("namespace", self.namespace), checks.one_of("mode", self.mode, PLACEMENTS))
        if self.pool_wait_seconds is not None:
            found += checks.collect(checks.whole_number("pool_wait_seconds", self.pool_wait_seconds))
        if not self.selector:
            found.append(ArgProblem("selector", "must name the labels of the workload's pods"))
        if len(self.eci_instance_types) > MAX_ECI_SPECS:
            found.append(ArgProblem("eci_instance_types", f"ECI accepts at most {MAX_ECI_SPECS} specs"))
        mode = PLACEMENTS.get(self.mode)
        if mode is None:
            return found
        if mode.uses_node_pool and not self.node_labels:
            found.append(ArgProblem("node_labels", f"required with mode {self.mode!r}: it selects the node pool by its labels"))
        set_options = {"eci_instance_types": bool(self.eci_instance_types), "tiers": bool(self.tiers),
                       "pool_wait_seconds": self.pool_wait_seconds is not None}
        for option, is_set in set_options.items():
            if is_set and option not in mode.options:
                users = [m.name for m in PLACEMENTS.values() if option in m.options]
                found.append(ArgProblem(option, f"only used with mode {' or '.join(repr(u) for u in users)}, not {self.mode!r}; remove it"))
        return found + mode.problems(self)


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
        checks.raise_if_any("PlacementArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        mode = args.placement_mode
        self.pod = mode.pod_scheduling(args)
        self.prerequisites = mode.prerequisites(args)
        self.resource_policy_name = None
        self.resources = []
        policy_spec = mode.resource_policy(args)
        if policy_spec is not None:
            self.resource_policy_name = name
            self.resources.append(k8s.apiextensions.CustomResource(
                f"{name}-resource-policy",
                api_version=RESOURCE_POLICY_API,
                kind="ResourcePolicy",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, namespace=args.namespace, labels=dict(args.selector), annotations=with_skips(None, namespace=args.namespace)
                ),
                spec={
                    "selector": dict(args.selector),
                    "strategy": "prefer",
                    **policy_spec,
                    # Scale-in removes pods of the last units first; terminating pods
                    # must not count against a unit's max or a scale-out stalls.
                    "ignoreTerminatingPod": True,
                    "preemptPolicy": "AfterAllUnits",
                },
                opts=pulumi.ResourceOptions(parent=self),
            ))
        self.register_outputs({"resourcePolicyName": self.resource_policy_name})


def pod_scheduling(args: PlacementArgs) -> PodScheduling:
    """The pod-template side of a placement."""
    return args.placement_mode.pod_scheduling(args)


def resource_policy_units(args: PlacementArgs) -> list[dict[str, Any]]:
    """The ``spec.units`` of the mode's ResourcePolicy ([] when it needs none)."""
    spec = args.placement_mode.resource_policy(args)
    return list(spec["units"]) if spec else []
