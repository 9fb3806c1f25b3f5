"""Which directories a tool may replace, and replacing one all or nothing.

Each tool (``render``, ``simulate``) writes a marker file into every output
directory naming the tool and the program's project. A later run replaces a
directory only when it is absent or empty, or when it holds nothing but files
the tool writes (:class:`Outputs` ``owns``) and its marker names the same tool
and project. A render from before markers named a project (the old marker
text, or no marker) is replaced only when its own ``plan.json`` names the same
project. Anything else (another program's or tool's output, a file someone
added, an unreadable marker, a symbolic link) is refused. So a tool never
overwrites another program's outputs, a checkout or a home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Callable, Optional

#: The marker file in every output directory the tools write.
MARKER = ".elastic-inference-render"
#: The marker the render wrote before markers named a project.
OLD_MARKER_TEXT = "written by `python -m render`; replaced by the next render\n"


class OutputDirError(ValueError):
    """An output directory the tool must not replace; the message says why and what to do."""


@dataclass(frozen=True)
class Outputs:
    """What one tool writes into its output directories."""

    tool: str
    """``render`` or ``simulate``: the marker's ``writtenBy`` is ``elastic-inference <tool>``."""
    owns: Callable[[str], bool]
    """Whether an entry of an output directory is one the tool writes (its marker aside)."""
    recorded: Callable[[str], Optional[str]] = lambda _: None
    """The project an output from before markers named one records (the render's plan.json), or None."""
    unmarked: Callable[[set[str]], bool] = lambda _: False
    """Whether a directory without the marker, of these entries, is the tool's output from before markers."""
    old_marker: bool = False
    """Whether the tool wrote :data:`OLD_MARKER_TEXT` before markers named a project."""

    def marker_text(self, project: str) -> str:
        return json.dumps({"writtenBy": f"elastic-inference {self.tool}", "project": project}, sort_keys=True) + "\n"

    def check(self, out_dir: str, project: str) -> None:
        """Raise :class:`OutputDirError` unless this tool may replace ``out_dir`` with an output of ``project``."""
        out_dir = os.path.normpath(out_dir)  # `out/` must not get past the symbolic-link test
        if not os.path.lexists(out_dir):
            return
        if os.path.islink(out_dir) or not os.path.isdir(out_dir):
            raise OutputDirError(f"{out_dir}: exists and is not a directory the {self.tool} wrote; choose another --out")
        entries = set(os.listdir(out_dir))
        if not entries:
            return
        foreign = sorted(e for e in entries if e != MARKER and not self.owns(e))
        if foreign:
            raise OutputDirError(f"{out_dir}: holds {len(foreign)} file(s) the {self.tool} does not write; it is not a {self.tool} "
                                 f"output, and the {self.tool} replaces only its own outputs: remove them or choose another --out")
        if MARKER in entries:
            self._check_marker(out_dir, project)
            return
        if not self.unmarked(entries):
            raise OutputDirError(f"{out_dir}: exists and is not a {self.tool} output (it has no {MARKER}); "
                                 f"the {self.tool} replaces only its own outputs: remove it or choose another --out")
        self._check_recorded(out_dir, project)

    def _check_recorded(self, out_dir: str, project: str) -> None:
        """An output from before markers named a project: refused when what it wrote names another one."""
        if self.recorded(out_dir) not in (None, project):
            raise OutputDirError(f"{out_dir}: holds the {self.tool} output of another program (its plan.json names another "
                                 "project); it is not replaced: choose another --out")

    def _check_marker(self, out_dir: str, project: str) -> None:
        path = os.path.join(out_dir, MARKER)
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read(4096)
        except (OSError, UnicodeDecodeError):
            text = ""
        if self.old_marker and text == OLD_MARKER_TEXT:
            self._check_recorded(out_dir, project)
            return
        try:
            owner = json.loads(text)
        except ValueError:
            owner = None
        if not isinstance(owner, dict) or not isinstance(owner.get("writtenBy"), str):
            raise OutputDirError(f"{out_dir}: its {MARKER} is not one the tools write; it is not replaced: remove it or choose another --out")
        if owner["writtenBy"] != f"elastic-inference {self.tool}":
            raise OutputDirError(f"{out_dir}: holds the output of another tool (its {MARKER} says so); it is not replaced: "
                                 "choose another --out")
        if owner.get("project") != project:
            raise OutputDirError(f"{out_dir}: holds the {self.tool} output of another program (its {MARKER} names another "
                                 "project); it is not replaced: choose another --out")

    def replace(self, out_dir: str, project: str, fill: Callable[[str], None]) -> None:
        """Make ``out_dir`` what ``fill(staging_dir)`` writes, plus the marker, all or nothing.

        ``fill`` writes into a new directory beside ``out_dir``; only when it
        has succeeded, and ``out_dir`` still passes :meth:`check` (it may have
        changed meanwhile), is the old directory removed and the new one moved
        in its place. On any failure ``out_dir`` is left as it was.
        """
        out_dir = os.path.normpath(out_dir)
        parent = os.path.dirname(os.path.abspath(out_dir))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{self.tool}-", dir=parent)
        try:
            with open(os.path.join(staging, MARKER), "w", encoding="utf-8") as fh:
                fh.write(self.marker_text(project))
            fill(staging)
            self.check(out_dir, project)
            if os.path.exists(out_dir):
                shutil.rmtree(out_dir)
            os.replace(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
