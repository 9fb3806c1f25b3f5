"""Writing a render's output directory: ``plan.json``, ``manifests/*.yaml`` and the marker file.

The render writes only into its output directory, and replaces it only when it
is empty or holds only its own earlier output for the same program (the rule
is ``outputs.py``'s); anything else is refused with the config exit code.
Writing is all or nothing.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import yaml

from ..outputs import Outputs, OutputDirError
from .errors import EXIT_CONFIG, RenderError
from .manifests import Manifest


def _recorded(out_dir: str) -> Optional[str]:
    """The project an earlier render's ``plan.json`` names, or None."""
    try:
        with open(os.path.join(out_dir, "plan.json"), encoding="utf-8") as fh:
            project = json.load(fh).get("project")
    except (OSError, ValueError, AttributeError):
        return None
    return project if isinstance(project, str) else None


#: A render output holds plan.json and manifests/ (and the marker): nothing else is replaced.
OUTPUTS = Outputs("render", owns=lambda entry: entry in ("plan.json", "manifests"), recorded=_recorded,
                  unmarked=lambda entries: "plan.json" in entries, old_marker=True)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter when PyYAML has it (its wheels do): ~15x faster than the pure-Python one."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Multi-line text (a TF Serving model config) as a literal block, as people write it.
    style = "|" if "\n" in text and not text.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def check_out_dir(out_dir: str, project: str) -> None:
    """Raise :class:`RenderError` (exit 2) unless ``out_dir`` is absent, empty, or an earlier render of ``project``."""
    try:
        OUTPUTS.check(out_dir, project)
    except OutputDirError as exc:
        raise RenderError(EXIT_CONFIG, [str(exc)]) from None


def write(out_dir: str, plan: dict[str, Any], objects: list[Manifest]) -> None:
    """Write ``plan.json`` and the manifests to ``out_dir``, all or nothing (``Outputs.replace``).

    Threads write the files (file creation waits on the disk) while this
    thread serializes the next.
    """

    def fill(staging: str) -> None:
        os.mkdir(os.path.join(staging, "manifests"))
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="render-write") as pool:
            writes = [pool.submit(_write_file, os.path.join(staging, "plan.json"), json.dumps(plan, indent=2, sort_keys=True) + "\n")]
            for m in objects:
                writes.append(pool.submit(_write_file, os.path.join(staging, "manifests", m.filename), to_yaml(m.body)))
            for done in writes:
                done.result()

    try:
        OUTPUTS.replace(out_dir, str(plan["project"]), fill)
    except OutputDirError as exc:  # it changed while the program ran
        raise RenderError(EXIT_CONFIG, [str(exc)]) from None


def to_yaml(body: dict[str, Any]) -> str:
    """A manifest as its YAML file holds it: apiVersion, kind, metadata first, the rest sorted."""
    return yaml.dump(_ordered(body), Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def _write_file(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _deep_sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_deep_sorted(v) for v in value]
    return value


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first, as people write manifests; the rest sorted (stable diffs)."""
    head = [k for k in ("apiVersion", "kind", "metadata") if k in body]
    return {k: _deep_sorted(body[k]) for k in head + sorted(k for k in body if k not in head)}
