"""ClusterAddons: the ACK add-ons elastic inference depends on, as code.

Replaces the seeds' prerequisites "install ack-virtual-node,
ack-alibaba-cloud-metrics-adapter ... (Manage system components)" and the
console step that enables nginx-ingress access logs in SLS: without
``logtail-ds`` collecting ingress logs there is no ``sls_ingress_qps`` for the
metrics adapter to serve, and no HPA can scale on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

TYPE = "elastic-inference:cluster:ClusterAddons"
METRICS_ADAPTER_CHART = "ack-alibaba-cloud-metrics-adapter"
METRICS_ADAPTER_REPOSITORY = "https://aliacs-app-catalog.oss-cn-hangzhou.aliyuncs.com/charts-incubator/"


def default_sls_project(cluster_id: str) -> str:
    """The SLS project ACK's logtail writes to unless told otherwise."""
    return f"k8s-log-{cluster_id}"


@dataclass
class ClusterAddonsArgs:
    """Arguments of :class:`ClusterAddons`."""

    cluster_id: str
    """The ACK cluster."""
    virtual_node: bool = True
    """Install ``ack-virtual-node`` (virtual nodes backed by ECI)."""
    logtail: bool = True
    """Install ``logtail-ds`` with the ingress dashboard (ingress access logs to SLS)."""
    sls_project: Optional[str] = None
    """SLS project for the logs; default ``k8s-log-{cluster_id}``."""
    metrics_adapter: bool = True
    """Install the ``ack-alibaba-cloud-metrics-adapter`` Helm chart (serves ``sls_ingress_qps``)."""
    metrics_adapter_chart: str = METRICS_ADAPTER_CHART
    """Chart name of the metrics adapter."""
    metrics_adapter_repository: str = METRICS_ADAPTER_REPOSITORY
    """Helm repository of the metrics adapter chart."""
    metrics_adapter_version: Optional[str] = None
    """Chart version; None takes the repository's newest (pin it in production)."""
    metrics_adapter_namespace: str = "kube-system"
    """Namespace of the metrics adapter release."""
    ingress_controller: bool = False
    """Install ACK's ``nginx-ingress-controller`` add-on behind an internet-facing SLB."""
    addon_versions: Optional[Mapping[str, str]] = None
    """Add-on name -> version to pin; unlisted add-ons get ACK's default version."""


class ClusterAddons(pulumi.ComponentResource):
    """The add-ons that provide ECI capacity, ingress QPS metrics and (optionally) the ingress controller."""

    sls_project: str
    """SLS project holding the ingress access logs (the HPA's ``sls.project``)."""
    sls_logstore: str
    """Logstore of the ingress access logs (the HPA's ``sls.logstore``)."""
    dependencies: list[pulumi.Resource]
    """Resources workloads should depend on (they must exist before pods and HPAs)."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        if not args.cluster_id:
            raise ValueError("ClusterAddonsArgs.cluster_id is required")
        super().__init__(TYPE, name, None, opts)
        versions = dict(args.addon_versions or {})
        self.sls_project = args.sls_project or default_sls_project(args.cluster_id)
        self.sls_logstore = "nginx-ingress"
        self.dependencies = []

        def addon(role: str, addon_name: str, config: Optional[dict[str, Any]] = None, **extra: Any) -> alicloud.cs.KubernetesAddon:
            resource = alicloud.cs.KubernetesAddon(
                f"{name}-{role}",
                cluster_id=args.cluster_id,
                name=addon_name,
                version=versions.get(addon_name),
                # ACK reads add-on config as a JSON object of strings.
                config=json.dumps(config, sort_keys=True) if config else None,
                opts=pulumi.ResourceOptions(parent=self),
                **extra,
            )
            self.dependencies.append(resource)
            return resource

        if args.virtual_node:
            # Delete the ECI instances and security group it made when it is removed.
            addon("virtual-node", "ack-virtual-node", cleanup_cloud_resources=True)
        if args.logtail:
            addon("logtail", "logtail-ds", {"IngressDashboardEnabled": "true", "sls_project_name": self.sls_project})
        if args.ingress_controller:
            addon("ingress-controller", "nginx-ingress-controller", {"IngressSlbNetworkType": "internet"})
        if args.metrics_adapter:
            release = k8s.helm.v3.Release(
                f"{name}-metrics-adapter",
                name=args.metrics_adapter_chart,
                chart=args.metrics_adapter_chart,
                version=args.metrics_adapter_version,
                namespace=args.metrics_adapter_namespace,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.metrics_adapter_repository),
                atomic=True,
                cleanup_on_fail=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.dependencies)),
            )
            self.dependencies.append(release)
        self.register_outputs({"slsProject": self.sls_project, "slsLogstore": self.sls_logstore})
