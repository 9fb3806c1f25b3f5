"""Reading a Pulumi project and one of its stack files, the way the CLI would."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

SECRET = "[secret]"


class StackFileError(Exception):
    """A project or stack file is missing or is not valid YAML of the expected shape."""


# Pulumi's stack names: letters, digits, '-', '_' and '.', at most 100 characters
# (pulumi/pulumi sdk/go/common/tokens: ValidateStackName). '.' and '..' are paths, never stacks.
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# What a stack file may hold once YAML aliases are expanded, and how deep: a file is
# read and checked against these bounds before anything walks it in full (an alias
# "bomb" of a few lines would otherwise expand to gigabytes).
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 20_000
MAX_DEPTH = 32
# Alibaba Cloud AccessKey ids (LTAI...), STS tokens, and long opaque tokens: never printed.
_SECRET_LIKE = re.compile(r"LTAI[0-9A-Za-z]{12,30}|STS\.[0-9A-Za-z]{16,}|[0-9A-Za-z+/=_-]{32,}")


def check_stack_name(name: str) -> None:
    if not _STACK_NAME.match(name) or name in (".", ".."):
        raise StackFileError("the stack name must be 1-100 letters, digits, '-', '_' or '.' (and not '.' or '..'), "
                             "as Pulumi requires")


def is_stack_name(name: str) -> bool:
    try:
        check_stack_name(name)
    except StackFileError:
        return False
    return True


def stack_names(program_dir: str) -> list[str]:
    """The stacks of a program: one per ``Pulumi.<stack>.yaml`` entry (names are checked when each is rendered)."""
    found = (re.fullmatch(r"Pulumi\.(.+)\.yaml", f) for f in os.listdir(program_dir))
    return sorted(m.group(1) for m in found if m)


def shown(key: Any) -> str:
    """A key as an error message may show it: never one that looks like a credential, never long."""
    text = key if isinstance(key, str) else type(key).__name__
    if _SECRET_LIKE.search(text) or not re.fullmatch(r"[A-Za-z0-9_.:/-]{1,64}", text):
        return "<a key not shown>"
    return text


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A YAML loader (libyaml's parser when PyYAML has it) that rejects duplicate keys.

    YAML itself would keep the last of two equal keys, silently.
    """


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key (a mapping or a list as a key)
            raise StackFileError(f"{key_node.start_mark.name}:{key_node.start_mark.line + 1}: a key must be text") from None
        if duplicate:
            mark = key_node.start_mark
            raise StackFileError(f"{mark.name}:{mark.line + 1}: duplicate key")
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: str) -> Any:
    """A project or stack file's YAML, checked to hold only what a Pulumi config can (text keys;
    text, numbers, booleans, null, lists and mappings), within the bounds above."""
    try:
        if os.path.isdir(path):
            raise StackFileError(f"{path}: is a directory, not a YAML file")
        if os.path.getsize(path) > MAX_FILE_BYTES:
            raise StackFileError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; not a stack file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise StackFileError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StackFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except StackFileError as exc:  # the constructor's (a duplicate key): its mark names the text, not the file
        raise StackFileError(str(exc).replace("<unicode string>", path, 1)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # The problem without the quoted text it may carry (it could be a pasted secret).
        problem = re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", str(exc.problem or "a syntax error"))
        raise StackFileError(f"{path}: not valid YAML{where}: {problem}") from None
    except yaml.YAMLError:
        raise StackFileError(f"{path}: not valid YAML") from None
    except RecursionError:
        raise StackFileError(f"{path}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    _check_tree(path, data)
    return data


def _check_tree(path: str, data: Any) -> None:
    """Walk ``data`` once, stopping at the first value a Pulumi config cannot hold or at the bounds."""
    budget = [MAX_NODES]
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise StackFileError(f"{path}: expands to more than {MAX_NODES} values (YAML aliases?); not a stack file")
        if depth > MAX_DEPTH:
            raise StackFileError(f"{path}: nested too deeply at {where or 'the top'} (at most {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise StackFileError(f"{path}: {where or 'the top level'}: a key is not text (YAML read a "
                                         f"{type(key).__name__}); quote it")
                stack.append((item, f"{where}.{shown(key)}" if where else shown(key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise StackFileError(f"{path}: {where}: .inf and .nan are not values a Pulumi config can hold")
        elif value is not None and not isinstance(value, (str, bool, int, float)):
            kind = {"date": "date", "datetime": "date", "bytes": "!!binary value", "set": "set"}.get(type(value).__name__, "value")
            raise StackFileError(f"{path}: {where}: a YAML {kind} is not a value a Pulumi config can hold; quote it to make it text")


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
    check_stack_name(stack)
    project_file = os.path.join(program_dir, "Pulumi.yaml")
    project = load_yaml(project_file)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise StackFileError(f"{project_file}: needs a top-level 'name'")
    main = project.get("main") or "__main__.py"
    if not isinstance(main, str):
        raise StackFileError(f"{project_file}: 'main' must be a path")
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
