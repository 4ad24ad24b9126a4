"""`mailcheck config --settings`: does the .env file say what Django actually resolved?

The classic: the .env file configures SMTP, but settings.py never loads it (or hard-codes
another value), so Django runs the console backend and nobody notices. The settings
themselves are judged by the same checks as the .env path (checks/config.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from interview_mailcheck.checks.config import parse_bool
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.redact import describe_secret
from interview_mailcheck.settings import MAIL_SETTINGS, SECRET_SETTINGS, MailSettings

ENV_FILE_DISAGREES = Rule(
    id="django.W001",
    level=Level.WARNING,
    title="The env file and the settings Django resolved disagree",
    message=(
        "{name} is {file_value} in {file} line {line}, but Django resolved {django_value} {why}"
    ),
    hint="Make settings.py read {name} from the environment after load_dotenv()",
    explanation=(
        "The app only sees what settings.py puts into Django's settings. When settings.py never "
        "calls load_dotenv(), reads another variable name, hard-codes a value, or a variable "
        "already set in the process environment wins over the file, the .env file you edit "
        "has no effect: for example it says SMTP, and Django runs the console backend."
    ),
)

HINT_DEFAULT = (
    "settings.py never sets {name}: call load_dotenv() in settings.py and add "
    "{name} = os.environ.get('{name}') (with the right type)"
)
HINT_ENVIRONMENT = "Unset {name} in the process environment, or make it agree with the file"


def same_value(file_value: str | None, django_value: object) -> bool:
    """Whether the file's text and Django's Python value mean the same thing."""
    text = (file_value or "").strip()
    if django_value is None:
        return text == ""
    if isinstance(django_value, bool):
        return parse_bool(text) is django_value
    if isinstance(django_value, (int, float)):
        try:
            return float(text) == float(django_value)
        except ValueError:
            return False
    if isinstance(django_value, str):
        return (file_value or "") == django_value
    return text == str(django_value)


def _shown(name: str, value: object) -> str:
    if name in SECRET_SETTINGS:
        return describe_secret(value if isinstance(value, str) else None)
    return repr(value)


def _phrase(name: str, value: object) -> str:
    """The value in a sentence; a secret only by its length."""
    if name not in SECRET_SETTINGS:
        return repr(value)
    if not isinstance(value, str):
        return "no value"
    return f"a value of {len(value)} characters" if value else "an empty value"


def check_env_file_agrees(settings: MailSettings, environ: Mapping[str, str]) -> list[Finding]:
    """One warning per variable whose file value differs from Django's resolved value."""
    resolved, env_file = settings.django, settings.env_file
    if resolved is None or env_file is None:
        return []
    lines = {b.key: b.line for b in env_file.bindings if b.key is not None}
    findings: list[Finding] = []
    for name in MAIL_SETTINGS:
        if name not in env_file.values:
            continue
        file_value = env_file.values[name]
        django_value = resolved.values.get(name)
        if same_value(file_value, django_value):
            continue
        from_environment = name in environ and same_value(environ[name], django_value)
        if name not in resolved.overridden:
            why, hint = "(Django's default: the settings module does not set it)", HINT_DEFAULT
        elif from_environment:
            why = "(from the process environment, which load_dotenv() does not override)"
            hint = HINT_ENVIRONMENT
        else:
            why, hint = f"(set by {resolved.module})", ENV_FILE_DISAGREES.hint
        findings.append(
            ENV_FILE_DISAGREES.finding(
                name,
                hint=hint,
                name=name,
                file_value=_phrase(name, file_value),
                file=settings.env_file_path,
                line=lines.get(name, 0),
                django_value=_phrase(name, django_value),
                why=why,
                evidence={
                    "file": _shown(name, file_value),
                    "django": _shown(name, django_value),
                    "django_type": type(django_value).__name__,
                    "set_by": resolved.module if name in resolved.overridden else "Django default",
                },
            )
        )
    return findings


def settings_rows(settings: MailSettings) -> list[dict[str, str]]:
    """The settings table: each Python value as Django holds it (its repr shows the type)."""
    resolved = settings.django
    assert resolved is not None
    rows = []
    for name in MAIL_SETTINGS:
        value = resolved.values.get(name)
        source = resolved.module if name in resolved.overridden else "Django default"
        rows.append({"name": name, "value": _shown(name, value), "source": source})
    return rows
