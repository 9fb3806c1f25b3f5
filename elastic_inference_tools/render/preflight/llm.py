"""LLM servers that cannot start: weights that do not fit the GPUs, parallelism over GPUs the pod lacks, a model
directory vLLM cannot load, an image whose CUDA the hosts' GPU driver does not run.

Read in vLLM 0.33.0: ``vllm serve MODEL_DIR`` loads the model directory's ``config.json`` and its weights
(``*.safetensors``, or ``*.bin``); it takes ``--gpu-memory-utilization`` (default 0.92, ``config/cache.py``) of each of
the ``--tensor-parallel-size`` GPUs it shards the model over, and what the weights and the activations leave of that is
the KV cache (``v1/worker/gpu_worker.py``: "No available memory for the cache blocks" when nothing is left). The
weights' size is read from the files the stack uploads (``model.safetensors.index.json`` ``metadata.total_size``, as
huggingface_hub writes it, or the weight files' sizes), or from the size stated on the pod
(``elastic-inference.io/model-weights-gib``, ``llm.weightsGiB``). GPU memory is the instance catalog's
(``instance_types.yaml``, per GPU).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional

from . import Finding, Plan, Resource, as_list, as_map, check, get, known
from ...components import CUDA_COMPATIBILITY_ENV, DEFAULT_GPU_MEMORY_UTILIZATION, WEIGHTS_ANNOTATION, gpu_drivers, image_cuda, image_min_arch
from .capacity import Host, hosts, instance_type
from .pods import PodTemplate, pod_templates
from .storage import oss_volumes_of

SOURCE = ("vLLM 0.33.0 config/cache.py (gpu_memory_utilization 0.92), v1/worker/gpu_worker.py (KV cache = budget - weights - "
          "activations), engine/arg_utils.py (--tensor-parallel-size); instance_types.yaml (GPU memory per GPU)")
OBJECT = "alicloud:oss/bucketObject:BucketObject"
GIB = Decimal(1024 ** 3)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")
INDEX = "model.safetensors.index.json"
# What the weights may take of vLLM's share of the GPUs and still leave a useful KV cache: an ESTIMATE (activations and
# CUDA graphs take some GiB; below a fifth of the budget the cache holds few sequences).
WARN_SHARE = Decimal("0.8")
MIN_KV_SHARE_TEXT = "a fifth"


def vllm_flags(container: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    """A container's command and arguments, and its ``--flag value`` pairs (how the preflight and the simulator read a
    vLLM server's settings)."""
    words = [str(w) for w in as_list(container.get("command")) + as_list(container.get("args"))]
    flags = {w: words[i + 1] for i, w in enumerate(words) if w.startswith("--") and i + 1 < len(words)}
    return words, flags


def is_vllm_server(container: Mapping[str, Any]) -> bool:
    """A vLLM server: ``vllm serve`` (runtimes/vllm.py, the image's own entrypoint)."""
    words, _ = vllm_flags(container)
    return words[:2] == ["vllm", "serve"]


def _model_dir(words: list[str]) -> Optional[str]:
    return words[2] if len(words) > 2 and not words[2].startswith("--") else None


def _uploaded(plan: Plan, bucket: Any, prefix: str) -> dict[str, Resource]:
    """The objects the stack uploads under ``prefix`` of ``bucket``: their key below the prefix -> the object."""
    found = {}
    for obj in plan.of_type(OBJECT):
        key = str(obj.inputs.get("key") or "")
        if obj.inputs.get("bucket") == bucket and key.startswith(prefix.rstrip("/") + "/"):
            found[key[len(prefix.rstrip("/")) + 1:]] = obj
    return found


def _source(plan: Plan, obj: Resource) -> Optional[str]:
    """The local file an object uploads, relative paths under the program's directory (where Pulumi runs it)."""
    source = obj.inputs.get("source")
    if not isinstance(source, str) or not known(source):
        return None
    path = os.path.join(plan.base_dir, source)
    return path if os.path.isfile(path) else None


def _size(plan: Plan, obj: Resource) -> Optional[int]:
    source = _source(plan, obj)
    return os.path.getsize(source) if source else None


def weights_gib(plan: Plan, files: Mapping[str, Resource]) -> Optional[Decimal]:
    """The weights' size from the uploaded files: the index's ``metadata.total_size``, or the weight files' sizes."""
    index = files.get(INDEX)
    source = _source(plan, index) if index is not None else None
    if source:
        try:
            with open(source, encoding="utf-8") as fh:
                total = json.load(fh)["metadata"]["total_size"]
            return Decimal(int(total)) / GIB
        except (OSError, ValueError, KeyError, TypeError):
            pass
    sizes = [_size(plan, obj) for name, obj in files.items() if name.endswith(WEIGHT_SUFFIXES) and "/" not in name]
    if sizes and all(s is not None for s in sizes):
        return Decimal(sum(s for s in sizes if s is not None)) / GIB
    return None


def _model_files(plan: Plan, template: PodTemplate, container: Mapping[str, Any], model_dir: str) -> Optional[dict[str, Resource]]:
    """The uploaded files of the model directory the container serves (None: the stack uploads nothing there)."""
    mounts = {str(m.get("name")): str(m.get("mountPath")) for m in map(as_map, as_list(container.get("volumeMounts")))}
    for volume, pv in oss_volumes_of(plan, template).items():
        mount = mounts.get(volume)
        if mount is None or not (model_dir == mount or model_dir.startswith(mount.rstrip("/") + "/")):
            continue
        attrs = as_map(get(pv.inputs, "spec", "csi", "volumeAttributes"))
        path = str(attrs.get("path") or "/").strip("/")
        below = model_dir[len(mount):].strip("/")
        prefix = "/".join(p for p in (path, below) if p)
        files = _uploaded(plan, attrs.get("bucket"), prefix)
        return files or None
    return None


@check("llm-model-fits")
def llm_model_fits(plan: Plan) -> Iterator[Finding]:
    for template in pod_templates(plan):
        for container in template.containers:
            if not is_vllm_server(container):
                continue
            yield from _judge(plan, template, container)


def _judge(plan: Plan, template: PodTemplate, container: Mapping[str, Any]) -> Iterator[Finding]:
    words, flags = vllm_flags(container)
    owner = template.owner.describe()
    gpus = get(container, "resources", "limits", "nvidia.com/gpu")
    gpus = int(str(gpus)) if known(gpus) and str(gpus).isdigit() else 0
    tp_text = flags.get("--tensor-parallel-size", "1")
    tp = int(tp_text) if tp_text.isdigit() else None
    if tp is not None and tp != gpus:
        yield Finding("llm-model-fits", "error", owner,
                      f"shards the model over {tp} GPU(s) (--tensor-parallel-size) but the container has {gpus} (nvidia.com/gpu): vLLM "
                      "needs one GPU per shard and fails to start; make them equal", SOURCE)
        return
    model_dir = _model_dir(words)
    files = _model_files(plan, template, container, model_dir) if model_dir else None
    if files is not None:
        if "config.json" not in files:
            yield Finding("llm-model-fits", "error", owner, f"serves {model_dir}, where the stack uploads no config.json: vLLM cannot load "
                          "the model; upload the whole model directory", SOURCE)
        if not any(name.endswith(WEIGHT_SUFFIXES) for name in files):
            yield Finding("llm-model-fits", "error", owner, f"serves {model_dir}, where the stack uploads no weights (*.safetensors or "
                          "*.bin): vLLM cannot load the model", SOURCE)
    stated = as_map(get(template.owner.inputs, "metadata", "annotations")).get(WEIGHTS_ANNOTATION)
    size = weights_gib(plan, files) if files else None
    if size is None and known(stated):
        try:
            size = Decimal(str(stated))
        except ArithmeticError:
            size = None
    if size is None:
        yield Finding("llm-model-fits", "warning", owner, "the model's size is not known (no uploaded weights, no llm.weightsGiB): "
                      "whether it fits the GPUs is not checked", SOURCE)
        return
    util = Decimal(flags.get("--gpu-memory-utilization", str(DEFAULT_GPU_MEMORY_UTILIZATION)))
    for host in hosts(plan, template):
        for name in host.types:
            itype = instance_type(name)
            if itype is None:
                yield Finding("llm-model-fits", "warning", owner, f"{name} ({host.where}) is not in the preflight's instance catalog: "
                              "whether the weights fit its GPUs is not checked; add it to instance_types.yaml", SOURCE)
                continue
            if not itype.gpus or tp is None or tp > itype.gpus:
                continue
            budget = itype.gpu_memory_gib * tp * util
            where = f"{name} ({tp} x {itype.gpu_memory_gib} GiB, {util} of it for vLLM: {budget:.1f} GiB; {host.where})"
            if size >= budget:
                yield Finding("llm-model-fits", "error", owner, f"the weights take {size:.1f} GiB, more than vLLM's share of {where}: "
                              "the replica cannot load; choose larger GPUs, more GPUs per replica, or a smaller or quantized model",
                              SOURCE)
            elif size > budget * WARN_SHARE:
                yield Finding("llm-model-fits", "warning", owner, f"the weights take {size:.1f} GiB of vLLM's share of {where}, leaving "
                              f"less than {MIN_KV_SHARE_TEXT} for the KV cache and activations (an estimate): few sequences fit; "
                              "consider larger GPUs or a lower --max-model-len", SOURCE)


DRIVER_SOURCE = ("vLLM 0.33.0 .buildkite/release-pipeline.yaml (the release image is the CUDA 13.0 build), "
                 "docs/getting_started/installation/gpu.cuda.inc.md (CUDA 13 needs R580; forward compatibility on R535/R570), "
                 "vllm/env_override.py; ECI 'Create a GPU-accelerated ECI pod'; ACK 'List of NVIDIA driver versions supported by ACK'")


@check("gpu-driver-runs-image")
def gpu_driver_runs_image(plan: Plan) -> Iterator[Finding]:
    """A server image's CUDA against the driver of every host a replica may land on."""
    for template in pod_templates(plan):
        for container in template.containers:
            gpus = get(container, "resources", "limits", "nvidia.com/gpu")
            if not (known(gpus) and str(gpus).isdigit() and int(str(gpus)) > 0):
                continue
            image = str(container.get("image") or "")
            cuda = image_cuda(image)
            if cuda is None:
                if is_vllm_server(container):
                    yield Finding("gpu-driver-runs-image", "warning", template.owner.describe(),
                                  f"the CUDA version of {image} is not known: whether the hosts' GPU drivers run it is not checked",
                                  DRIVER_SOURCE)
                continue
            env = {str(e.get("name")): e.get("value") for e in map(as_map, as_list(container.get("env")))}
            compat = str(env.get(CUDA_COMPATIBILITY_ENV, "0")).strip().lower() in ("1", "true")
            for host in hosts(plan, template):
                yield from _judge_gpu(template.owner.describe(), image, host)
                yield from _judge_driver(template.owner.describe(), image, cuda, compat, host)


def _judge_gpu(owner: str, image: str, host: Host) -> Iterator[Finding]:
    """The GPUs of each type the host may take against the lowest architecture the image is compiled for."""
    lowest = image_min_arch(image)
    if lowest is None:
        return
    for name in host.types:
        itype = instance_type(name)
        capability = gpu_drivers.COMPUTE_CAPABILITY.get(itype.gpu_model) if itype else None
        if itype and capability and capability < lowest:
            yield Finding("gpu-driver-runs-image", "error", owner,
                          f"{name} ({host.where}) has an {itype.gpu_model} (compute capability {capability[0]}.{capability[1]}), "
                          f"and {image} is compiled for {lowest[0]}.{lowest[1]} and newer: its CUDA kernels cannot run on it; "
                          "choose T4, A10 or A100 types", DRIVER_SOURCE)


ECS_FIX = f"pin the pool's driver with its label {gpu_drivers.NODE_DRIVER_LABEL} (nodePool.labels) to a version ACK lists that runs it"
ECI_FIX = ("ask for ECI's driver 535 (k8s.aliyun.com/eci-gpu-driver-version: tesla=535, llm.eciGpuDriver) with the image's "
           "forward-compatibility libraries on (llm.cudaCompatibility)")


def _eci_offers(owner: str, host: Host, driver: str) -> Iterator[Finding]:
    """A driver an ECI pod asks for that ECI does not offer on one of its GPU specs (the pod is never created)."""
    branch = gpu_drivers.branch(driver)
    if branch is not None and False in [gpu_drivers.eci_offers(name, branch) for name in host.types]:
        yield Finding("gpu-driver-runs-image", "error", owner, f"{host.where} asks ECI for driver R{branch}, which ECI does "
                      f"not offer on every GPU spec it may take ({', '.join(host.types)}): the pod cannot be created", DRIVER_SOURCE)


def _judge_driver(owner: str, image: str, cuda: tuple[int, int], compat: bool, host: Host) -> Iterator[Finding]:
    built = f"{image} is built with CUDA {cuda[0]}.{cuda[1]}"
    fix = ECS_FIX if host.kind == "ecs" else ECI_FIX
    if host.kind == "ecs":
        if host.driver is None:
            yield Finding("gpu-driver-runs-image", "warning", owner,
                          f"{host.where} does not pin its NVIDIA driver: ACK installs its default ({gpu_drivers.ACK_DEFAULT_DRIVER} on "
                          f"1.28 and later) and changes it from time to time, and {built}; {fix}", DRIVER_SOURCE)
        installed = gpu_drivers.ack_installs(host.driver)
        if host.driver is not None and installed != host.driver:
            yield Finding("gpu-driver-runs-image", "warning", owner,
                          f"{host.where} asks for NVIDIA driver {host.driver}, which ACK does not list ({', '.join(gpu_drivers.ACK_DRIVERS)}): "
                          f"its nodes get ACK's default ({gpu_drivers.ACK_DEFAULT_DRIVER}) instead, judged below", DRIVER_SOURCE)
        drivers = [(installed, "" if installed == host.driver else ", ACK's default")]
    elif host.driver is not None:
        drivers = [(host.driver, "")]
        yield from _eci_offers(owner, host, host.driver)
    else:
        drivers = []
        for name in host.types:
            default = gpu_drivers.eci_default_branch(name)
            if default is None:
                yield Finding("gpu-driver-runs-image", "warning", owner, f"ECI's default GPU driver on {name} ({host.where}) is not "
                              "known to the preflight: whether it runs the image is not checked", DRIVER_SOURCE)
                continue
            drivers.append((str(default), f" on {name}, ECI's default"))
    for driver, how in dict.fromkeys(drivers):
        branch = gpu_drivers.branch(driver)
        if branch is None:
            yield Finding("gpu-driver-runs-image", "warning", owner, f"the GPU driver of {host.where} ({driver}) is not a driver "
                          "version: whether it runs the image is not checked", DRIVER_SOURCE)
            continue
        reason = gpu_drivers.cannot_run(cuda, branch, compat)
        if reason is not None:
            yield Finding("gpu-driver-runs-image", "error", owner,
                          f"{built}, and {reason}; {host.where} runs R{branch}{how}: the server stops at start ('the NVIDIA driver "
                          f"on your system is too old'); {fix}", DRIVER_SOURCE)
        elif compat and gpu_drivers.runs_natively(cuda, branch):
            yield Finding("gpu-driver-runs-image", "warning", owner,
                          f"{host.where} runs R{branch}{how}, which runs CUDA {cuda[0]}.{cuda[1]} natively, yet the image's CUDA "
                          f"forward-compatibility libraries are on ({CUDA_COMPATIBILITY_ENV}): they are for older drivers only; "
                          "switch them off (llm.cudaCompatibility: false)", DRIVER_SOURCE)
