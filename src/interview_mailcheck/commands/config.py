"""`mailcheck config`: load the settings, run the offline checks, build the report."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from interview_mailcheck import mailers, secrets
from interview_mailcheck.checks.client_certificate import judge_client_certificate
from interview_mailcheck.checks.config import ConfigResult, analyse
from interview_mailcheck.errors import InputError
from interview_mailcheck.findings import Finding
from interview_mailcheck.mailconfig import MailConfig, describe_target, interpret, settings_rows
from interview_mailcheck.report import Recorder, Report, Section
from interview_mailcheck.settings import DjangoResolved, EnvFile


def config_report(
    env_file: Path | None,
    *,
    strict: bool,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
    mailer: str | None = None,
    compare: Path | None = None,
    compose: Path | None = None,
) -> Report:
    """The settings of the env file and the environment (or, with `settings_module`, those
    Django resolves), judged; with `compare`, compared with that env file; with `compose`,
    those of each service of the compose file instead (commands/compare.py)."""
    if compose is not None:
        from interview_mailcheck.commands.compare import compose_report

        return compose_report(compose, env_file, strict=strict)
    if compare is not None:
        from interview_mailcheck.commands.compare import compare_report

        return compare_report(env_file, compare, strict=strict)
    result = analyse_settings(env_file, settings_module, pythonpath, mailer)
    return Report(
        "config",
        result.runs,
        headline=headline(result),
        sections=[settings_section(result)],
        strict=strict,
    )


def analyse_settings(
    env_file: Path | None,
    settings_module: str | None,
    pythonpath: Path | None,
    mailer: str | None = None,
) -> ConfigResult:
    """What every command that judges the settings starts from. `mailer` is the MAILERS alias
    whose settings the result's config holds (the one send-test walks; default 'default')."""
    if settings_module is not None:
        return analyse_django(env_file, settings_module, pythonpath, mailer)
    if mailer is not None:
        raise InputError("--mailer names one of Django's MAILERS: it needs --settings MODULE")
    from interview_mailcheck.commands.inputs import load_settings  # python-dotenv

    recorder = Recorder()
    result = analyse(load_settings(env_file), recorder)
    recorder.run("client_certificate_files", lambda: certificate_files(result.config))
    return ConfigResult(result.config, recorder.runs)


def certificate_files(config: MailConfig) -> list[Finding]:
    """EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE loaded as Django loads them, when it will."""
    if not config.builds_client_context or config.client_certificate is None:
        return []
    from interview_mailcheck.adapters.tls import client_certificate_problem

    return judge_client_certificate(client_certificate_problem(*config.client_certificate))


def analyse_django(
    env_file: Path | None,
    module: str,
    pythonpath: Path | None,
    mailer: str | None = None,
    *,
    resolved: DjangoResolved | None = None,
    compare_env_file: bool = True,
) -> ConfigResult:
    """The settings Django resolved from `module`: their types, then judged like a .env, then
    compared with the env file (the one named, else the one next to manage.py). With Django
    6.1's MAILERS, every mailer is judged instead (analyse_mailers).

    `resolved`: settings already read (a Django configured in this process); without
    `compare_env_file` no env file is read and nothing is compared (the system checks)."""
    from interview_mailcheck.adapters.django_settings import resolve_mail_settings
    from interview_mailcheck.checks import django as django_checks
    from interview_mailcheck.checks import mailers as mailer_checks
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
    if mailers.in_use(resolved):
        return analyse_mailers(resolved, path, file, mailer)
    if mailer is not None:
        version = ".".join(map(str, resolved.django_version))
        why = (
            f"Django {version} ignores MAILERS (it is read from Django 6.1)"
            if resolved.has_mailers
            else f"{module} defines no MAILERS"
        )
        raise InputError(f"--mailer {mailer!r}: {why}")
    settings = from_django(resolved, path, file)
    recorder = Recorder()
    recorder.run("mailers", lambda: mailer_checks.check_mailers(resolved))
    recorder.run("django_types", lambda: django_checks.check_types(settings))
    result = analyse(settings, recorder)
    recorder.run("client_certificate_files", lambda: certificate_files(result.config))
    if compare_env_file:
        recorder.run(
            "env_file_agrees", lambda: django_checks.check_env_file_agrees(settings, os.environ)
        )
    recorder.run("mailers_migration", lambda: mailer_checks.check_migration(resolved))
    return ConfigResult(result.config, recorder.runs)


def analyse_mailers(
    resolved: DjangoResolved, path: Path, file: EnvFile | None, mailer: str | None
) -> ConfigResult:
    """Every mailer of MAILERS judged: the shape of each, then its OPTIONS by the checks of the
    EMAIL_* settings they replace, in the words of MAILERS; a finding that says the same for
    several mailers (DEFAULT_FROM_EMAIL's) once. The config is that of `mailer` (default
    'default', else the first)."""
    from interview_mailcheck.checks import django as django_checks
    from interview_mailcheck.checks import mailers as mailer_checks

    named = mailers.aliases(resolved)
    if mailer is not None and mailer not in named:
        raise InputError(
            f"--mailer {mailer!r}: MAILERS has no such mailer (it defines "
            f"{', '.join(repr(alias) for alias in named) or 'none usable'})"
        )
    chosen = mailer or (mailers.DEFAULT_ALIAS if mailers.DEFAULT_ALIAS in named else None)
    chosen = chosen or (named[0] if named else mailers.DEFAULT_ALIAS)
    recorder = Recorder()
    recorder.run("mailers", lambda: mailer_checks.check_mailers(resolved))
    seen: set[tuple[str, str, str]] = set()
    config = None
    for alias in named:
        settings = mailers.as_settings(resolved, alias, path, file)
        inner = Recorder()
        inner.run("django_types", partial(django_checks.check_types, settings))
        result = analyse(settings, inner)
        inner.run("client_certificate_files", partial(certificate_files, result.config))
        if alias == chosen:
            config = result.config
        for run in inner.runs:
            if run.skipped:
                recorder.skip(f"{run.name}[{alias}]", mailers.words(run.skipped, alias))
                continue
            kept = []
            for finding in (mailers.speak(finding, alias) for finding in run.findings):
                key = (finding.id, finding.subject, finding.message)
                if key not in seen:
                    seen.add(key)
                    kept.append(finding)
            recorder.add(f"{run.name}[{alias}]", kept, run.duration_ms)
    if config is None:  # no mailer to judge: the defaults Django would have, for the headline
        config = interpret(mailers.as_settings(resolved, chosen, path, file))
    return ConfigResult(config, recorder.runs)


def analyse_configured(django_settings: Any) -> ConfigResult:
    """The settings of the Django configured in this process (`manage.py check`), judged as
    `config --settings` judges a module, less what reads the env file (its comparison) and the
    migration note of Django 6.1 (mailers.I002)."""
    from interview_mailcheck.adapters.django_settings import configured_mail_settings

    secrets.current().add_all(secrets.from_environment(os.environ))
    resolved = configured_mail_settings(django_settings)
    result = analyse_django(None, resolved.module, None, resolved=resolved, compare_env_file=False)
    # Django 6.1 itself warns at start-up for each deprecated EMAIL_* setting: the MAILERS they
    # become (mailers.I002) is for `manage.py mailcheck config`, not every start of the project.
    runs = [run for run in result.runs if run.name != "mailers_migration"]
    return ConfigResult(result.config, runs)


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
    compared = (
        f", compared with {settings.env_file_path}"
        if settings.env_file and settings.mailer is None
        else ""
    )
    where = f" ({resolved.file})" if resolved.file else ""
    version = ".".join(map(str, resolved.django_version))
    mailer = f"MAILERS[{settings.mailer!r}]: " if settings.mailer is not None else ""
    return (
        f"settings resolved by Django {version} from {resolved.module}{where}{compared}; "
        f"{mailer}{target}"
    )


def settings_section(result: ConfigResult) -> Section:
    """The settings table: what the app sees (or what Django resolved), the password only as
    set/length."""
    settings = result.config.settings
    if settings.django is None:
        return Section("settings", "Settings (what the app sees)", settings_rows(result.config))
    if settings.mailer is not None:
        return Section(
            "settings", "Settings (MAILERS, as Django resolved them)", mailers.rows(settings.django)
        )
    from interview_mailcheck.checks.django import settings_rows as django_rows

    return Section("settings", "Settings (what Django resolved)", django_rows(settings))
