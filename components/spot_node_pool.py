"""SpotNodePool: the elastic, preemptible ECS node pool of seed 002.

Replaces the console steps "Create Node Pool: Enable Auto Scaling, Preemptible
Instance, label inference=tensorflow, Cost Optimization with 30% pay-as-you-go
and supplemental pay-as-you-go instances". The pool's size belongs to the
cluster autoscaler: this component sets its bounds and never its current size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud

from . import problems as checks
from .problems import ArgProblem
from .types import MultiAzPolicy, SpotStrategy, TaintEffect, choices

TYPE = "elastic-inference:compute:SpotNodePool"
MAX_SIZE = 1000
MAX_INSTANCE_TYPES = 10


@dataclass(frozen=True, kw_only=True)
class NodeTaint:
    """A Kubernetes taint put on every node of the pool."""

    key: str
    value: Optional[str] = None
    effect: TaintEffect = "NoSchedule"


@dataclass(kw_only=True)
class SpotNodePoolArgs:
    """Arguments of :class:`SpotNodePool`."""

    cluster_id: pulumi.Input[str]
    """The ACK cluster the pool joins."""
    node_pool_name: str
    """Name of the pool in ACK."""
    vswitch_ids: Sequence[str]
    """vSwitches (zones) the pool may create nodes in; several make multi-AZ policies useful."""
    instance_types: Sequence[str]
    """Candidate instance types, e.g. GPU types like ``ecs.gn6i-c4g1.xlarge`` (1-10)."""
    min_size: int = 0
    """Fewest nodes the autoscaler keeps."""
    max_size: int = 10
    """Most nodes the autoscaler may create."""
    spot_strategy: SpotStrategy = "SpotAsPriceGo"
    """``NoSpot``, ``SpotAsPriceGo`` (follow the market) or ``SpotWithPriceLimit``."""
    spot_price_limits: Mapping[str, float] = field(default_factory=dict)
    """Instance type -> maximum hourly price, required for every type with ``SpotWithPriceLimit``."""
    multi_az_policy: MultiAzPolicy = "COST_OPTIMIZED"
    """``PRIORITY``, ``COST_OPTIMIZED`` or ``BALANCE``."""
    on_demand_base_capacity: int = 0
    """Pay-as-you-go nodes kept before any spot node."""
    on_demand_percentage: int = 30
    """Share (0-100) of pay-as-you-go nodes above the base capacity."""
    compensate_with_on_demand: Optional[bool] = None
    """Create pay-as-you-go nodes when spot capacity is short; only COST_OPTIMIZED can.
    None: on exactly when the multi-AZ policy allows it."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes labels of every node (what workloads select the pool by)."""
    taints: Sequence[NodeTaint] = ()
    """Kubernetes taints of every node (workloads must tolerate them)."""
    system_disk_size: int = 120
    """System disk size in GiB (GPU images are large)."""
    system_disk_category: str = "cloud_essd"
    """System disk category."""

    @property
    def compensates(self) -> bool:
        """Whether the pool compensates with pay-as-you-go nodes (see ``compensate_with_on_demand``)."""
        if self.compensate_with_on_demand is None:
            return self.multi_az_policy == "COST_OPTIMIZED"
        return self.compensate_with_on_demand

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(
            *(checks.whole_number(arg, getattr(self, arg), 0) for arg in
              ("min_size", "max_size", "on_demand_base_capacity", "on_demand_percentage", "system_disk_size")),
            checks.one_of("spot_strategy", self.spot_strategy, choices(SpotStrategy)),
            checks.one_of("multi_az_policy", self.multi_az_policy, choices(MultiAzPolicy)),
            *(checks.one_of(f"taints[{i}].effect", t.effect, choices(TaintEffect)) for i, t in enumerate(self.taints)),
        )
        if found:
            return found
        if self.max_size > MAX_SIZE:
            found.append(ArgProblem("max_size", f"must be <= {MAX_SIZE}"))
        if self.min_size > self.max_size:
            found.append(ArgProblem("max_size", f"must be >= min_size ({self.min_size})"))
        if self.on_demand_percentage > 100:
            found.append(ArgProblem("on_demand_percentage", "must be <= 100"))
        if self.on_demand_base_capacity > self.max_size:
            found.append(ArgProblem("on_demand_base_capacity", f"must be <= max_size ({self.max_size})"))
        if not 1 <= len(self.instance_types) <= MAX_INSTANCE_TYPES:
            found.append(ArgProblem("instance_types", f"must list 1 to {MAX_INSTANCE_TYPES} instance types"))
        if not self.vswitch_ids:
            found.append(ArgProblem("vswitch_ids", "must list at least one vSwitch: the zones the pool may create nodes in"))
        if self.spot_strategy == "SpotWithPriceLimit":
            found += [ArgProblem(f"spot_price_limits.{t}", "a price limit is required for every instance type with SpotWithPriceLimit")
                      for t in self.instance_types if t not in self.spot_price_limits]
        elif self.spot_price_limits:
            found.append(ArgProblem("spot_price_limits", "only used with spot strategy SpotWithPriceLimit; remove it or change the strategy"))
        found += [ArgProblem(f"spot_price_limits.{t}", "is not one of the instance types") for t in self.spot_price_limits
                  if t not in self.instance_types]
        if self.compensate_with_on_demand and self.multi_az_policy != "COST_OPTIMIZED":
            found.append(ArgProblem("compensate_with_on_demand", "only takes effect with multi-AZ policy COST_OPTIMIZED; remove it or change the policy"))
        return found


class SpotNodePool(pulumi.ComponentResource):
    """An auto-scaling ACK node pool of (mostly) preemptible instances."""

    node_pool_id: pulumi.Output[str]
    """The node pool's id."""
    node_pool_name: str
    """The node pool's name."""
    labels: Mapping[str, str]
    """The labels every node carries."""
    taints: Sequence[NodeTaint]
    """The taints every node carries."""
    prerequisites: dict[str, str]
    """What the cluster must already have for the pool to grow (name -> why)."""

    def __init__(self, name: str, args: SpotNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("SpotNodePoolArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        spot = args.spot_strategy != "NoSpot"
        pool = alicloud.cs.NodePool(
            f"{name}-pool",
            cluster_id=args.cluster_id,
            node_pool_name=args.node_pool_name,
            vswitch_ids=list(args.vswitch_ids),
            instance_types=list(args.instance_types),
            instance_charge_type="PostPaid",
            system_disk_category=args.system_disk_category,
            system_disk_size=args.system_disk_size,
            scaling_config=alicloud.cs.NodePoolScalingConfigArgs(enable=True, min_size=args.min_size, max_size=args.max_size),
            spot_strategy=args.spot_strategy,
            spot_price_limits=[
                alicloud.cs.NodePoolSpotPriceLimitArgs(instance_type=t, price_limit=f"{p:g}")
                for t, p in sorted(args.spot_price_limits.items())
            ] or None,
            # Replace a spot node as soon as its reclaim notice arrives, not after it is gone.
            spot_instance_remedy=True if spot else None,
            multi_az_policy=args.multi_az_policy,
            # The provider takes these two as strings.
            on_demand_base_capacity=str(args.on_demand_base_capacity),
            on_demand_percentage_above_base_capacity=str(args.on_demand_percentage),
            compensate_with_on_demand=args.compensates if args.multi_az_policy == "COST_OPTIMIZED" else None,
            labels=[alicloud.cs.NodePoolLabelArgs(key=k, value=v) for k, v in sorted(args.labels.items())],
            taints=[alicloud.cs.NodePoolTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in args.taints] or None,
            # The cluster autoscaler owns the pool's current size.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desired_size", "node_count"]),
        )
        self.node_pool_id = pool.id
        self.node_pool_name = args.node_pool_name
        self.labels = dict(args.labels)
        self.taints = tuple(args.taints)
        # ACK "Enable node autoscaling": a pool's scaling_config takes effect only once node
        # scaling is enabled for the cluster and its role is authorized.
        self.prerequisites = {"node-autoscaling": (
            "node scaling enabled for the cluster, the Auto Scaling service activated, and AliyunCSManagedAutoScalerRole "
            "authorized (ACK 'Enable node autoscaling')")}
        self.register_outputs({"nodePoolId": self.node_pool_id, "nodePoolName": self.node_pool_name})
