"""checkov skip annotations, each with the reason written on the object itself.

checkov (``make test`` scans every example stack's manifests) reads
``checkov.io/skipN: CHECK_ID=reason`` from an object's annotations. A skip is
added only where the condition it explains holds (an object in the
``default`` namespace, an image pinned by tag rather than digest).
"""

from __future__ import annotations

from typing import Mapping, Optional

DEFAULT_NAMESPACE_REASON = (
    "the namespace is the stack's choice (services.<name>.namespace, default 'default'); "
    "use a dedicated one in production"
)
PULL_POLICY_REASON = (
    "IfNotPresent on purpose: scale-out must not wait on the registry, and ECI image caches serve it; "
    "images are pinned (the policy pack rejects latest and untagged images)"
)
TAG_NOT_DIGEST_REASON = (
    "pinned by tag (the policy pack rejects latest and untagged images); "
    "give services.<name>.image as name@sha256:... to pin by digest"
)


def checkov_skips(namespace: Optional[str] = None, image: Optional[str] = None, pull_policy: bool = False) -> dict[str, str]:
    """The ``checkov.io/skipN`` annotations that apply to an object."""
    reasons: dict[str, str] = {}
    if namespace == "default":
        reasons["CKV_K8S_21"] = DEFAULT_NAMESPACE_REASON
    if pull_policy:
        reasons["CKV_K8S_15"] = PULL_POLICY_REASON
    if image is not None and "@sha256:" not in image:
        reasons["CKV_K8S_43"] = TAG_NOT_DIGEST_REASON
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(reasons.items()), start=1)}


def with_skips(annotations: Optional[Mapping[str, str]], **conditions: object) -> Optional[dict[str, str]]:
    """``annotations`` plus the applicable skips (None when there are none)."""
    merged = {**(annotations or {}), **checkov_skips(**conditions)}  # type: ignore[arg-type]
    return merged or None
