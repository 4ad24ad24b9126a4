"""Every command-line option, declared and validated once, meaning the same in every command.

A command takes its options from here (`timeout: Timeout = None`), so `--timeout` is the same
number with the same bounds in send-test, dns and doctor, and `--since` reads the same dates in
sessions and logs. A value outside its bounds is a usage error (exit 2) before anything runs:
one line, `mailcheck: error: ...`, as every other usage error (cli.MailcheckGroup).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError
from typer._click.globals import get_current_context

from interview_mailcheck import values
from interview_mailcheck.errors import MailcheckError, unreadable


class OptionError(typer.BadParameter):
    """A bad option value; its message already names the option and the value."""

    def format_message(self) -> str:
        return self.message


def _parser(option: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """`parse` for typer, its errors (ValueError or the project's) turned into OptionError."""

    def parser(text: str) -> Any:
        if not isinstance(text, str):  # a default value, already of its type
            return text
        try:
            return parse(text)
        except (ValueError, MailcheckError) as error:
            raise OptionError(f"{option} {error}") from None

    return parser


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    problem = values.timeout_problem(value)
    if problem:
        raise ValueError(f"{text!r} {problem}")
    return value


def _port(text: str) -> int:
    port = values.parse_port(text)
    if port is None:
        raise ValueError(f"{text!r} is not a port: it must be {values.PORT_RANGE}")
    return port


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            count = int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if count < minimum:
            raise ValueError(f"{text!r} must be {minimum} or more")
        return count

    return parse


def _readable_file(kind: str) -> Callable[[str], Path]:
    """A file that can be opened now ('CA file not found: x.pem' if not)."""

    def parse(text: str) -> Path:
        path = Path(text)
        try:
            with path.open("rb"):
                pass
        except OSError as error:
            raise OptionError(str(unreadable(kind, text, error))) from None
        return path

    return parse


def _nameservers(texts: list[str] | None) -> list[str] | None:
    """Each --nameserver checked here, as the option is read (typer cannot convert the items
    of a repeated option); the commands parse them with the same function."""
    if not texts:
        return texts  # nothing to parse: the DNS module is not imported
    from interview_mailcheck.dnsdata import parse_nameserver

    for text in texts:
        try:
            parse_nameserver(text)
        except MailcheckError as error:
            raise OptionError(f"--nameserver {error}") from None
    return texts


def _when(end_of_day: bool) -> Callable[[str], values.When]:
    def parse(text: str) -> values.When:
        return values.parse_when(text, end_of_day=end_of_day)

    return parse


# --- What every checking command takes -------------------------------------------------------


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


Format = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="text for people, json for machines (one document), github for GitHub Actions "
        "annotations, junit for CI test reports (a test case per check).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="The same as --format json.")]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the report to FILE instead of stdout (any --format).",
        show_default=False,
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show more detail: settings read, evidence.")
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Fail (exit 1) on warnings too, not only on errors.")
]
Debug = Annotated[
    bool,
    typer.Option(
        "--debug", help="On an internal error, show the Python traceback.", envvar="MAILCHECK_DEBUG"
    ),
]

# --- Settings and the project ----------------------------------------------------------------

EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        metavar="PATH",
        help="The .env file to read (default: $MAILCHECK_ENV_FILE, else ./.env if present).",
        show_default=False,
    ),
]
Compare = Annotated[
    Path | None,
    typer.Option(
        "--compare",
        metavar="ENV_FILE",
        help=(
            "Also compare the mail settings with this env file (a worker's): every setting "
            "that differs or that only one file sets is an error, the password compared "
            "without being shown. The two files are compared as files: this shell's "
            "environment is laid over neither (the config checks of the first file still see "
            "it)."
        ),
        show_default=False,
        parser=_readable_file("env file (--compare)"),
    ),
]
Compose = Annotated[
    Path | None,
    typer.Option(
        "--compose",
        metavar="FILE",
        help=(
            "Check each service of this docker-compose file that sets EMAIL_* or EMAIL_URL, "
            "its environment computed as Compose does (environment:, env_file:, ${VAR} from "
            "this shell and the project's .env, which --env-file replaces as in `docker "
            "compose --env-file`), and compare them with the web service (else the one with "
            "the most mail settings)."
        ),
        show_default=False,
        parser=_readable_file("compose file"),
    ),
]
PythonPath = Annotated[
    Path | None,
    typer.Option(
        "--pythonpath",
        metavar="DIR",
        help="The folder to import the project from, as django-admin (default: current folder).",
        show_default=False,
        file_okay=False,
    ),
]

# --- The network -----------------------------------------------------------------------------

TIMEOUT_HELP = (
    "The longest to wait for any one answer from a server: an SMTP reply, a DNS answer "
    f"(default: EMAIL_TIMEOUT, else {values.DEFAULT_TIMEOUT:g}; above 0, at most "
    f"{values.MAX_TIMEOUT:g}). A server that stays silent costs this plus at most a second; "
    "a whole check at most twice this."
)
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help=TIMEOUT_HELP,
        show_default=False,
        parser=_parser("--timeout", _timeout),
    ),
]
Cafile = Annotated[
    Path | None,
    typer.Option(
        "--cafile",
        metavar="PEM",
        help="A PEM CA bundle to trust in addition to the system's.",
        show_default=False,
        parser=_readable_file("CA file"),
    ),
]
Nameserver = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        metavar="IP[:PORT]",
        help="Ask this nameserver (repeatable; IPv6 as [IP]:PORT). Default: the system's.",
        show_default=False,
        callback=_nameservers,
    ),
]
NoDns = Annotated[
    bool,
    typer.Option(
        "--no-dns",
        help="Do not look up the candidates' email domains in DNS; the offline checks (a "
        "misspelt provider domain such as gmial.com) still run.",
    ),
]

# --- Windows of time and counts ----------------------------------------------------------------

Since = Annotated[
    values.When | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help=f"Only what happened at or after DATE: {values.MOMENT_FORMS}.",
        show_default=False,
        parser=_parser("--since", _when(end_of_day=False)),
    ),
]
Until = Annotated[
    values.When | None,
    typer.Option(
        "--until",
        metavar="DATE",
        help="Only what happened at or before DATE (a date includes the whole day).",
        show_default=False,
        parser=_parser("--until", _when(end_of_day=True)),
    ),
]


def count_option(name: str, help: str, minimum: int = 0) -> Any:
    """A count (`minimum` or more) for the option `name`; what it counts is the command's."""
    return typer.Option(
        name, metavar="N", help=help, show_default=False, parser=_parser(name, _count(minimum))
    )


def port_option(name: str, help: str) -> Any:
    return typer.Option(name, metavar="PORT", help=help, parser=_parser(name, _port))


# --- The app, through Django -------------------------------------------------------------------

AppSettings = Annotated[
    str | None,
    typer.Option(
        "--settings",
        metavar="MODULE",
        help=(
            "The app's Django settings module, as django-admin takes it (default: "
            "$DJANGO_SETTINGS_MODULE, else `settings` in [tool.mailcheck] of pyproject.toml)."
        ),
        show_default=False,
    ),
]
CheckSettings = Annotated[
    str | None,
    typer.Option(
        "--settings",
        metavar="MODULE",
        help=(
            "The app's Django settings module, as django-admin takes it: check the settings "
            "Django resolves from it instead of the .env file, and compare the two."
        ),
        show_default=False,
    ),
]
InterviewModel = Annotated[
    str | None,
    typer.Option(
        "--interview-model",
        metavar="APP.MODEL",
        help="The interview model (default: interviews.Interview).",
        show_default=False,
    ),
]
SessionModel = Annotated[
    str | None,
    typer.Option(
        "--session-model",
        metavar="APP.MODEL",
        help="The session model (default: interview_app.InterviewSession).",
        show_default=False,
    ),
]
Field = Annotated[
    list[str] | None,
    typer.Option(
        "--field",
        metavar="SIDE.KEY=PATH",
        help=(
            "A field path other than the app's, e.g. interview.candidate-email=applicant__email "
            "(repeatable; see [tool.mailcheck] in the README for the keys)."
        ),
        show_default=False,
    ),
]
LinkTemplate = Annotated[
    str | None,
    typer.Option(
        "--link-template",
        metavar="URL",
        help=(
            "How the app builds the interview link, with {session_key} and/or {interview_id} "
            "(default: the app's own, on http://127.0.0.1:8000/)."
        ),
        envvar="MAILCHECK_LINK_TEMPLATE",
        show_default=False,
    ),
]
Mailer = Annotated[
    str | None,
    typer.Option(
        "--mailer",
        metavar="ALIAS",
        help="With --settings on Django 6.1: the MAILERS alias whose settings are walked "
        "(default: 'default'). Every mailer is checked either way.",
        show_default=False,
    ),
]
Recipients = Annotated[
    list[str] | None,
    typer.Option(
        "--to",
        metavar="ADDRESS",
        help="Recipient of the test message (repeatable; default: EMAIL_HOST_USER, the "
        "account itself).",
        show_default=False,
    ),
]
Ehlo = Annotated[
    str | None,
    typer.Option(
        "--ehlo",
        metavar="NAME",
        help="The name to send in EHLO (default: what Django sends, this host's socket.getfqdn()).",
        show_default=False,
    ),
]


def at_most_one(*flags: tuple[str, Any]) -> None:
    """A usage error when more than one of these options is given."""
    given = [name for name, value in flags if value]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)} cannot be used together", get_current_context(silent=True)
        )


def only_with(needed: tuple[str, Any], *flags: tuple[str, Any]) -> None:
    """A usage error when one of `flags` is given without the option they belong to."""
    given = [name for name, value in flags if value]
    if given and not needed[1]:
        raise UsageError(
            f"{given[0]} only means something with {needed[0]}", get_current_context(silent=True)
        )


def _host(text: str) -> str:
    """A host name or an IP address (IPv6 with or without brackets)."""
    import ipaddress

    from interview_mailcheck.dnsdata import domain_name

    inner = text.strip()
    bare = inner[1:-1] if inner.startswith("[") and inner.endswith("]") else inner
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if not inner:
        raise ValueError("is empty: give a host name")
    if "@" in inner:
        raise ValueError(f"{text!r} is an address, not a host name")
    name = domain_name(inner, "").strip()
    if not _HOST_NAME.fullmatch(name):
        raise ValueError(f"{text!r} is not a host name: letters, digits, '-' and '.' only")
    return name


_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


ImapHost = Annotated[
    str | None,
    typer.Option(
        "--imap-host",
        metavar="HOST",
        help="The IMAP server of the recipient's mailbox (default: the provider's, e.g. "
        "imap.gmail.com for smtp.gmail.com).",
        show_default=False,
        parser=_parser("--imap-host", _host),
    ),
]
ConfirmTimeout = Annotated[
    float,
    typer.Option(
        "--confirm-timeout",
        metavar="SECONDS",
        help="How long --confirm looks for the message in the mailbox before it gives up.",
        parser=_parser("--confirm-timeout", _timeout),
    ),
]


def retries_option(default: int) -> Any:
    return count_option(
        "--retries",
        "Try again this many times when the server refuses the greeting or EHLO for now "
        f"(4xx) or drops the connection at once (default: {default}).",
    )


def _section(text: str) -> str:
    from interview_mailcheck.commands.doctor import SECTION_ALIASES, SECTIONS, section_name

    name = section_name(text)
    if name is None:
        known = ", ".join([*SECTIONS, *SECTION_ALIASES])
        raise ValueError(f"{text!r} is not one of doctor's sections: {known}")
    return name


def sections_option(name: str, help: str) -> Any:
    return typer.Option(
        name, metavar="SECTION", help=help, show_default=False, parser=_parser(name, _section)
    )
