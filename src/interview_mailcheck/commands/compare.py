"""`mailcheck config --compare ENV_FILE` and `mailcheck config --compose FILE`: the mail settings
of more than one process, each judged, then compared with each other.

--compare: the first env file (`--env-file`, else $MAILCHECK_ENV_FILE, else ./.env) is judged
as plain `mailcheck config` judges it, the process environment laid over it; then the two files
are compared as files, with neither overlaid by this shell's environment (a worker started
elsewhere does not share it). `${VAR}` inside either file resolves as load_dotenv() would here.

--compose: each service's container environment, as Docker Compose computes it from this
shell's environment and the project's .env (`--env-file` replaces that .env, as Compose's own
`--env-file` does); every service that sets an EMAIL_* setting or EMAIL_URL is judged, then
compared with the reference service: `web` when it is one of them, else the one that sets the
most mail settings (the first by name on a tie).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from interview_mailcheck import secrets
from interview_mailcheck.checks.compare import (
    Side,
    check_environment_left_out,
    compare_settings,
    comparison_rows,
)
from interview_mailcheck.checks.config import ConfigResult, analyse
from interview_mailcheck.commands.inputs import load_settings
from interview_mailcheck.errors import InputError
from interview_mailcheck.mailconfig import describe_target
from interview_mailcheck.report import Recorder, Report, Section
from interview_mailcheck.settings import (
    MAIL_SETTINGS,
    READ_SETTINGS,
    SECRET_SETTINGS,
    URL_SETTING,
    MailSettings,
    Setting,
    env_file_location,
    merge,
    remember_secret,
)

REFERENCE = "web"
"""The service the others are compared with, when it has mail settings."""

MAIL_VARIABLES = frozenset(
    {*(name for name in MAIL_SETTINGS if name.startswith("EMAIL_")), URL_SETTING}
)
"""A service that declares one of these has mail settings (DEFAULT_FROM_EMAIL alone does not)."""

NOT_COMPOSE_FORMAT = (
    "the services' env files are in Compose's format, read as Compose reads them; this check "
    "is about python-dotenv's"
)
COMPOSE_SKIPS = {"env_file": NOT_COMPOSE_FORMAT, "shadowing": NOT_COMPOSE_FORMAT}


def compare_report(env_file: Path | None, other: Path, *, strict: bool) -> Report:
    """The first env file judged (with the environment, as `mailcheck config`), then compared
    with `other`, file to file."""
    from interview_mailcheck.adapters.envfile import read_env_file
    from interview_mailcheck.commands.config import headline, settings_section

    path, named = env_file_location(env_file)
    if not named and not path.exists():
        raise InputError(
            f"--compare compares two env files, and the first, {path}, is not there:"
            " name it with --env-file"
        )
    second = merge(other, read_env_file(other), {})  # its secrets are known before any finding
    settings = load_settings(env_file)
    first = merge(path, settings.env_file, {})
    recorder = Recorder()
    result = analyse(settings, recorder)
    sides = Side(str(path), first.values), Side(str(other), second.values)
    recorder.run("compare", lambda: compare_settings(*sides))
    in_environment = [name for name in READ_SETTINGS if name in os.environ]
    recorder.run(
        "compare_environment", lambda: check_environment_left_out(str(path), in_environment)
    )
    return Report(
        "config",
        recorder.runs,
        headline=f"{headline(result)}; {path} compared with {other}, file to file",
        sections=[
            settings_section(result),
            Section(
                "comparison",
                f"Comparison (first: {path}, second: {other}, file to file)",
                comparison_rows(*sides),
            ),
        ],
        strict=strict,
    )


def compose_report(compose_file: Path, env_file: Path | None, *, strict: bool) -> Report:
    """Every service with mail settings judged, then compared with the reference service."""
    from interview_mailcheck.adapters.compose import read_compose
    from interview_mailcheck.checks.compose import check_services, check_warnings

    project = read_compose(
        compose_file, os.environ, env_files=[env_file] if env_file is not None else None
    )
    environments = {name: service.values for name, service in project.services.items()}
    for values in environments.values():
        _remember_secrets(values)
    with_mail = [name for name, values in environments.items() if MAIL_VARIABLES & set(values)]
    without = [name for name in environments if name not in with_mail]
    file = project.path.name
    recorder = Recorder()
    recorder.run(
        "compose_warnings",
        lambda: check_warnings(file, project.warning_services, list(environments)),
    )
    recorder.run("compose_services", lambda: check_services(file, with_mail, without))
    if not with_mail:
        return Report(
            "config",
            recorder.runs,
            headline=f"services of {file}: none has mail settings",
            strict=strict,
        )
    reference = choose_reference(with_mail, environments)
    ordered = [reference, *(name for name in with_mail if name != reference)]
    sides = {
        name: Side(
            name, _settings(project.services[name].values, project.services[name].origins), True
        )
        for name in ordered
    }
    results: dict[str, ConfigResult] = {}
    for name in ordered:
        results[name] = _analyse_service(name, sides[name], project.path, recorder)
    rows: list[dict[str, str]] = []
    for name in ordered[1:]:
        rows += _compare_services(sides[reference], sides[name], recorder)
    targets = ", ".join(
        f"{name} ({'the reference; ' if name == reference else ''}"
        f"{describe_target(results[name].config)})"
        for name in ordered
    )
    left_out = f"; {', '.join(without)} without mail settings" if without else ""
    sections = [
        Section(
            "services",
            "Settings of each service (what its container sees)",
            [
                {"service": name, **row}
                for name in ordered
                for row in _settings_rows(sides[name].settings)
            ],
        )
    ]
    if rows:
        sections.append(Section("comparison", f"Comparison with {reference}", rows))
    return Report(
        "config",
        recorder.runs,
        headline=f"services of {file}: {targets}{left_out}",
        sections=sections,
        strict=strict,
    )


def choose_reference(with_mail: list[str], environments: Mapping[str, Mapping[str, object]]) -> str:
    """`web` when it has mail settings, else the service that sets the most of them (the
    first by name on a tie)."""
    if REFERENCE in with_mail:
        return REFERENCE

    def count(name: str) -> int:
        values = environments[name]
        return sum(1 for setting in READ_SETTINGS if values.get(setting) is not None)

    return max(sorted(with_mail), key=count)


def _remember_secrets(values: Mapping[str, str | None]) -> None:
    """A service's secrets, before any finding quotes its settings."""
    known = {name: value for name, value in values.items() if value is not None}
    secrets.current().add_all(secrets.from_environment(known))
    for name in SECRET_SETTINGS:
        remember_secret(name, known.get(name))
    user, password = known.get("EMAIL_HOST_USER"), known.get("EMAIL_HOST_PASSWORD")
    if user and password:
        secrets.current().add_login(user, password)


def _settings(values: Mapping[str, str | None], origins: Mapping[str, str]) -> dict[str, Setting]:
    return {name: Setting(name, values.get(name), origins.get(name, "-")) for name in READ_SETTINGS}


def _analyse_service(name: str, side: Side, compose: Path, recorder: Recorder) -> ConfigResult:
    """The config checks over one service's settings, its runs and findings marked with it."""
    settings = MailSettings(dict(side.settings), compose, None, ())
    result = analyse(settings, Recorder(), skip=COMPOSE_SKIPS)
    for run in result.runs:
        run.name = f"{name}: {run.name}"
        run.findings = [
            finding._replace(context={"service": name, **finding.context})
            for finding in run.findings
        ]
        recorder.runs.append(run)
    return result


def _compare_services(reference: Side, other: Side, recorder: Recorder) -> list[dict[str, str]]:
    """`other` compared with the reference, recorded; the rows of the comparison table."""
    recorder.run(
        f"{other.name}: compare with {reference.name}", lambda: compare_settings(reference, other)
    )
    return [{"service": other.name, **row} for row in comparison_rows(reference, other)]


def _settings_rows(settings: Mapping[str, Setting]) -> list[dict[str, str]]:
    return [
        {"name": name, "value": setting.shown(), "source": setting.origin}
        for name, setting in settings.items()
        if setting.value is not None or setting.origin != "-"
    ]
