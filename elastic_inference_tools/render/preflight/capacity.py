"""Pods that would never find room, and node pools that would never grow.

Where a pod may run is read from the plan as the scheduler would: an ECI pod
(label ``alibabacloud.com/eci``) on one of its ``eci-use-specs``; a pod under a
``ResourcePolicy`` on each unit in turn (an ``ecs`` unit's nodeSelector picks
node pools, an ``eci`` unit its specs); otherwise the node pools its
nodeSelector matches. Each candidate instance type is looked up in the catalog
(``instance_types.yaml``, each figure with its source) and the pod's requests
are compared with what that type offers a pod: for an ECS node, its capacity
less ACK's reservation and the eviction threshold; for ECI, the spec itself.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional

import yaml

from . import Finding, Plan, Resource, as_list, as_map, check, get
from ...components import gpu_drivers
from .pods import GPU, PodTemplate, pod_templates, selects
from .quantity import GIB

CATALOG_PATH = os.path.join(os.path.dirname(__file__), "instance_types.yaml")
NODE_POOL = "alicloud:cs/nodePool:NodePool"
ECI_LABEL = "alibabacloud.com/eci"
ECI_SPECS = "k8s.aliyun.com/eci-use-specs"
ECI_SPOT_STRATEGY = "k8s.aliyun.com/eci-spot-strategy"  # ECI 'Create a preemptible instance' (read by the simulator)
WAIT_FOR_ECS = "k8s.aliyun.com/resource-policy-wait-for-ecs-scaling"
WAIT_POLICY = "TimeoutOrExceedMax"
PRIORITY_SOURCE = "ACK 'Configure priority-based resource scheduling' (whenTryNextUnits, resource-policy-wait-for-ecs-scaling)"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: Decimal
    memory_gib: Decimal
    gpus: int
    gpu_memory_gib: Decimal
    gpu_model: str = ""


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Any]:
    with open(CATALOG_PATH, encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.safe_load(fh)
    return loaded


@functools.lru_cache(maxsize=None)
def instance_type(name: str) -> Optional[InstanceType]:
    entry = as_map(catalog()["types"].get(name))
    if not entry:
        return None
    return InstanceType(name, Decimal(str(entry["vcpu"])), Decimal(str(entry["memoryGiB"])), int(entry.get("gpus", 0)),
                        Decimal(str(entry.get("gpuMemoryGiB", 0))), str(entry.get("gpuModel", "")))


def _tiered(amount: Decimal, tiers: list[list[Any]]) -> Decimal:
    """Sum of ``rate`` over each ``[upto, rate]`` band of ``amount`` (``upto`` null: the rest)."""
    reserved, floor = Decimal(0), Decimal(0)
    for upto, rate in tiers:
        top = amount if upto is None else min(amount, Decimal(str(upto)))
        if top > floor:
            reserved += (top - floor) * Decimal(str(rate))
        if upto is not None:
            floor = Decimal(str(upto))
    return reserved


@functools.lru_cache(maxsize=None)
def node_allocatable(itype: InstanceType) -> tuple[Decimal, Decimal]:
    """``(cores, bytes)`` an ACK node of ``itype`` offers pods: capacity less ACK's reservation and eviction threshold."""
    reserve = catalog()["ackReserve"]
    cpu_reserved = _tiered(itype.vcpu, reserve["cpuCores"])
    memory_reserved_gib = min(_tiered(itype.memory_gib, reserve["memoryGiB"]), Decimal(str(reserve["memoryMaxGiB"])))
    eviction_gib = Decimal(str(reserve["evictionMiB"])) / 1024
    return itype.vcpu - cpu_reserved, (itype.memory_gib - memory_reserved_gib - eviction_gib) * GIB


def eci_allocatable(itype: InstanceType) -> tuple[Decimal, Decimal]:
    """``(cores, bytes)`` an ECI pod of spec ``itype`` may request."""
    return itype.vcpu, itype.memory_gib * GIB


@dataclass(frozen=True)
class Host:
    where: str
    """``node pool NAME`` or ``ECI``."""
    kind: str  # "ecs" | "eci"
    types: tuple[str, ...]
    driver: Optional[str] = None
    """The GPU driver the host is told to install (the pool's driver label, the ECI pod's driver annotation); None: its
    default."""


def _pools(plan: Plan) -> list[Resource]:
    return plan.of_type(NODE_POOL)


def _pool_labels(pool: Resource) -> dict[str, Any]:
    return {str(get(label, "key")): get(label, "value") for label in as_list(pool.inputs.get("labels"))}


def pools_for(plan: Plan, node_selector: Mapping[str, Any]) -> list[Resource]:
    return [p for p in _pools(plan) if selects(node_selector, _pool_labels(p))]


def first_annotation(key: str, *annotation_sets: Mapping[str, Any]) -> Optional[str]:
    """``key``'s value in the first set that has it (a ResourcePolicy unit's podAnnotations before the template's)."""
    for found in annotation_sets:
        value = found.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def specs(*annotation_sets: Mapping[str, Any]) -> tuple[str, ...]:
    value = first_annotation(ECI_SPECS, *annotation_sets)
    return tuple(s.strip() for s in value.split(",") if s.strip()) if value else ()


def governing_policy(plan: Plan, template: PodTemplate) -> Optional[Resource]:
    for policy in plan.kubernetes("ResourcePolicy"):
        if policy.namespace == template.owner.namespace and selects(as_map(get(policy.inputs, "spec", "selector")), template.labels):
            return policy
    return None


def hosts(plan: Plan, template: PodTemplate) -> list[Host]:
    """Where the pods of ``template`` may run, in the order they are tried (worked out once per template)."""
    found: dict[int, list[Host]] = plan.memo("hosts", dict)
    if id(template) not in found:
        found[id(template)] = _hosts(plan, template)
    return found[id(template)]


def _hosts(plan: Plan, template: PodTemplate) -> list[Host]:
    policy = governing_policy(plan, template)
    if policy is not None:
        found = []
        for i, unit in enumerate(map(as_map, as_list(get(policy.inputs, "spec", "units")))):
            if unit.get("resource") == "eci":
                annotations = (as_map(unit.get("podAnnotations")), template.annotations)
                found.append(Host(f"ECI (ResourcePolicy unit {i})", "eci", specs(*annotations), _eci_driver(*annotations)))
            else:
                found += [_pool_host(pool) for pool in pools_for(plan, as_map(unit.get("nodeSelector")))]
        return found
    if template.labels.get(ECI_LABEL) == "true":
        return [Host("ECI", "eci", specs(template.annotations), _eci_driver(template.annotations))]
    selector = as_map(template.spec.get("nodeSelector"))
    return [_pool_host(p) for p in (pools_for(plan, selector) if selector else [])]


def _pool_host(pool: Resource) -> Host:
    driver = _pool_labels(pool).get(gpu_drivers.NODE_DRIVER_LABEL)
    return Host(f"node pool {pool.inputs.get('nodePoolName', pool.name)}", "ecs", tuple(map(str, as_list(pool.inputs.get("instanceTypes")))),
                str(driver) if driver is not None else None)


def _eci_driver(*annotation_sets: Mapping[str, Any]) -> Optional[str]:
    return first_annotation(gpu_drivers.ECI_DRIVER_ANNOTATION, *annotation_sets)


def _shortfall(requests: Mapping[str, Decimal], itype: InstanceType, kind: str,
               headroom: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))) -> Optional[str]:
    """Why a pod with ``requests`` does not fit ``itype`` (less ``headroom`` cores and GiB), or None."""
    cores, memory = node_allocatable(itype) if kind == "ecs" else eci_allocatable(itype)
    cores, memory = cores - headroom[0], memory - headroom[1] * GIB
    wanted_cpu, wanted_memory, wanted_gpu = requests.get("cpu", Decimal(0)), requests.get("memory", Decimal(0)), requests.get(GPU, Decimal(0))
    if kind == "eci":
        # ECI limits each container's GPUs to the type's; its containers may share them (ECI GPU docs).
        wanted_gpu = requests.get("max-container-gpu", Decimal(0))
    what = "allocatable on an ACK node" if kind == "ecs" else "in the ECI spec"
    if headroom != (Decimal(0), Decimal(0)):
        what += " less DaemonSet headroom"
    if wanted_gpu > itype.gpus:
        return f"{wanted_gpu:g} GPU(s) requested, {itype.gpus} in {itype.name}"
    if wanted_cpu > cores:
        return f"{_fmt(wanted_cpu)} vCPU requested, {_fmt(cores)} {what} of {itype.name}"
    if wanted_memory > memory:
        return f"{_fmt(wanted_memory / GIB)} GiB requested, {_fmt(memory / GIB)} GiB {what} of {itype.name}"
    return None


@functools.lru_cache(maxsize=1)
def _headroom() -> tuple[Decimal, Decimal]:
    room = catalog()["ackReserve"]["headroom"]
    return Decimal(str(room["cpuCores"])), Decimal(str(room["memoryGiB"]))


def _fmt(number: Decimal) -> str:
    return f"{number.quantize(Decimal('0.01')).normalize():f}"


SOURCES = "elastic_inference_tools/render/preflight/instance_types.yaml (ECS instance family docs; ACK 'Resource reservation policy'; ECI 'eci-use-specs')"


@check("pods-fit-instance-types")
def pods_fit_instance_types(plan: Plan) -> Iterator[Finding]:
    for template in pod_templates(plan):
        requests = template.requests()
        for host in hosts(plan, template):
            if not host.types:
                continue
            fits, misses, tight, unknown = [], [], [], []
            for name in host.types:
                itype = instance_type(name)
                if itype is None:
                    unknown.append(name)
                    continue
                why = _shortfall(requests, itype, host.kind)
                if why:
                    misses.append(why)
                    continue
                fits.append(name)
                if host.kind == "ecs":
                    close = _shortfall(requests, itype, host.kind, _headroom())
                    if close:
                        tight.append(close)
            subject = template.owner.describe()
            if unknown:
                yield Finding("pods-fit-instance-types", "warning", subject,
                              f"{host.where}: {', '.join(unknown)} not in the preflight's instance catalog; fit not checked", SOURCES)
            if misses and not fits and not unknown:
                yield Finding("pods-fit-instance-types", "error", subject,
                              f"{host.where}: the pod (all its containers, plus those its controller adds) fits none of its instance "
                              f"types: {'; '.join(misses)}; lower the requests or choose larger types", SOURCES)
            elif misses:
                yield Finding("pods-fit-instance-types", "warning", subject,
                              f"{host.where}: some instance types can never host the pod: {'; '.join(misses)}", SOURCES)
            if tight:
                yield Finding("pods-fit-instance-types", "warning", subject,
                              f"{host.where}: the pod fits only without room for the node's DaemonSet pods: {'; '.join(tight)}", SOURCES)


@check("ecs-first-pool-grows")
def ecs_first_pool_grows(plan: Plan) -> Iterator[Finding]:
    for policy in plan.kubernetes("ResourcePolicy"):
        units = [as_map(u) for u in as_list(get(policy.inputs, "spec", "units"))]
        for i, unit in enumerate(units):
            if unit.get("resource") != "ecs":
                continue
            growing = [p for p in pools_for(plan, as_map(unit.get("nodeSelector"))) if get(p.inputs, "scalingConfig", "enable") is True]
            if not growing:
                continue
            if "max" in unit:
                yield Finding("ecs-first-pool-grows", "warning", policy.describe(),
                              f"spec.units[{i}] holds an auto-scaling node pool and sets max: ACK warns this may make the pool "
                              "create nodes no pod uses; leave max unset on such a unit", PRIORITY_SOURCE)
            if i == len(units) - 1:
                continue
            when = as_map(get(policy.inputs, "spec", "whenTryNextUnits"))
            waits = as_map(unit.get("podLabels")).get(WAIT_FOR_ECS) == "true"
            if when.get("policy") == WAIT_POLICY and waits:
                continue
            problem = (f"whenTryNextUnits.policy is {when.get('policy') or 'unset (LackResourceOrExceedMax)'}, not {WAIT_POLICY}"
                       if when.get("policy") != WAIT_POLICY else f"the unit's podLabels lack {WAIT_FOR_ECS}: \"true\"")
            pool = growing[0].inputs.get("nodePoolName", growing[0].name)
            yield Finding("ecs-first-pool-grows", "error", policy.describe(),
                          f"spec.units[{i}] is the auto-scaling pool {pool}, but {problem}: pods go to the next unit as soon as the "
                          "existing nodes are full, none stays pending, and the autoscaler never adds a node; give the unit "
                          f"podLabels {{{WAIT_FOR_ECS}: \"true\"}} and set whenTryNextUnits {{policy: {WAIT_POLICY}, timeout}}",
                          PRIORITY_SOURCE)
