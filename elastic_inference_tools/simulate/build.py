"""From a stack to a :class:`~simulate.model.ServiceModel`: what its program declares, prices and assumptions.

The simulator reads the plan the render builds, as the cluster would read the
objects, so it serves any program built on the components and re-validates
nothing the program already did.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping, Optional

import yaml

from ..render import RenderError, render_stack
from ..render.preflight import Plan, Resource, as_list, as_map, get
from ..render.preflight.capacity import ECI_LABEL, ECI_SPOT_STRATEGY, WAIT_FOR_ECS, WAIT_POLICY, governing_policy, pools_for, specs
from ..render.preflight.pods import GPU, PodTemplate, pod_templates
from ..render.preflight.runtimes import runtime_of_kind
from .hpa import HpaSpec
from .model import Pool, ServiceModel, Unit, price_of

#: The component whose name is the simulated service (``ModelEndpoint`` makes one of the same name).
SERVICE_TYPE = "elastic-inference:serving:InferenceService"
_DURATION = re.compile(r"(\d+h)?(\d+m)?(\d+s)?")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ASSUMPTIONS = os.path.join(HERE, "assumptions.yaml")
DEFAULT_PRICES = os.path.join(HERE, "prices.yaml")


class SimulationInputError(ValueError):
    """A stack, service, trace, prices or assumptions file that cannot be simulated."""


def load_yaml(path: str, what: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise SimulationInputError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SimulationInputError(f"{path}: the {what} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SimulationInputError(f"{path}: the {what} must be a mapping")
    return data


def assumptions(path: Optional[str]) -> dict[str, Any]:
    merged = load_yaml(DEFAULT_ASSUMPTIONS, "default assumptions")
    if path:
        for section, values in load_yaml(path, "assumptions file").items():
            if section not in merged or not isinstance(values, dict):
                raise SimulationInputError(f"{path}: unknown section {section!r}: sections are {', '.join(merged)}")
            unknown = set(values) - set(merged[section])
            if unknown:
                raise SimulationInputError(f"{path}: {section}.{sorted(unknown)[0]} is not an assumption: see {DEFAULT_ASSUMPTIONS}")
            merged[section].update(values)
    return merged



def rendered_stack(program_dir: str, stack: str) -> Plan:
    """What the stack's program declares, as the offline render runs it (any program built on the components)."""
    try:
        rendered = render_stack(program_dir, stack)
    except RenderError as exc:
        raise SimulationInputError("\n".join(exc.lines)) from None
    return Plan(rendered.plan["resources"], rendered.outputs)


def service_model(plan: Plan, name: str, prices: Mapping[str, Any], assumed: Mapping[str, Any]) -> ServiceModel:
    """Service ``name`` of ``plan`` (an ``InferenceService`` component, as ``ModelEndpoint`` makes one) as the simulator models it.

    Everything comes from what the program declares, read as the cluster would:
    the HPA that targets the service's workload (or the one its runtime's
    operator makes, ``Runtime.rendered_hpa``); where its pods go (the
    ResourcePolicy's units in order, or the ECI label, or the node pools its
    nodeSelector picks: the preflight's reading, ``render/preflight/capacity.py``);
    the node pool's size, scaling and spot settings; the pod's requests.
    """
    services = {r.name: r for r in plan.of_type(SERVICE_TYPE)}
    if name not in services:
        raise SimulationInputError(f"--service {name}: the stack has no such service (it has: {', '.join(sorted(services)) or 'none'})")
    templates = [t for t in pod_templates(plan) if t.owner.parent == services[name].urn]
    if not templates:
        raise SimulationInputError(f"--service {name}: the service declares no workload with a pod template")
    template = templates[0]
    workload = template.owner
    rendered = _hpa(plan, workload)
    try:
        hpa = HpaSpec.from_manifest(rendered) if rendered is not None else None
    except (KeyError, TypeError, ValueError):
        raise SimulationInputError(f"--service {name}: its HPA does not scale on one External metric with an AverageValue target "
                                   "(the ingress QPS): the simulator models that scaling only") from None

    requests = template.requests()
    units, pool, eci_types = _capacity(plan, template, name, prices)
    if eci_types:
        eci = price_of(prices, eci_types[0])
        eci_on_demand, eci_spot = float(eci["on_demand"]), float(eci["spot"])
    else:
        cores, gib = float(requests.get("cpu", 0)), float(requests.get("memory", 0)) / 2**30
        eci_on_demand = cores * float(prices["eci"]["vcpu_hour"]) + gib * float(prices["eci"]["gib_hour"])
        eci_spot = eci_on_demand * float(prices["eci"].get("spot_factor", 1.0))

    capacity = assumed["serving"]["replica_capacity_qps"]
    if capacity is None and hpa is None:
        raise SimulationInputError(f"--service {name}: it has no QPS autoscaling to size a replica from: "
                                   "give serving.replica_capacity_qps in an --assumptions file")
    replicas = get(workload.inputs, "spec", "replicas")
    return ServiceModel(
        name=name,
        hpa=hpa,
        fixed_replicas=replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1,
        units=tuple(units),
        pool=pool,
        replica_capacity_qps=float(capacity) if capacity is not None else 1.5 * _target_qps(hpa),
        eci_price_on_demand=eci_on_demand,
        eci_price_spot=eci_spot,
        query_interval=_adapter_label(rendered, "sls.query.interval", assumed["metric"]["query_interval_seconds"]),
        query_delay=_adapter_label(rendered, "sls.query.delay", assumed["metric"]["query_delay_seconds"]),
        sync_period=int(assumed["hpa"]["sync_period_seconds"]),
        model_load=int(assumed["serving"]["model_load_seconds"]),
        node_scale_out=int(assumed["ecs"]["node_scale_out_seconds"]),
        ecs_pod_start=int(assumed["ecs"]["pod_start_seconds"]),
        # pods_per_node counts one-GPU (or CPU) pods: a pod with N GPUs takes N of those slots.
        pods_per_node=max(1, int(assumed["ecs"]["pods_per_node"]) // max(1, int(requests.get(GPU, 0)))),
        node_scale_in=int(assumed["ecs"]["node_scale_in_seconds"]),
        eci_pod_start=int(assumed["eci"]["pod_start_seconds"]),
        cpu_percent_at_capacity=float(assumed["serving"]["cpu_percent_at_capacity"]),
    )


def _target_qps(hpa: Optional[HpaSpec]) -> float:
    return hpa.target_milli / 1000 if hpa is not None else 0.0


def _hpa(plan: Plan, workload: Resource) -> Optional[Mapping[str, Any]]:
    """The autoscaling/v2 HPA whose scaleTargetRef is ``workload``, or the one its runtime's operator makes from it."""
    for hpa in plan.kubernetes("HorizontalPodAutoscaler"):
        ref = as_map(get(hpa.inputs, "spec", "scaleTargetRef"))
        if hpa.namespace == workload.namespace and ref.get("kind") == workload.kind and ref.get("name") == workload.k8s_name:
            return hpa.inputs
    runtime = runtime_of_kind(plan, workload.kind)
    if runtime is None:
        return None
    return runtime.rendered_hpa([r.inputs for r in plan.kubernetes()], workload.k8s_name, workload.namespace)


def _capacity(plan: Plan, template: PodTemplate, name: str, prices: Mapping[str, Any]) -> tuple[list[Unit], Optional[Pool], tuple[str, ...]]:
    """Where the pods go in fill order, the node pool of the first ECS unit, and the first ECI unit's specs."""
    units: list[Unit] = []
    pools: list[Resource] = []
    eci_types: tuple[str, ...] = ()
    policy = governing_policy(plan, template)
    if policy is not None:
        when = as_map(get(policy.inputs, "spec", "whenTryNextUnits"))
        timeout = _seconds(when.get("timeout")) if when.get("policy") == WAIT_POLICY else None
        for unit in map(as_map, as_list(get(policy.inputs, "spec", "units"))):
            most = unit.get("max") if isinstance(unit.get("max"), int) else None
            if unit.get("resource") == "eci":
                annotations = {**template.annotations, **as_map(unit.get("podAnnotations"))}
                units.append(Unit("eci", max=most, spot=_eci_spot(annotations)))
                eci_types = eci_types or specs(as_map(unit.get("podAnnotations")), template.annotations)
            else:
                waits = as_map(unit.get("podLabels")).get(WAIT_FOR_ECS) == "true"
                units.append(Unit("ecs", max=most, wait=timeout if waits else None))
                pools += pools_for(plan, as_map(unit.get("nodeSelector")))
    elif template.labels.get(ECI_LABEL) == "true":
        units.append(Unit("eci", spot=_eci_spot(template.annotations)))
        eci_types = specs(template.annotations)
    else:
        selector = as_map(template.spec.get("nodeSelector"))
        pools += pools_for(plan, selector) if selector else []
        if pools:
            units.append(Unit("ecs"))
    if not units:
        raise SimulationInputError(f"--service {name}: its pods select no node pool of the stack and no ECI "
                                   "(no ResourcePolicy, no alibabacloud.com/eci label, no nodeSelector a NodePool's labels match)")
    if any(u.kind == "ecs" for u in units) and not pools:
        raise SimulationInputError(f"--service {name}: its placement uses a node pool, but no NodePool of the stack has the labels it selects")
    return units, _pool(pools[0], prices) if pools else None, eci_types


def _pool(pool: Resource, prices: Mapping[str, Any]) -> Pool:
    """The node pool as its ``alicloud.cs.NodePool`` declares it (the inputs the plan records)."""
    inputs = pool.inputs
    scaling = as_map(inputs.get("scalingConfig"))
    grows = scaling.get("enable") is True
    fixed = _int(inputs.get("desiredSize"), 0)
    types = as_list(inputs.get("instanceTypes"))
    if not types:
        raise SimulationInputError(f"node pool {inputs.get('nodePoolName', pool.name)}: no instanceTypes in the plan to price it by")
    price = price_of(prices, str(types[0]))
    spot = inputs.get("spotStrategy") not in (None, "NoSpot")
    return Pool(
        min_size=_int(scaling.get("minSize"), 0) if grows else fixed,
        max_size=_int(scaling.get("maxSize"), 0) if grows else fixed,
        can_grow=grows,
        node_price_on_demand=float(price["on_demand"]), node_price_spot=float(price["spot"]),
        on_demand_base=_int(inputs.get("onDemandBaseCapacity"), 0),
        # Unset on a spot pool: taken as all spot above the base (an estimate: the plan does not say).
        on_demand_percentage=_int(inputs.get("onDemandPercentageAboveBaseCapacity"), 0 if spot else 100),
        spot=spot,
    )


def _eci_spot(annotations: Mapping[str, Any]) -> bool:
    """Whether ECI creates the pod as a preemptible instance (``k8s.aliyun.com/eci-spot-strategy``)."""
    return annotations.get(ECI_SPOT_STRATEGY) in ("SpotAsPriceGo", "SpotWithPriceLimit")


def _int(value: Any, default: int) -> int:
    """A count the provider takes as a number or a numeric string."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return default


def _seconds(duration: Any) -> Optional[int]:
    """A Go duration as the ResourcePolicy takes it ("300s", "5m", "1h30m"), in whole seconds; None if unreadable."""
    if not isinstance(duration, str) or not duration or not _DURATION.fullmatch(duration):
        return None
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(amount) * units[unit] for amount, unit in re.findall(r"(\d+)([hms])", duration))


def _adapter_label(hpa: Optional[Mapping[str, Any]], key: str, default: Any) -> int:
    """An ``sls.query.*`` label of the HPA's metric selector, or the assumed default."""
    for metric in as_list(get(hpa or {}, "spec", "metrics")):
        labels = as_map(get(metric, "external", "metric", "selector", "matchLabels"))
        if key in labels:
            return int(labels[key])
    return int(default)
