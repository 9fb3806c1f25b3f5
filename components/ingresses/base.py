"""What every ingress controller provides: the contract a controller module implements.

A controller is a subclass of :class:`IngressController` with every abstract
member defined, registered in ``ingresses/__init__.py``. It decides how an
Ingress for it is written (path, annotations), which metric of the metrics
adapter counts its requests, and where its traffic comes from (for the
server's NetworkPolicy).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Optional

from ..problems import ArgProblem


@dataclass(frozen=True)
class Routing:
    """How one Ingress path is written for a controller (Kubernetes field shapes)."""

    path: str
    path_type: str
    annotations: Mapping[str, str] = field(default_factory=dict)


def strip_prefix_pattern(path: str) -> str:
    """The regular expression of a path prefix whose rest is captured as group 2: ``/ranker(/|$)(.*)``.

    ``/ranker/v1/models/m:predict`` must reach TF Serving as ``/v1/models/m:predict``: the controller
    rewrites the request to ``/`` + group 2.
    """
    return f"{re.escape(path.rstrip('/'))}(/|$)(.*)"


class IngressController(ABC):
    """One ingress controller an endpoint's Ingress may be served by (``IngressChoice.controller``)."""

    name: ClassVar[str]
    """The controller's name, as ``IngressChoice.controller`` gives it."""
    default_class: ClassVar[str]
    """The IngressClass an Ingress for it names unless told otherwise."""
    metric: ClassVar[str]
    """The metrics adapter's External metric of the QPS this controller's access logs record."""
    in_cluster: ClassVar[bool]
    """Its proxies run as pods in the cluster (the NetworkPolicy admits their namespaces), or outside it (the
    NetworkPolicy admits their source addresses)."""

    service_annotations: ClassVar[Mapping[str, str]] = {}
    """Annotations the backend Service must carry for this controller to reach its pods."""

    def problems(self, path: str, tls_secret: Optional[str], certificate_id: Optional[str]) -> list[ArgProblem]:
        """What this controller cannot serve of an endpoint's path and TLS settings (``PublicEndpointArgs`` names)."""
        return []

    def timeout_annotations(self, seconds: int) -> Mapping[str, str]:
        """Annotations that let a request take ``seconds`` (a long LLM generation); none where the controller sets it
        elsewhere (ALB: its listener's ``requestTimeout``, :class:`AlbGateway`)."""
        return {}

    @abstractmethod
    def routing(self, path: str, tls: bool, strip: bool = True) -> Routing:
        """The Ingress path, its type and the annotations for ``path`` (a prefix; with ``strip``, below a prefix other
        than ``/`` the prefix is stripped before the request reaches the server; without, ``path`` is the server's own),
        HTTPS-only when ``tls``."""
