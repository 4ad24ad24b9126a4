"""The whole catalogue: imports every check module so that all rules are declared."""

from __future__ import annotations

import difflib
import importlib

from interview_mailcheck.findings import Rule, registered_rules

CHECK_MODULES = (
    "interview_mailcheck.checks.config",
    "interview_mailcheck.checks.smtp",
    "interview_mailcheck.checks.dns",
    "interview_mailcheck.checks.logs",
    "interview_mailcheck.checks.session",
    "interview_mailcheck.checks.django",
)


def all_rules() -> list[Rule]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return sorted(registered_rules(), key=lambda rule: rule.id)


def find_rule(rule_id: str) -> Rule | None:
    wanted = rule_id.strip()
    for rule in all_rules():
        if rule.id.lower() == wanted.lower():
            return rule
    return None


def close_ids(rule_id: str) -> list[str]:
    return difflib.get_close_matches(rule_id, [rule.id for rule in all_rules()], n=3, cutoff=0.6)
