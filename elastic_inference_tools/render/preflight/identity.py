"""RAM roles that RAM would refuse to issue credentials for."""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from . import Finding, Plan, as_list, as_map, check

SOURCE = ("RAM docs 'Create a RAM role for a trusted IdP' (oidc:iss and oidc:aud, StringEquals); ACK 'Use RRSA to authorize "
          "different pods to access different cloud services' (oidc:sub, added by hand); AliyunContainerService/ack-ram-tool "
          "pkg/types/ram.go (oidc:sub under StringEquals, or StringLike with a wildcard)")
REQUIRED = ("oidc:iss", "oidc:aud")


def _federated(statement: Mapping[str, Any]) -> list[Any]:
    principal = as_map(statement.get("Principal")).get("Federated")
    return principal if isinstance(principal, list) else [principal] if principal else []


@check("oidc-trust-policy")
def oidc_trust_policy(plan: Plan) -> Iterator[Finding]:
    for role in plan.of_type("alicloud:ram/role:Role"):
        text = role.inputs.get("assumeRolePolicyDocument")
        if not isinstance(text, str):
            continue
        try:  # parseable even with a cloud-computed account id inside ("[unknown]")
            document = json.loads(text)
        except ValueError:
            continue
        for i, statement in enumerate(as_list(as_map(document).get("Statement"))):
            statement = as_map(statement)
            if not any("oidc-provider/" in str(p) for p in _federated(statement)):
                continue
            condition = as_map(statement.get("Condition"))
            equals, like = as_map(condition.get("StringEquals")), as_map(condition.get("StringLike"))
            missing = [k for k in REQUIRED if k not in equals]
            if missing:
                yield Finding("oidc-trust-policy", "error", role.describe(),
                              f"Statement[{i}] trusts an OIDC provider without {', '.join(missing)} in StringEquals: RAM requires "
                              "them for an OIDC trust; take the issuer URL from the cluster's RRSA metadata", SOURCE)
            if "oidc:sub" not in equals and "oidc:sub" not in like:
                yield Finding("oidc-trust-policy", "warning", role.describe(),
                              f"Statement[{i}] names no oidc:sub: every service account of the cluster may assume the role; "
                              "name the one that needs it", SOURCE)
