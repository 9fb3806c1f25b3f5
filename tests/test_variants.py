"""Runtimes and placement modes are registered variants: a new one is its module plus its registration.

The toy runtime and the toy placement mode below are added the way the README says (a subclass
of the contract, one line in the table), and the config schema, the component, the composite
and the simulator take them without any other change. A half-written variant fails where its
table is built, and an unregistered name fails with the registered ones listed.
"""

import sys
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import elastic_inference  # noqa: F401 - the installed copy of the registries, which a program outside the repository uses
import pytest

from components import (
    PLACEMENTS, RUNTIMES, InferenceService, InferenceServiceArgs, ModelEndpoint, ModelEndpointArgs, ModelStore, ModelStoreArgs,
    PlacementChoice, PlacementMode, RegistryError, Runtime,
)
from components.placements.base import PodScheduling
from components.registry import registry
from components.runtimes.base import PodContext, Workload, find, pod_spec, resources
from config import ConfigError, from_raw
from elastic_inference_tools.simulate.build import assumptions, rendered_stack, service_model
from tests.test_components import after


class Echo(Runtime):
    """A runtime as a contributor would write one: a Deployment of an HTTP server on 8080."""

    name = "echo"
    scaling = "hpa"
    workload_kinds = ("Deployment",)

    def default_image(self, gpu: int) -> str:
        return "ealen/echo-server:0.9.2"

    def service_endpoint(self, name: str) -> tuple[str, int]:
        return name, 8080

    def network_ports(self) -> Optional[Sequence[int]]:
        return (8080,)

    def build(self, ctx: PodContext) -> Workload:
        args = ctx.args
        container = {"name": "echo", "image": args.image or self.default_image(args.gpu), "resources": resources(args),
                     "ports": [{"name": "http", "containerPort": 8080}]}
        deployment = k8s.apps.v1.Deployment(
            f"{ctx.name}-deployment",
            metadata={"name": ctx.name, "namespace": args.namespace, "labels": dict(ctx.labels)},
            spec={"selector": {"matchLabels": dict(ctx.selector)},
                  "template": {"metadata": {"labels": dict(ctx.pod_labels)}, "spec": pod_spec(ctx, [container])}},
            opts=ctx.workload_opts(),
        )
        service = k8s.core.v1.Service(
            f"{ctx.name}-service", metadata={"name": ctx.name, "namespace": args.namespace},
            spec={"selector": dict(ctx.selector), "ports": [{"name": "http", "port": 8080}]}, opts=pulumi.ResourceOptions(parent=ctx.owner))
        return Workload(deployment, service.metadata.name, 8080, {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name})

    def rendered_hpa(self, objects: Sequence[Mapping[str, Any]], name: str, namespace: str) -> Optional[Mapping[str, Any]]:
        return find(objects, "HorizontalPodAutoscaler", name, namespace)


class ZoneA(PlacementMode):
    """A placement mode as a contributor would write one: ECI in one zone only."""

    name = "eci-zone-a"
    uses_node_pool = False
    uses_eci = True

    def pod_scheduling(self, args: Any) -> PodScheduling:
        return PodScheduling(labels={"alibabacloud.com/eci": "true"}, annotations={"k8s.aliyun.com/eci-vswitch": "vsw-zone-a"})

    def resource_policy(self, args: Any) -> Optional[dict[str, Any]]:
        return None


@pytest.fixture
def registered(monkeypatch):
    """Echo and ZoneA in the tables, as their one line of registration would put them: in every loaded
    copy of the registries (the package as ``components`` and as the installed ``elastic_inference``,
    and a copy another test re-imported)."""
    for name, module in list(sys.modules.items()):
        if name.endswith(".runtimes") and isinstance(getattr(module, "RUNTIMES", None), dict):
            monkeypatch.setitem(module.RUNTIMES, Echo.name, Echo())
        if name.endswith(".placements") and isinstance(getattr(module, "PLACEMENTS", None), dict):
            monkeypatch.setitem(module.PLACEMENTS, ZoneA.name, ZoneA())
    monkeypatch.setitem(RUNTIMES, Echo.name, Echo())
    monkeypatch.setitem(PLACEMENTS, ZoneA.name, ZoneA())


def test_a_variant_missing_part_of_its_contract_fails_when_its_table_is_built():
    class HalfRuntime(Runtime):
        name = "half"
        scaling = "hpa"
        workload_kinds = ("Deployment",)

        def default_image(self, gpu: int) -> str:
            return "x:1"

    with pytest.raises(TypeError, match="abstract"):
        registry(Runtime, [HalfRuntime()])  # type: ignore[abstract]

    class HalfMode(PlacementMode):
        name = "half"
        uses_node_pool = False
        uses_eci = True

    with pytest.raises(TypeError, match="abstract"):
        registry(PlacementMode, [HalfMode()])  # type: ignore[abstract]

    class Bare(Runtime):  # every method, but not the contract's class attributes
        default_image = Echo.default_image
        service_endpoint = Echo.service_endpoint
        network_ports = Echo.network_ports
        build = Echo.build
        rendered_hpa = Echo.rendered_hpa
        name = "bare"

    with pytest.raises(RegistryError, match="does not define scaling, workload_kinds, of the Runtime contract"):
        registry(Runtime, [Bare()])


def test_a_table_refuses_duplicates_nameless_and_foreign_variants():
    with pytest.raises(RegistryError, match="registered twice"):
        registry(Runtime, [Echo(), Echo()])
    with pytest.raises(RegistryError, match="is not a Runtime"):
        registry(Runtime, [ZoneA()])

    class Nameless(Echo):
        name = ""

    with pytest.raises(RegistryError, match="has no name"):
        registry(Runtime, [Nameless()])


def test_an_unregistered_runtime_or_mode_is_refused_with_the_registered_ones(raw):
    raw["services"]["bert"]["runtime"] = "triton"
    raw["services"]["bert"]["placement"]["mode"] = "burst"
    with pytest.raises(ConfigError) as caught:
        from_raw(raw, "cn-beijing")
    lines = [str(p) for p in caught.value.problems]
    assert any(line.startswith("services.bert.runtime:") and "'tensorflow-serving'" in line and "'seldon'" in line for line in lines)
    assert any(line.startswith("services.bert.placement.mode:") and "'eci-tiers'" in line for line in lines)
    with pytest.raises(ValueError, match="InferenceServiceArgs.runtime: must be one of 'tensorflow-serving', 'seldon', 'vllm'"):
        InferenceService("x", InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", runtime="triton"))


@pulumi.runtime.test
def test_a_registered_runtime_and_mode_are_taken_by_config_component_and_simulator(registered, raw, mocks):
    raw["services"]["bert"]["runtime"] = "echo"
    raw["services"]["bert"]["placement"] = {"mode": "eci-zone-a"}
    raw["services"]["bert"]["resources"]["gpu"] = 0
    settings = from_raw(raw, "cn-beijing")
    assert settings.services["bert"].serving_image == "ealen/echo-server:0.9.2"

    store = ModelStore("models", ModelStoreArgs(bucket="acme-models", read_prefixes=["m"]))
    endpoint = ModelEndpoint("bert", ModelEndpointArgs(
        model_store=store, model_path="m", region="cn-beijing", sls_project="k8s-log-c1", runtime="echo",
        placement=PlacementChoice(mode="eci-zone-a"), autoscaling=settings.services["bert"].autoscaling.args(),
        ingress=settings.services["bert"].ingress.choice(),
    ))

    def check(_: Any) -> None:
        deployment = mocks.resources["bert-deployment"].inputs
        pod = deployment["spec"]["template"]
        assert pod["spec"]["containers"][0]["image"] == "ealen/echo-server:0.9.2"
        assert pod["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
        hpa = mocks.resources["bert-hpa"].inputs
        assert hpa["spec"]["scaleTargetRef"]["name"] == "bert"
        route = hpa["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]["sls.ingress.route"]
        assert route == "default-bert-8080"  # the echo runtime's Service and port, derived inside the composite
        assert [p["port"] for p in mocks.resources["bert-network-policy"].inputs["spec"]["ingress"][0]["ports"]] == [8080]

    return after(endpoint.urn).apply(check)


def test_the_render_and_the_simulator_take_a_variant_a_program_registers(registered, tmp_path):
    """A team's own program (outside this repository) using the echo runtime and the eci-zone-a mode: the
    render runs it, and the simulator reads the service from what it declares, with no facts of its own."""
    (tmp_path / "Pulumi.yaml").write_text("name: team\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  alicloud:region: cn-beijing\n")
    (tmp_path / "__main__.py").write_text(
        "from elastic_inference import (Autoscaling, IngressChoice, ModelEndpoint, ModelEndpointArgs, ModelStore, ModelStoreArgs,\n"
        "                               PlacementChoice, ServerResources)\n"
        "store = ModelStore('models', ModelStoreArgs(bucket='acme-models', read_prefixes=['m']))\n"
        "ModelEndpoint('bert', ModelEndpointArgs(model_store=store, model_path='m', region='cn-beijing', sls_project='k8s-log-c1',\n"
        "    runtime='echo', placement=PlacementChoice(mode='eci-zone-a'), resources=ServerResources(gpu=0, cpu='2', memory='4Gi'),\n"
        "    autoscaling=Autoscaling(max_replicas=7, target_qps_per_replica=10), ingress=IngressChoice(host='a.example.com')))\n")
    plan = rendered_stack(str(tmp_path), "dev")
    prices = {"eci": {"vcpu_hour": 0.1, "gib_hour": 0.01, "spot_factor": 0.3}}
    model = service_model(plan, "bert", prices, assumptions(None))
    assert model.hpa is not None and model.hpa.max_replicas == 7 and model.hpa.target_milli == 10_000
    assert [(u.kind, u.max, u.spot) for u in model.units] == [("eci", None, False)] and model.pool is None
    assert model.eci_price_on_demand == pytest.approx(2 * 0.1 + 4 * 0.01)  # from the pod's requests: no ECI specs listed
