"""The simulator's HPA against the documented Kubernetes algorithm.

Sources (kubernetes/kubernetes):
- K8S-CALC: pkg/controller/podautoscaler/replica_calculator.go, GetExternalPerPodMetricReplicas
  (usage ratio against target x status replicas, tolerance, ceil).
- K8S-FLAGS: kube-controller-manager flags --horizontal-pod-autoscaler-tolerance=0.1,
  --horizontal-pod-autoscaler-downscale-stabilization=5m0s, --horizontal-pod-autoscaler-sync-period=15s.
- K8S-RECONCILE: pkg/controller/podautoscaler/horizontal.go, reconcileAutoscaler (clamp to
  max/min before metrics).
- K8S-LEGACY: horizontal.go normalizeDesiredReplicas, stabilizeRecommendation,
  convertDesiredReplicasWithRules, calculateScaleUpLimit (scaleUpLimitFactor 2, scaleUpLimitMinimum 4).
- K8S-BEHAVIOR: horizontal.go stabilizeRecommendationWithBehaviors, convertDesiredReplicasWithBehaviorRate,
  calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors, getReplicasChangePerPeriod,
  storeScaleEvent.
- K8S-DEFAULTS: pkg/apis/autoscaling/v2/defaults.go (behavior defaults when behavior is set:
  scale up 4 pods or 100% per 15 s, Max, window 0; scale down 100% per 15 s, Max).
- K8S-DOCS: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ (algorithm
  details, stabilization window, scaling policies, default behavior).
"""

import pytest

from elastic_inference_tools.simulate.hpa import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaController, HpaSpec, Policy, Rules, external_average_value_replicas, milli
from elastic_inference_tools.simulate.model import Pool, ServiceModel, Simulation, Unit, simulate

TARGET = 10_000  # 10 QPS per replica, in milli


def qps(value):
    return int(value * 1000)


def spec(lo=1, hi=100, up=None, down=None):
    return HpaSpec(min_replicas=lo, max_replicas=hi, target_milli=TARGET, scale_up=up, scale_down=down)


BEHAVIOR = dict(up=DEFAULT_SCALE_UP, down=DEFAULT_SCALE_DOWN)


# -- the metric rule (K8S-CALC, K8S-FLAGS) --------------------------------------------------------


def test_desired_is_ceil_of_total_over_target():
    assert external_average_value_replicas(2, qps(45), TARGET) == 5  # ceil(45 / 10)
    assert external_average_value_replicas(5, qps(20), TARGET) == 2


@pytest.mark.parametrize("total, expect", [(qps(105), 10), (qps(95), 10), (qps(109), 10), (qps(111), 12), (qps(89), 9), (qps(110), 11)])
def test_no_change_inside_the_10_percent_tolerance(total, expect):
    # 10 replicas at target 10: ratios 1.05, 0.95, 1.09 stay (|1 - ratio| > 0.1 is required to act). Exactly
    # 1.10 acts, as in the controller: in float64, 1.0 - 1.1 = -0.10000000000000009.
    assert external_average_value_replicas(10, total, TARGET) == expect


def test_tolerance_is_taken_against_status_replicas():
    # The ratio uses status.replicas (pods that exist), not the spec.
    hpa = HpaController(spec(**BEHAVIOR))
    assert hpa.sync(15, current=10, status=10, metric_milli=qps(104)) == 10


# -- clamps (K8S-RECONCILE) ---------------------------------------------------------------------


def test_current_above_max_or_below_min_is_clamped_first():
    hpa = HpaController(spec(lo=2, hi=5, **BEHAVIOR))
    assert hpa.sync(15, current=8, status=8, metric_milli=qps(500)) == 5
    assert hpa.sync(30, current=1, status=1, metric_milli=qps(0)) == 2


def test_desired_clamped_to_min_and_max():
    hpa = HpaController(spec(lo=3, hi=6, **BEHAVIOR))
    assert hpa.sync(15, current=4, status=4, metric_milli=qps(500)) == 6
    hpa = HpaController(spec(lo=3, hi=6, up=DEFAULT_SCALE_UP, down=Rules(0, "Max", (Policy("Percent", 100, 15),))))
    assert hpa.sync(15, current=5, status=5, metric_milli=qps(1)) == 3


def test_unreadable_metric_changes_nothing():
    assert HpaController(spec(**BEHAVIOR)).sync(15, current=4, status=4, metric_milli=None) == 4


# -- without behavior (K8S-LEGACY) --------------------------------------------------------------


def test_no_behavior_scale_up_limited_to_twice_or_four():
    hpa = HpaController(spec())
    assert hpa.sync(15, 1, 1, qps(500)) == 4  # max(2 x 1, 4)
    assert hpa.sync(30, 4, 4, qps(500)) == 8  # max(2 x 4, 4)
    assert hpa.sync(45, 8, 8, qps(500)) == 16


def test_no_behavior_scale_down_waits_300_seconds_for_the_highest_recommendation():
    hpa = HpaController(spec())
    assert hpa.sync(0, 10, 10, qps(100)) == 10
    t = 15
    while t < 300:
        assert hpa.sync(t, 10, 10, qps(20)) == 10, t
        t += 15
    # The 10-replica sample of t=0 counts while it is not older than 300 s (Before(cutoff) is excluded only).
    assert hpa.sync(300, 10, 10, qps(20)) == 10
    assert hpa.sync(315, 10, 10, qps(20)) == 2  # no rate limit on the way down without behavior


# -- with behavior (K8S-BEHAVIOR, K8S-DEFAULTS) -------------------------------------------------


def test_default_behavior_scale_up_is_max_of_4_pods_and_100_percent_per_15s():
    hpa = HpaController(spec(**BEHAVIOR))
    assert hpa.sync(15, 2, 2, qps(500)) == 6  # max(2 + 4, 2 x 2)
    assert hpa.sync(30, 6, 6, qps(500)) == 12  # the event at 15 is out of [15, 30): max(6 + 4, 12)
    assert hpa.sync(45, 12, 12, qps(500)) == 24


def test_select_policy_min_and_disabled():
    up_min = Rules(0, "Min", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
    assert HpaController(spec(up=up_min, down=DEFAULT_SCALE_DOWN)).sync(15, 10, 10, qps(1000)) == 14  # min(14, 20)
    off = Rules(0, "Disabled", ())
    assert HpaController(spec(up=off, down=DEFAULT_SCALE_DOWN)).sync(15, 10, 10, qps(1000)) == 10


def test_policy_period_counts_earlier_scale_events():
    up = Rules(0, "Max", (Policy("Pods", 2, 60),))
    hpa = HpaController(spec(up=up, down=DEFAULT_SCALE_DOWN))
    assert hpa.sync(15, 1, 1, qps(1000)) == 3
    assert hpa.sync(30, 3, 3, qps(1000)) == 3  # the period started at 1 replica: 1 + 2 already reached
    assert hpa.sync(60, 3, 3, qps(1000)) == 3
    assert hpa.sync(75, 3, 3, qps(1000)) == 5  # the event of t=15 is no longer after 75 - 60


def test_scale_down_rate_and_window():
    down = Rules(60, "Max", (Policy("Percent", 50, 60),))
    hpa = HpaController(spec(up=DEFAULT_SCALE_UP, down=down))
    assert hpa.sync(0, 16, 16, qps(160)) == 16
    assert hpa.sync(15, 16, 16, qps(10)) == 16  # the 16 of t=0 is inside the 60 s window
    assert hpa.sync(45, 16, 16, qps(10)) == 16
    assert hpa.sync(60, 16, 16, qps(10)) == 8  # window passed (t=0 not after 60 - 60); 50% per 60 s
    assert hpa.sync(75, 8, 8, qps(10)) == 8  # 8 removed within the last 60 s: the period started at 16
    assert hpa.sync(105, 8, 8, qps(10)) == 8
    assert hpa.sync(120, 8, 8, qps(10)) == 4  # the event of t=60 is not after 120 - 60: a new period from 8


def test_scale_up_stabilization_takes_the_lowest_recent_recommendation():
    up = Rules(30, "Max", (Policy("Percent", 900, 15),))
    hpa = HpaController(spec(up=up, down=DEFAULT_SCALE_DOWN))
    assert hpa.sync(0, 2, 2, qps(20)) == 2
    assert hpa.sync(15, 2, 2, qps(100)) == 2  # lowest of {2 at t=0, 10}: stays
    assert hpa.sync(30, 2, 2, qps(100)) == 10  # t=0 falls out of (30 - 30, 30]


def test_behavior_rules_left_out_take_the_api_defaults():
    manifest = {"spec": {"minReplicas": 1, "maxReplicas": 9,
                         "metrics": [{"type": "External", "external": {"metric": {"name": "sls_ingress_qps"},
                                                                       "target": {"type": "AverageValue", "averageValue": "10"}}}],
                         "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}
    parsed = HpaSpec.from_manifest(manifest)
    assert parsed.scale_up == DEFAULT_SCALE_UP
    assert parsed.scale_down == Rules(60, "Max", (Policy("Percent", 100, 15),))
    no_behavior = {"spec": {**manifest["spec"], "behavior": None}}
    assert not HpaSpec.from_manifest(no_behavior).has_behavior


def test_quantities_in_milli():
    assert milli("10") == 10_000 and milli("500m") == 500 and milli(2.5) == 2500 and milli("1k") == 1_000_000


# -- the whole model on a step ------------------------------------------------------------------


def test_step_trace_replica_timeline():
    """2 ECI replicas at target 10 QPS; the load steps from 10 to 160 QPS at t=300.
    Metric: mean over 15 s, 10 s late (the adapter's sls.query.interval and sls.query.delay defaults).
    Syncs every 15 s with the default behavior."""
    model = ServiceModel(
        name="svc", hpa=spec(lo=2, hi=16, **BEHAVIOR), fixed_replicas=2, units=(Unit("eci"),), pool=None,
        replica_capacity_qps=15, eci_price_on_demand=1.0, eci_price_spot=0.3,
        query_interval=15, query_delay=10, sync_period=15, eci_pod_start=40, model_load=30,
    )
    trace = [10.0] * 300 + [160.0] * 600
    tl = simulate(model, trace)
    # t=315: the window [290, 305) holds 10 s at 10 and 5 s at 160: mean 60 -> 6 wanted (the limit max(2 + 4, 4) = 6 too).
    assert tl.metric[315] == pytest.approx(60)
    assert tl.desired_replicas[314] == 2 and tl.desired_replicas[315] == 6
    assert tl.desired_replicas[330] == 12 and tl.desired_replicas[345] == 16
    # New ECI replicas are ready 40 + 30 s after creation.
    assert tl.ready_replicas[384] == 2 and tl.ready_replicas[385] == 6 and tl.ready_replicas[415] == 16
    assert tl.dropped_qps[320] == pytest.approx(160 - 2 * 15) and tl.dropped_qps[420] == 0
    assert tl.cost[-1] > 0


def test_ecs_then_eci_waits_for_the_pool_up_to_the_timeout():
    """ecs-then-eci with the wait label: a pod waits for a new node when it is Ready within the
    timeout (ACK TimeoutOrExceedMax), else it goes to ECI after the timeout and the node comes up empty."""
    pool = Pool(min_size=0, max_size=5, can_grow=True, node_price_on_demand=10, node_price_spot=3,
                on_demand_base=0, on_demand_percentage=0, spot=True)

    def run(wait):
        model = ServiceModel(
            name="svc", hpa=spec(lo=1, hi=3, **BEHAVIOR), fixed_replicas=1, units=(Unit("ecs", wait=wait), Unit("eci")), pool=pool,
            replica_capacity_qps=15, eci_price_on_demand=1, eci_price_spot=1, node_scale_out=180, ecs_pod_start=60,
            model_load=30, eci_pod_start=40, pods_per_node=1, query_delay=5,
        )
        sim = Simulation(model, initial_qps=5.0)
        tl = sim.run([5.0] * 60 + [30.0] * 900)
        return sim, tl

    sim, tl = run(wait=300)  # the node (180 s) is Ready within the timeout: the pool grows, no pod on ECI
    assert {sim.m.units[p.unit].kind for p in sim.pods} == {"ecs"} and len(sim.nodes) == 3
    first = tl.desired_replicas.index(3)
    assert tl.ready_replicas[first + 180 + 90] == 3
    sim, tl = run(wait=60)  # it is not: pods wait 60 s, then go to ECI; the started nodes come up empty
    kinds = sorted(sim.m.units[p.unit].kind for p in sim.pods)
    assert kinds.count("eci") == 2 and tl.ready_replicas[first + 60 + 70] == 3


def test_ecs_pool_grows_after_the_node_scale_out_delay():
    pool = Pool(min_size=1, max_size=3, can_grow=True, node_price_on_demand=10, node_price_spot=3,
                on_demand_base=0, on_demand_percentage=0, spot=True)
    model = ServiceModel(
        name="svc", hpa=spec(lo=1, hi=3, **BEHAVIOR), fixed_replicas=1, units=(Unit("ecs"),), pool=pool,
        replica_capacity_qps=15, eci_price_on_demand=1, eci_price_spot=1,
        node_scale_out=180, ecs_pod_start=60, model_load=30, pods_per_node=1, query_delay=5,
    )
    tl = simulate(model, [5.0] * 60 + [30.0] * 600)
    # Desired 3 at the sync of t=90 (metric 30 -> 3); two new nodes ready at 270, the pods 90 s later.
    first = tl.desired_replicas.index(3)
    assert tl.ready_replicas[first + 180 + 90 - 1] == 1 and tl.ready_replicas[first + 180 + 90] == 3


# -- an unreadable QPS metric (SLS or the adapter down), and the CPU metric that needs neither ---------------


def test_with_the_qps_metric_unreadable_the_hpa_scales_up_on_cpu_but_never_down():
    # kubernetes horizontal.go computeReplicasForMetrics: "If all metrics are invalid or some are invalid
    # and we would scale down, return an error" (the replicas stay); otherwise the highest proposal wins.
    import dataclasses

    cpu_spec = dataclasses.replace(spec(lo=1, hi=20, **BEHAVIOR), cpu_target_percent=60)
    hpa = HpaController(cpu_spec)
    assert hpa.sync(15, 4, 4, None, cpu=(4, 90.0)) == 6  # 4 x 90 / 60
    assert hpa.sync(30, 6, 6, None, cpu=(6, 20.0)) == 6  # would scale down: held
    assert HpaController(spec(lo=1, hi=20, **BEHAVIOR)).sync(15, 4, 4, None) == 4  # QPS only: held


def test_an_outage_holds_the_replicas_unless_a_cpu_metric_is_there():
    import dataclasses

    def run(hpa_spec):
        model = ServiceModel(
            name="svc", hpa=hpa_spec, fixed_replicas=2, units=(Unit("eci"),), pool=None, replica_capacity_qps=15,
            eci_price_on_demand=1.0, eci_price_spot=0.3, query_interval=15, query_delay=10, eci_pod_start=40, model_load=30)
        return simulate(model, [10.0] * 300 + [160.0] * 900, outages=[(200, 1200)])

    qps_only = run(spec(lo=2, hi=16, **BEHAVIOR))
    assert max(qps_only.desired_replicas[:1200]) == 2  # the step came during the outage: nothing scaled
    with_cpu = run(dataclasses.replace(spec(lo=2, hi=16, **BEHAVIOR), cpu_target_percent=70))
    assert with_cpu.desired_replicas[600] > 2 and sum(with_cpu.dropped_qps) < sum(qps_only.dropped_qps)


# -- where the replicas run and what each kind of capacity costs ------------------------------------------------


def test_replicas_and_cost_are_split_between_the_pool_and_eci_and_add_up_to_the_totals():
    """A pool that cannot grow (1 node, 1 pod a node), ECI after it: the overflow runs on ECI, the pool stays at one node."""
    from elastic_inference_tools.simulate.model import summarize

    pool = Pool(min_size=1, max_size=1, can_grow=False, node_price_on_demand=10, node_price_spot=3,
                on_demand_base=0, on_demand_percentage=100, spot=False)
    model = ServiceModel(
        name="svc", hpa=spec(lo=1, hi=4, **BEHAVIOR), fixed_replicas=1, units=(Unit("ecs"), Unit("eci")), pool=pool,
        replica_capacity_qps=15, eci_price_on_demand=2.0, eci_price_spot=1.0, eci_pod_start=40, model_load=30, query_delay=5)
    tl = simulate(model, [5.0] * 60 + [40.0] * 900 + [5.0] * 900)
    assert set(tl.ecs_nodes) == {1} and set(tl.ready_replicas_ecs) == {1}
    assert max(tl.ready_replicas_eci) == 3 and tl.ready_replicas_eci[0] == 0
    assert all(e + i == r for e, i, r in zip(tl.ready_replicas_ecs, tl.ready_replicas_eci, tl.ready_replicas, strict=True))
    assert tl.cost_ecs_nodes[-1] == pytest.approx(len(tl.t) * 10 / 3600)  # one on-demand node all along
    assert all(e + i == pytest.approx(c, rel=1e-12) for e, i, c in zip(tl.cost_ecs_nodes, tl.cost_eci_pods, tl.cost, strict=True))
    assert tl.cost_eci_pods[-1] > 0

    split = summarize(model, tl, "CNY")["by_capacity"]
    assert split == {
        "ecs": {"ready_replica_hours": round(len(tl.t) / 3600, 3), "max_ready_replicas": 1, "cost": round(len(tl.t) * 10 / 3600, 2), "max_nodes": 1},
        "eci": {"ready_replica_hours": round(sum(tl.ready_replicas_eci) / 3600, 3), "max_ready_replicas": 3,
                "cost": round(tl.cost_eci_pods[-1], 2)},
    }
    totals = summarize(model, tl, "CNY")
    assert split["ecs"]["cost"] + split["eci"]["cost"] == pytest.approx(totals["cost"], abs=0.011)


def test_the_split_leaves_the_models_numbers_as_they_were():
    """The ECS / ECI columns are added; the ones the model always computed are the same, to the last bit
    (the figures below are the model's before the split)."""
    pool = Pool(min_size=0, max_size=5, can_grow=True, node_price_on_demand=10, node_price_spot=3,
                on_demand_base=1, on_demand_percentage=30, spot=True)
    model = ServiceModel(
        name="svc", hpa=spec(lo=1, hi=6, **BEHAVIOR), fixed_replicas=1, units=(Unit("ecs", wait=60), Unit("eci", max=2), Unit("eci", spot=True)),
        pool=pool, replica_capacity_qps=15, eci_price_on_demand=1.3, eci_price_spot=0.7, node_scale_out=180, query_delay=5)
    tl = Simulation(model, initial_qps=5.0).run([5.0] * 60 + [80.0] * 900 + [5.0] * 1500)
    assert (tl.cost[-1], sum(tl.cost), sum(tl.ready_replicas), sum(tl.desired_replicas), sum(tl.dropped_qps)) == (
        10.555000000000435, 15511.908750000224, 7750, 8400, 9500.0)
    assert tl.cost_ecs_nodes[-1] == pytest.approx(9.0) and tl.cost_eci_pods[-1] == pytest.approx(1.555)
    assert all(e + i == pytest.approx(c, rel=1e-12) for e, i, c in zip(tl.cost_ecs_nodes, tl.cost_eci_pods, tl.cost, strict=True))


def test_a_scheduled_floor_raises_the_replicas_and_holds_them_as_cronhpa_does():
    """kubernetes-cronhpa-controller cronjob.go ScaleHPA: below the floor, minReplicas is raised and the target scaled
    to it; the HPA does not scale below it until an entry lowers it."""
    hpa = HpaSpec(min_replicas=1, max_replicas=10, target_milli=10_000)
    model = ServiceModel(name="s", hpa=hpa, fixed_replicas=1, units=(Unit("eci"),), pool=None, replica_capacity_qps=15,
                         eci_price_on_demand=1.0, eci_price_spot=0.5, floor_events=((100, 6), (2000, 1)))
    timeline = simulate(model, [1.0] * 3000)
    assert timeline.desired_replicas[99] == 1 and timeline.desired_replicas[100] == 6
    assert min(timeline.desired_replicas[100:2000]) == 6  # no load, but the floor holds
    assert timeline.desired_replicas[-1] == 1  # lowered at 2000, then the HPA scales down (its stabilization window passed)


def test_eci_pods_pull_their_image_until_a_cache_is_ready():
    hpa = HpaSpec(min_replicas=1, max_replicas=10, target_milli=10_000)
    common = dict(name="s", hpa=hpa, fixed_replicas=1, units=(Unit("eci"),), pool=None, replica_capacity_qps=15,
                  eci_price_on_demand=1.0, eci_price_spot=0.5, eci_pod_start=40, model_load=30)
    qps = [1.0] * 60 + [80.0] * 600
    cached = simulate(ServiceModel(**common), qps)
    pulling = simulate(ServiceModel(**common, eci_uncached_pod_start=180, eci_auto_cache_ready=600), qps)
    first_ready = next(t for t, r in enumerate(cached.ready_replicas) if r > 1)
    assert next(t for t, r in enumerate(pulling.ready_replicas) if r > 1) == first_ready + 140  # 180 s to start instead of 40
