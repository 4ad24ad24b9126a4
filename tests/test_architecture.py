"""The layers, as ARCHITECTURE.md draws them: imports point down, and each outside library is
imported by its adapter alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from interview_mailcheck.catalog import all_checks, all_rules

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "interview_mailcheck"
LIBRARIES = ("smtplib", "dns", "django", "dotenv", "imaplib", "yaml", "aiosmtpd", "trustme")
"""Outside libraries, each behind an adapter (the loopback servers are test and demo peers)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


DJANGO_HOOKS = ("django.apps", "django.conf", "django.core.checks", "django.core.management")
"""What the Django app (interview_mailcheck.django) may import of Django: the framework's hooks
(an AppConfig, the check registry, a management command, the settings object), nothing that
reads or sends (django.db, django.core.mail): the adapter does that."""


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in ("adapters", "checks", "commands", "render", "cli"):
        return parts[1]
    if len(parts) > 1 and parts[1] == "django":
        return "django-app"
    if name in ("interview_mailcheck.options", "interview_mailcheck.__main__"):
        return "cli"
    if name.startswith("interview_mailcheck.loopback"):
        return "peers"
    return "domain"


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
BELOW: dict[str, frozenset[str]] = {
    # What each layer may import of the project's own layers.
    "domain": frozenset({"domain"}),
    "checks": frozenset({"domain", "checks"}),
    "adapters": frozenset({"domain", "adapters"}),
    "render": frozenset({"domain", "render"}),
    "commands": frozenset({"domain", "checks", "adapters", "render", "commands", "peers"}),
    "cli": frozenset({"domain", "commands", "render", "cli", "checks", "adapters"}),
    # An entry point like the command line, reached from manage.py: it calls cli and commands.
    "django-app": frozenset({"domain", "commands", "cli", "adapters", "django-app"}),
    "peers": frozenset({"domain", "peers"}),
}


def own_imports(path: Path) -> set[str]:
    return {
        name
        for name in imports(path)
        if name.startswith("interview_mailcheck.") and name in MODULES
    }


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down(name: str) -> None:
    allowed = BELOW[layer(name)]
    wrong = sorted(other for other in own_imports(MODULES[name]) if layer(other) not in allowed)
    assert wrong == [], f"{name} ({layer(name)}) imports {wrong}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_outside_libraries_only_in_adapters(name: str) -> None:
    if layer(name) in ("adapters", "peers"):
        return
    used = sorted(module for module in imports(MODULES[name]) if module.split(".")[0] in LIBRARIES)
    if layer(name) == "django-app":
        used = [module for module in used if not module.startswith(DJANGO_HOOKS)]
    assert used == [], f"{name} imports {used}: that is an adapter's job"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "django-app"))
def test_the_django_app_imports_absolutely(name: str) -> None:
    """`from . import x` inside interview_mailcheck.django is legal Python, and one step from
    confusing this package with Django: every import there names its module in full."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    relative = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert relative == [], f"{name}: relative imports on lines {relative}"


def test_no_adapter_imports_a_command() -> None:
    for name, path in MODULES.items():
        if layer(name) == "adapters":
            assert not [n for n in own_imports(path) if layer(n) in ("commands", "cli")], name


def test_the_layers_are_what_the_test_thinks() -> None:
    """Guard the test itself: the modules it classifies exist where it looks."""
    assert layer("interview_mailcheck.adapters.smtp") == "adapters"
    assert layer("interview_mailcheck.mailconfig") == "domain"
    assert "interview_mailcheck.checks.smtp" in MODULES
    assert "smtplib" in imports(MODULES["interview_mailcheck.adapters.smtp"])
    assert "django" in {
        name.split(".")[0] for name in imports(MODULES["interview_mailcheck.adapters.django"])
    }
    assert layer("interview_mailcheck.django.management.commands.mailcheck") == "django-app"
    assert "django.core.checks" in imports(MODULES["interview_mailcheck.django.checks"])


def test_every_rule_belongs_to_exactly_one_registered_check() -> None:
    owners: dict[str, list[str]] = {}
    for declared in all_checks():
        for rule in declared.rules:
            owners.setdefault(rule.id, []).append(f"{declared.area}.{declared.name}")
    assert {rule.id for rule in all_rules()} == set(owners)
    assert {rule_id: names for rule_id, names in owners.items() if len(names) > 1} == {}


def test_every_check_is_of_its_rules_area() -> None:
    """The area of a check is the prefix of its rules' ids (smtp.*, dns.* ...)."""
    for declared in all_checks():
        assert {rule.id.split(".")[0] for rule in declared.rules} == {declared.area}, declared


def test_no_module_is_longer_than_600_lines_unless_it_is_data() -> None:
    data = {
        "interview_mailcheck.providers",
        "interview_mailcheck.checks.smtp_rules",
        "interview_mailcheck.checks.dns_rules",
    }
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600 and name not in data
    }
    assert long == {}
