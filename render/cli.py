"""``python -m render STACK [--out DIR] [--dir PROGRAM]``: the offline render.

(``python -m render diff BASE_DIR HEAD_DIR [--json]`` compares two renders: see ``diff.py``.)

Exit codes: 0 rendered (preflight warnings and advisory policy violations are
printed); 1 the program failed or a manifest is invalid; 2 the configuration
(or a project/stack file) is unusable; 3 a mandatory policy of the program's
pack (``policy/``) is violated; 4 the preflight found what the cloud would
refuse or what would not work (``preflight/``). Nothing is written unless
everything succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence, TextIO

import yaml

from .engine import RunResult, paused_gc, run_program
from .manifests import Manifest, UnsupportedVersion, Validator, manifests
from .policy import PolicyConfigError, Violation, check, load_policies, stack_levels
from .preflight import EXIT_PREFLIGHT, Finding
from .preflight import run as preflight
from .stack import StackFileError, check_stack_name, load_stack

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 3


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter when PyYAML has it (its wheels do): ~15x faster than the pure-Python one."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Multi-line text (a TF Serving model config) as a literal block, as people write it.
    style = "|" if "\n" in text and not text.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


class RenderError(Exception):
    def __init__(self, code: int, lines: list[str]):
        super().__init__("\n".join(lines))
        self.code, self.lines = code, lines


def render(stack_name: str, out_dir: str, program_dir: str = ".") -> tuple[RunResult, list[Manifest]]:
    """Render ``stack_name`` of the program in ``program_dir`` into ``out_dir``."""
    with paused_gc():
        return _render(stack_name, out_dir, program_dir)


def _render(stack_name: str, out_dir: str, program_dir: str) -> tuple[RunResult, list[Manifest]]:
    try:
        stack = load_stack(program_dir, stack_name)
    except StackFileError as exc:
        raise RenderError(EXIT_CONFIG, [str(exc)]) from None
    _check_out_dir(out_dir)
    result = _run(stack)
    k8s_version = _kubernetes_version(stack.config, stack.project)
    try:
        validator = Validator.for_version(k8s_version)
    except UnsupportedVersion as exc:
        raise RenderError(EXIT_CONFIG, [f"cluster.kubernetesVersion: {exc}"]) from None
    objects = manifests(result.resources)
    problems = [f"{m.filename}: {err}" for m in objects for err in validator.errors(m.body)]
    if problems:
        raise RenderError(EXIT_FAILED, ["manifests fail the Kubernetes " + validator.version + " schemas:", *problems])
    plan = _plan(stack, result)
    result.findings = _preflight(plan)
    result.violations = _check_policies(program_dir, stack_name, result)
    _write(out_dir, plan, objects)
    return result, objects


def _preflight(plan: dict) -> list[Finding]:
    """What the cloud would refuse or silently break; an error stops the render (exit 4)."""
    findings = preflight(plan["resources"], plan["outputs"])
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise RenderError(EXIT_PREFLIGHT, [f"preflight: {len(errors)} problem(s) a real deployment would hit; nothing written:",
                                           *(f.line() for f in findings)])
    return findings


def _check_policies(program_dir: str, stack_name: str, result: RunResult) -> list[Violation]:
    """The program's policy pack over the plan; a mandatory violation stops the render (exit 3)."""
    try:
        policies = load_policies(program_dir)
        levels = stack_levels(program_dir, stack_name)
    except PolicyConfigError as exc:
        raise RenderError(EXIT_CONFIG, [str(exc)]) from None
    if policies is None:
        return []
    violations = check(policies, [r for r in result.resources if not r.read], levels)
    if any(v.level == "mandatory" for v in violations):
        mandatory = [v.line() for v in violations if v.level == "mandatory"]
        advisory = [v.line() for v in violations if v.level != "mandatory"]
        raise RenderError(EXIT_POLICY, [f"policy pack: {len(mandatory)} mandatory violation(s); nothing written:", *mandatory, *advisory])
    return violations


def _is_config_error(exc: Optional[BaseException]) -> bool:
    # The program's own `config.ConfigError`, recognised without importing the
    # program's package from here (it must come from the program's directory).
    return type(exc).__name__ == "ConfigError" and isinstance(getattr(exc, "problems", None), list)


def _run(stack) -> RunResult:
    try:
        return run_program(stack)
    except Exception as exc:  # noqa: BLE001 - reported as a config or program failure
        cause = exc if _is_config_error(exc) else exc.__cause__
        if _is_config_error(cause):
            raise RenderError(EXIT_CONFIG, [str(p) for p in cause.problems]) from None
        if isinstance(exc, ImportError):
            raise RenderError(EXIT_FAILED, [f"the program failed: {type(exc).__name__}: {exc}; install the program's own "
                                            "requirements (its requirements.txt) into the environment that runs the render"]) from None
        if isinstance(exc, (ValueError, TypeError)) or type(exc).__name__ == "RunError":
            raise RenderError(EXIT_FAILED, [f"the program failed: {type(exc).__name__}: {exc}"]) from exc
        raise


def _kubernetes_version(config: dict[str, str], project: str) -> str:
    cluster = json.loads(config.get(f"{project}:cluster", "{}"))
    version = str(cluster.get("kubernetesVersion", "1.30")) if isinstance(cluster, dict) else "1.30"
    return ".".join(version.lstrip("v").split(".")[:2])


def _plan(stack, result: RunResult) -> dict:
    return {
        "project": stack.project,
        "stack": stack.name,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                **({"read": True} if r.read else {}),
                "inputs": r.inputs,
                "options": {
                    "protect": r.protect,
                    "retainOnDelete": r.retain_on_delete,
                    "ignoreChanges": r.ignore_changes,
                    "dependsOn": r.depends_on,
                },
                "propertyDependencies": r.property_dependencies,
                "aliases": r.aliases,
            }
            for r in result.resources
        ],
        "outputs": result.outputs,
        # Extensions for `python -m render diff`: the stack's settings as written
        # (secure values as "[secret]") and a digest of each secure ciphertext.
        "config": stack.values,
        "configSecrets": stack.secret_digests,
    }


# Every output directory the render writes holds this file; it replaces only such a
# directory (or an empty one), never one it did not create (a checkout, a home directory).
MARKER = ".elastic-inference-render"


def _check_out_dir(out_dir: str) -> None:
    if not os.path.lexists(out_dir):
        return
    if os.path.islink(out_dir) or not os.path.isdir(out_dir):
        raise RenderError(EXIT_CONFIG, [f"{out_dir}: exists and is not a directory the render wrote; choose another --out"])
    entries = set(os.listdir(out_dir))
    # Renders made before the marker existed held exactly plan.json and manifests/.
    earlier = "plan.json" in entries and entries <= {"plan.json", "manifests"}
    if entries and MARKER not in entries and not earlier:
        raise RenderError(EXIT_CONFIG, [f"{out_dir}: exists and is not a render output (it has no {MARKER}); "
                                        "the render replaces only its own outputs: remove it or choose another --out"])


def _write(out_dir: str, plan: dict, objects: list[Manifest]) -> None:
    """Write ``plan.json`` and the manifests to ``out_dir``, all or nothing.

    Files go to a staging directory that replaces ``out_dir`` only at the end;
    threads write them (file creation waits on the disk) while this thread
    serializes the next.
    """
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".render-", dir=parent)
    try:
        os.mkdir(os.path.join(staging, "manifests"))
        _write_file(os.path.join(staging, MARKER), "written by `python -m render`; replaced by the next render\n")
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="render-write") as pool:
            writes = [pool.submit(_write_file, os.path.join(staging, "plan.json"), json.dumps(plan, indent=2, sort_keys=True) + "\n")]
            for m in objects:
                text = yaml.dump(_ordered(m.body), Dumper=_Dumper, sort_keys=False, default_flow_style=False)
                writes.append(pool.submit(_write_file, os.path.join(staging, "manifests", m.filename), text))
            for write in writes:
                write.result()
        _check_out_dir(out_dir)  # again: it may have changed while the program ran
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_file(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _ordered(body: dict) -> dict:
    """apiVersion, kind, metadata first, as people write manifests; the rest sorted (stable diffs)."""

    def deep(value):
        if isinstance(value, dict):
            return {k: deep(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            return [deep(v) for v in value]
        return value

    head = [k for k in ("apiVersion", "kind", "metadata") if k in body]
    return {k: deep(body[k]) for k in head + sorted(k for k in body if k not in head)}


def print_tree(result: RunResult, stack_name: str, project: str, out: TextIO) -> None:
    """A resource tree like ``pulumi preview``'s, and a count."""
    children: dict[Optional[str], list] = {}
    for r in result.resources:
        children.setdefault(r.parent or result.stack_urn, []).append(r)
    rows: list[tuple[str, str, str, str]] = [("+", "", "pulumi:pulumi:Stack", f"{project}-{stack_name}")]

    def walk(urn: str, prefix: str) -> None:
        kids = children.get(urn, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            rows.append(("=" if r.read else "+", prefix + ("└─ " if last else "├─ "), r.type, r.name))
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk(result.stack_urn, "")
    width = max(len(p) + len(t) for _, p, t, _ in rows) + 2
    out.write(f"     {'Type':<{width}}Name\n")
    for op, prefix, typ, name in rows:
        out.write(f" {op}   {(prefix + typ):<{width}}{name}\n")
    created = sum(1 for r in result.resources if not r.read) + 1
    read = sum(1 for r in result.resources if r.read)
    out.write("\nResources:\n")
    out.write(f"    + {created} to create\n")
    if read:
        out.write(f"    = {read} to read\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        from .diff import main as diff_main  # noqa: PLC0415 - a render need not load the diff

        return diff_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m render",
        description="Render a stack offline: no Pulumi CLI, no credentials. "
        "`python -m render diff BASE_DIR HEAD_DIR` compares two renders.",
    )
    parser.add_argument("stack", nargs="?", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--all", action="store_true", help="render every Pulumi.*.yaml stack, each into OUT/STACK")
    parser.add_argument("--out", help="output directory (default build/STACK; with --all, build)")
    parser.add_argument("--dir", default=".", help="the Pulumi program's directory (default: current directory)")
    args = parser.parse_args(argv)
    if args.all == bool(args.stack):
        parser.error("give one STACK, or --all")
    if args.all:
        return _render_all(args.out or "build", args.dir)
    # render() refuses a stack name Pulumi would refuse before it touches any directory.
    out_dir = args.out or os.path.join("build", args.stack)
    try:
        result, objects = render(args.stack, out_dir, args.dir)
    except RenderError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return exc.code
    project = load_stack(args.dir, args.stack).project
    for finding in result.findings:
        print(finding.line(), file=sys.stderr)
    for violation in result.violations:
        print(violation.line(), file=sys.stderr)
    print_tree(result, args.stack, project, sys.stdout)
    print(f"\nWrote {out_dir}/plan.json and {len(objects)} manifests (validated) to {out_dir}/manifests/")
    return EXIT_OK


def stack_names(program_dir: str) -> list[str]:
    """The stacks of a program: one per ``Pulumi.<stack>.yaml`` entry (names are checked when each is rendered)."""
    found = (re.fullmatch(r"Pulumi\.(.+)\.yaml", f) for f in os.listdir(program_dir))
    return sorted(m.group(1) for m in found if m)


def _is_stack_name(name: str) -> bool:
    try:
        check_stack_name(name)
    except StackFileError:
        return False
    return True


def _render_all(out_root: str, program_dir: str) -> int:
    """Every stack into ``out_root/STACK``; one that fails does not stop the others. Exit: the worst."""
    stacks = stack_names(program_dir) if os.path.isdir(program_dir) else []
    if not stacks:
        print(f"{program_dir}: no Pulumi.<stack>.yaml files", file=sys.stderr)
        return EXIT_CONFIG
    worst = EXIT_OK
    for stack in stacks:
        label = stack if _is_stack_name(stack) else "<a stack file whose name Pulumi would refuse>"
        out_dir = os.path.join(out_root, stack)  # render() refuses a bad name before it touches out_dir
        try:
            result, objects = render(stack, out_dir, program_dir)
        except RenderError as exc:
            for line in exc.lines:
                print(f"{label}: {line}", file=sys.stderr)
            worst = max(worst, exc.code)
            continue
        except Exception as exc:  # noqa: BLE001 - one stack's failure must not stop the others
            print(f"{label}: the render failed: {type(exc).__name__}", file=sys.stderr)
            worst = max(worst, EXIT_FAILED)
            continue
        for line in [*(f.line() for f in result.findings), *(v.line() for v in result.violations)]:
            print(f"{stack}: {line}", file=sys.stderr)
        print(f"{stack}: {len(result.resources)} resources, {len(objects)} manifests (validated) -> {out_dir}")
    return worst
