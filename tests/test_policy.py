"""The policy pack: each policy called directly (never through PolicyPack, which serves gRPC and blocks),
and the offline render running it over every plan."""

import copy
import json
import os

import pytest
import yaml
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

from elastic_inference_tools.policy import policies as P  # noqa: N812 - P.<policy> reads as the pack
from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.policy import stack_levels
from tests.conftest import EXAMPLE_STACKS, ROOT, link_program

OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
DEP, PV, ING, HPA = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:PersistentVolume",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
)


def run(validate, type_, props, name="res"):
    found = []
    validate(ResourceValidationArgs(type_, props, f"urn:{name}", name, OPTS, None), lambda m, u=None: found.append(m))
    return found


def run_stack(validate, resources):
    found = []
    objs = [PolicyResource(t, p, f"urn:{n}", n, OPTS, None, None, [], {}) for t, p, n in resources]
    validate(StackValidationArgs(objs), lambda m, u=None: found.append((m, u)))
    return found


def deployment(**container):
    base = {
        "name": "tensorflow-serving",
        "image": "tensorflow/serving:2.14.1",
        "ports": [{"name": "http", "containerPort": 8501}],
        "readinessProbe": {"httpGet": {"path": "/v1/models/m", "port": "http"}},
        "startupProbe": {"httpGet": {"path": "/v1/models/m", "port": "http"}},
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
        "resources": {"limits": {"cpu": "2"}},
    }
    base.update(container)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bert", "namespace": "inference"},
        "spec": {"selector": {"matchLabels": {"app": "bert"}},
                 "template": {"metadata": {"labels": {"app": "bert"}, "annotations": {}}, "spec": {"containers": [base]}}},
    }


def test_a_good_deployment_passes_every_resource_policy():
    for policy in (P.gpu_containers_have_gpu_limits, P.images_are_pinned, P.containers_are_unprivileged, P.serving_containers_have_probes):
        assert run(policy, DEP, deployment()) == [], policy.__name__


@pytest.mark.parametrize("image, bad", [
    ("tensorflow/serving:latest", "latest"), ("tensorflow/serving", "no tag"), ("registry.example.com:5000/ts", "no tag"),
    ("registry.example.com:5000/ts:2.14.1", None), ("tensorflow/serving@sha256:" + "a" * 64, None),
    ("tensorflow/serving:latest@sha256:" + "b" * 64, None),
])
def test_image_pinned(image, bad):
    found = run(P.images_are_pinned, DEP, deployment(image=image))
    assert (bad in found[0]) if bad else found == []


def test_gpu_limit_required_for_gpu_image_request_or_eci_gpu_spec():
    assert run(P.gpu_containers_have_gpu_limits, DEP, deployment(image="tensorflow/serving:2.14.1-gpu"))
    assert run(P.gpu_containers_have_gpu_limits, DEP, deployment(resources={"requests": {"nvidia.com/gpu": "1"}}))
    gpu_spec = deployment()
    gpu_spec["spec"]["template"]["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] = "ecs.gn6i-c4g1.xlarge"
    assert run(P.gpu_containers_have_gpu_limits, DEP, gpu_spec)
    ok = deployment(image="tensorflow/serving:2.14.1-gpu", resources={"limits": {"nvidia.com/gpu": "1"}})
    assert run(P.gpu_containers_have_gpu_limits, DEP, ok) == []
    cpu_spec = deployment()
    cpu_spec["spec"]["template"]["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] = "ecs.c6.xlarge,2-4Gi"
    assert run(P.gpu_containers_have_gpu_limits, DEP, cpu_spec) == []


@pytest.mark.parametrize("context, expect", [
    ({"allowPrivilegeEscalation": False, "runAsNonRoot": True}, []),
    ({"allowPrivilegeEscalation": False}, ["root"]),
    ({"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 0}, ["root"]),
    ({"runAsNonRoot": True}, ["escalation"]),
    ({"allowPrivilegeEscalation": False, "runAsNonRoot": True, "privileged": True}, ["privileged"]),
])
def test_non_root(context, expect):
    found = run(P.containers_are_unprivileged, DEP, deployment(securityContext=context))
    assert len(found) == len(expect) and all(word in msg for word, msg in zip(expect, found, strict=True))


def test_non_root_from_the_pod_security_context():
    dep = deployment(securityContext={"allowPrivilegeEscalation": False})
    dep["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001}
    assert run(P.containers_are_unprivileged, DEP, dep) == []
    dep["spec"]["template"]["spec"]["hostNetwork"] = True
    assert run(P.containers_are_unprivileged, DEP, dep)


def test_serving_probes():
    assert "readinessProbe" in run(P.serving_containers_have_probes, DEP, deployment(readinessProbe=None))[0]
    assert "startupProbe" in run(P.serving_containers_have_probes, DEP, deployment(startupProbe=None))[0]
    sidecar = deployment(ports=None, readinessProbe=None, startupProbe=None)
    assert run(P.serving_containers_have_probes, DEP, sidecar) == []


def test_seldon_pod_specs_are_checked_too():
    seldon = {"spec": {"predictors": [{"componentSpecs": [{"metadata": {}, "spec": deployment(image="ts:latest")["spec"]["template"]["spec"]}]}]}}
    assert run(P.images_are_pinned, "kubernetes:machinelearning.seldon.io/v1:SeldonDeployment", seldon)


def test_the_pods_of_any_custom_resource_are_checked():
    # A runtime added later may run its pods from a custom resource the pack has never heard of
    # (here a KServe InferenceService, whose predictor is an inline pod spec): its pods are checked.
    pod = deployment(image="vllm/vllm-openai:latest")["spec"]["template"]["spec"]
    kserve = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "spec": {"predictor": pod}}
    assert run(P.images_are_pinned, "kubernetes:serving.kserve.io/v1beta1:InferenceService", kserve)
    host = deployment()["spec"]["template"]["spec"] | {"hostNetwork": True}
    assert run(P.containers_are_unprivileged, "kubernetes:serving.kserve.io/v1beta1:InferenceService", {"spec": {"predictor": host}})
    # Objects that hold no pods are not workloads.
    assert not run(P.images_are_pinned, "kubernetes:scheduling.alibabacloud.com/v1alpha1:ResourcePolicy", {"spec": {"units": []}})


def test_no_inline_oss_credentials():
    good = {"spec": {"csi": {"driver": "ossplugin.csi.alibabacloud.com", "volumeAttributes": {"bucket": "b"},
                             "nodePublishSecretRef": {"name": "s", "namespace": "d"}}}}
    assert run(P.no_inline_oss_credentials, PV, good) == []
    rrsa = copy.deepcopy(good)
    del rrsa["spec"]["csi"]["nodePublishSecretRef"]
    rrsa["spec"]["csi"]["volumeAttributes"]["authType"] = "rrsa"
    assert run(P.no_inline_oss_credentials, PV, rrsa) == []
    for attrs in ({"akId": "x", "akSecret": "y"}, {"otherOpts": "-o passwd_file=/x"}, {"url": "LTAI5tAbCdEfGhIjKlMnOp"}):
        bad = copy.deepcopy(good)
        bad["spec"]["csi"]["volumeAttributes"].update(attrs)
        assert run(P.no_inline_oss_credentials, PV, bad), attrs
    none = copy.deepcopy(good)
    del none["spec"]["csi"]["nodePublishSecretRef"]
    assert run(P.no_inline_oss_credentials, PV, none)


def test_no_public_bucket():
    assert run(P.no_public_bucket, "alicloud:oss/bucketAcl:BucketAcl", {"acl": "private", "bucket": "b"}) == []
    assert run(P.no_public_bucket, "alicloud:oss/bucketAcl:BucketAcl", {"acl": "public-read", "bucket": "b"})
    assert run(P.no_public_bucket, "alicloud:oss/bucket:Bucket", {"acl": "public-read-write", "bucket": "b"})
    public = json.dumps({"Statement": [{"Effect": "Allow", "Principal": ["*"], "Action": ["oss:GetObject"]}]})
    assert run(P.no_public_bucket, "alicloud:oss/bucketPolicy:BucketPolicy", {"policy": public, "bucket": "b"})
    named = json.dumps({"Statement": [{"Effect": "Allow", "Principal": ["20214760404935xxxx"], "Action": ["oss:GetObject"]}]})
    assert run(P.no_public_bucket, "alicloud:oss/bucketPolicy:BucketPolicy", {"policy": named, "bucket": "b"}) == []
    assert run(P.no_public_bucket, "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock", {"blockPublicAccess": False})


def test_hpa_bounds():
    hpa = lambda lo, hi: {"spec": {"minReplicas": lo, "maxReplicas": hi}}  # noqa: E731
    assert run(P.hpa_bounds, HPA, hpa(1, 10)) == [] and run(P.hpa_bounds, HPA, hpa(3, 3)) == []
    assert "> maxReplicas" in run(P.hpa_bounds, HPA, hpa(5, 2))[0]
    assert "< 1" in run(P.hpa_bounds, HPA, hpa(0, 2))[0]


def test_ingress_tls():
    ing = {"spec": {"rules": [{"host": "a.example.com"}, {"host": "b.example.com"}], "tls": [{"hosts": ["a.example.com"]}]}}
    (msg,) = run(P.ingress_has_tls, ING, ing)
    assert "b.example.com" in msg


def test_bucket_encrypted():
    bucket = ("alicloud:oss/bucket:Bucket", {"bucket": "m"}, "models-bucket")
    sse = ("alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption", {"bucket": "m", "sseAlgorithm": "KMS"}, "sse")
    assert run_stack(P.buckets_are_encrypted, [bucket, sse]) == []
    ((msg, urn),) = run_stack(P.buckets_are_encrypted, [bucket])
    assert "m has no server-side encryption" in msg and urn == "urn:models-bucket"


def test_model_data_and_bucket_protections_are_protected_with_the_bucket():
    protected = PolicyResourceOptions(True, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])

    def stack(*resources):
        objs = [PolicyResource(t, p, f"urn:{n}", n, protected if guarded else OPTS, None, None, [], {}) for t, p, n, guarded in resources]
        found = []
        P.protected_buckets_guard_their_data(StackValidationArgs(objs), lambda m, u=None: found.append((m, u)))
        return found

    bucket = ("alicloud:oss/bucket:Bucket", {"bucket": "m"}, "models-bucket", True)
    obj = ("alicloud:oss/bucketObject:BucketObject", {"bucket": "m", "key": "bert/1/saved_model.pb"}, "models-object", False)
    pab = ("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": "m"}, "models-pab", False)
    found = stack(bucket, obj, pab)
    assert [u for _, u in found] == ["urn:models-object", "urn:models-pab"]
    assert "model data" in found[0][0] and "a protection of the bucket" in found[1][0]
    assert stack(bucket, obj[:3] + (True,), pab[:3] + (True,)) == []
    assert stack(bucket[:3] + (False,), obj, pab) == []  # an unprotected bucket (a dev stack) may lose them


def test_hpa_target_exists():
    dep = (DEP, deployment(), "bert-deployment")
    hpa = (HPA, {"metadata": {"namespace": "inference"},
                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}}}, "bert-hpa")
    assert run_stack(P.hpas_target_workloads_of_the_stack, [dep, hpa]) == []
    other = copy.deepcopy(hpa)
    other[1]["spec"]["scaleTargetRef"]["name"] = "gpt"
    assert run_stack(P.hpas_target_workloads_of_the_stack, [dep, other])
    elsewhere = copy.deepcopy(hpa)
    elsewhere[1]["metadata"]["namespace"] = "default"
    assert run_stack(P.hpas_target_workloads_of_the_stack, [dep, elsewhere])


def test_disruption_budget():
    dep = (DEP, deployment(), "bert-deployment")
    pdb = ("kubernetes:policy/v1:PodDisruptionBudget",
           {"metadata": {"namespace": "inference"}, "spec": {"selector": {"matchLabels": {"app": "bert"}}, "maxUnavailable": 1}}, "pdb")
    assert run_stack(P.every_workload_has_a_disruption_budget, [dep, pdb]) == []
    assert run_stack(P.every_workload_has_a_disruption_budget, [dep])
    wrong = copy.deepcopy(pdb)
    wrong[1]["spec"]["selector"]["matchLabels"] = {"app": "gpt"}
    assert run_stack(P.every_workload_has_a_disruption_budget, [dep, wrong])


def test_every_policy_is_named_described_and_unique():
    names = [p.name for p in P.POLICIES]
    assert len(names) == len(set(names)) >= 11
    assert {"ingress-tls", "image-pinned", "disruption-budget", "bucket-encrypted", "no-inline-oss-credentials"} <= set(names)


# -- the render runs the pack ------------------------------------------------------------------


@pytest.fixture
def program(tmp_path):
    prog = link_program(tmp_path / "program")

    def write(stack, config):
        (prog / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
        return prog

    return write


def stack_config(name):
    return yaml.safe_load(open(os.path.join(ROOT, f"Pulumi.{name}.yaml")))["config"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_pass_the_pack(tmp_path, stack, capsys):
    assert main([stack, "--out", str(tmp_path / stack)]) == 0
    err = capsys.readouterr().err
    assert "[mandatory]" not in err
    if stack == "dev":  # dev serves plain HTTP: advisory there
        assert "[advisory] ingress-tls" in err


def test_plain_http_is_mandatory_outside_dev(tmp_path, program, capsys):
    config = stack_config("staging")
    del config["elastic-inference:services"]["bert"]["ingress"]["tlsSecret"]
    prog = program("qa", config)
    out = tmp_path / "out"
    assert main(["qa", "--out", str(out), "--dir", str(prog)]) == 3
    err = capsys.readouterr().err
    assert "[mandatory] ingress-tls: kubernetes:networking.k8s.io/v1:Ingress bert-ingress" in err
    assert not out.exists()


def test_latest_image_fails_the_render_with_exit_3(tmp_path, program, capsys):
    config = stack_config("prod")
    config["elastic-inference:services"]["ranker"]["image"] = "tensorflow/serving:latest"
    prog = program("prod", config)
    assert main(["prod", "--out", str(tmp_path / "out"), "--dir", str(prog)]) == 3
    err = capsys.readouterr().err
    assert "[mandatory] image-pinned: kubernetes:apps/v1:Deployment ranker-deployment: container 'tensorflow-serving'" in err


def test_stack_settings_file_is_checked(tmp_path, program, capsys):
    prog = program("dev", stack_config("dev"))
    prog_policy = tmp_path / "own-policy"
    os.unlink(prog / "policy")
    (prog_policy / "stacks").mkdir(parents=True)
    os.symlink(os.path.join(ROOT, "elastic_inference_tools", "policy", "policies.py"), prog_policy / "policies.py")
    (prog_policy / "stacks" / "dev.json").write_text('{"ingress-tls": {"enforcementLevel": "sometimes"}}')
    os.symlink(prog_policy, prog / "policy")
    assert main(["dev", "--out", str(tmp_path / "out"), "--dir", str(prog)]) == 2
    assert "enforcementLevel must be one of" in capsys.readouterr().err


def test_every_example_stack_has_policy_settings_for_the_workflow():
    """The real-preview job passes policy/stacks/<stack>.json to the CLI: each example stack has one."""
    settings = {f[: -len(".json")] for f in os.listdir(os.path.join(ROOT, "policy", "stacks"))}
    assert set(EXAMPLE_STACKS) <= settings
    for stack in EXAMPLE_STACKS:
        json.load(open(os.path.join(ROOT, "policy", "stacks", f"{stack}.json")))


def test_a_stack_without_settings_gets_the_policies_default_levels(tmp_path, program, capsys):
    """A stack with no policy/stacks/<stack>.json (a team's own) is checked at each policy's own level:
    dev's config, plain HTTP and advisory under dev.json, is a mandatory violation under another name."""
    prog = program("team", stack_config("dev"))
    assert not (prog / "policy" / "stacks" / "team.json").exists()
    assert stack_levels(str(prog), "team") == {}
    assert {p.name: p.enforcement_level for p in P.POLICIES}["ingress-tls"] == P.MANDATORY
    out = tmp_path / "out"
    assert main(["team", "--out", str(out), "--dir", str(prog)]) == 3
    err = capsys.readouterr().err
    assert "[mandatory] ingress-tls: kubernetes:networking.k8s.io/v1:Ingress bert-ingress" in err
    assert "[advisory]" not in err and not out.exists()
    # The same config under its own settings file: advisory there, and it renders.
    prog = program("dev", stack_config("dev"))
    assert stack_levels(str(prog), "dev") == {"ingress-tls": "advisory"}
    assert main(["dev", "--out", str(out), "--dir", str(prog)]) == 0
    assert "[advisory] ingress-tls" in capsys.readouterr().err


def test_the_cli_entry_point_builds_the_pack_from_these_policies():
    """elastic_inference_tools/policy/__main__.py is what `pulumi preview --policy-pack elastic_inference_tools/policy` runs; compiled here, not run
    (a PolicyPack serves gRPC and blocks)."""
    import ast

    source = open(os.path.join(ROOT, "elastic_inference_tools", "policy", "__main__.py")).read()
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "PolicyPack"]
    (call,) = calls
    assert {k.arg: ast.unparse(k.value) for k in call.keywords} == {"name": "PACK_NAME", "policies": "POLICIES"}
    assert P.PACK_NAME == "elastic-inference"  # the name the render also recognises a copy of this pack by
    config = yaml.safe_load(open(os.path.join(ROOT, "elastic_inference_tools", "policy", "PulumiPolicy.yaml")))
    assert config["runtime"]["name"] == "python"
    assert "pulumi-policy==" in open(os.path.join(ROOT, "elastic_inference_tools", "policy", "requirements.txt")).read()


def test_a_misspelt_policy_in_the_stack_settings_is_refused(tmp_path, capsys):
    """`{"non-rot": "disabled"}` meant `non-root`: it must not leave that policy mandatory, silently."""
    from tests.conftest import link_program

    prog = link_program(tmp_path / "prog", ("Pulumi.yaml", "__main__.py", "config", "components", "Pulumi.dev.yaml"))
    (prog / "policy" / "stacks").mkdir(parents=True)
    (prog / "policy" / "stacks" / "dev.json").write_text(json.dumps({"ingress-tls": "advisory", "non-rot": "disabled"}))
    assert main(["dev", "--dir", str(prog), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "1 setting(s) name no policy of the pack" in err and "non-root" in err and "non-rot," not in err
    assert not (tmp_path / "out").exists()
