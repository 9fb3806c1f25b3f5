"""RAM roles that RAM would refuse to issue credentials for."""

from __future__ import annotations

import json
from typing import Any, Iterator

from . import Finding, Plan, as_list, as_map, check

SOURCE = ("RAM docs 'Create a RAM role for a trusted IdP' (OIDC trust policies must state oidc:iss, oidc:aud and oidc:sub); "
          "ACK 'Use RRSA to authorize different pods to access different cloud services'")
OIDC_KEYS = ("oidc:iss", "oidc:aud", "oidc:sub")


def _federated(statement: dict[str, Any]) -> list[Any]:
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
            conditions = as_map(as_map(statement.get("Condition")).get("StringEquals"))
            missing = [k for k in OIDC_KEYS if k not in conditions]
            if missing:
                yield Finding("oidc-trust-policy", "error", role.describe(),
                              f"Statement[{i}] trusts an OIDC provider without {', '.join(missing)} in StringEquals: "
                              "RAM requires them for an OIDC trust; take the issuer URL from the cluster's RRSA metadata", SOURCE)
