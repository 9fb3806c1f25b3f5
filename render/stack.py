"""Reading a Pulumi project and one of its stack files, the way the CLI would."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

SECRET = "[secret]"


class StackFileError(Exception):
    """A project or stack file is missing or is not valid YAML of the expected shape."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A YAML loader (libyaml's parser when PyYAML has it) that rejects duplicate keys.

    YAML itself would keep the last of two equal keys, silently.
    """


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise StackFileError(f"{mark.name}:{mark.line + 1}: duplicate key {key!r}")
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {exc}") from None


@dataclass
class Stack:
    """A stack's project name, config and the keys whose values are secret."""

    project: str
    name: str
    program_dir: str
    main: str
    #: What the program reads: ``key -> text`` (structured values as JSON).
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)
    #: The stack file's values as written, each ``secure:`` value replaced by ``[secret]``.
    values: dict[str, Any] = field(default_factory=dict)
    #: ``key.path -> sha256:...`` of each ``secure:`` ciphertext: lets a diff tell that a
    #: secret changed without the value (the ciphertext is already public in the repository).
    secret_digests: dict[str, str] = field(default_factory=dict)


def secret_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _unwrap_secure(value: Any, path: str, digests: dict[str, str]) -> Any:
    """Replace every ``{secure: ...}`` by a placeholder: it cannot be decrypted offline."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            digests[path] = secret_digest(str(value["secure"]))
            return SECRET
        return {k: _unwrap_secure(v, f"{path}.{k}", digests) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secure(v, f"{path}[{i}]", digests) for i, v in enumerate(value)]
    return value


def load_stack(program_dir: str, stack: str) -> Stack:
    project_file = os.path.join(program_dir, "Pulumi.yaml")
    project = load_yaml(project_file)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise StackFileError(f"{project_file}: needs a top-level 'name'")
    main = project.get("main") or "__main__.py"
    main_path = os.path.abspath(os.path.join(program_dir, main))
    if os.path.isdir(main_path):
        main_path = os.path.join(main_path, "__main__.py")
    stack_file = os.path.join(program_dir, f"Pulumi.{stack}.yaml")
    data = load_yaml(stack_file) or {}
    if not isinstance(data, dict):
        raise StackFileError(f"{stack_file}: must be a mapping with a 'config' key")
    raw_config = data.get("config") or {}
    if not isinstance(raw_config, dict):
        raise StackFileError(f"{stack_file}: 'config' must be a mapping")

    result = Stack(project=project["name"], name=stack, program_dir=program_dir, main=main_path)
    for key, value in raw_config.items():
        full = key if ":" in key else f"{project['name']}:{key}"
        digests: dict[str, str] = {}
        value = _unwrap_secure(value, full, digests)
        result.values[full] = value
        # The CLI hands structured values to the program as JSON, scalars as text.
        result.config[full] = value if isinstance(value, str) else json.dumps(value)
        if digests:
            result.secret_keys.append(full)
            result.secret_digests.update(digests)
    return result
