"""The stack settings (DESIGN.md, "The stack configuration"), as pydantic models.

Every default lives here and nowhere else. Field names are snake_case in
Python and camelCase in YAML (the alias), exactly as the contract spells them.
Rules that relate several fields are in ``config.rules``, so that each problem
can be reported against the exact key that has to change.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.cluster_addons import LOG_COLLECTORS, SELDON_CORE_CHART, SELDON_CORE_NAMESPACE, SELDON_CORE_REPOSITORY, SELDON_CORE_VERSION
from components.placement import DEFAULT_POOL_WAIT_SECONDS

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
_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_CLUSTER_ID = re.compile(r"^c[a-z0-9]{8,63}$")
_K8S_VERSION = re.compile(r"^v?(\d+)\.(\d+)(\.\d+)?([-+].*)?$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MODEL_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_VERSION_POLICY = re.compile(r"^(latest|latest:[1-9][0-9]*|all|specific:[0-9]+(,[0-9]+)*)$")
_INSTANCE_TYPE = re.compile(r"^ecs\.[a-z0-9-]+\.[a-z0-9-]+$")
_VSWITCH = re.compile(r"^vsw-[a-z0-9]+$")
_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_SLS_PROJECT = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9/_.~-]*$")
_HELM_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_CRD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2,}$")


def _matching(pattern: re.Pattern[str], what: str, max_len: Optional[int] = None):
    def check(value: str) -> str:
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"must be at most {max_len} characters, {what}")
        if not pattern.match(value):
            raise ValueError(f"is not valid: must be {what}")
        return value

    return AfterValidator(check)


def _no_dotdot(value: str) -> str:
    if any(part in ("..", ".") for part in value.split("/")):
        raise ValueError("must not contain '.' or '..' segments")
    return value


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
ModelPath = Annotated[str, _matching(_MODEL_PATH, "a bucket key prefix like 'tensorflow/chnsenticorp' (no leading or trailing '/')", 1023), AfterValidator(_no_dotdot)]
VersionPolicy = Annotated[str, _matching(_VERSION_POLICY, "one of 'latest', 'latest:N', 'all', 'specific:V[,V...]'")]
InstanceType = Annotated[str, _matching(_INSTANCE_TYPE, "an ECS instance type like ecs.gn6i-c4g1.xlarge")]
VSwitchId = Annotated[str, _matching(_VSWITCH, "a vSwitch id like vsw-2zeabc")]
LabelKey = Annotated[str, _matching(_LABEL_KEY, "a Kubernetes label key like 'inference' or 'example.com/role'", 316)]
LabelValue = Annotated[str, BeforeValidator(_number_as_string), _matching(_LABEL_VALUE, "a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')", 63)]
SlsProject = Annotated[str, _matching(_SLS_PROJECT, "an SLS project name: 3-63 lowercase letters, digits and '-'")]
CrdName = Annotated[str, _matching(_CRD_NAME, "a CustomResourceDefinition name like 'seldondeployments.machinelearning.seldon.io'", 253)]
HttpPath = Annotated[str, _matching(_HTTP_PATH, "an HTTP path starting with '/' (letters, digits, '/', '_', '.', '~', '-')", 1024)]
Price = Annotated[float, BeforeValidator(lambda v: float(v) if isinstance(v, str) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", v) else v), Field(gt=0)]

SpotStrategy = Literal["NoSpot", "SpotAsPriceGo", "SpotWithPriceLimit"]
EciSpotStrategy = Literal["SpotAsPriceGo", "SpotWithPriceLimit"]
MultiAzPolicy = Literal["PRIORITY", "COST_OPTIMIZED", "BALANCE"]
Encryption = Literal["AES256", "KMS"]
Access = Literal["secret", "rrsa"]
Runtime = Literal["tensorflow-serving", "seldon"]
PlacementMode = Literal["ecs", "eci", "ecs-then-eci", "eci-tiers"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

ECI_MODES = frozenset({"eci", "ecs-then-eci", "eci-tiers"})
ECS_MODES = frozenset({"ecs", "ecs-then-eci"})


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

    name: str = "ack-alibaba-cloud-metrics-adapter"
    repository: str = "https://aliacs-app-catalog.oss-cn-hangzhou.aliyuncs.com/charts-incubator/"
    version: Optional[Annotated[str, _matching(_HELM_VERSION, "a chart version like '1.2.0'")]] = None
    namespace: Namespace = "kube-system"


class SeldonCoreChart(_Section):
    """Where the seldon-core-operator Helm chart comes from (defaults: components.cluster_addons)."""

    name: str = SELDON_CORE_CHART
    repository: str = SELDON_CORE_REPOSITORY
    version: Annotated[str, _matching(_HELM_VERSION, "a chart version like '1.17.1'")] = SELDON_CORE_VERSION
    namespace: Namespace = SELDON_CORE_NAMESPACE


class Addons(_Section):
    virtual_node: bool = True
    logtail: bool = True
    log_collector: Literal[LOG_COLLECTORS] = "logtail-ds"  # type: ignore[valid-type]
    metrics_adapter: bool = True
    ingress_controller: bool = False
    metrics_adapter_chart: MetricsAdapterChart = MetricsAdapterChart()
    seldon_core: bool = False
    seldon_core_chart: SeldonCoreChart = SeldonCoreChart()


class Cluster(_Section):
    id: ClusterId
    kubernetes_version: Annotated[str, AfterValidator(_k8s_version)] = "1.30"
    vswitch_ids: list[VSwitchId] = []
    sls_project: Optional[SlsProject] = None
    addons: Addons = Addons()
    # CRDs the cluster already has, installed outside this stack (e.g. a Seldon Core operator
    # another team runs): `<plural>.<group>` names, published in the clusterPrerequisites output.
    prerequisites: list[CrdName] = Field(default=[], max_length=20)

    @property
    def sls_project_name(self) -> str:
        """The SLS project that holds the ingress logs (default ``k8s-log-{id}``)."""
        return self.sls_project or f"k8s-log-{self.id}"


# --- model store ------------------------------------------------------------------


class ModelStore(_Section):
    bucket: BucketName
    create: bool = True
    versioning: bool = True
    encryption: Encryption = "AES256"
    kms_key_id: Optional[str] = None
    access: Access = "secret"
    upload_dir: Optional[str] = None
    protect: bool = True


# --- node pool ----------------------------------------------------------------------


class Taint(_Section):
    key: LabelKey
    value: Optional[LabelValue] = None
    effect: TaintEffect = "NoSchedule"


class NodePool(_Section):
    name: Dns1035 = "inference-gpu"
    instance_types: list[InstanceType] = Field(default=["ecs.gn6i-c4g1.xlarge"], min_length=1, max_length=10)
    min_size: int = Field(default=0, ge=0, le=1000)
    max_size: int = Field(default=10, ge=0, le=1000)
    spot_strategy: SpotStrategy = "SpotAsPriceGo"
    spot_price_limits: dict[InstanceType, Price] = {}
    multi_az_policy: MultiAzPolicy = "COST_OPTIMIZED"
    on_demand_base_capacity: int = Field(default=0, ge=0, le=1000)
    on_demand_percentage: int = Field(default=30, ge=0, le=100)
    # None: on exactly when the multi-AZ policy allows it (COST_OPTIMIZED).
    compensate_with_on_demand: Optional[bool] = None
    labels: dict[LabelKey, LabelValue] = {"inference": "tensorflow"}
    taints: list[Taint] = []
    system_disk_size: int = Field(default=120, ge=40, le=2048)

    @property
    def compensate(self) -> bool:
        if self.compensate_with_on_demand is None:
            return self.multi_az_policy == "COST_OPTIMIZED"
        return self.compensate_with_on_demand


# --- services -------------------------------------------------------------------------


class Model(_Section):
    name: Optional[ModelName] = None  # default: the service name
    path: ModelPath
    version_policy: VersionPolicy = "latest"


class Resources(_Section):
    gpu: int = Field(default=0, ge=0, le=16)
    cpu: Quantity = "2"
    memory: Quantity = "8Gi"


class Tier(_Section):
    max: Optional[int] = Field(default=None, ge=1, le=10000)
    spot_strategy: Optional[EciSpotStrategy] = None
    spot_price_limit: Optional[Price] = None


class Placement(_Section):
    mode: PlacementMode = "eci"
    eci_instance_types: list[InstanceType] = Field(default=[], max_length=5)
    tiers: list[Tier] = []
    # ecs-then-eci: how long a pod waits for the pool to add a Ready node before going to ECI.
    pool_wait_seconds: int = Field(default=DEFAULT_POOL_WAIT_SECONDS, ge=30, le=3600)


class Autoscaling(_Section):
    enabled: bool = True
    min_replicas: int = Field(default=1, ge=1, le=10000)
    max_replicas: int = Field(default=10, ge=1, le=10000)
    # A Kubernetes quantity has milli precision: a smaller target would render as 0m.
    target_qps_per_replica: float = Field(default=10, ge=0.001)
    scale_down_stabilization_seconds: int = Field(default=300, ge=0, le=3600)
    # The metrics adapter's sls.query.interval and sls.query.delay (whole seconds); None: its defaults.
    query_interval_seconds: Optional[int] = Field(default=None, ge=15, le=3600)
    query_delay_seconds: Optional[int] = Field(default=None, ge=0, le=600)
    # A second HPA metric that needs no SLS: scale up on CPU (percent of the request) when the QPS
    # metric cannot be read. None: QPS only (an outage holds the replicas where they are).
    cpu_utilization_percent: Optional[int] = Field(default=None, ge=1, le=100)

    model_config = ConfigDict(strict=False)  # allow `targetQpsPerReplica: 10` (int)


class Ingress(_Section):
    host: Hostname
    path: HttpPath = "/"
    tls_secret: Optional[SecretName] = None
    class_name: Dns1035 = "nginx"


class NetworkPolicy(_Section):
    # ACK runs the NGINX ingress controller in kube-system. There is always a NetworkPolicy.
    allow_from_namespaces: list[Namespace] = Field(default=["kube-system"], min_length=1, max_length=20)


class Service(_Section):
    namespace: Namespace = "default"
    runtime: Runtime = "tensorflow-serving"
    image: Optional[Image] = None  # default depends on runtime and GPUs: see `serving_image`
    model: Model
    resources: Resources = Resources()
    placement: Placement = Placement()
    autoscaling: Autoscaling = Autoscaling()
    ingress: Optional[Ingress] = None
    network_policy: NetworkPolicy = NetworkPolicy()

    @property
    def serving_image(self) -> str:
        if self.image:
            return self.image
        return DEFAULT_TF_SERVING_GPU_IMAGE if self.resources.gpu else DEFAULT_TF_SERVING_IMAGE


DEFAULT_TF_SERVING_IMAGE = "tensorflow/serving:2.14.1"
DEFAULT_TF_SERVING_GPU_IMAGE = "tensorflow/serving:2.14.1-gpu"


class Settings(_Section):
    """Everything a stack configures, validated."""

    region: Annotated[str, _matching(re.compile(r"^[a-z]{2}-[a-z0-9-]+$"), "an Alibaba Cloud region id like cn-beijing")]
    cluster: Cluster
    model_store: ModelStore
    node_pool: Optional[NodePool] = None
    services: dict[Dns1035, Service] = Field(min_length=1)
