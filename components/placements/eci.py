"""``eci``: Elastic Container Instance only, through the virtual node.

Replaces seed 003's ``alibabacloud.com/burst-resource: eci_only`` (unmaintained
on 1.24+) with the ``alibabacloud.com/eci`` pod label, and lists the ECI specs
to try in ``k8s.aliyun.com/eci-use-specs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .base import ECI_LABEL, TOLERATE_VIRTUAL_NODE, PlacementMode, PodScheduling, eci_spec_annotations

if TYPE_CHECKING:
    from ..placement import PlacementArgs


class Eci(PlacementMode):
    name = "eci"
    uses_node_pool = False
    uses_eci = True
    options = frozenset({"eci_instance_types"})

    def pod_scheduling(self, args: PlacementArgs) -> PodScheduling:
        return PodScheduling(labels={ECI_LABEL: "true"}, annotations=eci_spec_annotations(args), tolerations=[dict(TOLERATE_VIRTUAL_NODE)])

    def resource_policy(self, args: PlacementArgs) -> Optional[dict[str, Any]]:
        return None

