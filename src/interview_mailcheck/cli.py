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
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from interview_mailcheck import __version__, redact
from interview_mailcheck.errors import InputError, MailcheckError
from interview_mailcheck.exitcodes import ExitCode

ISSUES_URL = "https://github.com/interview-mailcheck/interview-mailcheck/issues"

app = typer.Typer(
    name="mailcheck",
    help=(
        "Will the interview invitation emails go out? mailcheck checks a Django app's email "
        "settings, SMTP server and data, and says exactly what to fix.\n\n"
        "Exit codes: 0 no errors, 1 errors found (or warnings with --strict), "
        "2 usage error or unreadable input, 3 mailcheck itself failed."
    ),
    no_args_is_help=True,
    add_completion=True,
    # Locals can hold the SMTP password: never show them in a traceback.
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

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


def emit(report: Any, as_json: bool, verbose: bool) -> NoReturn:
    """Render the report to stdout and exit with its status."""
    from interview_mailcheck.render import (
        RenderOptions,
        get_renderer,
        terminal_width,
        wants_color,
    )

    name = "json" if as_json else "text"
    options = RenderOptions(
        verbose=verbose, color=not as_json and wants_color(sys.stdout), width=terminal_width()
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
    sys.stdout.write(
        f"{rule.id} ({rule.level.label}): {rule.title}\n\n{rule.explanation}\n\nFix: {rule.hint}\n"
    )


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


def _resolve_annotations() -> None:
    """Evaluate every command's annotations once, here. They are strings in this module (`from
    __future__ import annotations`), and Typer evaluates them four times per command on every
    run while it builds all the commands: about 2.5 ms saved per run with session and sessions.
    """
    import typing

    for info in app.registered_commands:
        function = getattr(info.callback, "__wrapped__", info.callback)
        if function is not None:
            function.__annotations__.update(typing.get_type_hints(function, include_extras=True))


def main() -> None:
    """The console script: run the app, and make sure no Python traceback escapes."""
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        _resolve_annotations()
        app(prog_name="mailcheck")
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
