"""``ecs-then-eci``: the ECS node pool first, ECI when the pool cannot grow in time.

Replaces seed 003's ``alibabacloud.com/burst-resource: eci`` with a
ResourcePolicy of an ECS unit then an ECI unit. ACK "Configure priority-based
resource scheduling": with the default whenTryNextUnits (LackResourceOrExceedMax)
a pod moves to the next unit as soon as the existing nodes are full, so none
stays pending and the autoscaler never grows the pool. A unit whose podLabels
carry ``k8s.aliyun.com/resource-policy-wait-for-ecs-scaling`` (the scheduler does
not put it on the pod) keeps the pod waiting for a new node, up to
``whenTryNextUnits.timeout`` with ``TimeoutOrExceedMax``. The timeout must cover
creating the node and its becoming Ready: a pod still waiting for a NotReady
node at the timeout goes to ECI all the same (same ACK doc).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..problems import ArgProblem
from .base import TOLERATE_VIRTUAL_NODE, PlacementMode, PodScheduling, eci_spec_annotations, tolerate

if TYPE_CHECKING:
    from ..placement import PlacementArgs

WAIT_FOR_ECS_SCALING = "k8s.aliyun.com/resource-policy-wait-for-ecs-scaling"
WAIT_POLICY = "TimeoutOrExceedMax"
DEFAULT_POOL_WAIT_SECONDS = 300
POOL_WAIT_RANGE = (30, 3600)
NODE_INSTANT_SCALING = (
    "the pool must grow through node instant scaling (ack-goatscaler): ACK says a ResourcePolicy with auto "
    "scaling must use instant elasticity; Kubernetes >= 1.24, scheduler >= 6.4 for whenTryNextUnits")


def pool_wait_seconds(args: PlacementArgs) -> int:
    """The wait this placement uses: ``args.pool_wait_seconds`` or the default 300 s."""
    return DEFAULT_POOL_WAIT_SECONDS if args.pool_wait_seconds is None else args.pool_wait_seconds


class EcsThenEci(PlacementMode):
    name = "ecs-then-eci"
    uses_node_pool = True
    uses_eci = True
    options = frozenset({"eci_instance_types", "pool_wait_seconds"})
    # whenTryNextUnits needs Kubernetes 1.24 (ACK priority-based scheduling).
    min_kubernetes = (1, 24)

    def pod_scheduling(self, args: PlacementArgs) -> PodScheduling:
        # The units carry the node selector and the ECI annotations.
        return PodScheduling(tolerations=[*tolerate(args.node_taints), dict(TOLERATE_VIRTUAL_NODE)])

    def resource_policy(self, args: PlacementArgs) -> Optional[dict[str, Any]]:
        # No `max` on the ECS unit: it holds an auto-scaling node pool (DESIGN.md).
        ecs_unit = {"resource": "ecs", "nodeSelector": dict(args.node_labels), "podLabels": {WAIT_FOR_ECS_SCALING: "true"}}
        eci_unit: dict[str, Any] = {"resource": "eci"}
        if args.eci_instance_types:
            eci_unit["podAnnotations"] = eci_spec_annotations(args)
        return {"units": [ecs_unit, eci_unit], "whenTryNextUnits": {"policy": WAIT_POLICY, "timeout": f"{pool_wait_seconds(args)}s"}}


    def problems(self, args: PlacementArgs) -> list[ArgProblem]:
        low, high = POOL_WAIT_RANGE
        wait = args.pool_wait_seconds
        if wait is not None and not isinstance(wait, bool) and isinstance(wait, int) and not low <= wait <= high:
            return [ArgProblem("pool_wait_seconds", f"must be within {low}-{high} (the time for a node to be created and Ready)")]
        return []

    def prerequisites(self, args: PlacementArgs) -> dict[str, str]:
        return {**super().prerequisites(args), "node-instant-scaling": NODE_INSTANT_SCALING}
