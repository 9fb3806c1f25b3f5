"""``elastic-inference diff BASE_DIR HEAD_DIR [--json]``: the command line of the diff (see ``__init__.py``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

from .compare import diff_plans
from .plans import DiffInputError, has_plans, load_plans
from .report import failed_render_comment, to_json, to_markdown

EXIT_OK, EXIT_UNUSABLE = 0, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="elastic-inference diff",
        description="Compare two offline renders: per stack, what would be created, updated, replaced and deleted.",
    )
    parser.add_argument("base", nargs="?", help="render output of the base: a plan.json directory, or a directory of them (one per stack)")
    parser.add_argument("head", nargs="?", help="render output of the head, in the same form")
    parser.add_argument("--json", action="store_true", help="print JSON for machines instead of Markdown")
    parser.add_argument("--base-may-be-empty", action="store_true",
                        help="a BASE with no plan at all (no stack rendered at the base) counts as no stacks: all are new")
    parser.add_argument("--failed-log", metavar="LOG", help="instead: the comment for a head that does not render, with its render log")
    args = parser.parse_args(argv)
    if args.failed_log:
        try:
            with open(args.failed_log, encoding="utf-8", errors="replace") as fh:
                log = fh.read()
        except OSError:
            log = "(the render left no log)"
        sys.stdout.write(failed_render_comment(log))
        return EXIT_OK
    if not args.base or not args.head:
        parser.error("give BASE and HEAD, or --failed-log LOG")
    try:
        empty = args.base_may_be_empty and (not os.path.isdir(args.base) or not has_plans(args.base))
        base, head = ({} if empty else load_plans(args.base)), load_plans(args.head)
    except DiffInputError as exc:
        print(f"elastic-inference diff: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    for stack in sorted(set(base) & set(head)):
        if base[stack].get("project") != head[stack].get("project"):
            # URNs name the project: every resource would show as deleted and created.
            print(f"elastic-inference diff: {stack}: BASE and HEAD are renders of different projects; their resources cannot match",
                  file=sys.stderr)
    try:
        diffs = diff_plans(base, head)
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as exc:
        print(f"elastic-inference diff: the plans could not be compared ({type(exc).__name__}); are both written by `elastic-inference render`?",
              file=sys.stderr)
        return EXIT_UNUSABLE
    if args.json:
        json.dump(to_json(diffs), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_markdown(diffs))
    return EXIT_OK
