"""InferenceService: one model server, in the runtime its arguments name.

Each runtime is a module of ``runtimes/`` (``tensorflow-serving``, ``seldon``),
registered in ``runtimes.RUNTIMES``; it builds the workload, its Service and
its probes. This component checks the arguments and adds what every runtime
shares: deterministic names and labels (no arena timestamp suffixes, so the
autoscaler's ingress route and the ResourcePolicy selector are derived from
the real objects), a PodDisruptionBudget and a NetworkPolicy. The replica
count is left to the autoscaler after creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from ._annotations import with_skips
from .placements import PodScheduling
from .problems import ArgProblem
from .registry import lookup
from .runtimes import RUNTIMES, PodContext, Runtime
from .runtimes.base import MODEL_MOUNT
from .runtimes.tf_serving import model_config

TYPE = "elastic-inference:serving:InferenceService"

__all__ = ["MODEL_MOUNT", "InferenceService", "InferenceServiceArgs", "model_config", "selector_labels", "service_endpoint"]


def service_endpoint(name: str, runtime: str) -> tuple[str, int]:
    """``(Service name, HTTP port)`` that receives the traffic of service ``name``.

    Known before anything is created: the ingress route, and so the autoscaler's
    metric selector, can be derived from it (each runtime's ``service_endpoint``).
    """
    return lookup(RUNTIMES, "runtime", runtime).service_endpoint(name)


def selector_labels(name: str) -> dict[str, str]:
    """Labels that select the pods of service ``name`` (and nothing else in its namespace)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "inference-server"}


@dataclass(kw_only=True)
class InferenceServiceArgs:
    """Arguments of :class:`InferenceService`."""

    namespace: str
    """Namespace of every object of the service."""
    model_name: str
    """Model name the server serves (TF Serving: the ``/v1/models/{name}`` path)."""
    claim_name: pulumi.Input[str]
    """PersistentVolumeClaim holding the model's versions at its root (mounted read-only)."""
    runtime: str = "tensorflow-serving"
    """A registered runtime (``runtimes.RUNTIMES``): ``tensorflow-serving`` (a Deployment and a
    Service) or ``seldon`` (a SeldonDeployment)."""
    image: Optional[str] = None
    """Server image; None: the runtime's default for the GPU count (``tensorflow/serving:2.14.1[-gpu]``)."""
    version_policy: str = "latest"
    """Which model versions to serve, in the runtime's syntax (TF Serving, and Seldon's: ``latest``,
    ``latest:N``, ``all`` or ``specific:V[,V...]``); a runtime without versions ignores it."""
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
    runtime_options: Mapping[str, Any] = field(default_factory=dict)
    """The runtime's own options (its ``option_defaults``), e.g. ``{"proxy_image": ...}`` for ``seldon``."""
    hpa_spec: Optional[Mapping[str, Any]] = None
    """For a runtime that scales through its own HPA spec (``scaling == "hpa-spec"``: ``seldon``)
    only: e.g. :func:`components.qps_autoscaler.seldon_hpa_spec`. The operator creates the HPA on
    the Deployment it generates; an HPA cannot target the SeldonDeployment itself."""
    max_unavailable: int = 1
    """PodDisruptionBudget: replicas a voluntary disruption (a node drain) may take at once.
    A count rather than ``minAvailable`` so that a single replica never blocks a drain."""
    allow_from_namespaces: Sequence[str] = ("kube-system",)
    """NetworkPolicy: namespaces whose pods may reach the model server (ACK runs the NGINX
    ingress controller in ``kube-system``). Empty, with no ``allow_from_cidrs``: create no NetworkPolicy."""
    allow_from_cidrs: Sequence[pulumi.Input[str]] = ()
    """NetworkPolicy: CIDR blocks whose traffic may reach the model server, for a proxy outside the cluster
    (an ALB: :attr:`AlbGateway.source_cidrs`)."""
    service_annotations: Mapping[str, str] = field(default_factory=dict)
    """Annotations of the Service in front of the pods (an ingress controller's, e.g. ALB's
    ``service.beta.kubernetes.io/backend-type: eni``); a runtime whose operator creates the Service takes none."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(
            checks.dns_label("namespace", self.namespace),
            checks.one_of("runtime", self.runtime, RUNTIMES),
            checks.quantity("cpu", self.cpu),
            checks.quantity("memory", self.memory),
            *(checks.whole_number(arg, getattr(self, arg), minimum) for arg, minimum in
              (("gpu", 0), ("replicas", 0), ("startup_timeout_seconds", 30), ("max_unavailable", 1))),
        )
        rt = RUNTIMES.get(self.runtime)
        if rt is None:
            return found
        if self.hpa_spec is not None and rt.scaling != "hpa-spec":
            found.append(ArgProblem("hpa_spec", f"is only for runtimes that scale through their own HPA spec, not {self.runtime!r}: "
                                                "scale its workload with QpsAutoscaler"))
        unknown = sorted(set(self.runtime_options) - set(rt.option_defaults))
        if unknown:
            known = ", ".join(rt.option_defaults) or "none"
            found.append(ArgProblem("runtime_options", f"has options {self.runtime!r} does not take (it takes: {known})"))
        return found + rt.problems(self)


def _resources(depends_on: Any) -> list[pulumi.Resource]:
    """``opts.depends_on`` as the list of resources the workload waits for."""
    items = depends_on if isinstance(depends_on, Sequence) else [depends_on] if depends_on is not None else []
    if not all(isinstance(item, pulumi.Resource) for item in items):
        raise checks.ArgsError("InferenceService opts", [ArgProblem("depends_on", "must list resources (not Outputs): the "
                                                                                  "workload waits for each of them")])
    return list(items)


class InferenceService(pulumi.ComponentResource):
    """The model server workload and the Service in front of it."""

    service_name: pulumi.Output[str]
    """Name of the Kubernetes Service that receives the traffic."""
    service_port: int
    """HTTP port of that Service (8501 for TF Serving, 8000 for Seldon)."""
    scale_target: Optional[Mapping[str, str]]
    """``apiVersion``, ``kind`` and ``name`` of the workload an HPA scales (:class:`QpsAutoscaler`);
    None for a runtime that scales through ``hpa_spec``."""
    selector: Mapping[str, str]
    """Labels of the service's pods."""
    runtime: Runtime
    """The registered runtime that built the workload."""

    def __init__(self, name: str, args: InferenceServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("InferenceServiceArgs", [*checks.collect(checks.dns_label("name", name)), *args.problems()])
        super().__init__(TYPE, name, None, opts)
        self.runtime = RUNTIMES[args.runtime]
        self.selector = selector_labels(name)
        labels = {**self.selector, "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "elastic-inference"}
        # Resources this component is created after are what its workload waits for: a
        # ResourcePolicy only governs pods scheduled after it exists, a PVC must be bound.
        depends_on = _resources(opts.depends_on if opts else None)
        workload = self.runtime.build(PodContext(
            name=name, args=args, labels=labels, pod_labels={**labels, **args.scheduling.labels},
            pod_annotations=dict(args.scheduling.annotations), selector=self.selector, owner=self, depends_on=depends_on,
        ))
        self.workload = workload.resource
        self.service_name = workload.service_name
        self.service_port = workload.service_port
        self.scale_target = workload.scale_target
        self.disruption_budget = self._disruption_budget(name, args, labels)
        self.network_policy = self._network_policy(name, args, labels) if args.allow_from_namespaces or args.allow_from_cidrs else None
        self.register_outputs({"serviceName": self.service_name, "servicePort": self.service_port,
                               "scaleTarget": dict(self.scale_target) if self.scale_target else None})

    def _disruption_budget(self, name: str, args: InferenceServiceArgs, labels: Mapping[str, str]) -> k8s.policy.v1.PodDisruptionBudget:
        return k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=dict(labels),
                                                annotations=with_skips(None, namespace=args.namespace)),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=args.max_unavailable,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.selector)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _network_policy(self, name: str, args: InferenceServiceArgs, labels: Mapping[str, str]) -> k8s.networking.v1.NetworkPolicy:
        ports = self.runtime.network_ports()
        return k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=dict(labels),
                                                annotations=with_skips(None, namespace=args.namespace)),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(self.selector)),
                policy_types=["Ingress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            k8s.networking.v1.NetworkPolicyPeerArgs(
                                namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace})
                            )
                            for namespace in args.allow_from_namespaces
                        ] + [
                            k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))
                            for cidr in args.allow_from_cidrs
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol="TCP") for port in ports] if ports else None,
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
