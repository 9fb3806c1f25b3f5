"""Loading render outputs for ``render diff``: every ``plan.json`` of a directory, its shape checked before anything compares it."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional


class DiffInputError(Exception):
    """A render output that cannot be compared."""


#: a plan larger than this is not a render output (the example stacks' plans are under 100 KB)
MAX_PLAN_BYTES = 64 * 1024 * 1024
#: values nested deeper than this are refused (a render's plan nests about 16 levels)
MAX_DEPTH = 100
#: resource parents chained deeper than this are refused (a render's chain is under 5)
MAX_PARENTS = 64


def load_plans(directory: str) -> dict[str, dict[str, Any]]:
    """``stack -> plan`` from a render output directory, or a directory of them."""
    if not os.path.isdir(directory):
        raise DiffInputError(f"{directory}: no such directory")
    try:
        if os.path.isfile(os.path.join(directory, "plan.json")):
            paths = [os.path.join(directory, "plan.json")]
        else:
            paths = sorted(
                os.path.join(directory, entry, "plan.json")
                for entry in os.listdir(directory)
                if os.path.isfile(os.path.join(directory, entry, "plan.json"))
            )
    except OSError as exc:
        raise DiffInputError(f"{directory}: cannot list it: {exc.strerror}") from None
    if not paths:
        raise DiffInputError(f"{directory}: no plan.json in it or in its subdirectories (render with `elastic-inference render STACK --out DIR`)")
    plans: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for path in paths:
        plan = _read_plan(path)
        if plan["stack"] in plans:
            raise DiffInputError(f"{path}: the same stack as {where[plan['stack']]}")
        plans[plan["stack"]] = plan
        where[plan["stack"]] = path
    return plans


def has_plans(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "plan.json")) or any(
        os.path.isfile(os.path.join(directory, entry, "plan.json")) for entry in os.listdir(directory))


def _read_plan(path: str) -> dict[str, Any]:
    """A plan file, checked: every malformed input is a ``DiffInputError`` naming the file and the fault.

    The messages name places (``resources[3].options.protect``), never the values found there.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_PLAN_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise DiffInputError(f"{path}: cannot read: {reason}") from None
    if len(text) > MAX_PLAN_BYTES:
        raise DiffInputError(f"{path}: larger than {MAX_PLAN_BYTES // 2**20} MiB: not a render plan")
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DiffInputError(f"{path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise DiffInputError(f"{path}: not a render plan: nested too deeply") from None
    except ValueError as exc:  # an integer of too many digits
        raise DiffInputError(f"{path}: not JSON that can be read: {type(exc).__name__}") from None
    problem = _plan_problem(plan)
    if problem:
        raise DiffInputError(f"{path}: not a render plan: {problem}")
    checked: dict[str, Any] = plan
    return checked


def deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` lists or objects (without recursing)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_OPTION_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "protect": (lambda v: isinstance(v, bool), "true or false"),
    "retainOnDelete": (lambda v: isinstance(v, bool), "true or false"),
    "ignoreChanges": (lambda v: v is None or _strings(v), "a list of strings"),
    "dependsOn": (lambda v: v is None or _strings(v), "a list of strings"),
}
_RESOURCE_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "aliases": (lambda v: v is None or _strings(v), "a list of strings"),
    "parent": (lambda v: v is None or isinstance(v, str), "a string"),
    "propertyDependencies": (
        lambda v: v is None or (isinstance(v, dict) and all(_strings(s) for s in v.values())),
        "an object of lists of strings",
    ),
    "custom": (lambda v: isinstance(v, bool), "true or false"),
    "read": (lambda v: isinstance(v, bool), "true or false"),
}


def _plan_problem(plan: Any) -> Optional[str]:
    """What makes ``plan`` unusable for a diff, or None."""
    if not isinstance(plan, dict):
        return "the file must hold a JSON object"
    if deeper_than(plan, MAX_DEPTH):
        return f"nested deeper than {MAX_DEPTH} levels"
    if not isinstance(plan.get("stack"), str) or not plan["stack"]:
        return "'stack' must be a non-empty string"
    if not isinstance(plan.get("resources"), list):
        return "'resources' must be a list"
    for key in ("config", "configSecrets", "outputs"):
        if plan.get(key) is not None and not isinstance(plan[key], dict):
            return f"'{key}' must be an object"
    if not all(isinstance(v, str) for v in (plan.get("configSecrets") or {}).values()):
        return "'configSecrets' must map settings to strings"
    urns: dict[str, int] = {}
    for i, res in enumerate(plan["resources"]):
        where = f"resources[{i}]"
        if not isinstance(res, dict):
            return f"{where} must be an object"
        for key in ("urn", "type", "name"):
            if not isinstance(res.get(key), str) or not res[key]:
                return f"{where}.{key} must be a non-empty string"
        for key in ("inputs", "options"):
            if not isinstance(res.get(key), dict):
                return f"{where}.{key} must be an object"
        for key, (valid, what) in _RESOURCE_TYPES.items():
            if key in res and not valid(res[key]):
                return f"{where}.{key} must be {what}"
        for key, (valid, what) in _OPTION_TYPES.items():
            if key in res["options"] and not valid(res["options"][key]):
                return f"{where}.options.{key} must be {what}"
        if res["urn"] in urns:
            return f"{where}.urn is also the urn of resources[{urns[res['urn']]}]"
        urns[res["urn"]] = i
    parents = {res["urn"]: res.get("parent") for res in plan["resources"]}
    for i, res in enumerate(plan["resources"]):
        seen, urn = {res["urn"]}, parents[res["urn"]]
        while urn in parents:
            if urn in seen:
                return f"resources[{i}].parent: the resource is its own ancestor"
            if len(seen) > MAX_PARENTS:
                return f"resources[{i}].parent: more than {MAX_PARENTS} ancestors"
            seen.add(urn)
            urn = parents[urn]
    return None
