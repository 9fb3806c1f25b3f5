"""From a stack to a :class:`~simulate.model.ServiceModel`: its config, its rendered HPA, prices and assumptions."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

import yaml

from components import runtime  # the program's own registry, as its config uses it

from .hpa import HpaSpec
from .model import Pool, ServiceModel, Unit, price_of

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


def rendered_stack(program_dir: str, stack: str) -> tuple[Any, list[dict[str, Any]]]:
    """The stack's validated settings and its Kubernetes objects, as the offline render builds them."""
    from render import RenderError, render_stack  # noqa: PLC0415 - the render's public entry point

    try:
        rendered = render_stack(program_dir, stack)
    except RenderError as exc:
        raise SimulationInputError("\n".join(exc.lines)) from None
    # The program has validated its settings in that run; the simulator reads them through the
    # same public loader (a program of this project: its config package).
    from config import from_raw  # noqa: PLC0415 - the program's own, imported by the run

    prefix = f"{rendered.stack.project}:"
    raw = {k[len(prefix):]: v for k, v in rendered.stack.values.items() if k.startswith(prefix)}
    settings = from_raw(raw, rendered.stack.values.get("alicloud:region"), program_dir)
    return settings, rendered.manifests


def service_model(settings: Any, objects: Sequence[Mapping[str, Any]], name: str, prices: Mapping[str, Any],
                  assumed: Mapping[str, Any]) -> ServiceModel:
    services = settings.services
    if name not in services:
        raise SimulationInputError(f"--service {name}: the stack has no such service (it has: {', '.join(sorted(services))})")
    svc = services[name]
    # The runtime and the placement mode say, each in its own module, where their scaling
    # and their capacity are (components/runtimes/, components/placements/).
    rendered = runtime(svc.runtime).rendered_hpa(objects, name, svc.namespace)
    hpas = [rendered] if rendered else []
    hpa = HpaSpec.from_manifest(hpas[0]) if hpas else None

    pool_cfg = settings.node_pool
    units: list[Unit] = []
    pool = None
    for unit in svc.placement.choice().capacity_units():
        if unit.resource == "ecs":
            if pool_cfg is None:
                raise SimulationInputError(f"--service {name}: its placement uses the node pool, but the stack has none")
            itype = pool_cfg.instance_types[0]
            price = price_of(prices, itype)
            pool = Pool(
                min_size=pool_cfg.min_size, max_size=pool_cfg.max_size, can_grow=True,
                node_price_on_demand=float(price["on_demand"]), node_price_spot=float(price["spot"]),
                on_demand_base=pool_cfg.on_demand_base_capacity, on_demand_percentage=pool_cfg.on_demand_percentage,
                spot=pool_cfg.spot_strategy != "NoSpot",
            )
        units.append(Unit(unit.resource, max=unit.max, spot=unit.spot, wait=unit.pool_wait_seconds))

    eci_types = svc.placement.eci_instance_types
    if eci_types:
        eci = price_of(prices, eci_types[0])
        eci_on_demand, eci_spot = float(eci["on_demand"]), float(eci["spot"])
    else:
        cpu, gib = _cpu(svc.resources.cpu), _gib(svc.resources.memory)
        eci_on_demand = cpu * float(prices["eci"]["vcpu_hour"]) + gib * float(prices["eci"]["gib_hour"])
        eci_spot = eci_on_demand * float(prices["eci"].get("spot_factor", 1.0))

    target = svc.autoscaling.target_qps_per_replica
    capacity = assumed["serving"]["replica_capacity_qps"]
    return ServiceModel(
        name=name,
        hpa=hpa,
        fixed_replicas=svc.autoscaling.min_replicas,
        units=tuple(units),
        pool=pool,
        replica_capacity_qps=float(capacity) if capacity is not None else 1.5 * target,
        eci_price_on_demand=eci_on_demand,
        eci_price_spot=eci_spot,
        query_interval=_adapter_label(hpas, "sls.query.interval", assumed["metric"]["query_interval_seconds"]),
        query_delay=_adapter_label(hpas, "sls.query.delay", assumed["metric"]["query_delay_seconds"]),
        sync_period=int(assumed["hpa"]["sync_period_seconds"]),
        model_load=int(assumed["serving"]["model_load_seconds"]),
        node_scale_out=int(assumed["ecs"]["node_scale_out_seconds"]),
        ecs_pod_start=int(assumed["ecs"]["pod_start_seconds"]),
        # pods_per_node counts one-GPU (or CPU) pods: a pod with N GPUs takes N of those slots.
        pods_per_node=max(1, int(assumed["ecs"]["pods_per_node"]) // max(1, svc.resources.gpu)),
        node_scale_in=int(assumed["ecs"]["node_scale_in_seconds"]),
        eci_pod_start=int(assumed["eci"]["pod_start_seconds"]),
        cpu_percent_at_capacity=float(assumed["serving"]["cpu_percent_at_capacity"]),
    )


def _adapter_label(hpas: list[Mapping[str, Any]], key: str, default: Any) -> int:
    """An ``sls.query.*`` label of the HPA's metric selector, or the assumed default."""
    for hpa in hpas[:1]:
        for metric in hpa["spec"]["metrics"]:
            labels = ((metric.get("external") or {}).get("metric") or {}).get("selector", {}).get("matchLabels", {})
            if key in labels:
                return int(labels[key])
    return int(default)


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _gib(quantity: str) -> float:
    units = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1, "Ti": 2**10, "K": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**30
