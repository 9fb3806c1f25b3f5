"""Rules that relate several settings, each reported against the key to change."""

from __future__ import annotations

import os
import re
from typing import Iterator

from components.cluster_addons import SELDON_CORE_CRD
from components.inference_service import service_endpoint
from components.model_store import MAX_POLICY_LENGTH, UploadError, longest_read_policy, upload_files
from components.qps_autoscaler import route_problem

from .errors import Problem
from .schema import ECI_MODES, ECS_MODES, ModelStore, Settings, k8s_minor

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
_IPV4 = re.compile(r"^[0-9]+(\.[0-9]+){3}$")
# ECS/ECI instance families with NVIDIA GPUs: gn6i, gn7i, vgn6i, sgn7i, ebmgn7e ...
_GPU_FAMILY = re.compile(r"^ecs\.[a-z]*gn[0-9][a-z0-9-]*\.", re.IGNORECASE)

# autoscaling/v2 HPAs are GA from 1.23; RRSA for OSS volumes needs 1.26; the ResourcePolicy's
# whenTryNextUnits (ecs-then-eci waits for the pool) needs 1.24 (ACK priority-based scheduling).
MIN_KUBERNETES = (1, 23)
MIN_KUBERNETES_RRSA = (1, 26)
MIN_KUBERNETES_POOL_WAIT = (1, 24)


def check(settings: Settings, base_dir: str = ".") -> list[Problem]:
    """Every cross-field problem of ``settings`` (an empty list when it is sound)."""
    return [
        *_cluster(settings),
        *_model_store(settings, base_dir),
        *_node_pool(settings),
        *_services(settings),
    ]


def _cluster(s: Settings) -> Iterator[Problem]:
    if k8s_minor(s.cluster.kubernetes_version) < MIN_KUBERNETES:
        yield Problem("cluster.kubernetesVersion", "must be 1.23 or newer (autoscaling/v2 and ResourcePolicy need it); upgrade the cluster")
    if s.node_pool is not None and not s.cluster.vswitch_ids:
        yield Problem("cluster.vswitchIds", "required when nodePool is set: list the vSwitches the node pool may use")


def _model_store(s: Settings, base_dir: str) -> Iterator[Problem]:
    store = s.model_store
    if store.access == "rrsa" and k8s_minor(s.cluster.kubernetes_version) < MIN_KUBERNETES_RRSA:
        yield Problem("modelStore.access", "'rrsa' needs cluster.kubernetesVersion 1.26 or newer; use 'secret' or upgrade")
    if store.kms_key_id is not None and store.encryption != "KMS":
        yield Problem("modelStore.kmsKeyId", "only used with encryption: KMS; remove it or set encryption: KMS")
    prefixes = {svc.model.path for svc in s.services.values()}
    policy_length = len(longest_read_policy(store.bucket, sorted(prefixes), store.encryption, store.kms_key_id, store.create))
    if policy_length > MAX_POLICY_LENGTH:
        yield Problem("services", f"{len(prefixes)} distinct model paths make a read-only RAM policy of {policy_length} characters, "
                                  f"over RAM's {MAX_POLICY_LENGTH}: keep models under shared prefixes (model.path) or split the stack")
    if not store.create:
        # An adopted bucket is read, never changed: these settings would be silently ignored.
        for field in sorted({"versioning", "encryption", "kms_key_id", "protect", "upload_dir"} & store.model_fields_set):
            alias = ModelStore.model_fields[field].alias or field
            yield Problem(f"modelStore.{alias}", "has no effect on an existing bucket (create: false), which this stack never "
                                                 "changes; remove it, or let the stack manage the bucket (create: true)")
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
            try:
                upload_files(path)
            except UploadError as exc:
                yield Problem("modelStore.uploadDir", str(exc))


def _node_pool(s: Settings) -> Iterator[Problem]:
    pool = s.node_pool
    if pool is None:
        return
    if pool.min_size > pool.max_size:
        yield Problem("nodePool.maxSize", f"must be >= minSize ({pool.min_size})")
    if pool.spot_strategy == "SpotWithPriceLimit":
        for itype in pool.instance_types:
            if itype not in pool.spot_price_limits:
                yield Problem(f"nodePool.spotPriceLimits.{itype}", "a price limit is required for every instance type with SpotWithPriceLimit")
    elif pool.spot_price_limits:
        yield Problem("nodePool.spotPriceLimits", "only used with spotStrategy: SpotWithPriceLimit; remove it or change spotStrategy")
    for itype in pool.spot_price_limits:
        if itype not in pool.instance_types:
            yield Problem(f"nodePool.spotPriceLimits.{itype}", "is not one of nodePool.instanceTypes")
    if pool.compensate_with_on_demand and pool.multi_az_policy != "COST_OPTIMIZED":
        yield Problem("nodePool.compensateWithOnDemand", "only takes effect with multiAzPolicy: COST_OPTIMIZED; remove it or change the policy")
    if pool.on_demand_base_capacity > pool.max_size:
        yield Problem("nodePool.onDemandBaseCapacity", f"must be <= maxSize ({pool.max_size})")


def _services(s: Settings) -> Iterator[Problem]:
    routes: dict[tuple[str, str], str] = {}
    for name, svc in s.services.items():
        at = f"services.{name}"
        mode = svc.placement.mode
        scaling = svc.autoscaling

        if svc.namespace in SYSTEM_NAMESPACES:
            yield Problem(f"{at}.namespace", f"'{svc.namespace}' is a system namespace: put an internet-facing model server in its own")
        if svc.ingress is not None:
            if _IPV4.match(svc.ingress.host):
                yield Problem(f"{at}.ingress.host", "must be a DNS name, not an IP address (Kubernetes rejects IP hosts in an Ingress)")
            if any(part in (".", "..") for part in svc.ingress.path.split("/")) or "//" in svc.ingress.path:
                yield Problem(f"{at}.ingress.path", "must not contain '.', '..' or empty segments")

        # The adapter reads logs from now-100 s on (pkg/metrics/sls/sls.go): a window that starts
        # earlier is undercounted. Its defaults are interval 15 and delay 10.
        window = (scaling.query_interval_seconds or 15) + (scaling.query_delay_seconds if scaling.query_delay_seconds is not None else 10)
        if window > 100:
            yield Problem(f"{at}.autoscaling.queryIntervalSeconds", f"queryIntervalSeconds + queryDelaySeconds is {window} s: the metrics "
                                                                     "adapter reads only the last 100 s of logs and would undercount the QPS; keep it within 100")
        if scaling.min_replicas > scaling.max_replicas:
            yield Problem(f"{at}.autoscaling.maxReplicas", f"must be >= minReplicas ({scaling.min_replicas})")

        if mode in ECS_MODES and s.node_pool is None:
            yield Problem(f"{at}.placement.mode", f"'{mode}' places pods on the ECS node pool: add a nodePool section, or use 'eci'")
        if mode in ECS_MODES and s.node_pool is not None and not s.node_pool.labels:
            yield Problem("nodePool.labels", f"services.{name} selects the pool by its labels: give the pool at least one label")
        if mode in ECI_MODES and not s.cluster.addons.virtual_node:
            yield Problem(f"{at}.placement.mode", f"'{mode}' runs pods on ECI: set cluster.addons.virtualNode: true")
        if mode not in ECI_MODES and svc.placement.eci_instance_types:
            yield Problem(f"{at}.placement.eciInstanceTypes", f"only used by ECI placements, not '{mode}'; remove it")
        gpu_specs = [t for t in svc.placement.eci_instance_types if _GPU_FAMILY.match(t)]
        if mode in ECI_MODES and svc.resources.gpu == 0 and gpu_specs:
            yield Problem(f"{at}.resources.gpu", f"is 0 but {gpu_specs[0]} is a GPU spec: set resources.gpu (an ECI GPU pod needs an nvidia.com/gpu limit) or list CPU specs")
        if mode in ECI_MODES and svc.resources.gpu > 0 and not svc.placement.eci_instance_types:
            yield Problem(f"{at}.placement.eciInstanceTypes", "required for a GPU service on ECI: list GPU specs such as ecs.gn6i-c4g1.xlarge")

        yield from _tiers(at, svc)

        if mode == "ecs-then-eci" and k8s_minor(s.cluster.kubernetes_version) < MIN_KUBERNETES_POOL_WAIT:
            yield Problem(f"{at}.placement.mode", "'ecs-then-eci' waits for the node pool with the ResourcePolicy's whenTryNextUnits, "
                                                 "which needs cluster.kubernetesVersion 1.24 or newer; upgrade or use 'ecs'/'eci'")
        if "pool_wait_seconds" in svc.placement.model_fields_set and mode != "ecs-then-eci":
            yield Problem(f"{at}.placement.poolWaitSeconds", f"only used with mode 'ecs-then-eci', not '{mode}'; remove it")

        if svc.runtime == "seldon":
            if not s.cluster.addons.seldon_core and SELDON_CORE_CRD not in s.cluster.prerequisites:
                yield Problem(f"{at}.runtime", "'seldon' needs the Seldon Core operator: set cluster.addons.seldonCore: true "
                                               f"(installs seldon-core-operator), or list {SELDON_CORE_CRD} in cluster.prerequisites "
                                               "if the cluster already runs it")
            if "scale_down_stabilization_seconds" in scaling.model_fields_set:
                yield Problem(f"{at}.autoscaling.scaleDownStabilizationSeconds", "Seldon's hpaSpec has no scaling behavior "
                                                                                "(the HPA's default 300 s applies); remove it")

        if svc.ingress is not None:
            service, port = service_endpoint(name, svc.runtime)
            too_long = route_problem(f"{svc.namespace}-{service}-{port}")
            if too_long and scaling.enabled:
                yield Problem(at, too_long)

        if scaling.enabled:
            if not s.cluster.addons.metrics_adapter:
                yield Problem(f"{at}.autoscaling", "the QPS autoscaler needs cluster.addons.metricsAdapter: true (or set autoscaling.enabled: false)")
            if svc.ingress is None:
                yield Problem(f"{at}.ingress", "required while autoscaling is enabled: the QPS metric is measured at the ingress (or set autoscaling.enabled: false)")

        if svc.ingress is not None:
            key = (svc.ingress.host, svc.ingress.path)
            if key in routes:
                yield Problem(f"{at}.ingress.path", f"host {key[0]} path {key[1]} is already served by services.{routes[key]}")
            else:
                routes[key] = name


def _tiers(at: str, svc) -> Iterator[Problem]:
    tiers = svc.placement.tiers
    mode = svc.placement.mode
    if mode != "eci-tiers":
        if tiers:
            yield Problem(f"{at}.placement.tiers", f"only used with mode 'eci-tiers', not '{mode}'; remove it")
        return
    if not tiers:
        yield Problem(f"{at}.placement.tiers", "required with mode 'eci-tiers': list the tiers in fill order, e.g. [{max: 3}, {max: 10, spotStrategy: SpotAsPriceGo}]")
        return
    for i, tier in enumerate(tiers):
        if tier.max is None and i != len(tiers) - 1:
            yield Problem(f"{at}.placement.tiers[{i}].max", "required on every tier but the last (only the last may be unbounded)")
        if tier.spot_strategy == "SpotWithPriceLimit" and tier.spot_price_limit is None:
            yield Problem(f"{at}.placement.tiers[{i}].spotPriceLimit", "required with spotStrategy: SpotWithPriceLimit")
        if tier.spot_price_limit is not None and tier.spot_strategy != "SpotWithPriceLimit":
            yield Problem(f"{at}.placement.tiers[{i}].spotPriceLimit", "only used with spotStrategy: SpotWithPriceLimit")
    if all(t.max is not None for t in tiers):
        capacity = sum(t.max for t in tiers if t.max is not None)
        wanted = svc.autoscaling.max_replicas if svc.autoscaling.enabled else svc.autoscaling.min_replicas
        if capacity < wanted:
            yield Problem(f"{at}.autoscaling.maxReplicas", f"is {wanted} but the tiers hold at most {capacity} pods: raise a tier's max or leave the last tier's max unset")
