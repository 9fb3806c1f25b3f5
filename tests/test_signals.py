"""Autoscaling signals (components/signals/): the ingress QPS, and a model server's queue or KV-cache use from Prometheus."""

import json

import pulumi
import pytest

from components import (
    SIGNALS, Autoscaling, ClusterAddons, ClusterAddonsArgs, IngressChoice, ModelEndpoint, ModelEndpointArgs, ModelStore,
    ModelStoreArgs, PlacementChoice, ServerResources, adapter_rules,
)
from components.problems import ArgsError
from config import ConfigError
from config.loader import from_raw
from elastic_inference_tools.render import preflight
from tests.conftest import CLUSTER_ID
from tests.test_components import after

URL = f"http://cn-beijing-intranet.arms.aliyuncs.com:9090/api/v1/prometheus/abc/123/{CLUSTER_ID}/cn-beijing"
QUEUE_RULE = {
    "seriesQuery": 'vllm:num_requests_waiting{namespace!="",pod!=""}',
    "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
    "name": {"matches": "^vllm:num_requests_waiting$", "as": "vllm_num_requests_waiting"},
    "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
}


def test_the_registered_signals_and_their_sources():
    assert {name: s.source for name, s in SIGNALS.items()} == {"qps": "ingress-logs", "queue": "prometheus", "kv-cache": "prometheus"}
    assert SIGNALS["kv-cache"].problems(1.5) and not SIGNALS["kv-cache"].problems(0.8)
    assert SIGNALS["queue"].problems(0) and not SIGNALS["queue"].problems(4)


def test_a_prometheus_signal_is_a_pods_metric_served_by_one_adapter_rule_per_series():
    queue = SIGNALS["queue"]
    assert queue.hpa_metric("vllm:num_requests_waiting", 2.5) == {
        "type": "Pods", "pods": {"metric": {"name": "vllm_num_requests_waiting"}, "target": {"type": "AverageValue", "averageValue": "2500m"}}}
    # The adapter matches values to pods by the pod label: the query keeps it (prometheus-adapter docs/config.md).
    # The queue comes with the KV-cache use (its companion): both series, each once.
    rules = adapter_rules([("vllm", "queue"), ("vllm", "queue"), ("tensorflow-serving", "qps"), ("vllm", "qps")])
    assert [r["name"]["as"] for r in rules] == ["vllm_kv_cache_usage_perc", "vllm_num_requests_waiting"] and QUEUE_RULE in rules
    (kv,) = adapter_rules([("vllm", "kv-cache")])
    assert kv["metricsQuery"].startswith("max(") and kv["name"]["as"] == "vllm_kv_cache_usage_perc"


def _llm(signal="queue", addons=None, ingress=True, runtime="vllm"):
    store = ModelStore("models", ModelStoreArgs(bucket="acme-models", read_prefixes=["m"]))
    return ModelEndpoint("qwen", ModelEndpointArgs(
        model_store=store, model_path="m", region="cn-beijing", sls_project=f"k8s-log-{CLUSTER_ID}", namespace="llm", addons=addons,
        runtime=runtime, runtime_options={"api_key_secret": "qwen-key"} if runtime == "vllm" else {},
        resources=ServerResources(gpu=1, cpu="6", memory="24Gi"), placement=PlacementChoice(mode="eci"),
        ingress=IngressChoice(host="llm.example.com", tls_secret="llm-tls") if ingress else None,
        autoscaling=Autoscaling(min_replicas=1, max_replicas=4, signal=signal, target_queue_per_replica=3)))


@pulumi.runtime.test
def test_an_llm_scaled_on_its_queue_is_scraped_by_a_podmonitor_and_its_hpa_reads_the_rule(mocks):
    addons = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER_ID, prometheus_url=URL,
                                                        prometheus_rules=adapter_rules([("vllm", "queue")])))
    endpoint = _llm(addons=addons, ingress=False)  # internal only: the queue needs no ingress

    def check(_):
        # The queue, and the KV-cache use that holds the replicas while the batches run and the queue is empty.
        queue, kv = mocks.resources["qwen-hpa"].inputs["spec"]["metrics"]
        assert queue["pods"]["metric"]["name"] == "vllm_num_requests_waiting" and queue["pods"]["target"]["averageValue"] == "3"
        assert kv["pods"]["metric"]["name"] == "vllm_kv_cache_usage_perc" and kv["pods"]["target"]["averageValue"] == "800m"
        monitor = mocks.resources["qwen-pod-monitor"].inputs
        assert (monitor["apiVersion"], monitor["kind"], monitor["metadata"]["namespace"]) == ("monitoring.coreos.com/v1", "PodMonitor", "llm")
        assert monitor["metadata"]["annotations"]["arms.prometheus.io/discovery"] == "true"
        spec = monitor["spec"]
        assert spec["selector"]["matchLabels"] == dict(endpoint.server.selector)
        (ep,) = spec["podMetricsEndpoints"]
        assert (ep["port"], ep["path"]) == ("http", "/metrics")  # vLLM's /metrics needs no API key
        assert {r["targetLabel"] for r in ep["relabelings"]} == {"namespace", "pod"}  # what the adapter rule maps
        values = mocks.resources["cluster-metrics-adapter"].inputs["values"]["AlibabaCloudMetricsAdapter"]["prometheus"]
        assert values["enabled"] is True and values["url"] == URL and QUEUE_RULE in values["adapter"]["rules"]["custom"]
        assert "podmonitors.monitoring.coreos.com" in endpoint.prerequisites
        # ACK's Prometheus agent scrapes from arms-prom: the server's NetworkPolicy lets it in.
        (rule,) = mocks.resources["qwen-network-policy"].inputs["spec"]["ingress"]
        admitted = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"] if "namespaceSelector" in p}
        assert admitted == {"kube-system", "arms-prom"}

    return after(endpoint.urn).apply(check)


@pytest.mark.parametrize("kwargs, arg", [
    ({"runtime": "tensorflow-serving"}, "autoscaling.signal"),  # TF Serving exposes no queue metric
    ({"addons": "no-rules"}, "addons"),  # the adapter would not serve the metric
    ({"signal": "qps", "ingress": False}, "ingress"),  # the QPS is measured at the ingress
])
def test_a_signal_the_endpoint_cannot_be_scaled_on_is_refused(mocks, kwargs, arg):
    if kwargs.get("addons") == "no-rules":
        kwargs["addons"] = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER_ID))
    with pytest.raises(ArgsError) as caught:
        _llm(**kwargs)
    assert arg in [p.arg for p in caught.value.problems], caught.value.problems


def test_adapter_rules_need_the_prometheus_url():
    assert [p.arg for p in ClusterAddonsArgs(cluster_id=CLUSTER_ID, prometheus_rules=[QUEUE_RULE]).problems()] == ["prometheus_url"]
    assert [p.arg for p in ClusterAddonsArgs(cluster_id=CLUSTER_ID, prometheus_url="ftp://x").problems()] == ["prometheus_url"]


def llm_raw(raw, **scaling):
    bert = raw["services"]["bert"]
    bert.update(runtime="vllm", llm={"apiKeySecret": "bert-key"})
    bert["resources"] = {"gpu": 1, "cpu": "3", "memory": "10Gi"}
    bert["placement"] = {"mode": "eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}
    bert["autoscaling"] = {"minReplicas": 1, "maxReplicas": 4, **scaling}
    return raw


def test_the_metric_setting_selects_the_signal_and_its_target(raw):
    raw = llm_raw(raw, metric="kv-cache", targetKvCacheUsage=0.7)
    raw["cluster"]["prometheusUrl"] = URL
    scaling = from_raw(raw, "cn-beijing").services["bert"].autoscaling.args()
    assert (scaling.signal, scaling.target) == ("kv-cache", 0.7)


@pytest.mark.parametrize("edit, key, fragment", [
    (lambda r: None, "services.bert.autoscaling.metric", "cluster.prometheusUrl"),
    (lambda r: r["services"]["bert"]["autoscaling"].update(targetKvCacheUsage=1.5), "services.bert.autoscaling.targetKvCacheUsage", ""),
    (lambda r: r["services"]["bert"]["autoscaling"].update(metric="latency"), "services.bert.autoscaling.metric", "'queue'"),
    # The component's Autoscaling.signal is the stack file's autoscaling.metric.
    (lambda r: r["services"]["bert"].update(runtime="tensorflow-serving", llm=None) or r["services"]["bert"].pop("llm"),
     "services.bert.autoscaling.metric", "exposes none"),
])
def test_metric_settings_problems_name_their_keys(raw, edit, key, fragment):
    raw = llm_raw(raw, metric="queue")
    edit(raw)
    with pytest.raises(ConfigError) as caught:
        from_raw(raw, "cn-beijing")
    assert any(str(p).startswith(key + ":") and fragment in str(p) for p in caught.value.problems), caught.value.problems


def _plan(hpa_metric, rules, monitor=True, port="http", admit=None):
    pod = {"metadata": {"labels": {"app": "qwen"}},
           "spec": {"containers": [{"name": "vllm", "ports": [{"name": port, "containerPort": 8000}]}]}}
    res = [
        {"urn": "u:dep", "type": "kubernetes:apps/v1:Deployment", "name": "qwen-deployment", "custom": True,
         "inputs": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
                    "spec": {"template": pod}}},
        {"urn": "u:hpa", "type": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "name": "qwen-hpa", "custom": True,
         "inputs": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "qwen", "namespace": "llm"},
                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "qwen"},
                             "minReplicas": 1, "maxReplicas": 4, "metrics": [hpa_metric]}}},
        {"urn": "u:rel", "type": "kubernetes:helm.sh/v3:Release", "name": "cluster-metrics-adapter", "custom": True,
         "inputs": {"chart": "ack-alibaba-cloud-metrics-adapter",
                    "values": {"AlibabaCloudMetricsAdapter": {"prometheus": {"adapter": {"rules": {"custom": rules}}}}}}},
    ]
    if admit is not None:
        peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in admit]
        res.append({"urn": "u:np", "type": "kubernetes:networking.k8s.io/v1:NetworkPolicy", "name": "qwen-network-policy", "custom": True,
                    "inputs": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "qwen", "namespace": "llm"},
                               "spec": {"podSelector": {"matchLabels": {"app": "qwen"}}, "policyTypes": ["Ingress"],
                                        "ingress": [{"from": peers, "ports": [{"port": 8000, "protocol": "TCP"}]}]}}})
    if monitor:
        res.append({"urn": "u:pm", "type": "kubernetes:monitoring.coreos.com/v1:PodMonitor", "name": "qwen-pod-monitor", "custom": True,
                    "inputs": {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "qwen", "namespace": "llm"},
                               "spec": {"selector": {"matchLabels": {"app": "qwen"}}, "namespaceSelector": {"matchNames": ["llm"]},
                                        "podMetricsEndpoints": [{"port": "http", "path": "/metrics"}]}}})
    return [f for f in preflight.run(res, {}) if f.check == "prometheus-metric-served"]


def test_the_preflight_finds_a_pod_metric_nothing_serves():
    metric = SIGNALS["queue"].hpa_metric("vllm:num_requests_waiting", 3)
    assert _plan(metric, [QUEUE_RULE]) == []
    (no_rule,) = _plan(metric, [])
    assert no_rule.level == "error" and "no rule" in no_rule.message
    (no_monitor,) = _plan(metric, [QUEUE_RULE], monitor=False)
    assert "no PodMonitor" in no_monitor.message
    (wrong_port,) = _plan(metric, [QUEUE_RULE], port="api")  # the PodMonitor names a port the pods do not have
    assert "no PodMonitor" in wrong_port.message
    (blocked,) = _plan(metric, [QUEUE_RULE], admit=["kube-system"])  # the scraper's namespace is not admitted
    assert "arms-prom" in blocked.message
    assert _plan(metric, [QUEUE_RULE], admit=["kube-system", "arms-prom"]) == []


def test_the_adapter_values_are_json_and_absent_without_a_url():
    from components.cluster_addons import adapter_values

    assert adapter_values(None, [QUEUE_RULE]) is None
    assert json.loads(json.dumps(adapter_values(URL, [QUEUE_RULE])))["AlibabaCloudMetricsAdapter"]["prometheus"]["url"] == URL
