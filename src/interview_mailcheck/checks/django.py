"""`mailcheck config --settings`: does the .env file say what Django actually resolved?

The classic: the .env file configures SMTP, but settings.py never loads it (or hard-codes
another value), so Django runs the console backend and nobody notices. The settings
themselves are judged by the same checks as the .env path (checks/config.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import parse_bool
from interview_mailcheck.registry import check
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    MAIL_SETTINGS,
    OPTIONAL_SETTINGS,
    SECRET_SETTINGS,
    MailSettings,
)

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

SWITCH_IS_STRING = Rule(
    id="django.E001",
    level=Level.ERROR,
    title="A TLS/SSL switch is a string: Django reads any non-empty string as true",
    message="{name} is the string {value!r} (str): Django reads it as {seen}",
    hint=(
        "Cast it in settings.py: {name} = os.getenv('{name}', 'False').lower() in "
        "('1', 'true', 'yes', 'on'), or {name} = env.bool('{name}') with django-environ"
    ),
    explanation=(
        "settings.py that reads os.getenv('EMAIL_USE_TLS') without a cast hands Django a "
        "string, and Django tests it for truth: every non-empty string is true, 'False' and "
        "'0' included. TLS or SSL is then switched on whatever the .env file says, which mixes "
        "up the port and mode, or makes Django raise 'EMAIL_USE_TLS/EMAIL_USE_SSL are mutually "
        "exclusive' when it sends."
    ),
)
SWITCH_STRING_BY_LUCK = Rule(
    id="django.W003",
    level=Level.WARNING,
    title="A TLS/SSL switch is a string that happens to mean what it says",
    message="{name} is the string {value!r} (str): Django reads it as {seen}, by luck",
    hint=SWITCH_IS_STRING.hint,
    explanation=(
        "Django tests the switch for truth, and this string happens to give the intended "
        "answer. The same settings.py turns TLS on for 'False' or '0': cast it now."
    ),
)
TIMEOUT_NOT_NUMBER = Rule(
    id="django.E002",
    level=Level.ERROR,
    title="EMAIL_TIMEOUT is not a number: sending fails with TypeError",
    message=(
        "EMAIL_TIMEOUT is {value!r} ({kind}): smtplib passes it to socket.settimeout(), which "
        "raises TypeError the first time the app sends"
    ),
    hint="Cast it in settings.py: EMAIL_TIMEOUT = int(os.getenv('EMAIL_TIMEOUT', '10'))",
    explanation=(
        "Django gives EMAIL_TIMEOUT to smtplib as is; a string such as '10' makes every send "
        "fail with \"TypeError: 'str' object cannot be interpreted as an integer\"."
    ),
)
PORT_NOT_NUMBER = Rule(
    id="django.E003",
    level=Level.ERROR,
    title="EMAIL_PORT is empty or not a number",
    message="EMAIL_PORT is {value!r} ({kind}): {effect}",
    hint="Cast it in settings.py: EMAIL_PORT = int(os.getenv('EMAIL_PORT', '587'))",
    explanation=(
        "Django passes EMAIL_PORT to smtplib. An empty value makes smtplib use port 25 "
        "silently (cloud hosts block it); text that is not a number fails to connect."
    ),
)
PORT_IS_STRING = Rule(
    id="django.W002",
    level=Level.WARNING,
    title="EMAIL_PORT is a string of digits: it works only by luck",
    message=(
        "EMAIL_PORT is the string {value!r} (str): it works only because the socket layer "
        "accepts a numeric string"
    ),
    hint="Cast it in settings.py: EMAIL_PORT = int(os.getenv('EMAIL_PORT', '587'))",
    explanation=(
        "smtplib hands the port to getaddrinfo, which happens to accept '587'. Anything else "
        "that reads EMAIL_PORT (a health check, a comparison with 465) sees text, not a number."
    ),
)

SWITCHES = ("EMAIL_USE_TLS", "EMAIL_USE_SSL")


def check_types(settings: MailSettings) -> list[Finding]:
    """Values of a type Django misreads: string switches, string or empty port and timeout."""
    resolved = settings.django
    if resolved is None:
        return []
    values = resolved.values
    findings: list[Finding] = []
    for name in SWITCHES:
        value = values.get(name)
        if isinstance(value, str) and name in resolved.overridden:
            seen = "True (switched on)" if value else "False (the empty string)"
            rule = SWITCH_STRING_BY_LUCK if parse_bool(value) is bool(value) else SWITCH_IS_STRING
            findings.append(rule.finding(name, name=name, value=value, seen=seen))
    port = values.get("EMAIL_PORT")
    if isinstance(port, str) and "EMAIL_PORT" in resolved.overridden:
        if port.strip().isdigit():
            findings.append(PORT_IS_STRING.finding("EMAIL_PORT", value=port))
        else:
            effect = (
                "smtplib then uses port 25 without a word"
                if not port.strip()
                else "smtplib cannot connect to it"
            )
            findings.append(
                PORT_NOT_NUMBER.finding("EMAIL_PORT", value=port, kind="str", effect=effect)
            )
    timeout = values.get("EMAIL_TIMEOUT")
    if (
        timeout is not None
        and not isinstance(timeout, (int, float))
        and "EMAIL_TIMEOUT" in resolved.overridden
    ):
        findings.append(
            TIMEOUT_NOT_NUMBER.finding("EMAIL_TIMEOUT", value=timeout, kind=type(timeout).__name__)
        )
    return findings


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
        if name in OPTIONAL_SETTINGS and name not in resolved.overridden:
            continue
        value = resolved.values.get(name)
        source = resolved.module if name in resolved.overridden else "Django default"
        rows.append({"name": name, "value": _shown(name, value), "source": source})
    return rows


CHECKS = (
    check(
        "django",
        "django_types",
        "settings",
        rules=(
            SWITCH_IS_STRING,
            SWITCH_STRING_BY_LUCK,
            TIMEOUT_NOT_NUMBER,
            PORT_NOT_NUMBER,
            PORT_IS_STRING,
        ),
        function=check_types,
    ),
    check(
        "django",
        "env_file_agrees",
        "settings",
        rules=(ENV_FILE_DISAGREES,),
        function=check_env_file_agrees,
    ),
)
