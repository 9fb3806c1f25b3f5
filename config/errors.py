"""Configuration problems, reported all at once with the key path of each."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's settings.

    ``path`` is the dotted key path as a user writes it in ``Pulumi.<stack>.yaml``
    (without the ``elastic-inference:`` namespace), e.g.
    ``services.bert.autoscaling.maxReplicas``.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(pulumi.InputPropertiesError, ValueError):
    """The stack's settings are invalid; ``problems`` lists every finding.

    It is the SDK's ``InputPropertiesError`` (``errors``: one ``property_path`` and
    ``reason`` per problem), which is how the offline render, or any tool, recognises
    bad input without knowing this program's types.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems),
                         [{"property_path": p.path, "reason": p.message} for p in self.problems])
