"""`mailcheck config`: load the settings, run the offline checks, build the report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interview_mailcheck import secrets
from interview_mailcheck.checks.config import ConfigResult, analyse
from interview_mailcheck.mailconfig import describe_target, settings_rows
from interview_mailcheck.report import Recorder, Report, Section

if TYPE_CHECKING:
    from interview_mailcheck.settings import DjangoResolved


def config_report(
    env_file: Path | None,
    *,
    strict: bool,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
) -> Report:
    """The settings of the env file and the environment (or, with `settings_module`, those
    Django resolves), judged."""
    result = analyse_settings(env_file, settings_module, pythonpath)
    return Report(
        "config",
        result.runs,
        headline=headline(result),
        sections=[settings_section(result)],
        strict=strict,
    )


def analyse_settings(
    env_file: Path | None, settings_module: str | None, pythonpath: Path | None
) -> ConfigResult:
    """What every command that judges the settings starts from."""
    if settings_module is not None:
        return analyse_django(env_file, settings_module, pythonpath)
    from interview_mailcheck.commands.inputs import load_settings  # python-dotenv

    return analyse(load_settings(env_file))


def analyse_django(
    env_file: Path | None,
    module: str,
    pythonpath: Path | None,
    *,
    resolved: DjangoResolved | None = None,
    compare_env_file: bool = True,
) -> ConfigResult:
    """The settings Django resolved from `module`: their types, then judged like a .env, then
    compared with the env file (the one named, else the one next to manage.py).

    `resolved`: settings already read (a Django configured in this process); without
    `compare_env_file` no file is read and nothing is compared (the system checks)."""
    from interview_mailcheck.adapters.django import resolve_mail_settings
    from interview_mailcheck.checks import django as django_checks
    from interview_mailcheck.settings import env_file_location, from_django

    folder = pythonpath or Path.cwd()
    if resolved is None:
        resolved = resolve_mail_settings(module, folder)
    # The env file named, else the one next to manage.py (where load_dotenv() finds it), if any.
    path, named = env_file_location(env_file)
    if not named:
        path = folder / ".env"
    file = None
    if compare_env_file and (named or path.exists()):
        from interview_mailcheck.adapters.envfile import read_env_file  # python-dotenv

        file = read_env_file(path)
    settings = from_django(resolved, path, file)
    recorder = Recorder()
    recorder.run("django_types", lambda: django_checks.check_types(settings))
    result = analyse(settings, recorder)
    recorder.run(
        "env_file_agrees", lambda: django_checks.check_env_file_agrees(settings, os.environ)
    )
    return ConfigResult(result.config, recorder.runs)


def analyse_configured(django_settings: Any) -> ConfigResult:
    """The settings of the Django configured in this process (`manage.py check`), judged as
    `config --settings` judges a module, less what reads a file: the env-file comparison."""
    from interview_mailcheck.adapters.django import configured_mail_settings

    secrets.current().add_all(secrets.from_environment(os.environ))
    resolved = configured_mail_settings(django_settings)
    return analyse_django(None, resolved.module, None, resolved=resolved, compare_env_file=False)


def headline(result: ConfigResult) -> str:
    settings = result.config.settings
    target = describe_target(result.config)
    resolved = settings.django
    if resolved is None:
        source = (
            f"{settings.env_file_path} and the environment"
            if settings.env_file
            else "the environment (no env file)"
        )
        return f"settings from {source}; {target}"
    compared = f", compared with {settings.env_file_path}" if settings.env_file else ""
    where = f" ({resolved.file})" if resolved.file else ""
    return f"settings resolved by Django from {resolved.module}{where}{compared}; {target}"


def settings_section(result: ConfigResult) -> Section:
    """The settings table: what the app sees (or what Django resolved), the password only as
    set/length."""
    settings = result.config.settings
    if settings.django is None:
        return Section("settings", "Settings (what the app sees)", settings_rows(result.config))
    from interview_mailcheck.checks.django import settings_rows as django_rows

    return Section("settings", "Settings (what Django resolved)", django_rows(settings))
