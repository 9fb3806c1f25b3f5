"""The stack's settings: schema, defaults and validation (DESIGN.md contract).

``load()`` reads them through ``pulumi.Config``; ``from_raw()`` validates a
plain mapping (used by the offline render and the tests). Both raise
:class:`ConfigError` naming the key path of every problem.
"""

from .errors import ConfigError, Problem
from .loader import PROJECT, from_raw, load
from .schema import Settings

__all__ = ["ConfigError", "Problem", "PROJECT", "Settings", "from_raw", "load"]
