"""Every rejection rule of the stack settings, and the defaults."""

import pytest

from config import ConfigError, from_raw


def problems(raw, region="cn-beijing"):
    with pytest.raises(ConfigError) as info:
        from_raw(raw, region)
    return [str(p) for p in info.value.problems]


def one(raw, path, fragment, region="cn-beijing"):
    found = problems(raw, region)
    assert any(p.startswith(path + ":") and fragment in p for p in found), found


def test_valid_config_loads_with_defaults(raw):
    s = from_raw(raw, "cn-beijing")
    assert s.cluster.sls_project_name == "k8s-log-c0123456789abcdef0123456789abcdef"
    assert s.cluster.kubernetes_version == "1.30"
    assert s.cluster.addons.virtual_node and s.cluster.addons.metrics_adapter and not s.cluster.addons.ingress_controller
    assert s.model_store.encryption == "AES256" and s.model_store.access == "secret" and s.model_store.protect
    pool = s.node_pool
    assert (pool.spot_strategy, pool.multi_az_policy, pool.on_demand_percentage) == ("SpotAsPriceGo", "COST_OPTIMIZED", 30)
    assert pool.args(s.cluster).compensates is True
    svc = s.services["bert"]
    assert svc.namespace == "default" and svc.runtime == "tensorflow-serving"
    assert svc.serving_image.endswith("-gpu")
    assert (svc.autoscaling.min_replicas, svc.autoscaling.max_replicas, svc.autoscaling.target_qps_per_replica) == (1, 10, 10)
    assert svc.ingress.path == "/"


def test_compensation_defaults_off_outside_cost_optimized(raw):
    raw["nodePool"]["multiAzPolicy"] = "PRIORITY"
    s = from_raw(raw, "cn-beijing")
    assert s.node_pool.args(s.cluster).compensates is False


def test_kubernetes_version_normalised(raw):
    raw["cluster"]["kubernetesVersion"] = "v1.31.1-aliyun.1"
    assert from_raw(raw, "cn-beijing").cluster.kubernetes_version == "1.31"


def set_path(raw, path, value):
    node = raw
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return raw


S = "services.bert"

FIELD_RULES = [
    # names and unknown keys
    ("services.Bert_1", None, "services.Bert_1", "DNS-1035"),
    ("nodePool.name", "Pool", "nodePool.name", "DNS-1035"),
    (f"{S}.namespace", "Prod", f"{S}.namespace", "DNS-1123"),
    (f"{S}.autoscalng", {}, f"{S}.autoscalng", "did you mean 'autoscaling'"),
    ("cluster.addons.metricsAdaptor", True, "cluster.addons.metricsAdaptor", "did you mean 'metricsAdapter'"),
    ("modelstore", {}, "modelstore", "did you mean 'modelStore'"),
    # bounds
    ("nodePool.minSize", -1, "nodePool.minSize", ">= 0"),
    ("nodePool.maxSize", 1001, "nodePool.maxSize", "<= 1000"),
    (f"{S}.autoscaling.minReplicas", 0, f"{S}.autoscaling.minReplicas", ">= 1"),
    ("nodePool.onDemandPercentage", 101, "nodePool.onDemandPercentage", "<= 100"),
    ("nodePool.onDemandPercentage", -1, "nodePool.onDemandPercentage", ">= 0"),
    (f"{S}.autoscaling.targetQpsPerReplica", 0, f"{S}.autoscaling.targetQpsPerReplica", ">= 0.001"),
    (f"{S}.resources.gpu", -1, f"{S}.resources.gpu", ">= 0"),
    # enums
    ("nodePool.spotStrategy", "Cheap", "nodePool.spotStrategy", "must be one of"),
    ("nodePool.multiAzPolicy", "RANDOM", "nodePool.multiAzPolicy", "must be one of"),
    ("modelStore.encryption", "SM4", "modelStore.encryption", "must be one of"),
    ("modelStore.access", "public", "modelStore.access", "must be one of"),
    (f"{S}.runtime", "not-a-runtime", f"{S}.runtime", "must be one of"),
    (f"{S}.placement.mode", "burst", f"{S}.placement.mode", "must be one of"),
    # version policy syntax
    (f"{S}.model.versionPolicy", "specific:", f"{S}.model.versionPolicy", "specific:V"),
    (f"{S}.model.versionPolicy", "latest:0", f"{S}.model.versionPolicy", "latest:N"),
    (f"{S}.model.versionPolicy", "newest", f"{S}.model.versionPolicy", "latest"),
    (f"{S}.model.versionPolicy", "specific:1,a", f"{S}.model.versionPolicy", "specific"),
    # types and shapes
    (f"{S}.autoscaling.maxReplicas", "ten", f"{S}.autoscaling.maxReplicas", "whole number"),
    ("modelStore.versioning", "yes", "modelStore.versioning", "true or false"),
    (f"{S}.image", "nginx;rm -rf /", f"{S}.image", "image reference"),
    (f"{S}.model.path", "models/../secrets", f"{S}.model.path", ".."),
    (f"{S}.ingress.host", "Bad Host", f"{S}.ingress.host", "DNS name"),
    ("modelStore.bucket", "A", "modelStore.bucket", "OSS bucket name"),
    ("cluster.id", "not-a-cluster", "cluster.id", "ACK cluster id"),
]


@pytest.mark.parametrize("path,value,where,fragment", FIELD_RULES, ids=[r[0] + "=" + repr(r[1]) for r in FIELD_RULES])
def test_field_rules(raw, path, value, where, fragment):
    if path == "services.Bert_1":
        raw["services"]["Bert_1"] = raw["services"].pop("bert")
    else:
        set_path(raw, path, value)
    one(raw, where, fragment)


def test_required_keys_are_named(raw):
    del raw["modelStore"]
    del raw["cluster"]["id"]
    found = problems(raw, region=None)
    assert any(p.startswith("modelStore: required") for p in found)
    assert any(p.startswith("cluster.id: required") for p in found)
    assert any(p.startswith("alicloud:region: required") for p in found)


def test_all_problems_reported_at_once(raw):
    raw["nodePool"]["minSize"] = -1
    raw["services"]["bert"]["resources"]["gpu"] = -2
    assert len(problems(raw)) == 2


CROSS_RULES = [
    # (mutation, path, fragment)
    (lambda r: r["nodePool"].update(minSize=5, maxSize=2), "nodePool.maxSize", ">= minSize"),
    (lambda r: r["services"]["bert"].update(autoscaling={"minReplicas": 5, "maxReplicas": 2}), f"{S}.autoscaling.maxReplicas", ">= minReplicas"),
    (lambda r: r.pop("nodePool"), f"{S}.placement.mode", "nodePool section"),
    (lambda r: (r.pop("nodePool"), r["services"]["bert"]["placement"].update(mode="ecs")), f"{S}.placement.mode", "nodePool section"),
    (lambda r: r["cluster"].update(addons={"virtualNode": False}), f"{S}.placement.mode", "virtualNode: true"),
    (lambda r: r["services"]["bert"]["placement"].update(mode="eci-tiers"), f"{S}.placement.tiers", "required with mode 'eci-tiers'"),
    (lambda r: r["services"]["bert"]["placement"].update(mode="eci", eciInstanceTypes=[]), f"{S}.placement.eciInstanceTypes", "GPU"),
    (lambda r: r["nodePool"].update(spotStrategy="SpotWithPriceLimit"), "nodePool.spotPriceLimits.ecs.gn6i-c4g1.xlarge", "price limit is required"),
    (lambda r: r["nodePool"].update(spotPriceLimits={"ecs.gn6i-c4g1.xlarge": 3}), "nodePool.spotPriceLimits", "only used with"),
    (lambda r: r["cluster"].update(addons={"metricsAdapter": False}), f"{S}.autoscaling", "metricsAdapter: true"),
    (lambda r: r["services"]["bert"].pop("ingress"), f"{S}.ingress", "required while autoscaling"),
    (lambda r: r["cluster"].update(vswitchIds=[]), "cluster.vswitchIds", "at least one vSwitch"),
    (lambda r: r["nodePool"].update(multiAzPolicy="BALANCE", compensateWithOnDemand=True), "nodePool.compensateWithOnDemand", "COST_OPTIMIZED"),
    (lambda r: r["services"]["bert"]["placement"].update(tiers=[{"max": 2}]), f"{S}.placement.tiers", "only used with mode 'eci-tiers'"),
    (lambda r: r["services"]["bert"]["placement"].update(mode="eci-tiers", tiers=[{}, {"max": 3}]), f"{S}.placement.tiers[0].max", "required on every tier"),
    (lambda r: r["services"]["bert"]["placement"].update(mode="eci-tiers", tiers=[{"max": 2}, {"max": 3}]), f"{S}.autoscaling.maxReplicas", "tiers hold at most 5"),
    (lambda r: r["services"]["bert"]["placement"].update(mode="eci-tiers", tiers=[{"max": 20, "spotStrategy": "SpotWithPriceLimit"}]), f"{S}.placement.tiers[0].spotPriceLimit", "required"),
    (lambda r: r["services"].update(gpt={**r["services"]["bert"]}), "services.gpt.ingress.path", "already served by services.bert"),
    (lambda r: r["cluster"].update(kubernetesVersion="1.22"), "cluster.kubernetesVersion", "1.23 or newer"),
    (lambda r: r["modelStore"].update(access="rrsa") or r["cluster"].update(kubernetesVersion="1.24"), "modelStore.access", "1.26"),
    (lambda r: r["modelStore"].update(kmsKeyId="key-1"), "modelStore.kmsKeyId", "only used with encryption KMS"),
    (lambda r: r["modelStore"].update(uploadDir="no/such/dir"), "modelStore.uploadDir", "not a directory"),
]


@pytest.mark.parametrize("mutate,path,fragment", CROSS_RULES, ids=[f"{i}-{r[1]}" for i, r in enumerate(CROSS_RULES)])
def test_cross_field_rules(raw, mutate, path, fragment):
    mutate(raw)
    one(raw, path, fragment)


def test_error_messages_do_not_echo_unknown_values(raw):
    raw["modelStore"]["accessKeySecret"] = "planted-ak-secret-123"
    found = problems(raw)
    assert found == ["modelStore.accessKeySecret: unknown key; allowed keys: access, bucket, create, encryption, kmsKeyId, protect, uploadDir, versioning"]
    assert not any("planted" in p for p in found)


# -- rules from the review against the upstream sources (issue "Works on a real cluster") ------------


def test_seldon_needs_its_operator_installed_or_declared(raw):
    raw["services"]["bert"]["runtime"] = "seldon"
    one(raw, f"{S}.runtime", "set cluster.addons.seldonCore: true")
    raw["cluster"]["prerequisites"] = ["seldondeployments.machinelearning.seldon.io"]
    assert from_raw(raw, "cn-beijing").services["bert"].runtime == "seldon"
    del raw["cluster"]["prerequisites"]
    raw["cluster"]["addons"] = {"seldonCore": True}
    settings = from_raw(raw, "cn-beijing")
    assert settings.cluster.addons.seldon_core_chart.version == "1.17.1"  # the last Apache-2.0 release


def test_seldon_has_no_scaling_behavior(raw):
    raw["cluster"]["addons"] = {"seldonCore": True}
    raw["services"]["bert"]["runtime"] = "seldon"
    raw["services"]["bert"]["autoscaling"] = {"scaleDownStabilizationSeconds": 60}
    one(raw, f"{S}.autoscaling.scaleDownStabilizationSeconds", "no scaling behavior")


def test_pool_wait_only_for_ecs_then_eci_and_from_1_24(raw):
    assert from_raw(raw, "cn-beijing").services["bert"].placement.pool_wait_seconds is None  # the mode's default, 300 s
    raw["cluster"]["kubernetesVersion"] = "1.23"
    one(raw, f"{S}.placement.mode", "1.24 or newer")
    raw["cluster"]["kubernetesVersion"] = "1.30"
    raw["services"]["bert"]["placement"] = {"mode": "ecs", "poolWaitSeconds": 120}
    one(raw, f"{S}.placement.poolWaitSeconds", "only used with mode 'ecs-then-eci'")


def test_adapter_window_stays_within_the_logs_it_reads(raw):
    raw["services"]["bert"]["autoscaling"] = {"queryIntervalSeconds": 95}
    one(raw, f"{S}.autoscaling.queryIntervalSeconds", "within 100")  # 95 + the default delay 10
    raw["services"]["bert"]["autoscaling"] = {"queryIntervalSeconds": 60, "queryDelaySeconds": 20}
    assert from_raw(raw, "cn-beijing").services["bert"].autoscaling.query_interval_seconds == 60


def test_ingress_route_fits_a_label_value(raw):
    long_name = "b" + "e" * 40
    raw["services"] = {long_name: raw["services"]["bert"]}
    raw["services"][long_name]["namespace"] = "inference-" + "n" * 20
    found = problems(raw)
    assert any(p.startswith(f"services.{long_name}:") and "over the 63" in p for p in found), found


def test_log_collector_is_one_the_cluster_can_run(raw):
    raw["cluster"]["addons"] = {"logCollector": "loongcollector"}
    assert from_raw(raw, "cn-beijing").cluster.addons.log_collector == "loongcollector"
    raw["cluster"]["addons"] = {"logCollector": "fluentd"}
    one(raw, "cluster.addons.logCollector", "must be one of")


def test_a_pool_without_labels_is_reported_once(raw):
    # The placement states it (PlacementArgs.node_labels); the config maps it onto the pool's key, once.
    raw["nodePool"]["labels"] = {}
    found = [p for p in problems(raw) if p.startswith("nodePool.labels:")]
    assert found == ["nodePool.labels: required with mode 'ecs-then-eci': it selects the node pool by its labels"], found


def test_the_model_mount_client_is_ossfs_or_ossfs2(raw):
    assert from_raw(raw, "cn-beijing").services["bert"].model.client == "ossfs"  # the component's default
    raw["services"]["bert"]["model"]["client"] = "ossfs2"
    assert from_raw(raw, "cn-beijing").services["bert"].model.client == "ossfs2"
    raw["services"]["bert"]["model"]["client"] = "ossfs3"
    one(raw, "services.bert.model.client", "ossfs2")
