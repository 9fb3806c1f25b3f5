"""The HorizontalPodAutoscaler controller's algorithm, for one HPA with one External metric or Pods metrics.

A transcription of kube-controller-manager's podautoscaler
(``pkg/controller/podautoscaler/horizontal.go`` and ``replica_calculator.go``)
and of the API defaults (``pkg/apis/autoscaling/v2/defaults.go``):

- a sync every 15 s (``--horizontal-pod-autoscaler-sync-period``);
- an External metric with an ``AverageValue`` target: usage ratio =
  total / (target x status replicas); inside the tolerance
  (``--horizontal-pod-autoscaler-tolerance``, 0.1) nothing changes, otherwise
  desired = ceil(total / target) (``GetExternalPerPodMetricReplicas``); values
  are compared in milli-units, as the controller does;
- a Pods metric with an ``AverageValue`` target: usage ratio = the ready pods'
  mean / target, and outside the tolerance desired = ceil(ratio x ready pods)
  (``GetMetricReplicas`` over the pods that report it; pods not yet ready report
  nothing, and the controller's treatment of them is left out: an estimate that
  scales up a little later than it);
- current replicas above ``maxReplicas`` or below ``minReplicas`` are clamped
  first, without looking at the metric (``reconcileAutoscaler``);
- with ``behavior``: stabilization (``stabilizeRecommendationWithBehaviors``:
  the lowest recommendation of the scale-up window, the highest of the
  scale-down window, current replicas brought within them) then the rate
  policies (``convertDesiredReplicasWithBehaviorRate``: each policy's limit
  from the replicas at the start of its period, ``selectPolicy`` Max, Min or
  Disabled, then the min/max clamp); a rule the user leaves out takes the API
  default (scale up: 4 pods or 100 % per 15 s, Max, no window; scale down:
  100 % per 15 s, Max, the controller's 300 s window);
- without ``behavior`` (``normalizeDesiredReplicas``): the highest
  recommendation of the last 300 s
  (``--horizontal-pod-autoscaler-downscale-stabilization``) and a scale-up
  limit of max(2 x current, 4) per sync.

Time is whole seconds; "within a window" means strictly newer than
now - window, as the controller's ``timestamp.After(cutoff)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

SYNC_PERIOD = 15
TOLERANCE = 0.1
DOWNSCALE_STABILIZATION = 300


@dataclass(frozen=True)
class Policy:
    type: str  # "Pods" | "Percent"
    value: int
    period: int


@dataclass(frozen=True)
class Rules:
    stabilization: int
    select: str  # "Max" | "Min" | "Disabled"
    policies: tuple[Policy, ...]


DEFAULT_SCALE_UP = Rules(0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
DEFAULT_SCALE_DOWN = Rules(DOWNSCALE_STABILIZATION, "Max", (Policy("Percent", 100, 15),))


@dataclass(frozen=True)
class HpaSpec:
    min_replicas: int
    max_replicas: int
    target_milli: Optional[int]
    """The External metric's ``AverageValue`` target per replica, in milli-units; None: no External metric."""
    scale_up: Optional[Rules] = None
    scale_down: Optional[Rules] = None
    """Both None: the HPA has no ``behavior``."""
    tolerance: float = TOLERANCE
    cpu_target_percent: Optional[int] = None
    """A second metric, Resource cpu Utilization (percent of the request), or None."""
    pods_targets: tuple[tuple[str, int], ...] = ()
    """Pods metrics: ``(metric name, AverageValue target in milli-units)`` (a model server's queue, its KV-cache use)."""

    @property
    def has_behavior(self) -> bool:
        return self.scale_up is not None

    @staticmethod
    def from_manifest(hpa: Mapping[str, Any]) -> "HpaSpec":
        """The spec of an ``autoscaling/v2`` HorizontalPodAutoscaler manifest (one External AverageValue metric)."""
        spec = hpa["spec"]
        external = [m for m in spec["metrics"] if m["type"] == "External"]
        pods = [m for m in spec["metrics"] if m["type"] == "Pods"]
        if len(external) > 1 or (not external and not pods):
            raise ValueError("the simulator models one External metric, or Pods metrics")
        targets = [m["external"]["target"] for m in external] + [m["pods"]["target"] for m in pods]
        if any(t.get("type") != "AverageValue" for t in targets):
            raise ValueError("the simulator models AverageValue targets")
        behavior = spec.get("behavior")
        up = down = None
        if behavior is not None:
            up = _rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP)
            down = _rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN)
        cpu = [m["resource"]["target"]["averageUtilization"] for m in spec["metrics"]
               if m["type"] == "Resource" and m["resource"]["name"] == "cpu" and m["resource"]["target"]["type"] == "Utilization"]
        return HpaSpec(
            min_replicas=int(spec.get("minReplicas", 1)),
            max_replicas=int(spec["maxReplicas"]),
            target_milli=milli(external[0]["external"]["target"]["averageValue"]) if external else None,
            pods_targets=tuple((str(m["pods"]["metric"]["name"]), milli(m["pods"]["target"]["averageValue"])) for m in pods),
            scale_up=up,
            scale_down=down,
            cpu_target_percent=int(cpu[0]) if cpu else None,
        )


def _rules(raw: Optional[Mapping[str, Any]], default: Rules) -> Rules:
    if raw is None:
        return default
    window = raw.get("stabilizationWindowSeconds")
    policies = raw.get("policies")
    return Rules(
        stabilization=default.stabilization if window is None else int(window),
        select=raw.get("selectPolicy") or default.select,
        policies=default.policies if policies is None else tuple(Policy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in policies),
    )


def milli(quantity: Any) -> int:
    """A Kubernetes quantity ("10", "500m", 2.5) in milli-units."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return int(round(float(text[:-1])))
    suffixes = {"k": 10**3, "M": 10**6, "G": 10**9}
    if text[-1:] in suffixes:
        return int(round(float(text[:-1]) * suffixes[text[-1]] * 1000))
    return int(round(float(text) * 1000))


@dataclass
class HpaController:
    """The controller's state for one HPA: recommendations and scale events, as in horizontal.go."""

    spec: HpaSpec
    recommendations: list[tuple[int, int]] = field(default_factory=list)
    scale_up_events: list[tuple[int, int]] = field(default_factory=list)
    scale_down_events: list[tuple[int, int]] = field(default_factory=list)

    def sync(self, now: int, current: int, status: int, metric_milli: Optional[int],
             cpu: Optional[tuple[int, float]] = None, pods: Optional[Mapping[str, float]] = None, ready: int = 0) -> int:
        """One reconcile at ``now``: the new ``spec.replicas`` of the target (``current`` if unchanged).

        ``status`` is the workload's ``status.replicas`` (pods that exist); ``metric_milli`` the
        External metric's total, or None when it cannot be read; ``cpu`` the ready pods' count and
        their mean CPU utilization (percent), for an HPA with a CPU metric (None: no reading); ``pods`` the ready
        pods' mean of each Pods metric, by name (None, or a name left out: not readable), and ``ready`` their count.
        Each metric gives a proposal and the highest wins; with a metric unreadable the controller
        scales up on the others but never down (``computeReplicasForMetrics``), and with none
        readable it leaves the replicas alone.
        """
        spec = self.spec
        if current == 0:
            return 0  # scaling is disabled for a target scaled to zero by hand
        if current > spec.max_replicas:
            desired = spec.max_replicas
        elif current < spec.min_replicas:
            desired = spec.min_replicas
        else:
            proposals, invalid = [], 0
            if spec.target_milli is not None:
                if metric_milli is None:
                    invalid += 1
                else:
                    proposals.append(external_average_value_replicas(status, metric_milli, spec.target_milli, spec.tolerance))
            for name, target in spec.pods_targets:
                value = (pods or {}).get(name)
                if value is None or ready == 0:
                    invalid += 1
                else:
                    proposals.append(pods_average_value_replicas(current, ready, int(round(value * 1000)), target, spec.tolerance))
            if spec.cpu_target_percent is not None:
                if cpu is None or cpu[0] == 0:
                    invalid += 1
                else:
                    proposals.append(resource_utilization_replicas(status, cpu[0], cpu[1], spec.cpu_target_percent, spec.tolerance))
            if not proposals or (invalid and max(proposals) < current):
                return current
            desired = max(0, max(proposals))
            if spec.has_behavior:
                desired = self._normalize_with_behaviors(now, current, desired)
            else:
                desired = self._normalize(now, current, desired)
        if desired != current:
            self._store_scale_event(now, current, desired)
        return desired

    # -- without behavior ------------------------------------------------------------------

    def _normalize(self, now: int, current: int, proposal: int) -> int:
        # stabilizeRecommendation: a sample counts unless it is Before(cutoff), so one exactly 300 s old does.
        cutoff = now - DOWNSCALE_STABILIZATION
        stabilized = max([proposal] + [r for t, r in self.recommendations if t >= cutoff])
        self.recommendations = [(t, r) for t, r in self.recommendations if t >= cutoff] + [(now, proposal)]
        scale_up_limit = max(2 * current, 4)
        maximum = min(self.spec.max_replicas, scale_up_limit)
        if stabilized < self.spec.min_replicas:
            return self.spec.min_replicas
        return min(stabilized, maximum)

    # -- with behavior ---------------------------------------------------------------------

    def _normalize_with_behaviors(self, now: int, current: int, proposal: int) -> int:
        up, down = self.spec.scale_up, self.spec.scale_down
        assert up is not None and down is not None
        up_cutoff, down_cutoff = now - up.stabilization, now - down.stabilization
        up_rec = down_rec = proposal
        for t, r in self.recommendations:
            if t > up_cutoff:
                up_rec = min(up_rec, r)
            if t > down_cutoff:
                down_rec = max(down_rec, r)
        stabilized = min(max(current, up_rec), down_rec)
        keep = min(up_cutoff, down_cutoff)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > keep] + [(now, proposal)]

        if stabilized > current:
            limit = max(self._scale_up_limit(now, current, up), current)
            return min(stabilized, self.spec.max_replicas, limit)
        if stabilized < current:
            limit = min(self._scale_down_limit(now, current, down), current)
            return max(stabilized, self.spec.min_replicas, limit)
        return stabilized

    def _period_start(self, now: int, current: int, period: int) -> int:
        cutoff = now - period
        added = sum(change for t, change in self.scale_up_events if t > cutoff)
        removed = sum(change for t, change in self.scale_down_events if t > cutoff)
        return current - added + removed

    def _scale_up_limit(self, now: int, current: int, rules: Rules) -> int:
        if rules.select == "Disabled":
            return current
        proposals = []
        for p in rules.policies:
            start = self._period_start(now, current, p.period)
            proposals.append(start + p.value if p.type == "Pods" else math.ceil(start * (1 + p.value / 100)))
        return (min if rules.select == "Min" else max)(proposals)

    def _scale_down_limit(self, now: int, current: int, rules: Rules) -> int:
        if rules.select == "Disabled":
            return current
        proposals = []
        for p in rules.policies:
            start = self._period_start(now, current, p.period)
            proposals.append(start - p.value if p.type == "Pods" else int(start * (1 - p.value / 100)))
        return (max if rules.select == "Min" else min)(proposals)

    def _store_scale_event(self, now: int, before: int, after: int) -> None:
        """``storeScaleEvent``: events older than the longest policy period are outdated and the last
        outdated slot takes the new event; outdated events still count until they are overwritten."""
        if not self.spec.has_behavior:
            return  # the controller keeps events only for HPAs with behavior
        up = after > before
        rules = self.spec.scale_up if up else self.spec.scale_down
        assert rules is not None  # has_behavior: both rules are set (from_manifest)
        events = self.scale_up_events if up else self.scale_down_events
        longest = max((p.period for p in rules.policies), default=0)
        outdated = [i for i, (t, _) in enumerate(events) if t < now - longest]
        event = (now, abs(after - before))
        if outdated:
            events[outdated[-1]] = event
        else:
            events.append(event)


def external_average_value_replicas(status_replicas: int, usage_milli: int, target_milli: int, tolerance: float = TOLERANCE) -> int:
    """``GetExternalPerPodMetricReplicas``: replicas for a total metric against a per-replica target."""
    ratio = usage_milli / (target_milli * status_replicas)
    if abs(1.0 - ratio) > tolerance:
        return -(-usage_milli // target_milli)
    return status_replicas


def pods_average_value_replicas(current: int, ready: int, mean_milli: int, target_milli: int, tolerance: float = TOLERANCE) -> int:
    """Desired replicas for a Pods metric with an AverageValue target: the ready pods' mean against it
    (replica_calculator.go ``GetMetricReplicas``: within the tolerance, unchanged)."""
    ratio = mean_milli / target_milli
    if abs(ratio - 1.0) <= tolerance:
        return current
    return math.ceil(ratio * ready)


def resource_utilization_replicas(status: int, ready: int, utilization: float, target_percent: int, tolerance: float = TOLERANCE) -> int:
    """``GetResourceReplicas`` for a Utilization target, with its scale-up rule for pods that are not
    ready yet (counted at 0 %): the mean over ``status`` pods against the target, inside the
    tolerance nothing changes, otherwise ceil(ratio x status). (The controller also leaves pods
    without metrics out of a scale-down; the simulator only ever reads ready pods.)"""
    ratio = (ready * utilization) / (status * target_percent) if status else 0.0
    if abs(ratio - 1.0) <= tolerance:
        return status
    return math.ceil(ratio * status)
