"""Custom resources whose kind the cluster would not know: the apply fails ("no matches for kind").

A custom resource's kind is served only once its CRD is installed. The stack
either installs it (a Helm release of the chart that ships the CRD, an ACK
add-on, or the CustomResourceDefinition itself) or declares it as a cluster
prerequisite in the stack output ``clusterPrerequisites`` (``{crd name: why}``),
so that a reader of the stack knows what the cluster must already have. What
installs a runtime's custom kinds is the runtime's fact (``Runtime.crd_providers``).
"""

from __future__ import annotations

from typing import Iterator

from . import Finding, Plan, check, get
from ...components import ALB_ADDON, ALB_CRD
from .runtimes import CrdProvider as Provider, crd_providers

SOURCE = "kubernetes apiextensions: a kind is served only after its CustomResourceDefinition is established"

# Kinds this project's components create, other than the runtimes' workloads, and what installs them.
# A runtime's custom kinds are its own facts: Runtime.crd_providers, read from the registry (.runtimes).
KNOWN: dict[tuple[str, str], Provider] = {
    ("scheduling.alibabacloud.com", "ResourcePolicy"): Provider(
        "resourcepolicies.scheduling.alibabacloud.com",
        note="ACK Pro's scheduler serves it (ACK Pro >= 1.20.11; ACK 'Configure priority-based resource scheduling')",
    ),
    # ACK's add-on list for Terraform: addons { name = "ack-kubernetes-cronhpa-controller" } (its CRD:
    # AliyunContainerService/kubernetes-cronhpa-controller config/crds).
    # ACK 'Accelerate pod creation with ImageCache': the ack-virtual-node add-on serves it.
    ("eci.alibabacloud.com", "ImageCache"): Provider("imagecaches.eci.alibabacloud.com", addons=("ack-virtual-node",)),
    ("autoscaling.alibabacloud.com", "CronHorizontalPodAutoscaler"): Provider(
        "cronhorizontalpodautoscalers.autoscaling.alibabacloud.com", addons=("ack-kubernetes-cronhpa-controller",),
    ),
    # ACK 'Manage the ALB Ingress controller': the alb-ingress-controller add-on serves AlbConfig.
    ("alibabacloud.com", "AlbConfig"): Provider(ALB_CRD, addons=(ALB_ADDON,)),
}


def _group_kind(api_version: str, kind: str) -> tuple[str, str]:
    return (api_version.rsplit("/", 1)[0] if "/" in api_version else "", kind)


def _crd_name(kind: str, group: str) -> str:
    return f"{kind.lower()}s.{group}"


@check("custom-resource-installed")
def custom_resource_installed(plan: Plan) -> Iterator[Finding]:
    charts = {str(r.inputs.get("chart", "")).rsplit("/", 1)[-1] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    addons = {str(r.inputs.get("name", "")) for r in plan.of_type("alicloud:cs/kubernetesAddon:KubernetesAddon")}
    crds = {str(get(r.inputs, "metadata", "name")) for r in plan.kubernetes("CustomResourceDefinition")}
    declared = set(plan.prerequisites())
    runtimes = crd_providers(plan)
    seen: set[tuple[str, str]] = set()
    for r in plan.resources:
        if r.read or (r.type != "kubernetes:apiextensions.k8s.io:CustomResource" and not _is_custom(r.type)):
            continue
        key = _group_kind(str(r.inputs.get("apiVersion", "")), r.kind)
        if key in seen:
            continue
        seen.add(key)
        provider = KNOWN.get(key) or runtimes.get(key) or Provider(_crd_name(key[1], key[0]))
        if provider.crd in crds or provider.crd in declared or charts & set(provider.charts) or addons & set(provider.addons):
            continue
        how = " or ".join(
            [*(f"install the Helm chart {c}" for c in provider.charts), *(f"install the ACK add-on {a}" for a in provider.addons)]
        )
        yield Finding(
            "custom-resource-installed", "error", r.describe(),
            f"the kind {key[1]} ({provider.crd}) is neither installed by this stack nor declared a cluster prerequisite: "
            f"the apply fails with 'no matches for kind'; {how + ', or ' if how else ''}declare it in the stack output "
            f"clusterPrerequisites" + (f" ({provider.note})" if provider.note else ""),
            SOURCE,
        )


def _is_custom(resource_type: str) -> bool:
    # Typed CRD resources (from crd2pulumi) are kubernetes:<group>/<version>:<Kind> of a non-core group.
    if not resource_type.startswith("kubernetes:"):
        return False
    group = resource_type.split(":")[1].rsplit("/", 1)[0]
    return "." in group and not group.endswith(".k8s.io") and group != "helm.sh"
