"""Reusable ComponentResources for elastic inference on ACK.

Each module holds one component with a typed ``*Args`` dataclass; none of
them needs this project's stack config, so other Pulumi programs can import
them directly. Installed with pip, the package is ``elastic_inference``
(distribution ``elastic-inference-components``); in this repository it is the
``components/`` directory. Versions follow semantic versioning: see
CHANGELOG.md.
"""

__version__ = "0.2.0"

from .cluster_addons import ClusterAddons, ClusterAddonsArgs
from .inference_service import InferenceService, InferenceServiceArgs, selector_labels, service_endpoint
from .model_store import ModelStore, ModelStoreArgs
from .model_volume import ModelVolume, ModelVolumeArgs
from .placement import EciTier, Placement, PlacementArgs, PodScheduling
from .public_endpoint import PublicEndpoint, PublicEndpointArgs
from .qps_autoscaler import QpsAutoscaler, QpsAutoscalerArgs, cpu_metric, ingress_route, qps_metric, seldon_hpa_spec
from .spot_node_pool import NodeTaint, SpotNodePool, SpotNodePoolArgs

__all__ = [
    "__version__",
    "ClusterAddons", "ClusterAddonsArgs",
    "EciTier",
    "InferenceService", "InferenceServiceArgs",
    "ModelStore", "ModelStoreArgs",
    "ModelVolume", "ModelVolumeArgs",
    "NodeTaint",
    "Placement", "PlacementArgs", "PodScheduling",
    "PublicEndpoint", "PublicEndpointArgs",
    "QpsAutoscaler", "QpsAutoscalerArgs",
    "SpotNodePool", "SpotNodePoolArgs",
    "cpu_metric", "ingress_route", "qps_metric", "seldon_hpa_spec", "selector_labels", "service_endpoint",
]
