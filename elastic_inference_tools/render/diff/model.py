"""What ``render diff`` finds: the changes of each stack, as the comparison builds them and the reports show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..engine import SECRET

# Deleting one of these loses served model data or a bucket's protection: flagged like a protected resource.
MODEL_DATA = (
    "alicloud:oss/bucketObject:BucketObject",
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "alicloud:oss/bucketVersioning:BucketVersioning",
    "alicloud:oss/bucketAcl:BucketAcl",
)
MISSING: Any = object()
#: the operations on a resource, in the order reports count them
OPS = ("create", "update", "replace", "delete", "read")


class SecureValue:
    """A secure config value: equal to another when their ciphertexts' digests are equal."""

    def __init__(self, digest: Optional[str]):
        self.digest = digest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecureValue) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


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
        return {op: sum(1 for r in self.resources if r.op == op) for op in OPS}


def any_leaf(value: Any, test: Callable[[Any], bool]) -> bool:
    if isinstance(value, dict):
        return any(any_leaf(v, test) for v in value.values())
    if isinstance(value, list):
        return any(any_leaf(v, test) for v in value)
    return test(value)


def has_secret(value: Any) -> bool:
    return any_leaf(value, lambda leaf: leaf == SECRET or isinstance(leaf, SecureValue))
