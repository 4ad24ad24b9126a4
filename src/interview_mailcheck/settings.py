"""The email settings the app would actually see, and where each value came from.

The app calls `load_dotenv()`, which never overrides a variable already set in the process
environment. So the value of a setting is the environment's when set there, else the file's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from interview_mailcheck import secrets

MAIL_SETTINGS: tuple[str, ...] = (
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
    "EMAIL_TIMEOUT",
    "EMAIL_SSL_CERTFILE",
    "EMAIL_SSL_KEYFILE",
)
OPTIONAL_SETTINGS = frozenset({"EMAIL_SSL_CERTFILE", "EMAIL_SSL_KEYFILE"})
"""Settings most projects never set: shown in the settings table only when they are."""
URL_SETTING = "EMAIL_URL"
"""One URL for all of them (django-environ's env.email_url(), dj-email-url); holds the password."""
READ_SETTINGS: tuple[str, ...] = (*MAIL_SETTINGS, URL_SETTING)
SECRET_SETTINGS = frozenset({"EMAIL_HOST_PASSWORD", URL_SETTING})
ENV_FILE_VARIABLE = "MAILCHECK_ENV_FILE"
DEFAULT_ENV_FILE = Path(".env")


class EnvBinding(NamedTuple):
    """One statement of an env file as python-dotenv parsed it."""

    key: str | None
    value: str | None
    line: int
    original: str
    """The statement's text as written (can span several lines)."""
    error: bool
    """python-dotenv could not parse the statement and skipped it."""


class EnvFile(NamedTuple):
    """An env file as read (adapters/envfile.py fills it)."""

    path: Path
    text: str
    bindings: tuple[EnvBinding, ...]
    values: Mapping[str, str | None]
    """The values after interpolation, as `load_dotenv()` computes them (the last key wins)."""


class Setting(NamedTuple):
    name: str
    value: str | None
    """What the app sees; None when the variable is set nowhere."""
    origin: str
    """'environment', '<file> line <n>', or '-' when set nowhere."""

    @property
    def is_secret(self) -> bool:
        return self.name in SECRET_SETTINGS

    def shown(self) -> str:
        """The value as it may be printed: secrets only by whether they are set and their length."""
        if self.name == URL_SETTING and self.value:
            from interview_mailcheck.email_url import mask_password

            return repr(mask_password(self.value))
        if self.is_secret:
            return secrets.describe_secret(self.value)
        return "not set" if self.value is None else repr(self.value)


class Shadow(NamedTuple):
    """A variable set in the environment that hides a different value in the file."""

    name: str
    environment_value: str
    file_value: str | None
    file_line: int


class DjangoResolved(NamedTuple):
    """The email settings as Django resolved them from a settings module (`--settings`)."""

    module: str
    file: str | None
    values: Mapping[str, object]
    """Each setting's Python value, of whatever type settings.py gave it (or Django's default)."""
    overridden: frozenset[str]
    """The settings the module sets itself; the others are Django's defaults."""
    django_version: tuple[int, int] = (0, 0)
    """The Django that resolved them (major, minor)."""
    mailers: object = None
    """Django 6.1's MAILERS as the module defines it (any type); None when it does not."""
    has_mailers: bool = False
    """The module defines MAILERS (whatever its value)."""
    refused: str = ""
    """Why Django refused the settings at start-up (MAILERS with deprecated EMAIL_* settings);
    the values are then the module's own, as written."""


class MailSettings(NamedTuple):
    values: Mapping[str, Setting]
    env_file_path: Path
    env_file: EnvFile | None
    """None when the default ./.env does not exist (CI often passes settings as variables)."""
    shadowed: tuple[Shadow, ...]
    django: DjangoResolved | None = None
    """With --settings: the values are Django's, and the env file is only compared with them."""
    mailer: str | None = None
    """The MAILERS alias these settings are the OPTIONS of (their origins name it); None for
    the EMAIL_* settings."""

    def get(self, name: str) -> str | None:
        return self.values[name].value

    def origin(self, name: str) -> str:
        return self.values[name].origin


def env_file_location(option: Path | None) -> tuple[Path, bool]:
    """The env file to read, and whether it must exist (only the implicit ./.env may be absent)."""
    if option is not None:
        return option, True
    from_environment = os.environ.get(ENV_FILE_VARIABLE)
    if from_environment:
        return Path(from_environment), True
    return DEFAULT_ENV_FILE, False


def remember_secrets(env_file: EnvFile) -> None:
    """Register every value written for a secret, on any line, as parsed or not.

    A line can hide inside another value (a runaway quote) or be skipped by the parser; its
    text may still reach a message, so it is masked like the parsed value.
    """
    remember_secrets_in(env_file.text)


def remember_secrets_in(text: str) -> None:
    """The secrets written in an env file's text, before it is parsed (or if it cannot be)."""
    for match in _SECRET_ASSIGNMENT.finditer(text):
        name, raw = match.group(1), match.group(2).strip()
        if name == URL_SETTING:  # the password inside the URL, not the URL
            remember_secret(name, raw.strip("'\""))
            continue
        for value in (raw, raw.strip("'\""), raw.split(" #", 1)[0].strip("'\" ")):
            remember_secret(name, value)


def remember_secret(name: str, value: object) -> None:
    """The value of a secret setting: EMAIL_HOST_PASSWORD itself, or EMAIL_URL's password."""
    if name != URL_SETTING:
        secrets.current().add(value)
    elif isinstance(value, str):
        secrets.current().add_all(secrets.from_environment({name: value}))


_SECRET_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:export[ \t]+)?(" + "|".join(sorted(SECRET_SETTINGS)) + r")[ \t]*=(.*)$",
    re.MULTILINE,
)


def merge(path: Path, env_file: EnvFile | None, environ: Mapping[str, str]) -> MailSettings:
    if env_file is not None:
        remember_secrets(env_file)
    file_values = env_file.values if env_file else {}
    lines = _last_lines(env_file)
    values: dict[str, Setting] = {}
    shadowed: list[Shadow] = []
    for name in READ_SETTINGS:
        file_value = file_values.get(name)
        if name in SECRET_SETTINGS:
            remember_secret(name, file_value)
            remember_secret(name, environ.get(name))
        if name in environ:
            values[name] = Setting(name, environ[name], "environment")
            if file_value is not None and file_value != environ[name]:
                shadowed.append(Shadow(name, environ[name], file_value, lines.get(name, 0)))
        elif file_value is not None:
            values[name] = Setting(name, file_value, f"{path} line {lines.get(name, 0)}")
        else:
            values[name] = Setting(name, None, "-")
    return MailSettings(values, path, env_file, tuple(shadowed))


def _last_lines(env_file: EnvFile | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    for binding in env_file.bindings if env_file else ():
        if binding.key is not None:
            lines[binding.key] = binding.line
    return lines


DJANGO_DEFAULT = "Django default"


def django_text(value: object) -> str | None:
    """A Python setting as the text checks read; bool and int as str() writes them."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):  # EMAIL_SSL_CERTFILE = BASE_DIR / "client.pem"
        return os.fspath(value)  # type: ignore[no-any-return]
    if isinstance(value, (bool, int, float)):
        return str(value)
    return repr(value)


def from_django(
    resolved: DjangoResolved, env_file_path: Path, env_file: EnvFile | None
) -> MailSettings:
    """The settings Django resolved, as the same checks as the env-file path read them.

    A setting the module leaves to Django's default counts as not set, so the checks say what
    Django then does (port 25, no timeout, webmaster@localhost...).
    """
    if env_file is not None:
        remember_secrets(env_file)
    for name in SECRET_SETTINGS:
        remember_secret(name, resolved.values.get(name))
    values: dict[str, Setting] = {URL_SETTING: Setting(URL_SETTING, None, "-")}
    for name in MAIL_SETTINGS:
        value = resolved.values.get(name)
        if name not in resolved.overridden:
            values[name] = Setting(name, None, DJANGO_DEFAULT)
        elif name in ("EMAIL_USE_TLS", "EMAIL_USE_SSL"):
            # Django tests the switches for truth: the string 'False' switches TLS on.
            values[name] = Setting(name, str(bool(value)), resolved.module)
        elif name == "EMAIL_PORT" and value == "":
            # `port or default`: smtplib falls back to 25, as if it were not set.
            values[name] = Setting(name, None, resolved.module)
        else:
            values[name] = Setting(name, django_text(value), resolved.module)
    return MailSettings(values, env_file_path, env_file, (), resolved)
