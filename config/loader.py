"""Reading the stack's settings: from ``pulumi.Config`` or from a plain mapping."""

from __future__ import annotations

import difflib
import os
import re
import typing
from typing import Any, Mapping, Optional

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from . import rules
from .errors import ConfigError, Problem
from .schema import Service, Settings

PROJECT = "elastic-inference"
SECTIONS = ("cluster", "modelStore", "nodePool", "alb", "services")
_MAX_SHOWN = 60


def from_raw(raw: Mapping[str, Any], region: Optional[str], base_dir: str = ".") -> Settings:
    """Validate the project's config keys (``cluster``, ``modelStore``, ...).

    ``raw`` maps each key of the ``elastic-inference:`` namespace (without the
    prefix) to its parsed value. Raises :class:`ConfigError` listing every
    problem; returns the validated settings otherwise.
    """
    problems = [
        Problem(_shown_key(key), _unknown_key_message(key, list(SECTIONS)))
        for key in raw
        if key not in SECTIONS
    ]
    problems += list(_plaintext_credentials(raw, ""))
    problems += _dedented_service_keys(raw.get("services"))
    if problems and any(p.message.startswith(_CREDENTIAL_MESSAGE) for p in problems):
        raise ConfigError(problems)
    data: dict[str, Any] = {k: v for k, v in raw.items() if k in SECTIONS and v is not None}
    if region is not None:
        data["region"] = region
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems + [_problem(e) for e in exc.errors()]) from None
    problems += rules.check(settings, base_dir)
    if problems:
        raise ConfigError(problems)
    return settings


def _dedented_service_keys(services: Any) -> list[Problem]:
    """A service named like a key of a service (``ingress``, ``autoscaling``...) is a key indented too little."""
    if not isinstance(services, Mapping):
        return []
    fields = {f.alias or n for n, f in Service.model_fields.items()}
    return [Problem(f"services.{name}", f"'{name}' is a key of a service, not a service name: it is indented one level too "
                                        "little; indent it under its service")
            for name in services if name in fields]


# Alibaba Cloud AccessKey IDs start with LTAI; STS tokens with STS.
_ACCESS_KEY = re.compile(r"\b(?:LTAI[0-9A-Za-z]{12,30}|STS\.[0-9A-Za-z]{16,})\b")
_CREDENTIAL_MESSAGE = "holds what looks like an Alibaba Cloud AccessKey in plain text"


def _plaintext_credentials(value: Any, path: str, keys: tuple[Any, ...] = ()) -> typing.Iterator[Problem]:
    """Values that look like pasted credentials (the value itself is never repeated). The values that are credentials
    by design (:data:`_SECRET_VALUES`) are skipped: the program reads them decrypted, and :func:`_plaintext_secrets`
    refuses them when they are not encrypted."""
    if _is_secret_value(keys):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _plaintext_credentials(item, f"{path}.{_shown_key(key)}" if path else _shown_key(key), (*keys, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _plaintext_credentials(item, f"{path}[{i}]", (*keys, i))
    elif isinstance(value, str) and _ACCESS_KEY.search(value):
        yield Problem(path, f"{_CREDENTIAL_MESSAGE}: remove it, rotate that key, and give credentials to Pulumi as "
                            "`pulumi config set --secret alicloud:accessKey` (or use RRSA); stack config is not a secret store")


# Provider settings that are credentials: in a stack file they must be `secure:`.
_PROVIDER_CREDENTIALS = ("alicloud:accessKey", "alicloud:secretKey", "alicloud:securityToken", "kubernetes:kubeconfig")


def _plaintext_provider_credentials() -> list[Problem]:
    problems = []
    for key in _PROVIDER_CREDENTIALS:
        value = runtime_config.get_config(key)
        if value is None or runtime_config.is_config_secret(key):
            continue
        if key == "kubernetes:kubeconfig" and not re.search(r"apiVersion|clusters|client-key|token", str(value)):
            continue  # a path to a kubeconfig file, not its contents
        problems.append(Problem(key, "holds credentials in plain text in the stack file: remove it, rotate them, and set it "
                                     f"with `pulumi config set --secret {key}`"))
    return problems


# Values of the project's sections that are credentials: each must be a `secure:` value. The CLI hands the program a
# section with the values under it decrypted and marks the whole section secret (pulumi/pulumi#3342), so a section
# not marked secret holds them in plain text. "*" is any key (a service's name).
_SECRET_VALUES = (("cluster", "prometheusAuth", "*"), ("services", "*", "llm", "apiKey"))


def _is_secret_value(keys: tuple[Any, ...]) -> bool:
    return any(len(keys) == len(pattern) and all(p in ("*", k) for p, k in zip(pattern, keys, strict=False)) for pattern in _SECRET_VALUES)


def _walk(value: Any, path: tuple[str, ...], shown: str) -> typing.Iterator[tuple[str, Any]]:
    if not path:
        yield shown, value
        return
    if not isinstance(value, Mapping):
        return
    keys = list(value) if path[0] == "*" else [path[0]] if path[0] in value else []
    for key in keys:
        yield from _walk(value[key], path[1:], f"{shown}.{_shown_key(key)}")


def _written_config(base_dir: str) -> Optional[Mapping[str, Any]]:
    """The stack file's config as written (each ``secure:`` value a ``{secure: ...}`` mapping), or None when there is no
    stack file to read (the CLI runs the program in the project directory, where ``Pulumi.<stack>.yaml`` lives)."""
    try:
        with open(os.path.join(base_dir, f"Pulumi.{pulumi.get_stack()}.yaml"), encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return None
    config = data.get("config") if isinstance(data, Mapping) else None
    return config if isinstance(config, Mapping) else None


def _plaintext_secrets(raw: Mapping[str, Any], written: Optional[Mapping[str, Any]]) -> list[Problem]:
    """Credentials that are not encrypted: judged value by value in the stack file as written; for a section the file
    does not hold (set elsewhere), by the section's secrecy, all the program can tell."""
    problems = []
    for section, *path in _SECRET_VALUES:
        in_file = None if written is None else written.get(f"{PROJECT}:{section}", written.get(section))
        if in_file is not None:
            plain = [shown for shown, value in _walk(in_file, tuple(path), section)
                     if value is not None and not (isinstance(value, Mapping) and set(value) == {"secure"})]
        elif not runtime_config.is_config_secret(f"{PROJECT}:{section}"):
            plain = [shown for shown, value in _walk(raw.get(section), tuple(path), section) if value is not None]
        else:
            plain = []
        problems += [Problem(shown, "is a credential and must be encrypted: set it with "
                                    f"`pulumi config set --secret --path '{shown}'` (in plain text it would sit in the stack "
                                    "file and the state for anyone who reads them)") for shown in plain]
    return problems


def load(base_dir: str = ".") -> Settings:
    """The current stack's settings, read through ``pulumi.Config``."""
    cfg = pulumi.Config(PROJECT)
    problems = _plaintext_provider_credentials() + _misspelt_keys(_all_keys())
    raw: dict[str, Any] = {}
    for key in _project_keys():
        try:
            raw[key] = cfg.get_object(key)
        except pulumi.ConfigTypeError:
            # Its message repeats the value (it may be a pasted secret): say only what is wrong.
            problems.append(Problem(_shown_key(key), "must be a mapping of keys to values (the YAML under it is text or a list)"))
    problems += [Problem(_shown_key(k), "must be a mapping of keys to values (the YAML under it is a list)")
                 for k, v in raw.items() if isinstance(v, list)]
    raw = {k: v for k, v in raw.items() if not isinstance(v, list)}
    problems += _plaintext_secrets(raw, _written_config(base_dir))
    try:
        settings = from_raw(raw, pulumi.Config("alicloud").get("region"), base_dir)
    except ConfigError as exc:
        raise ConfigError(problems + list(exc.problems)) from None
    if problems:
        raise ConfigError(problems)
    return settings


def _all_keys() -> set[str]:
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def _project_keys() -> list[str]:
    prefix = PROJECT + ":"
    return sorted({k[len(prefix):] for k in _all_keys() if k.startswith(prefix)} | set(SECTIONS))


# Namespaces a stack of this program uses, and the provider keys it documents: a key close to
# one of them but not equal is a typo that would otherwise be ignored (or reported as missing).
_NAMESPACES = (PROJECT, "alicloud", "kubernetes", "pulumi")
_PROVIDER_KEYS = {
    "alicloud": ("region", "accessKey", "secretKey", "securityToken", "profile", "sharedCredentialsFile", "assumeRole",
                 "ecsRoleName", "skipRegionValidation", "configurationSource", "protocol", "endpoints"),
    "kubernetes": ("kubeconfig", "context", "cluster", "namespace", "enableServerSideApply", "enableConfigMapMutable",
                   "enableSecretMutable", "renderYamlToDirectory", "suppressHelmHookWarnings", "deleteUnreachable"),
}


def _misspelt_keys(keys: set[str]) -> list[Problem]:
    problems = []
    for key in sorted(keys):
        namespace, sep, name = key.partition(":")
        if not sep:
            continue
        if namespace not in _NAMESPACES:
            close = difflib.get_close_matches(namespace, _NAMESPACES, n=1, cutoff=0.8)
            if close:
                problems.append(Problem(_shown_key(key), f"unknown namespace '{_shown_key(namespace)}'; did you mean '{close[0]}:'? "
                                                        "(as written, the program never reads it)"))
        elif namespace in _PROVIDER_KEYS and name.split(".")[0] not in _PROVIDER_KEYS[namespace]:
            close = difflib.get_close_matches(name, _PROVIDER_KEYS[namespace], n=1, cutoff=0.7)
            if close:
                problems.append(Problem(_shown_key(key), f"unknown key; did you mean '{namespace}:{close[0]}'?"))
    return problems


_OPAQUE_TOKEN = re.compile(r"[0-9A-Za-z+/=_-]{32,}")


def _shown_key(key: Any) -> str:
    """A key as an error may show it: never one that looks like a credential (a pasted AccessKey or
    a long opaque token as a key), never a long or unprintable one."""
    text = str(key)
    if _ACCESS_KEY.search(text) or _OPAQUE_TOKEN.search(text) or len(text) > 64 or not text.isprintable():
        return "<a key not shown>"
    return text


# --- turning pydantic errors into one line per key -----------------------------------


def _problem(error: Any) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
    path = _path(loc)
    if kind == "missing":
        return Problem(path, "required" + _missing_hint(loc))
    if kind == "extra_forbidden":
        return Problem(path, _unknown_key_message(str(loc[-1]), _aliases_at(loc[:-1])))
    return Problem(path, _message(error))


def _path(loc: tuple[Any, ...]) -> str:
    if loc == ("region",):
        return "alicloud:region"
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _shown_key(part)
    return out


def _missing_hint(loc: tuple[Any, ...]) -> str:
    hints = {
        ("region",): ": set it with `pulumi config set alicloud:region cn-beijing`",
        ("cluster",): ": the existing ACK Pro cluster (at least cluster.id)",
        ("modelStore",): ": the OSS bucket that holds the models (at least modelStore.bucket)",
        ("services",): ": at least one model endpoint",
    }
    return hints.get(loc, "")


def _unknown_key_message(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return "unknown key; allowed keys: " + ", ".join(sorted(allowed))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _got(value: Any) -> str:
    """What the user gave, for numbers and booleans only: text may be a pasted secret and is never repeated."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return f" (got {_shown(value)})"
    return ""


def _message(error: Any) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = _got(value)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{got}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit}{got}"
    types = {
        "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
        "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
        "bool_parsing": "true or false", "string_type": "a string", "dict_type": "a mapping of keys to values",
        "list_type": "a list", "model_type": "a mapping of keys to values", "model_attributes_type": "a mapping of keys to values",
    }
    if kind in types:
        return f"must be {types[kind]}{got}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    return str(error["msg"]) + got


def _aliases_at(loc: tuple[Any, ...]) -> list[str]:
    """The YAML keys allowed in the mapping at ``loc`` (for "did you mean")."""
    typ: Any = Settings
    for part in loc:
        typ = _strip_optional(typ)
        if isinstance(typ, type) and issubclass(typ, BaseModel):
            field = typ.model_fields.get(part) or next(
                (f for f in typ.model_fields.values() if f.alias == part), None
            )
            if field is None:
                return []
            typ = field.annotation
        elif typing.get_origin(typ) in (dict, list):
            typ = typing.get_args(typ)[-1]
        else:
            return []
    typ = _strip_optional(typ)
    if isinstance(typ, type) and issubclass(typ, BaseModel):
        return [f.alias or n for n, f in typ.model_fields.items()]
    return []


def _strip_optional(typ: Any) -> Any:
    while typing.get_origin(typ) is typing.Annotated:
        typ = typing.get_args(typ)[0]
    if typing.get_origin(typ) is typing.Union:
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    return typ
