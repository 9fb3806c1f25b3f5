"""``tensorflow-serving``: TensorFlow Serving in a Deployment, behind a ClusterIP Service.

Replaces the seeds' ``arena serve tensorflow`` (seeds 002, 003). The version
policy (``specific:1623831335``) travels in a TF Serving model config file, a
ConfigMap whose digest rolls the pods when it changes.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .._annotations import with_skips
from ..problems import ArgProblem
from .base import (
    MODEL_MOUNT, SECURE_CONTAINER, PodContext, Runtime, Workload, cluster_ip_service, find, pod_spec, resources, server_deployment,
)

if TYPE_CHECKING:
    from ..inference_service import InferenceServiceArgs

GRPC_PORT = 8500
REST_PORT = 8501
CONFIG_MOUNT = "/etc/tfserving"
DEFAULT_IMAGE = "tensorflow/serving:2.14.1"
DEFAULT_GPU_IMAGE = "tensorflow/serving:2.14.1-gpu"
# Shutdown: TF Serving installs no SIGTERM handler, and as the container's PID 1 it gets
# no default one either, so SIGTERM does nothing (tensorflow/serving issues #356, #1853).
# The preStop pause keeps it serving while the endpoint is withdrawn from the Service and
# the ingress and in-flight requests finish; the kubelet then sends SIGTERM (ignored) and
# kills it with SIGKILL when the grace period ends: the margin after the pause bounds that.
PRE_STOP_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + 5
VERSION_POLICY = re.compile(r"^(latest|latest:[1-9][0-9]*|all|specific:[0-9]+(,[0-9]+)*)$")
"""TF Serving's model version policies as this project spells them: ``latest``, ``latest:N``, ``all``, ``specific:V[,V...]``."""
VERSION_POLICY_HINT = "one of 'latest', 'latest:N', 'all', 'specific:V[,V...]'"


def model_config(model_name: str, base_path: str, version_policy: str) -> str:
    """A TF Serving ``--model_config_file`` (text protobuf) carrying the version policy."""
    if not VERSION_POLICY.match(version_policy):
        raise ValueError(f"the version policy must be {VERSION_POLICY_HINT}")
    kind, _, value = version_policy.partition(":")
    if kind == "latest":
        policy = f"latest {{ num_versions: {int(value or 1)} }}"
    elif kind == "all":
        policy = "all {}"
    else:
        policy = "specific { " + " ".join(f"versions: {v}" for v in value.split(",")) + " }"
    return (
        "model_config_list {\n"
        "  config {\n"
        f'    name: "{model_name}"\n'
        f'    base_path: "{base_path}"\n'
        '    model_platform: "tensorflow"\n'
        f"    model_version_policy {{ {policy} }}\n"
        "  }\n"
        "}\n"
    )


def tf_serving_container(args: InferenceServiceArgs, image: str) -> dict[str, Any]:
    """The TF Serving container: gRPC 8500 and REST 8501, probes on the model's status."""
    ready_path = f"/v1/models/{args.model_name}"
    probe = {"httpGet": {"path": ready_path, "port": "http"}, "timeoutSeconds": 5}
    return {
        "name": "tensorflow-serving",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/usr/bin/tensorflow_model_server"],
        "args": [
            f"--port={GRPC_PORT}",
            f"--rest_api_port={REST_PORT}",
            f"--model_config_file={CONFIG_MOUNT}/models.config",
            # New versions appear in OSS rarely; polling every second lists the bucket constantly.
            "--file_system_poll_wait_seconds=60",
        ],
        "ports": [
            {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
            {"name": "http", "containerPort": REST_PORT, "protocol": "TCP"},
        ],
        "resources": resources(args),
        "volumeMounts": [
            {"name": "model", "mountPath": MODEL_MOUNT, "readOnly": True},
            {"name": "model-config", "mountPath": CONFIG_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": max(3, args.startup_timeout_seconds // 10)},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**probe, "periodSeconds": 20, "failureThreshold": 3},
        # Keep serving while the endpoint is withdrawn (see TERMINATION_GRACE_SECONDS).
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {PRE_STOP_SECONDS}"]}}},
        "securityContext": dict(SECURE_CONTAINER),
    }


def model_config_map(ctx: PodContext) -> tuple[k8s.core.v1.ConfigMap, dict[str, str]]:
    """The ConfigMap holding ``models.config``, and the pod annotation that rolls the pods when it changes."""
    args = ctx.args
    text = model_config(args.model_name, MODEL_MOUNT, args.version_policy)
    config_map = k8s.core.v1.ConfigMap(
        f"{ctx.name}-model-config",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{ctx.name}-model-config", namespace=args.namespace, labels=dict(ctx.labels),
            annotations=with_skips(None, namespace=args.namespace)
        ),
        data={"models.config": text},
        opts=pulumi.ResourceOptions(parent=ctx.owner),
    )
    # A changed model config (e.g. a new pinned version) rolls the pods.
    return config_map, {"elastic-inference.io/model-config-sha256": hashlib.sha256(text.encode()).hexdigest()}


MODEL_CONFIG_VOLUME = "model-config"


def model_config_volume(name: str) -> dict[str, Any]:
    return {"name": MODEL_CONFIG_VOLUME, "configMap": {"name": f"{name}-model-config"}}


class TfServing(Runtime):
    name = "tensorflow-serving"
    scaling = "hpa"
    workload_kinds = ("Deployment",)

    def default_image(self, gpu: int) -> str:
        return DEFAULT_GPU_IMAGE if gpu else DEFAULT_IMAGE

    def service_endpoint(self, name: str) -> tuple[str, int]:
        return name, REST_PORT

    def network_ports(self) -> Optional[Sequence[int]]:
        return (REST_PORT, GRPC_PORT)

    def build(self, ctx: PodContext) -> Workload:
        args, name = ctx.args, ctx.name
        config_map, annotations = model_config_map(ctx)
        spec = pod_spec(ctx, [tf_serving_container(args, args.image or self.default_image(args.gpu))],
                        [model_config_volume(name)], TERMINATION_GRACE_SECONDS)
        image = args.image or self.default_image(args.gpu)
        deployment = server_deployment(ctx, image, spec, {**ctx.pod_annotations, **annotations}, config_map)
        service = cluster_ip_service(ctx, [("grpc", GRPC_PORT, "grpc"), ("http", REST_PORT, "http")])
        return Workload(deployment, service.metadata.name, REST_PORT, {"apiVersion": "apps/v1", "kind": "Deployment", "name": name})

    def rendered_hpa(self, objects: Sequence[Mapping[str, Any]], name: str, namespace: str) -> Optional[Mapping[str, Any]]:
        return find(objects, "HorizontalPodAutoscaler", name, namespace)

    def problems(self, args: InferenceServiceArgs) -> list[ArgProblem]:
        return version_policy_problems(args)


def version_policy_problems(args: InferenceServiceArgs) -> list[ArgProblem]:
    """TF Serving's version policy syntax (its model config file)."""
    if not isinstance(args.version_policy, str) or not VERSION_POLICY.match(args.version_policy):
        return [ArgProblem("version_policy", f"must be {VERSION_POLICY_HINT}")]
    return []
