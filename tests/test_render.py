"""The offline render: files, exit codes, validation, secrets, and the seeds' topologies."""

import json
import os
import sys

import pytest
import yaml

from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.manifests import Validator
from tests.conftest import BASE, EXAMPLE_STACKS, ROOT

STACKS = sorted(EXAMPLE_STACKS)


def render(tmp_path, stack, program_dir=ROOT):
    out = tmp_path / f"out-{stack}"
    code = main([stack, "--out", str(out), "--dir", str(program_dir)])
    return code, out


def load(out):
    plan = json.loads((out / "plan.json").read_text())
    manifests = {p.name: yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").iterdir())}
    return plan, manifests


def by_name(plan, name):
    (found,) = [r for r in plan["resources"] if r["name"] == name]
    return found


@pytest.fixture
def program(tmp_path):
    """A copy of the program whose stack files a test writes."""
    prog = tmp_path / "program"
    prog.mkdir()
    for entry in ("Pulumi.yaml", "__main__.py", "config", "components"):
        os.symlink(os.path.join(ROOT, entry), prog / entry)

    def write(stack, config):
        (prog / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
        # The built-in policy pack runs on every program; these test stacks serve plain HTTP.
        levels = prog / "policy" / "stacks" / f"{stack}.json"
        levels.parent.mkdir(parents=True, exist_ok=True)
        levels.write_text(json.dumps({"ingress-tls": "advisory"}))
        return prog

    return write


def contract(raw, region="cn-beijing"):
    config = {f"elastic-inference:{k}": v for k, v in raw.items()}
    config["alicloud:region"] = region
    return config


def test_example_stacks_exist():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_renders(tmp_path, capsys, stack):
    code, out = render(tmp_path, stack)
    assert code == 0
    plan, manifests = load(out)
    assert plan["project"] == "elastic-inference" and plan["stack"] == stack
    assert manifests, "no Kubernetes objects rendered"
    for res in plan["resources"]:
        assert set(res) >= {"urn", "type", "name", "parent", "custom", "inputs", "options"}
        assert set(res["options"]) == {"protect", "retainOnDelete", "ignoreChanges", "dependsOn"}
    stdout = capsys.readouterr().out
    assert "pulumi:pulumi:Stack" in stdout and f"+ {len(plan['resources']) + 1} to create" in stdout
    assert plan["outputs"]["endpoints"] and plan["outputs"]["modelBucket"]


def test_render_is_deterministic(tmp_path):
    _, a = render(tmp_path / "a", "prod")
    _, b = render(tmp_path / "b", "prod")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_seed_002_ecs_spot_pool_topology(tmp_path):
    """staging: seed 002's node pool, the arena service, the HPA, the ingress."""
    code, out = render(tmp_path, "staging")
    assert code == 0
    plan, m = load(out)
    pool = by_name(plan, "inference-gpu-pool")["inputs"]
    assert pool["spotStrategy"] == "SpotAsPriceGo" and pool["multiAzPolicy"] == "COST_OPTIMIZED"
    assert pool["onDemandPercentageAboveBaseCapacity"] == "30" and pool["compensateWithOnDemand"] is True
    assert {"key": "inference", "value": "tensorflow"} in pool["labels"]
    assert pool["scalingConfig"]["enable"] is True
    assert "desiredSize" in by_name(plan, "inference-gpu-pool")["options"]["ignoreChanges"]
    units = m["resourcepolicy_inference_bert.yaml"]["spec"]["units"]
    # The pool really comes first: pods wait for a new node (up to the timeout) before they go to ECI.
    assert units[0] == {"nodeSelector": {"inference": "tensorflow"}, "resource": "ecs",
                        "podLabels": {"k8s.aliyun.com/resource-policy-wait-for-ecs-scaling": "true"}}
    assert m["resourcepolicy_inference_bert.yaml"]["spec"]["whenTryNextUnits"] == {"policy": "TimeoutOrExceedMax", "timeout": "300s"}
    assert units[1]["resource"] == "eci"
    deployment = m["deployment_inference_bert.yaml"]
    assert "spec.replicas" in by_name(plan, "bert-deployment")["options"]["ignoreChanges"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "tensorflow/serving:1.15.0-gpu"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "versions: 1623831335" in m["configmap_inference_bert-model-config.yaml"]["data"]["models.config"]
    hpa = m["horizontalpodautoscaler_inference_bert.yaml"]["spec"]
    labels = hpa["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]
    assert labels["sls.ingress.route"] == "inference-bert-8501"
    assert labels["sls.project"] == "k8s-log-c1111111111111111111111111111111a"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bert"}
    backend = m["ingress_inference_bert.yaml"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "bert", "port": {"number": 8501}}
    pv = m["persistentvolume__inference-bert-model.yaml"]["spec"]
    assert "akId" not in pv["csi"]["volumeAttributes"] and pv["csi"]["nodePublishSecretRef"]["name"] == "bert-oss-credentials"
    # The bucket leaves what its split resources set alone; shared add-ons outlive the stack.
    assert set(by_name(plan, "models-bucket")["options"]["ignoreChanges"]) == {"acl", "serverSideEncryptionRule", "versioning"}
    for addon in ("cluster-logtail", "cluster-virtual-node", "cluster-metrics-adapter"):
        assert by_name(plan, addon)["options"]["retainOnDelete"] is True, addon
    assert "node-autoscaling" in plan["outputs"]["clusterPrerequisites"]


def test_seed_000_eci_seldon_tiers(tmp_path):
    code, out = render(tmp_path, "prod")
    assert code == 0
    plan, m = load(out)
    units = m["resourcepolicy_inference_fashion.yaml"]["spec"]["units"]
    assert [(u["resource"], u["max"]) for u in units] == [("eci", 3), ("eci", 10)]
    assert units[1]["podAnnotations"]["k8s.aliyun.com/eci-spot-strategy"] == "SpotAsPriceGo"
    sd = m["seldondeployment_inference_fashion.yaml"]
    assert sd["spec"]["predictors"][0]["graph"]["name"] == "tfserving-proxy"
    # Seldon's operator makes the HPA from hpaSpec; no HPA of ours targets the SeldonDeployment.
    assert "horizontalpodautoscaler_inference_fashion.yaml" not in m
    hpa = sd["spec"]["predictors"][0]["componentSpecs"][0]["hpaSpec"]
    route = hpa["metricsv2"][0]["external"]["metric"]["selector"]["matchLabels"]["sls.ingress.route"]
    assert route == "inference-fashion-default-8000" and (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 10)
    # Its operator is installed by the stack, pinned to the last Apache-2.0 release, and outlives it.
    seldon = by_name(plan, "cluster-seldon-core")
    assert (seldon["inputs"]["chart"], seldon["inputs"]["version"]) == ("seldon-core-operator", "1.17.1")
    assert seldon["options"]["retainOnDelete"] is True
    assert not any(r["type"].endswith("ElasticWorkload") for r in plan["resources"])
    # rrsa: no AccessKey anywhere, the PV names the role
    assert not any(r["type"] == "alicloud:ram/accessKey:AccessKey" for r in plan["resources"])
    attrs = m["persistentvolume__inference-fashion-model.yaml"]["spec"]["csi"]["volumeAttributes"]
    assert attrs["authType"] == "rrsa" and attrs["roleName"] == "acme-models-prod-model-reader"


def test_seed_003_eci_only_gpu(tmp_path, program):
    raw = json.loads(json.dumps(BASE))
    del raw["nodePool"]
    raw["services"]["bert"]["placement"] = {"mode": "eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}
    code, out = render(tmp_path, "eci", program("eci", contract(raw)))
    assert code == 0
    _, m = load(out)
    pod = m["deployment_default_bert.yaml"]["spec"]["template"]
    assert pod["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
    assert pod["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "ecs.gn6i-c4g1.xlarge"
    assert "alibabacloud.com/burst-resource" not in pod["metadata"].get("annotations", {})
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert not any(name.startswith("resourcepolicy") for name in m)


def test_bad_config_exits_2_naming_keys_and_writes_nothing(tmp_path, program, capsys):
    raw = json.loads(json.dumps(BASE))
    raw["services"]["bert"]["autoscaling"] = {"minReplicas": 5, "maxReplicas": 2}
    raw["nodePool"]["onDemandPercentage"] = 130
    code, out = render(tmp_path, "bad", program("bad", contract(raw)))
    err = capsys.readouterr().err
    assert code == 2
    assert "nodePool.onDemandPercentage: must be <= 100" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cross_field_error_exit_2(tmp_path, program, capsys):
    raw = json.loads(json.dumps(BASE))
    raw["services"]["bert"]["autoscaling"] = {"minReplicas": 5, "maxReplicas": 2}
    code, out = render(tmp_path, "bad", program("bad", contract(raw)))
    assert code == 2
    assert capsys.readouterr().err.strip() == "services.bert.autoscaling.maxReplicas: must be >= minReplicas (5)"
    assert not out.exists()


def test_duplicate_yaml_keys_rejected(tmp_path, program, capsys):
    prog = program("dup", contract(BASE))
    text = (prog / "Pulumi.dup.yaml").read_text()
    (prog / "Pulumi.dup.yaml").write_text(text + "  elastic-inference:modelStore: {bucket: other-bucket}\n")
    code, _ = render(tmp_path, "dup", prog)
    err = capsys.readouterr().err
    assert code == 2 and "duplicate key" in err
    assert err.startswith(str(prog / "Pulumi.dup.yaml") + ":") and "<unicode string>" not in err  # the file, by its path


def test_missing_stack_file_exit_2(tmp_path, capsys):
    code, out = render(tmp_path, "nope")
    assert code == 2 and "Pulumi.nope.yaml: no such file" in capsys.readouterr().err
    assert not out.exists()


def test_unsupported_kubernetes_version_exit_2(tmp_path, program, capsys):
    raw = json.loads(json.dumps(BASE))
    raw["cluster"]["kubernetesVersion"] = "1.99"
    code, _ = render(tmp_path, "future", program("future", contract(raw)))
    # The program tells the render its cluster's version by the stack output kubernetesVersion.
    assert code == 2 and capsys.readouterr().err.startswith("the stack output kubernetesVersion: no Kubernetes schemas for 1.99")


def test_secure_values_never_written_or_printed(tmp_path, program, capsys):
    config = contract(BASE)
    config["kubernetes:kubeconfig"] = {"secure": "v1:PLANTED-CIPHERTEXT"}
    config["alicloud:secretKey"] = {"secure": "v1:PLANTED-KEY"}
    code, out = render(tmp_path, "secrets", program("secrets", config))
    assert code == 0
    captured = capsys.readouterr()
    blobs = [captured.out, captured.err] + [p.read_text() for p in out.rglob("*") if p.is_file()]
    assert not any("PLANTED" in blob for blob in blobs)
    plan, m = load(out)
    assert m["secret_default_bert-oss-credentials.yaml"]["stringData"] == {"[secret]": "[secret]"}


def test_upload_dir_objects_in_plan(tmp_path, program):
    raw = json.loads(json.dumps(BASE))
    prog = program("upload", {})
    (prog / "models" / "tensorflow" / "chnsenticorp" / "1623831335").mkdir(parents=True)
    (prog / "models" / "tensorflow" / "chnsenticorp" / "1623831335" / "saved_model.pb").write_bytes(b"pb")
    raw["modelStore"]["uploadDir"] = "models"
    program("upload", contract(raw))
    code, out = render(tmp_path, "upload", prog)
    assert code == 0
    plan, _ = load(out)
    obj = by_name(plan, "models-object-tensorflow/chnsenticorp/1623831335/saved_model.pb")
    assert obj["inputs"]["key"] == "tensorflow/chnsenticorp/1623831335/saved_model.pb"


def test_bucket_protected_and_retained(tmp_path):
    code, out = render(tmp_path, "dev")
    plan, _ = load(out)
    options = by_name(plan, "models-bucket")["options"]
    assert options["protect"] is True and options["retainOnDelete"] is True


# --- the validator itself --------------------------------------------------------------------


def test_validator_rejects_unknown_field_strictly(tmp_path):
    _, out = render(tmp_path, "dev")
    _, m = load(out)
    deployment = m["deployment_default_bert.yaml"]
    validator = Validator("1.30")
    assert validator.errors(deployment) == []
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert any("imagePullPolcy" in e for e in validator.errors(deployment))


def test_validator_checks_crds_against_project_schemas():
    validator = Validator("1.30")
    policy = {
        "apiVersion": "scheduling.alibabacloud.com/v1alpha1", "kind": "ResourcePolicy",
        "metadata": {"name": "bert", "namespace": "default"},
        "spec": {"selector": {"a": "b"}, "strategy": "prefer", "units": [{"resource": "ecs"}]},
    }
    assert validator.errors(policy) == []
    policy["spec"]["units"][0]["resource"] = "gpu"
    assert validator.errors(policy)
    assert validator.errors({"apiVersion": "example.com/v1", "kind": "Widget"}) == [
        "no schema for Widget example.com/v1 in Kubernetes 1.30.0 or in elastic_inference_tools/render/schemas"]


def test_invalid_manifest_exits_1_and_keeps_the_previous_output(tmp_path, monkeypatch, capsys):
    import elastic_inference_tools.render.pipeline as pipeline

    out = tmp_path / "out"
    assert render(tmp_path, "dev")[0] == 0
    (tmp_path / "out-dev").rename(out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    real = pipeline.manifests

    def corrupted(resources):
        objects = real(resources)
        deployment = next(m for m in objects if m.kind == "Deployment")
        deployment.body["spec"]["replicaz"] = 2
        return objects

    monkeypatch.setattr(pipeline, "manifests", corrupted)
    assert main(["dev", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "deployment_default_bert.yaml: spec: Additional properties are not allowed ('replicaz' was unexpected)" in err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".render-")]


def test_renders_another_checkouts_own_modules(tmp_path):
    """`--dir ../base` runs that checkout's config and components, not the ones already imported here."""
    import shutil

    import config.schema  # noqa: F401 - this checkout's, imported first as in the workflow

    other = tmp_path / "base"
    other.mkdir()
    for entry in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(os.path.join(ROOT, entry), other / entry)
    for package in ("config", "components", "policy"):
        shutil.copytree(os.path.join(ROOT, package), other / package, ignore=shutil.ignore_patterns("__pycache__"))
    stack = other / "Pulumi.dev.yaml"
    stack.write_text("".join(line for line in stack.read_text().splitlines(True) if "image:" not in line))
    runtime = other / "components" / "runtimes" / "tf_serving.py"  # where the default image is set, once
    assert '"tensorflow/serving:2.14.1"' in runtime.read_text()
    runtime.write_text(runtime.read_text().replace('"tensorflow/serving:2.14.1"', '"tensorflow/serving:2.99.0"'))
    try:
        code, out = render(tmp_path, "dev", other)
        assert code == 0
        _, m = load(out)
        image = m["deployment_default_bert.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "tensorflow/serving:2.99.0"
        code, out = render(tmp_path / "again", "dev")
        _, m = load(out)
        assert m["deployment_default_bert.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"] == "tensorflow/serving:2.14.1"
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in ("config", "components")]:
            del sys.modules[name]


def tiny_program(tmp_path, main_py, name="tiny"):
    """A throw-away Pulumi program of one ``__main__.py`` and an empty ``dev`` stack."""
    prog = tmp_path / name
    prog.mkdir()
    (prog / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (prog / "Pulumi.dev.yaml").write_text("config: {}\n")
    (prog / "__main__.py").write_text(main_py)
    return prog


TWO_INPUT_ERRORS = """
import pulumi

def bad():
    raise pulumi.InputPropertiesError("two problems", errors=[
        {"property_path": "services.zeta.port", "reason": "must be <= 65535"},
        {"property_path": "cluster.alpha", "reason": "is required"},
    ])
"""


@pytest.mark.parametrize("raising", [
    "bad()",
    # raised `from` it, and left as the context of a RunError: the chain is walked
    "try:\n    bad()\nexcept pulumi.InputPropertiesError as exc:\n    raise pulumi.RunError('invalid') from exc\n",
    "try:\n    bad()\nexcept pulumi.InputPropertiesError:\n    raise pulumi.RunError('invalid')\n",
], ids=["raised", "from", "context"])
def test_input_properties_error_exits_2_with_one_line_per_error(tmp_path, capsys, raising):
    prog = tiny_program(tmp_path, TWO_INPUT_ERRORS + raising)
    code, out = render(tmp_path, "dev", prog)
    err = capsys.readouterr().err
    assert code == 2
    # In the order given (not sorted), no traceback, nothing written.
    assert err.splitlines() == ["services.zeta.port: must be <= 65535", "cluster.alpha: is required"]
    assert not out.exists()


def test_input_properties_error_without_errors_prints_its_message(tmp_path, capsys):
    prog = tiny_program(tmp_path, "import pulumi\nraise pulumi.InputPropertiesError('cluster: unusable', errors=[])\n")
    code, _ = render(tmp_path, "dev", prog)
    assert code == 2 and capsys.readouterr().err.splitlines() == ["cluster: unusable"]


def test_an_error_is_not_recognised_by_its_class_name(tmp_path, capsys):
    """A ``ConfigError`` with ``problems`` that is not a ``pulumi.InputPropertiesError`` is a program failure."""
    prog = tiny_program(tmp_path, "class ConfigError(ValueError):\n    problems = ['a: b']\n\nraise ConfigError('a: b')\n")
    code, _ = render(tmp_path, "dev", prog)
    assert code == 1 and "the program failed: ConfigError: a: b" in capsys.readouterr().err


def test_render_stack_returns_what_the_program_declares_silently(tmp_path, capsys):
    from elastic_inference_tools.render import Rendered, RenderError, render_stack

    rendered = render_stack(ROOT, "dev")
    assert isinstance(rendered, Rendered) and rendered.stack.name == "dev"
    assert rendered.outputs == rendered.result.outputs and rendered.outputs["endpoints"]
    assert rendered.resources and all(r.urn.startswith("urn:pulumi:dev::elastic-inference::") for r in rendered.resources)
    assert {m["kind"] for m in rendered.manifests} >= {"Deployment", "Service", "HorizontalPodAutoscaler"}
    assert capsys.readouterr().out == ""

    prog = tiny_program(tmp_path, "print('noise')\n" + TWO_INPUT_ERRORS + "bad()\n")
    with pytest.raises(RenderError) as raised:
        render_stack(str(prog), "dev")
    assert raised.value.code == 2
    assert raised.value.lines == ["services.zeta.port: must be <= 65535", "cluster.alpha: is required"]
    with pytest.raises(RenderError) as raised:
        render_stack(str(prog), "nope")
    assert raised.value.code == 2 and "Pulumi.nope.yaml: no such file" in raised.value.lines[0]
    assert capsys.readouterr().out == ""


def _bare_program(tmp_path, stack="team"):
    """This program with a stack of its own and no policy/ directory: a team's program."""
    prog = tmp_path / "team-program"
    prog.mkdir()
    for entry in ("Pulumi.yaml", "__main__.py", "config", "components"):
        os.symlink(os.path.join(ROOT, entry), prog / entry)
    (prog / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": contract(BASE)}))
    return prog


def test_the_built_in_policy_pack_runs_on_a_program_without_one(tmp_path, capsys):
    prog = _bare_program(tmp_path)
    assert main(["team", "--dir", str(prog), "--out", str(tmp_path / "out")]) == 3
    assert "[mandatory] ingress-tls" in capsys.readouterr().err


def test_a_program_adds_policies_and_sets_levels_but_never_replaces_a_built_in(tmp_path, capsys):
    prog = _bare_program(tmp_path)
    (prog / "policy" / "stacks").mkdir(parents=True)
    (prog / "policy" / "stacks" / "team.json").write_text(json.dumps({"ingress-tls": "disabled"}))
    (prog / "policy" / "policies.py").write_text(
        "from pulumi_policy import EnforcementLevel, ResourceValidationPolicy\n"
        "def _no_default_namespace(args, report):\n"
        "    if args.resource_type.endswith(':Deployment') and args.props['metadata'].get('namespace') == 'default':\n"
        "        report('team rule: not in the default namespace')\n"
        "POLICIES = [ResourceValidationPolicy(name='team-namespaces', description='d', validate=_no_default_namespace,\n"
        "                                     enforcement_level=EnforcementLevel.ADVISORY)]\n")
    assert main(["team", "--dir", str(prog), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "policy ingress-tls is disabled for this stack by policy/stacks/team.json" in err  # said, not silent
    assert "[advisory] team-namespaces" in err  # the program's own policy ran too

    (prog / "policy" / "policies.py").write_text((prog / "policy" / "policies.py").read_text().replace("team-namespaces", "ingress-tls"))
    assert main(["team", "--dir", str(prog), "--out", str(tmp_path / "out2")]) == 2
    assert "ingress-tls is a built-in policy" in capsys.readouterr().err


def test_an_earlier_checkouts_pack_adds_its_policies_and_never_replaces_the_built_in_ones(tmp_path, capsys):
    # A pull request's base from when the pack lived in the program (policy/policies.py, its PACK_NAME),
    # rendered by the head's render (`--dir ../base`): its extra policy runs, and the built-in ones run
    # even when its version has emptied or changed them.
    import shutil

    prog = _bare_program(tmp_path)
    shutil.copytree(os.path.join(ROOT, "elastic_inference_tools", "policy"), prog / "policy", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    (prog / "policy" / "stacks").mkdir()
    (prog / "policy" / "stacks" / "team.json").write_text(json.dumps({"ingress-tls": "advisory"}))
    pack = prog / "policy" / "policies.py"
    pack.write_text(pack.read_text() + (
        "\ndef _base_only(args, report):\n"
        "    if args.resource_type.endswith(':Deployment'):\n"
        "        report('a policy of the base version')\n"
        "POLICIES[:] = [ResourceValidationPolicy(name='base-only', description='d', validate=_base_only,\n"
        "                                        enforcement_level=EnforcementLevel.ADVISORY)]\n"))
    assert main(["team", "--dir", str(prog), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "[advisory] base-only" in err and "[advisory] ingress-tls" in err  # the built-in one, though the base's list dropped it


def test_the_design_contracts_entry_point_still_renders_from_a_checkout(tmp_path):
    """DESIGN.md's `python -m render STACK [--out DIR]` (and `python -m render diff`): the checkout's entry points
    run the `elastic-inference` command."""
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "render", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    rendered = run("dev", "--out", str(tmp_path / "dev"))
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert (tmp_path / "dev" / "plan.json").exists() and "Wrote " in rendered.stdout
    diffed = run("diff", str(tmp_path), str(tmp_path))
    assert diffed.returncode == 0 and "- **dev**: no changes." in diffed.stdout
