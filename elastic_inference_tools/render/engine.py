"""Running a Pulumi program under the SDK's mock runtime and recording what it registers.

The program runs as in ``pulumi preview``: inputs are what the program sends
to the engine, outputs that only a cloud provider could compute stay unknown,
and nothing leaves the machine. The monitor records every registration with
its resource options, which the mock API alone does not expose.
"""

from __future__ import annotations

import contextlib
import gc
import os
import runpy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks, rpc, settings, stack as runtime_stack
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.config import set_all_config
from pulumi.runtime.sync_await import _sync_await

from .stack import Stack

UNKNOWN = "[unknown]"
SECRET = "[secret]"

# The SDK's MockMonitor methods carry no annotations: this class calls them as what they are,
# a request in and a response out.
_SdkMethod = Callable[[Any], Any]


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
    #: input property -> URNs its value was computed from
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    #: former URNs of this resource (its own aliases and those inherited from its parents)
    aliases: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    stack_urn: str
    resources: list[Registration]
    outputs: dict[str, Any]
    #: the policy pack's advisory violations (set by the render)
    violations: list[Any] = field(default_factory=list)
    #: the preflight's warnings (set by the render)
    findings: list[Any] = field(default_factory=list)


class _PreviewMocks(mocks.Mocks):
    """Echo inputs as outputs, as a preview does; ids and provider-computed values stay unknown."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        if args.resource_id:  # a read of an existing resource (Resource.get)
            state = dict(args.inputs)
            if args.typ == "alicloud:oss/bucket:Bucket":
                state.setdefault("bucket", args.resource_id)
            return args.resource_id, state
        return "", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], Optional[list[tuple[str, str]]]]:
        # Never reached: the monitor answers data sources itself (and the SDK's monitor answers
        # getResource without it). No return value, no check failures.
        return {}, []


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mocks_: mocks.Mocks):
        super().__init__(mocks_)
        self.registrations: list[Registration] = []

    def make_urn(self, parent: str, type_: str, name: str, stack: str = "", project: str = "") -> str:
        # As the engine does: a child's type is prefixed by its parent's whole qualified type
        # (the mock API keeps only the parent's last type); the root stack's is not.
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([stack or settings.get_stack(), project or settings.get_project(), type_, name])

    # Alias specs, as the engine takes them: the SDK sends each resource's own aliases and leaves
    # the ones its children inherit to the engine (here: to `render diff`, which derives them from
    # the parents' as the engine does). Resolving every descendant's inherited aliases in the SDK
    # instead costs a fifth of a render whose components moved under a parent.
    def alias_urn(self, alias: Any, request: resource_pb2.RegisterResourceRequest) -> str:
        """The former URN an alias (a URN, or a spec relative to the resource) names."""
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name, spec.stack, spec.project)

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:  # noqa: N802 - gRPC method name
        # A preview echoes the inputs as outputs: answer with the request's own
        # properties, without the mock API's deserialize/serialize round trip.
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=from_struct(request.object),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=list(request.ignoreChanges),
                depends_on=sorted(set(request.dependencies)),
                aliases=sorted(set(request.aliasURNs) | {self.alias_urn(a, request) for a in request.aliases}),
                property_dependencies={
                    prop: sorted(set(deps.urns)) for prop, deps in sorted(request.propertyDependencies.items()) if deps.urns
                },
            )
        )
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, "", {})
        return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=request.object)

    def Invoke(self, request: resource_pb2.ResourceInvokeRequest) -> resource_pb2.ResourceInvokeResponse:  # noqa: N802 - gRPC method name
        # A data source reads the cloud: offline its result is wholly unknown, as the engine
        # answers an invoke it cannot serve yet, and every value computed from it stays unknown.
        if request.tok == "pulumi:pulumi:getResource":
            sdk: _SdkMethod = super().Invoke
            answer: resource_pb2.ResourceInvokeResponse = sdk(request)
            return answer
        return resource_pb2.ResourceInvokeResponse(unknown=True)

    def ReadResource(self, request: resource_pb2.ReadResourceRequest) -> resource_pb2.ReadResourceResponse:  # noqa: N802 - gRPC method name
        sdk: _SdkMethod = super().ReadResource
        response: resource_pb2.ReadResourceResponse = sdk(request)
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=True,
                inputs=from_struct(request.properties),
                depends_on=sorted(set(request.dependencies)),
                read=True,
            )
        )
        return response


def from_struct(struct: struct_pb2.Struct) -> Any:
    """Wire properties as plain data (an object, unless the whole struct is one secret, asset or resource
    reference): secrets redacted to ``[secret]``, unknowns ``[unknown]``.

    Reads the protobuf directly (the SDK's deserializer would build Outputs and
    resources only to take them apart again).
    """
    return _struct(struct)


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text == rpc.UNKNOWN else text
    if kind == "number_value":
        number = value.number_value
        # The wire format carries every number as a double.
        return int(number) if number.is_integer() else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    if kind == "struct_value":
        return _struct(value.struct_value)
    return None


def _struct(struct: struct_pb2.Struct) -> Any:
    fields = struct.fields
    if rpc._special_sig_key in fields:  # noqa: SLF001 - the wire format's marker key
        sig = fields[rpc._special_sig_key].string_value  # noqa: SLF001
        if sig == rpc._special_secret_sig:  # noqa: SLF001
            return _redact(_value(fields["value"]))
        if sig == rpc._special_output_value_sig:  # noqa: SLF001
            inner = _value(fields["value"]) if "value" in fields else UNKNOWN
            secret = "secret" in fields and fields["secret"].bool_value
            return _redact(inner) if secret else inner
        if sig in (rpc._special_asset_sig, rpc._special_archive_sig):  # noqa: SLF001
            for key in ("path", "uri"):
                if key in fields:
                    return {"asset": fields[key].string_value}
            return {"asset": "[asset]"}
        if sig == rpc._special_resource_sig:  # noqa: SLF001
            return fields["urn"].string_value
    return {key: _value(v) for key, v in fields.items()}


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


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one render.

    A mock run allocates about a hundred short-lived asyncio objects per
    resource; with the collector on, its passes over the imported SDKs (tens of
    thousands of long-lived objects) take about 45% of a 100-service render.
    The imported objects are frozen out of the collector and collection waits
    until the render is over; reference counting still frees most garbage.
    At the end everything allocated meanwhile joins the oldest generation (a
    list splice), so re-enabling does not start a young-generation pass over
    the whole render's objects; cycles among them wait for the next full
    collection, which a command-line render ends before.
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def run_program(stack: Stack) -> RunResult:
    """Run ``stack``'s program in preview mode; raises whatever the program raises."""
    preview_mocks = _PreviewMocks()
    monitor = _RecordingMonitor(preview_mocks)
    settings.reset_options(project=stack.project, stack=stack.name, preview=True)
    mocks.set_mocks(preview_mocks, project=stack.project, stack=stack.name, preview=True, monitor=monitor)
    set_all_config(dict(stack.config), list(stack.secret_keys))
    root = settings.get_root_resource()
    if not isinstance(root, runtime_stack.Stack):  # set_mocks registers it
        raise RuntimeError("the mock runtime has no root stack resource")
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

    _forget_foreign_modules(program_dir)
    _sync_await(runtime_stack.run_pulumi_func(program))
    outputs = {name: _sync_await(_resolve(value)) for name, value in sorted(root.outputs.items())}
    stack_urn = monitor.make_urn("", "pulumi:pulumi:Stack", f"{stack.project}-{stack.name}")
    # Registration order depends on asyncio scheduling; URN order is stable across runs.
    resources = sorted(monitor.registrations, key=lambda r: r.urn)
    return RunResult(stack_urn=stack_urn, resources=resources, outputs=outputs)


def _forget_foreign_modules(program_dir: str) -> None:
    """Unload modules named like the program's own packages but loaded from elsewhere.

    Rendering another checkout (``--dir ../base``) from this one must run that
    checkout's ``config`` and ``components``, not those this process imported
    first. The renderer's own package is never unloaded.
    """
    own = __name__.split(".")[0]
    for entry in os.listdir(program_dir):
        path = os.path.join(program_dir, entry)
        if entry.endswith(".py") and entry != "__main__.py":
            name = entry[: -len(".py")]
        elif os.path.isfile(os.path.join(path, "__init__.py")):
            name = entry
        else:
            continue
        if name == own:
            continue
        root = os.path.realpath(path[: -len(".py")] if entry.endswith(".py") else path)
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            origin = getattr(sys.modules[loaded], "__file__", None)
            if origin and not os.path.realpath(origin).startswith(root):
                del sys.modules[loaded]


async def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    if await out.is_secret():
        return SECRET
    if not await out.is_known():
        return UNKNOWN
    return mask(await out.future(with_unknowns=True))
