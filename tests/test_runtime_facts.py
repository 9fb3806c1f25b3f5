"""The facts each runtime declares for the render's preflight (``Runtime.unscalable_kinds``,
``crd_providers``, ``workload_pods``, ``workload_hpa_specs``) are well-formed, and agree with what
the runtime itself renders and what the simulator reads."""

import pytest

from components import RUNTIMES
from components.runtimes.base import CrdProvider, WorkloadPod
from components.runtimes.seldon import EXECUTOR, EXECUTOR_RESOURCES, KIND


@pytest.mark.parametrize("name", sorted(RUNTIMES))
def test_each_runtimes_facts_are_keyed_by_group_and_kind_and_cite_a_source(name):
    rt = RUNTIMES[name]
    for (group, kind), source in rt.unscalable_kinds.items():
        assert "." in group and kind and source.strip(), (group, kind)
    for (group, _kind), provider in rt.crd_providers.items():
        assert isinstance(provider, CrdProvider)
        # A CRD is named <plural>.<group>, and a runtime requires the CRDs of the kinds it creates.
        assert provider.crd.endswith("." + group) and provider.crd in rt.required_crds, provider


def seldon_deployment(**predictor):
    return {"apiVersion": "machinelearning.seldon.io/v1", "kind": KIND, "metadata": {"name": "s", "namespace": "d"},
            "spec": {"predictors": [{"name": "default", **predictor, "componentSpecs": [
                {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "m"}]},
                 "hpaSpec": {"minReplicas": 2, "maxReplicas": 5, "metricsv2": [{"type": "Resource"}]}},
                {"spec": {"containers": [{"name": "second"}]}},
            ]}]}}


def test_seldons_executor_joins_the_first_component_of_each_predictor():
    first, second = RUNTIMES["seldon"].workload_pods(seldon_deployment())
    assert first == WorkloadPod("spec.predictors[0].componentSpecs[0]", {"labels": {"app": "s"}},
                                {"containers": [{"name": "m"}]}, ({"name": EXECUTOR, "resources": EXECUTOR_RESOURCES},))
    assert second.where == "spec.predictors[0].componentSpecs[1]" and second.injected == ()
    (alone, _) = RUNTIMES["seldon"].workload_pods(seldon_deployment(annotations={"seldon.io/no-engine": "true"}))
    assert alone.injected == ()
    assert RUNTIMES["seldon"].workload_pods({"spec": {"predictors": "[unknown]"}}) == []


def test_seldons_hpa_spec_is_the_one_the_simulator_reads():
    manifest = seldon_deployment()
    ((where, spec),) = RUNTIMES["seldon"].workload_hpa_specs(manifest)
    assert where == "spec.predictors[0].componentSpecs[0].hpaSpec"
    simulated = RUNTIMES["seldon"].rendered_hpa([manifest], "s", "d")
    assert simulated is not None
    assert simulated["spec"] == {"minReplicas": spec["minReplicas"], "maxReplicas": spec["maxReplicas"], "metrics": spec["metricsv2"]}
