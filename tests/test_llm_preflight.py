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


# gpu-driver-runs-image: the image's CUDA against the driver of every host a replica may land on.

def driver_findings(plan, prog="."):
    return [f for f in run(plan["resources"], plan["outputs"], prog) if f.check == "gpu-driver-runs-image"]


def test_the_shipped_defaults_run_the_cuda13_image_on_eci(tmp_path):
    """vLLM 0.33.0's image is its CUDA 13.0 build: on ECI it runs on driver 535 with the forward-compatibility libraries."""
    code, plan, prog = _render(tmp_path)
    assert code == 0 and driver_findings(plan, prog) == []
    (deployment,) = [r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment"]
    template = deployment["inputs"]["spec"]["template"]
    assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-gpu-driver-version"] == "tesla=535"
    assert {"name": "VLLM_ENABLE_CUDA_COMPATIBILITY", "value": "1"} in template["spec"]["containers"][0]["env"]


@pytest.mark.parametrize("llm, said", [
    ({"eciGpuDriver": "tesla=550"}, "R550"),                            # 0.5.0's default: no forward compatibility on R550
    ({"cudaCompatibility": False}, "R535"),                             # R535 runs CUDA 13 only through the compat libraries
    ({"eciGpuDriver": None}, "R470 on ecs.gn7i-c8g1.2xlarge, ECI's default"),  # ECI's default on gn7i
])
def test_an_eci_driver_that_cannot_run_the_image_is_refused(tmp_path, capsys, llm, said):
    assert _render(tmp_path, llm=llm)[0] == 4
    err = capsys.readouterr().err
    assert "gpu-driver-runs-image" in err and said in err and "CUDA 13.0" in err


def test_a_driver_ecis_gpu_family_does_not_offer_is_refused(tmp_path, capsys):
    assert _render(tmp_path, llm={"eciGpuDriver": "tesla=580"})[0] == 4  # gn7i offers 470, 535, 550
    assert "does not offer" in capsys.readouterr().err


def _pool_plan(labels, env=({"name": "VLLM_ENABLE_CUDA_COMPATIBILITY", "value": "1"},), image="vllm/vllm-openai:v0.33.0"):
    """A GPU node pool and a vLLM Deployment that selects it."""
    pool = {"urn": "u:pool", "type": "alicloud:cs/nodePool:NodePool", "name": "gpu",
            "inputs": {"nodePoolName": "gpu", "instanceTypes": ["ecs.gn7i-c8g1.2xlarge"],
                       "labels": [{"key": k, "value": v} for k, v in {"inference": "llm", **labels}.items()]}}
    container = {"name": "vllm", "image": image, "command": ["vllm", "serve"], "args": ["/models"], "env": list(env),
                 "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}}
    deployment = {"urn": "u:deploy", "type": "kubernetes:apps/v1:Deployment", "name": "qwen",
                  "inputs": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
                             "spec": {"template": {"metadata": {"labels": {"app": "qwen"}},
                                                   "spec": {"nodeSelector": {"inference": "llm"}, "containers": [container]}}}}}
    return {"resources": [pool, deployment], "outputs": {}}


DRIVER = "ack.aliyun.com/nvidia-driver-version"


@pytest.mark.parametrize("labels, env, levels, said", [
    ({}, None, ["warning"], "does not pin its NVIDIA driver"),           # ACK's default (535 today) may change
    ({DRIVER: "550.144.03"}, None, ["error"], "R550"),                    # an ACK driver the image cannot run on
    ({DRIVER: "570.133.20"}, (), ["error"], "with its CUDA forward-compatibility libraries"),  # R570 without them
    # ACK lists no R580 driver: a label naming one gets ACK's default, 535, which needs the compat libraries.
    ({DRIVER: "580.82.07"}, None, ["warning"], "ACK does not list"),
    ({DRIVER: "580.82.07"}, (), ["warning", "error"], "ACK does not list"),
])
def test_a_node_pools_driver_is_judged_against_the_image(labels, env, levels, said):
    plan = _pool_plan(labels) if env is None else _pool_plan(labels, env)
    findings = driver_findings(plan)
    assert sorted(f.level for f in findings) == sorted(levels) and any(said in f.message for f in findings)


@pytest.mark.parametrize("labels", [{DRIVER: "535.230.02"}, {DRIVER: "570.169"}])
def test_a_node_pool_driver_that_runs_the_image_passes(labels):
    assert driver_findings(_pool_plan(labels)) == []


def test_cuda_13_runs_natively_on_r580_and_through_compatibility_on_r535_and_r570_only():
    from components import gpu_drivers

    assert gpu_drivers.cannot_run((13, 0), 580, compatibility=False) is None and gpu_drivers.runs_natively((13, 0), 590)
    assert [b for b in (470, 535, 550, 570) if gpu_drivers.cannot_run((13, 0), b, compatibility=True) is None] == [535, 570]
    assert gpu_drivers.cannot_run((12, 9), 535, compatibility=False) is None


def test_a_gpu_older_than_the_images_lowest_architecture_is_refused(tmp_path, capsys):
    # The v0.33.0 image compiles for 7.5 and newer (release-pipeline.yaml CUDA_ARCH_X86): a V100 (7.0) cannot run it.
    assert _render(tmp_path, eci_types=("ecs.gn6v-c8g1.2xlarge",), weights_gib=10)[0] == 4
    err = capsys.readouterr().err
    assert "NVIDIA V100 (compute capability 7.0)" in err and "7.5 and newer" in err


def test_an_image_whose_cuda_is_not_known_is_said_not_checked():
    (finding,) = driver_findings(_pool_plan({DRIVER: "535.230.02"}, image="example.com/team/llm-server:1"))
    assert finding.level == "warning" and "not known" in finding.message


@pytest.mark.parametrize("image, cuda", [
    ("vllm/vllm-openai:v0.33.0", (13, 0)),
    ("registry.cn-hangzhou.aliyuncs.com/mirror/vllm-openai:v0.33.0", (13, 0)),  # a mirror keeps repository and tag
    ("vllm/vllm-openai:v0.28.0-cu129", (12, 9)),
    ("vllm/vllm-openai:v0.33.0@sha256:" + "0" * 64, (13, 0)),
    ("vllm/vllm-openai:v0.33.0-x86_64-zstd", (13, 0)),                          # the published per-architecture tags
    ("vllm/vllm-openai:latest", None),
    ("vllm/vllm-openai:v0.32.0", None),                                          # a release the table does not list
])
def test_the_cuda_of_a_vllm_image_is_read_from_its_tag(image, cuda):
    from components.runtimes.vllm import image_cuda

    assert image_cuda(image) == cuda
