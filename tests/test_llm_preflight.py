"""The preflight's llm-model-fits (render/preflight/llm.py): weights against the GPUs that may host them, tensor
parallelism against the pod's GPUs, and a model directory vLLM can load, on rendered stacks of an LLM service."""

import copy
import json

import pytest
import yaml

from elastic_inference_tools.render.cli import main
from elastic_inference_tools.render.preflight import run
from tests.conftest import BASE, link_program

GIB = 1024 ** 3


def _write_model(root, weights_bytes, config=True, index=True):
    """A model directory whose index states the size given, as huggingface_hub writes one. The shard itself is small:
    the upload hashes every file it sends (its content MD5), and the index is what the check reads first."""
    root.mkdir(parents=True)
    if config:
        (root / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    shard = root / "model-00001-of-00001.safetensors"
    with open(shard, "wb") as fh:
        fh.truncate(weights_bytes if not index else 1024)
    if index:
        (root / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": weights_bytes}, "weight_map": {}}))


def _render(tmp_path, weights_gib=None, upload=None, eci_types=("ecs.gn7i-c8g1.2xlarge",), gpu=1, llm=None):
    raw = copy.deepcopy(BASE)
    del raw["nodePool"]
    raw["modelStore"]["access"] = "secret"
    bert = raw["services"]["bert"]
    bert.update(runtime="vllm", image="vllm/vllm-openai:v0.33.0", resources={"gpu": gpu, "cpu": "6", "memory": "24Gi"},
                model={"name": "qwen", "path": "llm/qwen"}, placement={"mode": "eci", "eciInstanceTypes": list(eci_types)},
                autoscaling={"minReplicas": 1, "maxReplicas": 2, "targetQpsPerReplica": 2}, llm={"apiKeySecret": "qwen-key", **(llm or {})},
                ingress={"host": "llm.example.com", "tlsSecret": "llm-tls"})
    if weights_gib is not None:
        bert["llm"]["weightsGiB"] = weights_gib
    prog = link_program(tmp_path / "prog")
    if upload is not None:
        upload(prog / "models" / "llm" / "qwen")
        raw["modelStore"]["uploadDir"] = "models"
    (prog / "Pulumi.llm.yaml").write_text(yaml.safe_dump({"config": {"alicloud:region": "cn-beijing",
                                                                      **{f"elastic-inference:{k}": v for k, v in raw.items()}}}))
    out = tmp_path / "out"
    code = main(["llm", "--dir", str(prog), "--out", str(out)])
    plan = json.loads((out / "plan.json").read_text()) if code == 0 else None
    return code, plan, str(prog)


def llm_findings(plan, prog):
    """The check's findings on a rendered plan (the uploaded files' paths are relative to the program)."""
    return [f for f in run(plan["resources"], plan["outputs"], prog) if f.check == "llm-model-fits"]


def test_a_model_that_fits_its_gpu_renders(tmp_path):
    code, plan, prog = _render(tmp_path, upload=lambda root: _write_model(root, 15 * GIB))  # 15 GiB on an A10's 24 GiB x 0.92
    assert code == 0
    assert llm_findings(plan, prog) == []


def test_weights_larger_than_the_gpus_are_refused_before_anything_is_written(tmp_path, capsys):
    # 28 GiB of weights (a 14B model in bf16) on one 24 GiB A10: vLLM cannot load it.
    code, plan, _ = _render(tmp_path, upload=lambda root: _write_model(root, 28 * GIB))
    assert code == 4 and plan is None
    err = capsys.readouterr().err
    assert "llm-model-fits" in err and "28.0 GiB" in err and "ecs.gn7i-c8g1.2xlarge" in err


def test_a_stated_size_is_judged_when_nothing_is_uploaded(tmp_path, capsys):
    assert _render(tmp_path, weights_gib=70)[0] == 4  # 70 GiB on one A10
    assert "70.0 GiB" in capsys.readouterr().err


def test_weights_that_leave_little_kv_cache_are_warned_about(tmp_path, capsys):
    code, plan, prog = _render(tmp_path, weights_gib=20)  # 20 of the A10's 22.1 GiB budget
    assert code == 0
    (finding,) = llm_findings(plan, prog)
    assert finding.level == "warning" and "KV cache" in finding.message


def test_an_unknown_size_is_said_not_checked(tmp_path):
    code, plan, prog = _render(tmp_path)
    (finding,) = llm_findings(plan, prog)
    assert finding.level == "warning" and "not checked" in finding.message


@pytest.mark.parametrize("upload, missing", [
    (lambda root: _write_model(root, GIB, config=False), "config.json"),
    (lambda root: (root.mkdir(parents=True), (root / "config.json").write_text("{}")), "no weights"),
])
def test_a_model_directory_vllm_cannot_load_is_refused(tmp_path, capsys, upload, missing):
    assert _render(tmp_path, upload=upload)[0] == 4
    assert missing in capsys.readouterr().err


def test_weights_are_summed_from_the_files_without_an_index(tmp_path):
    # Without an index the weight files' own sizes count (sparse files: no disk is used, and nothing is rendered).
    from elastic_inference_tools.render.preflight import Plan, llm

    for i, size in enumerate((10 * GIB, 16 * GIB)):
        with open(tmp_path / f"model-0000{i}.safetensors", "wb") as fh:
            fh.truncate(size)
    objects = {name: {"urn": f"u:{name}", "type": llm.OBJECT, "name": name, "inputs": {"bucket": "b", "key": f"m/{name}", "source": name}}
               for name in ("model-00000.safetensors", "model-00001.safetensors")}
    plan = Plan(list(objects.values()), {}, str(tmp_path))
    files = llm._uploaded(plan, "b", "m")
    assert set(files) == set(objects) and llm.weights_gib(plan, files) == 26


def test_the_llm_example_stack_renders_what_serving_and_scaling_need(tmp_path):
    """examples/llm: vLLM on a GPU spot pool overflowing to ECI, behind ALB, scaled on its queue."""
    from tests.conftest import ROOT

    out = tmp_path / "out"
    assert main(["prod", "--dir", f"{ROOT}/examples/llm", "--out", str(out)]) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert not [f.line() for f in run(plan["resources"], plan["outputs"], f"{ROOT}/examples/llm") if f.level == "error"]
    manifests = {p.name: yaml.safe_load(p.read_text()) for p in (out / "manifests").iterdir()}
    hpa = manifests["horizontalpodautoscaler_llm_qwen.yaml"]["spec"]
    assert [m["pods"]["metric"]["name"] for m in hpa["metrics"]] == ["vllm_num_requests_waiting", "vllm_kv_cache_usage_perc"]
    units = manifests["resourcepolicy_llm_qwen.yaml"]["spec"]["units"]
    assert [u["resource"] for u in units] == ["ecs", "eci"]  # the spot pool first, then ECI
    ingress = manifests["ingress_llm_qwen.yaml"]["spec"]
    assert ingress["ingressClassName"] == "llm" and [p["path"] for p in ingress["rules"][0]["http"]["paths"]] == ["/v1"]
    assert {ls["requestTimeout"] for ls in manifests["albconfig__llm.yaml"]["spec"]["listeners"]} == {600}
    container = manifests["deployment_llm_qwen.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert any(e["name"] == "VLLM_API_KEY" for e in container["env"])
    peers = manifests["networkpolicy_llm_qwen.yaml"]["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "arms-prom"}}} in peers
    assert "podmonitor_llm_qwen.yaml" in manifests and "imagecache__llm-qwen.yaml" in manifests
    (release,) = [r for r in plan["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"]
    rules = release["inputs"]["values"]["AlibabaCloudMetricsAdapter"]["prometheus"]["adapter"]["rules"]["custom"]
    assert sorted(r["name"]["as"] for r in rules) == ["vllm_kv_cache_usage_perc", "vllm_num_requests_waiting"]
