"""The command line: parse the options, call the command, render its report, exit. Nothing more.

Exit codes (see exitcodes.py): 0 clean, 1 findings at the fail level, 2 usage or unreadable
input, 3 mailcheck itself failed. The options are declared once, in options.py.

Three guards sit here because every command needs them, and nothing else does:
- the run's secrets are collected before any of the user's code runs (`collect_secrets`);
- while a command runs, `sys.stdout` is stderr: whatever the user's code (a settings module)
  prints cannot corrupt the one document mailcheck writes to the real stdout at the end;
- every error becomes one line on stderr and its exit code; only mailcheck's own bugs are 3.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Annotated, Any, NamedTuple, NoReturn

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from interview_mailcheck import __version__, options, secrets
from interview_mailcheck.errors import InputError, MailcheckError
from interview_mailcheck.exitcodes import ExitCode
from interview_mailcheck.inert import escape_controls

ISSUES_URL = "https://github.com/interview-mailcheck/interview-mailcheck/issues"
INTERRUPTED = 130


def stderr_line(message: str) -> None:
    """One line for people on stderr: masked, control characters made visible."""
    text = escape_controls(secrets.mask(message), keep_newlines=True)
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def internal_error(error: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        stderr_line("".join(traceback.format_exception(error)).rstrip())
    stderr_line(
        f"mailcheck: internal error ({type(error).__name__}): this is a bug in mailcheck; please "
        f"report it at {ISSUES_URL}"
        + ("" if debug else " (run again with --debug for the traceback)")
    )


class MailcheckGroup(TyperGroup):
    """Click's errors as mailcheck's: one line, `mailcheck: error: ...`, exit 2, never a box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as error:
            sys.stderr.write(error.format_message() + "\n")
            code = ExitCode.USAGE
        except options.OptionError as error:
            stderr_line(f"mailcheck: error: {' '.join(error.format_message().split())}")
            code = ExitCode.USAGE
        except click_errors.UsageError as error:
            where = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
            message = " ".join(error.format_message().split())
            stderr_line(f"mailcheck: error: {message[:1].lower()}{message[1:]}{where}")
            code = ExitCode.USAGE
        except click_errors.ClickException as error:
            stderr_line(f"mailcheck: error: {error.format_message()}")
            code = error.exit_code
        except typer.Abort:
            stderr_line("mailcheck: interrupted")
            code = INTERRUPTED
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else ExitCode.OK)


APP_SETTINGS: dict[str, Any] = {
    "name": "mailcheck",
    "cls": MailcheckGroup,
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


# --- Running a command ----------------------------------------------------------------------


class Output(NamedTuple):
    format: str = "text"
    verbose: bool = False
    debug: bool = False


def output(fmt: options.OutputFormat, as_json: bool, verbose: bool, debug: bool) -> Output:
    return Output("json" if as_json else fmt.value, verbose, debug)


@contextlib.contextmanager
def guarded(debug: bool) -> Iterator[None]:
    """The command's errors as exit codes: the project's errors are usage errors (2), an
    interrupt 130, anything else a bug in mailcheck (3)."""
    try:
        yield
    except typer.Exit:
        raise
    except MailcheckError as error:
        stderr_line(f"mailcheck: error: {error}")
        raise typer.Exit(ExitCode.USAGE) from None
    except KeyboardInterrupt:
        stderr_line("mailcheck: interrupted")
        raise typer.Exit(INTERRUPTED) from None
    except SystemExit as error:
        # Nothing of mailcheck's exits from inside a command: this came from the user's code.
        stderr_line(
            f"mailcheck: error: the project's code called sys.exit({error.code!r}) while "
            "mailcheck was running"
        )
        raise typer.Exit(ExitCode.USAGE) from None
    except Exception as error:
        internal_error(error, debug)
        raise typer.Exit(ExitCode.INTERNAL) from None


def run(
    build: Callable[[], Any],
    out: Output,
    *,
    env_file: Path | None = None,
    pythonpath: Path | None = None,
) -> NoReturn:
    """Collect the secrets, build the report with stdout diverted, render it, exit."""
    from interview_mailcheck.render import RenderOptions, get_renderer, terminal, write

    stdout = sys.stdout
    color, width = terminal(stdout) if out.format == "text" else (False, 100)
    with guarded(out.debug):
        from interview_mailcheck.settings import collect_secrets

        collect_secrets(env_file, pythonpath, os.environ)
        with contextlib.redirect_stdout(sys.stderr):
            report = build()
        text = get_renderer(out.format)(report, RenderOptions(out.verbose, color, width))
        write(stdout, text)
    raise typer.Exit(report.exit_code)


def run_plain(body: Callable[[IO[str]], int], debug: bool = False) -> NoReturn:
    """A command that writes its own lines (explain, checks, demo) to the real stdout."""
    stdout = sys.stdout
    with guarded(debug), contextlib.redirect_stdout(sys.stderr):
        code = body(stdout)
    raise typer.Exit(code)


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


ConfigSettings = Annotated[
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


@app.command()
def config(
    env_file: options.EnvFile = None,
    settings: ConfigSettings = None,
    pythonpath: options.PythonPath = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Check the email settings offline: backend, host, port and TLS mode, credentials, sender.

    Reads the settings the app would see with load_dotenv(): the process environment wins over
    the .env file. With --settings, checks the values Django resolves from that settings module
    instead, and warns where the .env file says otherwise. Never prints the password, only
    whether it is set and its length.

    Example: mailcheck config --env-file .env.example
    """
    from interview_mailcheck.commands.config import config_report

    run(
        lambda: config_report(
            env_file, strict=strict, settings_module=settings, pythonpath=pythonpath
        ),
        output(fmt, json, verbose, debug),
        env_file=env_file,
        pythonpath=pythonpath,
    )


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A finding id, e.g. config.E001.")],
    debug: options.Debug = False,
) -> None:
    """Print the full explanation and fix for a finding id.

    Example: mailcheck explain config.E012
    """
    from interview_mailcheck.catalog import close_ids, find_rule

    def body(out: IO[str]) -> int:
        rule = find_rule(rule_id)
        if rule is None:
            suggestions = close_ids(rule_id)
            hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
            raise InputError(
                f"unknown finding id {rule_id!r}{hint}; `mailcheck checks` lists them all"
            )
        fix = f"\nFix: {rule.hint}\n" if rule.hint else ""
        out.write(f"{rule.id} ({rule.level.label}): {rule.title}\n\n{rule.explanation}\n{fix}")
        return ExitCode.OK

    run_plain(body, debug)


@app.command()
def checks(
    json: options.Json = False,
    debug: options.Debug = False,
) -> None:
    """List every finding id with its level and one-line message.

    Example: mailcheck checks | grep config.
    """
    from interview_mailcheck.catalog import all_rules

    def body(out: IO[str]) -> int:
        rules = all_rules()
        if json:
            import json as json_module

            rows = [{"id": r.id, "level": r.level.label, "title": r.title} for r in rules]
            out.write(json_module.dumps(rows, indent=2) + "\n")
            return ExitCode.OK
        width = max(len(rule.id) for rule in rules)
        for rule in rules:
            out.write(f"{rule.id.ljust(width)}  {rule.level.label:<7}  {rule.title}\n")
        return ExitCode.OK

    run_plain(body, debug)


@app.command("send-test")
def send_test(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="Recipient of the test message (default: EMAIL_HOST_USER).",
            show_default=False,
        ),
    ] = None,
    login_only: Annotated[
        bool, typer.Option("--login-only", help="Stop after the login; send nothing.")
    ] = False,
    timeout: options.Timeout = None,
    cafile: options.Cafile = None,
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
    env_file: options.EnvFile = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
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

    smtp_options = SendTestOptions(
        to=to,
        login_only=login_only,
        timeout=timeout,
        cafile=str(cafile) if cafile else None,
        insecure=insecure,
        allow_plaintext_auth=allow_plaintext_auth,
    )
    run(
        lambda: send_test_report(env_file, smtp_options, strict=strict),
        output(fmt, json, verbose, debug),
        env_file=env_file,
    )


@app.command()
def dns(
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain",
            help="The sending domain to check (default: the domain of DEFAULT_FROM_EMAIL).",
            show_default=False,
        ),
    ] = None,
    nameserver: options.Nameserver = None,
    timeout: options.Timeout = None,
    env_file: options.EnvFile = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Check the DNS records that decide whether invitations are delivered or junked.

    For the sending domain (DEFAULT_FROM_EMAIL's, or --domain): it exists, MX, SPF (one record,
    at most 10 lookups, authorises the provider of EMAIL_HOST) and DMARC; for EMAIL_HOST: an
    A or AAAA record. -v shows every record read.

    Example: mailcheck dns --domain example.com --nameserver 1.1.1.1 -v
    """
    from interview_mailcheck.commands.dns import dns_report

    run(
        lambda: dns_report(
            env_file,
            domain=domain,
            nameservers=nameserver or (),
            timeout=timeout,
            strict=strict,
        ),
        output(fmt, json, verbose, debug),
        env_file=env_file,
    )


# --- The app's data, through Django ----------------------------------------------------------

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
def session(
    interview_id: Annotated[
        str, typer.Argument(metavar="INTERVIEW_ID", help="The interview's primary key (a UUID).")
    ],
    settings: SettingsOption = None,
    pythonpath: options.PythonPath = None,
    check_link: Annotated[
        bool, typer.Option("--check-link", help="Fetch the interview link and report its status.")
    ] = False,
    interview_model: InterviewModelOption = None,
    session_model: SessionModelOption = None,
    field: FieldOption = None,
    link_template: LinkTemplateOption = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Walk one interview's chain, read-only: the Interview, its session_key, the
    InterviewSession, the candidate's email, the link, and what the invitation would contain.

    Needs no .env: it reads the app's database through the app's own Django settings.

    Example: mailcheck session 6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60 --settings mysite.settings
    """
    from interview_mailcheck.commands.session import session_report

    project = _project_options(
        settings, pythonpath, interview_model, session_model, field, link_template
    )
    run(
        lambda: session_report(interview_id, project, check_link=check_link, strict=strict),
        output(fmt, json, verbose, debug),
        pythonpath=pythonpath,
    )


@app.command()
def sessions(
    settings: SettingsOption = None,
    pythonpath: options.PythonPath = None,
    since: options.Since = None,
    until: options.Until = None,
    limit: Annotated[
        int | None, options.count_option("--limit", "Check at most N interviews.", minimum=1)
    ] = None,
    interview_model: InterviewModelOption = None,
    session_model: SessionModelOption = None,
    field: FieldOption = None,
    link_template: LinkTemplateOption = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Run the session checks over every interview (or a window of them), read-only, in one
    streamed query: for a nightly or CI audit. Findings carry the interview id.

    Example: mailcheck sessions --settings mysite.settings --since today --json
    """
    from interview_mailcheck.commands.session import sessions_report

    project = _project_options(
        settings, pythonpath, interview_model, session_model, field, link_template
    )
    run(
        lambda: sessions_report(project, since=since, until=until, limit=limit, strict=strict),
        output(fmt, json, verbose, debug),
        pythonpath=pythonpath,
    )


@app.command()
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
    pythonpath: options.PythonPath = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send the test message (default: log in only).")
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="Recipient with --send (default: EMAIL_HOST_USER).",
            show_default=False,
        ),
    ] = None,
    timeout: options.Timeout = None,
    nameserver: options.Nameserver = None,
    cafile: options.Cafile = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="PATH",
            help="Also write a JUnit XML report (a case per check).",
            show_default=False,
        ),
    ] = None,
    env_file: options.EnvFile = None,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Run every check that applies, in one report: the CI preflight.

    Sections, fast ones first: config, dns, send-test (login only unless --send), and with
    --settings the app's Django settings and an audit of upcoming interviews. A section that
    cannot run because of an earlier one is reported as skipped with the reason.

    Example: mailcheck doctor --format github --junit mailcheck.xml
    """
    from interview_mailcheck.commands.doctor import DoctorOptions
    from interview_mailcheck.commands.doctor import doctor as run_doctor

    doctor_options = DoctorOptions(
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

    def build() -> Any:
        report, doctor_run = run_doctor(doctor_options)
        if junit is not None:
            from interview_mailcheck.render import write_file
            from interview_mailcheck.render.junit import render_junit

            write_file(junit, render_junit(doctor_run, strict=strict), "JUnit file")
        return report

    run(build, output(fmt, json, verbose, debug), env_file=env_file, pythonpath=pythonpath)


@app.command()
def logs(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="The app's log: a file (plain or gzip-compressed), or - for standard input.",
            show_default=False,
        ),
    ],
    since: options.Since = None,
    limit: Annotated[
        int,
        options.count_option(
            "--limit", "List at most this many interviews (0: all); the rest are counted."
        ),
    ] = 1000,
    fmt: options.Format = options.OutputFormat.text,
    json: options.Json = False,
    verbose: options.Verbose = False,
    strict: options.Strict = False,
    debug: options.Debug = False,
) -> None:
    """Read the app's own log: per interview, was the invitation sent, to whom, or why not.

    Finds the app's lines (session created, email sent, sending failed, [EMAIL NOT SENT]) and
    smtplib's exceptions whatever precedes them, explains each failure with the provider's
    reply table, and streams any size of log in constant memory.

    Example: mailcheck logs /var/log/interviews/app.log.gz --since 2024-11-26
    """
    from interview_mailcheck.commands.logs import logs_report

    run(
        lambda: logs_report(source, since=since, limit=limit, strict=strict),
        output(fmt, json, verbose, debug),
    )


@app.command()
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
    debug: options.Debug = False,
) -> None:
    """Show the whole tool at work, with no account and no network.

    Runs config on the bundled .env.example, starts a loopback SMTP server that behaves like
    Gmail (STARTTLS, a throwaway CA, Gmail's 535-5.7.8 for a wrong password), runs send-test
    with the right App Password and with a wrong one, then session and sessions on a copy of
    the example Django project. Stops and removes everything it started. Needs the demo extra:
    pip install 'interview-mailcheck[demo]'.

    Example: mailcheck demo
    """
    from interview_mailcheck.render import terminal

    color, width = terminal(sys.stdout)

    def body(out: IO[str]) -> int:
        from interview_mailcheck.commands.demo import show_demo

        return show_demo(example, out, color=color, width=width)

    run_plain(body, debug)


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
        internal_error(error, bool(os.environ.get("MAILCHECK_DEBUG") or "--debug" in sys.argv))
        sys.exit(ExitCode.INTERNAL)
