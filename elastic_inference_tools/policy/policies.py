"""The elastic-inference guardrails, as Pulumi CrossGuard policies.

Each validation is a plain function of ``(args, report_violation)``: the CLI
runs them inside the policy pack (``__main__.py``: ``pulumi preview
--policy-pack elastic_inference_tools/policy``), the offline render calls them over its plan
(``render/policy.py``), and the tests call them directly. They read only the
resource's inputs, so they work the same on a real preview and on the
render's plan, where a value only the cloud knows is ``"[unknown]"`` and a
secret is ``"[secret]"``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Mapping, Optional

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY
GPU = "nvidia.com/gpu"
_WORKLOADS = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# ECS/ECI instance families with GPUs (gn6i, gn7i, vgn6i, sgn7i, ebmgn7e ...).
_GPU_FAMILY = re.compile(r"^ecs\.[a-z]*gn[0-9][a-z0-9-]*\.", re.IGNORECASE)
# Alibaba Cloud AccessKey IDs start with LTAI.
_ACCESS_KEY_ID = re.compile(r"LTAI[0-9A-Za-z]{12,30}")
_CREDENTIAL_KEYS = {"akid", "aksecret", "accesskeyid", "accesskeysecret", "secretkey", "password", "passwd", "token", "securitytoken"}


# -- reading resources -----------------------------------------------------------------------


def _get(value: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pod_templates(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """``(pod metadata, pod spec)`` of each pod template a workload defines.

    Kubernetes' own workloads at their known paths; any other Kubernetes object (a custom
    resource: a SeldonDeployment's componentSpecs, the workload of a runtime added later)
    wherever it carries a pod spec, so that no runtime's pods escape the checks.
    """
    if resource_type in _WORKLOADS:
        path = _WORKLOADS[resource_type]
        spec = _get(props, *path)
        meta = _get(props, "metadata") if resource_type.endswith(":Pod") else _get(props, *path[:-1], "metadata")
        if isinstance(spec, Mapping):
            yield _mapping(meta), spec
    elif resource_type.startswith("kubernetes:") and not resource_type.startswith(("kubernetes:core/", "kubernetes:helm.sh/")):
        yield from _embedded_pods(props.get("spec"), 0)


def _embedded_pods(value: Any, depth: int) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Pod specs inside a custom resource: ``{metadata, spec: {containers}}`` templates, or an inline ``{containers}``."""
    if depth > 16:
        return
    if isinstance(value, Mapping):
        spec = value.get("spec")
        if isinstance(spec, Mapping) and isinstance(spec.get("containers"), list):
            yield _mapping(value.get("metadata")), spec
        elif isinstance(value.get("containers"), list):
            yield {}, value
        else:
            for item in value.values():
                yield from _embedded_pods(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _embedded_pods(item, depth + 1)


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers"):
        for container in _list(spec.get(key)):
            if isinstance(container, Mapping):
                yield container


def _is_workload(resource_type: str, props: Mapping[str, Any]) -> bool:
    return resource_type in _WORKLOADS or any(True for _ in pod_templates(resource_type, props))


def _known(value: Any) -> bool:
    return value not in (None, "[unknown]", "[secret]")


# -- resource policies -------------------------------------------------------------------------


def no_inline_oss_credentials(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "kubernetes:core/v1:PersistentVolume":
        return
    csi = _get(args.props, "spec", "csi")
    if not isinstance(csi, Mapping):
        return
    attributes = _mapping(csi.get("volumeAttributes"))
    for key, value in attributes.items():
        if re.sub(r"[^a-z]", "", str(key).lower()) in _CREDENTIAL_KEYS:
            report(f"credential '{key}' inline in spec.csi.volumeAttributes; "
                   "reference a Secret with spec.csi.nodePublishSecretRef, or use RRSA (authType: rrsa)", None)
        elif isinstance(value, str) and (_ACCESS_KEY_ID.search(value) or re.search(r"(?:^|\s)-o\s*passwd", value)):
            report(f"volumeAttributes.{key} carries a credential; "
                   "reference a Secret with nodePublishSecretRef, or use RRSA", None)
    driver = str(csi.get("driver", ""))
    if "oss" in driver and not csi.get("nodePublishSecretRef") and attributes.get("authType") != "rrsa":
        report("an OSS volume needs credentials by nodePublishSecretRef or authType rrsa", None)


def _policy_is_public(document: Any) -> bool:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return False
    for statement in _list(_get(document, "Statement")):
        principal = _get(statement, "Principal")
        everyone = principal == "*" or (isinstance(principal, list) and "*" in principal) or (
            isinstance(principal, Mapping) and any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
        )
        if everyone and _get(statement, "Effect") == "Allow":
            return True
    return False


def no_public_bucket(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, props = args.resource_type, args.props
    public_acls = ("public-read", "public-read-write")
    if t in ("alicloud:oss/bucket:Bucket", "alicloud:oss/bucketAcl:BucketAcl") and props.get("acl") in public_acls:
        report(f"bucket ACL '{props.get('acl')}' makes the models public; use 'private'", None)
    elif t == "alicloud:oss/bucketPolicy:BucketPolicy" and _policy_is_public(props.get("policy")):
        report("the bucket policy allows everyone ('*'); grant named RAM principals only", None)
    elif t == "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock" and props.get("blockPublicAccess") is False:
        report("blockPublicAccess is off; keep it on for a model bucket", None)
    elif t == "alicloud:oss/bucket:Bucket" and _policy_is_public(props.get("policy")):
        report("the bucket's inline policy allows everyone ('*')", None)


def gpu_containers_have_gpu_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for meta, spec in pod_templates(args.resource_type, args.props):
        specs = str(_get(meta, "annotations", "k8s.aliyun.com/eci-use-specs") or "")
        gpu_specs = any(_GPU_FAMILY.match(s.strip()) for s in specs.split(",") if s.strip())
        serving = [c for c in containers(spec) if c.get("ports")]
        for c in containers(spec):
            resources = _mapping(c.get("resources"))
            limit = _get(resources, "limits", GPU)
            request = _get(resources, "requests", GPU)
            image = str(c.get("image", ""))
            wants_gpu = request not in (None, 0, "0") or image.rsplit(":", 1)[-1].endswith("-gpu") or (gpu_specs and c in serving)
            if wants_gpu and limit in (None, 0, "0"):
                report(f"container '{c.get('name')}' needs a GPU (GPU image, GPU request or GPU ECI spec) "
                       f"but has no resources.limits['{GPU}']", None)


def image_reference(image: str) -> tuple[str, Optional[str], Optional[str]]:
    """``(repository, tag, digest)`` of an image reference."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else None
    repo = name[: len(name) - len(tag) - 1] if tag is not None else name
    return repo, tag, digest or None


def images_are_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, spec in pod_templates(args.resource_type, args.props):
        for c in containers(spec):
            image = c.get("image")
            if not isinstance(image, str) or not _known(image):
                continue
            _, tag, digest = image_reference(image)
            if digest:
                continue
            if tag is None:
                report(f"container '{c.get('name')}' image '{image}' has no tag; pin a version or a digest", None)
            elif tag == "latest":
                report(f"container '{c.get('name')}' image '{image}' uses 'latest'; pin a version or a digest", None)


def containers_are_unprivileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, spec in pod_templates(args.resource_type, args.props):
        pod_ctx = _mapping(spec.get("securityContext"))
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            report("the pod shares the node's network, PID or IPC namespace", None)
        for c in containers(spec):
            ctx = _mapping(c.get("securityContext"))
            name = c.get("name")
            non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            uid = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
            if non_root is not True or uid == 0:
                report(f"container '{name}' may run as root; set securityContext.runAsNonRoot: true and a non-zero runAsUser", None)
            if ctx.get("allowPrivilegeEscalation") is not False:
                report(f"container '{name}' allows privilege escalation; set allowPrivilegeEscalation: false", None)
            if ctx.get("privileged") is True:
                report(f"container '{name}' is privileged", None)


def serving_containers_have_probes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for _, spec in pod_templates(args.resource_type, args.props):
        for c in _list(spec.get("containers")):
            if not isinstance(c, Mapping) or not c.get("ports"):
                continue  # serving containers are the ones that listen
            missing = [probe for probe in ("readinessProbe", "startupProbe") if not c.get(probe)]
            if missing:
                report(f"serving container '{c.get('name')}' has no {' and no '.join(missing)}: traffic could reach "
                       "a replica still loading its model", None)


def hpa_bounds(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("kubernetes:autoscaling/") or not args.resource_type.endswith(":HorizontalPodAutoscaler"):
        return
    low, high = _get(args.props, "spec", "minReplicas"), _get(args.props, "spec", "maxReplicas")
    low = 1 if low is None else low
    if isinstance(low, int) and isinstance(high, int):
        if low < 1:
            report(f"minReplicas {low} < 1: the endpoint would scale to zero and refuse traffic", None)
        if low > high:
            report(f"minReplicas {low} > maxReplicas {high}", None)
    elif not isinstance(high, int):
        report("maxReplicas is missing", None)


def ingress_has_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "kubernetes:networking.k8s.io/v1:Ingress":
        return
    covered = {h for t in _list(_get(args.props, "spec", "tls")) for h in _list(_get(t, "hosts"))}
    for rule in _list(_get(args.props, "spec", "rules")):
        host = _get(rule, "host")
        if host not in covered:
            report(f"host '{host}' is served over plain HTTP; give it a TLS secret, or behind ALB a certificate id "
                   "(ingress.tlsSecret or ingress.certificateId in this project's stack config; IngressChoice(tls_secret=...) "
                   "or IngressChoice(certificate_id=...) with the components)", None)


# -- stack policies ----------------------------------------------------------------------------


def _namespace(props: Mapping[str, Any]) -> str:
    return str(_get(props, "metadata", "namespace") or "default")


def _matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    wanted = _get(selector, "matchLabels")
    if not isinstance(wanted, Mapping) or not wanted or _get(selector, "matchExpressions"):
        return False
    return all(labels.get(k) == v for k, v in wanted.items())


def buckets_are_encrypted(args: StackValidationArgs, report: ReportViolation) -> None:
    encrypted = {
        r.props.get("bucket") for r in args.resources
        if r.resource_type == "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption"
        and r.props.get("sseAlgorithm") in ("AES256", "KMS", "SM4")
    }
    for r in args.resources:
        if r.resource_type != "alicloud:oss/bucket:Bucket":
            continue
        inline = _get(r.props, "serverSideEncryptionRule", "sseAlgorithm")
        if inline in ("AES256", "KMS", "SM4") or r.props.get("bucket") in encrypted:
            continue
        report(f"bucket {r.props.get('bucket') or r.name} has no server-side encryption (BucketServerSideEncryption AES256 or KMS)", r.urn)


def hpas_target_workloads_of_the_stack(args: StackValidationArgs, report: ReportViolation) -> None:
    workloads = {
        (str(_get(r.props, "apiVersion")), str(_get(r.props, "kind")), _namespace(r.props), _get(r.props, "metadata", "name"))
        for r in args.resources if _is_workload(r.resource_type, r.props)
    }
    for r in args.resources:
        if not r.resource_type.endswith(":HorizontalPodAutoscaler"):
            continue
        ref = _get(r.props, "spec", "scaleTargetRef")
        key = (str(_get(ref, "apiVersion")), str(_get(ref, "kind")), _namespace(r.props), _get(ref, "name"))
        if key not in workloads:
            report(f"HPA {r.name} scales {key[1]} {key[2]}/{key[3]}, which this stack does not create", r.urn)


def every_workload_has_a_disruption_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = [
        (_namespace(r.props), _get(r.props, "spec", "selector"))
        for r in args.resources if r.resource_type == "kubernetes:policy/v1:PodDisruptionBudget"
    ]
    for r in args.resources:
        if not _is_workload(r.resource_type, r.props) or r.resource_type.endswith((":Job", ":CronJob", ":Pod")):
            continue
        templates = list(pod_templates(r.resource_type, r.props))
        labels = {k: v for meta, _ in templates for k, v in (_get(meta, "labels") or {}).items()}
        if not any(ns == _namespace(r.props) and _matches(sel, labels) for ns, sel in budgets):
            report(f"{_get(r.props, 'kind')} {r.name} has no PodDisruptionBudget selecting its pods: "
                   "a node drain could evict every replica at once", r.urn)


# vLLM 0.33 serve/middleware/authenticate.py GUARDED_PREFIX: the only paths its API key protects.
_LLM_GUARDED = ("/v1", "/v2", "/inference", "/cohere")


def _is_llm_server(container: Mapping[str, Any]) -> bool:
    """A vLLM OpenAI server (vLLM 0.33 docker/Dockerfile: ENTRYPOINT ["vllm", "serve"]; image vllm/vllm-openai)."""
    words = [str(a) for a in _list(container.get("command")) + _list(container.get("args"))]
    name = str(container.get("image") or "").split("@")[0]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return (repository.rsplit("/", 1)[-1] == "vllm-openai" or words[:2] == ["vllm", "serve"]
            or "vllm.entrypoints.openai.api_server" in words)


def _has_api_key(container: Mapping[str, Any]) -> bool:
    """A non-empty ``VLLM_API_KEY`` (a literal, or a required Secret key), a Secret it takes its environment from, or
    ``--api-key`` among its arguments (vLLM's serve/middleware/register.py ignores an empty key)."""
    for e in _list(container.get("env")):
        if _get(e, "name") != "VLLM_API_KEY":
            continue
        ref = _get(e, "valueFrom", "secretKeyRef")
        if (isinstance(ref, Mapping) and ref.get("name") and not ref.get("optional")) or _get(e, "value"):
            return True
    if any(_get(src, "secretRef", "name") and not _get(src, "secretRef", "optional") for src in _list(container.get("envFrom"))):
        return True
    words = [str(a) for a in _list(container.get("command")) + _list(container.get("args"))]
    return any((w == "--api-key" and i + 1 < len(words) and words[i + 1]) or (w.startswith("--api-key=") and len(w) > 10)
               for i, w in enumerate(words))


def _ingress_backends(props: Mapping[str, Any]) -> Iterator[tuple[Any, str]]:
    """``(Service name, path)`` of every backend of an Ingress, its default backend as path ``/``."""
    default = _get(props, "spec", "defaultBackend", "service", "name")
    if default:
        yield default, "/"
    for rule in _list(_get(props, "spec", "rules")):
        for path in _list(_get(rule, "http", "paths")):
            yield _get(path, "backend", "service", "name"), str(_get(path, "path") or "/")


def llm_endpoints_need_an_api_key(args: StackValidationArgs, report: ReportViolation) -> None:
    services = {(_namespace(r.props), _get(r.props, "metadata", "name")): _get(r.props, "spec", "selector")
                for r in args.resources if r.resource_type == "kubernetes:core/v1:Service"}
    servers: list[tuple[str, Mapping[str, Any], bool]] = []  # (namespace, pod labels, has a key) of LLM servers
    for r in args.resources:
        for meta, spec in pod_templates(r.resource_type, r.props):
            llm = [c for c in containers(spec) if _is_llm_server(c)]
            if llm:
                servers.append((_namespace(r.props), _mapping(_get(meta, "labels")), all(_has_api_key(c) for c in llm)))
    for r in args.resources:
        if not r.resource_type.endswith(":Ingress"):
            continue
        for service, path in _ingress_backends(r.props):
            selector = services.get((_namespace(r.props), service))
            behind = [keyed for ns, labels, keyed in servers if isinstance(selector, Mapping) and selector
                      and ns == _namespace(r.props) and all(labels.get(k) == v for k, v in selector.items())]
            if not behind:
                continue
            if not all(behind):
                report(f"Ingress {r.name} puts an LLM server without an API key on the internet: anyone could spend its "
                       "GPUs; give it one (llm.apiKey, encrypted, or llm.apiKeySecret in this project's stack config; runtime_options "
                       "api_key or api_key_secret with the components)", r.urn)
            elif not any(path == p or path.startswith(p + "/") for p in _LLM_GUARDED):
                report(f"Ingress {r.name} publishes path {path} of an LLM server, where its API key does not apply (vLLM guards "
                       f"only {', '.join(_LLM_GUARDED)}; /invocations serves completions without it): publish /v1 only", r.urn)


# What a protected bucket holds and how it is guarded: dropping one of these from the program
# must not delete the served model or strip the bucket's encryption and public-access block.
_GUARDED_WITH_BUCKET = (
    "alicloud:oss/bucketObject:BucketObject",
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "alicloud:oss/bucketVersioning:BucketVersioning",
    "alicloud:oss/bucketAcl:BucketAcl",
)


def protected_buckets_guard_their_data(args: StackValidationArgs, report: ReportViolation) -> None:
    protected = {r.props.get("bucket") for r in args.resources
                 if r.resource_type == "alicloud:oss/bucket:Bucket" and r.opts is not None and r.opts.protect}
    for r in args.resources:
        if r.resource_type in _GUARDED_WITH_BUCKET and r.props.get("bucket") in protected and not (r.opts and r.opts.protect):
            what = "model data" if r.resource_type.endswith(":BucketObject") else "a protection of the bucket"
            report(f"{r.name} is {what} of the protected bucket {r.props.get('bucket')} but is not protected: removing it from "
                   "the program would delete it; protect it (and retain it on delete) like the bucket", r.urn)


# The pack's name (the CLI's PolicyPack): another checkout's copy of this file, in any version, says the same.
PACK_NAME = "elastic-inference"

POLICIES = [
    ResourceValidationPolicy(
        name="no-inline-oss-credentials",
        description="OSS credentials are never inline in a PersistentVolume: a Secret reference or RRSA.",
        enforcement_level=MANDATORY,
        validate=no_inline_oss_credentials,
    ),
    ResourceValidationPolicy(
        name="no-public-bucket",
        description="No public bucket ACL or bucket policy; the public access block stays on.",
        enforcement_level=MANDATORY,
        validate=no_public_bucket,
    ),
    StackValidationPolicy(
        name="bucket-encrypted",
        description="Every bucket the stack creates is encrypted at rest.",
        enforcement_level=MANDATORY,
        validate=buckets_are_encrypted,
    ),
    ResourceValidationPolicy(
        name="gpu-limit",
        description="Every container that needs a GPU (GPU image, request or ECI GPU spec) has a GPU limit.",
        enforcement_level=MANDATORY,
        validate=gpu_containers_have_gpu_limits,
    ),
    ResourceValidationPolicy(
        name="hpa-bounds",
        description="Every HPA has 1 <= minReplicas <= maxReplicas.",
        enforcement_level=MANDATORY,
        validate=hpa_bounds,
    ),
    StackValidationPolicy(
        name="hpa-target-exists",
        description="Every HPA scales a workload this stack creates.",
        enforcement_level=MANDATORY,
        validate=hpas_target_workloads_of_the_stack,
    ),
    ResourceValidationPolicy(
        name="image-pinned",
        description="No image with the tag 'latest' or without a tag.",
        enforcement_level=MANDATORY,
        validate=images_are_pinned,
    ),
    ResourceValidationPolicy(
        name="non-root",
        description="Containers run as non-root, without privilege escalation or privileges, in their own namespaces.",
        enforcement_level=MANDATORY,
        validate=containers_are_unprivileged,
    ),
    ResourceValidationPolicy(
        name="serving-probes",
        description="Every serving container has a readiness and a startup probe.",
        enforcement_level=MANDATORY,
        validate=serving_containers_have_probes,
    ),
    StackValidationPolicy(
        name="disruption-budget",
        description="Every service's workload has a PodDisruptionBudget.",
        enforcement_level=MANDATORY,
        validate=every_workload_has_a_disruption_budget,
    ),
    StackValidationPolicy(
        name="model-data-protected",
        description="The objects and protections (encryption, public-access block, versioning, ACL) of a protected bucket are protected too.",
        enforcement_level=MANDATORY,
        validate=protected_buckets_guard_their_data,
    ),
    StackValidationPolicy(
        name="llm-api-key",
        description="An LLM server behind an Ingress requires an API key (vLLM's --api-key or VLLM_API_KEY).",
        enforcement_level=MANDATORY,
        validate=llm_endpoints_need_an_api_key,
    ),
    ResourceValidationPolicy(
        name="ingress-tls",
        description="Every Ingress host is served over TLS (advisory in dev: see stacks/dev.json).",
        enforcement_level=MANDATORY,
        validate=ingress_has_tls,
    ),
]
