"""``ecs``: the ECS node pool only (seed 002's ``--selector=inference=tensorflow``).

A nodeSelector on the pool's labels, tolerations for its taints, and replicas
spread across zones (spot nodes are reclaimed per zone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .base import PlacementMode, PodScheduling, tolerate

if TYPE_CHECKING:
    from ..placement import PlacementArgs


class Ecs(PlacementMode):
    name = "ecs"
    uses_node_pool = True
    uses_eci = False

    def pod_scheduling(self, args: PlacementArgs) -> PodScheduling:
        return PodScheduling(
            node_selector=dict(args.node_labels),
            tolerations=tolerate(args.node_taints),
            topology_spread_constraints=[
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": dict(args.selector)},
                }
            ],
        )

    def resource_policy(self, args: PlacementArgs) -> Optional[dict[str, Any]]:
        return None

