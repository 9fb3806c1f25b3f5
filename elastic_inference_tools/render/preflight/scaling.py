"""HPAs that the HPA controller or the metrics adapter would never act on."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from . import Finding, Plan, Resource, as_list, as_map, check, get, known
from .quantity import parse
from ...components import PATCH_FORCE, cron_problem
from .runtimes import runtime_of_kind, unscalable_kinds

HPA_SOURCE = "kubernetes pkg/controller/podautoscaler/horizontal.go (reconcileAutoscaler: scale.Status.Selector)"
# Kinds whose /scale subresource reports a label selector, so an HPA can count their pods.
# Core kinds: kubernetes pkg/registry/apps/*/storage (Scale with Status.Selector).
SCALABLE: dict[tuple[str, str], str] = {
    ("apps", "Deployment"): "apps/v1 scale subresource",
    ("apps", "StatefulSet"): "apps/v1 scale subresource",
    ("apps", "ReplicaSet"): "apps/v1 scale subresource",
    ("", "ReplicationController"): "core/v1 scale subresource",
}
# Custom kinds whose CRD's scale subresource has no labelSelectorPath (an HPA on them never scales)
# are a runtime's facts: Runtime.unscalable_kinds, read from the registry (.runtimes).

# The metrics adapter's SLS metrics and the selector labels it reads
# (AliyunContainerService/alibaba-cloud-metrics-adapter pkg/metrics/sls/sls.go, ingress.go).
ADAPTER_SOURCE = "alibaba-cloud-metrics-adapter pkg/metrics/sls/sls.go (label keys), pkg/metrics/sls/ingress.go"
SLS_METRICS = ("sls_ingress_qps", "sls_alb_ingress_qps", "sls_ingress_latency_avg", "sls_ingress_latency_p50",
               "sls_ingress_latency_p95", "sls_ingress_latency_p9999", "sls_ingress_latency_p99", "sls_ingress_inflow")
SLS_REQUIRED = ("sls.project", "sls.logstore")
SLS_LABELS = ("sls.project", "sls.logstore", "sls.ingress.route", "sls.query.interval", "sls.query.delay",
              "sls.query.max_retry", "sls.internal.endpoint")
SLS_MIN_INTERVAL = 15
# The adapter's defaults, and the 100 s of logs it reads back from now (GetLogs from now-100).
SLS_DEFAULT_INTERVAL, SLS_DEFAULT_DELAY, SLS_LOOKBACK = 15, 10, 100


def _group(api_version: Any) -> str:
    text = str(api_version or "")
    return text.rsplit("/", 1)[0] if "/" in text else ""


def hpa_specs(plan: Plan) -> Iterator[tuple[Resource, str, Mapping[str, Any]]]:
    """``(owner, where, spec)`` of every HPA the stack asks for: HPA objects, and the HPA specs a runtime's
    workload carries for its operator (``Runtime.workload_hpa_specs``: a SeldonDeployment's ``hpaSpec``)."""
    for hpa in plan.kubernetes("HorizontalPodAutoscaler"):
        yield hpa, "spec", as_map(hpa.inputs.get("spec"))
    for obj in plan.kubernetes():
        runtime = runtime_of_kind(plan, obj.kind)
        if runtime is not None:
            for where, spec in runtime.workload_hpa_specs(obj.inputs):
                yield obj, where, spec


@check("hpa-target-scalable")
def hpa_target_scalable(plan: Plan) -> Iterator[Finding]:
    not_scalable = unscalable_kinds(plan)
    for hpa in plan.kubernetes("HorizontalPodAutoscaler"):
        ref = as_map(get(hpa.inputs, "spec", "scaleTargetRef"))
        key = (_group(ref.get("apiVersion")), str(ref.get("kind", "")))
        if key in SCALABLE:
            continue
        if key in not_scalable:
            yield Finding("hpa-target-scalable", "error", hpa.describe(),
                          f"targets a {key[1]}, whose scale subresource has no label selector: the HPA controller "
                          "refuses it (\"selector is required\") and never scales; scale it by a mechanism its "
                          "controller provides", f"{not_scalable[key]}; {HPA_SOURCE}")
        else:
            yield Finding("hpa-target-scalable", "warning", hpa.describe(),
                          f"targets {key[1] or 'an unnamed kind'} ({ref.get('apiVersion')}): the preflight does not know whether "
                          "its scale subresource has a labelSelectorPath; an HPA cannot scale it without one", HPA_SOURCE)


@check("hpa-metrics")
def hpa_metrics(plan: Plan) -> Iterator[Finding]:
    for owner, where, spec in hpa_specs(plan):
        metrics = as_list(spec.get("metrics")) or as_list(spec.get("metricsv2"))
        for i, metric in enumerate(metrics):
            yield from _metric(owner, f"{where}.metrics[{i}]", as_map(metric))


def _metric(owner: Resource, where: str, metric: Mapping[str, Any]) -> Iterator[Finding]:
    kind = str(metric.get("type") or "")
    # `type: External` keeps its settings under `external`, `ContainerResource` under `containerResource`.
    source = as_map(metric.get(kind[:1].lower() + kind[1:]))
    target = as_map(source.get("target"))
    for field in ("averageValue", "value"):
        if field in target and known(target[field]):
            amount = parse(target[field])
            if amount is None or amount <= 0:
                yield Finding("hpa-metrics", "error", owner.describe(),
                              f"{where}.target.{field} must be a positive quantity (a target of 0 is rejected by the API server "
                              "and would divide by zero); raise the per-replica target",
                              "kubernetes pkg/apis/autoscaling/validation/validation.go (validateMetricTarget: must be positive)")
    if kind != "External":
        return
    name = get(source, "metric", "name")
    if name not in SLS_METRICS:
        return
    labels = as_map(get(source, "metric", "selector", "matchLabels"))
    for key in SLS_REQUIRED:
        if key not in labels:
            yield Finding("hpa-metrics", "error", owner.describe(),
                          f"{where}: the metrics adapter needs the selector label {key} for {name}; without it the metric has no value",
                          ADAPTER_SOURCE)
    for key in labels:
        if str(key).startswith("sls.") and key not in SLS_LABELS:
            yield Finding("hpa-metrics", "error", owner.describe(),
                          f"{where}: the metrics adapter never reads the selector label {key} (it reads {', '.join(SLS_LABELS)}); "
                          "the setting has no effect", ADAPTER_SOURCE)
    for key in ("sls.query.interval", "sls.query.delay", "sls.query.max_retry"):
        value = labels.get(key)
        if value is None or not known(value):
            continue
        if not str(value).isdigit():
            yield Finding("hpa-metrics", "error", owner.describe(),
                          f"{where}: {key} must be a whole number of seconds (the adapter parses it with strconv.Atoi)", ADAPTER_SOURCE)
        elif key == "sls.query.interval" and int(str(value)) < SLS_MIN_INTERVAL:
            yield Finding("hpa-metrics", "warning", owner.describe(),
                          f"{where}: sls.query.interval below {SLS_MIN_INTERVAL} seconds is raised to {SLS_MIN_INTERVAL} by the adapter",
                          ADAPTER_SOURCE)
    interval, delay = (_seconds(labels.get("sls.query.interval"), SLS_DEFAULT_INTERVAL),
                       _seconds(labels.get("sls.query.delay"), SLS_DEFAULT_DELAY))
    if interval is not None and delay is not None and interval + delay > SLS_LOOKBACK:
        yield Finding("hpa-metrics", "error", owner.describe(),
                      f"{where}: sls.query.interval + sls.query.delay is {interval + delay} s, but the adapter reads only the last "
                      f"{SLS_LOOKBACK} s of logs: the QPS would be undercounted and the HPA would not scale up", ADAPTER_SOURCE)


def _seconds(value: Any, default: int) -> Any:
    if value is None:
        return default
    return int(value) if known(value) and str(value).isdigit() else None


CRON_HPA_SOURCE = ("AliyunContainerService/kubernetes-cronhpa-controller pkg/controller/cronjob.go (ScaleHPA: a targetSize above the "
                   "HPA's maxReplicas raises it, below minReplicas lowers it; the floor is set by updating the HPA), README and "
                   "ringtail/go-cron parser.go/spec.go (six fields, seconds first, their bounds); Kubernetes 'Server-Side Apply' (conflicts on a field another manager set); "
                   "pulumi-kubernetes Provider enable_patch_force (the pulumi.com/patchForce annotation)")


@check("cron-hpa-bounds")
def cron_hpa_bounds(plan: Plan) -> Iterator[Finding]:
    """A CronHPA against an HPA: schedules the controller parses, floors within the HPA's bounds, and an HPA Pulumi can still apply."""
    hpas = {(r.namespace or "default", r.k8s_name): r for r in plan.kubernetes("HorizontalPodAutoscaler")}
    for cron in plan.kubernetes("CronHorizontalPodAutoscaler"):
        ref = as_map(get(cron.inputs, "spec", "scaleTargetRef"))
        jobs = [as_map(j) for j in as_list(get(cron.inputs, "spec", "jobs"))]
        for job in jobs:
            schedule = job.get("schedule")
            why = cron_problem(schedule) if known(schedule) else None
            if why and len(str(schedule).split()) == 5:
                # go-cron takes 5 fields as seconds-first with the day of week left out (parser.go DowOptional).
                yield Finding("cron-hpa-bounds", "warning", cron.describe(), f"job {str(job.get('name'))[:63]}: its schedule {why}",
                              CRON_HPA_SOURCE)
            elif why:
                yield Finding("cron-hpa-bounds", "error", cron.describe(), f"job {str(job.get('name'))[:63]}: its schedule {why}: the "
                              "controller cannot parse it and the job never runs", CRON_HPA_SOURCE)
        if ref.get("kind") != "HorizontalPodAutoscaler":
            continue
        hpa = hpas.get((cron.namespace or "default", str(ref.get("name"))))
        if hpa is None:
            continue
        low, high = get(hpa.inputs, "spec", "minReplicas"), get(hpa.inputs, "spec", "maxReplicas")
        for job in jobs:
            size = job.get("targetSize")
            if isinstance(size, int) and isinstance(high, int) and size > high:
                yield Finding("cron-hpa-bounds", "warning", cron.describe(),
                              f"job {str(job.get('name'))[:63]} sets {size} replicas, above {hpa.describe()}'s maxReplicas {high}: the "
                              "controller raises maxReplicas to it, behind the stack's back", CRON_HPA_SOURCE)
            if isinstance(size, int) and isinstance(low, int) and size < low:
                yield Finding("cron-hpa-bounds", "warning", cron.describe(),
                              f"job {str(job.get('name'))[:63]} sets {size} replicas, below {hpa.describe()}'s minReplicas {low}: the "
                              "controller lowers the floor under what the stack declares", CRON_HPA_SOURCE)
        if str(as_map(get(hpa.inputs, "metadata", "annotations")).get(PATCH_FORCE, "")).lower() != "true":
            yield Finding("cron-hpa-bounds", "warning", hpa.describe(),
                          f"is scaled by {cron.describe()}, which updates its minReplicas: a later `pulumi up` that changes this HPA "
                          f"fails with a Server-Side Apply conflict on that field; annotate it {PATCH_FORCE}: \"true\"", CRON_HPA_SOURCE)
