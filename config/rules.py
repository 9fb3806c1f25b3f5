"""Rules that relate several settings, each reported against the key to change.

A rule about one component's arguments lives in that component (its
``*Args.problems()``); here each settings section is turned into those
arguments and every problem is mapped back onto the stack-file key that
holds the value. What remains here is about the stack as a whole: add-ons a
service needs, Kubernetes versions, namespaces, the project directory.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Iterator, Mapping, Optional

from pydantic.alias_generators import to_camel

from components import (
    CRD_ADDONS, PLACEMENTS, RUNTIMES, ArgProblem, InferenceServiceArgs, ModelStoreArgs, ModelVolumeArgs, PublicEndpointArgs,
    QpsAutoscalerArgs, ingress_route, selector_labels, wiring_problems,
)

from components.alb_gateway import CRD as ALB_CRD, LOGSTORE as ALB_LOGSTORE, RESERVED_PREFIX as ALB_RESERVED_PREFIX, default_log_store
from components.ingresses import INGRESS_CONTROLLERS
from components.signals import SIGNALS
from components.schedule import CRD as CRON_HPA_CRD

from .errors import Problem
from .schema import Service, Settings, k8s_minor

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
# ECS/ECI instance families with NVIDIA GPUs: gn6i, gn7i, vgn6i, sgn7i, ebmgn7e ...
_GPU_FAMILY = re.compile(r"^ecs\.[a-z]*gn[0-9][a-z0-9-]*\.", re.IGNORECASE)

# autoscaling/v2 HPAs are GA from 1.23; RRSA for OSS volumes needs 1.26. A placement mode
# states its own minimum (PlacementMode.min_kubernetes).
MIN_KUBERNETES = (1, 23)
MIN_KUBERNETES_RRSA = (1, 26)

# An argument path -> the stack-file key, where it is not the section's key of the same name
# (None: not a setting, never reported by this mapping).
Renames = Mapping[str, Optional[str]]


def check(settings: Settings, base_dir: str = ".") -> list[Problem]:
    """Every cross-field problem of ``settings`` (an empty list when it is sound)."""
    return [
        *_cluster(settings),
        *_model_store(settings, base_dir),
        *_node_pool(settings),
        *_alb(settings),
        *_services(settings),
    ]


def _camel(arg: str) -> str:
    """``tiers[0].spot_price_limit`` -> ``tiers[0].spotPriceLimit`` (instance-type keys are kept as they are),
    with the schema's own alias generator."""
    head, dot, rest = arg.partition(".")
    name, bracket, index = head.partition("[")
    head = to_camel(name) + bracket + index
    if head.startswith("spotPriceLimits"):
        return head + dot + rest  # the rest is an instance type, a key the user wrote
    return head + (dot + _camel(rest) if rest else "")


def mapped(problems: Iterable[ArgProblem], prefix: str, renames: Optional[Renames] = None) -> Iterator[Problem]:
    """Component problems as stack-file problems: ``prefix`` + the camelCase argument path,
    or the key ``renames`` gives for the argument (its first segment)."""
    renames = renames or {}
    for p in problems:
        head = re.split(r"[.\[]", p.arg, maxsplit=1)[0]
        if head in renames:
            target = renames[head]
            if target is not None:
                yield Problem(target + _camel(p.arg)[len(_camel(head)):], _camel_words(p.reason))
        else:
            yield Problem(prefix + _camel(p.arg), _camel_words(p.reason))


def _camel_words(reason: str) -> str:
    """A reason as the stack file spells the settings it names: ``min_size`` -> ``minSize``."""
    return re.sub(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", lambda m: _camel(m.group()), reason)


def _cluster(s: Settings) -> Iterator[Problem]:
    if k8s_minor(s.cluster.kubernetes_version) < MIN_KUBERNETES:
        yield Problem("cluster.kubernetesVersion", "must be 1.23 or newer (autoscaling/v2 and ResourcePolicy need it); upgrade the cluster")
    auth = s.cluster.prometheus_auth
    if auth is not None:
        pair = (auth.access_key_id, auth.access_key_secret)
        if auth.token is not None and any(v is not None for v in pair):
            yield Problem("cluster.prometheusAuth", "give a V2 instance's accessKeyId and accessKeySecret, or a V1 instance's token, "
                                                    "not both")
        elif auth.token is None and None in pair:
            missing = "accessKeySecret" if auth.access_key_secret is None else "accessKeyId"
            yield Problem(f"cluster.prometheusAuth.{missing}", "required: a V2 instance takes the AccessKey pair of a RAM user "
                                                              "granted AliyunPrometheusMetricReadAccess (or a V1 instance its token)")
        if not s.cluster.prometheus_url:
            yield Problem("cluster.prometheusAuth", "needs cluster.prometheusUrl: it authenticates the metrics adapter to that instance")


def _model_store(s: Settings, base_dir: str) -> Iterator[Problem]:
    store = s.model_store
    if store.access == "rrsa" and k8s_minor(s.cluster.kubernetes_version) < MIN_KUBERNETES_RRSA:
        yield Problem("modelStore.access", "'rrsa' needs cluster.kubernetesVersion 1.26 or newer; use 'secret' or upgrade")
    if not store.create:
        # An adopted bucket is read, never changed: these settings would be silently ignored.
        for field in sorted({"versioning", "encryption", "kms_key_id", "protect"} & store.model_fields_set):
            alias = type(store).model_fields[field].alias or field
            yield Problem(f"modelStore.{alias}", "has no effect on an existing bucket (create: false), which this stack never "
                                                 "changes; remove it, or let the stack manage the bucket (create: true)")
    upload_dir = None
    if store.upload_dir is not None and store.create:
        path = os.path.join(base_dir, store.upload_dir)
        root = os.path.realpath(base_dir)
        if os.path.commonpath([root, os.path.realpath(path)]) != root:
            yield Problem("modelStore.uploadDir", "must be inside the project directory (every file under it is uploaded to the bucket)")
        elif os.path.realpath(path) == root:
            yield Problem("modelStore.uploadDir", "must be a folder of models, not the project directory itself (its stack files "
                                                  "and build outputs would be uploaded)")
        elif not os.path.isdir(path):
            yield Problem("modelStore.uploadDir", "is not a directory (paths are relative to the project directory)")
        else:
            upload_dir = path
    elif store.upload_dir is not None:
        upload_dir = store.upload_dir  # the component says why an adopted bucket takes no upload
    # A path with '..' is reported at its service's model.path (by the volume), not here again.
    prefixes = sorted({svc.model.path for svc in s.services.values() if ".." not in svc.model.path.split("/")})
    args = ModelStoreArgs(
        bucket=store.bucket, read_prefixes=prefixes or ["-"], create=store.create,
        versioning=store.versioning, encryption=store.encryption, kms_key_id=store.kms_key_id, access=store.access,
        cluster_id=s.cluster.id, upload_dir=upload_dir, protect=store.protect,
    )
    yield from mapped(args.problems(), "modelStore.", {"read_prefixes": "services", "cluster_id": "cluster.id"})


def _node_pool(s: Settings) -> Iterator[Problem]:
    if s.node_pool is not None:
        yield from mapped(s.node_pool.args(s.cluster).problems(), "nodePool.",
                          {"vswitch_ids": "cluster.vswitchIds", "node_pool_name": "nodePool.name", "cluster_id": None})


def _alb(s: Settings) -> Iterator[Problem]:
    behind = s.alb_services()
    args = s.alb_args()
    if s.alb is None or args is None:
        return
    if not behind:
        yield Problem("alb", f"no service's ingress.className is '{s.alb.name}', so no service uses this ALB (which would still be "
                             f"created and billed); set a service's ingress.className: {s.alb.name}, or remove the alb section")
    if s.alb.name.startswith(ALB_RESERVED_PREFIX):
        yield Problem("alb.name", f"must not start with '{ALB_RESERVED_PREFIX}' (ACK 'Access Services by using an ALB Ingress': AlbConfig names must not)")
    if s.alb.log_store is None and not ALB_LOGSTORE.match(default_log_store(s.alb.name)):
        yield Problem("alb.name", "makes the default logstore alb_<name> longer than SLS's 63 characters: shorten it or set alb.logStore")
    if not (s.cluster.addons.alb_ingress_controller or ALB_CRD in s.cluster.prerequisites):
        yield Problem("cluster.addons.albIngressController", "the ALB section needs ACK's ALB Ingress controller: set it to true, or "
                                                             f"list {ALB_CRD} in cluster.prerequisites if the cluster already runs it")
    if not s.alb.vswitch_ids:
        yield Problem("alb.vswitchIds", "required: the ALB's own vSwitches, in two zones or more of the cluster's VPC; the model "
                                        "servers' NetworkPolicy admits their whole CIDR blocks, so give the ALB vSwitches that no "
                                        "node or pod uses")
    yield from mapped(args.problems(), "alb.", {"vswitch_ids": "alb.vswitchIds" if s.alb.vswitch_ids else None, "log_project": "cluster.slsProject", "load_balancer_id": "alb.id",
                                                "certificate_ids": "services", "https": None})


def _services(s: Settings) -> Iterator[Problem]:
    routes: dict[tuple[str, str, str], str] = {}
    for name, svc in s.services.items():
        at = f"services.{name}"
        yield from _components(s, name, svc)
        mode = PLACEMENTS[svc.placement.mode]
        rt = RUNTIMES[svc.runtime]
        if svc.namespace in SYSTEM_NAMESPACES:
            yield Problem(f"{at}.namespace", f"'{svc.namespace}' is a system namespace: put an internet-facing model server in its own")
        if k8s_minor(s.cluster.kubernetes_version) < mode.min_kubernetes:
            yield Problem(f"{at}.placement.mode", f"'{mode.name}' needs cluster.kubernetesVersion {'.'.join(map(str, mode.min_kubernetes))} "
                                                 "or newer; upgrade the cluster or choose another mode")
        if mode.uses_eci and not s.cluster.addons.virtual_node:
            yield Problem(f"{at}.placement.mode", f"'{mode.name}' runs pods on ECI: set cluster.addons.virtualNode: true")
        gpu_specs = [t for t in svc.placement.eci_instance_types if _GPU_FAMILY.match(t)]
        if mode.uses_eci and svc.resources.gpu == 0 and gpu_specs:
            yield Problem(f"{at}.resources.gpu", f"is 0 but {gpu_specs[0]} is a GPU spec: set resources.gpu (an ECI GPU pod needs an nvidia.com/gpu limit) or list CPU specs")
        if mode.uses_eci and svc.resources.gpu > 0 and not svc.placement.eci_instance_types:
            yield Problem(f"{at}.placement.eciInstanceTypes", "required for a GPU service on ECI: list GPU specs such as ecs.gn6i-c4g1.xlarge")
        max_pods = sum(t.max for t in svc.placement.tiers if t.max is not None)
        wanted = svc.autoscaling.max_replicas if svc.autoscaling.enabled else svc.autoscaling.min_replicas
        if svc.placement.tiers and all(t.max is not None for t in svc.placement.tiers) and max_pods < wanted:
            yield Problem(f"{at}.autoscaling.maxReplicas", f"is {wanted} but the tiers hold at most {max_pods} pods: raise a tier's max "
                                                           "or leave the last tier's max unset")
        for crd in rt.required_crds:
            addon = CRD_ADDONS.get(crd)
            if crd in s.cluster.prerequisites or (addon is not None and getattr(s.cluster.addons, addon, False)):
                continue
            how = f"set cluster.addons.{_camel(addon)}: true, or " if addon else ""
            yield Problem(f"{at}.runtime", f"'{svc.runtime}' needs {crd} (an operator's CRD): {how}list {crd} in "
                                           "cluster.prerequisites if the cluster already serves it")
        if svc.autoscaling.enabled and not s.cluster.addons.metrics_adapter:
            yield Problem(f"{at}.autoscaling", "the QPS autoscaler needs cluster.addons.metricsAdapter: true (or set autoscaling.enabled: false)")
        if svc.ingress is not None and svc.ingress.controller(s.alb) == "alb":
            yield from _behind_alb(s, name, svc)
        yield from _alb_class_misnamed(s, name, svc)
        if svc.ingress is not None:
            # Per IngressClass: during a move to ALB, one host is served by both controllers (DNS chooses).
            key = (svc.ingress.class_name, svc.ingress.host, svc.ingress.path)
            if key in routes:
                yield Problem(f"{at}.ingress.path", f"host {key[1]} path {key[2]} is already served by services.{routes[key]} "
                                                    f"through the same IngressClass ({key[0]})")
            else:
                routes[key] = name


def _alb_class_misnamed(s: Settings, name: str, svc: Service) -> Iterator[Problem]:
    """``className: alb`` in a stack whose ALB has another name: neither the ALB nor NGINX serves it."""
    usual = INGRESS_CONTROLLERS["alb"].default_class
    if s.alb is not None and svc.ingress is not None and svc.ingress.class_name == usual != s.alb.name:
        yield Problem(f"services.{name}.ingress.className", f"'{usual}' is not this stack's ALB, which is named '{s.alb.name}': set "
                                                            f"className: {s.alb.name} (or nginx)")


def _behind_alb(s: Settings, name: str, svc: Service) -> Iterator[Problem]:
    at = f"services.{name}"
    if s.alb is None:
        yield Problem(f"{at}.ingress.className", f"'{svc.ingress.class_name if svc.ingress else ''}' is the ALB Ingress class: add the "
                                                 "elastic-inference:alb section (a new ALB, or an existing one by id), or use 'nginx'")
    if not RUNTIMES[svc.runtime].owns_service:
        yield Problem(f"{at}.ingress.className", f"puts the service behind ALB, which needs an annotation on its Service, but runtime "
                                                 f"'{svc.runtime}' does not create the Service (its operator does): use className: nginx")
    # ALB attaches the pods' own IPs (ENI mode: alibaba-load-balancer-controller pkg/controller/helper/service_utils.go);
    # pods on ECS nodes have VPC addresses only with Terway (ECI pods always do).
    if PLACEMENTS[svc.placement.mode].uses_node_pool and s.cluster.network_plugin != "terway":
        stated = "runs Flannel" if s.cluster.network_plugin == "flannel" else "does not state its network plug-in"
        yield Problem(f"{at}.placement.mode", f"'{svc.placement.mode}' puts pods on ECS nodes, which an ALB reaches by their own IPs "
                                              f"only with Terway, and the cluster {stated}: set cluster.networkPlugin: terway if it "
                                              "runs Terway; with Flannel use placement 'eci' or the NGINX Ingress")


def _components(s: Settings, name: str, svc: Service) -> Iterator[Problem]:
    """The problems each component of the service finds in its arguments, at their keys."""
    at = f"services.{name}"
    scaling, placement, ingress = svc.autoscaling, svc.placement, svc.ingress
    rt = RUNTIMES[svc.runtime]
    controller = INGRESS_CONTROLLERS[ingress.controller(s.alb) if ingress else "nginx"]
    service_name, port = rt.service_endpoint(name)
    for p in mapped(wiring_problems(svc.runtime, placement.mode, s.node_pool is not None, scaling.args(), ingress is not None,
                                      svc.image_cache is not None), f"{at}.",
                      {"node_pool": f"{at}.placement.mode", "runtime": None, "placement": None, "image_cache": f"{at}.imageCache"}):
        # The component's argument is Autoscaling.signal; the stack file's key is autoscaling.metric.
        yield Problem(p.path.replace(".autoscaling.signal", ".autoscaling.metric"), p.message.replace("autoscaling.signal", "autoscaling.metric"))
    server = InferenceServiceArgs(
        namespace=svc.namespace, model_name=svc.model.name or name, claim_name=f"{name}-model", runtime=svc.runtime, image=svc.image,
        version_policy=svc.model.version_policy, gpu=svc.resources.gpu, cpu=svc.resources.cpu, memory=svc.resources.memory,
        replicas=scaling.min_replicas, autoscaled=scaling.enabled, allow_from_namespaces=svc.network_policy.allow_from_namespaces,
        runtime_options=svc.runtime_options() if svc.runtime == "vllm" else {},
        service_annotations=dict(controller.service_annotations),
    )
    if svc.llm is not None and svc.runtime != "vllm":
        yield Problem(f"{at}.llm", f"is the vLLM engine's settings, but the runtime is '{svc.runtime}': set runtime: vllm, or remove llm")
    yield from mapped(server.problems(), f"{at}.", {"runtime_options": f"{at}.llm", "service_annotations": None,  # behind ALB: _behind_alb says it for the config
        "version_policy": f"{at}.model.versionPolicy", "model_name": f"{at}.model.name", "gpu": f"{at}.resources.gpu",
        "cpu": f"{at}.resources.cpu", "memory": f"{at}.resources.memory", "replicas": None,
        "allow_from_namespaces": f"{at}.networkPolicy.allowFromNamespaces"})
    volume = ModelVolumeArgs(namespace=svc.namespace, bucket=s.model_store.bucket, path=svc.model.path, region=s.region,
                             rrsa_role_name="-", client=svc.model.client)
    yield from mapped(volume.problems(), f"{at}.", {"path": f"{at}.model.path", "client": f"{at}.model.client", "namespace": None})
    pool = s.node_pool
    places = placement.choice().args(svc.namespace, selector_labels(name), pool.labels if pool else {})
    yield from mapped(places.problems(), f"{at}.placement.", {"namespace": None, "selector": None, "mode": None,
                                                              "node_labels": "nodePool.labels" if pool else None})
    if ingress is not None:
        endpoint = PublicEndpointArgs(namespace=svc.namespace, host=ingress.host, path=ingress.path, tls_secret=ingress.tls_secret,
                                      certificate_id=ingress.certificate_id, controller=controller.name,
                                      ingress_class=ingress.class_name, service_name=service_name, service_port=port,
                                      paths=rt.public_paths)
        yield from mapped(endpoint.problems(), f"{at}.ingress.", {"namespace": None, "service_name": None, "service_port": None,
                                                                  "ingress_class": f"{at}.ingress.className",
                                                                  "controller": f"{at}.ingress.className"})
    if scaling.enabled:
        route = ingress_route(svc.namespace, service_name, port) if ingress is not None else ""
        hpa = QpsAutoscalerArgs(
            metric=controller.metric, namespace=svc.namespace,
            scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": name}, route=route,
            sls_project=s.cluster.sls_project_name, min_replicas=scaling.min_replicas, max_replicas=scaling.max_replicas,
            target_qps_per_replica=scaling.target_qps_per_replica, query_interval_seconds=scaling.query_interval_seconds,
            query_delay_seconds=scaling.query_delay_seconds, cpu_utilization_percent=scaling.cpu_utilization_percent,
            scale_down_stabilization_seconds=scaling.args().stabilization_seconds, schedule=scaling.args().schedule,
        )
        yield from mapped(hpa.problems(), f"{at}.autoscaling.", {"namespace": None, "scale_target": None, "route": at})
    if svc.runtime == "vllm" and scaling.enabled and scaling.metric == "qps" and "target_qps_per_replica" not in scaling.model_fields_set:
        yield Problem(f"{at}.autoscaling.targetQpsPerReplica", "must be set for an LLM scaled on the QPS: the default (10) is sized for "
                                                               "TF Serving, and an LLM replica completes a few requests per second "
                                                               "(measure it with the load test); or scale on its queue (metric: queue)")
    sig = SIGNALS[scaling.metric]
    if scaling.enabled and sig.source == "prometheus" and not s.cluster.prometheus_url:
        yield Problem(f"{at}.autoscaling.metric", f"'{sig.name}' is read from Managed Service for Prometheus: set cluster.prometheusUrl "
                                                  "(the instance's HTTP API URL, from its console's Settings), or scale on qps")
    if scaling.schedule and not (CRON_HPA_CRD in s.cluster.prerequisites or s.cluster.addons.cron_hpa_controller):
        yield Problem(f"{at}.autoscaling.schedule", "needs ACK's CronHPA controller: set cluster.addons.cronHpaController: true, or "
                                                    f"list {CRON_HPA_CRD} in cluster.prerequisites if the cluster already runs it")
