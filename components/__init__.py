"""Reusable ComponentResources for elastic inference on ACK.

Each module holds one component with a typed, keyword-only ``*Args``
dataclass; none of them needs this project's stack config, so other Pulumi
programs can import them directly. :class:`ModelEndpoint` wires one model end
to end; the lower-level components are public for other wirings. Runtimes
(``runtimes/``), placement modes (``placements/``), ingress controllers
(``ingresses/``) and autoscaling signals (``signals/``) are registered variants,
one module each. Installed with pip, the package is ``elastic_inference``
(distribution ``elastic-inference-components``); in this repository it is the
``components/`` directory. Versions follow semantic versioning: see
CHANGELOG.md.
"""

__version__ = "0.6.0"

from .alb_gateway import AlbGateway, AlbGatewayArgs
from .cluster_addons import CRD_ADDONS, INGRESS_LOGSTORE, ClusterAddons, ClusterAddonsArgs, default_sls_project, prometheus_basic_auth
from .image_cache import ImageCacheChoice
from .inference_service import InferenceService, InferenceServiceArgs, selector_labels, service_endpoint
from .ingresses import INGRESS_CONTROLLERS, IngressController, ingress_controller
from .model_endpoint import (
    Autoscaling, IngressChoice, ModelEndpoint, ModelEndpointArgs, PlacementChoice, ServerResources, default_of, wiring_problems,
)
from .model_store import MAX_POLICY_LENGTH, ModelStore, ModelStoreArgs, UploadError, longest_read_policy, upload_files
from .model_volume import ModelVolume, ModelVolumeArgs
from .placement import EciTier, Placement, PlacementArgs, PodScheduling
from .placements import PLACEMENTS, PlacementMode, placement_mode
from .problems import ArgProblem, ArgsError
from .public_endpoint import PublicEndpoint, PublicEndpointArgs, path_problems
from .qps_autoscaler import QpsAutoscaler, QpsAutoscalerArgs, cpu_metric, ingress_route, qps_metric, route_problem, seldon_hpa_spec
from .registry import RegistryError
from .runtimes import RUNTIMES, Runtime, runtime
from .schedule import ScheduledFloor
from .signals import SIGNALS, PrometheusSignal, Signal, adapter_rules
from .spot_node_pool import NodeTaint, SpotNodePool, SpotNodePoolArgs

__all__ = [
    "__version__",
    "AlbGateway", "AlbGatewayArgs",
    "ArgProblem", "ArgsError",
    "Autoscaling",
    "CRD_ADDONS",
    "ClusterAddons", "ClusterAddonsArgs",
    "EciTier",
    "ImageCacheChoice",
    "INGRESS_LOGSTORE",
    "InferenceService", "InferenceServiceArgs",
    "INGRESS_CONTROLLERS",
    "IngressChoice", "IngressController",
    "MAX_POLICY_LENGTH",
    "ModelEndpoint", "ModelEndpointArgs",
    "ModelStore", "ModelStoreArgs",
    "ModelVolume", "ModelVolumeArgs",
    "NodeTaint",
    "PLACEMENTS",
    "Placement", "PlacementArgs", "PlacementChoice", "PlacementMode", "PodScheduling",
    "PublicEndpoint", "PublicEndpointArgs",
    "QpsAutoscaler", "QpsAutoscalerArgs",
    "RUNTIMES",
    "RegistryError",
    "Runtime",
    "SIGNALS",
    "ScheduledFloor",
    "PrometheusSignal", "Signal",
    "ServerResources",
    "SpotNodePool", "SpotNodePoolArgs",
    "UploadError",
    "adapter_rules", "cpu_metric", "default_of", "default_sls_project", "ingress_controller", "ingress_route", "longest_read_policy", "path_problems",
    "placement_mode", "prometheus_basic_auth", "qps_metric", "route_problem", "runtime", "seldon_hpa_spec", "selector_labels",
    "service_endpoint", "upload_files", "wiring_problems",
]
