"""The preflight's ingress checks (render/preflight/ingress.py): `ingress-metric-matches-controller` and `alb-ingress-served`.

Small plans built here hold one defect each; a rendered ALB stack holds none, and each defect planted
in its plan is found.
"""

import copy
import json

import pytest
import yaml

from elastic_inference_tools.render.preflight import CHECKS, run
from tests.conftest import BASE, link_program

LOG = {"logProject": "k8s-log-c1", "logStore": "alb_inference"}
ROUTE = "d-bert-8501"


def res(kind, name, inputs, api="networking.k8s.io/v1"):
    typ = f"kubernetes:{api}:{kind}"
    return {"urn": f"urn:pulumi:s::p::{typ}::{name}", "type": typ, "name": name,
            "inputs": {"apiVersion": api, "kind": kind, **inputs},
            "options": {"protect": False, "retainOnDelete": False, "ignoreChanges": [], "dependsOn": []}}


def albconfig(listeners=None, config=None, name="inference"):
    if listeners is None:
        listeners = [{"port": 80, "protocol": "HTTP"},
                     {"port": 443, "protocol": "HTTPS", "certificates": [{"CertificateId": "c-1", "IsDefault": True}]}]
    if config is None:
        config = {"accessLogConfig": dict(LOG), "name": name, "zoneMappings": [{"vSwitchId": "vsw-a"}, {"vSwitchId": "vsw-b"}]}
    return res("AlbConfig", f"{name}-alb-config", {"metadata": {"name": name}, "spec": {"config": config, "listeners": listeners}},
               api="alibabacloud.com/v1")


def ingress_class(name="inference", controller="ingress.k8s.alibabacloud/alb"):
    spec = {"controller": controller, "parameters": {"apiGroup": "alibabacloud.com", "kind": "AlbConfig", "name": name}}
    return res("IngressClass", f"{name}-ingress-class", {"metadata": {"name": name}, "spec": spec})


def ingress(class_name="inference", ports=(("HTTP", 80), ("HTTPS", 443)), tls=None, listen_ports=None):
    annotations = {}
    if listen_ports is not None:
        annotations["alb.ingress.kubernetes.io/listen-ports"] = listen_ports
    elif ports is not None:
        annotations["alb.ingress.kubernetes.io/listen-ports"] = json.dumps([{p: n} for p, n in ports])
    spec = {"ingressClassName": class_name, "rules": [{"host": "bert.example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "bert", "port": {"number": 8501}}}}]}}]}
    if tls is not None:
        spec["tls"] = tls
    return res("Ingress", "bert-ingress", {"metadata": {"name": "bert", "namespace": "d", "annotations": annotations}, "spec": spec})


def service(eni=True, kind="ClusterIP"):
    annotations = {"service.beta.kubernetes.io/backend-type": "eni"} if eni else {}
    return res("Service", "bert-service", {"metadata": {"name": "bert", "namespace": "d", "annotations": annotations},
                                           "spec": {"type": kind, "ports": [{"port": 8501}]}}, api="v1")


def hpa(metric="sls_alb_ingress_qps", project=LOG["logProject"], logstore=LOG["logStore"], route=ROUTE):
    labels = {"sls.project": project, "sls.logstore": logstore, "sls.ingress.route": route}
    return res("HorizontalPodAutoscaler", "bert-hpa", {
        "metadata": {"name": "bert", "namespace": "d"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}, "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "External", "external": {"metric": {"name": metric, "selector": {"matchLabels": labels}},
                                                               "target": {"type": "AverageValue", "averageValue": "10"}}}]}},
        api="autoscaling/v2")


def addon():
    return {"urn": "urn:pulumi:s::p::alicloud:cs/kubernetesAddon:KubernetesAddon::cluster-alb-ingress-controller",
            "type": "alicloud:cs/kubernetesAddon:KubernetesAddon", "name": "cluster-alb-ingress-controller",
            "inputs": {"clusterId": "c1", "name": "alb-ingress-controller"},
            "options": {"protect": False, "retainOnDelete": True, "ignoreChanges": [], "dependsOn": []}}


def alb_plan(**replace):
    """A sound plan of one ALB-served endpoint; ``replace`` swaps one of its parts."""
    parts = {"addon": addon(), "config": albconfig(), "cls": ingress_class(), "ingress": ingress(), "service": service(), "hpa": hpa()}
    parts.update(replace)
    return [p for p in parts.values() if p is not None]


def of(findings, check, level="error"):
    return [f for f in findings if f.check == check and f.level == level]


def test_both_checks_are_registered():
    assert {"ingress-metric-matches-controller", "alb-ingress-served"} <= set(CHECKS)


def test_a_sound_alb_plan_has_no_findings():
    assert [f.line() for f in run(alb_plan())] == []


# --- ingress-metric-matches-controller ----------------------------------------------------------


def test_an_nginx_metric_on_an_alb_route_is_an_error():
    # Before the ALB support every HPA scaled on sls_ingress_qps: behind an ALB it stays empty.
    (finding,) = of(run(alb_plan(hpa=hpa(metric="sls_ingress_qps", logstore="nginx-ingress"))), "ingress-metric-matches-controller")
    assert finding.subject == "HorizontalPodAutoscaler d/bert"
    assert "sls_ingress_qps" in finding.message and "use sls_alb_ingress_qps" in finding.message and ROUTE in finding.message
    assert "metrics-adapter" in finding.source


def test_an_alb_metric_on_an_nginx_route_is_an_error():
    plan = [ingress(class_name="nginx", ports=None), service(eni=False), hpa(metric="sls_alb_ingress_qps")]
    (finding,) = of(run(plan), "ingress-metric-matches-controller")
    assert "use sls_ingress_qps" in finding.message
    assert not of(run([ingress(class_name="nginx", ports=None), service(eni=False), hpa(metric="sls_ingress_qps", logstore="nginx-ingress")]),
                  "ingress-metric-matches-controller")


def test_an_ingress_class_of_the_plan_decides_the_controller_not_its_name():
    # A class named "nginx" that the plan declares for the ALB controller: the ALB serves the route.
    plan = alb_plan(cls=ingress_class(name="nginx"), config=albconfig(name="nginx"), ingress=ingress(class_name="nginx"),
                    hpa=hpa(metric="sls_ingress_qps"))
    assert of(run(plan), "ingress-metric-matches-controller")


def test_an_undeclared_class_named_alb_is_taken_for_the_alb_controller():
    plan = [ingress(class_name="alb"), service(), hpa(metric="sls_ingress_qps")]
    assert of(run(plan), "ingress-metric-matches-controller")
    assert not of(run([ingress(class_name="alb"), service(), hpa()]), "ingress-metric-matches-controller")


@pytest.mark.parametrize("labels, fragment", [
    ({"logstore": "alb_other"}, "sls.logstore alb_other"),
    ({"project": "k8s-log-other"}, "sls.project k8s-log-other"),
])
def test_an_alb_metric_reading_other_logs_than_the_albconfig_writes_is_an_error(labels, fragment):
    (finding,) = of(run(alb_plan(hpa=hpa(**labels))), "ingress-metric-matches-controller")
    assert fragment in finding.message and "AlbConfig inference" in finding.message


def test_an_albconfig_without_access_logs_leaves_the_alb_metric_empty():
    config = {"name": "inference", "zoneMappings": [{"vSwitchId": "vsw-a"}, {"vSwitchId": "vsw-b"}]}
    (finding,) = of(run(alb_plan(config=albconfig(config=config))), "ingress-metric-matches-controller")
    assert finding.subject == "AlbConfig inference" and "accessLogConfig" in finding.message


def test_a_route_no_ingress_serves_is_left_to_the_other_checks():
    assert not of(run(alb_plan(hpa=hpa(metric="sls_ingress_qps", route="d-other-8501"))), "ingress-metric-matches-controller")


# --- alb-ingress-served -------------------------------------------------------------------------


def test_a_listen_port_the_albconfig_has_no_listener_for_is_an_error():
    config = albconfig(listeners=[{"port": 80, "protocol": "HTTP"}])
    (finding,) = of(run(alb_plan(config=config)), "alb-ingress-served")
    assert finding.subject == "Ingress d/bert" and "HTTPS:443" in finding.message and "AlbConfig inference" in finding.message
    assert not of(run(alb_plan(config=config, ingress=ingress(ports=[("HTTP", 80)]))), "alb-ingress-served")


def test_listen_ports_that_are_not_a_json_list_are_an_error():
    (finding,) = of(run(alb_plan(ingress=ingress(listen_ports="HTTP:80"))), "alb-ingress-served")
    assert "not a JSON list" in finding.message


def test_an_https_listener_without_a_certificate_or_a_tls_secret_is_an_error():
    bare = albconfig(listeners=[{"port": 80, "protocol": "HTTP"}, {"port": 443, "protocol": "HTTPS"}])
    # Hosts listed for TLS without a Secret: nothing brings the listener a certificate.
    (finding,) = of(run(alb_plan(config=bare, ingress=ingress(tls=[{"hosts": ["bert.example.com"]}]))), "alb-ingress-served")
    assert finding.subject == "AlbConfig inference" and "without certificates" in finding.message and "443" in finding.message
    # An Ingress of its class with a TLS Secret: the controller uploads it as the listener's certificate.
    secret = ingress(tls=[{"hosts": ["bert.example.com"], "secretName": "bert-tls"}])
    assert not of(run(alb_plan(config=bare, ingress=secret)), "alb-ingress-served")


def test_a_clusterip_backend_without_eni_is_a_warning():
    (finding,) = of(run(alb_plan(service=service(eni=False))), "alb-ingress-served", "warning")
    assert finding.subject == "Service d/bert" and "service.beta.kubernetes.io/backend-type" in finding.message
    assert not of(run(alb_plan(service=service(eni=False, kind="NodePort"))), "alb-ingress-served", "warning")
    # An NGINX backend needs no annotation.
    assert not of(run([ingress(class_name="nginx", ports=None), service(eni=False)]), "alb-ingress-served", "warning")


def test_a_new_alb_needs_two_zones_an_existing_one_none():
    one_zone = {"accessLogConfig": dict(LOG), "name": "inference", "zoneMappings": [{"vSwitchId": "vsw-a"}]}
    (finding,) = of(run(alb_plan(config=albconfig(config=one_zone))), "alb-ingress-served")
    assert finding.subject == "AlbConfig inference" and "two zones" in finding.message
    existing = {"accessLogConfig": dict(LOG), "id": "alb-2zeabc", "forceOverride": False}
    assert not run(alb_plan(config=albconfig(config=existing)))


def test_an_albconfig_needs_the_alb_controller_add_on_or_a_declaration():
    (finding,) = of(run(alb_plan(addon=None)), "custom-resource-installed")
    assert finding.subject == "AlbConfig inference" and "alb-ingress-controller" in finding.message
    assert not run(alb_plan(addon=None), {"clusterPrerequisites": {"albconfigs.alibabacloud.com": "another team runs it"}})


# --- a rendered stack ---------------------------------------------------------------------------


def _stack(raw):
    return {"config": {"alicloud:region": "cn-beijing", **{f"elastic-inference:{k}": v for k, v in raw.items()}}}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The plan of a stack with bert behind a new ALB (certificate id, autoscaled) and ranker on NGINX."""
    from elastic_inference_tools.render.cli import main

    raw = copy.deepcopy(BASE)
    del raw["nodePool"]
    raw["cluster"].update(networkPlugin="terway", addons={"albIngressController": True, "ingressController": True})
    raw["alb"] = {"name": "inference", "vswitchIds": ["vsw-alba", "vsw-albb"]}
    bert = raw["services"]["bert"]
    bert.update(image="tensorflow/serving:2.14.1", resources={"cpu": "1", "memory": "2Gi"},
                placement={"mode": "eci", "eciInstanceTypes": ["ecs.c7.large"]}, autoscaling={"minReplicas": 1, "maxReplicas": 3},
                ingress={"host": "bert.example.com", "className": "inference", "certificateId": "1234567-cn-beijing"})
    raw["services"]["ranker"] = {**copy.deepcopy(bert), "model": {"name": "ranker", "path": "tensorflow/ranker"},
                                 "ingress": {"host": "ranker.example.com", "tlsSecret": "ranker-tls"}}
    tmp = tmp_path_factory.mktemp("alb-render")
    prog = link_program(tmp / "prog")
    (prog / "Pulumi.alb.yaml").write_text(yaml.safe_dump(_stack(raw)))
    out = tmp / "out"
    assert main(["alb", "--dir", str(prog), "--out", str(out)]) == 0
    plan = json.loads((out / "plan.json").read_text())
    return plan, out


def _by_name(plan):
    return {r["name"]: r for r in plan["resources"]}


def test_the_rendered_alb_stack_passes_the_preflight_and_its_schemas(rendered):
    plan, out = rendered
    assert not [f.line() for f in run(plan["resources"], plan["outputs"]) if f.level == "error"]
    assert (out / "manifests" / "albconfig__inference.yaml").exists()  # validated against the AlbConfig schema
    r = _by_name(plan)
    assert json.loads(r["cluster-alb-ingress-controller"]["inputs"]["config"]) == {"albIngress": {"CreateDefaultALBConfig": False}}
    metrics = {name: r[f"{name}-hpa"]["inputs"]["spec"]["metrics"][0]["external"]["metric"] for name in ("bert", "ranker")}
    assert metrics["bert"]["name"] == "sls_alb_ingress_qps" and metrics["ranker"]["name"] == "sls_ingress_qps"
    assert metrics["bert"]["selector"]["matchLabels"]["sls.logstore"] == "alb_inference"
    assert metrics["ranker"]["selector"]["matchLabels"]["sls.logstore"] == "nginx-ingress"
    # The Ingress is created after the AlbConfig and the IngressClass it names.
    depends = r["bert-ingress"]["options"]["dependsOn"]
    assert r["inference-alb-config"]["urn"] in depends and r["inference-ingress-class"]["urn"] in depends
    assert not any("inference-" in urn for urn in r["ranker-ingress"]["options"]["dependsOn"])
    peers = r["bert-network-policy"]["inputs"]["spec"]["ingress"][0]["from"]
    assert len([p for p in peers if "ipBlock" in p]) == 2  # one per vSwitch (their CIDRs are looked up at deployment)
    assert not any("ipBlock" in p for p in r["ranker-network-policy"]["inputs"]["spec"]["ingress"][0]["from"])


def _planted(plan, name, edit):
    resources = copy.deepcopy(plan["resources"])
    edit(next(r for r in resources if r["name"] == name)["inputs"])
    return run(resources, plan["outputs"])


def test_an_nginx_metric_planted_in_the_rendered_alb_hpa_is_found(rendered):
    plan, _ = rendered

    def nginx_metric(hpa):
        hpa["spec"]["metrics"][0]["external"]["metric"]["name"] = "sls_ingress_qps"

    (finding,) = of(_planted(plan, "bert-hpa", nginx_metric), "ingress-metric-matches-controller")
    assert finding.subject == "HorizontalPodAutoscaler default/bert"


def test_the_eni_annotation_removed_from_the_rendered_service_is_warned_about(rendered):
    plan, _ = rendered
    (finding,) = of(_planted(plan, "bert-service", lambda s: s["metadata"]["annotations"].pop("service.beta.kubernetes.io/backend-type")),
                    "alb-ingress-served", "warning")
    assert finding.subject == "Service default/bert"


def test_the_certificates_removed_from_the_rendered_listener_are_found(rendered):
    plan, _ = rendered

    def no_certificates(config):
        for listener in config["spec"]["listeners"]:
            listener.pop("certificates", None)

    (finding,) = of(_planted(plan, "inference-alb-config", no_certificates), "alb-ingress-served")
    assert finding.subject == "AlbConfig inference" and "without certificates" in finding.message
