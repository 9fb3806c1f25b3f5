"""What a ``pulumi destroy`` of this stack would take from every other workload on the cluster.

An ACK add-on or a cluster-wide Helm release serves the whole cluster: the
virtual nodes, log collection, the metrics adapter that answers every
External-metric HPA, an operator and its CRD. ``cs.KubernetesAddon`` adopts an
add-on that is already installed and uninstalls it when the resource is
deleted; a Helm release is uninstalled likewise, and a CRD in a chart's
templates goes with it, deleting every custom resource of that kind. Such
resources must outlive the stack: ``retain_on_delete``.
"""

from __future__ import annotations

from typing import Iterator

from . import Finding, Plan, check

ADDON_SOURCE = ("aliyun/terraform-provider-alicloud alicloud/resource_alicloud_cs_kubernetes_addon.go "
                "(Create adopts an installed add-on; Delete uninstalls it)")
HELM_SOURCE = "pulumi-kubernetes helm.sh/v3 Release: delete runs helm uninstall"
# Namespaces whose releases are cluster services, not this stack's own, and charts that are
# cluster services wherever they are installed (an operator and its CRD, the metrics adapter).
SHARED_NAMESPACES = ("kube-system", "seldon-system", "arms-prom", "kube-public")
SHARED_CHARTS = ("seldon-core-operator", "ack-alibaba-cloud-metrics-adapter")


@check("shared-addons-retained")
def shared_addons_retained(plan: Plan) -> Iterator[Finding]:
    for addon in plan.of_type("alicloud:cs/kubernetesAddon:KubernetesAddon"):
        if not addon.options.get("retainOnDelete"):
            yield Finding("shared-addons-retained", "error", addon.describe(),
                          f"the add-on {addon.inputs.get('name')!s} serves the whole cluster, but deleting this resource uninstalls "
                          "it (pulumi destroy would remove it for every workload); set retain_on_delete=True", ADDON_SOURCE)
    for release in plan.of_type("kubernetes:helm.sh/v3:Release"):
        chart = str(release.inputs.get("chart", "")).rsplit("/", 1)[-1]
        shared = release.inputs.get("namespace") in SHARED_NAMESPACES or chart in SHARED_CHARTS
        if shared and not release.options.get("retainOnDelete"):
            yield Finding("shared-addons-retained", "error", release.describe(),
                          f"the release in {release.inputs.get('namespace')} is a cluster service, but deleting this resource "
                          "uninstalls it (and any CRD in its templates, with every object of that kind); "
                          "set retain_on_delete=True", HELM_SOURCE)
