"""From a stack to a :class:`~simulate.model.ServiceModel`: what its program declares, prices and assumptions.

The simulator reads the plan the render builds, as the cluster would read the
objects, so it serves any program built on the components and re-validates
nothing the program already did.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Sequence, TypeVar

import yaml

from ..components import INFERENCE_SERVICE_TYPE as SERVICE_TYPE
from ..components import RUNTIMES, SIGNALS, PrometheusSignal, cron_fields, date_of, fires
from ..render import RenderError, render_stack
from ..render.preflight import Plan, Resource, as_list, as_map, get
from ..render.preflight import check_plan
from ..render.preflight.storage import mount_client, oss_volumes_of
from ..render.preflight.capacity import ECI_LABEL, ECI_SPOT_STRATEGY, WAIT_FOR_ECS, WAIT_POLICY, governing_policy, pools_for, specs
from ..render.preflight.llm import is_vllm_server, vllm_flags
from ..render.preflight.pods import GPU, PodTemplate, pod_templates
from ..render.preflight.runtimes import runtime_of_kind
from .hpa import HpaSpec
from .model import LlmServing, Pool, ServiceModel, Unit, price_of

#: Go's time.ParseDuration units, in seconds (a ResourcePolicy's timeout is a metav1.Duration).
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ASSUMPTIONS = os.path.join(HERE, "assumptions.yaml")
DEFAULT_PRICES = os.path.join(HERE, "prices.yaml")


class SimulationInputError(ValueError):
    """A stack, service, trace, prices or assumptions file that cannot be simulated."""


class PreflightRefusedError(SimulationInputError):
    """A stack the render's preflight refuses: what it would hit in a real deployment (``lines``)."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


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
    plan = Plan(rendered.plan["resources"], rendered.outputs, program_dir)
    # What the render would refuse is not simulated: its figures would describe a stack that does not work.
    errors = [f.line() for f in check_plan(plan) if f.level == "error"]
    if errors:
        raise PreflightRefusedError([f"{stack}: the render's preflight refuses this stack; fix it first:", *errors])
    return plan


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
    if len(templates) != 1:
        raise SimulationInputError(f"--service {name}: the service declares {len(templates)} pod templates; the simulator "
                                   "models a service of one workload with one pod template")
    template = templates[0]
    workload = template.owner
    rendered = _hpa(plan, workload)
    try:
        hpa = HpaSpec.from_manifest(rendered) if rendered is not None else None
    except (KeyError, TypeError, ValueError):
        raise SimulationInputError(f"--service {name}: its HPA does not scale on one External metric (the ingress QPS) or on Pods "
                                   "metrics, with AverageValue targets: the simulator models that scaling only") from None

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
    replicas = _int(get(workload.inputs, "spec", "replicas"), 1, f"--service {name}: its workload's spec.replicas")
    # ossfs 2.0's faster load is credited only where it is documented: not to pods that may run on ECI, which mounts OSS
    # itself (the preflight's ossfs2-requirements warns there).
    ossfs2 = any(mount_client(pv) == "ossfs2" for pv in oss_volumes_of(plan, template).values())
    cached = _image_cached(plan, template)
    llm = _llm(template, hpa, assumed)
    if hpa is not None and hpa.target_milli is None and llm is None:
        raise SimulationInputError(f"--service {name}: its HPA scales on pod metrics of a server the simulator does not model "
                                   "(it models vLLM's queue and KV-cache use)")
    if llm is not None and capacity is None:
        capacity = llm.replica_qps
    model = ServiceModel(
        name=name,
        hpa=hpa,
        fixed_replicas=replicas,
        units=tuple(units),
        pool=pool,
        replica_capacity_qps=float(capacity) if capacity is not None else 1.5 * _target_qps(hpa),
        eci_price_on_demand=eci_on_demand,
        eci_price_spot=eci_spot,
        query_interval=_adapter_label(rendered, "sls.query.interval", assumed["metric"]["query_interval_seconds"]),
        query_delay=_adapter_label(rendered, "sls.query.delay", assumed["metric"]["query_delay_seconds"]),
        sync_period=int(assumed["hpa"]["sync_period_seconds"]),
        # ossfs 2.0 reads the model faster (ACK's ossfs 2.0 overview); both figures are assumptions.
        model_load=int(assumed["serving"]["model_load_seconds_ossfs2" if ossfs2 and not any(u.kind == "eci" for u in units) else "model_load_seconds"]),
        node_scale_out=int(assumed["ecs"]["node_scale_out_seconds"]),
        ecs_pod_start=int(assumed["ecs"]["pod_start_seconds"]),
        # pods_per_node counts one-GPU (or CPU) pods: a pod with N GPUs takes N of those slots.
        pods_per_node=max(1, int(assumed["ecs"]["pods_per_node"]) // max(1, int(requests.get(GPU, 0)))),
        node_scale_in=int(assumed["ecs"]["node_scale_in_seconds"]),
        eci_pod_start=int(assumed["eci"]["pod_start_seconds"]),
        eci_uncached_pod_start=None if cached else int(assumed["eci"]["uncached_pod_start_seconds"]),
        eci_auto_cache_ready=int(assumed["eci"]["auto_cache_ready_seconds"]),
        schedule=_schedule(plan, rendered, workload),
        cpu_percent_at_capacity=float(assumed["serving"]["cpu_percent_at_capacity"]),
        llm=llm,
    )
    if llm is not None:
        model = replace(model, model_load=int(assumed["llm"]["model_load_seconds"]))
    return model


def _llm(template: PodTemplate, hpa: Optional[HpaSpec], assumed: Mapping[str, Any]) -> Optional[LlmServing]:
    """A vLLM server's serving model (``vllm serve`` in the pod), or None. Its concurrency is the assumption, bounded by
    ``--max-num-seqs`` when the stack sets it; the HPA's Pods metrics are mapped to what they measure by the runtime's
    series (``Runtime.prometheus_metrics``) and the signals' metric names."""
    server = next((c for c in template.containers if is_vllm_server(c)), None)
    if server is None:
        return None
    limit = vllm_flags(server)[1].get("--max-num-seqs")
    a = assumed["llm"]
    concurrency = int(a["concurrency_per_replica"])
    if limit is not None and limit.isdigit():
        concurrency = min(concurrency, int(limit))
    series = RUNTIMES["vllm"].prometheus_metrics
    kinds = {sig.metric_name(series[name]): name for name, sig in SIGNALS.items()
             if isinstance(sig, PrometheusSignal) and name in series}
    unknown = [n for n, _ in (hpa.pods_targets if hpa else ()) if n not in kinds]
    if unknown:
        raise SimulationInputError(f"its HPA scales on the pod metric {unknown[0][:63]}, which the simulator does not model")
    return LlmServing(concurrency=concurrency, request_seconds=float(a["request_seconds"]), client_timeout=int(a["client_timeout_seconds"]),
                      kv_cache_usage_at_concurrency=float(a["kv_cache_usage_at_concurrency"]),
                      scrape_interval=int(a["scrape_interval_seconds"]), metrics=kinds)


def _target_qps(hpa: Optional[HpaSpec]) -> float:
    return hpa.target_milli / 1000 if hpa is not None and hpa.target_milli is not None else 0.0


def _image_cached(plan: Plan, template: PodTemplate) -> bool:
    """Whether an ImageCache of the plan holds every image of the pod (ECI matches a cache by the image references)."""
    images = {str(c.get("image")) for c in template.containers if c.get("image")}
    return any(images and images <= {str(i) for i in as_list(get(cache.inputs, "spec", "images"))} for cache in plan.kubernetes("ImageCache"))


def _schedule(plan: Plan, hpa: Optional[Mapping[str, Any]], workload: Resource) -> tuple[tuple[str, str, int], ...]:
    """``(name, schedule, targetSize)`` of the CronHPA jobs aimed at the service's HPA."""
    if hpa is None:
        return ()
    hpa_name = str(get(hpa, "metadata", "name"))
    jobs: list[tuple[str, str, int]] = []
    for cron in plan.kubernetes("CronHorizontalPodAutoscaler"):
        ref = as_map(get(cron.inputs, "spec", "scaleTargetRef"))
        if (cron.namespace or "default") != (workload.namespace or "default") or ref.get("kind") != "HorizontalPodAutoscaler" \
                or ref.get("name") != hpa_name:
            continue
        for job in map(as_map, as_list(get(cron.inputs, "spec", "jobs"))):
            size = job.get("targetSize")
            if isinstance(size, int) and isinstance(job.get("schedule"), str):
                jobs.append((str(job.get("name")), str(job["schedule"]), size))
    return tuple(jobs)


def floor_events(jobs: Sequence[tuple[str, str, int]], start: datetime, seconds: int) -> tuple[tuple[int, int], ...]:
    """``(second, floor)`` of ``jobs`` firing in the ``seconds`` from wall-clock ``start`` (the controller's time zone)."""
    specs: list[tuple[int, Optional[tuple[frozenset[int], ...]], Optional[datetime]]] = []
    for name, schedule, size in jobs:
        text = " ".join(schedule.split())
        try:
            once = date_of(text)
        except ValueError as exc:
            raise SimulationInputError(f"the schedule entry {name[:63]}: {exc}") from None
        if once is not None:
            specs.append((size, None, once))
            continue
        if text.startswith("@every "):
            raise SimulationInputError(f"the schedule entry {name[:63]} is '@every ...', which runs from the controller's own start: "
                                       "the simulator cannot place it in time")
        try:
            specs.append((size, cron_fields(text), None))
        except ValueError as exc:
            raise SimulationInputError(f"the schedule entry {name[:63]}: {exc}") from None
    events = []
    for t in range(seconds):
        now = start + timedelta(seconds=t)
        for size, fields, once in specs:
            if (fields is not None and fires(fields, now)) or (once is not None and now == once):
                events.append((t, size))
    return tuple(events)


def _hpa(plan: Plan, workload: Resource) -> Optional[Mapping[str, Any]]:
    """The autoscaling/v2 HPA whose scaleTargetRef is ``workload``, or the one its runtime's operator makes from it."""
    for hpa in plan.kubernetes("HorizontalPodAutoscaler"):
        ref = as_map(get(hpa.inputs, "spec", "scaleTargetRef"))
        same_namespace = (hpa.namespace or "default") == (workload.namespace or "default")
        if same_namespace and ref.get("kind") == workload.kind and ref.get("name") == workload.k8s_name:
            return hpa.inputs
    runtime = runtime_of_kind(plan, workload.kind)
    if runtime is None:
        return None
    return runtime.rendered_hpa([r.inputs for r in plan.kubernetes()], workload.k8s_name, workload.namespace)


def _capacity(plan: Plan, template: PodTemplate, name: str, prices: Mapping[str, Any]) -> tuple[list[Unit], Optional[Pool], tuple[str, ...]]:
    """Where the pods go in fill order, the node pool of the ECS unit, and the first ECI unit's specs.

    The model has one node pool: a placement whose ECS capacity is not exactly
    one NodePool of the stack (none, several, or two ECS units) is refused
    rather than modelled on a pool it does not use.
    """
    units: list[Unit] = []
    pools: list[Resource] = []
    eci_types: tuple[str, ...] = ()
    policy = governing_policy(plan, template)
    if policy is not None:
        when = as_map(get(policy.inputs, "spec", "whenTryNextUnits"))
        for i, unit in enumerate(map(as_map, as_list(get(policy.inputs, "spec", "units")))):
            where = f"--service {name}: its ResourcePolicy's spec.units[{i}]"
            most = _int(unit.get("max"), None, f"{where}.max")
            if unit.get("resource") == "eci":
                annotations = {**template.annotations, **as_map(unit.get("podAnnotations"))}
                units.append(Unit("eci", max=most, spot=_eci_spot(annotations)))
                eci_types = eci_types or specs(as_map(unit.get("podAnnotations")), template.annotations)
            elif unit.get("resource") == "ecs":
                waits = as_map(unit.get("podLabels")).get(WAIT_FOR_ECS) == "true" and when.get("policy") == WAIT_POLICY
                wait = _seconds(when.get("timeout"), f"--service {name}: its ResourcePolicy's whenTryNextUnits.timeout") if waits else None
                units.append(Unit("ecs", max=most, wait=wait))
                pools.append(_one_pool(plan, as_map(unit.get("nodeSelector")), where))
            else:
                raise SimulationInputError(f"{where}: resource {str(unit.get('resource'))[:20]!r}: the simulator models ecs and eci units")
    elif template.labels.get(ECI_LABEL) == "true":
        units.append(Unit("eci", spot=_eci_spot(template.annotations)))
        eci_types = specs(template.annotations)
    else:
        selector = as_map(template.spec.get("nodeSelector"))
        if not selector:
            raise SimulationInputError(f"--service {name}: its pods select no node pool and no ECI (no ResourcePolicy, no "
                                       f"{ECI_LABEL} label, no nodeSelector): the simulator cannot tell where they run")
        pools.append(_one_pool(plan, selector, f"--service {name}: its pods' nodeSelector"))
        units.append(Unit("ecs"))
    if len(pools) > 1:
        raise SimulationInputError(f"--service {name}: its ResourcePolicy has {len(pools)} ECS units; the simulator models one node pool")
    return units, _pool(pools[0], prices) if pools else None, eci_types


def _one_pool(plan: Plan, selector: Mapping[str, Any], where: str) -> Resource:
    found = pools_for(plan, selector)
    if len(found) != 1:
        raise SimulationInputError(f"{where} matches {len(found)} NodePools of the stack by their labels; the simulator models "
                                   "pods on exactly one")
    return found[0]


def _pool(pool: Resource, prices: Mapping[str, Any]) -> Pool:
    """The node pool as its ``alicloud.cs.NodePool`` declares it (the inputs the plan records)."""
    inputs = pool.inputs
    where = f"node pool {str(inputs.get('nodePoolName', pool.name))[:63]}"
    scaling = as_map(inputs.get("scalingConfig"))
    grows = scaling.get("enable") is True
    # desired_size, or the deprecated node_count (terraform-provider-alicloud resource_alicloud_cs_kubernetes_node_pool.go).
    fixed = _int(inputs.get("desiredSize", inputs.get("nodeCount")), 0, f"{where}: desiredSize")
    types = as_list(inputs.get("instanceTypes"))
    if not types or not isinstance(types[0], str):
        raise SimulationInputError(f"{where}: no instanceTypes in the plan to price it by")
    price = price_of(prices, types[0])
    spot = inputs.get("spotStrategy") not in (None, "NoSpot")
    return Pool(
        min_size=_int(scaling.get("minSize"), 0, f"{where}: scalingConfig.minSize") if grows else fixed,
        max_size=_int(scaling.get("maxSize"), 0, f"{where}: scalingConfig.maxSize") if grows else fixed,
        can_grow=grows,
        node_price_on_demand=float(price["on_demand"]), node_price_spot=float(price["spot"]),
        on_demand_base=_int(inputs.get("onDemandBaseCapacity"), 0, f"{where}: onDemandBaseCapacity"),
        # Unset on a spot pool: taken as all spot above the base (an estimate: the plan does not say).
        on_demand_percentage=_int(inputs.get("onDemandPercentageAboveBaseCapacity"), 0 if spot else 100,
                                  f"{where}: onDemandPercentageAboveBaseCapacity"),
        spot=spot,
    )


def _eci_spot(annotations: Mapping[str, Any]) -> bool:
    """Whether ECI creates the pod as a preemptible instance (``k8s.aliyun.com/eci-spot-strategy``)."""
    return annotations.get(ECI_SPOT_STRATEGY) in ("SpotAsPriceGo", "SpotWithPriceLimit")


D = TypeVar("D", int, None)


def _int(value: Any, default: D, what: str) -> int | D:
    """A count the provider takes as a number or a numeric string; ``default`` when unset; refused otherwise
    (``"[unknown]"``: a value only the cloud knows cannot be simulated)."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise SimulationInputError(f"{what}: {str(value)[:20]!r} is not a whole number the simulator can use")


def _seconds(duration: Any, what: str) -> int:
    """A Go duration ("300s", "2m30s", "1.5m", "500ms"), as a ResourcePolicy's timeout takes it, in whole seconds (rounded up)."""
    text = duration if isinstance(duration, str) else ""
    if not text or _DURATION.sub("", text) != "":
        raise SimulationInputError(f"{what}: {str(duration)[:20]!r} is not a duration such as 300s or 5m (and the pool wait "
                                   "needs one)")
    return math.ceil(sum(float(amount) * _DURATION_UNITS[unit] for amount, unit in _DURATION.findall(text)))


def _adapter_label(hpa: Optional[Mapping[str, Any]], key: str, default: Any) -> int:
    """An ``sls.query.*`` label of the HPA's metric selector, or the assumed default."""
    for metric in as_list(get(hpa or {}, "spec", "metrics")):
        labels = as_map(get(metric, "external", "metric", "selector", "matchLabels"))
        if key in labels:
            return int(labels[key])
    return int(default)
