"""InferenceService: TensorFlow Serving (or Seldon with a TF Serving proxy) serving one model.

Replaces the seeds' ``arena serve tensorflow`` (seeds 002, 003) and the
hand-written ``SeldonDeployment`` of seed 000. Names are deterministic (no
arena timestamp suffixes), so the autoscaler's ingress route and the
ResourcePolicy selector are derived from the real objects instead of being
copied from ``kubectl get`` output. The version policy (``specific:1623831335``)
travels in a TF Serving model config file. The replica count is left to the
autoscaler after creation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, cast

import pulumi
import pulumi_kubernetes as k8s

from . import _checks
from ._annotations import with_skips
from .placement import PodScheduling

TYPE = "elastic-inference:serving:InferenceService"
RUNTIMES = ("tensorflow-serving", "seldon")
GRPC_PORT = 8500
REST_PORT = 8501
SELDON_HTTP_PORT = 8000
SELDON_PREDICTOR = "default"
MODEL_MOUNT = "/models"
CONFIG_MOUNT = "/etc/tfserving"
# Shutdown: TF Serving installs no SIGTERM handler, and as the container's PID 1 it gets
# no default one either, so SIGTERM does nothing (tensorflow/serving issues #356, #1853).
# The preStop pause keeps it serving while the endpoint is withdrawn from the Service and
# the ingress and in-flight requests finish; the kubelet then sends SIGTERM (ignored) and
# kills it with SIGKILL when the grace period ends: the margin after the pause bounds that.
PRE_STOP_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + 5
# A high, fixed UID/GID: not root, and not one a host account is likely to own.
RUN_AS_ID = 10001
_VERSION_POLICY = re.compile(r"^(latest|latest:[1-9][0-9]*|all|specific:[0-9]+(,[0-9]+)*)$")


def service_endpoint(name: str, runtime: str) -> tuple[str, int]:
    """``(Service name, HTTP port)`` that receives the traffic of service ``name``.

    Known before anything is created: the ingress route, and so the autoscaler's
    metric selector, can be derived from it. Seldon's operator creates the Service
    ``{deployment}-{predictor}`` on its executor's HTTP port 8000 (seldon-core
    operator/controllers/seldondeployment_controller.go ``createPredictorService``).
    """
    if runtime == "seldon":
        return f"{name}-{SELDON_PREDICTOR}", SELDON_HTTP_PORT
    return name, REST_PORT


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select the pods of service ``name`` (and nothing else in its namespace)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "inference-server"}


def model_config(model_name: str, base_path: str, version_policy: str) -> str:
    """A TF Serving ``--model_config_file`` (text protobuf) carrying the version policy."""
    if not _VERSION_POLICY.match(version_policy):
        raise ValueError("the version policy is not latest, latest:N, all or specific:V[,V...]")
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


@dataclass
class InferenceServiceArgs:
    """Arguments of :class:`InferenceService`."""

    namespace: str
    """Namespace of every object of the service."""
    model_name: str
    """Model name served by TF Serving (the ``/v1/models/{name}`` path)."""
    claim_name: str
    """PersistentVolumeClaim holding the model's versions at its root (mounted read-only)."""
    image: str
    """TF Serving image, e.g. ``tensorflow/serving:2.14.1-gpu``."""
    runtime: str = "tensorflow-serving"
    """``tensorflow-serving`` (a Deployment and a Service) or ``seldon`` (a SeldonDeployment)."""
    version_policy: str = "latest"
    """``latest``, ``latest:N``, ``all`` or ``specific:V[,V...]``."""
    gpu: int = 0
    """NVIDIA GPUs per replica (request and limit)."""
    cpu: str = "2"
    """CPU per replica (request and limit)."""
    memory: str = "8Gi"
    """Memory per replica (request and limit)."""
    replicas: int = 1
    """Replicas at creation; afterwards the autoscaler owns the count when ``autoscaled``."""
    autoscaled: bool = True
    """Leave the replica count to an autoscaler after creation."""
    scheduling: PodScheduling = field(default_factory=PodScheduling)
    """Placement of the pods (see :class:`components.placement.Placement`)."""
    startup_timeout_seconds: int = 600
    """How long a replica may take to load its model before it is restarted."""
    seldon_proxy_image: str = "seldonio/tfserving-proxy:1.17.1"
    """The REST proxy in front of TF Serving (``runtime="seldon"``). 1.17.1 is the last
    Apache-2.0 release of Seldon Core v1; later ones are under the Business Source License."""
    seldon_hpa: Optional[Mapping[str, Any]] = None
    """``runtime="seldon"`` only: the predictor's ``hpaSpec`` (see
    :func:`components.qps_autoscaler.seldon_hpa_spec`). The Seldon operator creates the HPA
    on the Deployment it generates; an HPA cannot target the SeldonDeployment itself."""
    max_unavailable: int = 1
    """PodDisruptionBudget: replicas a voluntary disruption (a node drain) may take at once.
    A count rather than ``minAvailable`` so that a single replica never blocks a drain."""
    allow_from_namespaces: Sequence[str] = ("kube-system",)
    """NetworkPolicy: namespaces whose pods may reach the model server (ACK runs the NGINX
    ingress controller in ``kube-system``). Empty: create no NetworkPolicy."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Resources the workload must be created after (the volume, the placement policy)."""


class InferenceService(pulumi.ComponentResource):
    """The model server workload and the Service in front of it."""

    service_name: pulumi.Output[str]
    """Name of the Kubernetes Service that receives the traffic."""
    service_port: int
    """HTTP port of that Service (8501 for TF Serving, 8000 for Seldon)."""
    scale_target: Optional[Mapping[str, str]]
    """``apiVersion``, ``kind`` and ``name`` of the workload an HPA scales (:class:`QpsAutoscaler`);
    None for ``runtime="seldon"``, which scales through ``seldon_hpa``."""
    selector: Mapping[str, str]
    """Labels of the service's pods."""

    def __init__(self, name: str, args: InferenceServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _validate(name, args)
        super().__init__(TYPE, name, None, opts)
        self.selector = selector_labels(name)
        labels = {**self.selector, "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "elastic-inference"}
        config_text = model_config(args.model_name, MODEL_MOUNT, args.version_policy)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-model-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{name}-model-config", namespace=args.namespace, labels=labels, annotations=with_skips(None, namespace=args.namespace)
            ),
            data={"models.config": config_text},
            opts=pulumi.ResourceOptions(parent=self),
        )
        pod_labels = {**labels, **args.scheduling.labels}
        pod_annotations = {
            **args.scheduling.annotations,
            # A changed model config (e.g. a new pinned version) rolls the pods.
            "elastic-inference.io/model-config-sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        }
        pod_spec = _pod_spec(name, args)
        workload_opts = pulumi.ResourceOptions(
            parent=self,
            depends_on=[config_map, *args.depends_on],
            ignore_changes=["spec.replicas"] if args.autoscaled else None,
        )

        if args.runtime == "tensorflow-serving":
            deployment = k8s.apps.v1.Deployment(
                f"{name}-deployment",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name,
                    namespace=args.namespace,
                    labels=labels,
                    annotations=with_skips(None, namespace=args.namespace, image=args.image, pull_policy=True),
                ),
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=args.replicas,
                    revision_history_limit=5,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.selector),
                    # Never go below the current capacity during a rollout.
                    strategy=k8s.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge="25%", max_unavailable=0),
                    ),
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels, annotations=pod_annotations),
                        # A plain mapping in the API's own (camelCase) names; the SDK accepts it as the PodSpec.
                        spec=cast(Any, pod_spec),
                    ),
                ),
                opts=workload_opts,
            )
            service = k8s.core.v1.Service(
                f"{name}-service",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, namespace=args.namespace, labels=labels, annotations=with_skips(None, namespace=args.namespace)
                ),
                spec=k8s.core.v1.ServiceSpecArgs(
                    type="ClusterIP",
                    selector=self.selector,
                    ports=[
                        k8s.core.v1.ServicePortArgs(name="grpc", port=GRPC_PORT, target_port="grpc", protocol="TCP", app_protocol="grpc"),
                        k8s.core.v1.ServicePortArgs(name="http", port=REST_PORT, target_port="http", protocol="TCP", app_protocol="http"),
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.service_name = service.metadata.name
            self.service_port = REST_PORT
            self.scale_target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
            workload: pulumi.Resource = deployment
        else:
            workload = k8s.apiextensions.CustomResource(
                f"{name}-seldon-deployment",
                api_version="machinelearning.seldon.io/v1",
                kind="SeldonDeployment",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=name, namespace=args.namespace, labels=labels, annotations=with_skips(None, namespace=args.namespace)
                ),
                spec={
                    "name": name,
                    # With an hpaSpec the operator leaves the replica count to its HPA
                    # (createComponents); a `replicas` here would only be ignored.
                    **({} if args.seldon_hpa else {"replicas": args.replicas}),
                    "predictors": [
                        {
                            "name": SELDON_PREDICTOR,
                            "componentSpecs": [
                                {
                                    "metadata": {"labels": pod_labels, "annotations": pod_annotations},
                                    "spec": pod_spec,
                                    **({"hpaSpec": dict(args.seldon_hpa)} if args.seldon_hpa else {}),
                                }
                            ],
                            "graph": {
                                "name": "tfserving-proxy",
                                "type": "MODEL",
                                "endpoint": {"type": "REST"},
                                "children": [],
                                "parameters": [
                                    {"name": "rest_endpoint", "type": "STRING", "value": f"http://127.0.0.1:{REST_PORT}"},
                                    {"name": "grpc_endpoint", "type": "STRING", "value": f"127.0.0.1:{GRPC_PORT}"},
                                    {"name": "model_name", "type": "STRING", "value": args.model_name},
                                    {"name": "signature_name", "type": "STRING", "value": "serving_default"},
                                ],
                            },
                        }
                    ],
                },
                opts=workload_opts,
            )
            service_name, self.service_port = service_endpoint(name, args.runtime)
            self.service_name = pulumi.Output.from_input(service_name)
            # Scaled by its own hpaSpec (seldon_hpa), never by an HPA on the SeldonDeployment.
            self.scale_target = None

        self.workload = workload
        skips = with_skips(None, namespace=args.namespace)
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels, annotations=skips),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=args.max_unavailable,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.selector),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.network_policy = None
        if args.allow_from_namespaces:
            # TF Serving: only its two ports. Seldon adds its own executor ports: the pods, not the ports.
            ports = (
                [k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP") for port in (REST_PORT, GRPC_PORT)]
                if args.runtime == "tensorflow-serving"
                else None
            )
            self.network_policy = k8s.networking.v1.NetworkPolicy(
                f"{name}-network-policy",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels, annotations=skips),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.selector),
                    policy_types=["Ingress"],
                    ingress=[
                        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                            from_=[
                                k8s.networking.v1.NetworkPolicyPeerArgs(
                                    namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                        match_labels={"kubernetes.io/metadata.name": namespace}
                                    )
                                )
                                for namespace in args.allow_from_namespaces
                            ],
                            ports=ports,
                        )
                    ],
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"serviceName": self.service_name, "servicePort": self.service_port,
                               "scaleTarget": dict(self.scale_target) if self.scale_target else None})


def _validate(name: str, args: InferenceServiceArgs) -> None:
    _checks.dns_label("the InferenceService's name", name)
    _checks.dns_label("InferenceServiceArgs.namespace", args.namespace)
    for arg, minimum in (("gpu", 0), ("replicas", 0), ("startup_timeout_seconds", 30), ("max_unavailable", 1)):
        _checks.whole_number(f"InferenceServiceArgs.{arg}", getattr(args, arg), minimum)
    if args.runtime not in RUNTIMES:
        raise ValueError(f"InferenceServiceArgs.runtime must be one of {RUNTIMES}")
    if not _VERSION_POLICY.match(args.version_policy):
        raise ValueError("InferenceServiceArgs.version_policy is not latest, latest:N, all or specific:V[,V...]")
    if args.gpu < 0:
        raise ValueError("InferenceServiceArgs.gpu must be >= 0")
    if args.replicas < 0:
        raise ValueError("InferenceServiceArgs.replicas must be >= 0")
    if args.startup_timeout_seconds < 30:
        raise ValueError("InferenceServiceArgs.startup_timeout_seconds must be >= 30")
    if args.seldon_hpa is not None and args.runtime != "seldon":
        raise ValueError("InferenceServiceArgs.seldon_hpa is only for runtime='seldon'; scale a Deployment with QpsAutoscaler")
    if args.max_unavailable < 1:
        raise ValueError("InferenceServiceArgs.max_unavailable must be >= 1 (0 would block every node drain)")


def _resources(args: InferenceServiceArgs) -> dict[str, Any]:
    amounts = {"cpu": args.cpu, "memory": args.memory}
    if args.gpu:
        amounts["nvidia.com/gpu"] = str(args.gpu)
    # Requests == limits: Guaranteed QoS, and ECI sizes the instance from them.
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _tf_serving_container(args: InferenceServiceArgs) -> dict[str, Any]:
    ready_path = f"/v1/models/{args.model_name}"
    probe = {"httpGet": {"path": ready_path, "port": "http"}, "timeoutSeconds": 5}
    return {
        "name": "tensorflow-serving",
        "image": args.image,
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
        "resources": _resources(args),
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
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _proxy_container(args: InferenceServiceArgs) -> dict[str, Any]:
    return {
        "name": "tfserving-proxy",
        "image": args.seldon_proxy_image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _pod_spec(name: str, args: InferenceServiceArgs) -> dict[str, Any]:
    containers = [_tf_serving_container(args)]
    if args.runtime == "seldon":
        containers.insert(0, _proxy_container(args))
    sched = args.scheduling
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": [
            {"name": "model", "persistentVolumeClaim": {"claimName": args.claim_name, "readOnly": True}},
            {"name": "model-config", "configMap": {"name": f"{name}-model-config"}},
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
