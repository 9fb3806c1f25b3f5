"""Comparing two plans of a stack as a preview would: create, update, replace, delete, and why.

Replace or update follows the providers' own rules (``replacements.py``); an
input computed from a replaced resource is recomputed; ``ignoreChanges`` is
honoured; resources reached through an alias are compared as one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from ..engine import SECRET, UNKNOWN
from ..replacements import covers, replace_paths
from .model import MISSING, MODEL_DATA, Change, ResourceChange, SecureValue, StackDiff, any_leaf, has_secret
from .plans import MAX_DEPTH, deeper_than

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _SIMPLE_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _is_computed(value: Any) -> bool:
    """Holds a value only the cloud knows (``[unknown]``), or a secret that may hide one."""
    return any_leaf(value, lambda leaf: leaf in (UNKNOWN, SECRET))


def _json_text(value: Any) -> Any:
    """A string holding a JSON object or array (a RAM policy, an add-on config), parsed; else None."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return None
        return None if deeper_than(parsed, MAX_DEPTH) else parsed
    return None


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences between two plain values."""
    if before == after and type(before) is type(after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in sorted(set(before) | set(after)):
            out += changes(before.get(key, MISSING), after.get(key, MISSING), join(path, key))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += changes(b, a, join(path, i))
        return out
    parsed_before, parsed_after = _json_text(before), _json_text(after)
    if parsed_before is not None and parsed_after is not None:
        inner = changes(parsed_before, parsed_after, "")
        return [Change(f"{path}:{c.path}" if c.path else path, c.before, c.after, secret=c.secret) for c in inner]
    return [Change(path, before, after, secret=has_secret(before) or has_secret(after))]


def _ignored(path: str, ignore_changes: list[str]) -> bool:
    return any(covers(prefix, path.split(":", 1)[0]) for prefix in ignore_changes)


def _config_values(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's stack config with each secure value as a comparable ``SecureValue``."""
    values = plan.get("config") or {}
    digests = plan.get("configSecrets") or {}

    def walk(value: Any, path: str) -> Any:
        if value == SECRET:
            return SecureValue(digests.get(path))
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    return {key: walk(value, key) for key, value in values.items()}


def _config_changes(base: dict[str, Any], head: dict[str, Any]) -> list[Change]:
    before, after = _config_values(base), _config_values(head)
    out = []
    for key in sorted(set(before) | set(after)):
        for change in changes(before.get(key, MISSING), after.get(key, MISSING)):
            # Keys hold ':' (`elastic-inference:services`): they head the path as they are.
            change.path = key + (change.path if change.path.startswith("[") else f".{change.path}" if change.path else "")
            out.append(change)
    return out


def _option_changes(base: dict[str, Any], head: dict[str, Any]) -> list[Change]:
    out = []
    for key, default in (("protect", False), ("retainOnDelete", False), ("ignoreChanges", [])):
        b, a = base.get(key, default), head.get(key, default)
        if b != a:
            out.append(Change(key, b, a))
    return out


def diff_stack(name: str, base: Optional[dict[str, Any]], head: Optional[dict[str, Any]]) -> StackDiff:
    """The difference between two plans of one stack (either may be absent)."""
    status = "added" if base is None else "removed" if head is None else "changed"
    base_res = {r["urn"]: r for r in (base or {}).get("resources", [])}
    head_res = {r["urn"]: r for r in (head or {}).get("resources", [])}
    config = (head or base or {}).get("config") or {}
    result = StackDiff(stack=name, status=status)
    if base is not None and head is not None:
        result.config = _config_changes(base, head)
        result.outputs = changes(base.get("outputs") or {}, head.get("outputs") or {})

    result.moved = moved(base_res, head_res)
    for old, new in result.moved.items():
        base_res[new] = base_res.pop(old)  # compared as one resource, as the engine does
    by_urn: dict[str, ResourceChange] = {}
    for urn in sorted(set(base_res) | set(head_res)):
        b, h = base_res.get(urn), head_res.get(urn)
        res = h or b
        assert res is not None
        rc = ResourceChange(urn=urn, type=res["type"], name=res["name"], op="same")
        rc.protected = bool((b or h or {}).get("options", {}).get("protect"))
        if b is None:
            rc.op = "read" if h and h.get("read") else "create"
        elif h is None:
            rc.op = "delete"
        else:
            _compare(rc, b, h, config)
        by_urn[urn] = rc
    _cascade(by_urn, head_res, config)
    # The riskiest first: replacements and deletions, then updates, then additions.
    priority = {"replace": 0, "delete": 1, "update": 2, "create": 3, "read": 4}
    for rc in sorted(by_urn.values(), key=lambda r: (priority.get(r.op, 9), r.name, r.type)):
        if rc.op != "same":
            _annotate(rc, base_res.get(rc.urn), head_res.get(rc.urn))
            result.resources.append(rc)
    for old, new in result.moved.items():
        rc = by_urn[new]
        if rc.op != "same":
            rc.notes.append(f"moved by an alias from {_urn_tail(old)}")
    if status == "changed" and not (result.resources or result.config or result.outputs or result.moved):
        result.status = "unchanged"
    return result


def _urn_tail(urn: str) -> str:
    """``qualified-type::name`` of a URN (the URN itself when it has no such parts)."""
    parts = urn.split("::", 3)
    return "::".join(parts[2:]) if len(parts) == 4 else urn


#: aliases derived for one resource, at most (a render's resources have two or three)
MAX_ALIASES = 256


def moved(base_res: dict[str, Any], head_res: dict[str, Any]) -> dict[str, str]:
    """Base URN -> head URN for resources the head reaches by an alias.

    A resource's aliases are its own and, as the engine derives them, those
    inherited from its parent's aliases: the parent's former qualified type,
    and the child's name with the parent's former name as prefix when the
    child's name starts with the parent's name ({name}-details convention).
    """
    memo: dict[str, set[str]] = {}

    def aliases(urn: str) -> set[str]:
        if urn not in memo:
            res = head_res[urn]
            found = set((res.get("aliases") or [])[:MAX_ALIASES])
            parent = res.get("parent")
            if parent in head_res:
                parent_name = head_res[parent]["name"]
                for alias in sorted(aliases(parent)):
                    parts = alias.split("::", 3)
                    if len(found) >= MAX_ALIASES:
                        break
                    if len(parts) != 4:
                        continue  # not a URN: it names no former identity of the child
                    prefix, project, qualified, alias_name = parts
                    name = res["name"]
                    if name.startswith(parent_name):
                        name = alias_name + name[len(parent_name):]
                    found.add(f"{prefix}::{project}::{qualified}${res['type']}::{name}")
            memo[urn] = found
        return memo[urn]

    moved = {}
    for urn in head_res:
        if urn in base_res:
            continue
        for alias in sorted(aliases(urn)):
            if alias in base_res and alias not in head_res and alias not in moved:
                moved[alias] = urn
                break
    return moved


def _compare(rc: ResourceChange, b: dict[str, Any], h: dict[str, Any], config: dict[str, Any]) -> None:
    ignore = list(h.get("options", {}).get("ignoreChanges") or [])
    found = [c for c in changes(b.get("inputs", {}), h.get("inputs", {})) if not _ignored(c.path, ignore)]
    rc.options = _option_changes(b.get("options", {}), h.get("options", {}))
    if h.get("read"):
        rc.changes = found
        rc.op = "read" if found else "same"
        return
    if not h.get("custom", True):  # a component: its own inputs are not sent to any provider
        rc.op = "update" if rc.options else "same"
        return
    rules = replace_paths(rc.type, h.get("inputs", {}), config)
    for change in found:
        change.replaces = bool(rules) and any(covers(p, change.path.split(":", 1)[0]) for p in rules or ())
    rc.changes = found
    if found and rules is None:
        rc.notes.append("no replacement rule is known for this type: shown as an update; the real preview decides")
    rc.op = "replace" if any(c.replaces for c in found) else "update" if found or rc.options else "same"


def _cascade(by_urn: dict[str, ResourceChange], head_res: dict[str, dict[str, Any]], config: dict[str, Any]) -> None:
    """Inputs computed from a replaced (or re-created) resource change too, as in a preview."""
    changed = True
    while changed:
        changed = False
        renewed = {urn for urn, rc in by_urn.items() if rc.op in ("replace",)}
        for urn, rc in by_urn.items():
            h = head_res.get(urn)
            if h is None or rc.op in ("create", "delete", "replace", "read") or not h.get("custom", True):
                continue
            rules = replace_paths(rc.type, h.get("inputs", {}), config) or ()
            for prop, sources in sorted((h.get("propertyDependencies") or {}).items()):
                source = next((s for s in sources if s in renewed), None)
                value = h.get("inputs", {}).get(prop, MISSING)
                if source is None or value is MISSING or not _is_computed(value):
                    continue
                if any(c.path == prop or covers(prop, c.path) for c in rc.changes):
                    continue
                rc.changes.append(
                    Change(prop, value, UNKNOWN, replaces=any(covers(p, prop) or covers(prop, p) for p in rules),
                           secret=has_secret(value), via=by_urn[source].name)
                )
                rc.op = "replace" if any(c.replaces for c in rc.changes) else "update"
                changed = True


INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def _annotate(rc: ResourceChange, b: Optional[dict[str, Any]], h: Optional[dict[str, Any]]) -> None:
    retain = bool((b or {}).get("options", {}).get("retainOnDelete"))
    if rc.protected and rc.op in ("replace", "delete"):
        rc.notes.insert(0, "protected: `pulumi up` refuses to " + ("replace" if rc.op == "replace" else "delete")
                        + " it until `protect` is turned off in a separate update")
    elif rc.protected and rc.op == "update":
        rc.notes.insert(0, "protected resource (updates are allowed)")
    if retain and rc.op in ("replace", "delete"):
        rc.notes.append("retainOnDelete: the old cloud resource is left in place, not deleted")
    if rc.type in MODEL_DATA and rc.op in ("replace", "delete"):
        rc.notes.insert(0, "model data or a bucket protection: deleting it is not undone by the next `pulumi up`")
    if rc.op == "replace" and rc.type.startswith("kubernetes:") and not rc.type.startswith("kubernetes:helm.sh/"):
        rc.notes.append("explicit metadata.name: the provider deletes the object before creating its replacement")
    if rc.type == INGRESS and rc.op == "update" and any(c.path == "spec.ingressClassName" for c in rc.changes):
        rc.notes.insert(0, "moves to another ingress class: once applied, another controller serves its hosts at another "
                           "address (an ALB's DNS name, or the NGINX SLB's IP); point DNS at the new one (README "
                           "'Moving a service from NGINX to ALB Ingress')")


def diff_plans(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[StackDiff]:
    return [diff_stack(name, base.get(name), head.get(name)) for name in sorted(set(base) | set(head))]
