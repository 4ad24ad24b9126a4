"""Django 6.1's MAILERS: named mailers, each a BACKEND and OPTIONS, read as Django 6.1 reads them.

    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "smtp.gmail.com", "use_tls": True, "username": ..., ...},
        },
    }

What Django 6.1 does with them (django/core/mail/handler.py and backends/smtp.py):

- BACKEND defaults to the SMTP backend; OPTIONS become the backend's keyword arguments, so an
  option the backend does not take is an error when the mailer is first used ("Unknown options
  'user'."), and so is an option named 'alias';
- the SMTP backend requires 'host' (no default, where EMAIL_HOST defaults to localhost), refuses
  use_tls with use_ssl, and defaults the port from them: 465 with use_ssl, 587 with use_tls,
  else 25 (EMAIL_PORT is 25 whatever the mode);
- with MAILERS defined, the EMAIL_* transport settings are refused at start-up
  (ImproperlyConfigured) and unreadable (settings.EMAIL_HOST raises AttributeError);
- without MAILERS, Django 6.1 builds the "default" mailer from the EMAIL_* settings, with a
  deprecation warning; Django before 6.1 ignores MAILERS altogether.

A mailer's OPTIONS are given the names of the EMAIL_* settings they replace (`as_settings`), so
the checks of the EMAIL_* settings judge them too; `speak` then words their findings in terms of
MAILERS (`MAILERS['default']['OPTIONS']['port']`, `'use_tls': True`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from interview_mailcheck.findings import Finding
from interview_mailcheck.report import CheckRun
from interview_mailcheck.settings import (
    DJANGO_DEFAULT,
    DjangoResolved,
    EnvFile,
    MailSettings,
    from_django,
)

DEFAULT_ALIAS = "default"
FIRST_VERSION = (6, 1)
"""The first Django that reads MAILERS."""
BACKEND_KEY, OPTIONS_KEY = "BACKEND", "OPTIONS"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

SETTING_OF_OPTION: Mapping[str, str] = {
    "host": "EMAIL_HOST",
    "port": "EMAIL_PORT",
    "username": "EMAIL_HOST_USER",
    "password": "EMAIL_HOST_PASSWORD",
    "use_tls": "EMAIL_USE_TLS",
    "use_ssl": "EMAIL_USE_SSL",
    "timeout": "EMAIL_TIMEOUT",
    "ssl_certfile": "EMAIL_SSL_CERTFILE",
    "ssl_keyfile": "EMAIL_SSL_KEYFILE",
}
"""The SMTP backend's OPTIONS, and the EMAIL_* setting each replaces."""
OPTION_OF_SETTING: Mapping[str, str] = {
    setting: option for option, setting in SETTING_OF_OPTION.items()
}
KNOWN_OPTIONS: Mapping[str, frozenset[str]] = {
    SMTP_BACKEND: frozenset({*SETTING_OF_OPTION, "fail_silently"}),
    "django.core.mail.backends.console.EmailBackend": frozenset({"stream", "fail_silently"}),
    "django.core.mail.backends.filebased.EmailBackend": frozenset(
        {"file_path", "stream", "fail_silently"}
    ),
    "django.core.mail.backends.locmem.EmailBackend": frozenset({"fail_silently"}),
    "django.core.mail.backends.dummy.EmailBackend": frozenset({"fail_silently"}),
}
"""The OPTIONS each of Django's own backends takes; any other is an error when the mailer is
built. A third-party backend's are its own business."""
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "plain": 25}
"""The port the SMTP backend uses when OPTIONS give none, by mode."""


def reads_mailers(resolved: DjangoResolved) -> bool:
    """This Django reads MAILERS (6.1 and later)."""
    return resolved.django_version >= FIRST_VERSION


def in_use(resolved: DjangoResolved | None) -> bool:
    """The mail settings are MAILERS: defined, and read by this Django."""
    return resolved is not None and resolved.has_mailers and reads_mailers(resolved)


def aliases(resolved: DjangoResolved) -> list[str]:
    """The aliases MAILERS defines with a mapping each (the others are reported, not walked)."""
    mailers = resolved.mailers
    if not isinstance(mailers, Mapping):
        return []
    return [alias for alias, entry in mailers.items() if isinstance(entry, Mapping)]


def entry(resolved: DjangoResolved, alias: str) -> Mapping[str, object]:
    mailers = resolved.mailers
    found = mailers.get(alias) if isinstance(mailers, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def options(resolved: DjangoResolved, alias: str) -> Mapping[str, object]:
    found = entry(resolved, alias).get(OPTIONS_KEY, {})
    return found if isinstance(found, Mapping) else {}


def backend(resolved: DjangoResolved, alias: str) -> object:
    return entry(resolved, alias).get(BACKEND_KEY, SMTP_BACKEND)


def path(alias: str, option: str | None = None, key: str = OPTIONS_KEY) -> str:
    """How a finding names the place: MAILERS['default']['OPTIONS']['port']."""
    where = f"MAILERS[{alias!r}][{key!r}]"
    return f"{where}[{option!r}]" if option is not None else where


def as_settings(
    resolved: DjangoResolved, alias: str, env_file_path: Path, env_file: EnvFile | None
) -> MailSettings:
    """A mailer's BACKEND and OPTIONS under the names of the EMAIL_* settings they replace, so
    that the same checks judge them; each value's origin is its place in MAILERS."""
    chosen = options(resolved, alias)
    values: dict[str, object] = dict(resolved.values)
    overridden = {name for name in resolved.overridden if name not in OPTION_OF_SETTING}
    overridden.discard("EMAIL_BACKEND")
    for option, setting in SETTING_OF_OPTION.items():
        values[setting] = chosen.get(option)
        if option in chosen:
            overridden.add(setting)
    if BACKEND_KEY in entry(resolved, alias):
        values["EMAIL_BACKEND"] = backend(resolved, alias)
        overridden.add("EMAIL_BACKEND")
    as_resolved = resolved._replace(values=values, overridden=frozenset(overridden))
    settings = from_django(as_resolved, env_file_path, env_file)
    origins = {
        name: (
            path(alias, OPTION_OF_SETTING[name])
            if name in OPTION_OF_SETTING
            else path(alias, key=BACKEND_KEY)
        )
        for name in (*SETTING_OF_OPTION.values(), "EMAIL_BACKEND")
        if name in overridden
    }
    renamed = {
        name: (setting._replace(origin=origins[name]) if name in origins else setting)
        for name, setting in settings.values.items()
    }
    for name in (*SETTING_OF_OPTION.values(), "EMAIL_BACKEND"):
        if name not in overridden and renamed[name].origin == DJANGO_DEFAULT:
            renamed[name] = renamed[name]._replace(origin="not in OPTIONS")
    return settings._replace(values=renamed, mailer=alias)


# --- Findings in the words of MAILERS --------------------------------------------------------

_ASSIGNMENT = re.compile(r"(?<!['\"])\b(EMAIL_[A-Z_]+)=([^\s,;)]+)")
_NAME = re.compile(r"(?<!['\"])\bEMAIL_[A-Z_]+\b")
"""A setting's name, not inside quotes: os.getenv('EMAIL_PORT') names a variable, kept."""


def _literal(value: str) -> str:
    if value in ("True", "False", "None") or re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return repr(value.strip("'\""))


def words(text: str, alias: str) -> str:
    """`text` with each EMAIL_* setting a mailer replaces named by its place in MAILERS:
    `EMAIL_USE_TLS=True` becomes `'use_tls': True (in MAILERS[...]['OPTIONS'])`, EMAIL_PORT
    MAILERS['default']['OPTIONS']['port'], EMAIL_BACKEND MAILERS['default']['BACKEND']."""
    places: set[str] = set()

    def assignment(match: re.Match[str]) -> str:
        name, value = match.groups()
        if name in OPTION_OF_SETTING:
            places.add(path(alias))
            return f"{OPTION_OF_SETTING[name]!r}: {_literal(value)}"
        if name == "EMAIL_BACKEND":
            places.add(f"MAILERS[{alias!r}]")
            return f"{BACKEND_KEY!r}: {_literal(value)}"
        return match.group(0)

    def bare(match: re.Match[str]) -> str:
        name = match.group(0)
        if name in OPTION_OF_SETTING:
            return path(alias, OPTION_OF_SETTING[name])
        if name == "EMAIL_BACKEND":
            return path(alias, key=BACKEND_KEY)
        return name

    said = _ASSIGNMENT.sub(assignment, text)
    if places:
        said = f"{said} (in {' and '.join(sorted(places))})"
    return _NAME.sub(bare, said)


def speak(finding: Finding, alias: str) -> Finding:
    """A finding about a mailer's settings in the words of MAILERS; one about one of its OPTIONS
    (or its BACKEND) is marked with the alias (`mailer` in JSON)."""
    subject = words(finding.subject, alias)
    context = {**finding.context, "mailer": alias} if subject != finding.subject else None
    return finding._replace(
        subject=subject,
        message=words(finding.message, alias),
        hint=words(finding.hint, alias),
        context=context if context is not None else finding.context,
    )


def speak_runs(runs: list[CheckRun], alias: str | None) -> list[CheckRun]:
    """The runs of a walk over a mailer's settings, their findings in the words of MAILERS
    (unchanged when `alias` is None: the EMAIL_* settings)."""
    if alias is None:
        return runs
    return [
        CheckRun(
            run.name,
            [speak(finding, alias) for finding in run.findings],
            words(run.skipped, alias),
            run.duration_ms,
        )
        for run in runs
    ]


def snippet(resolved: DjangoResolved) -> str:
    """The MAILERS that says what the module's EMAIL_* settings say (Django's defaults left
    out), on one line; the password as the variable it is best read from, never its value."""
    chosen: dict[str, str] = {}
    for setting, option in OPTION_OF_SETTING.items():
        if setting not in resolved.overridden:
            continue
        value = resolved.values.get(setting)
        if setting == "EMAIL_HOST_PASSWORD":
            chosen[option] = "os.environ['EMAIL_HOST_PASSWORD']"
        elif setting in ("EMAIL_USE_TLS", "EMAIL_USE_SSL"):
            chosen[option] = repr(bool(value))
        else:
            chosen[option] = repr(value)
    written = ", ".join(f"{option!r}: {value}" for option, value in chosen.items())
    backend = resolved.values.get("EMAIL_BACKEND") or SMTP_BACKEND
    return (
        f"MAILERS = {{{DEFAULT_ALIAS!r}: {{{BACKEND_KEY!r}: {backend!r}, "
        f"{OPTIONS_KEY!r}: {{{written}}}}}}}"
    )


def rows(resolved: DjangoResolved) -> list[dict[str, str]]:
    """The settings table of a MAILERS project: each mailer's BACKEND and OPTIONS as Django
    holds them (the password only as set/length), then the settings MAILERS does not replace."""
    from interview_mailcheck.secrets import describe_secret

    found: list[dict[str, str]] = []
    for alias in aliases(resolved):
        held = entry(resolved, alias)
        if BACKEND_KEY in held:
            found.append(
                {
                    "name": path(alias, key=BACKEND_KEY),
                    "value": repr(held[BACKEND_KEY]),
                    "source": resolved.module,
                }
            )
        for option, value in options(resolved, alias).items():
            shown = describe_secret(value) if option == "password" else repr(value)
            found.append(
                {"name": path(alias, str(option)), "value": shown, "source": resolved.module}
            )
    for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
        source = resolved.module if name in resolved.overridden else DJANGO_DEFAULT
        found.append({"name": name, "value": repr(resolved.values.get(name)), "source": source})
    return found
