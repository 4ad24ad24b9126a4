"""The command line: parse options, call the checks, render the report, exit. Nothing more.

Exit codes (see exitcodes.py): 0 clean, 1 findings at the fail level, 2 usage or unreadable
input, 3 mailcheck itself failed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from interview_mailcheck import __version__, redact
from interview_mailcheck.errors import InputError, MailcheckError
from interview_mailcheck.exitcodes import ExitCode

ISSUES_URL = "https://github.com/interview-mailcheck/interview-mailcheck/issues"

APP_SETTINGS: dict[str, Any] = {
    "name": "mailcheck",
    "help": (
        "Will the interview invitation emails go out? mailcheck checks a Django app's email "
        "settings, SMTP server and data, and says exactly what to fix.\n\n"
        "Exit codes: 0 no errors, 1 errors found (or warnings with --strict), "
        "2 usage error or unreadable input, 3 mailcheck itself failed."
    ),
    "no_args_is_help": True,
    "add_completion": True,
    # Locals can hold the SMTP password: never show them in a traceback.
    "pretty_exceptions_show_locals": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}
app = typer.Typer(**APP_SETTINGS)

# --- Options every command shares -----------------------------------------------------------

EnvFileOption = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="The .env file to read (default: $MAILCHECK_ENV_FILE, else ./.env if present).",
        show_default=False,
        dir_okay=True,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of text.")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show more detail: settings read, evidence.")
]
StrictOption = Annotated[
    bool, typer.Option("--strict", help="Fail (exit 1) on warnings too, not only on errors.")
]
CafileOption = Annotated[
    Path | None,
    typer.Option(
        "--cafile",
        help="A PEM CA bundle to trust in addition to the system's.",
        show_default=False,
    ),
]
NameserverOption = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        metavar="IP[:PORT]",
        help="Ask this nameserver (repeatable; IPv6 as [IP]:PORT). Default: the system's.",
        show_default=False,
    ),
]
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug", help="On an internal error, show the Python traceback.", envvar="MAILCHECK_DEBUG"
    ),
]


def _stderr(message: str) -> None:
    sys.stderr.write(redact.scrub(message) + "\n")
    sys.stderr.flush()


F = TypeVar("F", bound=Callable[..., Any])


def guarded(command: F) -> F:
    """Turn the project's errors into one line and exit 2, and anything else into exit 3."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except MailcheckError as error:
            _stderr(f"mailcheck: error: {error}")
            raise typer.Exit(ExitCode.USAGE) from None
        except KeyboardInterrupt:
            _stderr("mailcheck: interrupted")
            raise typer.Exit(130) from None
        except Exception as error:
            if kwargs.get("debug"):
                import traceback

                _stderr("".join(traceback.format_exception(error)).rstrip())
            _stderr(
                f"mailcheck: internal error ({type(error).__name__}): this is a bug in mailcheck; "
                f"please report it at {ISSUES_URL}"
                + ("" if kwargs.get("debug") else " (run again with --debug for the traceback)")
            )
            raise typer.Exit(ExitCode.INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def emit(report: Any, as_json: bool, verbose: bool, output_format: str = "text") -> NoReturn:
    """Render the report to stdout and exit with its status."""
    from interview_mailcheck.render import (
        RenderOptions,
        get_renderer,
        terminal_width,
        wants_color,
    )

    name = "json" if as_json else output_format
    options = RenderOptions(
        verbose=verbose, color=name == "text" and wants_color(sys.stdout), width=terminal_width()
    )
    sys.stdout.write(redact.scrub(get_renderer(name)(report, options)))
    sys.stdout.flush()
    raise typer.Exit(report.exit_code)


# --- Commands --------------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mailcheck {__version__}\n")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Will the interview invitation emails go out?"""


@app.command()
@guarded
def config(
    env_file: EnvFileOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
    settings: ConfigSettingsOption = None,
    pythonpath: PythonPathOption = None,
) -> None:
    """Check the email settings offline: backend, host, port and TLS mode, credentials, sender.

    Reads the settings the app would see with load_dotenv(): the process environment wins over
    the .env file. With --settings, checks the values Django resolves from that settings module
    instead, and warns where the .env file says otherwise. Never prints the password, only
    whether it is set and its length.

    Example: mailcheck config --env-file .env.example
    """
    from interview_mailcheck.commands.config import config_report

    emit(
        config_report(env_file, strict=strict, settings_module=settings, pythonpath=pythonpath),
        json,
        verbose,
    )


@app.command()
@guarded
def explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A finding id, e.g. config.E001.")],
    debug: DebugOption = False,
) -> None:
    """Print the full explanation and fix for a finding id.

    Example: mailcheck explain config.E012
    """
    from interview_mailcheck.catalog import close_ids, find_rule

    rule = find_rule(rule_id)
    if rule is None:
        suggestions = close_ids(rule_id)
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        raise InputError(f"unknown finding id {rule_id!r}{hint}; `mailcheck checks` lists them all")
    fix = f"\nFix: {rule.hint}\n" if rule.hint else ""
    sys.stdout.write(f"{rule.id} ({rule.level.label}): {rule.title}\n\n{rule.explanation}\n{fix}")


@app.command()
@guarded
def checks(
    json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List every finding id with its level and one-line message.

    Example: mailcheck checks | grep config.
    """
    from interview_mailcheck.catalog import all_rules

    rules = all_rules()
    if json:
        import json as json_module

        rows = [{"id": r.id, "level": r.level.label, "title": r.title} for r in rules]
        sys.stdout.write(json_module.dumps(rows, indent=2) + "\n")
        return
    width = max(len(rule.id) for rule in rules)
    for rule in rules:
        sys.stdout.write(f"{rule.id.ljust(width)}  {rule.level.label:<7}  {rule.title}\n")


@app.command("send-test")
@guarded
def send_test(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Recipient of the test message (default: EMAIL_HOST_USER).",
            show_default=False,
        ),
    ] = None,
    login_only: Annotated[
        bool, typer.Option("--login-only", help="Stop after the login; send nothing.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds allowed for each network step (default: EMAIL_TIMEOUT, else 10). "
            "The whole test takes at most twice this.",
            show_default=False,
        ),
    ] = None,
    cafile: CafileOption = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Do not verify the server certificate (debugging only)."),
    ] = False,
    allow_plaintext_auth: Annotated[
        bool,
        typer.Option(
            "--allow-plaintext-auth",
            help="Allow the login over an unencrypted connection (local test relays only).",
        ),
    ] = False,
    env_file: EnvFileOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Walk the live SMTP path step by step and say where and why it fails.

    Runs the offline config checks first (their errors stop it before any connection), then:
    resolve EMAIL_HOST, connect, TLS (implicit or STARTTLS), verify the certificate, log in,
    and send one test message to --to (default: EMAIL_HOST_USER, i.e. to yourself). Each step
    is a finding with its duration; -v shows the SMTP dialogue with the credentials masked.

    Example: mailcheck send-test --login-only --timeout 5
    """
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.send_test import send_test_report

    options = SendTestOptions(
        to=to,
        login_only=login_only,
        timeout=timeout,
        cafile=str(cafile) if cafile else None,
        insecure=insecure,
        allow_plaintext_auth=allow_plaintext_auth,
    )
    emit(send_test_report(env_file, options, strict=strict), json, verbose)


@app.command()
@guarded
def dns(
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="The sending domain to check (default: the domain of DEFAULT_FROM_EMAIL).",
            show_default=False,
        ),
    ] = None,
    nameserver: NameserverOption = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Time allowed for all the lookups together.",
        ),
    ] = 5.0,
    env_file: EnvFileOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Check the DNS records that decide whether invitations are delivered or junked.

    For the sending domain (DEFAULT_FROM_EMAIL's, or --domain): it exists, MX, SPF (one record,
    at most 10 lookups, authorises the provider of EMAIL_HOST) and DMARC; for EMAIL_HOST: an
    A or AAAA record. -v shows every record read.

    Example: mailcheck dns --domain example.com --nameserver 1.1.1.1 -v
    """
    from interview_mailcheck.commands.dns import dns_report

    report = dns_report(
        env_file, domain=domain, nameservers=nameserver or (), timeout=timeout, strict=strict
    )
    emit(report, json, verbose)


# --- The app's data, through Django (defined here, used by `config` above too) --------------

SettingsOption = Annotated[
    str | None,
    typer.Option(
        "--settings",
        metavar="MODULE",
        help=(
            "The Django settings module, as django-admin takes it (default: "
            "$DJANGO_SETTINGS_MODULE, else `settings` in [tool.mailcheck] of pyproject.toml)."
        ),
        show_default=False,
    ),
]
ConfigSettingsOption = Annotated[
    str | None,
    typer.Option(
        "--settings",
        metavar="MODULE",
        help=(
            "Check the settings Django resolves from this settings module (e.g. "
            "mysite.settings) instead of the .env file, and compare the two."
        ),
        show_default=False,
    ),
]
PythonPathOption = Annotated[
    Path | None,
    typer.Option(
        "--pythonpath",
        metavar="DIR",
        help="The folder to import the project from, as django-admin (default: current folder).",
        show_default=False,
        file_okay=False,
    ),
]
InterviewModelOption = Annotated[
    str | None,
    typer.Option(
        "--interview-model",
        metavar="APP.MODEL",
        help="The interview model (default: interviews.Interview).",
        show_default=False,
    ),
]
SessionModelOption = Annotated[
    str | None,
    typer.Option(
        "--session-model",
        metavar="APP.MODEL",
        help="The session model (default: interview_app.InterviewSession).",
        show_default=False,
    ),
]
FieldOption = Annotated[
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
LinkTemplateOption = Annotated[
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


def _project_options(
    settings: str | None,
    pythonpath: Path | None,
    interview_model: str | None,
    session_model: str | None,
    field: list[str] | None,
    link_template: str | None,
) -> Any:
    from interview_mailcheck.commands.session import ProjectOptions

    return ProjectOptions(
        settings, pythonpath, interview_model, session_model, tuple(field or ()), link_template
    )


@app.command()
@guarded
def session(
    interview_id: Annotated[
        str, typer.Argument(metavar="INTERVIEW_ID", help="The interview's primary key (a UUID).")
    ],
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    check_link: Annotated[
        bool, typer.Option("--check-link", help="Fetch the interview link and report its status.")
    ] = False,
    interview_model: InterviewModelOption = None,
    session_model: SessionModelOption = None,
    field: FieldOption = None,
    link_template: LinkTemplateOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Walk one interview's chain, read-only: the Interview, its session_key, the
    InterviewSession, the candidate's email, the link, and what the invitation would contain.

    Needs no .env: it reads the app's database through the app's own Django settings.

    Example: mailcheck session 6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60 --settings mysite.settings
    """
    from interview_mailcheck.commands.session import session_report

    options = _project_options(
        settings, pythonpath, interview_model, session_model, field, link_template
    )
    emit(session_report(interview_id, options, check_link=check_link, strict=strict), json, verbose)


@app.command()
@guarded
def sessions(
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only interviews starting at or after DATE (YYYY-MM-DD, ISO time, today, now).",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DATE",
            help="Only interviews starting at or before DATE (a date includes the whole day).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Check at most N interviews.", show_default=False),
    ] = None,
    interview_model: InterviewModelOption = None,
    session_model: SessionModelOption = None,
    field: FieldOption = None,
    link_template: LinkTemplateOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Run the session checks over every interview (or a window of them), read-only, in one
    streamed query: for a nightly or CI audit. Findings carry the interview id.

    Example: mailcheck sessions --settings mysite.settings --since today --json
    """
    from interview_mailcheck.commands.session import sessions_report
    from interview_mailcheck.interviews import parse_when

    options = _project_options(
        settings, pythonpath, interview_model, session_model, field, link_template
    )
    report = sessions_report(
        options,
        since=parse_when(since, end_of_day=False) if since else None,
        until=parse_when(until, end_of_day=True) if until else None,
        limit=limit,
        strict=strict,
    )
    emit(report, json, verbose)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
@guarded
def doctor(
    settings_module: Annotated[
        str | None,
        typer.Option(
            "--settings",
            metavar="MODULE",
            help="The app's Django settings module: adds its settings and a sessions audit.",
            show_default=False,
        ),
    ] = None,
    pythonpath: PythonPathOption = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send the test message (default: log in only).")
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Recipient with --send (default: EMAIL_HOST_USER).", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="Seconds per network step (dns: for all lookups).", show_default=False
        ),
    ] = None,
    nameserver: NameserverOption = None,
    cafile: CafileOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="text for people, json for machines, github for Actions annotations."
        ),
    ] = OutputFormat.text,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="PATH",
            help="Also write a JUnit XML report (a case per check).",
            show_default=False,
        ),
    ] = None,
    env_file: EnvFileOption = None,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Run every check that applies, in one report: the CI preflight.

    Sections, fast ones first: config, dns, send-test (login only unless --send), and with
    --settings the app's Django settings and an audit of upcoming interviews. A section that
    cannot run because of an earlier one is reported as skipped with the reason.

    Example: mailcheck doctor --format github --junit mailcheck.xml
    """
    from interview_mailcheck.commands.doctor import DoctorOptions
    from interview_mailcheck.commands.doctor import doctor as run_doctor

    options = DoctorOptions(
        env_file=env_file,
        settings_module=settings_module,
        pythonpath=pythonpath,
        send=send,
        to=to,
        timeout=timeout,
        nameservers=tuple(nameserver or ()),
        cafile=str(cafile) if cafile else None,
        strict=strict,
    )
    report, run = run_doctor(options)
    if junit is not None:
        from interview_mailcheck.render.junit import render_junit

        try:
            junit.write_text(render_junit(run, strict=strict), encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write the JUnit file {junit}: {error.strerror}") from None
    emit(report, json, verbose, output_format.value)


@app.command()
@guarded
def logs(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="The app's log: a file (plain or gzip-compressed), or - for standard input.",
            show_default=False,
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIMESTAMP",
            help="Only lines stamped at or after this time: YYYY-MM-DD[ HH:MM[:SS]], ISO 8601.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", help="List at most this many interviews (0: all); the rest are counted."
        ),
    ] = 1000,
    json: JsonOption = False,
    verbose: VerboseOption = False,
    strict: StrictOption = False,
    debug: DebugOption = False,
) -> None:
    """Read the app's own log: per interview, was the invitation sent, to whom, or why not.

    Finds the app's lines (session created, email sent, sending failed, [EMAIL NOT SENT]) and
    smtplib's exceptions whatever precedes them, explains each failure with the provider's
    reply table, and streams any size of log in constant memory.

    Example: mailcheck logs /var/log/interviews/app.log.gz --since 2024-11-26
    """
    from interview_mailcheck.commands.logs import logs_report

    emit(logs_report(source, since=since, limit=limit, strict=strict), json, verbose)


@app.command()
@guarded
def demo(
    example: Annotated[
        Path | None,
        typer.Option(
            "--example",
            metavar="DIR",
            help="The example Django project (default: ./examples/interview_site).",
            show_default=False,
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Show the whole tool at work, with no account and no network.

    Runs config on the bundled .env.example, starts a loopback SMTP server that behaves like
    Gmail (STARTTLS, a throwaway CA, Gmail's 535-5.7.8 for a wrong password), runs send-test
    with the right App Password and with a wrong one, then session and sessions on a copy of
    the example Django project. Stops and removes everything it started. Needs the demo extra:
    pip install 'interview-mailcheck[demo]'.

    Example: mailcheck demo
    """
    from interview_mailcheck.commands.demo import Step, require_extras, run_demo
    from interview_mailcheck.render import RenderOptions, get_renderer, terminal_width, wants_color
    from interview_mailcheck.render.text import render_banner, render_lines

    require_extras()

    options = RenderOptions(verbose=False, color=wants_color(sys.stdout), width=terminal_width())
    text = get_renderer("text")
    out = sys.stdout

    def show(step: Step) -> None:
        out.write(redact.scrub(render_banner(step.title, step.command, options)))
        if step.report is not None:
            out.write(redact.scrub(text(step.report, options)))
        else:
            out.write(render_lines([(f"(skipped: {step.note})", "yellow")], options))
        out.write("\n")
        out.flush()

    out.write(
        render_lines(
            [
                (
                    "mailcheck demo: every part runs on this machine; nothing is sent anywhere.",
                    "bold",
                ),
                ("", ""),
            ],
            options,
        )
    )
    run = run_demo(example, show)
    summary = [("━━ What the demo showed", "bold magenta")]
    summary += [
        (f"{'✓' if met else '✗'} {what}", "green" if met else "bold red")
        for what, met in run.expectations
    ]
    summary.append(
        (
            f"Cleaned up: the SMTP server on port {run.smtp_port} is stopped and the temporary "
            "files are removed.",
            "",
        )
    )
    out.write(render_lines(summary, options))
    raise typer.Exit(ExitCode.OK if run.ok else ExitCode.FINDINGS)


def app_for(argv: list[str]) -> typer.Typer:
    """The app to run for this command line: only the command being run, when it names one.

    Typer converts the options of every registered command at start-up (about 12 ms for all of
    them); a run needs just one. Help, completion and anything unusual get the whole app.
    """
    if len(argv) < 2 or os.environ.get("_MAILCHECK_COMPLETE"):
        return app
    chosen = [
        info
        for info in app.registered_commands
        if info.callback is not None
        and (info.name or typer.main.get_command_name(info.callback.__name__)) == argv[1]
    ]
    if not chosen:
        return app
    slim = typer.Typer(**APP_SETTINGS)
    slim.registered_callback = app.registered_callback
    slim.registered_commands = chosen
    return slim


def main() -> None:
    """The console script: run the app, and make sure no Python traceback escapes."""
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        app_for(sys.argv)(prog_name="mailcheck")
    except SystemExit:
        raise
    except Exception as error:  # an exception outside any command, e.g. in option parsing
        if os.environ.get("MAILCHECK_DEBUG") or "--debug" in sys.argv:
            raise
        _stderr(
            f"mailcheck: internal error ({type(error).__name__}): this is a bug in mailcheck; "
            f"please report it at {ISSUES_URL} (run again with --debug for the traceback)"
        )
        sys.exit(ExitCode.INTERNAL)
