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

from . import _checks

TYPE = "elastic-inference:compute:SpotNodePool"
SPOT_STRATEGIES = ("NoSpot", "SpotAsPriceGo", "SpotWithPriceLimit")
MULTI_AZ_POLICIES = ("PRIORITY", "COST_OPTIMIZED", "BALANCE")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeTaint:
    """A Kubernetes taint put on every node of the pool."""

    key: str
    value: Optional[str] = None
    effect: str = "NoSchedule"


@dataclass
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
    spot_strategy: str = "SpotAsPriceGo"
    """``NoSpot``, ``SpotAsPriceGo`` (follow the market) or ``SpotWithPriceLimit``."""
    spot_price_limits: Mapping[str, float] = field(default_factory=dict)
    """Instance type -> maximum hourly price, required for every type with ``SpotWithPriceLimit``."""
    multi_az_policy: str = "COST_OPTIMIZED"
    """``PRIORITY``, ``COST_OPTIMIZED`` or ``BALANCE``."""
    on_demand_base_capacity: int = 0
    """Pay-as-you-go nodes kept before any spot node."""
    on_demand_percentage: int = 30
    """Share (0-100) of pay-as-you-go nodes above the base capacity."""
    compensate_with_on_demand: bool = True
    """Create pay-as-you-go nodes when spot capacity is short (COST_OPTIMIZED only)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Kubernetes labels of every node (what workloads select the pool by)."""
    taints: Sequence[NodeTaint] = ()
    """Kubernetes taints of every node (workloads must tolerate them)."""
    system_disk_size: int = 120
    """System disk size in GiB (GPU images are large)."""
    system_disk_category: str = "cloud_essd"
    """System disk category."""


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
        _validate(args)
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
            compensate_with_on_demand=args.compensate_with_on_demand if args.multi_az_policy == "COST_OPTIMIZED" else None,
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


def _validate(args: SpotNodePoolArgs) -> None:
    for arg in ("min_size", "max_size", "on_demand_base_capacity", "on_demand_percentage", "system_disk_size"):
        _checks.whole_number(f"SpotNodePoolArgs.{arg}", getattr(args, arg), 0)
    problems = []
    if args.spot_strategy not in SPOT_STRATEGIES:
        problems.append(f"spot_strategy must be one of {SPOT_STRATEGIES}")
    if args.multi_az_policy not in MULTI_AZ_POLICIES:
        problems.append(f"multi_az_policy must be one of {MULTI_AZ_POLICIES}")
    if not 0 <= args.min_size <= args.max_size <= 1000:
        problems.append(f"need 0 <= min_size <= max_size <= 1000, got {args.min_size} and {args.max_size}")
    if not 0 <= args.on_demand_percentage <= 100:
        problems.append(f"on_demand_percentage must be within 0-100, got {args.on_demand_percentage}")
    if not 1 <= len(args.instance_types) <= 10:
        problems.append("instance_types must list 1 to 10 instance types")
    if not args.vswitch_ids:
        problems.append("vswitch_ids must list at least one vSwitch")
    if args.spot_strategy == "SpotWithPriceLimit":
        missing = [t for t in args.instance_types if t not in args.spot_price_limits]
        if missing:
            problems.append(f"spot_price_limits needs a price for {', '.join(missing)} with SpotWithPriceLimit")
    elif args.spot_price_limits:
        problems.append("spot_price_limits is only used with spot_strategy='SpotWithPriceLimit'")
    for taint in args.taints:
        if taint.effect not in TAINT_EFFECTS:
            problems.append(f"taint {taint.key}: effect must be one of {TAINT_EFFECTS}")
    if problems:
        raise ValueError("SpotNodePoolArgs: " + "; ".join(problems))
