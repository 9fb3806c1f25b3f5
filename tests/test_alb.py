"""ALB Ingress support: the ingress controllers, AlbGateway, the components' ALB wiring and the stack settings.

Component tests run under Pulumi's mock runtime and return the Output whose callback asserts (STYLE.md,
lesson 9). The mocks answer ``vpc.get_switches`` with one CIDR block per vSwitch, as the provider would.
"""

import json
import re
from types import SimpleNamespace

import pulumi
import pytest

from components import (
    CRD_ADDONS, INGRESS_CONTROLLERS, AlbGateway, AlbGatewayArgs, Autoscaling, ClusterAddons, ClusterAddonsArgs, IngressChoice,
    InferenceService, InferenceServiceArgs, ModelEndpoint, ModelEndpointArgs, ModelStore, ModelStoreArgs, PlacementChoice,
    PublicEndpoint, PublicEndpointArgs, QpsAutoscalerArgs, ServerResources, qps_metric,
)
from components.alb_gateway import LOGSTORE
from components.ingresses.alb import BACKEND_TYPE, LISTEN_PORTS, SSL_REDIRECT
from components.model_endpoint import alb_problems
from components.qps_autoscaler import QPS_METRICS
from config import ConfigError, from_raw
from tests.conftest import CLUSTER_ID, RecordingMocks, install_mocks
from tests.test_components import after

SWITCHES = {"vsw-aaa": "10.0.1.0/24", "vsw-bbb": "10.0.2.0/24", "vsw-ccc": "10.0.3.0/24"}
LOG_PROJECT = f"k8s-log-{CLUSTER_ID}"


class SwitchMocks(RecordingMocks):
    """RecordingMocks that also answer the vSwitches data source, and record each lookup."""

    def __init__(self):
        super().__init__()
        self.lookups = []

    def call(self, args):
        if args.token == "alicloud:vpc/getSwitches:getSwitches":
            ids = list(args.args.get("ids", []))
            self.lookups.append(ids)
            # The provider's answer (pulumi_alicloud vpc/outputs.py GetSwitchesVswitchResult: every key is required).
            found = [{"id": i, "vswitchId": i, "cidrBlock": SWITCHES[i], "availableIpAddressCount": 250, "creationTime": "",
                      "description": "", "enableIpv6": False, "ipv6CidrBlock": "", "isDefault": False, "name": i, "vswitchName": i,
                      "resourceGroupId": "", "routeTableId": "", "status": "Available", "tags": {}, "vpcId": "vpc-1",
                      "zoneId": "cn-beijing-" + i[-1]} for i in ids if i in SWITCHES]
            return {"id": "switches", "ids": [s["id"] for s in found], "names": [s["name"] for s in found], "vswitches": found}
        return super().call(args)


@pytest.fixture
def mocks():
    """Pulumi's mock runtime with the vSwitch lookups answered (overrides conftest's fixture in this module)."""
    return install_mocks(SwitchMocks())


def gateway_args(**overrides):
    return AlbGatewayArgs(**{"vswitch_ids": ["vsw-aaa", "vsw-bbb"], "log_project": LOG_PROJECT, **overrides})


# --- the ingress controllers -------------------------------------------------------------------


def test_the_registry_holds_nginx_and_alb_with_their_metrics_and_service_annotations():
    assert set(INGRESS_CONTROLLERS) == {"nginx", "alb"}
    nginx, alb = INGRESS_CONTROLLERS["nginx"], INGRESS_CONTROLLERS["alb"]
    # alibaba-cloud-metrics-adapter: NGINX logs -> sls_ingress_qps, ALB access logs -> sls_alb_ingress_qps.
    assert (nginx.metric, alb.metric) == ("sls_ingress_qps", "sls_alb_ingress_qps")
    assert (nginx.default_class, alb.default_class) == ("nginx", "alb")
    assert nginx.in_cluster and not alb.in_cluster
    assert dict(nginx.service_annotations) == {}
    assert dict(alb.service_annotations) == {"service.beta.kubernetes.io/backend-type": "eni"}
    assert QPS_METRICS == ("sls_ingress_qps", "sls_alb_ingress_qps")


@pytest.mark.parametrize("tls, ports, redirect", [
    (True, [{"HTTP": 80}, {"HTTPS": 443}], "true"),
    (False, [{"HTTP": 80}], None),
])
def test_alb_routing_attaches_the_listeners_and_redirects_to_https(tls, ports, redirect):
    routing = INGRESS_CONTROLLERS["alb"].routing("/", tls=tls)
    assert (routing.path, routing.path_type) == ("/", "Prefix")
    assert json.loads(routing.annotations[LISTEN_PORTS]) == ports
    assert routing.annotations.get(SSL_REDIRECT) == redirect
    assert LISTEN_PORTS == "alb.ingress.kubernetes.io/listen-ports" and SSL_REDIRECT == "alb.ingress.kubernetes.io/ssl-redirect"


def test_alb_serves_the_root_path_only_and_one_kind_of_certificate():
    alb = INGRESS_CONTROLLERS["alb"]
    assert [p.arg for p in alb.problems("/ranker", None, None)] == ["path"]
    assert alb.problems("/", None, None) == [] and alb.problems("/", None, "1234-cn-beijing") == []
    assert [p.arg for p in alb.problems("/", "bert-tls", "1234-cn-beijing")] == ["certificate_id"]


def test_nginx_rewrites_sub_paths_and_refuses_a_certificate_id():
    nginx = INGRESS_CONTROLLERS["nginx"]
    routing = nginx.routing("/ranker", tls=True)
    assert (routing.path, routing.path_type) == ("/ranker(/|$)(.*)", "ImplementationSpecific")
    assert dict(routing.annotations) == {"nginx.ingress.kubernetes.io/ssl-redirect": "true",
                                         "nginx.ingress.kubernetes.io/rewrite-target": "/$2"}
    assert [p.arg for p in nginx.problems("/", None, "1234-cn-beijing")] == ["certificate_id"]
    assert nginx.problems("/", "bert-tls", None) == []


# --- AlbGateway ---------------------------------------------------------------------------------


@pulumi.runtime.test
def test_a_new_alb_gets_an_albconfig_in_its_zones_with_access_logs_and_an_ingress_class(mocks):
    gw = AlbGateway("inference-gw", gateway_args(certificate_ids=["cert-1"]))

    def check(_):
        config = mocks.resources["inference-gw-alb-config"].inputs
        assert (config["apiVersion"], config["kind"], config["metadata"]["name"]) == ("alibabacloud.com/v1", "AlbConfig", "inference-gw")
        # The controller writes the AlbConfig back (alb_controller.go syncIngress): the stack's apply must win.
        assert config["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
        assert config["spec"]["config"] == {
            "accessLogConfig": {"logProject": LOG_PROJECT, "logStore": "alb_inference_gw"},  # '-' as '_'
            "name": "inference-gw", "addressType": "Internet", "edition": "Standard",
            "zoneMappings": [{"vSwitchId": "vsw-aaa"}, {"vSwitchId": "vsw-bbb"}],
        }
        assert config["spec"]["listeners"] == [
            {"port": 80, "protocol": "HTTP"},
            {"port": 443, "protocol": "HTTPS", "certificates": [{"CertificateId": "cert-1", "IsDefault": True}]},
        ]
        cls = mocks.resources["inference-gw-ingress-class"].inputs
        assert cls["metadata"]["name"] == "inference-gw"
        assert cls["spec"] == {"controller": "ingress.k8s.alibabacloud/alb",
                               "parameters": {"apiGroup": "alibabacloud.com", "kind": "AlbConfig", "name": "inference-gw"}}
        assert (gw.class_name, gw.log_project, gw.log_store, gw.https) == ("inference-gw", LOG_PROJECT, "alb_inference_gw", True)
        assert len(gw.dependencies) == 2 and "albconfigs.alibabacloud.com" in gw.prerequisites

    return after(gw.urn).apply(check)


@pulumi.runtime.test
def test_an_existing_alb_is_taken_by_id_without_overriding_its_settings(mocks):
    gw = AlbGateway("alb", gateway_args(load_balancer_id="alb-2zeabc", log_store="alb_shared", https=False))

    def check(_):
        spec = mocks.resources["alb-alb-config"].inputs["spec"]
        assert spec["config"] == {"accessLogConfig": {"logProject": LOG_PROJECT, "logStore": "alb_shared"},
                                  "id": "alb-2zeabc", "forceOverride": False}  # no name, zones, edition: the instance's own
        assert spec["listeners"] == [{"port": 80, "protocol": "HTTP"}]  # https=False: no HTTPS listener

    return after(gw.urn).apply(check)


@pulumi.runtime.test
def test_the_https_listener_lists_each_certificate_once_the_first_the_default(mocks):
    gw = AlbGateway("alb", gateway_args(certificate_ids=["c-1", "c-2", "c-1"]))

    def check(_):
        (https,) = [ls for ls in mocks.resources["alb-alb-config"].inputs["spec"]["listeners"] if ls["protocol"] == "HTTPS"]
        assert https["certificates"] == [{"CertificateId": "c-1", "IsDefault": True}, {"CertificateId": "c-2", "IsDefault": False}]
        assert gw.certificate_ids == ("c-1", "c-2")

    return after(gw.urn).apply(check)


@pulumi.runtime.test
def test_source_cidrs_are_each_vswitchs_block_then_the_extra_ones(mocks):
    gw = AlbGateway("alb", gateway_args(vswitch_ids=["vsw-aaa", "vsw-bbb", "vsw-aaa"], source_cidrs=["100.64.0.0/10"]))

    def check(cidrs):
        assert cidrs == ["10.0.1.0/24", "10.0.2.0/24", "100.64.0.0/10"]
        assert sorted(mocks.lookups) == [["vsw-aaa"], ["vsw-bbb"]]  # one lookup per distinct vSwitch

    return pulumi.Output.all(*gw.source_cidrs).apply(check)


@pytest.mark.parametrize("name, overrides, arg", [
    ("alb", {"vswitch_ids": ["vsw-aaa"]}, "vswitch_ids"),
    ("alb", {"vswitch_ids": ["vsw-aaa", "vsw-aaa"]}, "vswitch_ids"),  # one zone twice
    ("alb", {"log_store": "nginx-ingress"}, "log_store"),  # ALB's access logs need an alb_ logstore
    ("alb", {"log_store": "alb_Upper"}, "log_store"),
    ("alb", {"load_balancer_id": "lb-123"}, "load_balancer_id"),
    ("alb", {"certificate_ids": ["c-1"], "https": False}, "certificate_ids"),
    ("alb", {"source_cidrs": ["10.0.0.0"]}, "source_cidrs"),
    ("alb", {"edition": "Basic"}, "edition"),
    ("aliyun-alb", {}, "name"),  # ACK reserves the prefix
])
def test_the_gateway_refuses_bad_arguments_by_name(mocks, name, overrides, arg):
    with pytest.raises(ValueError, match=rf"AlbGatewayArgs\.{arg}:"):
        AlbGateway(name, gateway_args(**overrides))


def test_the_default_logstore_of_a_long_gateway_name_is_still_a_valid_logstore(mocks):
    # A DNS label of 63 characters is a valid gateway name; "alb_" + it is 67 characters, over SLS's 63.
    name = "a" * 63
    try:
        gw = AlbGateway(name, gateway_args())
    except ValueError as refused:
        assert "name" in str(refused) or "log_store" in str(refused)
        return
    assert LOGSTORE.match(gw.log_store), f"default logstore {gw.log_store!r} ({len(gw.log_store)} chars) is not a valid SLS logstore"


# --- PublicEndpoint, QpsAutoscaler, InferenceService, ClusterAddons ------------------------------


@pulumi.runtime.test
def test_an_alb_endpoint_with_a_certificate_id_lists_its_host_for_tls_without_a_secret(mocks):
    endpoint = PublicEndpoint("bert", PublicEndpointArgs(namespace="inference", host="bert.example.com", service_name="bert",
                                                         service_port=8501, controller="alb", certificate_id="1234-cn-beijing"))

    def check(values):
        url, route = values[0], values[1]
        assert url == "https://bert.example.com/" and route == "inference-bert-8501"
        ing = mocks.resources["bert-ingress"].inputs
        assert ing["spec"]["ingressClassName"] == "alb"  # the controller's usual class
        assert ing["spec"]["tls"] == [{"hosts": ["bert.example.com"]}]  # the listener holds the certificate
        annotations = ing["metadata"]["annotations"]
        assert json.loads(annotations[LISTEN_PORTS]) == [{"HTTP": 80}, {"HTTPS": 443}] and annotations[SSL_REDIRECT] == "true"
        assert not any(k.startswith("nginx.ingress.kubernetes.io/") for k in annotations)
        (path,) = ing["spec"]["rules"][0]["http"]["paths"]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")

    return after(endpoint.url, endpoint.route).apply(check)


@pytest.mark.parametrize("overrides, arg", [
    ({"certificate_id": "1234-cn-beijing"}, "certificate_id"),  # nginx takes its certificate from a Secret
    ({"controller": "alb", "path": "/ranker"}, "path"),
    ({"controller": "traefik"}, "controller"),
    ({"controller": "alb", "ingress_class": "Not_A_Label"}, "ingress_class"),
])
def test_public_endpoint_args_refuse_what_the_controller_cannot_serve(overrides, arg):
    args = PublicEndpointArgs(**{"namespace": "d", "host": "a.example.com", "service_name": "s", "service_port": 8501, **overrides})
    assert arg in [p.arg for p in args.problems()]


def test_qps_metric_is_the_controllers_metric_and_nothing_else():
    default = qps_metric("d-s-8501", "p", 10)
    alb = qps_metric("d-s-8501", LOG_PROJECT, 10, sls_logstore="alb_alb", metric="sls_alb_ingress_qps")
    assert default["external"]["metric"]["name"] == "sls_ingress_qps"  # unchanged for existing callers
    assert alb["external"]["metric"] == {"name": "sls_alb_ingress_qps", "selector": {"matchLabels": {
        "sls.project": LOG_PROJECT, "sls.logstore": "alb_alb", "sls.ingress.route": "d-s-8501"}}}
    with pytest.raises(ValueError, match="sls_alb_ingress_qps"):
        qps_metric("d-s-8501", "p", 10, metric="sls_alb_qps")
    args = QpsAutoscalerArgs(namespace="d", route="d-s-8501", sls_project="p", metric="sls_alb_qps",
                             scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "s"})
    assert [p.arg for p in args.problems()] == ["metric"]


@pulumi.runtime.test
def test_the_server_admits_cidrs_alone_and_annotates_its_service(mocks):
    svc = InferenceService("bert", InferenceServiceArgs(
        namespace="d", model_name="m", claim_name="c", image="tensorflow/serving:2.14.1", allow_from_namespaces=(),
        allow_from_cidrs=["10.0.1.0/24"], service_annotations={BACKEND_TYPE: "eni"}))

    def check(_):
        (rule,) = mocks.resources["bert-network-policy"].inputs["spec"]["ingress"]
        assert rule["from"] == [{"ipBlock": {"cidr": "10.0.1.0/24"}}]  # a policy, though no namespace is admitted
        assert mocks.resources["bert-service"].inputs["metadata"]["annotations"][BACKEND_TYPE] == "eni"

    return after(svc.service_name).apply(check)


def test_seldon_refuses_service_annotations_its_operator_would_drop():
    args = InferenceServiceArgs(namespace="d", model_name="m", claim_name="c", runtime="seldon", service_annotations={BACKEND_TYPE: "eni"})
    assert "service_annotations" in [p.arg for p in args.problems()]
    assert "service_annotations" not in [p.arg for p in InferenceServiceArgs(namespace="d", model_name="m", claim_name="c",
                                                                              runtime="seldon").problems()]


@pulumi.runtime.test
def test_cluster_addons_install_the_alb_controller_without_its_default_albconfig(mocks):
    addons = ClusterAddons("cluster", ClusterAddonsArgs(cluster_id=CLUSTER_ID, alb_ingress_controller=True))

    def check(_):
        addon = mocks.resources["cluster-alb-ingress-controller"]
        assert addon.typ == "alicloud:cs/kubernetesAddon:KubernetesAddon" and addon.inputs["name"] == "alb-ingress-controller"
        assert json.loads(addon.inputs["config"]) == {"albIngress": {"CreateDefaultALBConfig": False}}
        assert CRD_ADDONS["albconfigs.alibabacloud.com"] == "alb_ingress_controller"
        assert ClusterAddonsArgs(cluster_id=CLUSTER_ID).alb_ingress_controller is False  # opt-in

    return after(addons.urn).apply(check)


# --- ModelEndpoint behind the ALB ---------------------------------------------------------------


def _endpoint(ingress, alb=None):
    store = ModelStore("models", ModelStoreArgs(bucket="acme-models", read_prefixes=["m"]))
    return ModelEndpoint("bert", ModelEndpointArgs(
        model_store=store, model_path="m", region="cn-beijing", sls_project=LOG_PROJECT, namespace="inference",
        resources=ServerResources(gpu=0, cpu="2", memory="4Gi"), placement=PlacementChoice(mode="eci"), ingress=ingress, alb=alb,
        autoscaling=Autoscaling(min_replicas=1, max_replicas=4, target_qps_per_replica=10)))


@pulumi.runtime.test
def test_an_endpoint_behind_the_alb_scales_on_the_albs_access_logs_and_admits_its_addresses(mocks):
    gw = AlbGateway("inference", gateway_args(certificate_ids=["1234-cn-beijing"], log_store="alb_inference"))
    endpoint = _endpoint(IngressChoice(host="bert.example.com", controller="alb", certificate_id="1234-cn-beijing"), gw)

    def check(values):
        assert values[0] == "https://bert.example.com/"
        (metric,) = mocks.resources["bert-hpa"].inputs["spec"]["metrics"]
        assert metric["external"]["metric"] == {"name": "sls_alb_ingress_qps", "selector": {"matchLabels": {
            "sls.project": LOG_PROJECT, "sls.logstore": "alb_inference", "sls.ingress.route": "inference-bert-8501"}}}
        assert mocks.resources["bert-service"].inputs["metadata"]["annotations"][BACKEND_TYPE] == "eni"
        (rule,) = mocks.resources["bert-network-policy"].inputs["spec"]["ingress"]
        assert [p["ipBlock"]["cidr"] for p in rule["from"] if "ipBlock" in p] == ["10.0.1.0/24", "10.0.2.0/24"]
        ing = mocks.resources["bert-ingress"].inputs
        assert ing["spec"]["ingressClassName"] == "inference" and LISTEN_PORTS in ing["metadata"]["annotations"]
        assert "albconfigs.alibabacloud.com" in endpoint.prerequisites

    return after(endpoint.url).apply(check)


@pulumi.runtime.test
def test_an_nginx_endpoint_keeps_the_nginx_metric_and_no_eni_or_cidrs(mocks):
    endpoint = _endpoint(IngressChoice(host="bert.example.com"))

    def check(_):
        (metric,) = mocks.resources["bert-hpa"].inputs["spec"]["metrics"]
        assert metric["external"]["metric"]["name"] == "sls_ingress_qps"
        assert metric["external"]["metric"]["selector"]["matchLabels"]["sls.logstore"] == "nginx-ingress"
        assert BACKEND_TYPE not in (mocks.resources["bert-service"].inputs["metadata"].get("annotations") or {})
        (rule,) = mocks.resources["bert-network-policy"].inputs["spec"]["ingress"]
        assert not any("ipBlock" in p for p in rule["from"])
        assert mocks.resources["bert-ingress"].inputs["spec"]["ingressClassName"] == "nginx"

    return after(endpoint.url).apply(check)


def _gw(https=True, certificate_ids=(), class_name="alb"):
    # alb_problems reads these attributes of an AlbGateway only.
    return SimpleNamespace(class_name=class_name, https=https, certificate_ids=tuple(certificate_ids))


@pytest.mark.parametrize("ingress, alb, args", [
    (IngressChoice(host="a.example.com", controller="alb"), None, ["alb"]),  # alb missing
    (IngressChoice(host="a.example.com"), _gw(), ["alb"]),  # an ALB for an NGINX ingress
    (None, _gw(), ["alb"]),
    (IngressChoice(host="a.example.com", controller="alb", class_name="other"), _gw(), ["ingress.class_name"]),
    (IngressChoice(host="a.example.com", controller="alb", certificate_id="c-2"), _gw(certificate_ids=["c-1"]),
     ["ingress.certificate_id"]),
    (IngressChoice(host="a.example.com", controller="alb", tls_secret="a-tls"), _gw(https=False), ["alb"]),
])
def test_the_endpoint_and_its_alb_must_fit(ingress, alb, args):
    assert [p.arg for p in alb_problems(ingress, alb)] == args


def test_a_fitting_alb_has_no_problems():
    assert alb_problems(IngressChoice(host="a.example.com", controller="alb", certificate_id="c-1"), _gw(certificate_ids=["c-1"])) == []
    assert alb_problems(IngressChoice(host="a.example.com", controller="alb", class_name="alb"), _gw(https=False)) == []
    assert alb_problems(IngressChoice(host="a.example.com"), None) == []


# --- the stack settings --------------------------------------------------------------------------


def alb_raw(raw, **alb):
    """The conftest stack with bert behind an ALB section (ECI, so that no network plug-in is needed)."""
    raw["cluster"]["addons"] = {"albIngressController": True}
    raw["alb"] = {"name": "inference", "vswitchIds": ["vsw-alba", "vsw-albb"], **alb}
    bert = raw["services"]["bert"]
    bert["placement"] = {"mode": "eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}
    bert["ingress"] = {"host": "bert.example.com", "className": "inference", "certificateId": "1234567-cn-beijing"}
    return raw


def problems(raw):
    with pytest.raises(ConfigError) as info:
        from_raw(raw, "cn-beijing")
    return [str(p) for p in info.value.problems]


def one(raw, path, fragment):
    found = problems(raw)
    assert any(p.startswith(path + ":") and fragment in p for p in found), found


def test_the_alb_section_builds_the_gateway_and_puts_its_services_behind_it(raw):
    s = from_raw(alb_raw(raw), "cn-beijing")
    assert list(s.alb_services()) == ["bert"]
    args = s.alb_args()
    assert (list(args.vswitch_ids), args.log_project, args.log_store) == (["vsw-alba", "vsw-albb"], LOG_PROJECT, None)
    assert (list(args.certificate_ids), args.https, args.load_balancer_id) == (["1234567-cn-beijing"], True, None)
    choice = s.services["bert"].ingress.choice(s.alb)
    assert (choice.controller, choice.class_name, choice.certificate_id) == ("alb", "inference", "1234567-cn-beijing")


def test_the_class_selects_alb_only_when_it_is_the_alb_sections_name(raw):
    s = from_raw(alb_raw(raw, id="alb-2zeabc"), "cn-beijing")
    ingress = s.services["bert"].ingress.model_copy(update={"class_name": "alb"})
    assert ingress.controller(s.alb) == "nginx"  # the section is named 'inference'
    assert ingress.controller(None) == "alb"  # without a section, 'alb' is ALB's usual class
    assert s.alb_args().load_balancer_id == "alb-2zeabc"


def test_an_ingress_choice_still_defaults_to_nginx_without_an_alb_argument(raw):
    # Ingress.choice() took no argument before the ALB support; callers such as tests/test_variants.py still call it so.
    choice = from_raw(raw, "cn-beijing").services["bert"].ingress.choice()
    assert (choice.controller, choice.class_name) == ("nginx", "nginx")


def test_an_ecs_placement_behind_the_alb_is_accepted_on_terway(raw):
    raw = alb_raw(raw)
    raw["cluster"]["networkPlugin"] = "terway"
    raw["services"]["bert"]["placement"] = {"mode": "ecs-then-eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}
    assert from_raw(raw, "cn-beijing").cluster.network_plugin == "terway"


def _set(raw, path, value):
    node = raw
    *keys, last = path.split(".")
    for key in keys:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


S = "services.bert"
ALB_RULES = [
    # (edits on alb_raw, where, fragment)
    ({f"{S}.ingress.className": "nginx", f"{S}.ingress.certificateId": None}, "alb", "no service"),  # unused section
    ({"alb": None, f"{S}.ingress.className": "alb"}, f"{S}.ingress.className", "elastic-inference:alb"),  # no section
    ({"cluster.addons.albIngressController": False}, "cluster.addons.albIngressController", "albconfigs.alibabacloud.com"),
    ({"alb.vswitchIds": None}, "alb.vswitchIds", "no node or pod uses"),  # the ALB's own vSwitches are required
    ({"alb.vswitchIds": ["vsw-ccc"]}, "alb.vswitchIds", "2 vSwitches"),
    ({f"{S}.placement": {"mode": "ecs"}}, f"{S}.placement.mode", "does not state its network plug-in"),
    ({f"{S}.placement": {"mode": "ecs"}, "cluster.networkPlugin": "flannel"}, f"{S}.placement.mode", "runs Flannel"),
    ({f"{S}.runtime": "seldon", "cluster.addons.seldonCore": True}, f"{S}.ingress.className", "use className: nginx"),
    ({f"{S}.ingress.className": "alb"}, f"{S}.ingress.className", "set className: inference"),  # not this stack's ALB
    ({f"{S}.ingress.path": "/bert"}, f"{S}.ingress.path", "must be '/' behind ALB"),
    ({"alb.logStore": "nginx-ingress"}, "alb.logStore", "alb_"),
    ({"alb.id": "lb-1"}, "alb.id", "ALB instance id"),
    ({"alb.name": "aliyun-gw", f"{S}.ingress.className": "aliyun-gw"}, "alb.name", "aliyun"),
    ({f"{S}.ingress.className": "nginx"}, f"{S}.ingress.certificateId", "ALB"),  # a certificate id on an NGINX Ingress
]


@pytest.mark.parametrize("edits, where, fragment", ALB_RULES, ids=[r[1] + ":" + r[2] for r in ALB_RULES])
def test_alb_settings_rules(raw, edits, where, fragment):
    raw = alb_raw(raw)
    for path, value in edits.items():
        _set(raw, path, value)
    one(raw, where, fragment)


def test_alb_problems_are_reported_at_stack_file_keys(raw):
    # Every problem key the ALB rules report names a stack-file key (camelCase), never a Python argument.
    raw = alb_raw(raw, logStore="x", sourceCidrs=["nope"], vswitchIds=["vsw-aaa"])
    found = problems(raw)
    keys = [p.split(":", 1)[0] for p in found]
    assert {"alb.logStore", "alb.sourceCidrs", "alb.vswitchIds"} <= set(keys), found
    assert not any(re.search(r"[a-z]_[a-z]", k) for k in keys), keys


def test_the_installable_package_lists_every_subpackage_of_the_components():
    # setuptools takes only the listed packages, silently: components/__init__.py imports .ingresses, so a wheel
    # without one subpackage cannot even be imported (the editable install of a checkout hides it).
    import os
    import tomllib

    from tests.conftest import ROOT

    with open(f"{ROOT}/pyproject.toml", "rb") as fh:
        packages = set(tomllib.load(fh)["tool"]["setuptools"]["packages"])
    found = {"elastic_inference" + dirpath[len(f"{ROOT}/components"):].replace(os.sep, ".")
             for dirpath, _, files in os.walk(f"{ROOT}/components") if "__init__.py" in files}
    assert "elastic_inference.ingresses" in found
    assert found <= packages, sorted(found - packages)
