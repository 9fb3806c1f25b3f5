"""HPAs on a pod metric that nothing would serve: no adapter rule names it, or Prometheus never scrapes the pods.

An HPA ``Pods`` metric is read from the custom metrics API, which the metrics adapter serves from Prometheus through
its rules (alibaba-cloud-metrics-adapter pkg/provider/providerManager.go: prometheus-adapter's ``rules``, a rule's
``name.as`` is the metric's name); the series must be scraped from the HPA's own pods (a PodMonitor selecting them, on
a port they name), with ``namespace`` and ``pod`` labels the rule's ``resources`` map (prometheus-adapter docs/config.md).
Without either, the metric has no value and the HPA never scales.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from . import Finding, Plan, Resource, as_list, as_map, check, get, known
from .pods import pod_templates
from ...components import SCRAPER_NAMESPACE

SOURCE = ("alibaba-cloud-metrics-adapter pkg/provider/providerManager.go (rules in prometheus-adapter's format); prometheus-adapter "
          "docs/config.md (name.as, LabelMatchers, GroupBy); prometheus-operator PodMonitor (selector, port)")
ADAPTER_CHART = "metrics-adapter"


def adapter_rules(plan: Plan) -> list[Mapping[str, Any]] | None:
    """The Prometheus rules of the metrics adapter releases of the plan; None when the plan installs no adapter."""
    releases = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if ADAPTER_CHART in str(r.inputs.get("chart", ""))]
    if not releases:
        return None
    rules: list[Mapping[str, Any]] = []
    for release in releases:
        custom = get(release.inputs, "values", "AlibabaCloudMetricsAdapter", "prometheus", "adapter", "rules", "custom")
        rules += [as_map(r) for r in as_list(custom)]
    return rules


def rule_metric(rule: Mapping[str, Any]) -> str:
    """The metric name a rule serves: ``name.as``, or the series name of its ``seriesQuery``."""
    named = get(rule, "name", "as")
    if isinstance(named, str) and named and "$" not in named:
        return named
    return re.split(r"[{\s]", str(rule.get("seriesQuery", "")), maxsplit=1)[0]


def _target_templates(plan: Plan, hpa: Resource) -> list[Any]:
    ref = as_map(get(hpa.inputs, "spec", "scaleTargetRef"))
    return [t for t in pod_templates(plan) if t.owner.kind == ref.get("kind") and t.owner.k8s_name == ref.get("name")
            and (t.owner.namespace or "default") == (hpa.namespace or "default")]


def _blocked(plan: Plan, template: Any, namespace: str) -> list[Resource]:
    """NetworkPolicies that select the pods for ingress and admit no pod from another namespace: they block the scraper,
    which runs in its own namespace (ACK's Prometheus agent: arms-prom)."""
    found = []
    for policy in plan.kubernetes("NetworkPolicy"):
        spec = as_map(policy.inputs.get("spec"))
        wanted = as_map(get(spec, "podSelector", "matchLabels"))
        if (policy.namespace or "default") != namespace or not all(template.labels.get(k) == v for k, v in wanted.items()):
            continue
        if "Ingress" not in as_list(spec.get("policyTypes")) and spec.get("policyTypes") is not None:
            continue
        peers = [as_map(p) for rule in as_list(spec.get("ingress")) for p in as_list(get(rule, "from"))]
        rules = as_list(spec.get("ingress"))
        open_rule = any(not as_list(get(rule, "from")) for rule in rules)
        scraper = any(get(p, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == SCRAPER_NAMESPACE
                      or (isinstance(p.get("namespaceSelector"), Mapping) and not as_map(p.get("namespaceSelector")))
                      for p in peers)
        if not open_rule and not scraper:
            found.append(policy)
    return found


def _scraped(plan: Plan, template: Any, namespace: str) -> bool:
    ports = {str(p.get("name")) for c in template.containers for p in as_list(c.get("ports")) if isinstance(p, Mapping)}
    for monitor in plan.kubernetes("PodMonitor"):
        spec = as_map(monitor.inputs.get("spec"))
        names = as_list(get(spec, "namespaceSelector", "matchNames"))
        in_namespace = (monitor.namespace or "default") == namespace or namespace in names or get(spec, "namespaceSelector", "any") is True
        wanted = as_map(get(spec, "selector", "matchLabels"))
        selects = bool(wanted) and all(template.labels.get(k) == v for k, v in wanted.items())
        endpoints = [as_map(e) for e in as_list(spec.get("podMetricsEndpoints"))]
        if in_namespace and selects and any(str(e.get("port")) in ports for e in endpoints):
            return True
    return False


@check("prometheus-metric-served")
def prometheus_metric_served(plan: Plan) -> Iterator[Finding]:
    rules = adapter_rules(plan)
    for hpa in plan.kubernetes("HorizontalPodAutoscaler"):
        for metric in as_list(get(hpa.inputs, "spec", "metrics")):
            name = get(metric, "pods", "metric", "name")
            if get(metric, "type") != "Pods" or not known(name):
                continue
            if rules is None:
                yield Finding("prometheus-metric-served", "warning", hpa.describe(),
                              f"scales on the pod metric {name}, and the stack installs no metrics adapter to say whether a rule serves "
                              "it: make sure the cluster's adapter has one", SOURCE)
            elif not any(rule_metric(r) == name for r in rules):
                yield Finding("prometheus-metric-served", "error", hpa.describe(),
                              f"scales on the pod metric {name}, which no rule of the metrics adapter serves: it has no value and the "
                              "HPA never scales; add the adapter's rule (ClusterAddonsArgs.prometheus_rules)", SOURCE)
            for template in _target_templates(plan, hpa):
                for policy in _blocked(plan, template, hpa.namespace or "default"):
                    yield Finding("prometheus-metric-served", "error", hpa.describe(),
                                  f"scales on the pod metric {name}, but {policy.describe()} admits no traffic from "
                                  f"{SCRAPER_NAMESPACE}, where ACK's Prometheus agent scrapes from: the pods are never scraped",
                                  SOURCE + "; aliyun/terraform-provider-alicloud ARMS PodMonitor tests (the agent in arms-prom)")
                if not _scraped(plan, template, hpa.namespace or "default"):
                    yield Finding("prometheus-metric-served", "error", hpa.describe(),
                                  f"scales on the pod metric {name}, but no PodMonitor scrapes the pods of {template.owner.describe()} "
                                  "on a port they name: Prometheus has no series of them and the HPA never scales", SOURCE)
