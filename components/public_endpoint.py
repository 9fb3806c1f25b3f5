"""PublicEndpoint: an internet-facing Ingress in front of an inference service.

Replaces the seeds' console steps "Services and Ingresses > Create Ingress".
The Ingress is written for its controller (``ingresses/``: NGINX or ALB). It
is what SLS measures: its backend determines the ``sls.ingress.route`` the
autoscaler scales on, exposed here as :attr:`route`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from .problems import ArgProblem
from ._annotations import with_skips
from .ingresses import INGRESS_CONTROLLERS
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
    """Secret with the host's certificate (the ALB controller uploads it to Certificate Management Service); None, without
    ``certificate_id``: plain HTTP."""
    certificate_id: Optional[str] = None
    """``alb`` only: the host's certificate is this one of the ALB's HTTPS listener (``AlbGatewayArgs.certificate_ids``),
    instead of a Secret."""
    request_timeout_seconds: Optional[int] = None
    """How long a request may take through the controller (``Runtime.request_timeout_seconds``: an LLM generation);
    None: the controller's default (60 s for NGINX and ALB)."""
    paths: Sequence[str] = ()
    """Only these path prefixes, instead of all of ``path`` (which must then be ``/``): the server's public API, the
    rest of it kept inside the cluster (``Runtime.public_paths``: vLLM's ``/v1``)."""
    controller: str = "nginx"
    """The ingress controller that serves it, a registered one (``ingresses.INGRESS_CONTROLLERS``: ``nginx``, ``alb``)."""
    ingress_class: Optional[str] = None
    """IngressClass of the controller; None: the controller's usual class (``nginx``, ``alb``)."""

    @property
    def class_name(self) -> str:
        """The IngressClass the Ingress names."""
        return self.ingress_class or INGRESS_CONTROLLERS[self.controller].default_class

    @property
    def tls(self) -> bool:
        """Served over HTTPS (HTTP redirected)."""
        return bool(self.tls_secret or self.certificate_id)

    def problems(self) -> list[ArgProblem]:
        """Every problem of these arguments (empty when they are sound)."""
        found = checks.collect(checks.dns_label("namespace", self.namespace), checks.whole_number("service_port", self.service_port, 1, 65535),
                               checks.one_of("controller", self.controller, INGRESS_CONTROLLERS),
                               checks.dns_label("ingress_class", self.ingress_class) if self.ingress_class is not None else None)
        found += [ArgProblem("path", reason) for reason in path_problems(self.path)]
        controller = INGRESS_CONTROLLERS.get(self.controller)
        if controller is not None and not any(p.arg == "path" for p in found):
            found += controller.problems(self.path, self.tls_secret, self.certificate_id)
        if self.paths and self.path != "/":
            found.append(ArgProblem("path", "must be '/' for a server that publishes only some of its paths (its API's own "
                                            "prefixes, e.g. vLLM's /v1, would need rewriting); give it its own host"))
        if self.request_timeout_seconds is not None:
            found += checks.collect(checks.whole_number("request_timeout_seconds", self.request_timeout_seconds, 1, 3600))
        for sub in self.paths:
            found += [ArgProblem("paths", reason) for reason in path_problems(sub)]
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
        # With a certificate id the host is listed without a Secret: the ALB's listener holds the certificate.
        tls = [k8s.networking.v1.IngressTLSArgs(hosts=[args.host], secret_name=args.tls_secret)] if args.tls else None
        controller = INGRESS_CONTROLLERS[args.controller]
        routings = ([controller.routing(p, tls=args.tls, strip=False) for p in args.paths] if args.paths
                    else [controller.routing(args.path, tls=args.tls)])
        routing = routings[0]
        annotations = {**routing.annotations,
                       **(controller.timeout_annotations(args.request_timeout_seconds) if args.request_timeout_seconds else {})}
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                namespace=args.namespace,
                labels={"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "pulumi"},
                annotations=with_skips(annotations, namespace=args.namespace),
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=args.class_name,
                tls=tls,
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=args.host,
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[
                                k8s.networking.v1.HTTPIngressPathArgs(
                                    path=each.path,
                                    path_type=each.path_type,
                                    backend=k8s.networking.v1.IngressBackendArgs(
                                        service=k8s.networking.v1.IngressServiceBackendArgs(
                                            name=args.service_name,
                                            port=k8s.networking.v1.ServiceBackendPortArgs(number=args.service_port),
                                        )
                                    ),
                                )
                                for each in routings
                            ]
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None),
        )
        scheme = "https" if args.tls else "http"
        self.url = pulumi.Output.from_input(f"{scheme}://{args.host}{args.paths[0] if args.paths else args.path}")
        backend = ingress.spec.rules[0].http.paths[0].backend.service
        self.route = pulumi.Output.all(ingress.metadata.namespace, backend.name, backend.port.number).apply(
            lambda parts: ingress_route(parts[0], parts[1], int(parts[2]))
        )
        self.register_outputs({"url": self.url, "route": self.route})
