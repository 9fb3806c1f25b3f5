"""Scheduled floors: ACK's CronHPA against the service's HPA (components/schedule.py), in the component, the config,
the render and the preflight."""

import json
import os

import pulumi
import pytest

from components import ArgsError, QpsAutoscaler, QpsAutoscalerArgs, ScheduledFloor
from components.schedule import cron_problem, schedule_problems
from config import from_raw
from elastic_inference_tools.render.cli import main as render
from elastic_inference_tools.render.preflight import run
from tests.conftest import ROOT
from tests.test_components import after

PEAK = ScheduledFloor(name="peak", cron="0 30 8 * * MON-FRI", min_replicas=8)
NIGHT = ScheduledFloor(name="night", cron="0 0 20 * * *", min_replicas=2)


@pytest.mark.parametrize("cron, fragment", [
    ("0 30 8 * * MON-FRI", None), ("@daily", None), ("@every 1h30m", None), ("@date 2026-11-11 08:00:00", None),
    ("30 8 * * MON-FRI", "has 5 fields"),  # a crontab line: the controller's cron has seconds first
    ("0 30 8 * * MON-FRI *", "6 fields"), ("@sometimes", "must be one of"), ("", "must be a cron schedule"),
    # go-cron's bounds (ringtail/go-cron spec.go, parser.go): crontab's 7 for Sunday, out-of-range values, bad names, dates.
    ("0 0 8 * * 7", "7 is not a day"), ("0 0 8 * * 1-7", "7 is not a day"), ("0 60 8 * * *", "minutes field"),
    ("0 0 8 * * MON-FRY", "day of week"), ("0 0 8 * * 5-1", "runs backwards"), ("@date 2026-02-30 08:00:00", "does not exist"),
    ("0 */15 8-19 * * MON-FRI", None), ("0 0 8 ? * MON", None), ("0 0 8 1 JAN ?", None), ("0 0 8 ? * *", None),
])
def test_a_schedule_is_what_the_controllers_go_cron_parses(cron, fragment):
    why = cron_problem(cron)
    assert (why is None) if fragment is None else (why is not None and fragment in why)


def test_a_schedule_stays_within_the_hpa_and_returns_to_its_floor():
    assert schedule_problems([PEAK, NIGHT], 2, 20) == []
    found = {p.arg: p.reason for p in schedule_problems([ScheduledFloor(name="peak", cron="0 30 8 * * *", min_replicas=30), NIGHT], 2, 20)}
    assert "raise the HPA's maxReplicas" in found["schedule[0].min_replicas"]  # cronjob.go ScaleHPA would widen the HPA
    found = {p.arg: p.reason for p in schedule_problems([ScheduledFloor(name="low", cron="@daily", min_replicas=1), NIGHT], 2, 20)}
    assert "lower the floor" in found["schedule[0].min_replicas"]
    assert [p.arg for p in schedule_problems([PEAK], 2, 20)] == ["schedule"]  # raised for ever
    assert [p.arg for p in schedule_problems([PEAK, ScheduledFloor(name="peak", cron="@daily", min_replicas=2)], 2, 20)] == ["schedule[1].name"]


@pulumi.runtime.test
def test_the_autoscaler_runs_its_schedule_through_a_cron_hpa(mocks):
    hpa = QpsAutoscaler("bert", QpsAutoscalerArgs(
        namespace="inference", scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}, route="inference-bert-8501",
        sls_project="k8s-log-c1", min_replicas=2, max_replicas=20, schedule=[PEAK, NIGHT]))
    assert hpa.prerequisites == {"cronhorizontalpodautoscalers.autoscaling.alibabacloud.com": hpa.prerequisites[
        "cronhorizontalpodautoscalers.autoscaling.alibabacloud.com"]}

    def check(_):
        cron = mocks.resources["bert-cron-hpa"].inputs
        assert (cron["apiVersion"], cron["kind"]) == ("autoscaling.alibabacloud.com/v1beta1", "CronHorizontalPodAutoscaler")
        assert cron["spec"]["scaleTargetRef"] == {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "bert"}
        assert cron["spec"]["jobs"] == [{"name": "peak", "schedule": "0 30 8 * * MON-FRI", "targetSize": 8},
                                        {"name": "night", "schedule": "0 0 20 * * *", "targetSize": 2}]
        # The controller updates minReplicas: Pulumi's later applies must force (no SSA conflict).
        assert mocks.resources["bert-hpa"].inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"

    return after(hpa.urn).apply(check)


def test_a_bad_schedule_is_refused_before_anything_exists(mocks):
    with pytest.raises(ArgsError, match=r"QpsAutoscalerArgs.schedule\[0\].cron: has 5 fields"):
        QpsAutoscaler("bert", QpsAutoscalerArgs(
            namespace="inference", scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}, route="r",
            sls_project="p", min_replicas=2, max_replicas=20, schedule=[ScheduledFloor(name="x", cron="30 8 * * *", min_replicas=4), NIGHT]))
    assert "bert-cron-hpa" not in mocks.resources and "bert-hpa" not in mocks.resources


def test_the_config_maps_schedule_problems_and_asks_for_the_controller(raw):
    raw["services"]["bert"]["autoscaling"] = {"schedule": [{"name": "peak", "cron": "0 30 8 * * *", "minReplicas": 40},
                                                           {"name": "night", "cron": "0 0 20 * * *", "minReplicas": 1}]}
    with pytest.raises(Exception) as caught:
        from_raw(raw, "cn-beijing")
    lines = [str(p) for p in caught.value.problems]
    assert any(line.startswith("services.bert.autoscaling.schedule[0].minReplicas:") for line in lines), lines
    assert any(line.startswith("services.bert.autoscaling.schedule:") and "cronHpaController" in line for line in lines), lines
    raw["services"]["bert"]["autoscaling"]["schedule"][0]["minReplicas"] = 4
    raw["cluster"]["addons"] = {"cronHpaController": True}
    assert [e.min_replicas for e in from_raw(raw, "cn-beijing").services["bert"].autoscaling.args().schedule] == [4, 1]


def test_a_seldon_service_takes_no_schedule(raw):
    raw["services"]["bert"]["runtime"] = "seldon"
    raw["cluster"]["addons"] = {"seldonCore": True, "cronHpaController": True}
    raw["services"]["bert"]["autoscaling"] = {"schedule": [{"name": "night", "cron": "@daily", "minReplicas": 1}]}
    with pytest.raises(Exception) as caught:
        from_raw(raw, "cn-beijing")
    assert any(str(p).startswith("services.bert.autoscaling.schedule:") and "own HPA spec" in str(p) for p in caught.value.problems)


def test_prod_renders_its_schedule_with_the_controller_it_installs(tmp_path, capsys):
    out = tmp_path / "prod"
    assert render(["prod", "--dir", ROOT, "--out", str(out)]) == 0
    plan = json.loads((out / "plan.json").read_text())
    addons = [r["inputs"]["name"] for r in plan["resources"] if r["type"] == "alicloud:cs/kubernetesAddon:KubernetesAddon"]
    assert "ack-kubernetes-cronhpa-controller" in addons
    # Installed by the stack: not a prerequisite of the cluster.
    assert "cronhorizontalpodautoscalers.autoscaling.alibabacloud.com" not in plan["outputs"]["clusterPrerequisites"]
    assert (out / "manifests" / "cronhorizontalpodautoscaler_inference_bert.yaml").exists()  # validated against the CRD's schema
    assert "cron-hpa-bounds" not in capsys.readouterr().err
    (cron,) = [r for r in plan["resources"] if r["name"] == "bert-cron-hpa"]
    assert any(urn.endswith("::cluster-cron-hpa-controller") for urn in cron["options"]["dependsOn"])  # created after its CRD


def _cron_plan(size, annotations, schedule="0 0 8 * * *"):
    hpa = {"urn": "urn:hpa", "type": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "name": "h", "inputs": {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": "ml", "annotations": annotations},
        "spec": {"minReplicas": 2, "maxReplicas": 10, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}}}}
    cron = {"urn": "urn:cron", "type": "kubernetes:autoscaling.alibabacloud.com/v1beta1:CronHorizontalPodAutoscaler", "name": "c", "inputs": {
        "apiVersion": "autoscaling.alibabacloud.com/v1beta1", "kind": "CronHorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": "ml"},
        "spec": {"scaleTargetRef": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "api"},
                 "jobs": [{"name": "j", "schedule": schedule, "targetSize": size}]}}}
    return [f for f in run([hpa, cron], {"clusterPrerequisites": {"cronhorizontalpodautoscalers.autoscaling.alibabacloud.com": "x"}})
            if f.check == "cron-hpa-bounds"]


def test_the_preflight_reads_any_programs_cron_hpa_as_the_controller_would():
    forced = {"pulumi.com/patchForce": "true"}
    assert _cron_plan(5, forced) == []
    assert ["raises maxReplicas" in f.message for f in _cron_plan(12, forced)] == [True]
    assert ["lowers the floor" in f.message for f in _cron_plan(1, forced)] == [True]
    assert ["Server-Side Apply conflict" in f.message for f in _cron_plan(5, {})] == [True]
    assert [(f.level, "wrong times" in f.message) for f in _cron_plan(5, forced, "0 8 * * *")] == [("warning", True)]
    assert [(f.level, "never runs" in f.message) for f in _cron_plan(5, forced, "0 0 8 * * 7")] == [("error", True)]


def test_the_example_stack_documents_its_schedule():
    text = open(os.path.join(ROOT, "Pulumi.prod.yaml")).read()
    assert "schedule:" in text and "cronHpaController: true" in text


@pulumi.runtime.test
def test_every_qps_hpa_is_forced_so_a_removed_schedule_leaves_no_conflict(mocks):
    """After a CronHPA has set minReplicas, its controller owns that field; an update that removes the schedule must still
    apply the HPA (Server-Side Apply would refuse the unforced change): the annotation does not depend on the schedule."""
    hpa = QpsAutoscaler("plain", QpsAutoscalerArgs(
        namespace="inference", scale_target={"apiVersion": "apps/v1", "kind": "Deployment", "name": "plain"}, route="r", sls_project="p"))

    def check(_):
        assert mocks.resources["plain-hpa"].inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
        assert "plain-cron-hpa" not in mocks.resources

    return after(hpa.urn).apply(check)
