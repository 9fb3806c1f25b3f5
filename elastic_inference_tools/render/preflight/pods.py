"""The pods a plan would run: each workload's pod template, as the cluster would see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator, Mapping

from . import Plan, Resource, as_list, as_map, get
from .quantity import parse
from .runtimes import runtime_of_kind

GPU = "nvidia.com/gpu"
# Where each core workload kind keeps its pod template.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# A runtime's custom workload kinds (a SeldonDeployment) keep their pod templates where the runtime
# says, and its operator may add containers to them (Seldon's executor): Runtime.workload_pods,
# read from the registry (.runtimes).


@dataclass
class PodTemplate:
    owner: Resource
    where: str
    labels: Mapping[str, Any]
    annotations: Mapping[str, Any]
    spec: Mapping[str, Any]
    added: list[Mapping[str, Any]] = field(default_factory=list)
    """Containers a controller adds to the pod (a runtime's operator: ``WorkloadPod.injected``, Seldon's executor)."""

    @property
    def containers(self) -> list[Mapping[str, Any]]:
        return [as_map(c) for c in as_list(self.spec.get("containers"))] + self.added

    @property
    def init_containers(self) -> list[Mapping[str, Any]]:
        return [as_map(c) for c in as_list(self.spec.get("initContainers"))]

    def requests(self) -> dict[str, Decimal]:
        """The pod's effective requests (cpu cores, memory bytes, GPUs): the scheduler's sum over
        containers, or the largest init container when that is more (kubernetes
        pkg/api/v1/resource/helpers.go PodRequests)."""
        total = _sum(self.containers)
        total["max-container-gpu"] = max((_container_requests(c).get(GPU, Decimal(0)) for c in self.containers), default=Decimal(0))
        for init in self.init_containers:
            single = _sum([init])
            for key, amount in single.items():
                total[key] = max(total.get(key, Decimal(0)), amount)
        return total


def _container_requests(container: Mapping[str, Any]) -> dict[str, Decimal]:
    resources = as_map(container.get("resources"))
    limits, requests = as_map(resources.get("limits")), as_map(resources.get("requests"))
    out = {}
    for key in ("cpu", "memory", GPU):
        # A request defaults to the limit when only the limit is given (API defaulting).
        value = parse(requests.get(key, limits.get(key)))
        if value is not None:
            out[key] = value
    return out


def _sum(containers: list[Mapping[str, Any]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for container in containers:
        for key, amount in _container_requests(container).items():
            total[key] = total.get(key, Decimal(0)) + amount
    return total


def pod_templates(plan: Plan) -> list[PodTemplate]:
    """Every pod template of the plan (built once per plan)."""
    templates: list[PodTemplate] = plan.memo("pod_templates", lambda: list(_pod_templates(plan)))
    return templates


def _pod_templates(plan: Plan) -> Iterator[PodTemplate]:
    for obj in plan.kubernetes():
        if obj.kind in _TEMPLATES:
            template = as_map(get(obj.inputs, *_TEMPLATES[obj.kind]))
            meta = as_map(template.get("metadata"))
            yield PodTemplate(obj, ".".join(_TEMPLATES[obj.kind]), as_map(meta.get("labels")), as_map(meta.get("annotations")),
                              as_map(template.get("spec")))
        elif obj.kind == "Pod":
            meta = as_map(obj.inputs.get("metadata"))
            yield PodTemplate(obj, "", as_map(meta.get("labels")), as_map(meta.get("annotations")), as_map(obj.inputs.get("spec")))
        elif (runtime := runtime_of_kind(plan, obj.kind)) is not None:
            for pod in runtime.workload_pods(obj.inputs):
                meta = as_map(pod.metadata)
                yield PodTemplate(obj, pod.where, as_map(meta.get("labels")), as_map(meta.get("annotations")), as_map(pod.spec),
                                  [as_map(c) for c in pod.injected])


def run_as(template: PodTemplate, container: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """``(uid, gid, fsGroup)`` a container runs with (container settings over the pod's)."""
    pod = as_map(template.spec.get("securityContext"))
    own = as_map(container.get("securityContext"))
    uid = own.get("runAsUser", pod.get("runAsUser"))
    gid = own.get("runAsGroup", pod.get("runAsGroup"))
    return uid, gid, pod.get("fsGroup")


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a plain label map ``selector`` (all of its pairs) matches ``labels``."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
