"""ClusterAddons: the ACK add-ons elastic inference depends on, as code.

Replaces the seeds' prerequisites "install ack-virtual-node,
ack-alibaba-cloud-metrics-adapter ... (Manage system components)" and the
console step that enables nginx-ingress access logs in SLS: without
``logtail-ds`` collecting ingress logs there is no ``sls_ingress_qps`` for the
metrics adapter to serve, and no HPA can scale on it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from . import problems as checks
from .problems import ArgProblem
from .runtimes.seldon import CRD as SELDON_CRD, OPERATOR_CHART as SELDON_OPERATOR_CHART
from .alb_gateway import ADDON as ALB_ADDON
from .alb_gateway import CRD as ALB_CRD
from .image_cache import CRD as IMAGE_CACHE_CRD
from .schedule import ADDON as CRON_HPA_ADDON
from .schedule import CRD as CRON_HPA_CRD
from .types import LogCollector, choices

TYPE = "elastic-inference:cluster:ClusterAddons"
METRICS_ADAPTER_CHART = "ack-alibaba-cloud-metrics-adapter"
METRICS_ADAPTER_REPOSITORY = "https://aliacs-app-catalog.oss-cn-hangzhou.aliyuncs.com/charts-incubator/"
# seldon-core install docs (doc/source/workflow/install.rst): chart seldon-core-operator from
# this repository, in seldon-system. 1.17.1 is the last Apache-2.0 release of Seldon Core v1:
# from 1.18.0 (January 2024) it is under the Business Source License 1.1, which allows no
# production use without a commercial licence (its LICENSE). The chart ships the
# SeldonDeployment CRD in its templates: uninstalling it deletes every SeldonDeployment.
# Log collection add-ons that ship ingress access logs to SLS (the source of sls_ingress_qps):
# logtail-ds, and loongcollector, its successor on newer clusters. Both take
# IngressDashboardEnabled; sls_project_name is documented for logtail-ds only (ACK add-on docs).
SELDON_CORE_CHART = SELDON_OPERATOR_CHART
SELDON_CORE_REPOSITORY = "https://storage.googleapis.com/seldon-charts"
SELDON_CORE_VERSION = "1.17.1"
SELDON_CORE_NAMESPACE = "seldon-system"
SELDON_CORE_CRD = SELDON_CRD
# ACK's ingress dashboard writes the NGINX ingress access logs to this logstore.
INGRESS_LOGSTORE = "nginx-ingress"
# Which argument installs which CRD: a runtime that needs one (its required_crds) finds it here.
CRD_ADDONS = {SELDON_CORE_CRD: "seldon_core", CRON_HPA_CRD: "cron_hpa_controller", IMAGE_CACHE_CRD: "virtual_node",
              ALB_CRD: "alb_ingress_controller"}


def adapter_values(prometheus_url: Optional[str], rules: Sequence[Mapping[str, Any]],
                   authorization: Optional[pulumi.Input[str]] = None) -> Optional[dict[str, Any]]:
    """The metrics adapter chart's values for Prometheus signals, or None (the chart's defaults).

    The key path is the one ACK's docs give (``AlibabaCloudMetricsAdapter.prometheus.url``: "Configure auto scaling for
    standalone or distributed LLM inference services"; ``prometheus.enabled``, ``prometheus.prometheusHeader.Authorization``
    and ``prometheus.adapter.rules.custom``: "Horizontal pod scaling based on Prometheus metrics"); ``rules.default`` is
    left to the chart, so rules other workloads use stay. The header reaches the adapter's ``--prometheus-header``
    (``Authorization=...``, set on every query: alibaba-cloud-metrics-adapter
    ``pkg/provider/prometheusProvider/prometheus.go`` ``parseHeaderArgs``), as a secret.
    """
    if not prometheus_url:
        return None
    prometheus: dict[str, Any] = {"enabled": True, "url": prometheus_url, "adapter": {"rules": {"custom": [dict(r) for r in rules]}}}
    if authorization is not None:
        prometheus["prometheusHeader"] = {"Authorization": pulumi.Output.secret(authorization)}
    return {"AlibabaCloudMetricsAdapter": {"prometheus": prometheus}}


def prometheus_basic_auth(access_key_id: str, access_key_secret: str) -> str:
    """The ``Authorization`` header of a Managed Service for Prometheus V2 instance, which requires Basic auth with an
    AccessKey pair (its docs, "Access Prometheus monitoring data through HTTP API URLs": the RAM user needs
    ``AliyunPrometheusMetricReadAccess``); Basic credentials are ``id:secret`` in base64 (RFC 7617)."""
    pair = f"{access_key_id}:{access_key_secret}".encode("utf-8")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def default_sls_project(cluster_id: str) -> str:
    """The SLS project ACK's logtail writes to unless told otherwise."""
    return f"k8s-log-{cluster_id}"


@dataclass(kw_only=True)
class ClusterAddonsArgs:
    """Arguments of :class:`ClusterAddons`."""

    cluster_id: str
    """The ACK cluster."""
    virtual_node: bool = True
    """Install ``ack-virtual-node`` (virtual nodes backed by ECI)."""
    logtail: bool = True
    """Install (or adopt) the log collector with the ingress dashboard (ingress access logs to SLS)."""
    log_collector: LogCollector = "logtail-ds"
    """``logtail-ds``, or ``loongcollector`` on clusters that run it (install the one the cluster has:
    ACK replaces the first by the second on newer clusters)."""
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
    cron_hpa_controller: bool = False
    """Install ACK's ``ack-kubernetes-cronhpa-controller`` add-on (serves CronHorizontalPodAutoscaler: scheduled floors)."""
    alb_ingress_controller: bool = False
    """Install ACK's ``alb-ingress-controller`` add-on (serves AlbConfig and ALB Ingresses: :class:`AlbGateway`), without the
    default AlbConfig it could create (the stack declares its own)."""
    prometheus_url: Optional[str] = None
    """The HTTP API URL of the cluster's Managed Service for Prometheus instance (its console's Settings: use the internal
    one), for the metrics adapter to serve Prometheus signals (``signals/``: vLLM's queue, KV-cache use); None: none."""
    prometheus_rules: Sequence[Mapping[str, Any]] = ()
    """The adapter's rules for those signals (:func:`signals.adapter_rules`), in prometheus-adapter's format."""
    prometheus_authorization: Optional[pulumi.Input[str]] = None
    """The ``Authorization`` header the adapter sends the Prometheus instance, kept secret: a V2 instance requires Basic
    auth with an AccessKey pair (:func:`prometheus_basic_auth`), a V1 instance with token authentication the token
    itself; None: no header (a V1 instance without a token)."""
    addon_versions: Optional[Mapping[str, str]] = None
    """Add-on name -> version to pin; unlisted add-ons get ACK's default version."""
    seldon_core: bool = False
    """Install the Seldon Core v1 operator (Helm chart ``seldon-core-operator``), needed by
    ``runtime="seldon"``. Mind its licence: see :data:`SELDON_CORE_VERSION`."""
    seldon_core_chart: str = SELDON_CORE_CHART
    """Chart name of the Seldon Core operator."""
    seldon_core_repository: str = SELDON_CORE_REPOSITORY
    """Helm repository of that chart."""
    seldon_core_version: str = SELDON_CORE_VERSION
    """Chart version (1.17.1: the last Apache-2.0 release)."""
    seldon_core_namespace: str = SELDON_CORE_NAMESPACE
    """Namespace of the operator."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.one_of("log_collector", self.log_collector, choices(LogCollector)))
        if not self.cluster_id:
            found.append(ArgProblem("cluster_id", "is required"))
        if self.prometheus_authorization is not None and not self.prometheus_url:
            found.append(ArgProblem("prometheus_authorization", "needs prometheus_url: it authenticates the adapter to that instance"))
        if self.prometheus_rules and not self.prometheus_url:
            found.append(ArgProblem("prometheus_url", "is required with prometheus_rules: the adapter reads the series from it"))
        if self.prometheus_url is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", self.prometheus_url):
            found.append(ArgProblem("prometheus_url", "must be an http(s) URL: the Prometheus instance's HTTP API URL"))
        if (self.prometheus_url or self.prometheus_rules) and not self.metrics_adapter:
            found.append(ArgProblem("metrics_adapter", "must be True to serve Prometheus signals (the adapter does)"))
        return found

    def installed_crds(self) -> set[str]:
        """The CustomResourceDefinitions these add-ons install."""
        return {crd for crd, arg in CRD_ADDONS.items() if getattr(self, arg)}


class ClusterAddons(pulumi.ComponentResource):
    """The add-ons that provide ECI capacity, ingress QPS metrics and (optionally) the ingress controller."""

    sls_project: str
    """SLS project holding the ingress access logs (the HPA's ``sls.project``)."""
    sls_logstore: str
    """Logstore of the ingress access logs (the HPA's ``sls.logstore``)."""
    dependencies: list[pulumi.Resource]
    """Resources workloads should depend on (they must exist before pods and HPAs)."""
    prometheus_rules: list[Mapping[str, Any]]
    """The metrics adapter's rules for Prometheus signals this component installs."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("ClusterAddonsArgs", args.problems())
        super().__init__(TYPE, name, None, opts)
        versions = dict(args.addon_versions or {})
        self.sls_project = args.sls_project or default_sls_project(args.cluster_id)
        self.sls_logstore = INGRESS_LOGSTORE
        self.dependencies = []
        self.prometheus_rules = [dict(r) for r in args.prometheus_rules]

        def addon(role: str, addon_name: str, config: Optional[dict[str, Any]] = None, **extra: Any) -> alicloud.cs.KubernetesAddon:
            resource = alicloud.cs.KubernetesAddon(
                f"{name}-{role}",
                cluster_id=args.cluster_id,
                name=addon_name,
                version=versions.get(addon_name),
                # ACK reads add-on config as a JSON object: strings, but for the ALB controller's nested object.
                config=json.dumps(config, sort_keys=True) if config else None,
                # An add-on serves the whole cluster. The provider adopts one that is already
                # installed and uninstalls it on delete (terraform-provider-alicloud
                # resource_alicloud_cs_kubernetes_addon.go): `pulumi destroy` of this stack
                # must not take it from every other workload.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                **extra,
            )
            self.dependencies.append(resource)
            return resource

        if args.virtual_node:
            # Delete the ECI instances and security group it made when it is removed.
            addon("virtual-node", "ack-virtual-node", cleanup_cloud_resources=True)
        if args.logtail:
            config = {"IngressDashboardEnabled": "true"}
            if args.log_collector == "logtail-ds":
                config["sls_project_name"] = self.sls_project
            addon("logtail", args.log_collector, config)
        if args.ingress_controller:
            addon("ingress-controller", "nginx-ingress-controller", {"IngressSlbNetworkType": "internet"})
        if args.alb_ingress_controller:
            # ACK 'Use Terraform to manage components': {"albIngress":{"CreateDefaultALBConfig":false}} installs the
            # controller without creating an ALB; AlbGateway declares the AlbConfig.
            addon("alb-ingress-controller", ALB_ADDON, {"albIngress": {"CreateDefaultALBConfig": False}})
        if args.cron_hpa_controller:
            # The add-on's name in ACK's add-on list for Terraform (addons { name = "ack-kubernetes-cronhpa-controller" }).
            addon("cron-hpa-controller", CRON_HPA_ADDON)
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
                values=adapter_values(args.prometheus_url, self.prometheus_rules, args.prometheus_authorization),
                # It answers every External-metric HPA of the cluster: it outlives this stack.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.dependencies), retain_on_delete=True),
            )
            self.dependencies.append(release)
        if args.seldon_core:
            seldon = k8s.helm.v3.Release(
                f"{name}-seldon-core",
                name="seldon-core",
                chart=args.seldon_core_chart,
                version=args.seldon_core_version,
                namespace=args.seldon_core_namespace,
                create_namespace=True,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=args.seldon_core_repository),
                atomic=True,
                cleanup_on_fail=True,
                # Its chart holds the SeldonDeployment CRD: an uninstall would delete every
                # SeldonDeployment on the cluster, this stack's and everyone else's.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.dependencies.append(seldon)
        self.register_outputs({"slsProject": self.sls_project, "slsLogstore": self.sls_logstore})
