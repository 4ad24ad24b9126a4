"""Every check, declared once with its area, tags and the findings it can produce.

Like Django's `register(*tags, deploy=...)`: each check module declares its checks in one tuple,
`CHECKS`, built with `check(...)`; an expensive check (one that goes to the network or the
database) is marked so. `mailcheck checks --tag T` lists them, `doctor --only AREA` and
`--skip AREA` run a subset of areas. The commands run the checks of their area in the order
they are declared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from interview_mailcheck.findings import Rule

AREAS: dict[str, str] = {
    "config": "the email settings, offline",
    "smtp": "the live SMTP dialogue (send-test)",
    "delivery": "the test message in the recipient's mailbox (send-test --confirm)",
    "dns": "the sending domain's records and EMAIL_HOST's address",
    "session": "the app's interviews in its database",
    "django": "the settings as Django resolves them",
    "mailers": "Django 6.1's MAILERS, as Django 6.1 reads them",
    "logs": "the app's own log",
    "compare": "one process's mail settings against another's (config --compare, --compose)",
    "compose": "a docker-compose file's services and what Compose warns about (config --compose)",
}


class Check(NamedTuple):
    area: str
    name: str
    tags: tuple[str, ...]
    rules: tuple[Rule, ...]
    function: Callable[..., Any] | None = None
    expensive: bool = False
    """It talks to a server or reads the app's database: doctor runs it after the fast ones."""

    @property
    def all_tags(self) -> tuple[str, ...]:
        return (self.area, *self.tags, *(("expensive",) if self.expensive else ()))


_CHECKS: list[Check] = []


def check(
    area: str,
    name: str,
    *tags: str,
    rules: tuple[Rule, ...],
    function: Callable[..., Any] | None = None,
    expensive: bool = False,
) -> Check:
    """Declare (and register) a check."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")
    declared = Check(area, name, tags, rules, function, expensive)
    _CHECKS.append(declared)
    return declared


def registered() -> list[Check]:
    """Every check declared by the modules imported so far, in declaration order."""
    return list(_CHECKS)
