"""The offline render: run the program under Pulumi's mock runtime and write what it would deploy.

For other tools: :func:`render_stack` (``render_stack(program_dir, stack) -> Rendered``)
runs one stack's program and returns what it declares, raising :class:`RenderError`
(``.code``, ``.lines``) on a configuration or program failure.
"""

from .errors import RenderError
from .pipeline import Rendered, render_stack

__all__ = ["RenderError", "Rendered", "render_stack"]
