"""The resource tree the render prints, like ``pulumi preview``'s, and its count."""

from __future__ import annotations

from typing import Optional, TextIO

from .engine import Registration, RunResult


def print_tree(result: RunResult, stack_name: str, project: str, out: TextIO) -> None:
    """A resource tree like ``pulumi preview``'s, and a count."""
    children: dict[Optional[str], list[Registration]] = {}
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
