"""``elastic-inference diff BASE_DIR HEAD_DIR [--json]``: what a change would do, offline.

Compares two render outputs (a ``plan.json`` directory, or a directory of them,
one per stack) and reports per stack the resources to create, update, replace
and delete, with property-level before/after. It flags what the providers
replace rather than update (see ``replacements.py``) and changes that touch
protected resources. Secrets are never shown: a secret is "changed" or not,
told by the digest of its ``secure:`` ciphertext.

Exit codes: 0 the diff was produced (changes or not); 2 an input is unusable.

Modules: ``plans`` (loading render outputs, checking their shape), ``model``
(the changes found), ``compare`` (two plans -> changes), ``report`` (JSON and
Markdown), ``cli`` (the command line).
"""

from .cli import EXIT_OK, EXIT_UNUSABLE, main
from .compare import changes, diff_plans, diff_stack, join, moved
from .model import MODEL_DATA, Change, ResourceChange, StackDiff
from .plans import MAX_DEPTH, MAX_PARENTS, MAX_PLAN_BYTES, DiffInputError, load_plans
from .report import MARKER, escape, failed_render_comment, fenced, pre, to_json, to_markdown

__all__ = [
    "EXIT_OK", "EXIT_UNUSABLE", "MARKER", "MAX_DEPTH", "MAX_PARENTS", "MAX_PLAN_BYTES", "MODEL_DATA",
    "Change", "DiffInputError", "ResourceChange", "StackDiff",
    "changes", "diff_plans", "diff_stack", "escape", "failed_render_comment", "fenced", "join", "load_plans", "main",
    "moved", "pre", "to_json", "to_markdown",
]
