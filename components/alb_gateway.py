"""AlbGateway: an Application Load Balancer for ALB Ingresses, as code (AlbConfig and IngressClass).

ACK's ALB Ingress controller (add-on ``alb-ingress-controller``, ``ClusterAddonsArgs.alb_ingress_controller``)
manages one ALB instance per ``AlbConfig`` (``alibabacloud.com/v1``, cluster-scoped) and serves the Ingresses
whose IngressClass points at it. This component declares both:

- the ``AlbConfig``: a new ALB in the given vSwitches (at least two zones, ACK "Access Services by using an ALB
  Ingress"), or an existing one by id; its HTTP listener on 80 and, when the endpoints use TLS, its HTTPS
  listener on 443 with the certificates given by id; and its access logs to SLS (``accessLogConfig``, a
  logstore whose name starts with ``alb_``: ACK "Use ALB Ingresses to enable automatic application scaling
  based on QPS"). Those logs are what ``sls_alb_ingress_qps`` counts.
- the ``IngressClass`` (``spec.controller: ingress.k8s.alibabacloud/alb``, ``parameters`` naming the AlbConfig).

Field names are the controller's (alibaba/alibaba-load-balancer-controller @c2771084
``pkg/apis/alibabacloud/v1/albconfig_types.go``; listener certificates are ``CertificateId``/``IsDefault``,
capitalized). An HTTPS listener needs a certificate when it is created: the AlbConfig's own, or one the
controller uploads from an Ingress's TLS Secret (``pkg/provider/alibaba/alb/listener.go``
``buildSDKCreateListenerRequest`` "empty https listener default certs"; ``.../albconfig_manager/model_builder.go``
merges the two, the AlbConfig's first).

The ALB reaches the pods from its own addresses in its vSwitches ("An upgraded ALB instance uses local IP
addresses assigned from the vSwitch where it is deployed for communication with backend servers": ALB
"Create and manage server groups"): :attr:`source_cidrs` are those vSwitches' CIDR blocks, looked up at
deployment, for the servers' NetworkPolicy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from . import problems as checks
from .ingresses.alb import CONTROLLER, HTTP_PORT, HTTPS_PORT
from .problems import ArgProblem
from .schedule import PATCH_FORCE
from .types import choices

TYPE = "elastic-inference:network:AlbGateway"
API_VERSION = "alibabacloud.com/v1"
KIND = "AlbConfig"
CRD = "albconfigs.alibabacloud.com"
ADDON = "alb-ingress-controller"
PREREQUISITE = (f"ACK's ALB Ingress controller serves AlbConfig ({CRD}): install the {ADDON} add-on "
                "(ACK 'Manage the ALB Ingress controller')")
AddressType = Literal["Internet", "Intranet"]
# pkg/provider/alibaba/alb/alb.go isAlbLoadBalancerEditionValid also knows Basic, but ReuseALB refuses it
# ("LoadBalancer Edition: Basic can't use for ingress controller") and docs/usage.md lists these two.
Edition = Literal["Standard", "StandardWithWaf"]
# ACK 'Access Services by using an ALB Ingress' (usage notes): names of AlbConfigs, namespaces, Ingresses and Services
# must not start with "aliyun".
RESERVED_PREFIX = "aliyun"
# SLS logstore names: 3-63 lowercase letters, digits, '-' and '_', starting and ending with a letter or digit;
# ALB's access logs need one starting with "alb_" (ACK's QPS guide).
LOGSTORE = re.compile(r"^alb_[a-z0-9_-]{0,58}[a-z0-9]$")
ALB_ID = re.compile(r"^alb-[a-z0-9]+$")
VSWITCH = re.compile(r"^vsw-[a-z0-9]+$")
CIDR = re.compile(r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$")
MIN_ZONES = 2
# ALB listener RequestTimeout (CreateListener): 1-600 seconds, default 60; the AlbConfig field is requestTimeout
# (albconfig_types.go ListenerSpec).
MAX_REQUEST_TIMEOUT = 600


@dataclass(kw_only=True)
class AlbGatewayArgs:
    """Arguments of :class:`AlbGateway`."""

    vswitch_ids: Sequence[str]
    """The ALB's vSwitches, in two zones or more of the cluster's VPC (its ``zoneMappings``); for an existing ALB,
    the vSwitches it already uses. The servers' NetworkPolicy admits their whole CIDR blocks: give the ALB vSwitches
    of its own, which no node or pod uses, or those would be admitted too."""
    log_project: str
    """SLS project of the access logs, in the ALB's region (the cluster's ``k8s-log-{cluster id}`` will do)."""
    log_store: Optional[str] = None
    """Logstore of the access logs, ``alb_...``; None: ``alb_{name}`` with '-' as '_' (created when missing)."""
    load_balancer_id: Optional[str] = None
    """An existing ALB instance (``alb-...``) to manage instead of creating one; its other settings are left as they
    are (``forceOverride: false``)."""
    address_type: AddressType = "Internet"
    """``Internet`` (public) or ``Intranet`` (VPC only), for a new ALB."""
    edition: Edition = "Standard"
    """``Standard`` or ``StandardWithWaf``, for a new ALB."""
    https: bool = True
    """Declare the HTTPS listener on 443 (with an HTTP listener on 80 that endpoints redirect). It needs a
    certificate: ``certificate_ids``, or an endpoint's TLS Secret."""
    certificate_ids: Sequence[str] = ()
    """Certificate Management Service ids for the HTTPS listener, the first its default."""
    request_timeout_seconds: Optional[int] = None
    """The listeners' ``requestTimeout`` (1-600 s): how long a request may take (an LLM generation; the endpoints' runtimes'
    ``request_timeout_seconds``); None: ALB's default, 60 s."""
    source_cidrs: Sequence[str] = ()
    """More CIDR blocks the ALB reaches the pods from (a non-upgraded ALB instance: ``100.64.0.0/10``)."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.one_of("address_type", self.address_type, choices(AddressType)),
                               checks.one_of("edition", self.edition, choices(Edition)))
        if len(set(self.vswitch_ids)) < MIN_ZONES:
            found.append(ArgProblem("vswitch_ids", f"needs {MIN_ZONES} vSwitches or more, in different zones of the cluster's VPC "
                                                   "(an ALB spans two zones at least)"))
        if any(not isinstance(v, str) or not VSWITCH.match(v) for v in self.vswitch_ids):
            found.append(ArgProblem("vswitch_ids", "must be vSwitch ids like vsw-..."))
        if not self.log_project:
            found.append(ArgProblem("log_project", "is required: the SLS project of the ALB's access logs"))
        if self.log_store is not None and not LOGSTORE.match(self.log_store):
            found.append(ArgProblem("log_store", "must start with 'alb_' (ALB's access logs), then lowercase letters, digits, '-' "
                                                 "or '_', 63 characters at most"))
        if self.load_balancer_id is not None and not ALB_ID.match(self.load_balancer_id):
            found.append(ArgProblem("load_balancer_id", "must be an ALB instance id like alb-..."))
        if self.certificate_ids and not self.https:
            found.append(ArgProblem("certificate_ids", "are for the HTTPS listener, which https=False leaves out"))
        if any(not isinstance(c, str) or not c.strip() for c in self.certificate_ids):
            found.append(ArgProblem("certificate_ids", "must be certificate ids (Certificate Management Service)"))
        if self.request_timeout_seconds is not None:
            found += checks.collect(checks.whole_number("request_timeout_seconds", self.request_timeout_seconds, 1, MAX_REQUEST_TIMEOUT))
        if any(not isinstance(c, str) or not CIDR.match(c) for c in self.source_cidrs):
            found.append(ArgProblem("source_cidrs", "must be IPv4 CIDR blocks like 100.64.0.0/10"))
        return found


def default_log_store(name: str) -> str:
    """The access logstore of the ALB ``name`` when none is given."""
    return "alb_" + name.replace("-", "_")


def listeners(https: bool, certificate_ids: Sequence[str], request_timeout_seconds: Optional[int] = None) -> list[dict[str, Any]]:
    """The AlbConfig's ``spec.listeners``."""
    timeout = {"requestTimeout": request_timeout_seconds} if request_timeout_seconds else {}
    found: list[dict[str, Any]] = [{"port": HTTP_PORT, "protocol": "HTTP", **timeout}]
    if https:
        tls: dict[str, Any] = {"port": HTTPS_PORT, "protocol": "HTTPS", **timeout}
        if certificate_ids:
            tls["certificates"] = [{"CertificateId": c, "IsDefault": i == 0} for i, c in enumerate(dict.fromkeys(certificate_ids))]
        found.append(tls)
    return found


class AlbGateway(pulumi.ComponentResource):
    """An ALB instance (new, or existing by id) configured by an AlbConfig, and the IngressClass that selects it."""

    class_name: str
    """The IngressClass an endpoint's Ingress names to be served by this ALB (``IngressChoice.class_name``)."""
    log_project: str
    """SLS project of the access logs (the HPA's ``sls.project``)."""
    log_store: str
    """Logstore of the access logs (the HPA's ``sls.logstore``)."""
    certificate_ids: tuple[str, ...]
    """The HTTPS listener's certificates."""
    https: bool
    """Whether it has the HTTPS listener."""
    request_timeout_seconds: Optional[int]
    """Its listeners' request timeout; None: ALB's 60 s."""
    source_cidrs: list[pulumi.Input[str]]
    """The addresses the ALB reaches the pods from: its vSwitches' CIDR blocks (one lookup each, so that a preview
    without the cloud still shows one NetworkPolicy peer per vSwitch), then ``source_cidrs``."""
    dependencies: list[pulumi.Resource]
    """What an endpoint's Ingress is created after."""
    prerequisites: dict[str, str]
    """What the cluster must already have (name -> why)."""

    def __init__(self, name: str, args: AlbGatewayArgs, opts: Optional[pulumi.ResourceOptions] = None):
        found = [*checks.collect(checks.dns_label("name", name)), *args.problems()]
        if name.startswith(RESERVED_PREFIX):
            found.append(ArgProblem("name", f"must not start with '{RESERVED_PREFIX}' (ACK 'Access Services by using an ALB Ingress': AlbConfig names must not)"))
        if args.log_store is None and not LOGSTORE.match(default_log_store(name)):
            found.append(ArgProblem("name", "makes the default logstore alb_<name> longer than SLS's 63 characters: shorten the "
                                            "name or give log_store"))
        checks.raise_if_any("AlbGatewayArgs", found)
        super().__init__(TYPE, name, None, opts)
        self.class_name = name
        self.log_project = args.log_project
        self.log_store = args.log_store or default_log_store(name)
        self.certificate_ids = tuple(dict.fromkeys(args.certificate_ids))
        self.https = args.https
        self.request_timeout_seconds = args.request_timeout_seconds
        self.prerequisites = {CRD: PREREQUISITE}
        depends_on = opts.depends_on if opts else None
        config: dict[str, Any] = {"accessLogConfig": {"logProject": self.log_project, "logStore": self.log_store}}
        if args.load_balancer_id:
            # Manage its listeners, leave the instance's own settings alone (albconfig_types.go ForceOverride).
            config.update(id=args.load_balancer_id, forceOverride=False)
        else:
            config.update(name=name, addressType=args.address_type, edition=args.edition,
                          zoneMappings=[{"vSwitchId": v} for v in dict.fromkeys(args.vswitch_ids)])
        alb_config = k8s.apiextensions.CustomResource(
            f"{name}-alb-config",
            api_version=API_VERSION,
            kind=KIND,
            # The controller writes the AlbConfig back (alb_controller.go syncIngress: listeners it adds, every field
            # re-serialized): the stack's apply must win over that rather than fail on a Server-Side Apply conflict.
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={"app.kubernetes.io/managed-by": "pulumi"},
                                                annotations={PATCH_FORCE: "true"}),
            spec={"config": config, "listeners": listeners(args.https, self.certificate_ids, args.request_timeout_seconds)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-ingress-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={"app.kubernetes.io/managed-by": "pulumi"}),
            spec=k8s.networking.v1.IngressClassSpecArgs(
                controller=CONTROLLER,
                parameters=k8s.networking.v1.IngressClassParametersReferenceArgs(api_group="alibabacloud.com", kind=KIND, name=name),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[alb_config]),
        )
        self.dependencies = [alb_config, ingress_class]
        self.source_cidrs = [*(vswitch_cidr(v, parent=self) for v in dict.fromkeys(args.vswitch_ids)), *dict.fromkeys(args.source_cidrs)]
        self.register_outputs({"className": self.class_name, "logProject": self.log_project, "logStore": self.log_store})


def vswitch_cidr(vswitch_id: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The CIDR block of ``vswitch_id``, read from the cloud (pulumi-alicloud ``vpc.get_switches``)."""
    found = alicloud.vpc.get_switches_output(ids=[vswitch_id], opts=pulumi.InvokeOutputOptions(parent=parent))

    def block(switches: Sequence[Any]) -> str:
        if not switches:
            raise ValueError(f"AlbGateway: vSwitch {vswitch_id} was not found in the region: check vswitch_ids")
        return str(switches[0].cidr_block)

    return found.vswitches.apply(block)
