"""``elastic-inference render STACK [--out DIR] [--dir PROGRAM]``: the offline render.

(``elastic-inference diff BASE_DIR HEAD_DIR [--json]`` compares two renders: see ``diff/``.)

Exit codes: 0 rendered (preflight warnings and advisory policy violations are
printed); 1 the program failed or a manifest is invalid; 2 the configuration
(or a project/stack file) is unusable; 3 a mandatory policy of the program's
pack (``policy/``) is violated; 4 the preflight found what the cloud would
refuse or what would not work (``preflight/``). Nothing is written unless
everything succeeded.

This module holds the arguments and the printing; the stages are in
``pipeline.py``, the writing in ``writer.py``, the tree in ``tree.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .errors import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, RenderError
from .pipeline import render
from .stack import is_stack_name, load_stack, stack_names
from .tree import print_tree

# `render` and `RenderError` are imported from here by tests and benchmarks.
__all__ = ["RenderError", "main", "print_tree", "render"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="elastic-inference render",
        description="Render a stack offline: no Pulumi CLI, no credentials. "
        "`elastic-inference diff BASE_DIR HEAD_DIR` compares two renders.",
    )
    parser.add_argument("stack", nargs="?", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--all", action="store_true", help="render every Pulumi.*.yaml stack, each into OUT/STACK")
    parser.add_argument("--out", help="output directory (default PROGRAM/build/STACK; with --all, PROGRAM/build)")
    parser.add_argument("--dir", default=".", help="the Pulumi program's directory (default: current directory)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.all == bool(args.stack):
        parser.error("give one STACK, or --all")
    if args.all:
        return _render_all(args.out or os.path.normpath(os.path.join(args.dir, "build")), args.dir)
    # render() refuses a stack name Pulumi would refuse before it touches any directory.
    # Beside the program it renders (./build/STACK for the program in the current directory).
    out_dir = args.out or os.path.normpath(os.path.join(args.dir, "build", args.stack))
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


def _render_all(out_root: str, program_dir: str) -> int:
    """Every stack into ``out_root/STACK``; one that fails does not stop the others. Exit: the worst."""
    stacks = stack_names(program_dir) if os.path.isdir(program_dir) else []
    if not stacks:
        print(f"{program_dir}: no Pulumi.<stack>.yaml files", file=sys.stderr)
        return EXIT_CONFIG
    worst = EXIT_OK
    for stack in stacks:
        label = stack if is_stack_name(stack) else "<a stack file whose name Pulumi would refuse>"
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
