"""The simulator's LLM model: a queue-driven HPA (Pods metrics), a server queue by Little's law, and its comparison
with QPS-based scaling on the same trace (elastic_inference_tools/simulate/)."""

import math

import pytest

from elastic_inference_tools.simulate import build, traces
from elastic_inference_tools.simulate.hpa import HpaController, HpaSpec, pods_average_value_replicas
from elastic_inference_tools.simulate.model import LlmServing, ServiceModel, Unit, simulate
from tests.conftest import ROOT

LLM_DIR = f"{ROOT}/examples/llm"
QUEUE, KV = "vllm_num_requests_waiting", "vllm_kv_cache_usage_perc"


def _hpa(**spec):
    metrics = [{"type": "Pods", "pods": {"metric": {"name": QUEUE}, "target": {"type": "AverageValue", "averageValue": "4"}}},
               {"type": "Pods", "pods": {"metric": {"name": KV}, "target": {"type": "AverageValue", "averageValue": "800m"}}}]
    return {"spec": {"minReplicas": 1, "maxReplicas": 8, "metrics": metrics, **spec}}


def test_pods_metrics_are_read_from_the_hpa_and_averaged_over_the_ready_pods():
    spec = HpaSpec.from_manifest(_hpa())
    assert spec.target_milli is None and spec.pods_targets == ((QUEUE, 4000), (KV, 800))
    # replica_calculator.go GetMetricReplicas: ceil(mean / target x ready pods), unchanged within the 10 % tolerance.
    assert pods_average_value_replicas(current=2, ready=2, mean_milli=12000, target_milli=4000) == 6
    assert pods_average_value_replicas(current=2, ready=2, mean_milli=4200, target_milli=4000) == 2
    controller = HpaController(spec)
    # The queue empty but the batches full: the KV-cache use holds the replicas (the larger proposal wins).
    assert controller.sync(15, 4, 4, None, pods={QUEUE: 0.0, KV: 0.85}, ready=4) == 4
    # Neither readable: the replicas stay (computeReplicasForMetrics).
    assert controller.sync(30, 4, 4, None, pods={}, ready=4) == 4


def _model(hpa=None, fixed=2, **llm):
    serving = LlmServing(**{"concurrency": 32, "request_seconds": 10.0, "client_timeout": 60, "kv_cache_usage_at_concurrency": 0.9,
                            "scrape_interval": 15, "metrics": {QUEUE: "queue", KV: "kv-cache"}, **llm})
    return ServiceModel(name="qwen", hpa=hpa, fixed_replicas=fixed, units=(Unit("eci"),), pool=None,
                        replica_capacity_qps=serving.replica_qps, eci_price_on_demand=1.0, eci_price_spot=1.0, llm=serving)


def test_a_replica_completes_concurrency_over_request_seconds_and_the_rest_waits_then_gives_up():
    # Two fixed replicas: 2 x 32 / 10 s = 6.4 requests/s.
    below = simulate(_model(), [5.0] * 300)
    assert max(below.waiting) == 0 and sum(below.dropped_qps) == 0
    # Little's law: 5 requests/s held 10 s each are 50 sequences of the 64 slots: KV use 50/64 x 0.9.
    assert below.kv_cache_usage[-1] == pytest.approx(50 / 64 * 0.9)
    above = simulate(_model(), [10.0] * 600)
    # 3.6 requests/s more than they complete queue up, until the queue holds the client's 60 s of capacity.
    assert above.waiting[9] == pytest.approx(36.0)  # after 10 seconds
    assert max(above.waiting) == pytest.approx(6.4 * 60)
    assert above.dropped_qps[-1] == pytest.approx(3.6) and above.served_qps[-1] == pytest.approx(6.4)


def test_a_queue_driven_hpa_adds_replicas_as_the_queue_grows():
    hpa = HpaSpec.from_manifest(_hpa())
    timeline = simulate(_model(hpa=hpa), [2.0] * 120 + [12.0] * 1200)
    # 12 requests/s need ceil(12 / 3.2) = 4 replicas; the queue asks for them and the KV-cache use keeps them.
    assert timeline.desired_replicas[0] == 1 and max(timeline.desired_replicas) >= 4
    assert timeline.ready_replicas[-1] >= math.ceil(12 / 3.2)


@pytest.fixture(scope="module")
def llm_models():
    prices = build.load_yaml(build.DEFAULT_PRICES, "prices")

    def model(stack, overrides=None):
        assumed = build.assumptions(None)
        for section, values in (overrides or {}).items():
            assumed[section] = {**assumed[section], **values}
        return build.service_model(build.rendered_stack(LLM_DIR, stack), "qwen", prices, assumed)

    return model


def test_the_llm_example_is_modelled_from_its_plan(llm_models):
    m = llm_models("prod")
    assert m.llm is not None and m.llm.concurrency == 32  # min(the estimate, --max-num-seqs 64)
    assert dict(m.llm.metrics) == {QUEUE: "queue", KV: "kv-cache"}
    assert m.hpa is not None and m.hpa.target_milli is None and dict(m.hpa.pods_targets) == {QUEUE: 4000, KV: 800}
    assert m.model_load == build.assumptions(None)["llm"]["model_load_seconds"]
    assert llm_models("qps").hpa.target_milli == 2500  # the same service on the ingress QPS


def test_requests_longer_than_the_qps_target_assumed_are_caught_by_the_queue_not_by_the_qps(llm_models):
    # The QPS target was sized for 10 s requests; the traffic's requests take 20 s. The QPS HPA cannot see it,
    # the queue does: the queue-driven service turns fewer requests away on the same trace.
    longer = {"llm": {"request_seconds": 20}}
    trace = traces.shape("step", 1, 8)
    by_queue = simulate(llm_models("prod", longer), trace)
    by_qps = simulate(llm_models("qps", longer), trace)
    assert sum(by_queue.dropped_qps) < sum(by_qps.dropped_qps)
    assert max(by_queue.ready_replicas) > max(by_qps.ready_replicas)
