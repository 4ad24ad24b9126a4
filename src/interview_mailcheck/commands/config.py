"""`mailcheck config`: load the settings, run the offline checks, build the report."""

from __future__ import annotations

import os
from pathlib import Path

from interview_mailcheck.checks.config import ConfigResult, analyse, describe_target, settings_rows
from interview_mailcheck.findings import Finding
from interview_mailcheck.report import Report, Section
from interview_mailcheck.settings import load_settings


def config_report(
    env_file: Path | None,
    *,
    strict: bool,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
) -> Report:
    if settings_module is not None:
        return django_config_report(env_file, settings_module, pythonpath, strict=strict)
    settings = load_settings(env_file)
    result = analyse(settings)
    source = (
        f"{settings.env_file_path} and the environment"
        if settings.env_file
        else "the environment (no env file)"
    )
    return Report(
        command="config",
        findings=result.findings,
        headline=f"settings from {source}; {describe_target(result.config)}",
        sections=[
            Section("settings", "Settings (what the app sees)", settings_rows(result.config))
        ],
        strict=strict,
    )


def analyse_django(
    env_file: Path | None, module: str, pythonpath: Path | None
) -> tuple[ConfigResult, list[Finding]]:
    """The settings Django resolved from `module`, judged like a .env, then compared with it:
    the analysis, and every finding (the type checks and the comparison included)."""
    from interview_mailcheck.adapters.django import resolve_mail_settings
    from interview_mailcheck.adapters.envfile import read_env_file
    from interview_mailcheck.checks import django as django_checks
    from interview_mailcheck.settings import env_file_location, from_django

    folder = pythonpath or Path.cwd()
    resolved = resolve_mail_settings(module, folder)
    # The env file named, else the one next to manage.py (where load_dotenv() finds it), if any.
    path, named = env_file_location(env_file)
    if not named:
        path = folder / ".env"
    file = read_env_file(path) if named or path.exists() else None
    settings = from_django(resolved, path, file)
    types = django_checks.check_types(settings)
    agrees = django_checks.check_env_file_agrees(settings, os.environ)
    result = analyse(settings)
    checks = (("django_types", types), *result.checks, ("env_file_agrees", agrees))
    result = result._replace(checks=checks)
    return result, types + result.findings + agrees


def django_config_report(
    env_file: Path | None, module: str, pythonpath: Path | None, *, strict: bool
) -> Report:
    """The settings Django resolved from `module`, judged like a .env, then compared with it."""
    from interview_mailcheck.checks import django as django_checks

    result, findings = analyse_django(env_file, module, pythonpath)
    settings = result.config.settings
    resolved = settings.django
    assert resolved is not None
    path, file = settings.env_file_path, settings.env_file
    compared = f", compared with {path}" if file else ""
    where = f" ({resolved.file})" if resolved.file else ""
    return Report(
        command="config",
        findings=findings,
        headline=(
            f"settings resolved by Django from {module}{where}{compared}; "
            f"{describe_target(result.config)}"
        ),
        sections=[
            Section(
                "settings", "Settings (what Django resolved)", django_checks.settings_rows(settings)
            )
        ],
        strict=strict,
    )
