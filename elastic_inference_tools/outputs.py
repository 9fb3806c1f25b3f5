"""Which directories a tool may replace: its own earlier outputs for the same program, nothing else.

Each tool (``render``, ``simulate``) writes a marker file into every output
directory, naming the tool and the program's project. A later run replaces the
directory only when it is absent, empty, or holds that tool's marker for the
same project (or, from before the marker named a project, the tool's marker or
exactly the files the tool wrote). So a render of one program never overwrites
another program's outputs, a checkout or a home directory.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Optional

#: The marker file in every output directory the tools write.
MARKER = ".elastic-inference-render"


class OutputDirError(ValueError):
    """An output directory the tool must not replace; the message says why and what to do."""


def marker_text(tool: str, project: str) -> str:
    """The marker's content: which tool wrote the directory, for which program."""
    return json.dumps({"writtenBy": f"elastic-inference {tool}", "project": project}, sort_keys=True) + "\n"


def check(out_dir: str, tool: str, project: str, earlier: Callable[[set[str]], bool],
          recorded: Callable[[str], Optional[str]] = lambda _: None) -> None:
    """Raise :class:`OutputDirError` unless ``tool`` may replace ``out_dir`` with an output of ``project``.

    ``earlier(entries)`` says whether a directory without the marker holds
    exactly what the tool wrote before markers existed; ``recorded(out_dir)`` is
    the project such an earlier output records, if it records one.
    """
    if not os.path.lexists(out_dir):
        return
    if os.path.islink(out_dir) or not os.path.isdir(out_dir):
        raise OutputDirError(f"{out_dir}: exists and is not a directory the {tool} wrote; choose another --out")
    entries = set(os.listdir(out_dir))
    if not entries:
        return
    if MARKER not in entries and not earlier(entries):
        raise OutputDirError(f"{out_dir}: exists and is not a {tool} output (it has no {MARKER}); "
                             f"the {tool} replaces only its own outputs: remove it or choose another --out")
    owner = _owner(os.path.join(out_dir, MARKER)) if MARKER in entries else None
    if owner is None:
        # From before markers named their program: this tool's by the rule of its time, unless what it
        # wrote names another project.
        other = recorded(out_dir)
        if other is not None and other != project:
            raise OutputDirError(f"{out_dir}: holds the {tool} output of another program (another project); "
                                 "it is not replaced: choose another --out")
        return
    if owner.get("writtenBy") != f"elastic-inference {tool}":
        raise OutputDirError(f"{out_dir}: holds the output of another tool (its {MARKER} says so); it is not replaced: choose another --out")
    if owner.get("project") != project:
        raise OutputDirError(f"{out_dir}: holds the {tool} output of another program (its {MARKER} names another project); "
                             "it is not replaced: choose another --out")


def _owner(path: str) -> dict[str, object] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            found = json.load(fh)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
