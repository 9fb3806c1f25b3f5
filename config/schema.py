"""The stack settings (DESIGN.md, "The stack configuration"), as pydantic models.

Every default lives here and nowhere else. Field names are snake_case in
Python and camelCase in YAML (the alias), exactly as the contract spells them.
Rules that relate several fields are in ``config.rules``, so that each problem
can be reported against the exact key that has to change.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from components import (
    AlbGatewayArgs,
    EciTier,
    NodeTaint,
    PLACEMENTS, RUNTIMES, Autoscaling as AutoscalingArgs, ClusterAddonsArgs, IngressChoice, ModelEndpointArgs, ModelStoreArgs,
    ImageCacheChoice, PlacementChoice, ScheduledFloor, ServerResources, SpotNodePoolArgs, default_of, default_sls_project,
    prometheus_basic_auth,
)
from components.placement import MAX_ECI_SPECS
from components.runtimes.vllm import OPTION_DEFAULTS as VLLM_DEFAULTS
from components.problems import QUANTITY as _QUANTITY
from components.placements.ecs_then_eci import POOL_WAIT_RANGE
from components.qps_autoscaler import MAX_STABILIZATION_SECONDS, MIN_QUERY_INTERVAL, MIN_TARGET_QPS
from components.spot_node_pool import MAX_INSTANCE_TYPES, MAX_SIZE
from components.alb_gateway import ALB_ID, VSWITCH, AddressType as AlbAddressType, Edition as AlbEdition
from components.ingresses import INGRESS_CONTROLLERS
from components.signals import SIGNALS
from components.types import (
    Access, EciSpotStrategy, Encryption, LogCollector, MountClient, MultiAzPolicy, NetworkPlugin, SpotStrategy, TaintEffect,
)

# The Kubernetes version a stack's cluster runs when cluster.kubernetesVersion is not set.
DEFAULT_KUBERNETES_VERSION = "1.30"

# --- constrained scalars ------------------------------------------------------

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A container image reference: [registry[:port]/]path[:tag][@digest]. Deliberately
# narrower than what a shell would accept: no spaces, quotes or metacharacters.
_IMAGE = re.compile(
    r"^(?:[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_CLUSTER_ID = re.compile(r"^c[a-z0-9]{8,63}$")
_K8S_VERSION = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MODEL_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_INSTANCE_TYPE = re.compile(r"^ecs\.[a-z0-9-]+\.[a-z0-9-]+$")
_VSWITCH = VSWITCH  # the components' (alb_gateway.py)
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SLS_PROJECT = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9/_.~-]*$")
_HELM_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_CRD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2,}$")


def _matching(pattern: re.Pattern[str], what: str, max_len: Optional[int] = None) -> AfterValidator:
    def check(value: str) -> str:
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"must be at most {max_len} characters, {what}")
        if not pattern.match(value):
            raise ValueError(f"is not valid: must be {what}")
        return value

    return AfterValidator(check)


def _number_as_string(value: object) -> object:
    # YAML reads `cpu: 4` as an int; Kubernetes quantities are strings.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Dns1035 = Annotated[str, _matching(_DNS1035, "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, ending with a letter or digit", 63)]
Namespace = Annotated[str, _matching(_DNS1123_LABEL, "a DNS-1123 label: lowercase letters, digits and '-'", 63)]
Hostname = Annotated[str, _matching(_DNS1123_SUBDOMAIN, "a DNS name of lowercase letters, digits, '-' and '.'", 253)]
SecretName = Annotated[str, _matching(_DNS1123_SUBDOMAIN, "a Kubernetes Secret name (DNS-1123 subdomain)", 253)]
Image = Annotated[str, _matching(_IMAGE, "a container image reference like registry/repo:tag (no spaces or shell characters)", 255)]
Quantity = Annotated[str, BeforeValidator(_number_as_string), _matching(_QUANTITY, "a Kubernetes quantity like '4', '500m' or '15Gi'")]
BucketName = Annotated[str, _matching(_BUCKET, "an OSS bucket name: 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit")]
ClusterId = Annotated[str, _matching(_CLUSTER_ID, "an ACK cluster id like c0123456789abcdef0123456789abcdef")]
ModelName = Annotated[str, _matching(_MODEL_NAME, "a model name of letters, digits, '_', '.' and '-'")]
ModelPath = Annotated[str, _matching(_MODEL_PATH, "a bucket key prefix like 'tensorflow/chnsenticorp' (no leading or trailing '/')", 1023)]
InstanceType = Annotated[str, _matching(_INSTANCE_TYPE, "an ECS instance type like ecs.gn6i-c4g1.xlarge")]
VSwitchId = Annotated[str, _matching(_VSWITCH, "a vSwitch id like vsw-2zeabc")]
LabelKey = Annotated[str, _matching(_LABEL_KEY, "a Kubernetes label key like 'inference' or 'example.com/role'", 316)]
LabelValue = Annotated[str, BeforeValidator(_number_as_string), _matching(_LABEL_VALUE, "a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')", 63)]
SlsProject = Annotated[str, _matching(_SLS_PROJECT, "an SLS project name: 3-63 lowercase letters, digits and '-'")]
CrdName = Annotated[str, _matching(_CRD_NAME, "a CustomResourceDefinition name like 'seldondeployments.machinelearning.seldon.io'", 253)]
CertificateId = Annotated[str, _matching(re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"), "a certificate id of Certificate Management Service like 12345678-cn-beijing", 128)]
AlbId = Annotated[str, _matching(ALB_ID, "an ALB instance id like alb-2zeabc")]
HttpPath = Annotated[str, _matching(_HTTP_PATH, "an HTTP path starting with '/' (letters, digits, '/', '_', '.', '~', '-')", 1024)]
Price = Annotated[float, BeforeValidator(lambda v: float(v) if isinstance(v, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", v) else v), Field(gt=0)]



def _registered(table: Any, what: str) -> Any:
    def check(value: str) -> str:
        if value not in table:
            raise ValueError(f"must be one of {tuple(table)} (the registered {what})")
        return value

    return AfterValidator(check)


# Runtimes and placement modes are registries in the components, not lists here.
Runtime = Annotated[str, _registered(RUNTIMES, "runtimes")]
PlacementMode = Annotated[str, _registered(PLACEMENTS, "placement modes")]
SignalName = Annotated[str, _registered(SIGNALS, "autoscaling signals")]


def k8s_minor(version: str) -> tuple[int, int]:
    """``"1.30"`` or ``"v1.30.1-aliyun.1"`` -> ``(1, 30)``."""
    match = _K8S_VERSION.match(version)
    if not match:
        raise ValueError(version)
    return int(match.group(1)), int(match.group(2))


def _k8s_version(value: str) -> str:
    try:
        major, minor = k8s_minor(value)
    except ValueError:
        raise ValueError("is not a Kubernetes version like '1.30'") from None
    return f"{major}.{minor}"


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )


# --- cluster --------------------------------------------------------------------


class MetricsAdapterChart(_Section):
    """Where the ack-alibaba-cloud-metrics-adapter Helm chart comes from."""

    name: str = default_of(ClusterAddonsArgs, "metrics_adapter_chart")
    repository: str = default_of(ClusterAddonsArgs, "metrics_adapter_repository")
    version: Optional[Annotated[str, _matching(_HELM_VERSION, "a chart version like '1.2.0'")]] = None
    namespace: Namespace = default_of(ClusterAddonsArgs, "metrics_adapter_namespace")


class SeldonCoreChart(_Section):
    """Where the seldon-core-operator Helm chart comes from (defaults: components.cluster_addons)."""

    name: str = default_of(ClusterAddonsArgs, "seldon_core_chart")
    repository: str = default_of(ClusterAddonsArgs, "seldon_core_repository")
    version: Annotated[str, _matching(_HELM_VERSION, "a chart version like '1.17.1'")] = default_of(ClusterAddonsArgs, "seldon_core_version")
    namespace: Namespace = default_of(ClusterAddonsArgs, "seldon_core_namespace")


class Addons(_Section):
    virtual_node: bool = default_of(ClusterAddonsArgs, "virtual_node")
    logtail: bool = default_of(ClusterAddonsArgs, "logtail")
    log_collector: LogCollector = default_of(ClusterAddonsArgs, "log_collector")
    metrics_adapter: bool = default_of(ClusterAddonsArgs, "metrics_adapter")
    ingress_controller: bool = default_of(ClusterAddonsArgs, "ingress_controller")
    cron_hpa_controller: bool = default_of(ClusterAddonsArgs, "cron_hpa_controller")
    alb_ingress_controller: bool = default_of(ClusterAddonsArgs, "alb_ingress_controller")
    metrics_adapter_chart: MetricsAdapterChart = MetricsAdapterChart()
    seldon_core: bool = default_of(ClusterAddonsArgs, "seldon_core")
    seldon_core_chart: SeldonCoreChart = SeldonCoreChart()


class PrometheusAuth(_Section):
    """How the metrics adapter authenticates to Managed Service for Prometheus (its docs, "Access Prometheus monitoring
    data through HTTP API URLs"): a V2 instance requires Basic auth with the AccessKey pair of a RAM user granted
    AliyunPrometheusMetricReadAccess; a V1 instance may require its token. Every value must be ``secure:``
    (config/loader.py refuses them in plain text); config/rules.py: one of the two ways, whole."""

    access_key_id: Optional[SecretStr] = None
    access_key_secret: Optional[SecretStr] = None
    token: Optional[SecretStr] = None

    def authorization(self) -> Optional[str]:
        """The ``Authorization`` header these credentials make (None: incomplete; config/rules.py says why)."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.access_key_id is not None and self.access_key_secret is not None:
            return prometheus_basic_auth(self.access_key_id.get_secret_value(), self.access_key_secret.get_secret_value())
        return None


class Cluster(_Section):
    id: ClusterId
    kubernetes_version: Annotated[str, AfterValidator(_k8s_version)] = DEFAULT_KUBERNETES_VERSION
    vswitch_ids: list[VSwitchId] = []
    sls_project: Optional[SlsProject] = None
    # Managed Service for Prometheus's HTTP API URL (its console's Settings, the internal one): the metrics adapter reads
    # Prometheus signals (autoscaling.metric queue | kv-cache) from it.
    prometheus_url: Optional[Annotated[str, _matching(re.compile(r"^https?://[^\s/]+(/\S*)?$"), "an http(s) URL", 1024)]] = None
    # The instance's credentials, when it requires them (every V2 instance does).
    prometheus_auth: Optional[PrometheusAuth] = None
    # terway | flannel: how pods get their addresses. ALB reaches pods by their own IPs, which needs Terway for pods
    # on ECS nodes (config/rules.py); unset: not stated, required only then.
    network_plugin: Optional[NetworkPlugin] = None
    addons: Addons = Addons()
    # CRDs the cluster already has, installed outside this stack (e.g. a Seldon Core operator
    # another team runs): `<plural>.<group>` names, published in the clusterPrerequisites output.
    prerequisites: list[CrdName] = Field(default=[], max_length=20)

    @property
    def sls_project_name(self) -> str:
        """The SLS project that holds the ingress logs (default ``k8s-log-{id}``)."""
        return self.sls_project or default_sls_project(self.id)


# --- model store ------------------------------------------------------------------


class ModelStore(_Section):
    bucket: BucketName
    create: bool = default_of(ModelStoreArgs, "create")
    versioning: bool = default_of(ModelStoreArgs, "versioning")
    encryption: Encryption = default_of(ModelStoreArgs, "encryption")
    kms_key_id: Optional[str] = None
    access: Access = default_of(ModelStoreArgs, "access")
    upload_dir: Optional[str] = None
    protect: bool = default_of(ModelStoreArgs, "protect")


# --- node pool ----------------------------------------------------------------------


class Taint(_Section):
    key: LabelKey
    value: Optional[LabelValue] = None
    effect: TaintEffect = "NoSchedule"  # Kubernetes' own default for a taint


class NodePool(_Section):
    name: Dns1035 = "inference-gpu"
    # Cross-field rules: SpotNodePoolArgs.problems() (config/rules.py maps them here). The bounds
    # are the component's too, checked here so that they are reported with every other shape error.
    instance_types: list[InstanceType] = Field(default=["ecs.gn6i-c4g1.xlarge"], min_length=1, max_length=MAX_INSTANCE_TYPES)
    min_size: int = Field(default=default_of(SpotNodePoolArgs, "min_size"), ge=0, le=MAX_SIZE)
    max_size: int = Field(default=default_of(SpotNodePoolArgs, "max_size"), ge=0, le=MAX_SIZE)
    spot_strategy: SpotStrategy = default_of(SpotNodePoolArgs, "spot_strategy")
    spot_price_limits: dict[InstanceType, Price] = {}
    multi_az_policy: MultiAzPolicy = default_of(SpotNodePoolArgs, "multi_az_policy")
    on_demand_base_capacity: int = Field(default=default_of(SpotNodePoolArgs, "on_demand_base_capacity"), ge=0, le=MAX_SIZE)
    on_demand_percentage: int = Field(default=default_of(SpotNodePoolArgs, "on_demand_percentage"), ge=0, le=100)
    compensate_with_on_demand: Optional[bool] = default_of(SpotNodePoolArgs, "compensate_with_on_demand")
    labels: dict[LabelKey, LabelValue] = {"inference": "tensorflow"}
    taints: list[Taint] = []
    system_disk_size: int = Field(default=default_of(SpotNodePoolArgs, "system_disk_size"), ge=40, le=2048)

    def args(self, cluster: Cluster) -> SpotNodePoolArgs:
        """The node pool's component arguments."""
        return SpotNodePoolArgs(
            cluster_id=cluster.id, node_pool_name=self.name, vswitch_ids=cluster.vswitch_ids, instance_types=self.instance_types,
            min_size=self.min_size, max_size=self.max_size, spot_strategy=self.spot_strategy, spot_price_limits=self.spot_price_limits,
            multi_az_policy=self.multi_az_policy, on_demand_base_capacity=self.on_demand_base_capacity,
            on_demand_percentage=self.on_demand_percentage, compensate_with_on_demand=self.compensate_with_on_demand,
            labels=self.labels, taints=[NodeTaint(key=t.key, value=t.value, effect=t.effect) for t in self.taints],
            system_disk_size=self.system_disk_size,
        )



# --- services -------------------------------------------------------------------------


class Model(_Section):
    name: Optional[ModelName] = None  # default: the service name
    path: ModelPath
    version_policy: str = default_of(ModelEndpointArgs, "version_policy")  # syntax: InferenceServiceArgs.problems()
    client: MountClient = default_of(ModelEndpointArgs, "mount_client")  # ossfs | ossfs2 (ModelVolumeArgs.client)


class Resources(_Section):
    gpu: int = Field(default=default_of(ServerResources, "gpu"), ge=0, le=16)
    cpu: Quantity = default_of(ServerResources, "cpu")
    memory: Quantity = default_of(ServerResources, "memory")

    def args(self) -> ServerResources:
        """These settings as the component takes them."""
        return ServerResources(gpu=self.gpu, cpu=self.cpu, memory=self.memory)


class Tier(_Section):
    max: Optional[int] = Field(default=None, ge=1, le=10000)
    spot_strategy: Optional[EciSpotStrategy] = None
    spot_price_limit: Optional[Price] = None


class Placement(_Section):
    def choice(self) -> PlacementChoice:
        """These settings as the component takes them."""
        return PlacementChoice(
            mode=self.mode, eci_instance_types=self.eci_instance_types, pool_wait_seconds=self.pool_wait_seconds,
            tiers=[EciTier(max=t.max, spot_strategy=t.spot_strategy, spot_price_limit=t.spot_price_limit) for t in self.tiers],
        )

    # Which options each mode takes, and their bounds: the placement modes (components/placements/).
    mode: PlacementMode = default_of(PlacementChoice, "mode")
    eci_instance_types: list[InstanceType] = Field(default=[], max_length=MAX_ECI_SPECS)
    tiers: list[Tier] = []
    # ecs-then-eci: how long a pod waits for the pool to add a Ready node before going to ECI (None: the mode's default).
    pool_wait_seconds: Optional[int] = Field(default=None, ge=POOL_WAIT_RANGE[0], le=POOL_WAIT_RANGE[1])


class ScheduleEntry(_Section):
    # The rules (names, cron syntax, bounds): components/schedule.py schedule_problems, mapped by config/rules.py.
    name: str
    cron: str
    min_replicas: int = Field(ge=1, le=10000)


class Autoscaling(_Section):
    # Cross-field rules: QpsAutoscalerArgs.problems() (config/rules.py maps them here); the
    # bounds are the component's too, checked here with every other shape error.
    enabled: bool = default_of(AutoscalingArgs, "enabled")
    min_replicas: int = Field(default=default_of(AutoscalingArgs, "min_replicas"), ge=1, le=10000)
    max_replicas: int = Field(default=default_of(AutoscalingArgs, "max_replicas"), ge=1, le=10000)
    target_qps_per_replica: float = Field(default=default_of(AutoscalingArgs, "target_qps_per_replica"), ge=MIN_TARGET_QPS)
    # None: 300 s (QpsAutoscaler's default); a runtime with its own HPA spec takes none.
    scale_down_stabilization_seconds: Optional[int] = Field(default=None, ge=0, le=MAX_STABILIZATION_SECONDS)
    # The metrics adapter's sls.query.interval and sls.query.delay (whole seconds); None: its defaults.
    query_interval_seconds: Optional[int] = Field(default=None, ge=MIN_QUERY_INTERVAL, le=3600)
    query_delay_seconds: Optional[int] = Field(default=None, ge=0, le=600)
    # A second HPA metric that needs no SLS: scale up on CPU (percent of the request) when the QPS
    # metric cannot be read. None: QPS only (an outage holds the replicas where they are).
    cpu_utilization_percent: Optional[int] = Field(default=None, ge=1, le=100)
    # Scheduled floors (ACK's CronHPA against this HPA): raise and lower minReplicas ahead of known peaks.
    schedule: list[ScheduleEntry] = Field(default=[], max_length=50)
    # What the HPA scales on: qps (the ingress QPS, SLS) or the server's own queue | kv-cache (Prometheus).
    metric: SignalName = default_of(AutoscalingArgs, "signal")
    target_queue_per_replica: float = Field(default=default_of(AutoscalingArgs, "target_queue_per_replica"), ge=0.001, le=10000)
    target_kv_cache_usage: float = Field(default=default_of(AutoscalingArgs, "target_kv_cache_usage"), ge=0.001, le=1)

    model_config = ConfigDict(strict=False)  # allow `targetQpsPerReplica: 10` (int)

    def args(self) -> AutoscalingArgs:
        """These settings as the component takes them."""
        return AutoscalingArgs(
            enabled=self.enabled, min_replicas=self.min_replicas, max_replicas=self.max_replicas,
            target_qps_per_replica=self.target_qps_per_replica, query_interval_seconds=self.query_interval_seconds,
            query_delay_seconds=self.query_delay_seconds, cpu_utilization_percent=self.cpu_utilization_percent,
            scale_down_stabilization_seconds=self.scale_down_stabilization_seconds,
            schedule=tuple(ScheduledFloor(name=e.name, cron=e.cron, min_replicas=e.min_replicas) for e in self.schedule),
            signal=self.metric, target_queue_per_replica=self.target_queue_per_replica, target_kv_cache_usage=self.target_kv_cache_usage,
        )


class Ingress(_Section):
    host: Hostname
    path: HttpPath = default_of(IngressChoice, "path")
    tls_secret: Optional[SecretName] = None
    # ALB only: a Certificate Management Service certificate id, served by the ALB's HTTPS listener.
    certificate_id: Optional[CertificateId] = None
    # The IngressClass: the ALB section's name (default 'alb') puts the service behind the stack's ALB; any other
    # class is an NGINX Ingress controller's (default 'nginx').
    class_name: Dns1035 = INGRESS_CONTROLLERS["nginx"].default_class

    def controller(self, alb: Optional["Alb"] = None) -> str:
        """The ingress controller that serves this class in a stack with ``alb`` (the ALB section, or None)."""
        return "alb" if self.class_name == (alb.name if alb else INGRESS_CONTROLLERS["alb"].default_class) else "nginx"

    def choice(self, alb: Optional["Alb"] = None) -> IngressChoice:
        """These settings as the component takes them."""
        return IngressChoice(host=self.host, path=self.path, tls_secret=self.tls_secret, certificate_id=self.certificate_id,
                             controller=self.controller(alb), class_name=self.class_name)


class NetworkPolicy(_Section):
    # ACK runs the NGINX ingress controller in kube-system. There is always a NetworkPolicy.
    allow_from_namespaces: list[Namespace] = Field(default=list(default_of(ModelEndpointArgs, "allow_from_namespaces")),
                                                   min_length=1, max_length=20)


class ImageCache(_Section):
    size_gib: int = Field(default=default_of(ImageCacheChoice, "size_gib"), ge=20, le=32768, alias="sizeGiB")  # ECI imageCacheSize bounds
    retention_days: Optional[int] = Field(default=None, ge=1, le=65536)

    def choice(self) -> ImageCacheChoice:
        """These settings as the component takes them."""
        return ImageCacheChoice(size_gib=self.size_gib, retention_days=self.retention_days)


class Llm(_Section):
    """``runtime: vllm``'s engine settings (components/runtimes/vllm.py OPTION_DEFAULTS; its rules: Vllm.problems)."""

    max_model_len: Optional[int] = VLLM_DEFAULTS["max_model_len"]
    tensor_parallel_size: Optional[int] = VLLM_DEFAULTS["tensor_parallel_size"]
    dtype: str = VLLM_DEFAULTS["dtype"]
    gpu_memory_utilization: Optional[float] = VLLM_DEFAULTS["gpu_memory_utilization"]
    max_num_seqs: Optional[int] = VLLM_DEFAULTS["max_num_seqs"]
    enable_prefix_caching: Optional[bool] = VLLM_DEFAULTS["enable_prefix_caching"]
    kv_cache_dtype: str = VLLM_DEFAULTS["kv_cache_dtype"]
    shutdown_timeout_seconds: int = VLLM_DEFAULTS["shutdown_timeout_seconds"]
    # The API key itself, `secure:` (config/loader.py refuses it in plain text): the stack keeps it in a Secret.
    api_key: Optional[SecretStr] = VLLM_DEFAULTS["api_key"]
    api_key_secret: Optional[SecretName] = VLLM_DEFAULTS["api_key_secret"]
    api_key_secret_key: str = VLLM_DEFAULTS["api_key_secret_key"]
    shm_size: Quantity = VLLM_DEFAULTS["shm_size"]
    eci_extra_storage: Optional[Quantity] = VLLM_DEFAULTS["eci_extra_storage"]
    weights_gib: Optional[float] = Field(default=VLLM_DEFAULTS["weights_gib"], alias="weightsGiB")
    eci_gpu_driver: Optional[str] = VLLM_DEFAULTS["eci_gpu_driver"]
    cuda_compatibility: bool = VLLM_DEFAULTS["cuda_compatibility"]

    model_config = ConfigDict(strict=False)  # allow `gpuMemoryUtilization: 1` (int)

    def options(self) -> dict[str, Any]:
        """These settings as the runtime's options (``ModelEndpointArgs.runtime_options``; the runtime keeps the API key
        secret)."""
        options = self.model_dump(by_alias=False)
        options["api_key"] = self.api_key.get_secret_value() if self.api_key is not None else None
        return options


class Service(_Section):
    namespace: Namespace = default_of(ModelEndpointArgs, "namespace")
    runtime: Runtime = default_of(ModelEndpointArgs, "runtime")
    image: Optional[Image] = None  # default: the runtime's, for the GPU count (see `serving_image`)
    model: Model
    resources: Resources = Resources()
    placement: Placement = Placement()
    autoscaling: Autoscaling = Autoscaling()
    ingress: Optional[Ingress] = None
    network_policy: NetworkPolicy = NetworkPolicy()
    # An ECI image cache of the server's image (placements that use ECI); absent: none.
    image_cache: Optional[ImageCache] = None
    # runtime: vllm only: the engine's settings.
    llm: Optional[Llm] = None

    def runtime_options(self) -> dict[str, Any]:
        """The runtime's options these settings give."""
        return self.llm.options() if self.llm is not None else {}

    @property
    def serving_image(self) -> str:
        """The server image: ``image``, or the runtime's default for the GPU count."""
        return self.image or RUNTIMES[self.runtime].default_image(self.resources.gpu)


class Alb(_Section):
    """The stack's ALB for ALB Ingresses (components.alb_gateway): its AlbConfig and IngressClass are named ``name``."""

    name: Dns1035 = INGRESS_CONTROLLERS["alb"].default_class
    id: Optional[AlbId] = None  # an existing ALB instance; absent: a new one
    address_type: AlbAddressType = default_of(AlbGatewayArgs, "address_type")
    edition: AlbEdition = default_of(AlbGatewayArgs, "edition")
    # Required (config/rules.py): the ALB's own vSwitches, two zones at least. The servers' NetworkPolicy admits their
    # whole CIDR blocks, so vSwitches shared with nodes or pods would admit those too.
    vswitch_ids: list[VSwitchId] = Field(default=[], max_length=10)
    log_store: Optional[str] = None  # default alb_<name>; the rules: AlbGatewayArgs.problems()
    source_cidrs: list[str] = Field(default=[], max_length=10)

    def args(self, cluster: Cluster, certificate_ids: list[str], https: bool, request_timeout_seconds: Optional[int] = None) -> AlbGatewayArgs:
        """The gateway's component arguments (the listener's certificates are the services' ``ingress.certificateId``)."""
        return AlbGatewayArgs(
            vswitch_ids=self.vswitch_ids, log_project=cluster.sls_project_name, log_store=self.log_store,
            load_balancer_id=self.id, address_type=self.address_type, edition=self.edition, https=https,
            certificate_ids=certificate_ids, source_cidrs=self.source_cidrs, request_timeout_seconds=request_timeout_seconds,
        )


class Settings(_Section):
    """Everything a stack configures, validated."""

    region: Annotated[str, _matching(re.compile(r"^[a-z]{2}-[a-z0-9-]+$"), "an Alibaba Cloud region id like cn-beijing")]
    cluster: Cluster
    model_store: ModelStore
    node_pool: Optional[NodePool] = None
    alb: Optional[Alb] = None
    services: dict[Dns1035, Service] = Field(min_length=1)

    def alb_services(self) -> dict[str, Service]:
        """The services whose Ingress the stack's ALB serves."""
        return {n: s for n, s in self.services.items() if s.ingress is not None and s.ingress.controller(self.alb) == "alb"}

    def alb_args(self) -> Optional[AlbGatewayArgs]:
        """The ALB gateway's arguments, or None without the alb section."""
        if self.alb is None:
            return None
        behind = self.alb_services().values()
        certificates = list(dict.fromkeys(s.ingress.certificate_id for s in behind if s.ingress and s.ingress.certificate_id))
        https = any(s.ingress is not None and (s.ingress.tls_secret or s.ingress.certificate_id) for s in behind)
        timeouts = [t for s in behind if (t := RUNTIMES[s.runtime].request_timeout_seconds)]
        return self.alb.args(self.cluster, certificates, https, max(timeouts) if timeouts else None)
