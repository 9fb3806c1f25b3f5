"""What every placement mode provides: the contract a mode module implements.

A mode is a subclass of :class:`PlacementMode` with every abstract member
defined, registered in ``placements/__init__.py``. A mode that leaves one out
cannot be instantiated, so it fails when the registry is imported: in the
program, the render, the policy pack's run and the simulator alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Optional, Sequence

from ..problems import ArgProblem

if TYPE_CHECKING:
    from ..placement import PlacementArgs

ECI_LABEL = "alibabacloud.com/eci"
ECI_USE_SPECS = "k8s.aliyun.com/eci-use-specs"
VIRTUAL_NODE_TAINT = "virtual-kubelet.io/provider"
TOLERATE_VIRTUAL_NODE: Mapping[str, str] = {"key": VIRTUAL_NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}
RESOURCE_POLICY_CRD = "resourcepolicies.scheduling.alibabacloud.com"
RESOURCE_POLICY_PREREQUISITE = (
    "ACK Pro's scheduler serves ResourcePolicy (ACK Pro >= 1.20.11; ACK 'Configure priority-based resource scheduling')")


@dataclass(frozen=True)
class PodScheduling:
    """What a pod template must carry for a placement (Kubernetes field shapes)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    topology_spread_constraints: Sequence[Mapping[str, Any]] = ()


class PlacementMode(ABC):
    """One way of placing a service's pods (``PlacementArgs.mode``)."""

    name: ClassVar[str]
    """The mode's name, as ``PlacementArgs.mode`` and the stack file's ``placement.mode`` give it."""
    uses_node_pool: ClassVar[bool]
    """Pods may run on the ECS node pool (``node_labels`` select it)."""
    uses_eci: ClassVar[bool]
    """Pods may run on ECI (virtual nodes)."""
    options: ClassVar[frozenset[str]] = frozenset()
    """Mode-specific ``PlacementArgs`` fields it reads, of ``eci_instance_types``, ``tiers`` and
    ``pool_wait_seconds``; setting one the mode does not read is an error."""
    min_kubernetes: ClassVar[tuple[int, int]] = (1, 23)
    """Oldest Kubernetes minor version the mode works on."""

    @abstractmethod
    def pod_scheduling(self, args: PlacementArgs) -> PodScheduling:
        """Labels, annotations, node selector, tolerations and spread for the pod template."""

    @abstractmethod
    def resource_policy(self, args: PlacementArgs) -> Optional[dict[str, Any]]:
        """The ``spec`` of the ResourcePolicy without its selector (``units`` and the rest), or None."""

    def problems(self, args: PlacementArgs) -> list[ArgProblem]:
        """Mode-specific problems of ``args`` (the common ones are checked by ``PlacementArgs``)."""
        return []

    def prerequisites(self, args: PlacementArgs) -> dict[str, str]:
        """What the cluster must already have (name -> why)."""
        return {RESOURCE_POLICY_CRD: RESOURCE_POLICY_PREREQUISITE} if self.resource_policy(args) is not None else {}


def tolerate(taints: Sequence[Any]) -> list[dict[str, Any]]:
    """Tolerations for the node pool's taints (``NodeTaint`` items)."""
    out = []
    for t in taints:
        toleration: dict[str, Any] = {"key": t.key, "effect": t.effect}
        if t.value is None:
            toleration["operator"] = "Exists"
        else:
            toleration.update(operator="Equal", value=t.value)
        out.append(toleration)
    return out


def eci_spec_annotations(args: PlacementArgs) -> dict[str, str]:
    """``k8s.aliyun.com/eci-use-specs`` when ECI specs are listed."""
    return {ECI_USE_SPECS: ",".join(args.eci_instance_types)} if args.eci_instance_types else {}
