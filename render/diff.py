"""``python -m render diff BASE_DIR HEAD_DIR [--json]``: what a change would do, offline.

Compares two render outputs (a ``plan.json`` directory, or a directory of them,
one per stack) and reports per stack the resources to create, update, replace
and delete, with property-level before/after. It flags what the providers
replace rather than update (see ``replacements.py``) and changes that touch
protected resources. Secrets are never shown: a secret is "changed" or not,
told by the digest of its ``secure:`` ciphertext.

Exit codes: 0 the diff was produced (changes or not); 2 an input is unusable.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Sequence

from .engine import SECRET, UNKNOWN
from .replacements import covers, replace_paths

EXIT_OK, EXIT_UNUSABLE = 0, 2
MARKER = "<!-- elastic-inference:offline-diff -->"
# Deleting one of these loses served model data or a bucket's protection: flagged like a protected resource.
MODEL_DATA = (
    "alicloud:oss/bucketObject:BucketObject",
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "alicloud:oss/bucketVersioning:BucketVersioning",
    "alicloud:oss/bucketAcl:BucketAcl",
)
_MISSING: Any = object()
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_OPS = ("create", "update", "replace", "delete", "read")
_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "read": "="}


class DiffInputError(Exception):
    """A render output that cannot be compared."""


@dataclass
class Change:
    path: str
    before: Any
    after: Any
    replaces: bool = False
    secret: bool = False
    #: set when the value changes because a resource it is computed from is replaced
    via: Optional[str] = None


@dataclass
class ResourceChange:
    urn: str
    type: str
    name: str
    op: str
    changes: list[Change] = field(default_factory=list)
    options: list[Change] = field(default_factory=list)
    protected: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class StackDiff:
    stack: str
    status: str  # changed | unchanged | added | removed
    config: list[Change] = field(default_factory=list)
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[Change] = field(default_factory=list)
    #: base URN -> head URN of resources moved or renamed under an alias
    moved: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {op: sum(1 for r in self.resources if r.op == op) for op in _OPS}


# -- loading ---------------------------------------------------------------------------------

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
        raise DiffInputError(f"{directory}: no plan.json in it or in its subdirectories (render with `python -m render STACK --out DIR`)")
    plans: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for path in paths:
        plan = _read_plan(path)
        if plan["stack"] in plans:
            raise DiffInputError(f"{path}: the same stack as {where[plan['stack']]}")
        plans[plan["stack"]] = plan
        where[plan["stack"]] = path
    return plans


def _has_plans(directory: str) -> bool:
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
    return plan  # type: ignore[no-any-return]


def _deeper_than(value: Any, limit: int) -> bool:
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
    if _deeper_than(plan, MAX_DEPTH):
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


# -- comparing -------------------------------------------------------------------------------


class _Secret:
    """A secure config value: equal to another when their ciphertexts' digests are equal."""

    def __init__(self, digest: Optional[str]):
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secret) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


def join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _SIMPLE_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _any_leaf(value: Any, test: Callable[[Any], bool]) -> bool:
    if isinstance(value, dict):
        return any(_any_leaf(v, test) for v in value.values())
    if isinstance(value, list):
        return any(_any_leaf(v, test) for v in value)
    return test(value)


def _has_secret(value: Any) -> bool:
    return _any_leaf(value, lambda leaf: leaf == SECRET or isinstance(leaf, _Secret))


def _is_computed(value: Any) -> bool:
    """Holds a value only the cloud knows (``[unknown]``), or a secret that may hide one."""
    return _any_leaf(value, lambda leaf: leaf in (UNKNOWN, SECRET))


def _json_text(value: Any) -> Any:
    """A string holding a JSON object or array (a RAM policy, an add-on config), parsed; else None."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return None
        return None if _deeper_than(parsed, MAX_DEPTH) else parsed
    return None


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences between two plain values."""
    if before == after and type(before) is type(after):
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in sorted(set(before) | set(after)):
            out += changes(before.get(key, _MISSING), after.get(key, _MISSING), join(path, key))
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
    return [Change(path, before, after, secret=_has_secret(before) or _has_secret(after))]


def _ignored(path: str, ignore_changes: list[str]) -> bool:
    return any(covers(prefix, path.split(":", 1)[0]) for prefix in ignore_changes)


def _config_values(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's stack config with each secure value as a comparable ``_Secret``."""
    values = plan.get("config") or {}
    digests = plan.get("configSecrets") or {}

    def walk(value: Any, path: str) -> Any:
        if value == SECRET:
            return _Secret(digests.get(path))
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
        for change in changes(before.get(key, _MISSING), after.get(key, _MISSING)):
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

    result.moved = _moved(base_res, head_res)
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


def _moved(base_res: dict[str, Any], head_res: dict[str, Any]) -> dict[str, str]:
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
                value = h.get("inputs", {}).get(prop, _MISSING)
                if source is None or value is _MISSING or not _is_computed(value):
                    continue
                if any(c.path == prop or covers(prop, c.path) for c in rc.changes):
                    continue
                rc.changes.append(
                    Change(prop, value, UNKNOWN, replaces=any(covers(p, prop) or covers(prop, p) for p in rules),
                           secret=_has_secret(value), via=by_urn[source].name)
                )
                rc.op = "replace" if any(c.replaces for c in rc.changes) else "update"
                changed = True


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


def diff_plans(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[StackDiff]:
    return [diff_stack(name, base.get(name), head.get(name)) for name in sorted(set(base) | set(head))]


# -- reporting -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, _Secret):
        return SECRET
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _change_json(change: Change) -> dict[str, Any]:
    out = asdict(change)
    out["before"], out["after"] = _plain(change.before), _plain(change.after)
    out["added"], out["removed"] = change.before is _MISSING, change.after is _MISSING
    if change.secret:
        out["before"] = SECRET if _has_secret(change.before) else out["before"]
        out["after"] = SECRET if _has_secret(change.after) else out["after"]
    return out


def to_json(diffs: list[StackDiff]) -> dict[str, Any]:
    return {
        "stacks": [
            {
                "stack": d.stack,
                "status": d.status,
                "summary": d.counts(),
                "config": [_change_json(c) for c in d.config],
                "resources": [
                    {
                        "urn": r.urn,
                        "type": r.type,
                        "name": r.name,
                        "op": r.op,
                        "protected": r.protected,
                        "changes": [_change_json(c) for c in r.changes],
                        "options": [_change_json(c) for c in r.options],
                        "notes": r.notes,
                    }
                    for r in d.resources
                ],
                "outputs": [_change_json(c) for c in d.outputs],
                "moved": [{"from": old, "to": new} for old, new in sorted(d.moved.items())],
            }
            for d in diffs
        ]
    }


def _short(value: Any, limit: int = 80) -> str:
    if value is _MISSING:
        return "(none)"
    if isinstance(value, _Secret) or value == SECRET:
        return SECRET
    text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What a comment may show of a user-given string as it is; everything else becomes an HTML entity,
# so that no key, name or value can open a comment (<!--), a fence, a link ([...](...)), a table,
# strikethrough, math ($) or an @mention.
_SAFE = re.compile(r"[A-Za-z0-9 ._:/,=+{}()'\"%^;?-]")


def escape(text: Any) -> str:
    """``text`` for a Markdown comment: every character that Markdown or HTML could act on as an entity."""
    return "".join(c if _SAFE.match(c) else "↵" if c == "\n" else f"&#{ord(c)};" for c in str(text))


def _text(text: Any) -> str:
    """``text`` escaped for running text: GitHub links an @mention in text after decoding ``&#64;``,
    so a word joiner follows each ``@`` (in ``<code>`` no mention is linked)."""
    return escape(text).replace("&#64;", "&#64;&#8288;")


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


# In a <pre> block (raw HTML: no Markdown, no mention) only HTML's own characters need entities;
# backticks and @ become entities too, so that the comment's text holds no fence or mention at all.
_PRE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "&#96;", "@": "&#64;"}


def _pre_line(line: str) -> str:
    return "".join(_PRE.get(c, c) if c == "\t" or c.isprintable() else f"&#{ord(c)};" for c in line)


def pre(lines: list[str]) -> list[str]:
    """``lines`` shown as they are, in a ``<pre>`` block they cannot close or escape."""
    return ["<pre>", *(_pre_line(line) for line in lines), "</pre>"]


def _fence_safe(line: str) -> bool:
    return not any(c in "`<>@&" or not (c == "\t" or c.isprintable()) for c in line)


def fenced(lines: list[str], info: str = "") -> list[str]:
    """A fenced block longer than any run of backticks in ``lines`` (which then cannot close it)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *lines, fence]


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value)


def _change_lines(change: Change) -> list[str]:
    if change.via:
        what = "[secret] recomputed" if change.secret else "recomputed"
        line = f"  - {_code(change.path)}: {what}, since {_code(change.via)} is replaced"
    elif change.secret:
        if change.before is _MISSING:
            text = "secret added"
        elif change.after is _MISSING:
            text = "secret removed"
        else:
            text = "[secret] changed (value not shown)"
        line = f"  - {_code(change.path)}: {text}"
    elif isinstance(change.before, str) and isinstance(change.after, str) and "\n" in change.before + change.after:
        diff = difflib.unified_diff(change.before.splitlines(), change.after.splitlines(), lineterm="", n=1)
        body = [line for line in diff if not line.startswith(("---", "+++"))]
        # A fence colours the diff; lines that carry HTML, fences or mentions go in a <pre> instead.
        user_lines = [line for line in body if not line.startswith("@@")]
        block = fenced(body, "diff") if all(_fence_safe(line) for line in user_lines) else pre(body)
        return [f"  - {_code(change.path)}:", *("    " + line for line in block)] + (
            ["    **forces replacement**"] if change.replaces else []
        )
    elif _scalars(change.before) and _scalars(change.after):
        added = [v for v in change.after if v not in change.before]
        removed = [v for v in change.before if v not in change.after]
        words = [f"added {_code(_short(v))}" for v in added] + [f"removed {_code(_short(v))}" for v in removed]
        line = f"  - {_code(change.path)}: " + (", ".join(words) or "reordered")
    else:
        line = f"  - {_code(change.path)}: {_code(_short(change.before))} → {_code(_short(change.after))}"
    return [line + (" **(forces replacement)**" if change.replaces else "")]


def _summary(d: StackDiff) -> str:
    counts = d.counts()
    parts = [f"{counts[op]} to {op}" for op in _OPS if counts[op]]
    if d.config:
        parts.append(f"{len(d.config)} setting{'s' if len(d.config) != 1 else ''} changed")
    if d.outputs and not counts["create"] and not counts["delete"]:
        parts.append("outputs changed")
    if d.moved:
        parts.append(f"{len(d.moved)} moved by alias")
    return ", ".join(parts) or "no resource changes"


def to_markdown(diffs: list[StackDiff], max_chars: int = 60000) -> str:
    """A PR comment: one line per unchanged stack, details for the others (shortened to fit)."""
    for details in (True, False):
        text = _markdown(diffs, details)
        if len(text) <= max_chars:
            return text
    cut = text[: max_chars - 200].rsplit("\n", 1)[0]
    return cut + "\n\n… the diff is too long for one comment: see the job's `offline-diff` artifact for all of it.\n"


def _markdown(diffs: list[StackDiff], details: bool) -> str:
    lines = [MARKER, "### Offline preview diff", ""]
    lines.append("Rendered without credentials by `python -m render`; the real `pulumi preview` remains the authority.")
    lines.append("")
    for d in diffs:
        if d.status == "unchanged":
            lines.append(f"- **{_text(d.stack)}**: no changes.")
    for d in diffs:
        if d.status == "unchanged":
            continue
        label = {"added": " (new stack)", "removed": " (stack removed)"}.get(d.status, "")
        lines += ["", f"#### {_text(d.stack)}{label}: {_summary(d)}", ""]
        lost = [r.name for r in d.resources if r.type in MODEL_DATA and r.op in ("replace", "delete")]
        if lost:
            lines += [
                "> [!CAUTION]",
                "> Model data or a bucket's protections would be deleted (uploaded objects, encryption, public-access "
                "block, versioning, ACL): " + ", ".join(_code(n) for n in lost),
                "",
            ]
        blocked = [r.name for r in d.resources if r.protected and r.op in ("replace", "delete")]
        if blocked:
            lines += [
                "> [!WARNING]",
                "> Protected resources would be replaced or deleted; `pulumi up` will refuse: "
                + ", ".join(_code(n) for n in blocked),
                "",
            ]
        if d.config:
            lines.append("Settings:")
            lines += [line for c in d.config for line in _change_lines(c)]
            lines.append("")
        for r in d.resources:
            head = f"- `{_SYMBOL[r.op]}` **{r.op}** {_code(r.name)} ({_code(r.type)})"
            if r.notes:
                head += " — " + "; ".join(_text(n).replace("&#96;", "`") for n in r.notes)
            lines.append(head)
            if details:
                for c in r.changes:
                    lines += _change_lines(c)
                for c in r.options:
                    lines.append(f"  - option {_code(c.path)}: {_code(_short(c.before))} → {_code(_short(c.after))}")
        if d.moved:
            unchanged = sum(1 for new in d.moved.values() if new not in {r.urn for r in d.resources})
            lines += ["", f"{len(d.moved)} resource(s) keep their identity under a new URN through aliases "
                          f"({unchanged} of them without any other change): no replacement."]
        if d.outputs and details:
            lines += ["", "Stack outputs:"]
            lines += [line for c in d.outputs for line in _change_lines(c)]
    return "\n".join(lines).rstrip() + "\n"


def failed_render_comment(log: str, max_lines: int = 200) -> str:
    """The PR comment when the head does not render: the end of the render's log, escaped in a
    ``<pre>`` block (the log may carry text from the PR's stack files: no HTML, fence, link or mention)."""
    lines = log.splitlines()
    if len(lines) > max_lines:
        lines = [f"... {len(lines) - max_lines} earlier lines in the job's log"] + lines[-max_lines:]
    return "\n".join([MARKER, "### Offline preview diff", "", "The head does not render; fix it first:", "",
                      *pre([line[:500] for line in lines])]) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m render diff",
        description="Compare two offline renders: per stack, what would be created, updated, replaced and deleted.",
    )
    parser.add_argument("base", nargs="?", help="render output of the base: a plan.json directory, or a directory of them (one per stack)")
    parser.add_argument("head", nargs="?", help="render output of the head, in the same form")
    parser.add_argument("--json", action="store_true", help="print JSON for machines instead of Markdown")
    parser.add_argument("--base-may-be-empty", action="store_true",
                        help="a BASE with no plan at all (no stack rendered at the base) counts as no stacks: all are new")
    parser.add_argument("--failed-log", metavar="LOG", help="instead: the comment for a head that does not render, with its render log")
    args = parser.parse_args(argv)
    if args.failed_log:
        try:
            with open(args.failed_log, encoding="utf-8", errors="replace") as fh:
                log = fh.read()
        except OSError:
            log = "(the render left no log)"
        sys.stdout.write(failed_render_comment(log))
        return EXIT_OK
    if not args.base or not args.head:
        parser.error("give BASE and HEAD, or --failed-log LOG")
    try:
        empty = args.base_may_be_empty and (not os.path.isdir(args.base) or not _has_plans(args.base))
        base, head = ({} if empty else load_plans(args.base)), load_plans(args.head)
    except DiffInputError as exc:
        print(f"render diff: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        diffs = diff_plans(base, head)
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:
        print(f"render diff: the plans could not be compared ({type(exc).__name__}); are both written by `python -m render`?",
              file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        json.dump(to_json(diffs), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_markdown(diffs))
    return EXIT_OK
