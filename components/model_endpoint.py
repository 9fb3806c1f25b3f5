"""ModelEndpoint: one model behind a public, autoscaled endpoint, in one call.

Wires, for one model, the components a platform team would otherwise connect
by hand: the model's OSS volume (:class:`ModelVolume`), where its pods run
(:class:`Placement`), the server (:class:`InferenceService`), its Ingress
(:class:`PublicEndpoint`) and its QPS autoscaler (:class:`QpsAutoscaler`, or
the runtime's own HPA spec). The pod selector, the Service and the ingress
route are derived here from the name and the runtime; the caller never passes
them. The lower-level components stay public for teams that need another
wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence

import pulumi

from . import problems as checks
from .alb_gateway import AlbGateway
from .cluster_addons import INGRESS_LOGSTORE, ClusterAddons
from .image_cache import AUTO_MATCH, ImageCacheChoice, image_cache
from .image_cache import CRD as IMAGE_CACHE_CRD
from .image_cache import PREREQUISITE as IMAGE_CACHE_PREREQUISITE
from .inference_service import InferenceService, InferenceServiceArgs, selector_labels
from .ingresses import INGRESS_CONTROLLERS
from .model_store import ModelStore
from .model_volume import ModelVolume, ModelVolumeArgs
from .placement import EciTier, Placement, PlacementArgs
from .placements import PLACEMENTS
from .problems import ArgProblem
from .public_endpoint import PublicEndpoint, PublicEndpointArgs
from .qps_autoscaler import QpsAutoscaler, QpsAutoscalerArgs, hpa_metrics, ingress_route, seldon_hpa_spec
from .runtimes import RUNTIMES
from .pod_monitor import CRD as POD_MONITOR_CRD
from .pod_monitor import PREREQUISITE as POD_MONITOR_PREREQUISITE
from .pod_monitor import SCRAPER_NAMESPACE
from .pod_monitor import pod_monitor
from .schedule import ScheduledFloor
from .signals import SIGNALS, PrometheusSignal, pods_metrics, scaled_on
from .spot_node_pool import NodeTaint, SpotNodePool
from .types import MountClient, choices

TYPE = "elastic-inference:serving:ModelEndpoint"


def default_of(cls: type, name: str) -> Any:
    """The default of dataclass ``cls``'s field ``name``: defaults are written once, where the argument is."""
    spec = cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
    return spec.default_factory() if callable(spec.default_factory) else spec.default


@dataclass(frozen=True, kw_only=True)
class ServerResources:
    """CPU, memory and GPUs of one replica (requests == limits)."""

    gpu: int = default_of(InferenceServiceArgs, "gpu")
    cpu: str = default_of(InferenceServiceArgs, "cpu")
    memory: str = default_of(InferenceServiceArgs, "memory")


@dataclass(frozen=True, kw_only=True)
class PlacementChoice:
    """Where the pods run: a registered placement mode and its options (see :class:`PlacementArgs`)."""

    mode: str = "eci"
    eci_instance_types: Sequence[str] = ()
    tiers: Sequence[EciTier] = ()
    pool_wait_seconds: Optional[int] = None

    def args(self, namespace: str, selector: Mapping[str, str], node_labels: Mapping[str, str] = MappingProxyType({}),
             node_taints: Sequence[NodeTaint] = ()) -> PlacementArgs:
        """The :class:`PlacementArgs` of this choice for one workload (and the node pool's labels and taints)."""
        return PlacementArgs(
            mode=self.mode, namespace=namespace, selector=selector, node_labels=node_labels, node_taints=node_taints,
            eci_instance_types=self.eci_instance_types, tiers=self.tiers, pool_wait_seconds=self.pool_wait_seconds,
        )


@dataclass(frozen=True, kw_only=True)
class IngressChoice:
    """The public host and path of the endpoint, and the controller that serves it (see :class:`PublicEndpointArgs`)."""

    host: str
    path: str = default_of(PublicEndpointArgs, "path")
    tls_secret: Optional[str] = None
    certificate_id: Optional[str] = None
    """``alb`` only: a certificate of the ALB's HTTPS listener (``AlbGatewayArgs.certificate_ids``) instead of a Secret."""
    controller: str = default_of(PublicEndpointArgs, "controller")
    """``nginx`` or ``alb`` (``ingresses.INGRESS_CONTROLLERS``); ``alb`` needs ``ModelEndpointArgs.alb``."""
    class_name: Optional[str] = None
    """The IngressClass; None: ``nginx``, or the ALB gateway's class."""


@dataclass(frozen=True, kw_only=True)
class Autoscaling:
    """Replica bounds and the QPS target (see :class:`QpsAutoscalerArgs`). Needs the ingress."""

    enabled: bool = True
    min_replicas: int = default_of(QpsAutoscalerArgs, "min_replicas")
    max_replicas: int = default_of(QpsAutoscalerArgs, "max_replicas")
    target_qps_per_replica: float = default_of(QpsAutoscalerArgs, "target_qps_per_replica")
    query_interval_seconds: Optional[int] = None
    query_delay_seconds: Optional[int] = None
    cpu_utilization_percent: Optional[int] = None
    scale_down_stabilization_seconds: Optional[int] = None
    """None: 300 s (QpsAutoscaler's default). A runtime that scales through its own HPA spec
    (``seldon``) has no scaling behaviour: it must stay None."""
    schedule: Sequence[ScheduledFloor] = ()
    """Scheduled floors (``QpsAutoscalerArgs.schedule``): raise and lower the floor ahead of known peaks."""
    signal: str = "qps"
    """What the HPA scales on (``signals.SIGNALS``): ``qps`` (the ingress QPS, in SLS), or a Prometheus signal of the
    runtime's own metrics: ``queue`` (requests waiting per replica) or ``kv-cache`` (KV-cache use per replica)."""
    target_queue_per_replica: float = SIGNALS["queue"].default_target
    """``queue``: the average number of waiting requests per replica the HPA steers towards."""
    target_kv_cache_usage: float = SIGNALS["kv-cache"].default_target
    """``kv-cache``: the average KV-cache use per replica (0-1) the HPA steers towards."""

    @property
    def target(self) -> float:
        """The target of the chosen signal."""
        return float(getattr(self, SIGNALS[self.signal].target_key))

    @property
    def targets(self) -> dict[str, float]:
        """Every signal's target, by name."""
        return {name: float(getattr(self, sig.target_key)) for name, sig in SIGNALS.items()}

    @property
    def stabilization_seconds(self) -> int:
        """The scale-down stabilization window the HPA gets."""
        if self.scale_down_stabilization_seconds is None:
            return int(default_of(QpsAutoscalerArgs, "scale_down_stabilization_seconds"))
        return self.scale_down_stabilization_seconds


@dataclass(kw_only=True)
class ModelEndpointArgs:
    """Arguments of :class:`ModelEndpoint`."""

    model_store: ModelStore
    """The bucket the model is read from, and the cluster's read access to it."""
    model_path: str
    """Key prefix of the model's versions in the bucket, e.g. ``tensorflow/chnsenticorp``."""
    region: str
    """Region of the bucket and the cluster."""
    addons: Optional[ClusterAddons] = None
    """The cluster add-ons this stack installs: the workload and the autoscaler are created after
    them, and the autoscaler reads their SLS project and logstore. None: the cluster has them
    already; give ``sls_project``."""
    sls_project: Optional[str] = None
    """SLS project of the ingress logs when ``addons`` is None (see :func:`default_sls_project`)."""
    namespace: str = "default"
    """Namespace of every object of the endpoint."""
    runtime: str = default_of(InferenceServiceArgs, "runtime")
    """A registered runtime (``runtimes.RUNTIMES``)."""
    image: Optional[str] = None
    """Server image; None: the runtime's default for the GPU count."""
    model_name: Optional[str] = None
    """The name the server serves the model under; None: the endpoint's name."""
    version_policy: str = default_of(InferenceServiceArgs, "version_policy")
    """``latest``, ``latest:N``, ``all`` or ``specific:V[,V...]``."""
    runtime_options: Mapping[str, Any] = field(default_factory=dict)
    """The runtime's own options (``InferenceServiceArgs.runtime_options``: for ``vllm`` the engine's, see
    ``runtimes/vllm.py`` ``OPTION_DEFAULTS``)."""
    mount_client: MountClient = default_of(ModelVolumeArgs, "client")
    """The model mount's FUSE client: ``ossfs`` (1.x) or ``ossfs2`` (ossfs 2.0, faster sequential reads; ``ModelVolumeArgs.client``)."""
    image_cache: Optional[ImageCacheChoice] = None
    """An ECI image cache of the server's image, built when the stack deploys, for a placement that uses ECI; None: none
    (ECI still creates one at the first pod, which pays the pull)."""
    resources: ServerResources = field(default_factory=ServerResources)
    placement: PlacementChoice = field(default_factory=PlacementChoice)
    node_pool: Optional[SpotNodePool] = None
    """The ECS node pool, for placements that use one (its labels and taints)."""
    ingress: Optional[IngressChoice] = None
    """The public endpoint; None: reachable inside the cluster only (and not autoscaled)."""
    alb: Optional[AlbGateway] = None
    """The ALB that serves the endpoint when ``ingress.controller`` is ``alb``: its IngressClass, its access logs (the
    autoscaler's ``sls_alb_ingress_qps``) and its addresses (the NetworkPolicy)."""
    autoscaling: Autoscaling = field(default_factory=Autoscaling)
    allow_from_namespaces: Sequence[str] = default_of(InferenceServiceArgs, "allow_from_namespaces")
    """Namespaces whose pods may reach the server (the ingress controller's)."""

    def problems(self) -> list[ArgProblem]:
        """The wiring problems these arguments have (each component checks its own part)."""
        found = wiring_problems(self.runtime, self.placement.mode, self.node_pool is not None, self.autoscaling, self.ingress is not None,
                                self.image_cache is not None)
        found += self.image_cache.problems() if self.image_cache is not None else []
        found += checks.collect(checks.one_of("mount_client", self.mount_client, choices(MountClient)))
        found += alb_problems(self.ingress, self.alb)
        rt = RUNTIMES.get(self.runtime)
        needed = rt.request_timeout_seconds if rt is not None else None
        if self.behind_alb and self.alb is not None and needed and (self.alb.request_timeout_seconds or 60) < needed:
            found.append(ArgProblem("alb", f"lets a request take {self.alb.request_timeout_seconds or 60} s, and runtime "
                                           f"{self.runtime!r} needs {needed} s (a long generation): give AlbGatewayArgs "
                                           f"request_timeout_seconds={needed}"))
        found += self.adapter_problems()
        if (self.addons is None and self.sls_project is None and self.autoscaling.enabled and not self.behind_alb
                and self.autoscaling.signal == "qps"):
            found.append(ArgProblem("sls_project", "required without addons while autoscaling is enabled: the SLS project of the "
                                                   "ingress logs (default_sls_project(cluster_id) on ACK)"))
        return found

    def adapter_problems(self) -> list[ArgProblem]:
        """A Prometheus signal needs the metrics adapter's rule for its series among the add-ons' (when they are given)."""
        sig, rt = SIGNALS.get(self.autoscaling.signal), RUNTIMES.get(self.runtime)
        if not self.autoscaling.enabled or not isinstance(sig, PrometheusSignal) or rt is None or self.addons is None:
            return []
        for each in scaled_on(sig.name):
            series = each.series(rt.prometheus_metrics)
            if series is not None and each.adapter_rule(series) not in self.addons.prometheus_rules:
                return [ArgProblem("addons", f"the metrics adapter has no rule for {series}, which the HPA scales on: give "
                                             "ClusterAddonsArgs prometheus_url and prometheus_rules=adapter_rules([...]) with "
                                             f"({self.runtime!r}, {sig.name!r})")]
        return []

    @property
    def behind_alb(self) -> bool:
        """The endpoint's Ingress is served by an ALB."""
        return self.ingress is not None and self.ingress.controller == "alb"


def alb_problems(ingress: Optional[IngressChoice], alb: Optional[AlbGateway]) -> list[ArgProblem]:
    """How an endpoint's ingress and the ALB gateway given to it fit together."""
    controller = ingress.controller if ingress is not None else None
    if controller != "alb":
        return [ArgProblem("alb", "is given, but the ingress is not served by ALB: set ingress.controller='alb', or drop alb")] if alb else []
    assert ingress is not None
    if alb is None:
        return [ArgProblem("alb", "is required for ingress.controller='alb': the AlbGateway (AlbConfig and IngressClass) that serves it")]
    found = []
    if ingress.class_name is not None and ingress.class_name != alb.class_name:
        found.append(ArgProblem("ingress.class_name", f"must be the ALB gateway's IngressClass ({alb.class_name}) or None"))
    if (ingress.tls_secret or ingress.certificate_id) and not alb.https:
        found.append(ArgProblem("alb", "has no HTTPS listener (AlbGatewayArgs.https=False) for this TLS endpoint"))
    if ingress.certificate_id is not None and ingress.certificate_id not in alb.certificate_ids:
        found.append(ArgProblem("ingress.certificate_id", "is not one of the ALB's listener certificates: add it to "
                                                          "AlbGatewayArgs.certificate_ids (the listener serves it)"))
    return found


def wiring_problems(runtime_name: str, mode_name: str, has_node_pool: bool, autoscaling: Autoscaling, has_ingress: bool,
                    has_image_cache: bool = False) -> list[ArgProblem]:
    """What is wrong with how one endpoint's parts fit together (the stack config checks its
    settings with this too, before any component exists)."""
    found = checks.collect(checks.one_of("runtime", runtime_name, RUNTIMES), checks.one_of("placement.mode", mode_name, PLACEMENTS))
    mode, rt = PLACEMENTS.get(mode_name), RUNTIMES.get(runtime_name)
    if mode is not None and mode.uses_node_pool and not has_node_pool:
        found.append(ArgProblem("node_pool", f"placement mode {mode.name!r} places pods on the ECS node pool: give a node pool "
                                             "(the stack's nodePool section), or choose a mode without one such as 'eci'"))
    if has_image_cache and mode is not None and not mode.uses_eci:
        found.append(ArgProblem("image_cache", f"is for pods on ECI, and placement mode {mode.name!r} places none there; remove it"))
    found += checks.collect(checks.one_of("autoscaling.signal", autoscaling.signal, SIGNALS))
    sig = SIGNALS.get(autoscaling.signal)
    if autoscaling.enabled and not has_ingress and sig is not None and sig.source == "ingress-logs":
        found.append(ArgProblem("ingress", "required while autoscaling on the QPS: it is measured at the ingress (or scale on "
                                           "the server's own metrics, or disable autoscaling)"))
    if sig is not None:
        found += [ArgProblem(f"autoscaling.{p.arg}", p.reason) for p in sig.problems(getattr(autoscaling, sig.target_key))]
    if isinstance(sig, PrometheusSignal) and rt is not None:
        if sig.series(rt.prometheus_metrics) is None:
            offered = ", ".join(sorted(rt.prometheus_metrics)) or "none"
            found.append(ArgProblem("autoscaling.signal", f"'{sig.name}' is a metric of the model server, and runtime {runtime_name!r} "
                                                          f"exposes none for it (its signals: qps, {offered})"))
        elif rt.scaling == "hpa-spec":
            found.append(ArgProblem("autoscaling.signal", f"{runtime_name!r} scales through its own HPA spec: scale it on qps"))
    if autoscaling.schedule and (not autoscaling.enabled or (rt is not None and rt.scaling == "hpa-spec")):
        why = "autoscaling is disabled" if not autoscaling.enabled else f"{runtime_name!r} scales through its own HPA spec, whose HPA the operator names"
        found.append(ArgProblem("autoscaling.schedule", f"raises the floor of this endpoint's HPA, but {why}; remove the schedule"))
    if rt is not None and rt.scaling == "hpa-spec" and autoscaling.scale_down_stabilization_seconds is not None:
        found.append(ArgProblem("autoscaling.scale_down_stabilization_seconds",
                                f"{runtime_name!r} scales through its own HPA spec, which has no scaling behavior "
                                "(the HPA's default 300 s applies); remove it"))
    return found


# The per-model components of elastic-inference 0.2 were created at the stack's root: the alias
# moves them under their ModelEndpoint without replacing anything (their children inherit it).
_WAS_AT_ROOT = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


class ModelEndpoint(pulumi.ComponentResource):
    """A model served from OSS behind a public, QPS-autoscaled endpoint."""

    url: Optional[pulumi.Output[str]]
    """The public URL, or None without an ingress."""
    server: InferenceService
    placement: Placement
    volume: ModelVolume
    endpoint: Optional[PublicEndpoint]
    autoscaler: Optional[QpsAutoscaler]
    monitor: Optional[pulumi.Resource]
    """The PodMonitor that has Managed Service for Prometheus scrape the pods, for a Prometheus signal; else None."""
    prerequisites: dict[str, str]
    """What the cluster must already have for this endpoint (name -> why)."""

    def __init__(self, name: str, args: ModelEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("ModelEndpointArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        rt = RUNTIMES[args.runtime]
        store, pool, scaling = args.model_store, args.node_pool, args.autoscaling
        after_addons = list(args.addons.dependencies) if args.addons else []
        sls_project = args.addons.sls_project if args.addons else str(args.sls_project)
        sls_logstore = args.addons.sls_logstore if args.addons else INGRESS_LOGSTORE
        controller = INGRESS_CONTROLLERS[args.ingress.controller if args.ingress else "nginx"]
        alb = args.alb if args.behind_alb else None
        if alb is not None:
            # The ALB writes its own access logs: the QPS of sls_alb_ingress_qps is read there.
            sls_project, sls_logstore = alb.log_project, alb.log_store

        def child(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, aliases=_WAS_AT_ROOT, depends_on=list(depends_on) or None)

        self.volume = ModelVolume(name, ModelVolumeArgs(
            namespace=args.namespace, bucket=store.bucket_name, path=args.model_path, region=args.region,
            access_key_id=store.access_key_id, access_key_secret=store.access_key_secret, rrsa_role_name=store.rrsa_role_name,
            client=args.mount_client,
        ), opts=child())
        self.placement = Placement(name, args.placement.args(args.namespace, selector_labels(name), pool.labels if pool else {},
                                                             pool.taints if pool else ()), opts=child(*after_addons))
        self.prerequisites = {**self.volume.prerequisites, **self.placement.prerequisites, **(alb.prerequisites if alb else {})}
        signal = SIGNALS[scaling.signal]
        series = signal.series(rt.prometheus_metrics) if isinstance(signal, PrometheusSignal) else None
        autoscaled = scaling.enabled and (args.ingress is not None or series is not None)

        pod, cached = self.placement.pod, []
        if args.image_cache is not None:
            # The image as the pods name it (ECI matches a cache by the image reference).
            image = args.image or rt.default_image(args.resources.gpu)
            # Cluster-scoped: named with the namespace, like the model's PersistentVolume.
            cached = [image_cache(f"{name}-image-cache", f"{args.namespace}-{name}", [image], args.image_cache, parent=self,
                                  depends_on=after_addons or None)]
            pod = replace(pod, annotations={**pod.annotations, AUTO_MATCH: "true"})
            self.prerequisites[IMAGE_CACHE_CRD] = IMAGE_CACHE_PREREQUISITE

        hpa_spec = None
        if rt.scaling == "hpa-spec" and autoscaled:
            # The route is known beforehand: the Service is the runtime's, not one read back.
            route = ingress_route(args.namespace, *rt.service_endpoint(name))
            hpa_spec = seldon_hpa_spec(scaling.min_replicas, scaling.max_replicas, *hpa_metrics(
                route, sls_project, scaling.target_qps_per_replica, sls_logstore, scaling.query_interval_seconds,
                scaling.query_delay_seconds, scaling.cpu_utilization_percent, controller.metric))
        self.server = InferenceService(name, InferenceServiceArgs(
            namespace=args.namespace, runtime=args.runtime, image=args.image, model_name=args.model_name or name,
            version_policy=args.version_policy, claim_name=self.volume.claim_name, runtime_options=dict(args.runtime_options),
            gpu=args.resources.gpu, cpu=args.resources.cpu, memory=args.resources.memory,
            replicas=scaling.min_replicas, autoscaled=scaling.enabled, hpa_spec=hpa_spec,
            # Prometheus's agent scrapes the pods for a Prometheus signal: the NetworkPolicy must let it in.
            scheduling=pod, allow_from_namespaces=[*args.allow_from_namespaces, *([SCRAPER_NAMESPACE] if series else [])],
            allow_from_cidrs=alb.source_cidrs if alb is not None else (), service_annotations=dict(controller.service_annotations),
        ), opts=child(self.volume, *self.placement.resources, *after_addons, *cached))

        self.endpoint, self.autoscaler, self.url, self.monitor = None, None, None, None
        if args.ingress is not None:
            ingress = args.ingress
            self.endpoint = PublicEndpoint(name, PublicEndpointArgs(
                namespace=args.namespace, host=ingress.host, path=ingress.path, tls_secret=ingress.tls_secret,
                certificate_id=ingress.certificate_id, controller=ingress.controller, paths=rt.public_paths,
                request_timeout_seconds=rt.request_timeout_seconds,
                ingress_class=alb.class_name if alb is not None else ingress.class_name,
                service_name=self.server.service_name, service_port=self.server.service_port,
            ), opts=child(*(alb.dependencies if alb is not None else ())))
            self.url = self.endpoint.url
        if autoscaled and self.server.scale_target is not None:
            metrics: list[dict[str, Any]] = []
            if isinstance(signal, PrometheusSignal) and series is not None and rt.metrics_endpoint is not None:
                # Managed Service for Prometheus scrapes the pods; the metrics adapter serves the series per pod.
                port, path = rt.metrics_endpoint
                self.monitor = pod_monitor(f"{name}-pod-monitor", name, args.namespace, self.server.selector, port, path,
                                           parent=self, depends_on=after_addons or None)
                self.prerequisites[POD_MONITOR_CRD] = POD_MONITOR_PREREQUISITE
                metrics = pods_metrics(args.runtime, signal.name, scaling.targets)
            qps_route: pulumi.Input[str] = self.endpoint.route if self.endpoint is not None else ""
            self.autoscaler = QpsAutoscaler(name, QpsAutoscalerArgs(
                namespace=args.namespace, scale_target=self.server.scale_target, route=qps_route, pods_metrics=metrics,
                sls_project=sls_project, sls_logstore=sls_logstore, metric=controller.metric,
                min_replicas=scaling.min_replicas, max_replicas=scaling.max_replicas,
                target_qps_per_replica=scaling.target_qps_per_replica,
                query_interval_seconds=scaling.query_interval_seconds, query_delay_seconds=scaling.query_delay_seconds,
                cpu_utilization_percent=scaling.cpu_utilization_percent,
                scale_down_stabilization_seconds=scaling.stabilization_seconds, schedule=scaling.schedule,
            ), opts=child(self.server, *after_addons))
            self.prerequisites.update(self.autoscaler.prerequisites)
        self.register_outputs({"url": self.url})
