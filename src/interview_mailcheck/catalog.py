"""The whole catalogue: every check module imported, so that every check and rule is declared.

`mailcheck checks` and `mailcheck explain` read it; nothing else needs every module at once.
"""

from __future__ import annotations

import difflib
import importlib
import json

from interview_mailcheck.errors import InputError
from interview_mailcheck.findings import Rule, registered_rules
from interview_mailcheck.registry import Check, registered

CHECK_MODULES = (
    "interview_mailcheck.checks.config",
    "interview_mailcheck.checks.compare",
    "interview_mailcheck.checks.compose",
    "interview_mailcheck.checks.smtp",
    "interview_mailcheck.checks.delivery",
    "interview_mailcheck.checks.dns",
    "interview_mailcheck.checks.logs",
    "interview_mailcheck.checks.session",
    "interview_mailcheck.checks.database",
    "interview_mailcheck.checks.candidate_address",
    "interview_mailcheck.checks.django",
    "interview_mailcheck.checks.mailers",
)


def _load() -> None:
    for module in CHECK_MODULES:
        importlib.import_module(module)


def all_rules() -> list[Rule]:
    _load()
    return sorted(registered_rules(), key=lambda rule: rule.id)


def all_checks() -> list[Check]:
    _load()
    return registered()


def checks_of(rule: Rule) -> list[Check]:
    return [declared for declared in all_checks() if rule in declared.rules]


def catalogue(tags: tuple[str, ...] = (), *, as_json: bool = False) -> str:
    """The finding ids (of the checks with one of `tags`, when given) as text or JSON."""
    checks = all_checks()
    chosen = [c for c in checks if not tags or set(tags) & set(c.all_tags)]
    if not chosen:
        known = sorted({tag for c in checks for tag in c.all_tags})
        raise InputError(
            f"no check has the tag {', '.join(map(repr, tags))}; tags: {', '.join(known)}"
        )
    rows = sorted(
        (
            {
                "id": rule.id,
                "level": rule.level.label,
                "title": rule.title,
                "check": f"{declared.area}.{declared.name}",
                "tags": list(declared.all_tags),
            }
            for declared in chosen
            for rule in declared.rules
        ),
        key=lambda row: str(row["id"]),
    )
    if as_json:
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    width = max(len(str(row["id"])) for row in rows)
    check_width = max(len(str(row["check"])) for row in rows)
    return "".join(
        f"{str(row['id']).ljust(width)}  {row['level']!s:<7}  "
        f"{str(row['check']).ljust(check_width)}  {row['title']}\n"
        for row in rows
    )


DJANGO_PREFIX = "mailcheck."
"""Before every id in `manage.py check` (mailcheck.config.E001): `explain` takes it too."""


def find_rule(rule_id: str) -> Rule | None:
    wanted = rule_id.strip()
    if wanted.lower().startswith(DJANGO_PREFIX):
        wanted = wanted[len(DJANGO_PREFIX) :]
    for rule in all_rules():
        if rule.id.lower() == wanted.lower():
            return rule
    return None


def close_ids(rule_id: str) -> list[str]:
    return difflib.get_close_matches(rule_id, [rule.id for rule in all_rules()], n=3, cutoff=0.6)


def general_fix(hint: str) -> str:
    """A rule's fix as `explain` shows it: the parts each finding fills in shown as <name>;
    a fix that is wholly per finding (the provider's, the reply's) said to be so."""
    import string

    parts = list(string.Formatter().parse(hint))
    if all(not literal.strip() for literal, _, _, _ in parts):
        return "given with each finding: it depends on what was found (the provider, the reply)"
    return "".join(
        literal + (f"<{name}>" if name is not None else "") for literal, name, _, _ in parts
    )
