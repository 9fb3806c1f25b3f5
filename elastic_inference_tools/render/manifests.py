"""Kubernetes manifests of a run, and their strict schema validation.

Core kinds are checked against the strict schemas that ``kubernetes-validate``
ships for the cluster's version; the CRDs this project creates
(ResourcePolicy, SeldonDeployment) against schemas kept in ``schemas/``,
which reuse the Kubernetes definitions (ObjectMeta, PodSpec). The validator is
``jsonschema-rs`` (compiled, about 40 times faster than the pure-Python
``jsonschema`` on these schemas); each schema is compiled once per process.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any, Optional

import jsonschema_rs

from .engine import SECRET, Registration

# kubernetes-validate ships no type information (no py.typed marker, and no types- stubs package
# exists): imported by name, its module is untyped here, and what is read from it is typed where read.
kv_utils = importlib.import_module("kubernetes_validate.utils")

SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "schemas")
# Pulumi types that are not one object (a Helm release is many, decided by Helm).
_NOT_MANIFESTS = ("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")
# Keys Pulumi's Kubernetes provider adds to inputs that are not part of the object.
_PROVIDER_KEYS = ("__inputs", "__initialApiVersion")


class UnsupportedVersion(ValueError):  # noqa: N818 - reads as the condition it reports
    """No schemas for this Kubernetes version."""


@dataclass
class Manifest:
    urn: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.body.get("metadata", {}).get("namespace", ""))

    @property
    def filename(self) -> str:
        # '_' appears in no Kubernetes name or namespace: the name is unambiguous.
        return f"{self.kind.lower()}_{self.namespace}_{self.name}.yaml"


def manifests(resources: list[Registration]) -> list[Manifest]:
    """The Kubernetes objects among ``resources``, in registration order."""
    out = []
    for res in resources:
        if not res.custom or not res.type.startswith("kubernetes:") or res.type.startswith(_NOT_MANIFESTS):
            continue
        body = {k: v for k, v in res.inputs.items() if k not in _PROVIDER_KEYS}
        if body.get("kind") == "Secret":
            # A Secret whose values are not known yet (e.g. an AccessKey still to be
            # created) is one opaque secret in a preview: its keys are unknown too.
            for key in ("data", "stringData"):
                if body.get(key) == SECRET:
                    body[key] = {SECRET: SECRET}
        out.append(Manifest(urn=res.urn, body=body))
    return out


def supported_versions() -> list[str]:
    versions: list[str] = kv_utils.all_versions()
    return versions


def schema_version(k8s_version: str) -> str:
    """The newest schema set not newer than ``k8s_version`` (e.g. ``1.30`` -> ``1.30.0``)."""
    wanted = tuple(int(x) for x in k8s_version.split(".")[:2])
    candidates = [v for v in supported_versions() if tuple(int(x) for x in v.split(".")[:2]) <= wanted]
    if not candidates or tuple(int(x) for x in supported_versions()[-1].split(".")[:2]) < wanted:
        raise UnsupportedVersion(
            f"no Kubernetes schemas for {k8s_version}: supported are {supported_versions()[0]} to {supported_versions()[-1]}"
        )
    return candidates[-1]


class Validator:
    """Validates manifests strictly against the schemas of one Kubernetes version.

    Use ``Validator.for_version``: it keeps one per version for the process, so
    schemas are loaded and compiled once however many stacks are rendered.
    """

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def for_version(k8s_version: str) -> "Validator":
        return Validator(k8s_version)

    def __init__(self, k8s_version: str):
        self.version = schema_version(k8s_version)
        self._dir = f"kubernetes-json-schema/v{self.version}-local-strict"
        definitions = kv_utils.schema_contents(f"{self._dir}/_definitions.json", self.version)
        self._registry = jsonschema_rs.Registry([(definitions["$id"], definitions)])

    @functools.lru_cache(maxsize=None)  # noqa: B019 - validators live for the process (for_version keeps one each)
    def _validator(self, api_version: str, kind: str) -> jsonschema_rs.Validator:
        crd = _crd_schema(api_version, kind)
        if crd is not None:
            schema = crd
        else:
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            try:
                schema = kv_utils.schema_contents(f"{self._dir}/{kind.lower()}-{group}.json", self.version)
            except FileNotFoundError:
                raise LookupError(f"no schema for {kind} {api_version} in Kubernetes {self.version} or in elastic_inference_tools/render/schemas") from None
        return jsonschema_rs.Draft202012Validator(schema, registry=self._registry)

    def errors(self, body: dict[str, Any]) -> list[str]:
        """Every schema violation of ``body``, as ``path: message`` lines."""
        try:
            validator = self._validator(str(body.get("apiVersion")), str(body.get("kind")))
        except LookupError as exc:
            return [str(exc)]
        found = []
        for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.instance_path))):
            path = ".".join(str(p) for p in err.instance_path) or "(root)"
            found.append(f"{path}: {err.message}")
        return found


@functools.lru_cache(maxsize=None)
def _crd_schema(api_version: str, kind: str) -> Optional[dict[str, Any]]:
    path = os.path.join(SCHEMA_DIR, f"{kind.lower()}-{api_version.replace('/', '-')}.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema
