"""ACK's NGINX Ingress controller (the ``nginx-ingress-controller`` add-on, the seeds' ingress).

Upstream ingress-nginx reached the end of its maintenance in March 2026 (kubernetes.io blog, 2025-11-11,
"Ingress NGINX retirement"); ACK's add-on is the same code. New endpoints should prefer ``alb``.
"""

from __future__ import annotations

from typing import Mapping, Optional

from ..problems import ArgProblem
from .base import IngressController, Routing, strip_prefix_pattern

# ingress-nginx docs, "Annotations": rewrite-target with capture groups needs a regex path, which
# ingress-nginx reads for pathType ImplementationSpecific (use-regex is implied by rewrite-target).
REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"
# ingress-nginx docs, "Annotations" (Custom timeouts): proxy-read-timeout and proxy-send-timeout, seconds, default 60; a
# response that takes longer between two reads gets a 504.
READ_TIMEOUT = "nginx.ingress.kubernetes.io/proxy-read-timeout"
SEND_TIMEOUT = "nginx.ingress.kubernetes.io/proxy-send-timeout"


class Nginx(IngressController):
    """Pods of the NGINX Ingress controller in ``kube-system`` proxy the requests; SLS collects their access logs."""

    name = "nginx"
    default_class = "nginx"
    # alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go: filters NGINX logs by proxy_upstream_name.
    metric = "sls_ingress_qps"
    in_cluster = True

    def problems(self, path: str, tls_secret: Optional[str], certificate_id: Optional[str]) -> list[ArgProblem]:
        if certificate_id is not None:
            return [ArgProblem("certificate_id", "is for the ALB Ingress controller (a certificate of the ALB's HTTPS listener); "
                                                 "an NGINX Ingress takes its certificate from tls_secret")]
        return []

    def timeout_annotations(self, seconds: int) -> Mapping[str, str]:
        return {READ_TIMEOUT: str(seconds), SEND_TIMEOUT: str(seconds)}

    def routing(self, path: str, tls: bool, strip: bool = True) -> Routing:
        annotations = {SSL_REDIRECT: "true"} if tls else {}
        if not strip or not path.rstrip("/"):
            return Routing(path, "Prefix", annotations)
        return Routing(strip_prefix_pattern(path), "ImplementationSpecific", {**annotations, REWRITE: "/$2"})
