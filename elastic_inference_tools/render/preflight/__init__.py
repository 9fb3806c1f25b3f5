"""The preflight: what the cloud itself would refuse, or would accept and silently break.

The render judges a plan in three layers (DESIGN.md): the schemas (is each
object well-formed), this preflight (would ACK, the controllers and the
provider accept it, and would it work), and the policy pack (does the
organization allow it). Schemas check shape; each preflight check encodes a
behaviour read in the source of the thing it drives (the alicloud provider,
the OSS CSI driver and ossfs, the metrics adapter, the HPA controller, ACK's
scheduler and autoscaler) and names that source in its findings.

A check reads only the plan (``plan.json``'s ``resources`` and ``outputs``),
never the program's config or types, so it judges any Pulumi program that
the render runs, and a saved plan as well. An ``error`` stops the render
(exit 4, nothing written); a ``warning`` is printed.

Checks are registered with :func:`check`; each module of this package holds
the checks of one concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Optional

Level = Literal["error", "warning"]
EXIT_PREFLIGHT = 4
UNKNOWN, SECRET = "[unknown]", "[secret]"
#: The stack output where a program declares what the cluster must already have
#: (CRDs and add-ons it does not install itself): ``{name: why}``.
PREREQUISITES_OUTPUT = "clusterPrerequisites"
#: A program tells the render its cluster's Kubernetes version by this stack output ("1.30").
KUBERNETES_VERSION_OUTPUT = "kubernetesVersion"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    subject: str
    """What is wrong, e.g. ``Deployment inference/bert``."""
    message: str
    """What happens and how to fix it."""
    source: str
    """Where the behaviour is documented or implemented."""

    def line(self) -> str:
        return f"[{self.level}] {self.check}: {self.subject}: {self.message} (source: {self.source})"


@dataclass(frozen=True)
class Resource:
    """One resource of a plan, as ``plan.json`` records it."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    options: Mapping[str, Any]
    read: bool = False
    parent: Optional[str] = None
    """The URN of the resource's parent (a component), or None."""

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", "")) if isinstance(self.inputs, Mapping) else ""

    @property
    def k8s_name(self) -> str:
        return str(get(self.inputs, "metadata", "name") or "")

    @property
    def namespace(self) -> str:
        return str(get(self.inputs, "metadata", "namespace") or "")

    def describe(self) -> str:
        if self.type.startswith("kubernetes:") and self.kind:
            where = f"{self.namespace}/{self.k8s_name}" if self.namespace else self.k8s_name
            return f"{self.kind} {where}"
        return f"{self.type.split(':')[-1]} {self.name}"


class Plan:
    """Read-only views over a plan's resources."""

    def __init__(self, resources: Iterable[Mapping[str, Any]], outputs: Optional[Mapping[str, Any]] = None,
                 base_dir: Optional[str] = None):
        self.resources = [
            Resource(
                urn=str(r.get("urn", "")),
                type=str(r.get("type", "")),
                name=str(r.get("name", "")),
                inputs=as_map(r.get("inputs")),
                options=as_map(r.get("options")),
                read=bool(r.get("read", False)),
                parent=r["parent"] if isinstance(r.get("parent"), str) else None,
            )
            for r in resources
            if isinstance(r, Mapping)
        ]
        self.outputs = outputs if isinstance(outputs, Mapping) else {}
        #: the program's directory, which relative file paths in its inputs (an uploaded object's source) are under
        self.base_dir = base_dir or "."
        self.by_urn = {r.urn: r for r in self.resources}
        self._objects: Optional[dict[Optional[str], list[Resource]]] = None
        self._memo: dict[str, Any] = {}

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types and not r.read]

    def kubernetes(self, kind: Optional[str] = None) -> list[Resource]:
        """Kubernetes objects the stack applies (not Helm releases), optionally of one kind."""
        if self._objects is None:
            self._objects = {}
            for r in self.resources:
                if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh/") and r.kind:
                    self._objects.setdefault(None, []).append(r)
                    self._objects.setdefault(r.kind, []).append(r)
        return self._objects.get(kind, [])

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A value derived from the plan, built once per plan (pod templates, volumes) for every check."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def prerequisites(self) -> Mapping[str, Any]:
        declared = self.outputs.get(PREREQUISITES_OUTPUT)
        return declared if isinstance(declared, Mapping) else {}


CheckFn = Callable[[Plan], Iterator[Finding]]
CHECKS: dict[str, CheckFn] = {}


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check under ``name`` (the id its findings carry)."""

    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise RuntimeError(f"preflight check {name!r} is registered twice")
        CHECKS[name] = fn
        return fn

    return register


def run(resources: Iterable[Mapping[str, Any]], outputs: Optional[Mapping[str, Any]] = None,
        base_dir: Optional[str] = None) -> list[Finding]:
    """Every finding of every registered check over a plan (of the program in ``base_dir``), errors first."""
    return check_plan(Plan(resources, outputs, base_dir))


def check_plan(plan: Plan) -> list[Finding]:
    """:func:`run` over a :class:`Plan` already built (its derived views, pod templates and hosts, stay for the caller)."""
    found = [finding for fn in CHECKS.values() for finding in fn(plan)]
    return sorted(found, key=lambda f: (f.level != "error", f.check, f.subject))


# -- reading values --------------------------------------------------------------------------


def get(value: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def known(value: Any) -> bool:
    """Whether a plan value is known offline (not computed by the cloud, not a secret)."""
    if isinstance(value, str):
        return UNKNOWN not in value and value != SECRET
    return value is not None


# The checks register themselves on import.
from . import capacity, identity, ingress, lifecycle, labels, llm, prerequisites, prometheus, scaling, storage  # noqa: E402,F401
