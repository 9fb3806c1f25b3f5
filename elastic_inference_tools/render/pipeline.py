"""The render's stages: load the stack, run the program, validate, plan, preflight, policy, write.

Two entry points: :func:`render_stack` loads a stack and runs its program
(for other tools: nothing is validated, written or printed), and
:func:`render` does the whole offline render into a directory (the CLI's).
Every failure a user can fix is a :class:`~render.errors.RenderError` whose
``code`` is the exit code and whose ``lines`` say what is wrong.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
import sys
from typing import Any

import pulumi

from .engine import Registration, RunResult, paused_gc, run_program
from .errors import EXIT_CONFIG, EXIT_FAILED, EXIT_POLICY, RenderError, input_problems
from .manifests import Manifest, UnsupportedVersion, Validator, manifests, supported_versions
from .policy import PolicyConfigError, Violation, check, load_policies, stack_levels
from .preflight import EXIT_PREFLIGHT, KUBERNETES_VERSION_OUTPUT, Finding
from .preflight import run as preflight
from .stack import Stack, StackFileError, load_stack
from .writer import check_out_dir, write


@dataclass(frozen=True)
class Rendered:
    """What :func:`render_stack` returns: a stack and what its program registers."""

    stack: Stack
    """The loaded stack: ``project``, ``name``, ``values`` (the stack file's config as written, each
    ``secure:`` value as ``"[secret]"``), ``config`` (what the program read: ``key -> text``)."""
    result: RunResult
    """The run: ``stack_urn``, ``resources`` (every registration, in URN order) and ``outputs``;
    ``findings`` and ``violations`` stay empty (no preflight, no policy pack)."""
    outputs: dict[str, Any]
    """The stack outputs, in name order; a secret is ``"[secret]"``, a value only the cloud knows ``"[unknown]"``."""
    manifests: list[dict[str, Any]]
    """Every Kubernetes object the program declares (not a Helm release's), as the dict the render writes
    as YAML, in URN order; not validated against the Kubernetes schemas. Nested values are shared with
    ``result.resources``' inputs: copy one before changing it."""

    @property
    def resources(self) -> list[Registration]:
        return self.result.resources

    @property
    def plan(self) -> dict[str, Any]:
        """What the render would write as ``plan.json`` (not checked by the preflight or the policy pack)."""
        return build_plan(self.stack, self.result)


def render_stack(program_dir: str, stack: str) -> Rendered:
    """Run stack ``stack`` of the Pulumi program in ``program_dir`` offline, as the render does, and return what it declares.

    Reads ``program_dir/Pulumi.yaml`` and ``program_dir/Pulumi.<stack>.yaml`` and runs
    the program's ``main`` in preview mode under Pulumi's mock runtime, in this
    process: no Pulumi CLI, no credentials, nothing leaves the machine. The
    program's modules are imported here (modules named like its packages but
    loaded from another directory are unloaded first), and the SDK's runtime
    settings are reset for this stack: one call at a time, not from two threads.
    Nothing is written; nothing is printed to stdout (the program's own prints
    are discarded; ``pulumi.log`` messages still go to stderr). The cyclic
    garbage collector is paused during the run.

    Raises :class:`~render.errors.RenderError`, whose ``lines`` hold no traceback:

    - ``code == 2`` (``EXIT_CONFIG``): a bad stack name, or the project or stack
      file is missing or unusable (one line); or the program reported bad input
      by raising ``pulumi.InputPropertiesError``, even wrapped (one line per item
      of its ``errors``, ``"{property_path}: {reason}"``, in its order);
    - ``code == 1`` (``EXIT_FAILED``): the program failed otherwise (an
      ``ImportError``, ``ValueError``, ``TypeError`` or ``pulumi.RunError``: one line).

    Any other exception the program raises propagates unchanged.
    """
    loaded = load(program_dir, stack)
    with paused_gc(), contextlib.redirect_stdout(io.StringIO()):
        result = run(loaded)
    return Rendered(stack=loaded, result=result, outputs=result.outputs, manifests=[m.body for m in manifests(result.resources)])


def render(stack_name: str, out_dir: str, program_dir: str = ".") -> tuple[RunResult, list[Manifest]]:
    """Render ``stack_name`` of the program in ``program_dir`` into ``out_dir``.

    Returns the run (with the preflight's warnings in ``findings`` and the
    advisory policy violations in ``violations``) and the validated manifests;
    raises :class:`~render.errors.RenderError` with nothing written.
    """
    with paused_gc():
        return _render(stack_name, out_dir, program_dir)


def _render(stack_name: str, out_dir: str, program_dir: str) -> tuple[RunResult, list[Manifest]]:
    stack = load(program_dir, stack_name)
    check_out_dir(out_dir, stack.project)
    result = run(stack)
    objects = _validated_manifests(stack, result)
    plan = build_plan(stack, result)
    result.findings = _preflight(plan, stack.program_dir)
    result.violations = _check_policies(program_dir, stack_name, result)
    write(out_dir, plan, objects)
    return result, objects


def load(program_dir: str, stack_name: str) -> Stack:
    """The stack, or :class:`RenderError` (exit 2) when its name, project file or stack file is unusable."""
    try:
        return load_stack(program_dir, stack_name)
    except StackFileError as exc:
        raise RenderError(EXIT_CONFIG, [str(exc)]) from None


def run(stack: Stack) -> RunResult:
    """Run ``stack``'s program; its bad input (exit 2) and its failures (exit 1) as :class:`RenderError`."""
    try:
        return run_program(stack)
    except Exception as exc:  # noqa: BLE001 - reported as a config or program failure
        problems = input_problems(exc)
        if problems is not None:
            raise RenderError(EXIT_CONFIG, problems) from None
        if isinstance(exc, ImportError):
            raise RenderError(EXIT_FAILED, [f"the program failed: {type(exc).__name__}: {exc}; install the program's own "
                                            "requirements (its requirements.txt) into the environment that runs the render"]) from None
        if isinstance(exc, (ValueError, TypeError, pulumi.RunError)):
            raise RenderError(EXIT_FAILED, [f"the program failed: {type(exc).__name__}: {exc}"]) from exc
        raise


def _validated_manifests(stack: Stack, result: RunResult) -> list[Manifest]:
    """The run's Kubernetes objects, each valid for the cluster's Kubernetes version, or :class:`RenderError`."""
    k8s_version = kubernetes_version(result.outputs)
    try:
        validator = Validator.for_version(k8s_version)
    except UnsupportedVersion as exc:
        raise RenderError(EXIT_CONFIG, [f"the stack output {KUBERNETES_VERSION_OUTPUT}: {exc}"]) from None
    objects = manifests(result.resources)
    problems = [f"{m.filename}: {err}" for m in objects for err in validator.errors(m.body)]
    if problems:
        raise RenderError(EXIT_FAILED, ["manifests fail the Kubernetes " + validator.version + " schemas:", *problems])
    return objects



def kubernetes_version(outputs: dict[str, Any]) -> str:
    """The Kubernetes version the manifests are validated for: the program's ``kubernetesVersion``
    stack output, or, when it exports none (or it is unknown offline), the newest bundled schemas."""
    version = outputs.get(KUBERNETES_VERSION_OUTPUT)
    if not isinstance(version, str) or version in ("[unknown]", "[secret]"):
        version = supported_versions()[-1]
    return ".".join(version.lstrip("v").split(".")[:2])


def build_plan(stack: Stack, result: RunResult) -> dict[str, Any]:
    """``plan.json``'s content."""
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
        # Extensions for `elastic-inference diff`: the stack's settings as written
        # (secure values as "[secret]") and a digest of each secure ciphertext.
        "config": stack.values,
        "configSecrets": stack.secret_digests,
    }


def _preflight(plan: dict[str, Any], program_dir: str) -> list[Finding]:
    """What the cloud would refuse or silently break; an error stops the render (exit 4)."""
    findings = preflight(plan["resources"], plan["outputs"], program_dir)
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
    names = sorted(p.name for p in policies)
    unknown = set(levels) - {"all", *names}
    if unknown:
        # A misspelt name would leave the policy it meant at its own level, silently.
        raise RenderError(EXIT_CONFIG, [f"policy/stacks/{stack_name}.json: {len(unknown)} setting(s) name no policy of the pack; "
                                        f"its policies are: {', '.join(names)}"])
    for name in sorted(p.name for p in policies if (levels.get(p.name) or levels.get("all")) == "disabled"):
        # A guardrail off for this stack is said, every time (never lost silently).
        print(f"{stack_name}: policy {name} is disabled for this stack by policy/stacks/{stack_name}.json", file=sys.stderr)
    violations = check(policies, [r for r in result.resources if not r.read], levels)
    if any(v.level == "mandatory" for v in violations):
        mandatory = [v.line() for v in violations if v.level == "mandatory"]
        advisory = [v.line() for v in violations if v.level != "mandatory"]
        raise RenderError(EXIT_POLICY, [f"policy pack: {len(mandatory)} mandatory violation(s); nothing written:", *mandatory, *advisory])
    return violations
