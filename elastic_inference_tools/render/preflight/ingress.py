"""Ingresses the controller would not serve as written, and QPS metrics that would read another controller's logs.

Sources: alibaba/alibaba-load-balancer-controller @c2771084 (the ALB Ingress controller, which ACK manages)
and AliyunContainerService/alibaba-cloud-metrics-adapter @93cf5f14 ``pkg/metrics/sls/ingress.go`` (which log field
each QPS metric filters on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from . import Finding, Plan, Resource, as_list, as_map, check, get, known
from ...components import ALB_CONTROLLER, BACKEND_TYPE, INGRESS_CONTROLLERS, LISTEN_PORTS
from .scaling import hpa_specs

ADAPTER_SOURCE = ("alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go (sls_ingress_qps filters NGINX logs by proxy_upstream_name, "
                  "sls_alb_ingress_qps ALB access logs by slb_pool_name)")
LISTEN_SOURCE = ("alibaba-load-balancer-controller albconfig_manager/model_builder.go (ComputeIngressListenPorts; a listen port the "
                 "AlbConfig has no listener for is skipped) and alb_controller.go syncIngress (which then adds the listener to "
                 "the AlbConfig)")
CERT_SOURCE = ("alibaba-load-balancer-controller pkg/provider/alibaba/alb/listener.go buildSDKCreateListenerRequest "
               "(\"empty https listener default certs\"); albconfig_manager/model_builder.go (the listener's certificates and the "
               "Ingresses' TLS Secrets)")
BACKEND_SOURCE = ("alibaba-load-balancer-controller pkg/controller/helper/service_utils.go GetServiceTrafficPolicy (\"cluster service "
                  "type just support eni mode for alb ingress\")")
ZONES_SOURCE = "ACK 'Access Services by using an ALB Ingress' (zoneMappings: at least two vSwitches in different zones)"
# A metric name -> the controller whose access logs it reads (each controller's `metric`, from the registry).
METRIC_CONTROLLER = {c.metric: c.name for c in INGRESS_CONTROLLERS.values()}


@dataclass(frozen=True)
class Served:
    """An Ingress, the controller that serves it (None: not known from the plan) and the AlbConfig behind an ALB class."""

    ingress: Resource
    controller: Optional[str]
    alb_config: Optional[Resource]


def served_ingresses(plan: Plan) -> list[Served]:
    """Every Ingress of the plan with its controller: an IngressClass of the plan says which (``spec.controller``);
    a class the plan does not declare is taken by its name (``nginx``, ``alb``: the controllers' usual classes)."""
    classes = {c.k8s_name: c for c in plan.kubernetes("IngressClass")}
    configs = {c.k8s_name: c for c in plan.kubernetes("AlbConfig")}
    usual = {c.default_class: c.name for c in INGRESS_CONTROLLERS.values()}
    found = []
    for ing in plan.kubernetes("Ingress"):
        name = str(get(ing.inputs, "spec", "ingressClassName") or "")
        declared = classes.get(name)
        if declared is None:
            found.append(Served(ing, usual.get(name), None))
            continue
        alb = get(declared.inputs, "spec", "controller") == ALB_CONTROLLER
        config = configs.get(str(get(declared.inputs, "spec", "parameters", "name"))) if alb else None
        found.append(Served(ing, "alb" if alb else "nginx", config))
    return found


def routes(ing: Resource) -> Iterator[str]:
    """The ``sls.ingress.route`` of each backend of an Ingress: ``{namespace}-{service}-{port}``."""
    for rule in as_list(get(ing.inputs, "spec", "rules")):
        for path in as_list(get(rule, "http", "paths")):
            service = as_map(get(path, "backend", "service"))
            port = get(service, "port", "number")
            if known(service.get("name")) and known(port):
                yield f"{ing.namespace or 'default'}-{service.get('name')}-{port}"


def _qps_selectors(plan: Plan) -> Iterator[tuple[Resource, str, Mapping[str, Any]]]:
    for owner, _where, spec in hpa_specs(plan):
        for metric in as_list(spec.get("metrics")) or as_list(spec.get("metricsv2")):
            name = get(metric, "external", "metric", "name")
            if name in METRIC_CONTROLLER:
                yield owner, str(name), as_map(get(metric, "external", "metric", "selector", "matchLabels"))


@check("ingress-metric-matches-controller")
def ingress_metric_matches_controller(plan: Plan) -> Iterator[Finding]:
    """A QPS metric reads the access logs of the controller that serves its route, where that controller writes them."""
    by_route = {route: s for s in served_ingresses(plan) for route in routes(s.ingress)}
    for owner, metric, labels in _qps_selectors(plan):
        route = labels.get("sls.ingress.route")
        served = by_route.get(str(route)) if known(route) else None
        if served is None or served.controller is None:
            continue
        wanted = INGRESS_CONTROLLERS[served.controller].metric
        if metric != wanted:
            yield Finding("ingress-metric-matches-controller", "error", owner.describe(),
                          f"scales on {metric}, but the route {route} is served by {served.ingress.describe()} through the "
                          f"{served.controller} controller, whose requests only {wanted} counts: the metric stays empty and the "
                          f"HPA never scales; use {wanted}", ADAPTER_SOURCE)
        elif served.alb_config is not None:
            logs = as_map(get(served.alb_config.inputs, "spec", "config", "accessLogConfig"))
            for label, field in (("sls.project", "logProject"), ("sls.logstore", "logStore")):
                have, want = labels.get(label), logs.get(field)
                if known(have) and known(want) and have != want:
                    yield Finding("ingress-metric-matches-controller", "error", owner.describe(),
                                  f"reads {label} {have}, but {served.alb_config.describe()} writes its access logs to {field} {want}: "
                                  f"the metric stays empty and the HPA never scales", ADAPTER_SOURCE)
            if not logs:
                yield Finding("ingress-metric-matches-controller", "error", served.alb_config.describe(),
                              f"writes no access logs (spec.config.accessLogConfig), which {owner.describe()}'s {metric} counts: "
                              "the HPA never scales; give it a logProject and an alb_ logstore", ADAPTER_SOURCE)


def _listen_ports(ing: Resource) -> Optional[list[tuple[str, int]]]:
    raw = as_map(get(ing.inputs, "metadata", "annotations")).get(LISTEN_PORTS)
    if raw is None or not known(raw):
        return None
    try:
        return [(str(proto), int(port)) for item in json.loads(str(raw)) for proto, port in dict(item).items()]
    except (ValueError, TypeError, AttributeError):
        return []


@check("alb-ingress-served")
def alb_ingress_served(plan: Plan) -> Iterator[Finding]:
    """An ALB Ingress reaches a listener of its AlbConfig, the HTTPS listener can get a certificate, the backends their pods."""
    services = {(s.namespace or "default", s.k8s_name): s for s in plan.kubernetes("Service")}
    served = [s for s in served_ingresses(plan) if s.controller == "alb"]
    secrets_by_config: dict[str, bool] = {}
    for s in served:
        ing = s.ingress
        tls = [as_map(t) for t in as_list(get(ing.inputs, "spec", "tls"))]
        if s.alb_config is not None:
            secrets_by_config[s.alb_config.k8s_name] = secrets_by_config.get(s.alb_config.k8s_name, False) or any(t.get("secretName") for t in tls)
            listeners = {(str(get(ls, "protocol")), int(str(get(ls, "port")))) for ls in as_list(get(s.alb_config.inputs, "spec", "listeners"))
                         if known(get(ls, "port")) and str(get(ls, "port")).isdigit()}
            ports = _listen_ports(ing)
            if ports == []:
                yield Finding("alb-ingress-served", "error", ing.describe(), f"{LISTEN_PORTS} is not a JSON list like "
                              '[{"HTTP": 80},{"HTTPS": 443}]: the controller refuses the Ingress', LISTEN_SOURCE)
            for proto, port in ports or []:
                if (proto, port) not in listeners:
                    yield Finding("alb-ingress-served", "error", ing.describe(), f"listens on {proto}:{port}, but "
                                  f"{s.alb_config.describe()} has no such listener: the controller adds one to the AlbConfig behind "
                                  "the stack's back (the next apply removes it again, and an HTTPS one has no certificate); "
                                  "declare the listener or drop the port", LISTEN_SOURCE)
        for rule in as_list(get(ing.inputs, "spec", "rules")):
            for path in as_list(get(rule, "http", "paths")):
                svc = services.get((ing.namespace or "default", str(get(path, "backend", "service", "name"))))
                if svc is None:
                    continue
                kind = get(svc.inputs, "spec", "type") or "ClusterIP"
                eni = as_map(get(svc.inputs, "metadata", "annotations")).get(BACKEND_TYPE) == "eni"
                if kind == "ClusterIP" and not eni:
                    yield Finding("alb-ingress-served", "warning", svc.describe(),
                                  f"is a ClusterIP backend of the ALB {ing.describe()} without {BACKEND_TYPE}: \"eni\": the controller "
                                  "refuses it unless the cluster's ALB controller is set to ENI backends globally", BACKEND_SOURCE)
    for config in plan.kubernetes("AlbConfig"):
        spec = as_map(config.inputs.get("spec"))
        lb = as_map(spec.get("config"))
        if not lb.get("id") and len(as_list(lb.get("zoneMappings"))) < 2:
            yield Finding("alb-ingress-served", "error", config.describe(),
                          "creates an ALB in fewer than two zones (spec.config.zoneMappings): ALB needs vSwitches in two zones at least",
                          ZONES_SOURCE)
        for ls in as_list(spec.get("listeners")):
            if get(ls, "protocol") == "HTTPS" and not as_list(get(ls, "certificates")) and not secrets_by_config.get(config.k8s_name):
                yield Finding("alb-ingress-served", "error", config.describe(),
                              f"declares an HTTPS listener on {get(ls, 'port')} without certificates, and no Ingress of its class "
                              "brings a TLS Secret: the controller cannot create the listener; give it a certificate id", CERT_SOURCE)
