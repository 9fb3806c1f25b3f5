"""PublicEndpoint: an internet-facing NGINX Ingress in front of an inference service.

Replaces the seeds' console steps "Services and Ingresses > Create Ingress".
The Ingress is what SLS measures: its backend determines the
``sls.ingress.route`` the autoscaler scales on, exposed here as :attr:`route`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from .problems import ArgProblem
from ._annotations import with_skips
from .qps_autoscaler import ingress_route

TYPE = "elastic-inference:network:PublicEndpoint"


@dataclass(kw_only=True)
class PublicEndpointArgs:
    """Arguments of :class:`PublicEndpoint`."""

    namespace: str
    """Namespace of the Ingress and the backend Service."""
    host: str
    """Public host name, e.g. ``bert.example.com``."""
    service_name: pulumi.Input[str]
    """Backend Service."""
    service_port: int
    """Backend Service port (the REST port)."""
    path: str = "/"
    """Path prefix routed to the service. Below a prefix other than ``/``, the prefix is stripped
    before the request reaches the server (TF Serving answers ``/v1/models/...`` only)."""
    tls_secret: Optional[str] = None
    """Secret with the host's certificate; None serves plain HTTP."""
    ingress_class: str = "nginx"
    """IngressClass of the controller."""

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.dns_label("namespace", self.namespace), checks.whole_number("service_port", self.service_port, 1, 65535))
        found += [ArgProblem("path", reason) for reason in path_problems(self.path)]
        if not self.host or "*" in self.host:
            found.append(ArgProblem("host", "must be a concrete host name"))
        elif IPV4.match(self.host):
            found.append(ArgProblem("host", "must be a DNS name, not an IP address (Kubernetes rejects IP hosts in an Ingress)"))
        return found


IPV4 = re.compile(r"^[0-9]+(\.[0-9]+){3}$")


def path_problems(path: Any) -> list[str]:
    """What is wrong with an ingress path prefix (empty when it is sound)."""
    if not isinstance(path, str) or not path.startswith("/"):
        return ["must start with '/'"]
    if any(part in (".", "..") for part in path.split("/")) or "//" in path:
        return ["must not contain '.', '..' or empty segments"]
    return []


class PublicEndpoint(pulumi.ComponentResource):
    """An Ingress routing ``host``/``path`` to a service."""

    url: pulumi.Output[str]
    """The public URL of the endpoint."""
    route: pulumi.Output[str]
    """``sls.ingress.route`` of the backend, read from the Ingress itself."""

    def __init__(self, name: str, args: PublicEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        checks.raise_if_any("PublicEndpointArgs", [*checks.collect(checks.dns_label("name", name)), *args.problems()])
        super().__init__(TYPE, name, None, opts)
        tls = [k8s.networking.v1.IngressTLSArgs(hosts=[args.host], secret_name=args.tls_secret)] if args.tls_secret else None
        annotations = {"nginx.ingress.kubernetes.io/ssl-redirect": "true"} if args.tls_secret else {}
        path, path_type = args.path, "Prefix"
        if args.path.rstrip("/"):
            # `/ranker/v1/models/m:predict` must reach TF Serving as `/v1/models/m:predict`.
            path, path_type = f"{re.escape(args.path.rstrip('/'))}(/|$)(.*)", "ImplementationSpecific"
            annotations["nginx.ingress.kubernetes.io/rewrite-target"] = "/$2"
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                namespace=args.namespace,
                labels={"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "pulumi"},
                annotations=with_skips(annotations, namespace=args.namespace),
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.ingress_class,
                tls=tls,
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=args.host,
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[
                                k8s.networking.v1.HTTPIngressPathArgs(
                                    path=path,
                                    path_type=path_type,
                                    backend=k8s.networking.v1.IngressBackendArgs(
                                        service=k8s.networking.v1.IngressServiceBackendArgs(
                                            name=args.service_name,
                                            port=k8s.networking.v1.ServiceBackendPortArgs(number=args.service_port),
                                        )
                                    ),
                                )
                            ]
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        scheme = "https" if args.tls_secret else "http"
        self.url = pulumi.Output.from_input(f"{scheme}://{args.host}{args.path}")
        backend = ingress.spec.rules[0].http.paths[0].backend.service
        self.route = pulumi.Output.all(ingress.metadata.namespace, backend.name, backend.port.number).apply(
            lambda parts: ingress_route(parts[0], parts[1], int(parts[2]))
        )
        self.register_outputs({"url": self.url, "route": self.route})
