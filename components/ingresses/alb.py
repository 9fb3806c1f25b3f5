"""ACK's ALB Ingress controller (the ``alb-ingress-controller`` add-on): an Application Load Balancer,
configured by an ``AlbConfig``, forwards the requests to the pods itself.

Read in the open-source controller (alibaba/alibaba-load-balancer-controller @c2771084), which ACK's
managed controller is documented to match:

- ``pkg/controller/ingress/reconcile/annotations/annotations.go``: the annotation names below.
- ``.../albconfig_manager/model_builder.go`` ``ComputeIngressListenPorts``: ``listen-ports`` attaches an Ingress to
  the AlbConfig's listeners (keys ``HTTP``, ``HTTPS``, ``QUIC``); a port without such a listener is skipped.
  ``ssl-redirect`` answers HTTP on 80 with a redirect to HTTPS on 443.
- ``.../model_build_server_group.go`` ``buildServerGroupName``: a backend's server group is named
  ``<namespace>-<service>-<port>``, the port the Ingress names. The metrics adapter's ``sls_alb_ingress_qps``
  counts the ALB access log lines whose ``slb_pool_name`` is the ``sls.ingress.route`` label
  (AliyunContainerService/alibaba-cloud-metrics-adapter ``pkg/metrics/sls/ingress.go``): the same string
  as NGINX's route.
- ``pkg/controller/helper/service_utils.go`` ``GetServiceTrafficPolicy``: a ClusterIP backend Service is refused
  ("cluster service type just support eni mode for alb ingress") unless it is annotated
  ``service.beta.kubernetes.io/backend-type: eni`` (or the cluster's global setting says so); in ENI mode the
  server group holds the pods' own IPs, which needs pods with VPC addresses (Terway, or ECI).
- Rewriting a path prefix away needs ``rewrite-target`` with a ``${2}`` capture group, which the project's
  docs/usage.md calls "an advanced feature. To use the feature, submit a ticket": refused here rather
  than rendered and broken after ``pulumi up``.
"""

from __future__ import annotations

import json
from typing import Optional

from ..problems import ArgProblem
from .base import IngressController, Routing

PREFIX = "alb.ingress.kubernetes.io/"
LISTEN_PORTS = PREFIX + "listen-ports"
SSL_REDIRECT = PREFIX + "ssl-redirect"
BACKEND_TYPE = "service.beta.kubernetes.io/backend-type"
HTTP_PORT, HTTPS_PORT = 80, 443
CONTROLLER = "ingress.k8s.alibabacloud/alb"
"""The IngressClass ``spec.controller`` the controller serves (``reconcile/store/common.go`` ``ALBIngressController``)."""


class Alb(IngressController):
    """An ALB instance (outside the cluster) proxies the requests and writes its access logs to SLS."""

    name = "alb"
    default_class = "alb"
    metric = "sls_alb_ingress_qps"
    in_cluster = False
    service_annotations = {BACKEND_TYPE: "eni"}

    def problems(self, path: str, tls_secret: Optional[str], certificate_id: Optional[str]) -> list[ArgProblem]:
        found = []
        if path.rstrip("/"):
            found.append(ArgProblem("path", "must be '/' behind ALB: stripping a path prefix needs an ALB rewrite with a capture "
                                            "group, which Alibaba Cloud enables only on request (alibaba-load-balancer-controller "
                                            "docs/usage.md, rewrite-target); give the service its own host instead"))
        if tls_secret is not None and certificate_id is not None:
            found.append(ArgProblem("certificate_id", "give either tls_secret or certificate_id, not both"))
        return found

    def routing(self, path: str, tls: bool, strip: bool = True) -> Routing:
        ports = [{"HTTP": HTTP_PORT}, {"HTTPS": HTTPS_PORT}] if tls else [{"HTTP": HTTP_PORT}]
        annotations = {LISTEN_PORTS: json.dumps(ports)}
        if tls:
            annotations[SSL_REDIRECT] = "true"
        return Routing(path, "Prefix", annotations)
