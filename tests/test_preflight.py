"""The preflight: each defect a review against the upstream sources found is caught.

``tests/fixtures/before-issue-10/`` holds the plans the program rendered before
those defects were fixed (staging and prod): the preflight must find every one
of them there, and nothing in today's example stacks. Smaller plans built here
cover the defects the example stacks did not show.
"""

import json
import os
from decimal import Decimal

import pytest

from elastic_inference_tools.render.preflight import CHECKS, run
from elastic_inference_tools.render.preflight.capacity import instance_type, node_allocatable
from elastic_inference_tools.render.preflight.storage import mount_options, readable_by
from tests.conftest import BASE, EXAMPLE_STACKS, ROOT, link_program

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "before-issue-10")


def before(stack):
    with open(os.path.join(FIXTURES, f"{stack}.plan.json"), encoding="utf-8") as fh:
        plan = json.load(fh)
    return run(plan["resources"], plan["outputs"])


def found(findings, check, subject, level="error"):
    return [f for f in findings if f.check == check and f.subject == subject and f.level == level]


@pytest.mark.parametrize("stack, check, subject", [
    # 1. the non-root server cannot read ossfs 1.x objects (owner-only, root-owned without x-oss-meta-mode)
    ("staging", "model-mount-readable", "Deployment inference/bert"),
    ("prod", "model-mount-readable", "Deployment ranking/ranker"),
    ("prod", "model-mount-readable", "SeldonDeployment inference/fashion"),
    # 2. an HPA on a SeldonDeployment (its CRD's scale has no labelSelectorPath)
    ("prod", "hpa-target-scalable", "HorizontalPodAutoscaler inference/fashion"),
    # 3. Seldon Core assumed, never installed or declared; ResourcePolicy undeclared
    ("prod", "custom-resource-installed", "SeldonDeployment inference/fashion"),
    ("staging", "custom-resource-installed", "ResourcePolicy inference/bert"),
    # 4. the RRSA trust policy without oidc:iss
    ("prod", "oidc-trust-policy", "Role models-reader-role"),
    # 5. ecs-then-eci never grows the pool
    ("staging", "ecs-first-pool-grows", "ResourcePolicy inference/bert"),
    ("prod", "ecs-first-pool-grows", "ResourcePolicy inference/bert"),
    # 6. oss.Bucket strips what its split resources set
    ("staging", "bucket-split-attributes-ignored", "Bucket models-bucket"),
    # 7. pods that fit no instance type (Seldon's proxy and executor on a 4-vCPU ECI spec)
    ("prod", "pods-fit-instance-types", "SeldonDeployment inference/fashion"),
    # 8. pulumi destroy uninstalls shared add-ons
    ("staging", "shared-addons-retained", "KubernetesAddon cluster-logtail"),
    ("prod", "shared-addons-retained", "KubernetesAddon cluster-virtual-node"),
    ("prod", "shared-addons-retained", "Release cluster-metrics-adapter"),
    # 10. the KMS reader without kms:Decrypt
    ("prod", "kms-readers-decrypt", "Policy models-read-policy"),
])
def test_each_defect_is_caught_on_the_plan_before_the_fix(stack, check, subject):
    assert found(before(stack), check, subject), f"{check} did not flag {subject} in the pre-fix {stack} plan"


def test_the_4_vcpu_pod_on_a_4_vcpu_node_is_at_least_warned_about():
    # The pre-fix bert (4 CPU, 15Gi) on a pool of gn6i-c4g1.xlarge and gn6i-c8g1.2xlarge: the first type never hosts it.
    (finding,) = found(before("staging"), "pods-fit-instance-types", "Deployment inference/bert", "warning")
    assert "ecs.gn6i-c4g1.xlarge" in finding.message and "4 vCPU requested" in finding.message


def test_every_check_reports_its_source():
    findings = before("prod")
    assert {f.check for f in findings} >= {"model-mount-readable", "hpa-target-scalable", "oidc-trust-policy"}
    assert all(f.source for f in findings)


# -- smaller plans ---------------------------------------------------------------------------------


def res(kind_or_type, name, inputs, **options):
    typ = kind_or_type if ":" in kind_or_type else f"kubernetes:x/v1:{kind_or_type}"
    return {"urn": f"urn:pulumi:s::p::{typ}::{name}", "type": typ, "name": name, "inputs": inputs,
            "options": {"protect": False, "retainOnDelete": False, "ignoreChanges": [], "dependsOn": [], **options}}


def hpa(labels, target="10"):
    return res("HorizontalPodAutoscaler", "h", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "d"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "h"}, "maxReplicas": 2, "metrics": [
            {"type": "External", "external": {"metric": {"name": "sls_ingress_qps", "selector": {"matchLabels": labels}},
                                              "target": {"type": "AverageValue", "averageValue": target}}}]}})


SLS = {"sls.project": "k8s-log-c1", "sls.logstore": "nginx-ingress", "sls.ingress.route": "d-h-8501"}


@pytest.mark.parametrize("labels, target, fragment", [
    ({**SLS, "sls.query.period": "30s"}, "10", "never reads the selector label sls.query.period"),  # 9.
    ({**SLS, "sls.query.interval": "30s"}, "10", "whole number of seconds"),
    ({**SLS, "sls.query.interval": "90", "sls.query.delay": "20"}, "10", "undercounted"),
    ({"sls.project": "k8s-log-c1"}, "10", "needs the selector label sls.logstore"),
    (SLS, "0m", "positive quantity"),  # 10. a target that renders as 0m
    ({**SLS, "sls.ingress.route": "n" * 30 + "-" + "s" * 30 + "-8501"}, "10", "over 63"),  # 10. a route over 63
])
def test_adapter_labels_and_targets(labels, target, fragment):
    findings = run([hpa(labels, target)])
    assert any(fragment in f.message and f.level == "error" for f in findings), [f.line() for f in findings]


def test_an_interval_under_15_is_raised_by_the_adapter_a_warning():
    (finding,) = run([hpa({**SLS, "sls.query.interval": "10"})])
    assert finding.level == "warning" and "raised to 15" in finding.message


def test_adapter_labels_it_reads_pass():
    assert not run([hpa({**SLS, "sls.query.interval": "30", "sls.query.delay": "10"})])


def deployment(name, cpu, memory, gpu=0, node_selector=None, labels=None, annotations=None, volumes=(), mounts=(), uid=10001):
    resources = {"cpu": cpu, "memory": memory, **({"nvidia.com/gpu": str(gpu)} if gpu else {})}
    return res("Deployment", name, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "d"},
        "spec": {"template": {"metadata": {"labels": labels or {"app": name}, "annotations": annotations or {}}, "spec": {
            "securityContext": {"runAsUser": uid, "runAsGroup": uid},
            **({"nodeSelector": node_selector} if node_selector else {}),
            "volumes": list(volumes),
            "containers": [{"name": "server", "resources": {"requests": resources, "limits": resources},
                            "volumeMounts": list(mounts)}]}}}})


def pool(types, enable=True, labels=(("inference", "tensorflow"),)):
    return res("alicloud:cs/nodePool:NodePool", "pool", {
        "nodePoolName": "gpu", "instanceTypes": list(types), "scalingConfig": {"enable": enable},
        "labels": [{"key": k, "value": v} for k, v in labels]})


def test_a_pod_that_fits_no_type_of_its_pool_is_refused():
    # The issue's example: 4 CPU / 15Gi / 1 GPU on ecs.gn6i-c4g1.xlarge (4 vCPU, 15 GiB less ACK's reservation).
    findings = run([pool(["ecs.gn6i-c4g1.xlarge"]), deployment("bert", "4", "15Gi", 1, {"inference": "tensorflow"})])
    (error,) = [f for f in findings if f.level == "error"]
    assert error.check == "pods-fit-instance-types" and "fits none of its instance types" in error.message
    # 3 vCPU / 10 GiB fit, with room for the node's DaemonSets.
    assert not run([pool(["ecs.gn6i-c4g1.xlarge"]), deployment("bert", "3", "10Gi", 1, {"inference": "tensorflow"})])


def test_gpus_and_eci_specs_and_unknown_types():
    eci = {"alibabacloud.com/eci": "true"}
    two_gpus = run([deployment("m", "2", "4Gi", 2, labels=eci, annotations={"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"})])
    assert any("2 GPU(s) requested, 1 in ecs.gn6i-c4g1.xlarge" in f.message and f.level == "error" for f in two_gpus)
    on_a_node = run([pool(["ecs.gn6i-c4g1.xlarge"]), deployment("m", "2", "4Gi", 2, {"inference": "tensorflow"})])
    assert any("2 GPU(s) requested" in f.message and f.level == "error" for f in on_a_node)
    unknown = run([deployment("m", "2", "4Gi", labels=eci, annotations={"k8s.aliyun.com/eci-use-specs": "ecs.zz9.large"})])
    assert [f.level for f in unknown] == ["warning"] and "not in the preflight's instance catalog" in unknown[0].message


def test_node_allocatable_is_capacity_less_acks_reservation():
    # The lower bound of ACK's reservation (tiers of instance_types.yaml) and kubelet's 100Mi eviction threshold.
    cores, memory = node_allocatable(instance_type("ecs.gn6i-c4g1.xlarge"))
    assert cores == Decimal("3.92")
    assert round(memory / 2**30, 2) == Decimal("12.40")


@pytest.mark.parametrize("options, uid, gid, found", [
    ("-o max_stat_cache_size=0 -o allow_other", 10001, 10001, "error"),  # the pre-fix mount: 0640/0750, root-owned
    ("-o allow_other -o umask=022", 10001, 10001, None),
    ("-oallow_other,umask=022", 10001, 10001, None),  # the CSI driver's -oa,b form
    ("-o umask=022", 10001, 10001, "warning"),  # no allow_other: older csi-plugins do not add it
    ("-o allow_other -o uid=10001", 10001, 10001, None),
    ("-o allow_other -o uid=10001 -o umask=077", 10001, 10001, None),  # the uid= user may do anything
    ("-o allow_other -o gid=10001", 10001, 10001, None),  # the group bits of 0640/0750
    ("-o allow_other -o gid=10001", 10001, 20002, "error"),
    ("-o allow_other,umask=077", 10001, 10001, "error"),
    ("-o allow_other -o gid=10001 -o umask=027", 10001, 10001, None),
])
def test_ossfs_mount_readability(options, uid, gid, found):
    result = readable_by(mount_options(options), uid, gid)
    assert (result[0] if result else None) == found


def test_mounts_read_by_a_non_root_server_are_checked_per_container():
    pv = res("PersistentVolume", "pv", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}, "spec": {
        "claimRef": {"namespace": "d", "name": "model"},
        "csi": {"driver": "ossplugin.csi.alibabacloud.com", "volumeAttributes": {"otherOpts": "-o allow_other"}}}})
    volumes = [{"name": "model", "persistentVolumeClaim": {"claimName": "model"}}]
    mounts = [{"name": "model", "mountPath": "/models"}]
    assert found(run([pv, deployment("m", "1", "1Gi", volumes=volumes, mounts=mounts)]), "model-mount-readable", "Deployment d/m")
    assert not run([pv, deployment("m", "1", "1Gi", volumes=volumes, mounts=mounts, uid=0)])  # root reads anything


def test_labels_are_checked_where_kubernetes_has_labels_only():
    rule = res("PrometheusRule", "r", {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "r", "namespace": "d", "labels": {"a": "b"}},
        "spec": {"groups": [{"rules": [{"alert": "x", "labels": {"runbook": "https://example.com/runbooks/x"}}]}]}})
    assert not [f for f in run([rule]) if f.check == "valid-labels"]
    rule["inputs"]["metadata"]["labels"] = {"team": "a b"}
    assert [f for f in run([rule]) if f.check == "valid-labels"]


def test_oidc_trust_needs_iss_and_aud_and_warns_without_sub():
    def role(conditions):
        document = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Condition": conditions,
                                   "Principal": {"Federated": ["acs:ram::1:oidc-provider/ack-rrsa-c1"]}}]}
        return res("alicloud:ram/role:Role", "role", {"assumeRolePolicyDocument": json.dumps(document)})

    iss_aud = {"oidc:iss": "https://oidc", "oidc:aud": "sts.aliyuncs.com"}
    # ack-ram-tool puts oidc:sub under StringLike when it holds a wildcard.
    assert not run([role({"StringEquals": iss_aud, "StringLike": {"oidc:sub": "system:serviceaccount:ns:*"}})])
    assert [f.level for f in run([role({"StringEquals": iss_aud})])] == ["warning"]
    assert [f.level for f in run([role({"StringEquals": {"oidc:aud": "sts.aliyuncs.com", "oidc:sub": "s"}})])] == ["error"]


def test_seldons_executor_follows_the_predictor():
    def sdep(predictor_extra):
        return res("kubernetes:machinelearning.seldon.io/v1:SeldonDeployment", "s", {
            "apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "metadata": {"name": "s", "namespace": "d"},
            "spec": {"predictors": [{"name": "default", **predictor_extra, "componentSpecs": [{
                "metadata": {"labels": {"app": "s"}, "annotations": {"k8s.aliyun.com/eci-use-specs": "ecs.c6.large"}},
                "spec": {"containers": [{"name": "m", "resources": {"requests": {"cpu": "1800m", "memory": "3Gi"}}}]}}]}]}})

    eci = {"alibabacloud.com/eci": "true"}
    for extra in ({}, {"svcOrchSpec": {"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}},
                  {"annotations": {"seldon.io/no-engine": "true"}}):
        plan = sdep(extra)
        plan["inputs"]["spec"]["predictors"][0]["componentSpecs"][0]["metadata"]["labels"].update(eci)
        errors = [f for f in run([plan]) if f.level == "error" and f.check == "pods-fit-instance-types"]
        # 1.8 vCPU + the default executor's 0.5 exceed ecs.c6.large's 2; a smaller executor or none fits.
        assert bool(errors) is (extra == {}), (extra, errors)


def test_kms_bucket_objects_must_be_uploaded_with_kms():
    sse = res("alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption", "sse", {"bucket": "b", "sseAlgorithm": "KMS"})
    obj = res("alicloud:oss/bucketObject:BucketObject", "o", {"bucket": "b", "key": "k"})
    assert found(run([sse, obj]), "bucket-objects", "BucketObject o")
    assert not run([sse, res("alicloud:oss/bucketObject:BucketObject", "o", {"bucket": "b", "key": "k", "serverSideEncryption": "KMS"})])


def test_a_custom_resource_is_installed_by_a_chart_or_declared():
    sdep = res("kubernetes:machinelearning.seldon.io/v1:SeldonDeployment", "s", {
        "apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment", "metadata": {"name": "s", "namespace": "d"}, "spec": {}})
    release = res("kubernetes:helm.sh/v3:Release", "r", {"chart": "seldon-core-operator", "namespace": "seldon-system"}, retainOnDelete=True)
    assert found(run([sdep]), "custom-resource-installed", "SeldonDeployment d/s")
    assert not run([sdep, release])
    assert not run([sdep], {"clusterPrerequisites": {"seldondeployments.machinelearning.seldon.io": "another team runs it"}})


def test_checks_are_registered_once_each():
    assert set(CHECKS) == {
        "valid-labels", "hpa-target-scalable", "hpa-metrics", "custom-resource-installed", "shared-addons-retained",
        "oidc-trust-policy", "bucket-split-attributes-ignored", "bucket-objects", "kms-readers-decrypt",
        "model-mount-readable", "ossfs2-requirements", "eci-oss-auth", "pods-fit-instance-types", "ecs-first-pool-grows",
        "cron-hpa-bounds", "ingress-metric-matches-controller", "alb-ingress-served", "prometheus-metric-served", "llm-model-fits", "gpu-driver-runs-image",
    }


def test_render_stops_with_exit_4_and_writes_nothing(tmp_path, capsys):
    import yaml

    from elastic_inference_tools.render.cli import main

    prog = link_program(tmp_path / "prog")
    raw = json.loads(json.dumps(BASE))
    raw["nodePool"]["instanceTypes"] = ["ecs.gn6i-c4g1.xlarge"]
    raw["services"]["bert"]["resources"] = {"gpu": 1, "cpu": "4", "memory": "15Gi"}
    raw["services"]["bert"]["placement"] = {"mode": "ecs"}
    config = {"alicloud:region": "cn-beijing", **{f"elastic-inference:{k}": v for k, v in raw.items()}}
    (prog / "Pulumi.tight.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "out"
    assert main(["tight", "--dir", str(prog), "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert "preflight: 1 problem(s)" in err and "pods-fit-instance-types" in err and "Deployment default/bert" in err
    assert not out.exists()


def test_example_stacks_have_no_preflight_errors(tmp_path):
    from elastic_inference_tools.render.cli import render

    for stack in EXAMPLE_STACKS:
        result, _ = render(stack, str(tmp_path / stack), ROOT)
        assert all(f.level == "warning" for f in result.findings)


# -- the runtimes' facts come from their registry ----------------------------------------------------


def test_a_registered_runtime_brings_its_own_preflight_facts(monkeypatch):
    # The preflight keeps no list of runtimes: it reads the facts of whatever the registry holds when it runs.
    from elastic_inference.runtimes import RUNTIMES, CrdProvider, Runtime, WorkloadPod

    from elastic_inference_tools.render.preflight import runtimes as preflight_runtimes

    assert preflight_runtimes.RUNTIMES is RUNTIMES

    class Scalar(Runtime):
        """A runtime whose operator's custom kind has a scale subresource without labelSelectorPath."""

        name = "scalar"
        scaling = "hpa-spec"
        workload_kinds = ("Scalar",)
        required_crds = ("scalars.example.com",)
        unscalable_kinds = {("example.com", "Scalar"): "example.com scalar-operator CRD: scale without labelSelectorPath"}
        crd_providers = {("example.com", "Scalar"): CrdProvider("scalars.example.com", charts=("scalar-operator",))}

        def default_image(self, gpu):
            return "example.com/scalar:1"

        def service_endpoint(self, name):
            return name, 8080

        def network_ports(self):
            return None

        def build(self, ctx):
            raise NotImplementedError

        def rendered_hpa(self, objects, name, namespace):
            return None

        def workload_pods(self, manifest):
            return [WorkloadPod("spec.pod", manifest["spec"]["pod"]["metadata"], manifest["spec"]["pod"]["spec"],
                                ({"name": "operator-sidecar", "resources": {"requests": {"cpu": "1"}}},))]

    target = res("HorizontalPodAutoscaler", "h", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "d"},
        "spec": {"scaleTargetRef": {"apiVersion": "example.com/v1", "kind": "Scalar", "name": "s"}, "maxReplicas": 2}})
    scalar = res("kubernetes:example.com/v1:Scalar", "s", {
        "apiVersion": "example.com/v1", "kind": "Scalar", "metadata": {"name": "s", "namespace": "d"},
        "spec": {"pod": {"metadata": {"labels": {"alibabacloud.com/eci": "true"}, "annotations": {"k8s.aliyun.com/eci-use-specs": "ecs.c6.large"}},
                         "spec": {"containers": [{"name": "m", "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]}}}})
    release = res("kubernetes:helm.sh/v3:Release", "r", {"chart": "scalar-operator", "namespace": "scalar-system"}, retainOnDelete=True)

    # Unregistered, the kind is one the preflight knows nothing of.
    (unknown,) = found(run([target]), "hpa-target-scalable", "HorizontalPodAutoscaler d/h", "warning")
    assert "does not know" in unknown.message
    assert not [f for f in run([scalar, release]) if f.check == "pods-fit-instance-types"]  # its pods unseen

    monkeypatch.setitem(RUNTIMES, Scalar.name, Scalar())
    (refused,) = found(run([target]), "hpa-target-scalable", "HorizontalPodAutoscaler d/h")
    assert "selector is required" in refused.message and "example.com scalar-operator CRD" in refused.source
    # Its CRD provider: the chart installs the kind; without it, the finding names the chart.
    (missing,) = found(run([scalar]), "custom-resource-installed", "Scalar d/s")
    assert "scalars.example.com" in missing.message and "install the Helm chart scalar-operator" in missing.message
    assert not found(run([scalar, release]), "custom-resource-installed", "Scalar d/s")
    # Its pods, with the container its operator adds: 1.5 vCPU + 1 exceed ecs.c6.large's 2.
    (too_big,) = found(run([scalar, release]), "pods-fit-instance-types", "Scalar d/s")
    assert "ecs.c6.large" in too_big.message


def test_seldons_preflight_facts_are_the_seldon_runtimes():
    from elastic_inference.runtimes import RUNTIMES

    seldon = RUNTIMES["seldon"]
    assert ("machinelearning.seldon.io", "SeldonDeployment") in seldon.unscalable_kinds
    assert [p.crd for p in seldon.crd_providers.values()] == list(seldon.required_crds)
    tf = RUNTIMES["tensorflow-serving"]  # a Deployment: nothing for the preflight to learn
    assert not tf.unscalable_kinds and not tf.crd_providers and not tf.workload_pods({}) and not tf.workload_hpa_specs({})


# -- ossfs 2.0 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options, level", [
    (None, None),  # the component's defaults: the server's user owns a 0444/0555 tree
    ("", None),  # ossfs2's own defaults: root-owned, 0777, allow_other
    ("-o umask=022 -o allow_other", "error"),  # an ossfs 1.x otherOpts carried over: ossfs2 does not know umask
    ("-o max_stat_cache_size=0", "error"),
    ("-o allow_other=false", "error"),
    ("-o uid=0 -o gid=0 -o file_mode=0440 -o dir_mode=0550", "error"),  # root only
    ("-o file_mode=444", "error"),  # not ossfs2's 4-digit form
    ("-o uid=0 -o gid=10001 -o file_mode=0440 -o dir_mode=0550", None),  # the server's group may read
    ("-o file_mode=0000", "error"),  # 0000 is a mode, not "unset"
    ("-o allow_other=no", "error"), ("-o noallow_other", "error"),  # gflags' other spellings of false
    ("-o uid=abc", "error"),
])
def test_an_ossfs2_mount_is_judged_by_ossfs2s_own_options(options, level):
    from components.model_volume import OSSFS2_MOUNT_OPTIONS
    from elastic_inference_tools.render.preflight.storage import ossfs2_readable_by

    found = ossfs2_readable_by(mount_options(OSSFS2_MOUNT_OPTIONS if options is None else options), 10001, 10001)
    assert (found[0] if found else None) == level


def _ossfs2_plan(auth, version, eci):
    pv = {"urn": "urn:pv", "type": "kubernetes:core/v1:PersistentVolume", "name": "pv", "inputs": {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "ns-m-model"},
        "spec": {"claimRef": {"namespace": "ns", "name": "m-model"}, "csi": {
            "driver": "ossplugin.csi.alibabacloud.com", "volumeHandle": "ns-m-model",
            "volumeAttributes": {"bucket": "b", "url": "oss-cn-beijing-internal.aliyuncs.com", "path": "/m", "fuseType": "ossfs2",
                                 "otherOpts": "", **({"authType": "rrsa", "roleName": "r"} if auth == "rrsa" else {})}}}}}
    labels = {"app": "m", **({"alibabacloud.com/eci": "true"} if eci else {})}
    deployment = {"urn": "urn:d", "type": "kubernetes:apps/v1:Deployment", "name": "d", "inputs": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "m", "namespace": "ns"},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "s", "volumeMounts": [{"name": "model", "mountPath": "/models"}]}],
            "volumes": [{"name": "model", "persistentVolumeClaim": {"claimName": "m-model"}}]}}}}}
    return [pv, deployment], {"kubernetesVersion": version}


def test_ossfs2_refuses_encryption():
    resources, outputs = _ossfs2_plan("secret", "1.30", eci=False)
    resources[0]["inputs"]["spec"]["csi"]["volumeAttributes"]["encrypted"] = "aes256"
    found = [f for f in run(resources, outputs) if f.check == "ossfs2-requirements"]
    assert [f.level for f in found] == ["error"] and "encrypted" in found[0].message


def test_ossfs2_with_rrsa_needs_kubernetes_1_26_and_on_eci_is_flagged():
    found = [f for f in run(*_ossfs2_plan("rrsa", "1.24", eci=False)) if f.check == "ossfs2-requirements"]
    assert [f.level for f in found] == ["error"] and "Kubernetes 1.24" in found[0].message
    assert not [f for f in run(*_ossfs2_plan("rrsa", "1.30", eci=False)) if f.check == "ossfs2-requirements"]
    assert not [f for f in run(*_ossfs2_plan("secret", "1.24", eci=False)) if f.check == "ossfs2-requirements"]
    eci = [f for f in run(*_ossfs2_plan("secret", "1.30", eci=True)) if f.check == "ossfs2-requirements"]
    assert [f.level for f in eci] == ["warning"] and "ECI" in eci[0].message


def test_a_service_on_ossfs2_renders_its_volume_for_the_driver(tmp_path, capsys):
    """`model.client: ossfs2`: the PV carries fuseType ossfs2 and ossfs2's options (readable by the server's user), the
    cluster prerequisites name the csi-plugin release it needs, and the preflight passes it."""
    from elastic_inference_tools.render.cli import main

    prog = link_program(tmp_path / "prog")
    text = open(os.path.join(ROOT, "Pulumi.staging.yaml")).read()
    assert "        path: tensorflow/chnsenticorp\n" in text
    (prog / "Pulumi.fast.yaml").write_text(text.replace("        path: tensorflow/chnsenticorp\n",
                                                        "        path: tensorflow/chnsenticorp\n        client: ossfs2\n", 1))
    out = tmp_path / "out"
    assert main(["fast", "--dir", str(prog), "--out", str(out)]) == 0, capsys.readouterr().err
    plan = json.loads((out / "plan.json").read_text())
    (pv,) = [r["inputs"] for r in plan["resources"] if r["type"] == "kubernetes:core/v1:PersistentVolume"]
    attributes = pv["spec"]["csi"]["volumeAttributes"]
    assert attributes["fuseType"] == "ossfs2"
    assert attributes["otherOpts"] == "-o allow_other=true -o uid=10001 -o gid=10001 -o dir_mode=0555 -o file_mode=0444"
    assert "csi-plugin >= 1.33.1" in plan["outputs"]["clusterPrerequisites"]
    assert "model-mount-readable" not in capsys.readouterr().err
