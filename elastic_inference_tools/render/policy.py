"""Running the program's CrossGuard policy pack over a render, as ``pulumi preview --policy-pack`` would.

Every render runs the built-in pack, ``elastic_inference_tools/policy/policies.py``
(its ``POLICIES`` list), on any program: the guardrails are not
optional. A program adds policies of its own in ``<program>/policy/policies.py``;
one named like a built-in policy is refused rather than let it replace it.
Per-stack settings come from
``<program>/policy/stacks/<stack>.json``, the file given to the CLI with
``--policy-pack-config``: ``{"<policy>": "advisory"}`` or
``{"<policy>": {"enforcementLevel": "advisory"}}``, and ``"all"`` for every
policy. Policies see each resource's inputs as recorded in the plan.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

from .engine import Registration

POLICY_DIR = "policy"
_LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PolicyConfigError(ValueError):
    """A per-stack policy settings file that cannot be used."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # "mandatory" | "advisory"
    message: str
    urn: Optional[str] = None
    type: Optional[str] = None
    name: Optional[str] = None

    def line(self) -> str:
        where = f"{self.type} {self.name}: " if self.type else ""
        return f"[{self.level}] {self.policy}: {where}{self.message}"


#: The pack every render runs: this project's guardrails.
BUILTIN_PACK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), POLICY_DIR, "policies.py")


def load_policies(program_dir: str) -> list[Any]:
    """The built-in ``POLICIES``, then the program's own (``<program>/policy/policies.py``) when it has a pack
    of its own; :class:`PolicyConfigError` when one of those is named like a built-in.

    The built-in policies always run. A program's ``policies.py`` that is this pack (its ``PACK_NAME``) is
    an earlier checkout of this project, from when the pack lived there (a pull request's base rendered by
    the head's render): its policies named like built-in ones are its older versions of them and give way;
    any other it has is added.
    """
    builtin = _pack(BUILTIN_PACK)
    own = os.path.join(program_dir, POLICY_DIR, "policies.py")
    if not os.path.isfile(own):
        return list(builtin.POLICIES)
    program = _pack(own)
    names = {p.name for p in builtin.POLICIES}
    if getattr(program, "PACK_NAME", None) == builtin.PACK_NAME:
        return [*builtin.POLICIES, *(p for p in program.POLICIES if p.name not in names)]
    clash = sorted(p.name for p in program.POLICIES if p.name in names)
    if clash:
        raise PolicyConfigError(f"{own}: {clash[0]} is a built-in policy: name yours otherwise (a program adds policies, and sets "
                                f"their levels in {POLICY_DIR}/stacks/<stack>.json; it does not replace them)")
    return [*builtin.POLICIES, *program.POLICIES]


def _pack(path: str) -> Any:
    """The pack file ``path``, imported (its ``POLICIES``, its ``PACK_NAME`` if it is this pack)."""
    # One module per pack file and content: another checkout, or an edited pack, runs its own policies.
    with open(path, "rb") as fh:
        digest = hashlib.sha256(os.path.realpath(path).encode() + b"\0" + fh.read()).hexdigest()[:16]
    name = "_render_policies_" + digest
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def stack_levels(program_dir: str, stack: str) -> dict[str, str]:
    """``policy -> level`` overrides for ``stack`` (empty when it has no settings file)."""
    path = os.path.join(program_dir, POLICY_DIR, "stacks", f"{stack}.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PolicyConfigError(f"{path}: not a JSON policy settings file: {exc}") from None
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"{path}: must be an object of policy name -> settings")
    levels = {}
    for policy, settings in raw.items():
        level = settings.get("enforcementLevel") if isinstance(settings, dict) else settings
        if level is None and isinstance(settings, dict):
            continue  # settings without a level: the policy's own
        if level not in _LEVELS:
            raise PolicyConfigError(f"{path}: {policy}: enforcementLevel must be one of {', '.join(_LEVELS)}")
        levels[policy] = level
    return levels


def check(policies: list[Any], resources: list[Registration], levels: dict[str, str]) -> list[Violation]:
    """Every violation of ``policies`` by ``resources`` (policies disabled by ``levels`` skipped)."""
    from pulumi_policy import (  # noqa: PLC0415 - only when the program has a pack
        PolicyCustomTimeouts,
        PolicyResource,
        PolicyResourceOptions,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
    )

    def options(r: Registration) -> Any:
        return PolicyResourceOptions(
            protect=r.protect, ignore_changes=list(r.ignore_changes), delete_before_replace=None, aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=r.parent,
        )

    found: list[Violation] = []
    by_urn = {r.urn: r for r in resources}
    stack_resources: dict[str, Any] = {}
    for r in resources:
        stack_resources[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, options(r), None, None, [], {})
    for r in resources:
        res = stack_resources[r.urn]
        res.parent = stack_resources.get(r.parent or "")
        res.dependencies = [stack_resources[u] for u in r.depends_on if u in stack_resources]
        res.property_dependencies = {p: [stack_resources[u] for u in us if u in stack_resources] for p, us in r.property_dependencies.items()}

    resource_args = [(r, ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, options(r), None)) for r in resources]
    for policy in policies:
        level = levels.get(policy.name) or levels.get("all") or (policy.enforcement_level.value if policy.enforcement_level else "advisory")
        if level == "disabled":
            continue
        level = "mandatory" if level in ("mandatory", "remediate") else "advisory"

        def report(message: str, urn: Optional[str] = None, _policy: Any = policy, _level: str = level, _default: Any = None) -> None:
            target = by_urn.get(urn or "") or _default
            found.append(Violation(_policy.name, _level, message, urn or (target.urn if target else None),
                                   target.type if target else None, target.name if target else None))

        if isinstance(policy, ResourceValidationPolicy):
            for r, args in resource_args:
                _call(policy.validate, args, lambda m, u=None, _r=r: report(m, u, _default=_r))
        else:
            _call(policy.validate, StackValidationArgs(list(stack_resources.values())), report)
    return found


def _call(validate: Any, args: Any, report: Any) -> None:
    result = validate(args, report)
    if inspect.isawaitable(result):
        import asyncio  # noqa: PLC0415

        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable
