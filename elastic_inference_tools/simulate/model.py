"""The second-by-second model of one service: metric pipeline, HPA, capacity, serving and cost."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

from .hpa import HpaController, HpaSpec


@dataclass(frozen=True)
class Unit:
    """Where replicas go, in order: the ECS node pool, or ECI (with an optional cap, and spot)."""

    kind: str  # "ecs" | "eci"
    max: Optional[int] = None
    spot: bool = False
    wait: Optional[int] = None
    """ECS unit of ecs-then-eci: seconds a pod waits for the pool to add a Ready node before it
    goes to the next unit (the ResourcePolicy's whenTryNextUnits.timeout with the unit's
    wait-for-ECS label). None: it goes to the next unit as soon as the nodes are full."""


@dataclass(frozen=True)
class Pool:
    min_size: int
    max_size: int
    can_grow: bool
    """Whether the cluster autoscaler adds nodes for pending pods (a pool with auto scaling)."""
    node_price_on_demand: float
    node_price_spot: float
    on_demand_base: int
    on_demand_percentage: int
    spot: bool


@dataclass(frozen=True)
class LlmServing:
    """An LLM server (vLLM): each replica runs ``concurrency`` sequences at once, each holding its slot ``request_seconds``;
    what arrives beyond that waits in the server's queue (``vllm:num_requests_waiting``) and is turned away once it has
    waited ``client_timeout`` (the client gives up). By Little's law a replica completes concurrency / request_seconds
    requests per second, and runs served x request_seconds sequences."""

    concurrency: int
    request_seconds: float
    client_timeout: int
    kv_cache_usage_at_concurrency: float
    """KV-cache use (0-1) of a replica whose running sequences fill its concurrency; it grows with them."""
    scrape_interval: int
    """The metric the HPA reads is the gauge of the last scrape (the PodMonitor's interval)."""
    metrics: Mapping[str, str] = field(default_factory=dict)
    """Pods metric name -> what it measures: ``queue`` (waiting requests per pod) or ``kv-cache``."""

    @property
    def replica_qps(self) -> float:
        return self.concurrency / self.request_seconds


@dataclass(frozen=True)
class ServiceModel:
    name: str
    hpa: Optional[HpaSpec]
    """None: autoscaling disabled, a fixed ``fixed_replicas``."""
    fixed_replicas: int
    units: tuple[Unit, ...]
    pool: Optional[Pool]
    replica_capacity_qps: float
    eci_price_on_demand: float
    eci_price_spot: float
    # delays (seconds)
    query_interval: int = 15
    query_delay: int = 10
    sync_period: int = 15
    model_load: int = 30
    node_scale_out: int = 180
    ecs_pod_start: int = 60
    pods_per_node: int = 1
    node_scale_in: int = 600
    eci_pod_start: int = 40
    cpu_percent_at_capacity: float = 100.0
    """CPU utilization (percent of the request) of a replica serving its capacity; it scales with load."""
    eci_uncached_pod_start: Optional[int] = None
    """ECI pod start while no image cache of the pod's images is ready (it pulls them): None, a cache was built
    ahead (the service's ImageCache); otherwise it applies until ``eci_auto_cache_ready`` seconds after the
    first ECI pod, when the cache ECI builds with that pod is ready (eci-auto-imc)."""
    eci_auto_cache_ready: int = 0
    schedule: tuple[tuple[str, str, int], ...] = ()
    """``(name, schedule, targetSize)`` of the CronHPA jobs against the service's HPA (scheduled floors)."""
    floor_events: tuple[tuple[int, int], ...] = ()
    """``(second, floor)`` of those jobs firing during the run, in order (``build.floor_events``; empty: not applied)."""
    llm: Optional[LlmServing] = None
    """An LLM server: requests queue instead of being turned away at once (None: a replica serves
    ``replica_capacity_qps`` and the rest is turned away)."""


@dataclass
class Timeline:
    t: list[int] = field(default_factory=list)
    qps: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    desired_replicas: list[int] = field(default_factory=list)
    ready_replicas: list[int] = field(default_factory=list)
    capacity_qps: list[float] = field(default_factory=list)
    served_qps: list[float] = field(default_factory=list)
    dropped_qps: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    # Where the ready replicas run and what each kind of capacity costs (they add up to the columns above).
    ready_replicas_ecs: list[int] = field(default_factory=list)
    ready_replicas_eci: list[int] = field(default_factory=list)
    ecs_nodes: list[int] = field(default_factory=list)
    """Nodes of the pool, billed from when the autoscaler starts them (empty or Ready or not)."""
    cost_ecs_nodes: list[float] = field(default_factory=list)
    cost_eci_pods: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    """An LLM server's queued requests (all replicas); 0 otherwise."""
    kv_cache_usage: list[float] = field(default_factory=list)
    """An LLM server's mean KV-cache use per ready replica (0-1); 0 otherwise."""

    COLUMNS = ("t", "qps", "metric", "desired_replicas", "ready_replicas", "capacity_qps", "served_qps", "dropped_qps", "cost",
               "ready_replicas_ecs", "ready_replicas_eci", "ecs_nodes", "cost_ecs_nodes", "cost_eci_pods", "waiting", "kv_cache_usage")


@dataclass
class _Pod:
    id: int
    unit: int
    created: int
    ready_at: Optional[int]
    node: Optional["_Node"] = None


@dataclass
class _Node:
    ready_at: int
    pods: int = 0
    empty_since: Optional[int] = 0


class Simulation:
    """State of one service over time. ``run`` drives it second by second."""

    def __init__(self, model: ServiceModel, initial_qps: float):
        self.m = model
        self.hpa = HpaController(model.hpa) if model.hpa else None
        self.pods: list[_Pod] = []
        self.nodes: list[_Node] = []
        self.ready = 0
        self.ready_by_kind = {"ecs": 0, "eci": 0}
        self._heap: list[tuple[int, int]] = []
        self._next_id = 0
        if model.pool is not None:
            self.nodes = [_Node(ready_at=0) for _ in range(model.pool.min_size)]
        start = model.hpa.min_replicas if model.hpa else model.fixed_replicas
        if model.hpa and initial_qps > 0:
            # Steady at the trace's first level: what the QPS target asks for, or (scaled on the server's own metrics) what
            # serves it, filled to the KV-cache target.
            if model.hpa.target_milli:
                wanted = math.ceil(initial_qps * 1000 / model.hpa.target_milli)
            elif model.llm is not None:
                wanted = math.ceil(initial_qps / model.llm.replica_qps)
            else:
                wanted = start
            start = min(max(start, wanted), model.hpa.max_replicas)
        self.spec_replicas = start
        self._first_eci: Optional[int] = None
        self._add_pods(start, now=0, ready_now=True)

    # -- placement --------------------------------------------------------------------------

    def _count_ready(self, pod: _Pod, change: int) -> None:
        self.ready += change
        self.ready_by_kind[self.m.units[pod.unit].kind] += change

    def _unit_count(self, index: int) -> int:
        return sum(1 for p in self.pods if p.unit == index)

    def _ecs_slot(self, now: int) -> Optional[_Node]:
        """A node with room (the earliest ready first); or a new node if the pool may grow; else None."""
        pool = self.m.pool
        assert pool is not None
        free = [n for n in self.nodes if n.pods < self.m.pods_per_node]
        if free:
            return min(free, key=lambda n: n.ready_at)
        if pool.can_grow and len(self.nodes) < pool.max_size:
            node = _Node(ready_at=now + self.m.node_scale_out, empty_since=None)
            self.nodes.append(node)
            return node
        return None

    def _add_pods(self, count: int, now: int, ready_now: bool = False) -> None:
        for _ in range(count):
            pod = _Pod(self._next_id, unit=-1, created=now, ready_at=None)
            self._next_id += 1
            waited = 0  # seconds the pod spent pending in earlier units
            for index, unit in enumerate(self.m.units):
                if unit.kind == "ecs":
                    node = self._ecs_slot(now)
                    if node is None:
                        continue
                    if unit.wait is not None and node.ready_at - now > unit.wait and not ready_now:
                        # ACK: a pod whose node is not Ready by the timeout goes to the next unit; the
                        # node the autoscaler started still comes up (empty, until the next pod or scale-in).
                        if node.pods == 0 and node.empty_since is None:
                            node.empty_since = node.ready_at
                        waited = unit.wait
                        continue
                    node.pods += 1
                    node.empty_since = None
                    pod.node, pod.unit = node, index
                    pod.ready_at = now if ready_now else max(now, node.ready_at) + self.m.ecs_pod_start + self.m.model_load
                    break
                if unit.max is None or self._unit_count(index) < unit.max:
                    pod.unit = index
                    pod.ready_at = now if ready_now else now + waited + self._eci_start(now) + self.m.model_load
                    break
            self.pods.append(pod)  # unplaced pods stay Pending (unit -1): they count in status.replicas
            if pod.ready_at is not None:
                if pod.ready_at <= now:
                    self._count_ready(pod, 1)
                else:
                    heapq.heappush(self._heap, (pod.ready_at, pod.id))

    def _eci_start(self, now: int) -> int:
        """Seconds from an ECI pod's creation to its container start: with the image cache, or pulling the image."""
        if self._first_eci is None:
            self._first_eci = now
        uncached = self.m.eci_uncached_pod_start
        if uncached is None or now >= self._first_eci + self.m.eci_auto_cache_ready:
            return self.m.eci_pod_start
        return uncached

    def _scheduled_floor(self, floor: int, now: int) -> bool:
        """A CronHPA job against the HPA fires (kubernetes-cronhpa-controller pkg/controller/cronjob.go ScaleHPA):
        maxReplicas up to ``floor`` if below it; minReplicas down to it if above it, or if the HPA sits at its
        minimum above it; minReplicas up to it, and the target scaled to it, when fewer replicas run. Whether
        the replicas changed."""
        assert self.hpa is not None
        spec, current = self.hpa.spec, self.spec_replicas
        low, high = spec.min_replicas, max(spec.max_replicas, floor)
        low = min(low, floor)
        if current == low and floor < current:
            low = floor
        if current < floor:
            low = floor
        self.hpa.spec = replace(spec, min_replicas=low, max_replicas=high)
        if current < floor:
            self._add_pods(floor - current, now)
            self.spec_replicas = floor
            return True
        return False

    def _remove_pods(self, count: int, now: int) -> None:
        """A ReplicaSet deletes unscheduled, then not-ready pods first; a ResourcePolicy empties later units first."""

        def rank(p: _Pod) -> tuple[bool, bool, int, int]:
            placed = p.unit >= 0
            is_ready = p.ready_at is not None and p.ready_at <= now
            return (placed, is_ready, -p.unit, -p.created)

        victims = sorted(self.pods, key=rank)[:count]
        gone = {p.id for p in victims}
        for p in victims:
            if p.ready_at is not None and p.ready_at <= now:
                self._count_ready(p, -1)
            if p.node is not None:
                p.node.pods -= 1
                if p.node.pods == 0:
                    p.node.empty_since = now
        self.pods = [p for p in self.pods if p.id not in gone]
        self._place_pending(now)

    def _place_pending(self, now: int) -> None:
        pending = [p for p in self.pods if p.unit < 0]
        if pending:
            self.pods = [p for p in self.pods if p.unit >= 0]
            self._add_pods(len(pending), now)

    # -- cost -------------------------------------------------------------------------------

    def _node_rate(self) -> float:
        """Currency per hour of the pool's nodes: its on-demand base and percentage, the rest spot."""
        pool = self.m.pool
        if pool is None or not self.nodes:
            return 0.0
        n = len(self.nodes)
        base = min(n, pool.on_demand_base)
        on_demand = base + (math.ceil((n - base) * pool.on_demand_percentage / 100) if pool.spot else n - base)
        return on_demand * pool.node_price_on_demand + (n - on_demand) * pool.node_price_spot

    def _eci_prices(self) -> list[float]:
        """Currency per hour of each ECI pod."""
        units = self.m.units
        return [self.m.eci_price_spot if units[p.unit].spot else self.m.eci_price_on_demand
                for p in self.pods if p.unit >= 0 and units[p.unit].kind == "eci"]

    def cost_rate(self) -> float:
        """Currency per second at this moment."""
        rate = self._node_rate()
        for price in self._eci_prices():
            rate += price
        return rate / 3600.0

    def cost_rates_by_kind(self) -> tuple[float, float]:
        """Currency per second of the pool's nodes and of the ECI pods (together ``cost_rate``, up to rounding)."""
        eci = 0.0
        for price in self._eci_prices():
            eci += price
        return self._node_rate() / 3600.0, eci / 3600.0

    # -- the clock --------------------------------------------------------------------------

    def run(self, qps: Sequence[float], outages: Sequence[tuple[int, int]] = ()) -> Timeline:
        """Replay ``qps`` second by second; during each ``[start, end)`` of ``outages`` the QPS metric
        cannot be read (SLS or the metrics adapter down)."""
        m = self.m
        out = Timeline()
        prefix = [0.0]
        for value in qps:
            prefix.append(prefix[-1] + value)
        first = qps[0] if qps else 0.0

        def window_mean(end: int, length: int) -> float:
            # Mean QPS over [end - length, end); seconds before the trace are at its first value.
            start = end - length
            before = max(0, -start)
            start, end = max(0, start), max(0, min(end, len(qps)))
            total = prefix[end] - prefix[start] + before * first
            return total / length

        metric = window_mean(0, m.query_interval)
        llm = m.llm
        waiting = 0.0
        scraped: dict[str, float] = {}
        cost = cost_ecs = cost_eci = 0.0
        rate = self.cost_rate()
        rate_ecs, rate_eci = self.cost_rates_by_kind()
        floors = list(m.floor_events)
        for t, offered in enumerate(qps):
            changed = False
            while floors and floors[0][0] <= t:
                _, floor = floors.pop(0)
                if self.hpa is not None:
                    changed |= self._scheduled_floor(floor, t)
            while self._heap and self._heap[0][0] <= t:
                _, pod_id = heapq.heappop(self._heap)
                pod = next((p for p in self.pods if p.id == pod_id), None)
                if pod is not None:
                    self._count_ready(pod, 1)
            if self.hpa is not None and t % m.sync_period == 0 and t > 0:
                metric = window_mean(t - m.query_delay, m.query_interval)
                down = any(start <= t < end for start, end in outages)
                cpu = None
                if self.ready:
                    load = min(1.0, offered / (self.ready * m.replica_capacity_qps)) if m.replica_capacity_qps else 1.0
                    cpu = (self.ready, load * m.cpu_percent_at_capacity)
                desired = self.hpa.sync(t, self.spec_replicas, len(self.pods), None if down else int(round(metric * 1000)), cpu,
                                        None if down else scraped, self.ready)
                if desired > self.spec_replicas:
                    self._add_pods(desired - self.spec_replicas, t)
                    changed = True
                elif desired < self.spec_replicas:
                    self._remove_pods(self.spec_replicas - desired, t)
                    changed = True
                self.spec_replicas = desired
            if m.pool is not None and t % m.sync_period == 0:
                changed |= self._scale_in_nodes(t)
            if changed:
                rate = self.cost_rate()
                rate_ecs, rate_eci = self.cost_rates_by_kind()
            kv = 0.0
            if llm is not None:
                # The server's queue: arrivals join it, ready replicas take what their slots free, and requests that
                # have waited the client's timeout give up (a fluid model: the queue holds at most capacity x timeout).
                capacity = self.ready * llm.replica_qps
                served = min(waiting + offered, capacity)
                waiting = waiting + offered - served
                dropped = max(0.0, waiting - capacity * llm.client_timeout)
                waiting -= dropped
                running = min(served * llm.request_seconds, self.ready * llm.concurrency)
                kv = running / (self.ready * llm.concurrency) * llm.kv_cache_usage_at_concurrency if self.ready else 0.0
                if t % llm.scrape_interval == 0:
                    per_pod = {"queue": waiting / self.ready if self.ready else None, "kv-cache": kv if self.ready else None}
                    scraped = {name: v for name, kind in llm.metrics.items() if (v := per_pod.get(kind)) is not None}
            else:
                capacity = self.ready * m.replica_capacity_qps
                served = min(offered, capacity)
                dropped = offered - served
            cost += rate
            cost_ecs += rate_ecs
            cost_eci += rate_eci
            out.t.append(t)
            out.qps.append(offered)
            out.metric.append(metric)
            out.desired_replicas.append(self.spec_replicas)
            out.ready_replicas.append(self.ready)
            out.capacity_qps.append(capacity)
            out.served_qps.append(served)
            out.dropped_qps.append(dropped)
            out.cost.append(cost)
            out.ready_replicas_ecs.append(self.ready_by_kind["ecs"])
            out.ready_replicas_eci.append(self.ready_by_kind["eci"])
            out.ecs_nodes.append(len(self.nodes))
            out.cost_ecs_nodes.append(cost_ecs)
            out.cost_eci_pods.append(cost_eci)
            out.waiting.append(waiting)
            out.kv_cache_usage.append(kv)
        return out

    def _scale_in_nodes(self, now: int) -> bool:
        pool = self.m.pool
        assert pool is not None
        removable = [n for n in self.nodes if n.pods == 0 and n.empty_since is not None and now - n.empty_since >= self.m.node_scale_in]
        removed = False
        for node in removable:
            if len(self.nodes) <= pool.min_size:
                break
            self.nodes.remove(node)
            removed = True
        return removed


def simulate(model: ServiceModel, qps: Sequence[float], outages: Sequence[tuple[int, int]] = ()) -> Timeline:
    return Simulation(model, qps[0] if qps else 0.0).run(qps, outages)


def summarize(model: ServiceModel, timeline: Timeline, currency: str) -> dict[str, Any]:
    offered = sum(timeline.qps)
    served = sum(timeline.served_qps)
    dropped = offered - served
    episodes: list[dict[str, Optional[int]]] = []
    start: Optional[int] = None
    lost = 0.0
    for t, d in zip(timeline.t, timeline.dropped_qps, strict=True):
        if d > 1e-9 and start is None:
            start, lost = t, 0.0
        if start is not None:
            lost += d
            if d <= 1e-9:
                episodes.append({"start_seconds": start, "seconds_to_capacity": t - start, "requests_turned_away": round(lost)})
                start = None
    if start is not None:
        episodes.append({"start_seconds": start, "seconds_to_capacity": None, "requests_turned_away": round(lost)})
    seconds = len(timeline.t)
    replica_hours = sum(timeline.ready_replicas) / 3600.0
    total_cost = timeline.cost[-1] if timeline.cost else 0.0
    llm = None
    if model.llm is not None:
        # The queue's worst: requests waiting, and how long the last of them waits at the capacity of that second.
        waits = [w / c if c else (float(model.llm.client_timeout) if w else 0.0)
                 for w, c in zip(timeline.waiting, timeline.capacity_qps, strict=True)]
        llm = {"concurrency_per_replica": model.llm.concurrency, "request_seconds": model.llm.request_seconds,
               "client_timeout_seconds": model.llm.client_timeout,
               "kv_cache_usage_at_concurrency": model.llm.kv_cache_usage_at_concurrency,
               "max_waiting": round(max(timeline.waiting, default=0.0), 1),
               "max_queue_wait_seconds": round(max(waits, default=0.0), 1)}
    return {
        "service": model.name,
        "seconds": seconds,
        **({"llm": llm} if llm is not None else {}),
        "requests": round(offered),
        "requests_served": round(served),
        "requests_turned_away": round(dropped),
        "served_fraction": round(served / offered, 6) if offered else 1.0,
        "rises": episodes,
        "max_seconds_to_capacity": max((e["seconds_to_capacity"] or seconds for e in episodes), default=0),
        "replicas": {"min": min(timeline.desired_replicas), "max": max(timeline.desired_replicas)},
        "ready_replica_hours": round(replica_hours, 3),
        "cost": round(total_cost, 2),
        "currency": currency,
        "cost_per_hour": round(total_cost / (seconds / 3600.0), 3) if seconds else 0.0,
        "cost_per_million_requests": round(total_cost / (served / 1e6), 3) if served else None,
        "by_capacity": {
            "ecs": {"ready_replica_hours": round(sum(timeline.ready_replicas_ecs) / 3600.0, 3),
                    "max_ready_replicas": max(timeline.ready_replicas_ecs, default=0),
                    "cost": round(timeline.cost_ecs_nodes[-1] if timeline.cost_ecs_nodes else 0.0, 2),
                    "max_nodes": max(timeline.ecs_nodes, default=0)},
            "eci": {"ready_replica_hours": round(sum(timeline.ready_replicas_eci) / 3600.0, 3),
                    "max_ready_replicas": max(timeline.ready_replicas_eci, default=0),
                    "cost": round(timeline.cost_eci_pods[-1] if timeline.cost_eci_pods else 0.0, 2)},
        },
    }


def price_of(prices: Mapping[str, Any], instance_type: str) -> Mapping[str, float]:
    try:
        found: Mapping[str, float] = prices["instance_types"][instance_type]
    except KeyError:
        raise LookupError(f"no price for {instance_type} in the prices file: add it under instance_types") from None
    return found
