"""Running a Pulumi program under the SDK's mock runtime and recording what it registers.

The program runs as in ``pulumi preview``: inputs are what the program sends
to the engine, outputs that only a cloud provider could compute stay unknown,
and nothing leaves the machine. The monitor records every registration with
its resource options, which the mock API alone does not expose.
"""

from __future__ import annotations

import os
import runpy
import sys
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from pulumi.runtime import mocks, rpc, settings, stack as runtime_stack
from pulumi.runtime.config import set_all_config
from pulumi.runtime.sync_await import _sync_await

from .stack import Stack

UNKNOWN = "[unknown]"
SECRET = "[secret]"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    inputs: Any
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    read: bool = False


@dataclass
class RunResult:
    stack_urn: str
    resources: list[Registration]
    outputs: dict[str, Any]


class _PreviewMocks(mocks.Mocks):
    """Echo inputs as outputs, as a preview does; ids and provider-computed values stay unknown."""

    def new_resource(self, args: mocks.MockResourceArgs):
        if args.resource_id:  # a read of an existing resource (Resource.get)
            state = dict(args.inputs)
            if args.typ == "alicloud:oss/bucket:Bucket":
                state.setdefault("bucket", args.resource_id)
            return args.resource_id, state
        return "", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs):
        # Invoke results need the cloud; offline they are unknown placeholders.
        return {"id": UNKNOWN}


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mocks_: mocks.Mocks):
        super().__init__(mocks_)
        self.registrations: list[Registration] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: the root stack's type is not part of its children's URNs.
        if parent.split("::")[2:3] == ["pulumi:pulumi:Stack"]:
            parent = ""
        return super().make_urn(parent, type_, name)

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(self._record(response.urn, request, read=False))
        return response

    def ReadResource(self, request):  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)
        self.registrations.append(self._record(response.urn, request, read=True))
        return response

    @staticmethod
    def _record(urn: str, request: Any, read: bool) -> Registration:
        props = request.properties if read else request.object
        inputs = rpc.deserialize_properties(props, keep_unknowns=True)
        return Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=True if read else bool(request.custom),
            inputs=mask(inputs),
            protect=bool(getattr(request, "protect", False)),
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            ignore_changes=list(getattr(request, "ignoreChanges", [])),
            depends_on=sorted(set(getattr(request, "dependencies", []))),
            read=read,
        )


def mask(value: Any) -> Any:
    """Replace secrets by ``[secret]`` and unknowns by ``[unknown]``, recursively."""
    if rpc.is_rpc_secret(value):
        return _redact(rpc.unwrap_rpc_secret(value))
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format carries every number as a double.
        return int(value)
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return {"asset": getattr(value, "path", None) or getattr(value, "uri", None) or "[asset]"}
    return value


def _redact(value: Any) -> Any:
    """A secret's shape (keys, list lengths) with every value replaced by ``[secret]``."""
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return SECRET


def run_program(stack: Stack) -> RunResult:
    """Run ``stack``'s program in preview mode; raises whatever the program raises."""
    preview_mocks = _PreviewMocks()
    monitor = _RecordingMonitor(preview_mocks)
    settings.reset_options(project=stack.project, stack=stack.name, preview=True)
    mocks.set_mocks(preview_mocks, project=stack.project, stack=stack.name, preview=True, monitor=monitor)
    set_all_config(dict(stack.config), list(stack.secret_keys))
    root = settings.get_root_resource()
    program_dir = os.path.abspath(stack.program_dir)

    def program() -> None:
        cwd, path = os.getcwd(), list(sys.path)
        os.chdir(program_dir)
        sys.path.insert(0, program_dir)
        try:
            runpy.run_path(stack.main, run_name="__main__")
        finally:
            os.chdir(cwd)
            sys.path[:] = path

    _sync_await(runtime_stack.run_pulumi_func(program))
    outputs = {name: _sync_await(_resolve(value)) for name, value in sorted(root.outputs.items())}
    stack_urn = monitor.make_urn("", "pulumi:pulumi:Stack", f"{stack.project}-{stack.name}")
    # Registration order depends on asyncio scheduling; URN order is stable across runs.
    resources = sorted(monitor.registrations, key=lambda r: r.urn)
    return RunResult(stack_urn=stack_urn, resources=resources, outputs=outputs)


async def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    if await out.is_secret():
        return SECRET
    if not await out.is_known():
        return UNKNOWN
    return mask(await out.future(with_unknowns=True))
