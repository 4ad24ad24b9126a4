"""One `Finding` type for every command, and the catalogue of rules that produce findings.

A rule is declared once, as a module constant next to the check that uses it (Django's check
framework does the same). The rule carries the stable id, the level, a one-line title for
`mailcheck checks`, the default hint and the long explanation for `mailcheck explain`. A check
function returns `[RULE.finding(subject, ...)]` or `[]`; it never prints or exits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from interview_mailcheck.secrets import current as current_secrets

ID_PATTERN = re.compile(r"^[a-z][a-z_]*\.[EWI][0-9]{3}$")


class Level(IntEnum):
    INFO = 10
    WARNING = 20
    ERROR = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def letter(self) -> str:
        return self.name[0]


EMPTY: Mapping[str, Any] = MappingProxyType({})


class Finding(NamedTuple):
    id: str
    level: Level
    message: str
    hint: str
    subject: str
    evidence: Mapping[str, Any] = EMPTY
    context: Mapping[str, Any] = EMPTY
    """Where the finding belongs when a command checks many things: e.g. `interview_id`, or
    `step` and `duration_ms`. Rendered as top-level keys of the finding in JSON."""


_RULES: list[Rule] = []


class Rule:
    """A catalogue entry: what one finding id means and how to fix it.

    A plain class rather than a dataclass: every command imports dozens of rules, and start-up
    time is a feature (see bench/config_startup.py).
    """

    __slots__ = ("explanation", "hint", "id", "level", "message", "title")

    def __init__(
        self, *, id: str, level: Level, title: str, hint: str, explanation: str, message: str = ""
    ) -> None:
        self.id = id
        self.level = level
        self.title = title
        self.hint = hint
        self.explanation = explanation
        self.message = message
        """A str.format template for the finding's message; the title when empty."""
        _RULES.append(self)

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"

    def finding(
        self,
        subject: str,
        *,
        hint: str | None = None,
        evidence: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Finding:
        """The finding for `subject`; `fields` fill the message and hint templates.

        Every string is masked here, as it enters the finding (see secrets.py): a value that
        holds a secret (a server's reply quoting the password) never reaches a renderer.
        """
        secrets = current_secrets()
        mask = secrets.mask
        message = (self.message or self.title).format(**fields)
        return Finding(
            id=self.id,
            level=self.level,
            message=mask(message),
            hint=mask((hint if hint is not None else self.hint).format(**fields)),
            subject=mask(subject),
            evidence=secrets.mask_any(dict(evidence)) if evidence else EMPTY,
            context=secrets.mask_any(dict(context)) if context else EMPTY,
        )


def registered_rules() -> list[Rule]:
    """Every rule declared by the modules imported so far, in declaration order."""
    return list(_RULES)
