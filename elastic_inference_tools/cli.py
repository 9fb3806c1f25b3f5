"""``elastic-inference render|diff|simulate``: one command for the offline tools.

``render`` (``render/cli.py``), ``diff`` (``render/diff/cli.py``) and
``simulate`` (``simulate/cli.py``) each keep their own arguments and exit
codes; this module dispatches to them and says what to install when the
tools' dependencies (the ``tools`` extra) are missing.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from typing import Callable, Optional, Sequence

#: command -> (module, summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": (".render.cli", "run a stack's program offline: validate, preflight, policy pack; write plan.json and manifests"),
    "diff": (".render.diff.cli", "compare two renders: what would be created, updated, replaced, deleted"),
    "simulate": (".simulate.cli", "play a traffic trace through a rendered service's autoscaling"),
}
EXIT_USAGE = 2
#: Modules of the ``tools`` extra (pyproject.toml), by the distribution that brings each.
_EXTRA = {"yaml": "PyYAML", "jsonschema": "jsonschema", "jsonschema_rs": "jsonschema-rs", "kubernetes_validate": "kubernetes-validate",
          "pulumi_policy": "pulumi-policy", "matplotlib": "matplotlib"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else EXIT_USAGE
    if args[0] == "--version":
        print(f"elastic-inference {version()}")
        return 0
    if args[0] not in COMMANDS:
        print(f"elastic-inference: unknown command {args[0][:40]!r}\n\n{usage()}", file=sys.stderr)
        return EXIT_USAGE
    try:
        command: Callable[[list[str]], int] = importlib.import_module(COMMANDS[args[0]][0], __package__).main
    except ModuleNotFoundError as exc:
        if exc.name not in _EXTRA:
            raise
        print(f"elastic-inference {args[0]}: {_EXTRA[exc.name]} is not installed: install the tools with "
              "pip install \"elastic-inference-components[tools]\"", file=sys.stderr)
        return EXIT_USAGE
    return command(args[1:])


def usage() -> str:
    lines = ["usage: elastic-inference COMMAND [ARGS] (elastic-inference COMMAND --help for its arguments)", "", "commands:"]
    lines += [f"  {name:<9} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def version() -> str:
    try:
        return metadata.version("elastic-inference-components")
    except metadata.PackageNotFoundError:
        return "(not installed)"
