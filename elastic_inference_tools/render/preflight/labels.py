"""Label keys and values the API server (or a controller, at run time) would refuse.

The strict schemas type a label as a string of any length; the API server
checks it on apply (``metav1validation.ValidateLabels``), and a selector label
is parsed again every time a controller uses it: the HPA controller parses an
External metric's selector on each sync (``metav1.LabelSelectorAsSelector``)
and stops scaling when a value is invalid, long after the apply succeeded.
That is how an ``sls.ingress.route`` over 63 characters breaks an HPA.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from . import Finding, Plan, Resource, as_list, as_map, check, known

SOURCE = ("kubernetes apimachinery pkg/util/validation/validation.go (IsQualifiedName, IsValidLabelValue: "
          "at most 63 characters, alphanumerics, '-', '_', '.', alphanumeric at both ends)")
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _PREFIX.match(prefix)):
        return "its prefix is not a DNS subdomain of at most 253 characters"
    if not name or len(name) > 63 or not _NAME.match(name):
        return "its name part must be 1-63 alphanumerics, '-', '_' or '.', alphanumeric at both ends"
    return None


def value_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "is not a string"
    if len(value) > 63:
        return f"is {len(value)} characters long, over 63"
    if not _VALUE.match(value):
        return "must be alphanumerics, '-', '_' or '.', alphanumeric at both ends"
    return None


# Where Kubernetes labels are (and nowhere else: a PrometheusRule's rules[].labels, say, are not
# Kubernetes labels): any object's metadata.labels (pod templates and Seldon's componentSpecs
# included), label selectors' matchLabels, nodeSelector, a ResourcePolicy unit's podLabels, and
# the plain selector maps of a Service and a ResourcePolicy.
_FLAT_SELECTORS = ("Service", "ResourcePolicy", "ReplicationController")


def _label_maps(value: Any, path: str, kind: str, parent: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, dict) and (
                (key == "labels" and parent == "metadata")
                or key in ("matchLabels", "nodeSelector")
                or (key == "podLabels" and kind == "ResourcePolicy")
                or (key == "selector" and path == "spec" and kind in _FLAT_SELECTORS and _flat(item))
            ):
                yield where, item
            else:
                yield from _label_maps(item, where, kind, str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _label_maps(item, f"{path}[{i}]", kind, parent)


def _flat(mapping: dict[str, Any]) -> bool:
    return bool(mapping) and all(isinstance(v, str) for v in mapping.values())


def _expressions(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "matchExpressions":
                for i, expr in enumerate(as_list(item)):
                    expr = as_map(expr)
                    for j, val in enumerate(as_list(expr.get("values"))):
                        yield f"{where}[{i}].values[{j}]", val
            else:
                yield from _expressions(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(item, f"{path}[{i}]")


@check("valid-labels")
def valid_labels(plan: Plan) -> Iterator[Finding]:
    for obj in plan.kubernetes():
        yield from _object_labels(obj)


def _object_labels(obj: Resource) -> Iterator[Finding]:
    body = {k: v for k, v in obj.inputs.items() if k not in ("apiVersion", "kind")}
    for path, labels in _label_maps(body, "", obj.kind):
        for key, value in labels.items():
            if not known(key) or not known(value):
                continue
            problem = key_problem(str(key))
            if problem:
                yield Finding("valid-labels", "error", obj.describe(), f"{path}: label key {key!r}: {problem}", SOURCE)
            problem = value_problem(value)
            if problem:
                yield Finding("valid-labels", "error", obj.describe(),
                              f"{path}.{key}: the label value {problem}; shorten the name it is derived from", SOURCE)
    for path, value in _expressions(body, ""):
        if known(value) and value_problem(value):
            yield Finding("valid-labels", "error", obj.describe(), f"{path}: the label value {value_problem(value)}", SOURCE)
