"""Configuration problems, reported all at once with the key path of each."""

from __future__ import annotations

from dataclasses import dataclass


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


class ConfigError(ValueError):
    """The stack's settings are invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))
