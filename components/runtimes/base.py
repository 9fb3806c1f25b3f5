"""What every model-server runtime provides: the contract a runtime module implements.

A runtime is a subclass of :class:`Runtime` with every abstract member
defined, registered in ``runtimes/__init__.py``. One left out fails when the
table is built at import. The pieces every runtime shares (the pod's security
context, volumes, resources) are here too, so that a runtime module holds only
what is its own: containers, workload, ports, probes, scale target, and the
facts the simulator and the checks read.

Among those facts, what the render's preflight (``elastic_inference_tools/render/preflight/``) must know
of a runtime's operator to judge a rendered plan: which of its custom kinds no
HPA can target (:attr:`Runtime.unscalable_kinds`), what installs its CRDs
(:attr:`Runtime.crd_providers`), where its custom workload keeps its pod
templates and which containers the operator adds to them
(:meth:`Runtime.workload_pods`), and the HPA specs it carries
(:meth:`Runtime.workload_hpa_specs`). The preflight reads them from the
registry, never from a list of its own; a runtime whose workload is a core kind
(a Deployment) needs none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping, Optional, Sequence, cast

import pulumi
import pulumi_kubernetes as k8s

from .._annotations import with_skips
from ..problems import ArgProblem

if TYPE_CHECKING:
    from ..inference_service import InferenceServiceArgs

MODEL_MOUNT = "/models"
"""Where the model volume (the PVC, read-only) is mounted in the server container."""
# A high, fixed UID/GID: not root, and not one a host account is likely to own.
RUN_AS_ID = 10001
SECURE_CONTAINER: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass(frozen=True)
class PodContext:
    """What the :class:`InferenceService` hands a runtime to build its workload from."""

    name: str
    """The service's name (and its workload's)."""
    args: InferenceServiceArgs
    labels: Mapping[str, str]
    """Labels of every object of the service."""
    pod_labels: Mapping[str, str]
    """Labels of the pod template (the selector's, the placement's)."""
    pod_annotations: Mapping[str, str]
    """Annotations of the pod template (the placement's)."""
    selector: Mapping[str, str]
    """Labels that select the service's pods."""
    owner: pulumi.Resource
    """The parent of every resource the runtime creates."""
    depends_on: Sequence[pulumi.Resource]
    """What the workload is created after (the component's ``depends_on``: volume, placement, add-ons)."""

    def workload_opts(self, *first: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options of the workload resource: a child of the service, created after ``first`` and
        :attr:`depends_on`; its replica count left to the autoscaler when ``args.autoscaled``."""
        return pulumi.ResourceOptions(
            parent=self.owner,
            depends_on=[*first, *self.depends_on],
            ignore_changes=["spec.replicas"] if self.args.autoscaled else None,
        )


@dataclass(frozen=True)
class CrdProvider:
    """What installs a custom kind's CustomResourceDefinition (:attr:`Runtime.crd_providers`)."""

    crd: str
    """The CRD's name, ``<plural>.<group>``."""
    charts: tuple[str, ...] = ()
    """Helm charts that install the CRD (a Release of one in the stack installs it)."""
    addons: tuple[str, ...] = ()
    """ACK add-ons that install the CRD."""
    note: str = ""
    """Where the CRD comes from, in a few words (the preflight's finding quotes it)."""


@dataclass(frozen=True)
class WorkloadPod:
    """One pod template of a rendered workload of a runtime's custom kind (:meth:`Runtime.workload_pods`)."""

    where: str
    """Its path in the manifest, e.g. ``spec.predictors[0].componentSpecs[0]``."""
    metadata: Mapping[str, Any]
    """The template's ``metadata`` (its ``labels`` and ``annotations``)."""
    spec: Mapping[str, Any]
    """The template's pod spec, as rendered."""
    injected: tuple[Mapping[str, Any], ...] = ()
    """Containers the runtime's operator adds to the pod when it runs it (an executor, a sidecar), each with
    its ``name`` and ``resources``: they count when the pod is fitted to its instance types."""


@dataclass(frozen=True)
class Workload:
    """What a runtime built."""

    resource: pulumi.Resource
    """The workload (a Deployment, a SeldonDeployment...)."""
    service_name: pulumi.Output[str]
    """The Service that receives the traffic."""
    service_port: int
    """Its HTTP port."""
    scale_target: Optional[Mapping[str, str]]
    """``apiVersion``, ``kind`` and ``name`` an HPA scales, or None when the runtime scales through ``hpa_spec``."""


class Runtime(ABC):
    """One model server (``InferenceServiceArgs.runtime``)."""

    name: ClassVar[str]
    """The runtime's name, as ``InferenceServiceArgs.runtime`` and the stack file's ``runtime`` give it."""
    scaling: ClassVar[Literal["hpa", "hpa-spec"]]
    """``hpa``: a :class:`QpsAutoscaler` scales :attr:`Workload.scale_target`. ``hpa-spec``: the
    workload carries its own HPA spec (``InferenceServiceArgs.hpa_spec``), which has no ``behavior``."""
    workload_kinds: ClassVar[tuple[str, ...]]
    """Kinds of the objects whose pod templates run the server (what the simulator and the checks read)."""
    required_crds: ClassVar[tuple[str, ...]] = ()
    """CustomResourceDefinitions the cluster must serve (an operator's)."""
    option_defaults: ClassVar[Mapping[str, Any]] = {}
    """The runtime's own options (``InferenceServiceArgs.runtime_options``) and their defaults."""
    prometheus_metrics: ClassVar[Mapping[str, str]] = {}
    """Autoscaling signal -> the Prometheus series of the server that measures it (``signals/``: ``queue``,
    ``kv-cache``); a signal the runtime does not list cannot scale it."""
    metrics_endpoint: ClassVar[Optional[tuple[str, str]]] = None
    """``(container port name, path)`` where the server serves Prometheus metrics, or None."""
    request_timeout_seconds: ClassVar[Optional[int]] = None
    """How long one request may take through the ingress; None: the controller's default (60 s)."""
    public_paths: ClassVar[tuple[str, ...]] = ()
    """Path prefixes the Ingress publishes, the rest of the server staying inside the cluster; empty: all of it."""
    owns_service: ClassVar[bool] = True
    """The runtime creates the Service in front of the pods (it takes ``InferenceServiceArgs.service_annotations``);
    False: an operator does, and an ingress controller that needs Service annotations (ALB) cannot front it."""

    # -- what the render's preflight reads of a rendered plan (none of it is needed for a core workload kind) --
    unscalable_kinds: ClassVar[Mapping[tuple[str, str], str]] = {}
    """``(API group, kind) -> source`` of the runtime's custom kinds whose scale subresource has no label
    selector (no ``labelSelectorPath`` in the CRD): the HPA controller refuses an HPA that targets one
    ("selector is required"), and the preflight's ``hpa-target-scalable`` check says so, citing the source."""
    crd_providers: ClassVar[Mapping[tuple[str, str], CrdProvider]] = {}
    """``(API group, kind) -> what installs its CRD``, for each custom kind the runtime creates: the preflight's
    ``custom-resource-installed`` check accepts a stack that installs one of them (or declares the CRD a
    cluster prerequisite) and names them when it does not. A kind left out is taken as ``<kind>s.<group>``,
    installed by nothing the preflight knows."""

    def workload_pods(self, manifest: Mapping[str, Any]) -> Sequence[WorkloadPod]:
        """The pod templates of a rendered workload of one of :attr:`workload_kinds` that is not a core
        Kubernetes kind (the preflight reads a Deployment's, a StatefulSet's... itself), with the containers
        the runtime's operator adds to each: what the preflight fits to instance types and checks mounts of.
        ``manifest`` is the object as the plan records it (read it defensively: any value may be missing or
        unknown). Default: none."""
        return ()

    def workload_hpa_specs(self, manifest: Mapping[str, Any]) -> Sequence[tuple[str, Mapping[str, Any]]]:
        """``(path, spec)`` of each HPA spec that a rendered workload of one of :attr:`workload_kinds` carries
        for its operator to turn into an HPA (``scaling = "hpa-spec"``): the preflight checks their metrics as
        it checks an HPA's. ``manifest`` as for :meth:`workload_pods`. Default: none."""
        return ()

    @abstractmethod
    def default_image(self, gpu: int) -> str:
        """The server image when none is given (``gpu``: GPUs per replica)."""

    @abstractmethod
    def service_endpoint(self, name: str) -> tuple[str, int]:
        """``(Service name, HTTP port)`` of service ``name``, known before anything is created."""

    @abstractmethod
    def network_ports(self) -> Optional[Sequence[int]]:
        """TCP ports the NetworkPolicy opens to the ingress, or None for every port of the pods."""

    @abstractmethod
    def build(self, ctx: PodContext) -> Workload:
        """Create the workload (and its Service, config) as children of ``ctx.owner``."""

    @abstractmethod
    def rendered_hpa(self, objects: Sequence[Mapping[str, Any]], name: str, namespace: str) -> Optional[Mapping[str, Any]]:
        """The autoscaling/v2 HPA (as a manifest with ``spec``) that scales service ``name``, found in the
        rendered ``objects``, or None: how the simulator learns the service's scaling."""

    def problems(self, args: InferenceServiceArgs) -> list[ArgProblem]:
        """Runtime-specific problems of ``args`` (the common ones are checked by ``InferenceServiceArgs``)."""
        return []

    def option(self, args: InferenceServiceArgs, key: str) -> Any:
        """``args.runtime_options[key]``, or its default."""
        return args.runtime_options.get(key, self.option_defaults[key])


def resources(args: InferenceServiceArgs) -> dict[str, Any]:
    """Requests == limits: Guaranteed QoS, and ECI sizes the instance from them."""
    amounts = {"cpu": args.cpu, "memory": args.memory}
    if args.gpu:
        amounts["nvidia.com/gpu"] = str(args.gpu)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def pod_spec(ctx: PodContext, containers: Sequence[Mapping[str, Any]], volumes: Sequence[Mapping[str, Any]] = (),
             termination_grace_seconds: int = 30) -> dict[str, Any]:
    """The pod spec every runtime shares: non-root, no service account token, the model volume
    first, the runtime's ``volumes``, a ``/tmp`` scratch volume, and the placement's scheduling."""
    args = ctx.args
    sched = args.scheduling
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": termination_grace_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [dict(c) for c in containers],
        "volumes": [
            {"name": "model", "persistentVolumeClaim": {"claimName": args.claim_name, "readOnly": True}},
            *[dict(v) for v in volumes],
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
    }
    if sched.node_selector:
        spec["nodeSelector"] = dict(sched.node_selector)
    if sched.tolerations:
        spec["tolerations"] = [dict(t) for t in sched.tolerations]
    if sched.topology_spread_constraints:
        spec["topologySpreadConstraints"] = [dict(t) for t in sched.topology_spread_constraints]
    return spec


def server_deployment(ctx: PodContext, image: str, spec: Mapping[str, Any], pod_annotations: Mapping[str, str],
                      *first: pulumi.Resource, annotations: Optional[Mapping[str, str]] = None) -> k8s.apps.v1.Deployment:
    """The Deployment of a runtime's server pods (``spec``), created after ``first`` and the context's dependencies;
    ``annotations`` go on the Deployment itself (changing them rolls no pod)."""
    args = ctx.args
    return k8s.apps.v1.Deployment(
        f"{ctx.name}-deployment",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=ctx.name, namespace=args.namespace, labels=dict(ctx.labels),
            annotations=with_skips(dict(annotations or {}), namespace=args.namespace, image=image, pull_policy=True),
        ),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=args.replicas,
            revision_history_limit=5,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(ctx.selector)),
            # A new replica loads its model before an old one goes: never below the current capacity during a rollout.
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge="25%", max_unavailable=0),
            ),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(ctx.pod_labels), annotations=dict(pod_annotations) or None),
                # A plain mapping in the API's own (camelCase) names; the SDK accepts it as the PodSpec.
                spec=cast(Any, spec),
            ),
        ),
        opts=ctx.workload_opts(*first),
    )


def cluster_ip_service(ctx: PodContext, ports: Sequence[tuple[str, int, str]]) -> k8s.core.v1.Service:
    """The ClusterIP Service in front of the server pods; ``ports``: ``(name, port, appProtocol)``, each to the container
    port of that name. It carries ``InferenceServiceArgs.service_annotations`` (an ingress controller's)."""
    args = ctx.args
    return k8s.core.v1.Service(
        f"{ctx.name}-service",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=ctx.name, namespace=args.namespace, labels=dict(ctx.labels),
            annotations=with_skips(dict(args.service_annotations), namespace=args.namespace),
        ),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=dict(ctx.selector),
            ports=[k8s.core.v1.ServicePortArgs(name=n, port=p, target_port=n, protocol="TCP", app_protocol=a) for n, p, a in ports],
        ),
        opts=pulumi.ResourceOptions(parent=ctx.owner),
    )


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (for reading a rendered manifest)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one (for reading a rendered manifest)."""
    return value if isinstance(value, list) else []


def find(objects: Sequence[Mapping[str, Any]], kind: str, name: str, namespace: str) -> Optional[Mapping[str, Any]]:
    """The rendered object of ``kind`` named ``name`` in ``namespace``, or None."""
    for o in objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == kind and meta.get("name") == name and meta.get("namespace") == namespace:
            return o
    return None
