"""The enumerations the components' arguments take, each defined once.

The config schema (``config/schema.py``) imports these types; a component
checks its arguments against :func:`choices` of the same type. Runtimes and
placement modes are not enumerations but registries (``runtimes/``,
``placements/``): adding one is adding a module, not editing a list.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

SpotStrategy = Literal["NoSpot", "SpotAsPriceGo", "SpotWithPriceLimit"]
"""ECS node pool spot strategy (pulumi-alicloud ``cs.NodePool.spot_strategy``)."""
EciSpotStrategy = Literal["SpotAsPriceGo", "SpotWithPriceLimit"]
"""ECI ``k8s.aliyun.com/eci-spot-strategy`` values."""
MultiAzPolicy = Literal["PRIORITY", "COST_OPTIMIZED", "BALANCE"]
"""ECS node pool ``multi_az_policy``."""
Encryption = Literal["AES256", "KMS"]
"""OSS server-side encryption of the model bucket."""
Access = Literal["secret", "rrsa"]
"""How the OSS volume authenticates: an AccessKey Secret, or RRSA (a RAM role per service account)."""
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
"""Kubernetes taint effects."""
LogCollector = Literal["logtail-ds", "loongcollector"]
"""ACK's log collection add-on (the newer loongcollector replaces logtail-ds)."""
MountClient = Literal["ossfs", "ossfs2"]
"""The OSS CSI driver's FUSE client for a model mount (the PV's ``fuseType``): ossfs 1.x, or ossfs 2.0, which ACK's
client-selection guide recommends for read-only workloads such as inference (ACK 'Client selection reference')."""

NetworkPlugin = Literal["terway", "flannel"]
"""The cluster's container network plug-in: Terway gives pods VPC addresses (an ALB can reach them directly), Flannel
an overlay (ACK 'Access Services by using an ALB Ingress': with Flannel, ALB backends must be NodePort or LoadBalancer)."""

def choices(literal: Any) -> tuple[str, ...]:
    """The values of one of the ``Literal`` types above, in their declared order."""
    return tuple(get_args(literal))
