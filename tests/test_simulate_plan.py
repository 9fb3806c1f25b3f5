"""The simulator reads a service from the plan, as the cluster would read the objects: any program's."""

import pytest

from elastic_inference_tools.render.preflight import Plan
from elastic_inference_tools.simulate.build import SERVICE_TYPE, SimulationInputError, assumptions, service_model

STACK = "urn:pulumi:dev::team::pulumi:pulumi:Stack::team-dev"
SVC = f"urn:pulumi:dev::team::{SERVICE_TYPE}::api"
PRICES = {"instance_types": {"ecs.g7.xlarge": {"on_demand": 1.0, "spot": 0.2}, "ecs.gn6i-c4g1.xlarge": {"on_demand": 9.0, "spot": 3.0}},
          "eci": {"vcpu_hour": 0.1, "gib_hour": 0.01, "spot_factor": 0.3}}
POD_LABELS = {"app": "api"}


def _k8s(kind, name, spec, parent=SVC, api="apps/v1"):
    group = api.split("/")[0] if "/" in api else "core"
    body = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ml"}, "spec": spec}
    return {"urn": f"urn:pulumi:dev::team::kubernetes:{group}/v1:{kind}::{name}-{kind.lower()}", "type": f"kubernetes:{group}/v1:{kind}",
            "name": f"{name}-{kind.lower()}", "parent": parent, "inputs": body}


def _deployment(template_meta, node_selector=None, replicas=2):
    spec = {"containers": [{"name": "s", "resources": {"requests": {"cpu": "2", "memory": "4Gi"}}}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return _k8s("Deployment", "api", {"replicas": replicas, "template": {"metadata": template_meta, "spec": spec}})


def _hpa(target_name="api", name="scaler"):
    return _k8s("HorizontalPodAutoscaler", name, {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target_name}, "minReplicas": 1, "maxReplicas": 9,
        "metrics": [{"type": "External", "external": {"metric": {"name": "sls_ingress_qps", "selector": {"matchLabels": {"sls.query.delay": "20"}}},
                                                      "target": {"type": "AverageValue", "averageValue": "10"}}}]}, parent=STACK, api="autoscaling/v2")


def _pool(**inputs):
    return {"urn": "urn:pulumi:dev::team::alicloud:cs/nodePool:NodePool::gpu", "type": "alicloud:cs/nodePool:NodePool", "name": "gpu",
            "parent": STACK, "inputs": {"nodePoolName": "gpu", "instanceTypes": ["ecs.g7.xlarge"], "labels": [{"key": "pool", "value": "gpu"}],
                                        **inputs}}


def _plan(*resources):
    service = {"urn": SVC, "type": SERVICE_TYPE, "name": "api", "parent": STACK, "inputs": {}}
    return Plan([service, *resources])


def test_a_fixed_pool_never_grows_and_its_hpa_is_found_by_its_target_not_its_name():
    plan = _plan(_deployment({"labels": POD_LABELS}, {"pool": "gpu"}), _hpa(), _pool(desiredSize=3, spotStrategy="NoSpot"))
    model = service_model(plan, "api", PRICES, assumptions(None))
    assert model.pool is not None and (model.pool.can_grow, model.pool.min_size, model.pool.max_size) == (False, 3, 3)
    assert not model.pool.spot and model.pool.on_demand_percentage == 100
    assert [u.kind for u in model.units] == ["ecs"]
    assert model.hpa is not None and model.hpa.max_replicas == 9 and model.query_delay == 20  # the adapter label of the HPA's selector


def test_a_resource_policys_units_in_order_with_the_wait_for_the_pool_and_eci_spot():
    policy = _k8s("ResourcePolicy", "api", {
        "selector": POD_LABELS, "whenTryNextUnits": {"policy": "TimeoutOrExceedMax", "timeout": "2m30s"},
        "units": [{"resource": "ecs", "nodeSelector": {"pool": "gpu"}, "podLabels": {"k8s.aliyun.com/resource-policy-wait-for-ecs-scaling": "true"}},
                  {"resource": "eci", "max": 4, "podAnnotations": {"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"}},
                  {"resource": "eci", "podAnnotations": {"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}}]},
        api="scheduling.alibabacloud.com/v1alpha1")
    pool = _pool(scalingConfig={"enable": True, "minSize": 1, "maxSize": 5}, spotStrategy="SpotAsPriceGo",
                 onDemandBaseCapacity="1", onDemandPercentageAboveBaseCapacity="30")
    model = service_model(_plan(_deployment({"labels": POD_LABELS}), _hpa(), pool, policy), "api", PRICES, assumptions(None))
    assert [(u.kind, u.max, u.spot, u.wait) for u in model.units] == [("ecs", None, False, 150), ("eci", 4, False, None), ("eci", None, True, None)]
    assert model.pool is not None and (model.pool.can_grow, model.pool.min_size, model.pool.max_size) == (True, 1, 5)
    assert (model.pool.on_demand_base, model.pool.on_demand_percentage, model.pool.spot) == (1, 30, True)
    assert (model.eci_price_on_demand, model.eci_price_spot) == (9.0, 3.0)  # the first ECI unit's spec


def test_without_wait_for_ecs_pods_move_on_as_soon_as_the_nodes_are_full():
    policy = _k8s("ResourcePolicy", "api", {"selector": POD_LABELS, "units": [{"resource": "ecs", "nodeSelector": {"pool": "gpu"}}, {"resource": "eci"}]},
                  api="scheduling.alibabacloud.com/v1alpha1")
    model = service_model(_plan(_deployment({"labels": POD_LABELS}), _hpa(), _pool(), policy), "api", PRICES, assumptions(None))
    assert [u.wait for u in model.units] == [None, None]


def test_an_eci_pod_without_specs_is_priced_by_its_requests():
    meta = {"labels": {**POD_LABELS, "alibabacloud.com/eci": "true"}, "annotations": {"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit"}}
    model = service_model(_plan(_deployment(meta), _hpa()), "api", PRICES, assumptions(None))
    assert [(u.kind, u.spot) for u in model.units] == [("eci", True)] and model.pool is None
    assert model.eci_price_on_demand == pytest.approx(2 * 0.1 + 4 * 0.01)


def test_without_an_hpa_the_replicas_are_fixed_and_a_replicas_capacity_must_be_given():
    plan = _plan(_deployment({"labels": POD_LABELS}, {"pool": "gpu"}, replicas=4), _pool(desiredSize=2))
    with pytest.raises(SimulationInputError, match="serving.replica_capacity_qps"):
        service_model(plan, "api", PRICES, assumptions(None))
    given = assumptions(None)
    given["serving"]["replica_capacity_qps"] = 12
    model = service_model(plan, "api", PRICES, given)
    assert model.hpa is None and model.fixed_replicas == 4 and model.replica_capacity_qps == 12


def _policy(units, when=None):
    spec = {"selector": POD_LABELS, "units": units, **({"whenTryNextUnits": when} if when else {})}
    return _k8s("ResourcePolicy", "api", spec, api="scheduling.alibabacloud.com/v1alpha1")


WAITS = {"k8s.aliyun.com/resource-policy-wait-for-ecs-scaling": "true"}
GPU_POOL = {"resource": "ecs", "nodeSelector": {"pool": "gpu"}, "podLabels": WAITS}


@pytest.mark.parametrize("timeout, seconds", [("300s", 300), ("1.5m", 90), ("500ms", 1), ("1h0m1s", 3601)])
def test_a_pool_wait_is_read_as_go_reads_a_duration(timeout, seconds):
    policy = _policy([GPU_POOL, {"resource": "eci"}], {"policy": "TimeoutOrExceedMax", "timeout": timeout})
    model = service_model(_plan(_deployment({"labels": POD_LABELS}), _hpa(), _pool(), policy), "api", PRICES, assumptions(None))
    assert model.units[0].wait == seconds


def _other_pool():
    pool = _pool()
    return {**pool, "urn": pool["urn"] + "-b", "name": "gpu-b", "inputs": {**pool["inputs"], "nodePoolName": "gpu-b"}}


@pytest.mark.parametrize("resources, why", [
    ((), "no such service \\(it has: api\\)"),
    ((_deployment({"labels": POD_LABELS}), _pool()), "select no node pool and no ECI"),
    ((_deployment({"labels": POD_LABELS}, {"pool": "cpu"}), _pool()), "nodeSelector matches 0 NodePools"),
    ((_deployment({"labels": POD_LABELS}, {"pool": "gpu"}), _pool(), _other_pool()), "nodeSelector matches 2 NodePools"),
    ((_deployment({"labels": POD_LABELS}), _hpa(), _pool(), _policy([GPU_POOL, GPU_POOL])), "2 ECS units"),
    ((_deployment({"labels": POD_LABELS}), _hpa(), _pool(), _policy([{"resource": "acs"}])), "resource 'acs'"),
    ((_deployment({"labels": POD_LABELS}), _hpa(), _pool(), _policy([GPU_POOL], {"policy": "TimeoutOrExceedMax", "timeout": "soon"})),
     "whenTryNextUnits.timeout: 'soon' is not a duration"),
    ((_deployment({"labels": POD_LABELS}), _hpa(), _pool(), _policy([GPU_POOL], {"policy": "TimeoutOrExceedMax"})), "whenTryNextUnits.timeout"),
    ((_deployment({"labels": POD_LABELS}, {"pool": "gpu"}), _hpa(), _pool(desiredSize="[unknown]")), "desiredSize: '\\[unknown\\]'"),
    ((_deployment({"labels": POD_LABELS}, {"pool": "gpu"}), _k8s("StatefulSet", "api-2", {"template": {"metadata": {}, "spec": {}}}), _pool()),
     "2 pod templates"),
])
def test_what_cannot_be_simulated_is_said(resources, why):
    name = "web" if not resources else "api"
    with pytest.raises(SimulationInputError, match=why):
        service_model(_plan(*resources), name, PRICES, assumptions(None))


def test_an_hpa_without_a_namespace_is_in_default():
    deployment, hpa = _deployment({"labels": POD_LABELS}, {"pool": "gpu"}), _hpa()
    deployment["inputs"]["metadata"]["namespace"] = "default"
    del hpa["inputs"]["metadata"]["namespace"]
    model = service_model(_plan(deployment, hpa, _pool()), "api", PRICES, assumptions(None))
    assert model.hpa is not None and model.hpa.max_replicas == 9


# -- what shortens or lengthens a cold start, and the scheduled floors -----------------------------------


def _eci_deployment(image="tensorflow/serving:2.14.1-gpu", claim=None):
    body = _deployment({"labels": {**POD_LABELS, "alibabacloud.com/eci": "true"}})
    spec = body["inputs"]["spec"]["template"]["spec"]
    spec["containers"][0]["image"] = image
    if claim:
        spec["volumes"] = [{"name": "model", "persistentVolumeClaim": {"claimName": claim}}]
    return body


def test_an_image_cache_of_the_pods_images_spares_the_pull():
    cache = _k8s("ImageCache", "ml-api", {"images": ["tensorflow/serving:2.14.1-gpu"], "imageCacheSize": 20}, parent=STACK, api="eci.alibabacloud.com/v1")
    assumed = assumptions(None)
    uncached = service_model(_plan(_eci_deployment(), _hpa()), "api", PRICES, assumed)
    assert uncached.eci_uncached_pod_start == assumed["eci"]["uncached_pod_start_seconds"]
    assert service_model(_plan(_eci_deployment(), _hpa(), cache), "api", PRICES, assumed).eci_uncached_pod_start is None
    other = service_model(_plan(_eci_deployment(image="tensorflow/serving:2.15.0-gpu"), _hpa(), cache), "api", PRICES, assumed)
    assert other.eci_uncached_pod_start is not None  # a cache of another image does not match


def test_a_model_on_ossfs2_loads_at_the_ossfs2_assumption():
    pv = {"urn": "urn:pv", "type": "kubernetes:core/v1:PersistentVolume", "name": "pv", "parent": SVC, "inputs": {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "ml-api-model"},
        "spec": {"claimRef": {"namespace": "ml", "name": "api-model"}, "csi": {"driver": "ossplugin.csi.alibabacloud.com",
                                                                          "volumeAttributes": {"fuseType": "ossfs2"}}}}}
    assumed = assumptions(None)
    on_ecs = _deployment({"labels": POD_LABELS}, {"pool": "gpu"})
    on_ecs["inputs"]["spec"]["template"]["spec"]["volumes"] = [{"name": "model", "persistentVolumeClaim": {"claimName": "api-model"}}]
    model = service_model(_plan(on_ecs, _hpa(), pv, _pool()), "api", PRICES, assumed)
    assert model.model_load == assumed["serving"]["model_load_seconds_ossfs2"] != assumed["serving"]["model_load_seconds"]
    # On ECI, which mounts OSS itself and does not document ossfs 2.0, the faster load is not credited.
    on_eci = service_model(_plan(_eci_deployment(claim="api-model"), _hpa(), pv), "api", PRICES, assumed)
    assert on_eci.model_load == assumed["serving"]["model_load_seconds"]


def test_scheduled_floors_fire_at_their_wall_clock_times():
    from datetime import datetime

    from elastic_inference_tools.simulate.build import floor_events

    jobs = (("peak", "0 */15 8-9 * * MON-FRI", 8), ("evening", "0 0 20 * * *", 2), ("once", "@date 2026-11-23 08:05:00", 5))
    monday = floor_events(jobs, datetime(2026, 11, 23, 7, 59, 0), 3600)
    assert monday == ((60, 8), (360, 5), (960, 8), (1860, 8), (2760, 8))
    assert floor_events(jobs[:1], datetime(2026, 11, 22, 7, 59, 0), 3600) == ()  # a Sunday
    with pytest.raises(SimulationInputError, match="@every"):
        floor_events((("x", "@every 1h", 3),), datetime(2026, 11, 23), 10)
