"""runtime: vllm: the vLLM OpenAI server (components/runtimes/vllm.py), its settings (`llm`) and the llm-api-key policy."""

import pulumi
import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

from components import InferenceService, InferenceServiceArgs, RUNTIMES
from components.problems import ArgsError
from components.runtimes.vllm import MIN_STARTUP_SECONDS, PRE_STOP_SECONDS, engine_args
from config import ConfigError
from config.loader import from_raw
from elastic_inference_tools.policy import policies as P  # noqa: N812 - P.<policy> reads as the pack
from tests.test_components import after


def llm_args(**overrides):
    base = dict(namespace="llm", model_name="qwen2.5-7b-instruct", claim_name="qwen-model", runtime="vllm", gpu=1, cpu="6",
                memory="24Gi", runtime_options={"api_key_secret": "qwen-key", "max_model_len": 8192})
    base.update(overrides)
    return InferenceServiceArgs(**base)


@pulumi.runtime.test
def test_the_vllm_server_serves_the_mounted_model_with_its_engine_flags_probes_and_drain(mocks):
    svc = InferenceService("qwen", llm_args())

    def check(_):
        pod = mocks.resources["qwen-deployment"].inputs["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        # vLLM 0.33 `vllm serve MODEL`: the model directory mounted from OSS, the flags of engine/arg_utils.py.
        assert c["command"] == ["vllm", "serve"] and c["args"][0] == "/models"
        words = c["args"][1:]
        flags = {w: (words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("--") else True)
                 for i, w in enumerate(words) if w.startswith("--")}
        assert flags["--disable-uvicorn-access-log"] is True  # prompts stay out of the access log
        assert flags["--served-model-name"] == "qwen2.5-7b-instruct" and flags["--port"] == "8000"
        assert flags["--tensor-parallel-size"] == "1" and flags["--max-model-len"] == "8192" and flags["--shutdown-timeout"] == "60"
        assert c["image"] == "vllm/vllm-openai:v0.33.0" and c["resources"]["limits"]["nvidia.com/gpu"] == "1"
        # The API key comes from the Secret, never from a literal.
        env = {e["name"]: e for e in c["env"]}
        assert env["VLLM_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "qwen-key", "key": "api-key"}}
        assert env["HOME"]["value"] == "/cache" and env["HF_HUB_OFFLINE"]["value"] == "1"
        # /health needs no key (serve/middleware/authenticate.py) and answers only once the model is loaded.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
        assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= MIN_STARTUP_SECONDS
        # Draining: the preStop pause, then --shutdown-timeout of draining, within the grace period.
        assert pod["terminationGracePeriodSeconds"] > PRE_STOP_SECONDS + 60
        # Non-root with a read-only root: every path vLLM writes is a volume.
        assert c["securityContext"]["readOnlyRootFilesystem"] and pod["securityContext"]["runAsUser"] == 10001
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert {"/models", "/cache", "/dev/shm", "/tmp"} <= mounts
        shm = next(v for v in pod["volumes"] if v["name"] == "shm")
        assert shm["emptyDir"]["medium"] == "Memory"
        # ECI unpacks the image into its 30 GiB beside the cache: more is asked for (ignored off virtual nodes).
        template = mocks.resources["qwen-deployment"].inputs["spec"]["template"]
        assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-extra-ephemeral-storage"] == "40Gi"
        # The image is the CUDA 13.0 build: ECI's 535 runs it through the forward-compatibility libraries (not its
        # gn7i default 470, nor 550, a branch they do not support).
        assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-gpu-driver-version"] == "tesla=535"
        assert env["VLLM_ENABLE_CUDA_COMPATIBILITY"]["value"] == "1"
        # The UID has no passwd entry: getpass.getuser() reads USER first (PyTorch's cache would crash the pod).
        assert env["USER"]["value"] == "vllm" and env["LOGNAME"]["value"] == "vllm"
        service = mocks.resources["qwen-service"].inputs
        assert [p["port"] for p in service["spec"]["ports"]] == [8000]
        assert svc.scale_target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "qwen"}

    return after(svc.service_name).apply(lambda v: check(v[0]))


@pulumi.runtime.test
def test_only_the_openai_api_is_published_the_rest_of_the_server_stays_inside(mocks):
    # vLLM's key guards /v1 only; /invocations serves completions without it (vLLM docs/usage/security.md).
    from components import PublicEndpoint, PublicEndpointArgs

    endpoint = PublicEndpoint("qwen", PublicEndpointArgs(namespace="llm", host="llm.example.com", tls_secret="llm-tls",
                                                         service_name="qwen", service_port=8000, paths=RUNTIMES["vllm"].public_paths,
                                                         request_timeout_seconds=RUNTIMES["vllm"].request_timeout_seconds))

    def check(url):
        (rule,) = mocks.resources["qwen-ingress"].inputs["spec"]["rules"]
        assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/v1", "Prefix")]
        assert url == "https://llm.example.com/v1"  # the OpenAI base URL
        # A long generation outlasts ingress-nginx's 60 s read timeout (a 504): the Ingress allows the runtime's.
        annotations = mocks.resources["qwen-ingress"].inputs["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "600"
        assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "600"

    return after(endpoint.url).apply(lambda v: check(v[0]))


def test_optional_engine_flags_appear_only_when_set():
    options = {**RUNTIMES["vllm"].option_defaults, "enable_prefix_caching": False, "gpu_memory_utilization": 0.85}
    args = engine_args(llm_args(), options)
    assert "--no-enable-prefix-caching" in args and args[args.index("--gpu-memory-utilization") + 1] == "0.85"
    assert "--max-model-len" not in args and "--max-num-seqs" not in args


@pytest.mark.parametrize("overrides, arg", [
    ({"gpu": 0}, "gpu"),
    ({"gpu": 2, "runtime_options": {"tensor_parallel_size": 1}}, "runtime_options.tensor_parallel_size"),
    ({"runtime_options": {"dtype": "int4"}}, "runtime_options.dtype"),
    ({"runtime_options": {"gpu_memory_utilization": 1.5}}, "runtime_options.gpu_memory_utilization"),
    ({"runtime_options": {"max_model_len": 0}}, "runtime_options.max_model_len"),
    ({"runtime_options": {"api_key_secret": "Not_A_Name"}}, "runtime_options.api_key_secret"),
    ({"runtime_options": {"shutdown_timeout_seconds": -1}}, "runtime_options.shutdown_timeout_seconds"),
    ({"runtime_options": {"temperature": 0.7}}, "runtime_options"),  # not an engine setting this runtime takes
])
def test_bad_engine_settings_are_refused_by_argument(overrides, arg):
    with pytest.raises(ArgsError) as caught:
        InferenceService("qwen", llm_args(**overrides))
    assert arg in [p.arg for p in caught.value.problems], caught.value.problems


def vllm_raw(raw, **llm):
    bert = raw["services"]["bert"]
    bert.update(runtime="vllm", llm={"apiKeySecret": "bert-key", **llm})
    bert["resources"] = {"gpu": 1, "cpu": "3", "memory": "10Gi"}
    bert["placement"] = {"mode": "eci", "eciInstanceTypes": ["ecs.gn6i-c4g1.xlarge"]}
    bert["autoscaling"] = {**bert.get("autoscaling", {}), "targetQpsPerReplica": 2}  # an LLM's QPS target is its own
    return raw


def test_the_llm_settings_become_the_runtimes_options(raw):
    s = from_raw(vllm_raw(raw, maxModelLen=4096, gpuMemoryUtilization=0.9, enablePrefixCaching=True), "cn-beijing")
    options = s.services["bert"].runtime_options()
    assert set(options) == set(RUNTIMES["vllm"].option_defaults)
    assert (options["max_model_len"], options["gpu_memory_utilization"], options["enable_prefix_caching"]) == (4096, 0.9, True)
    assert options["api_key_secret"] == "bert-key"


@pytest.mark.parametrize("edit, key", [
    (lambda r: r["services"]["bert"]["llm"].update(tensorParallelSize=2), "services.bert.llm.tensorParallelSize"),
    (lambda r: r["services"]["bert"]["llm"].update(dtype="int4"), "services.bert.llm.dtype"),
    (lambda r: r["services"]["bert"].update(runtime="tensorflow-serving"), "services.bert.llm"),
    (lambda r: r["services"]["bert"]["resources"].update(gpu=0), "services.bert.resources.gpu"),
    # An LLM on the QPS needs its own target: the default 10 is TF Serving's.
    (lambda r: r["services"]["bert"]["autoscaling"].pop("targetQpsPerReplica"), "services.bert.autoscaling.targetQpsPerReplica"),
    (lambda r: r["services"]["bert"]["llm"].update(apiKeySecretKey="API_KEY!"), "services.bert.llm.apiKeySecretKey"),
    (lambda r: r["services"]["bert"]["llm"].update(eciGpuDriver="550"), "services.bert.llm.eciGpuDriver"),
])
def test_llm_settings_problems_name_their_keys(raw, edit, key):
    raw = vllm_raw(raw)
    edit(raw)
    with pytest.raises(ConfigError) as caught:
        from_raw(raw, "cn-beijing")
    assert any(str(p).startswith(key + ":") for p in caught.value.problems), caught.value.problems


OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def stack(env, path="/v1", default_backend=False, image="vllm/vllm-openai:v0.33.0", command=("vllm", "serve")):
    container = {"name": "vllm", "image": image, "command": list(command), "args": ["/models"], "env": env}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "qwen", "namespace": "llm"},
                  "spec": {"template": {"metadata": {"labels": {"app": "qwen"}}, "spec": {"containers": [container]}}}}
    service = {"metadata": {"name": "qwen", "namespace": "llm"}, "spec": {"selector": {"app": "qwen"}}}
    ingress = {"metadata": {"name": "qwen", "namespace": "llm"},
               "spec": {"rules": [{"host": "llm.example.com", "http": {"paths": [{"path": path, "backend": {"service": {"name": "qwen"}}}]}}]}}
    if default_backend:
        ingress["spec"] = {"defaultBackend": {"service": {"name": "qwen"}}}
    resources = [("kubernetes:apps/v1:Deployment", deployment, "qwen-deployment"), ("kubernetes:core/v1:Service", service, "qwen-service"),
                 ("kubernetes:networking.k8s.io/v1:Ingress", ingress, "qwen-ingress")]
    found = []
    objs = [PolicyResource(t, p, f"urn:{n}", n, OPTS, None, None, [], {}) for t, p, n in resources]
    P.llm_endpoints_need_an_api_key(StackValidationArgs(objs), lambda m, u=None: found.append(m))
    return found


KEY = {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "api-key"}}}


def test_an_internet_facing_llm_server_needs_an_api_key():
    (violation,) = stack([{"name": "HOME", "value": "/cache"}])
    assert "without an API key" in violation and "llm.apiKeySecret" in violation
    assert stack([KEY]) == []


@pytest.mark.parametrize("env, kwargs", [
    ([{"name": "VLLM_API_KEY", "value": ""}], {}),  # vLLM ignores an empty key (serve/middleware/register.py)
    ([{"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "api-key", "optional": True}}}], {}),
    ([], {"default_backend": True}),  # the default backend is published too
    ([], {"image": "registry.example.com:5000/mirror/vllm-openai:v0.33.0", "command": ()}),  # a mirror, the image's entrypoint
])
def test_keyless_llm_servers_are_found_however_they_are_written(env, kwargs):
    (violation,) = stack(env, **kwargs)
    assert "without an API key" in violation


def test_a_keyed_llm_server_publishes_only_the_paths_its_key_guards():
    # /invocations (SageMaker's) serves completions without the key: publishing / would expose it.
    (violation,) = stack([KEY], path="/")
    assert "publish /v1 only" in violation
    assert stack([KEY], path="/v1/chat") == []


def test_the_alb_listeners_let_an_llm_request_take_its_time(raw):
    raw = vllm_raw(raw)
    raw["cluster"]["addons"] = {"albIngressController": True}
    raw["alb"] = {"name": "inference", "vswitchIds": ["vsw-alba", "vsw-albb"]}
    raw["services"]["bert"]["ingress"] = {"host": "llm.example.com", "className": "inference", "tlsSecret": "llm-tls"}
    args = from_raw(raw, "cn-beijing").alb_args()
    assert args.request_timeout_seconds == 600  # ALB's listener timeout (1-600 s), not its default 60

    from components.alb_gateway import listeners

    assert {ls["requestTimeout"] for ls in listeners(True, [], 600)} == {600}
