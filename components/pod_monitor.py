"""A PodMonitor: Managed Service for Prometheus scrapes a service's pods, for a Prometheus autoscaling signal.

``monitoring.coreos.com/v1`` PodMonitor (prometheus-operator's CRD, which Managed Service for Prometheus reads):
ARMS collects a PodMonitor annotated ``arms.prometheus.io/discovery: "true"`` (ARMS "Use Terraform to manage
PodMonitor of an environment instance": "Set to 'true' to activate the PodMonitor"); ACK's LLM autoscaling
guide adds ``arms.prometheus.io/resource: "arms"``, as here. The series must carry ``namespace`` and ``pod``
labels for the metrics adapter to match them to the HPA's pods (prometheus-adapter docs/config.md,
``LabelMatchers``/``GroupBy``): prometheus-operator adds them itself, ARMS is not documented to, so the
relabelings set them explicitly.
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
import pulumi_kubernetes as k8s

from ._annotations import with_skips

API_VERSION = "monitoring.coreos.com/v1"
KIND = "PodMonitor"
CRD = "podmonitors.monitoring.coreos.com"
PREREQUISITE = (f"Managed Service for Prometheus for the cluster serves PodMonitor ({CRD}) and scrapes the pods "
                "(ACK 'Enable Managed Service for Prometheus')")
ARMS_ANNOTATIONS = {"arms.prometheus.io/discovery": "true", "arms.prometheus.io/resource": "arms"}
SCRAPE_INTERVAL = "15s"
# Where ACK's Prometheus agent (ack-arms-prometheus) runs: its scrapes come from there, so the model server's
# NetworkPolicy must admit it (aliyun/terraform-provider-alicloud's ARMS PodMonitor tests select the agent's own pods,
# app: arms-prometheus-ack-arms-prometheus, in namespace arms-prom).
SCRAPER_NAMESPACE = "arms-prom"


def pod_monitor(resource_name: str, name: str, namespace: str, selector: Mapping[str, str], port: str, path: str,
                parent: pulumi.Resource, depends_on: Any = None) -> k8s.apiextensions.CustomResource:
    """A PodMonitor of the pods ``selector`` matches in ``namespace``, scraping ``port`` (a container port's name) at ``path``."""
    relabel = [{"action": "replace", "sourceLabels": [source], "targetLabel": target}
               for source, target in (("__meta_kubernetes_namespace", "namespace"), ("__meta_kubernetes_pod_name", "pod"))]
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind=KIND,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels={"app.kubernetes.io/managed-by": "pulumi"},
                                            annotations=with_skips(dict(ARMS_ANNOTATIONS), namespace=namespace)),
        spec={
            "selector": {"matchLabels": dict(selector)},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [{"port": port, "path": path, "interval": SCRAPE_INTERVAL, "relabelings": relabel}],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
