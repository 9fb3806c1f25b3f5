"""ECI image caches: a service's image cached ahead of its first scale-out on ECI.

An ECI pod pulls its image when it is created; a multi-gigabyte model-server
image is most of a cold start. ECI's ``ImageCache`` custom resource (apiVersion
``eci.alibabacloud.com/v1``, cluster-scoped, served by the ack-virtual-node
add-on: ACK "Accelerate pod creation with ImageCache"; ECI "kubernetes ImageCache
API") builds a snapshot of the images once; a pod whose images match it starts
from the snapshot. Matching is ECI's automatic image-cache matching
(``k8s.aliyun.com/eci-auto-imc``, on by default: the best match by image match
degree, then size, then creation time; ECI "Use an ImageCache to accelerate pod
creation"), which the pods state explicitly. The cache uses the virtual node's
eci-profile network (its vSwitch and security group), so public images need
that network to reach the internet, as the pods' own pulls do.

Cost (ECI "Image caches" billing): building a cache bills a temporary ECI
instance and disk for the minutes it takes; the cache then bills its snapshot
storage for as long as it exists: until ``retention_days`` pass, or, without
them, until the stack deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from . import problems as checks
from .problems import ArgProblem

CRD = "imagecaches.eci.alibabacloud.com"
API_VERSION = "eci.alibabacloud.com/v1"
KIND = "ImageCache"
PREREQUISITE = (f"ack-virtual-node serves ImageCache ({CRD}); on a cluster without the CRD, update ACK Virtual Node "
                "(ACK 'Accelerate pod creation with ImageCache')")
#: ECI's automatic matching of a pod to an image cache (default "true"); stated on the pods that use one.
AUTO_MATCH = "k8s.aliyun.com/eci-auto-imc"
#: imageCacheSize bounds and default, in GiB (ECI "kubernetes ImageCache API").
MIN_SIZE_GIB, MAX_SIZE_GIB, DEFAULT_SIZE_GIB = 20, 32768, 20
MAX_RETENTION_DAYS = 65536


@dataclass(frozen=True, kw_only=True)
class ImageCacheChoice:
    """An image cache of the service's image, for its pods on ECI."""

    size_gib: int = DEFAULT_SIZE_GIB
    """The cache's size (``imageCacheSize``), 20-32768 GiB; ECI's guide asks for at least twice the images' size."""
    retention_days: Optional[int] = None
    """Days until ECI deletes the cache (``retentionDays``), 1-65536; None: it lives as long as the stack."""

    def problems(self, arg: str = "image_cache") -> list[ArgProblem]:
        found = checks.collect(checks.whole_number(f"{arg}.size_gib", self.size_gib, MIN_SIZE_GIB, MAX_SIZE_GIB))
        if self.retention_days is not None:
            found += checks.collect(checks.whole_number(f"{arg}.retention_days", self.retention_days, 1, MAX_RETENTION_DAYS))
        return found


def image_cache(resource_name: str, name: str, images: Sequence[pulumi.Input[str]], choice: ImageCacheChoice, parent: pulumi.Resource,
                depends_on: Any = None) -> k8s.apiextensions.CustomResource:
    """The cluster-scoped ImageCache ``name`` of ``images`` (written exactly as the pods name them: the match is by reference)."""
    spec: dict[str, Any] = {"images": list(images), "imageCacheSize": choice.size_gib}
    if choice.retention_days is not None:
        spec["retentionDays"] = choice.retention_days
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind=KIND,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={"app.kubernetes.io/managed-by": "pulumi"}),
        spec=spec,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )
