"""``vllm``: vLLM's OpenAI-compatible server in a Deployment, behind a ClusterIP Service.

Read in vLLM 0.33.0 (the PyPI source release of 2026-11-02; the image ``vllm/vllm-openai:v0.33.0``):

- ``docker/Dockerfile``: ``ENTRYPOINT ["vllm", "serve"]``; the image runs as root unless told otherwise, and
  any UID works when ``HOME`` and the caches are writable (its non-root notes). Here the pod runs as the
  project's non-root UID with a read-only root filesystem, its home and caches on an ``emptyDir``.
- ``vllm/entrypoints/cli/serve.py``: ``vllm serve MODEL`` (a local directory: the model mounted from OSS).
- ``vllm/engine/arg_utils.py`` and ``vllm/entrypoints/common/cli_args.py``: ``--served-model-name``,
  ``--max-model-len``, ``--tensor-parallel-size``, ``--dtype`` (``config/model.py`` ``ModelDType``),
  ``--gpu-memory-utilization`` (default 0.92), ``--max-num-seqs``, ``--enable-prefix-caching``,
  ``--kv-cache-dtype``, ``--port`` (default 8000), ``--shutdown-timeout`` (default 0: abort in-flight
  requests on SIGTERM; N > 0: stop taking requests and drain for up to N seconds, ``config/vllm.py``).
- ``vllm/entrypoints/serve/middleware/authenticate.py``: with ``--api-key`` or ``VLLM_API_KEY`` only paths under
  ``/v1``, ``/v2``, ``/inference`` and ``/cohere`` need the key; ``/health`` and ``/metrics`` stay open (probes and
  Prometheus need no key), and so do ``/invocations`` (SageMaker's, which serves completions), ``/tokenize`` and
  more (vLLM ``docs/usage/security.md``): the Ingress publishes ``/v1`` only (:attr:`public_paths`).
- ``vllm/entrypoints/serve/instrumentator/health.py``: ``/health`` answers 200, or 503 once the engine is dead;
  ``launchers/api_server/entry.py``: the HTTP server starts only after the model has loaded, so nothing answers
  while a large model loads: the startup probe allows for it.
- ``.buildkite/release-pipeline.yaml`` and ``.buildkite/scripts/publish-release-images.sh``: the release image
  ``vllm/vllm-openai:v0.33.0`` is the "CUDA 13.0" build (``CUDA_VERSION=13.0.2``); no CUDA 12 variant is published
  for the release. CUDA 13 needs an R580 driver, newer than any ECI offers or ACK installs by default; the image carries
  NVIDIA's forward-compatibility libraries, which ``VLLM_ENABLE_CUDA_COMPATIBILITY=1`` puts first on the library path
  (``vllm/env_override.py``), and with them it runs on R535 and R570 (``docs/getting_started/installation/gpu.cuda.inc.md``,
  "Running on Systems with Older CUDA Drivers"). So the pods switch them on, and an ECI pod asks for driver 535
  (:mod:`..gpu_drivers`; the preflight's ``gpu-driver-runs-image`` judges every host a replica may land on).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .. import problems as checks
from .._annotations import with_skips
from ..gpu_drivers import ECI_DRIVER_ANNOTATION
from ..problems import ArgProblem
from .base import (
    MODEL_MOUNT, SECURE_CONTAINER, PodContext, Runtime, Workload, cluster_ip_service, find, pod_spec, resources, server_deployment,
)

if TYPE_CHECKING:
    from ..inference_service import InferenceServiceArgs

VERSION = "v0.33.0"
DEFAULT_IMAGE = f"vllm/vllm-openai:{VERSION}"
HTTP_PORT = 8000
DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
KV_CACHE_DTYPES = ("auto", "float16", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2")
CACHE_MOUNT = "/cache"
SHM_MOUNT = "/dev/shm"
# A large model loads for minutes (weights from OSS, then CUDA graphs): /health answers only after that.
MIN_STARTUP_SECONDS = 1800
# Shutdown: the preStop pause keeps the server taking requests while its endpoint is withdrawn from the Service
# and the ingress; then SIGTERM makes vLLM refuse new requests and finish the running ones for up to
# --shutdown-timeout seconds; the grace period covers both and a margin to exit.
PRE_STOP_SECONDS = 15
EXIT_MARGIN_SECONDS = 15
API_KEY_ENV = "VLLM_API_KEY"

OPTION_DEFAULTS: Mapping[str, Any] = {
    "max_model_len": None,            # --max-model-len; None: the model's own
    "tensor_parallel_size": None,     # --tensor-parallel-size; None: the pod's GPUs
    "dtype": "auto",                  # --dtype
    "gpu_memory_utilization": None,   # --gpu-memory-utilization (0-1]; None: vLLM's 0.92
    "max_num_seqs": None,             # --max-num-seqs: concurrent sequences per replica; None: vLLM's
    "enable_prefix_caching": None,    # --[no-]enable-prefix-caching; None: vLLM's
    "kv_cache_dtype": "auto",         # --kv-cache-dtype
    "shutdown_timeout_seconds": 60,   # --shutdown-timeout: how long a stopping replica drains running requests
    "api_key": None,                  # the API key itself (pulumi.Input[str], kept secret): the runtime keeps it in a Secret
    "api_key_secret": None,           # or a Secret in the namespace, made elsewhere, whose key `api_key_secret_key` is the API key
    "api_key_secret_key": "api-key",
    "shm_size": "1Gi",                # /dev/shm (memory-backed, counted in the pod's memory): NCCL between GPUs
    "eci_extra_storage": "40Gi",      # ECI only: temporary storage beyond the free 30 GiB (image unpacked + /cache); None: none
    "weights_gib": None,              # the model's weights, GiB, for the preflight's GPU-memory check; None: from the upload
    "eci_gpu_driver": "tesla=535",    # ECI only: the GPU driver of an ECI pod (gn7i's default, 470, runs no CUDA 12 or 13); None: ECI's
    "cuda_compatibility": True,       # VLLM_ENABLE_CUDA_COMPATIBILITY: run the image's CUDA 13 on an R535/R570 driver
}
# ECI offers 470, 535 and 550 on gn7i: only 535 runs the CUDA 13 image (through its forward-compatibility libraries;
# 550 is no branch they support), so that is what an ECI pod asks for.
ECI_GPU_DRIVER = ECI_DRIVER_ANNOTATION
CUDA_COMPATIBILITY_ENV = "VLLM_ENABLE_CUDA_COMPATIBILITY"
# The CUDA each published vllm-openai release tag is built with (its release pipeline), and the variant tag suffixes;
# and the lowest GPU architecture its x86 build compiles for (release-pipeline.yaml CUDA_ARCH_X86 "7.5 8.0 8.6 8.9 9.0
# 10.0 12.0": no V100, P100 or P4).
RELEASE_CUDA = {"v0.33.0": (13, 0)}
RELEASE_MIN_ARCH = {"v0.33.0": (7, 5)}
# vllm-openai:v0.33.0, and its published variants: -x86_64, -aarch64 (per architecture), -cu129 (another CUDA), -efa, -zstd.
_IMAGE = re.compile(r"(?:^|/)vllm-openai:(?P<release>v[0-9]+\.[0-9]+\.[0-9]+)(?P<variant>(?:-[0-9a-z_]+)*)(?:@.*)?$")
_CUDA_VARIANT = re.compile(r"-cu(1[0-9])([0-9])(?:-|$)")


def image_min_arch(image: str) -> Optional[tuple[int, int]]:
    """The lowest CUDA compute capability a vLLM release image (its x86 build) runs on (None: not known)."""
    found = _IMAGE.search(image)
    if not found or _CUDA_VARIANT.search(found.group("variant")) or "aarch64" in found.group("variant"):
        return None
    return RELEASE_MIN_ARCH.get(found.group("release"))


def image_cuda(image: str) -> Optional[tuple[int, int]]:
    """The CUDA version a vLLM image is built with, from its repository and tag (any registry: a mirror in ACR keeps
    them), or None when it is not known (another image, or a release this table does not list)."""
    found = _IMAGE.search(image)
    if not found:
        return None
    variant = _CUDA_VARIANT.search(found.group("variant"))
    if variant:
        return int(variant.group(1)), int(variant.group(2))
    return RELEASE_CUDA.get(found.group("release"))
# vLLM 0.33 config/cache.py: gpu_memory_utilization Field(default=0.92): the share of each GPU vLLM takes.
DEFAULT_GPU_MEMORY_UTILIZATION = 0.92
# The weights' size, stated on the pod template for the render's preflight (llm-model-fits).
WEIGHTS_ANNOTATION = "elastic-inference.io/model-weights-gib"
# ECI "Scale up the temporary storage space": each ECI pod has 30 GiB, shared with its image, which takes at least twice
# its compressed size (vLLM's CUDA image is several GB compressed), so the 20 GiB cache would not fit; the annotation adds
# that much (billed by capacity and time), and only pods on virtual nodes read it.
ECI_EXTRA_STORAGE = "k8s.aliyun.com/eci-extra-ephemeral-storage"


def engine_args(args: InferenceServiceArgs, options: Mapping[str, Any]) -> list[str]:
    """The ``vllm serve`` arguments of a replica: the model directory first, then the flags."""
    flags = [MODEL_MOUNT, "--served-model-name", args.model_name, "--host", "0.0.0.0", "--port", str(HTTP_PORT),
             "--tensor-parallel-size", str(options["tensor_parallel_size"] or args.gpu), "--dtype", options["dtype"],
             "--kv-cache-dtype", options["kv_cache_dtype"], "--shutdown-timeout", str(options["shutdown_timeout_seconds"]),
             # Each request's prompt would otherwise reach the logs.
             "--disable-uvicorn-access-log"]
    for key, flag in (("max_model_len", "--max-model-len"), ("gpu_memory_utilization", "--gpu-memory-utilization"),
                      ("max_num_seqs", "--max-num-seqs")):
        if options[key] is not None:
            flags += [flag, str(options[key])]
    if options["enable_prefix_caching"] is not None:
        flags.append("--enable-prefix-caching" if options["enable_prefix_caching"] else "--no-enable-prefix-caching")
    return flags


def vllm_container(args: InferenceServiceArgs, image: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The vLLM container: the OpenAI API on 8000, probes on /health, draining on stop."""
    probe = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5}
    env: list[dict[str, Any]] = [
        # The root filesystem is read-only: home and every cache on the cache volume.
        {"name": "HOME", "value": CACHE_MOUNT},
        # The UID has no /etc/passwd entry: getpass.getuser() (PyTorch's compile cache) reads these first, else fails with
        # "getpwuid(): uid not found" (as vLLM's own non-root entrypoint sets them; llm-d/llm-d-benchmark #1573).
        {"name": "USER", "value": "vllm"},
        {"name": "LOGNAME", "value": "vllm"},
        {"name": "XDG_CACHE_HOME", "value": CACHE_MOUNT},
        {"name": "HF_HOME", "value": f"{CACHE_MOUNT}/huggingface"},
        # The model is local: never reach out to the Hugging Face hub, or report usage.
        {"name": "HF_HUB_OFFLINE", "value": "1"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "VLLM_DO_NOT_TRACK", "value": "1"},
    ]
    if options["cuda_compatibility"]:
        env.append({"name": CUDA_COMPATIBILITY_ENV, "value": "1"})
    if options["api_key_secret"]:
        env.append({"name": API_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": options["api_key_secret"],
                                                                        "key": options["api_key_secret_key"]}}})
    startup = max(args.startup_timeout_seconds, MIN_STARTUP_SECONDS)
    return {
        "name": "vllm",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["vllm", "serve"],
        "args": engine_args(args, options),
        "env": env,
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "resources": resources(args),
        "volumeMounts": [
            {"name": "model", "mountPath": MODEL_MOUNT, "readOnly": True},
            {"name": "cache", "mountPath": CACHE_MOUNT},
            {"name": "shm", "mountPath": SHM_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": startup // 10},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**probe, "periodSeconds": 20, "failureThreshold": 3},
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {PRE_STOP_SECONDS}"]}}},
        "securityContext": dict(SECURE_CONTAINER),
    }


def api_key_secret(ctx: PodContext, options: Mapping[str, Any]) -> k8s.core.v1.Secret:
    """The Secret that holds the API key given as ``api_key`` (the value a Pulumi secret, so state keeps it encrypted and
    previews show ``[secret]``), named after the service."""
    args = ctx.args
    return k8s.core.v1.Secret(
        f"{ctx.name}-api-key",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{ctx.name}-api-key", namespace=args.namespace, labels=dict(ctx.labels),
                                            annotations=with_skips(None, namespace=args.namespace)),
        type="Opaque",
        string_data={options["api_key_secret_key"]: pulumi.Output.secret(options["api_key"])},
        opts=pulumi.ResourceOptions(parent=ctx.owner, depends_on=list(ctx.depends_on)),
    )


def termination_grace_seconds(options: Mapping[str, Any]) -> int:
    """The pod's grace period: the preStop pause, the drain, and a margin to exit."""
    return PRE_STOP_SECONDS + int(options["shutdown_timeout_seconds"]) + EXIT_MARGIN_SECONDS


class Vllm(Runtime):
    name = "vllm"
    scaling = "hpa"
    workload_kinds = ("Deployment",)
    option_defaults = OPTION_DEFAULTS
    # vllm/v1/metrics/loggers.py (gauges); /metrics needs no API key (serve/instrumentator/metrics.py).
    prometheus_metrics = {"queue": "vllm:num_requests_waiting", "kv-cache": "vllm:kv_cache_usage_perc"}
    metrics_endpoint = ("http", "/metrics")
    # The API key guards only /v1, /v2, /inference and /cohere (serve/middleware/authenticate.py GUARDED_PREFIX): the
    # SageMaker /invocations route serves completions without it, and /tokenize, /abort_requests, /metrics... are open
    # too (vLLM docs/usage/security.md, "API Key Authentication Limitations"). Only the OpenAI API goes public.
    public_paths = ("/v1",)
    # A non-streaming completion of thousands of tokens outlasts the controllers' 60 s (then a 504); ALB's listener
    # takes 600 s at most, so does this.
    request_timeout_seconds = 600

    def default_image(self, gpu: int) -> str:
        return DEFAULT_IMAGE

    def service_endpoint(self, name: str) -> tuple[str, int]:
        return name, HTTP_PORT

    def network_ports(self) -> Optional[Sequence[int]]:
        return (HTTP_PORT,)

    def options(self, args: InferenceServiceArgs) -> dict[str, Any]:
        """Every option, given or default."""
        return {key: self.option(args, key) for key in OPTION_DEFAULTS}

    def problems(self, args: InferenceServiceArgs) -> list[ArgProblem]:
        options = self.options(args)
        found: list[ArgProblem] = []
        if isinstance(args.gpu, int) and args.gpu < 1:
            found.append(ArgProblem("gpu", "must be 1 or more for runtime 'vllm' (its image serves on NVIDIA GPUs)"))
        at = "runtime_options."
        for key in ("max_model_len", "max_num_seqs", "tensor_parallel_size"):
            if options[key] is not None:
                found += checks.collect(checks.whole_number(at + key, options[key], 1))
        found += checks.collect(
            checks.whole_number(at + "shutdown_timeout_seconds", options["shutdown_timeout_seconds"], 0, 3600),
            checks.one_of(at + "dtype", options["dtype"], DTYPES),
            checks.one_of(at + "kv_cache_dtype", options["kv_cache_dtype"], KV_CACHE_DTYPES),
            checks.quantity(at + "shm_size", options["shm_size"]),
            checks.quantity(at + "eci_extra_storage", options["eci_extra_storage"]) if options["eci_extra_storage"] is not None else None,
        )
        tp = options["tensor_parallel_size"]
        if isinstance(tp, int) and isinstance(args.gpu, int) and args.gpu >= 1 and tp != args.gpu:
            found.append(ArgProblem(at + "tensor_parallel_size", f"must equal the pod's GPUs ({args.gpu}): vLLM shards the model over "
                                                                 "that many GPUs of the replica, and a GPU it is not given sits idle"))
        weights = options["weights_gib"]
        if weights is not None and (isinstance(weights, bool) or not isinstance(weights, (int, float)) or weights <= 0):
            found.append(ArgProblem(at + "weights_gib", "must be a positive number of GiB"))
        util = options["gpu_memory_utilization"]
        if util is not None and (isinstance(util, bool) or not isinstance(util, (int, float)) or not 0 < util <= 1):
            found.append(ArgProblem(at + "gpu_memory_utilization", "must be a fraction within (0, 1]"))
        for flag in ("enable_prefix_caching", "cuda_compatibility"):
            if options[flag] is not None and not isinstance(options[flag], bool):
                found.append(ArgProblem(at + flag, "must be true or false"))
        driver = options["eci_gpu_driver"]
        if driver is not None and not (isinstance(driver, str) and re.fullmatch(r"tesla=[0-9]+(\.[0-9]+)*", driver)):
            found.append(ArgProblem(at + "eci_gpu_driver", "must be like tesla=535 (ECI's k8s.aliyun.com/eci-gpu-driver-version)"))
        key = options["api_key_secret_key"]
        if not isinstance(key, str) or not re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", key):
            found.append(ArgProblem(at + "api_key_secret_key", "must be a Secret key: letters, digits, '-', '_' and '.'"))
        secret = options["api_key_secret"]
        if secret is not None:
            found += checks.collect(checks.dns_subdomain(at + "api_key_secret", secret))
            if options["api_key"] is not None:
                found.append(ArgProblem(at + "api_key", "give the API key or the Secret that holds it (api_key_secret), not both"))
        return found

    def build(self, ctx: PodContext) -> Workload:
        args, name = ctx.args, ctx.name
        options = self.options(args)
        first: list[pulumi.Resource] = []
        if options["api_key"] is not None:
            key_secret = api_key_secret(ctx, options)
            options = {**options, "api_key_secret": key_secret.metadata.name}
            first.append(key_secret)
        image = args.image or self.default_image(args.gpu)
        volumes = [{"name": "cache", "emptyDir": {"sizeLimit": "20Gi"}},
                   {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": options["shm_size"]}}]
        spec = pod_spec(ctx, [vllm_container(args, image, options)], volumes, termination_grace_seconds(options))
        storage = {ECI_EXTRA_STORAGE: options["eci_extra_storage"]} if options["eci_extra_storage"] else {}
        driver = {ECI_GPU_DRIVER: options["eci_gpu_driver"]} if options["eci_gpu_driver"] else {}
        # On the Deployment, not the pod template: a hint for the preflight must not roll the replicas when it changes.
        weights = {WEIGHTS_ANNOTATION: str(options["weights_gib"])} if options["weights_gib"] is not None else {}
        deployment = server_deployment(ctx, image, spec, {**ctx.pod_annotations, **storage, **driver}, *first, annotations=weights)
        service = cluster_ip_service(ctx, [("http", HTTP_PORT, "http")])
        return Workload(deployment, service.metadata.name, HTTP_PORT, {"apiVersion": "apps/v1", "kind": "Deployment", "name": name})

    def rendered_hpa(self, objects: Sequence[Mapping[str, Any]], name: str, namespace: str) -> Optional[Mapping[str, Any]]:
        return find(objects, "HorizontalPodAutoscaler", name, namespace)

