"""``elastic-inference render|diff|simulate``: one command for the offline tools.

``render`` (``render/cli.py``), ``diff`` (``render/diff/cli.py``) and
``simulate`` (``simulate/cli.py``) each keep their own arguments and exit
codes; this module dispatches to them, and says what to install when a
dependency of the ``tools`` extra is missing (before anything is imported).
"""

from __future__ import annotations

import importlib
import os
import re
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
DISTRIBUTION = "elastic-inference-components"


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
    missing = missing_tools()
    if missing:
        print(f"elastic-inference {args[0]}: {', '.join(missing)} not installed: install the tools with "
              f"pip install \"{DISTRIBUTION}[tools]\"", file=sys.stderr)
        return EXIT_USAGE
    command: Callable[[list[str]], int] = importlib.import_module(COMMANDS[args[0]][0], __package__).main
    try:
        return command(args[1:])
    except BrokenPipeError:
        # A reader that stopped early (`elastic-inference diff ... --json | head`): nothing left to tell it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def missing_tools() -> list[str]:
    """The distributions of the ``tools`` extra (as the installed package's metadata lists them, from
    pyproject.toml) that are not installed; none when the package is not installed (a checkout)."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requires:
        name, _, marker = requirement.partition(";")
        if "extra" not in marker or '"tools"' not in marker:
            continue
        found = re.match(r"[A-Za-z0-9._-]+", name.strip())
        distribution = found.group(0) if found else name.strip()
        try:
            metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            missing.append(distribution)
    return missing


def usage() -> str:
    lines = ["usage: elastic-inference COMMAND [ARGS]   (elastic-inference COMMAND --help: its arguments)",
             "       elastic-inference --version", "", "commands:"]
    lines += [f"  {name:<9} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "(not installed)"
