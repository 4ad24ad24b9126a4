"""The Typer app and what every command shares: the usage errors, the run, the output.

Three guards sit here because every command needs them, and nothing else does:
- the run's secrets are collected before any of the user's code runs (`collect_secrets`);
- while a command runs, `sys.stdout` is stderr: whatever the user's code (a settings module)
  prints cannot corrupt the one document mailcheck writes to the real stdout at the end;
- every error becomes one line on stderr and its exit code; only mailcheck's own bugs are 3.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple, NoReturn

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from interview_mailcheck import options, secrets
from interview_mailcheck.errors import MailcheckError
from interview_mailcheck.exitcodes import ExitCode
from interview_mailcheck.inert import escape_controls

ISSUES_URL = "https://github.com/interview-mailcheck/interview-mailcheck/issues"
INTERRUPTED = 130


def stderr_line(message: str, *, lines: bool = False) -> None:
    """One line for people on stderr (several only when `lines`, for a traceback): masked,
    control characters made visible, a newline inside a message included."""
    text = escape_controls(secrets.mask(message), keep_newlines=lines)
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def internal_error(error: BaseException, debug: bool) -> None:
    if debug:
        import traceback

        stderr_line("".join(traceback.format_exception(error)).rstrip(), lines=True)
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
        "Inside a Django project, with interview_mailcheck.django in INSTALLED_APPS: "
        "`manage.py check` runs the offline config checks (tag mailcheck), and "
        "`manage.py mailcheck COMMAND` runs any command with the project's settings.\n\n"
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
    path: Path | None = None
    """--output: the file to write the report to, instead of stdout."""
    junit: Path | None = None
    """doctor's --junit: a JUnit file written besides."""


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation
    )


OUTPUT_PARAMETERS = (
    _parameter("output_format", options.Format, options.OutputFormat.text),
    _parameter("as_json", options.Json, False),
    _parameter("output_file", options.Output, None),
    _parameter("verbose", options.Verbose, False),
    _parameter("strict", options.Strict, False),
    _parameter("debug", options.Debug, False),
)


def extended(
    added: Sequence[inspect.Parameter],
    given: tuple[str, ...],
    make: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator that adds `added` to a command's options and hands the command, instead
    of them, what `make` builds from their values (as the keyword arguments `given`)."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command)
        scope = getattr(command, "__globals__", {})
        own = [
            # Typer needs the Annotated objects, not their text; the given ones stay as text.
            p.replace(annotation=eval(p.annotation, scope)) if isinstance(p.annotation, str) else p
            for p in signature.parameters.values()
            if p.name not in given
        ]
        names = [parameter.name for parameter in added]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            taken = {name: values.pop(name) for name in names}
            command(**values, **make(taken))

        keyword_only = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
        ordinary = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
        parameters = [*ordinary, *added, *keyword_only]
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=parameters
        )
        # Typer reads the type hints too: they must be those of the new signature.
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters if p.name not in given}
        return wrapper

    return decorate


def _output(values: dict[str, Any]) -> dict[str, Any]:
    output_format = "json" if values["as_json"] else values["output_format"].value
    out = Output(output_format, values["verbose"], values["debug"], values["output_file"])
    return {"out": out, "strict": values["strict"]}


reporting = extended(OUTPUT_PARAMETERS, ("out", "strict"), _output)
"""The options every command that reports takes, the same everywhere: --format, --json,
--output, -v, --strict, --debug; the command receives `out: Output` and `strict: bool`."""

SETTINGS_PARAMETERS = (
    _parameter("env_file", options.EnvFile, None),
    _parameter("settings", options.CheckSettings, None),
    _parameter("pythonpath", options.PythonPath, None),
    _parameter("mailer", options.Mailer, None),
)


class SettingsSource(NamedTuple):
    """Where the settings come from: an env file and the environment, or a settings module
    (and, with Django 6.1's MAILERS, which mailer)."""

    env_file: Path | None
    settings_module: str | None
    pythonpath: Path | None
    mailer: str | None = None


reading_the_settings = extended(
    SETTINGS_PARAMETERS,
    ("source",),
    lambda values: {
        "source": SettingsSource(
            values["env_file"], values["settings"], values["pythonpath"], values["mailer"]
        )
    },
)
"""--env-file, --settings, --pythonpath and --mailer; the command receives
`source: SettingsSource`."""

PROJECT_PARAMETERS = (
    _parameter("settings", options.AppSettings, None),
    _parameter("pythonpath", options.PythonPath, None),
    _parameter("interview_model", options.InterviewModel, None),
    _parameter("session_model", options.SessionModel, None),
    _parameter("field", options.Field, None),
    _parameter("link_template", options.LinkTemplate, None),
)


def _project(values: dict[str, Any]) -> dict[str, Any]:
    from interview_mailcheck.commands.session import ProjectOptions

    project = ProjectOptions(
        values["settings"],
        values["pythonpath"],
        values["interview_model"],
        values["session_model"],
        tuple(values["field"] or ()),
        values["link_template"],
    )
    return {"project": project}


reading_the_app = extended(PROJECT_PARAMETERS, ("project",), _project)
"""Where the app's data is (--settings, --pythonpath) and how it is laid out (--interview-model,
--session-model, --field, --link-template); the command receives `project: ProjectOptions`."""


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
    also_read: Sequence[Path] = (),
) -> NoReturn:
    """Collect the secrets (also from the env files `also_read`), build the report with stdout
    diverted, render it, exit."""
    from interview_mailcheck.render import RenderOptions, get_renderer, terminal, write, write_file

    stdout = sys.stdout
    on_terminal = out.format == "text" and out.path is None
    color, width = terminal(stdout) if on_terminal else (False, 100)
    with guarded(out.debug):
        from interview_mailcheck.commands.inputs import collect_secrets

        collect_secrets(env_file, pythonpath, os.environ, also_read)
        with contextlib.redirect_stdout(sys.stderr):
            report = build()
        text = get_renderer(out.format)(report, RenderOptions(out.verbose, color, width))
        if out.junit is not None:
            junit = get_renderer("junit")(report, RenderOptions(out.verbose))
            write_file(out.junit, junit, "JUnit file")
        if out.path is not None:
            write_file(out.path, text, "report file")
        else:
            write(stdout, text)
    raise typer.Exit(report.exit_code)


def run_plain(body: Callable[[IO[str]], int], debug: bool = False) -> NoReturn:
    """A command that writes its own lines (explain, checks, demo) to the real stdout."""
    stdout = sys.stdout
    with guarded(debug), contextlib.redirect_stdout(sys.stderr):
        code = body(stdout)
    raise typer.Exit(code)


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


def takes_option(command: str, option: str) -> bool:
    """Whether the command named `command` has the option `option` (e.g. --settings)."""
    group = typer.main.get_command(app)
    found = getattr(group, "commands", {}).get(command)
    return found is not None and any(
        option in getattr(parameter, "opts", ()) for parameter in found.params
    )


def main(args: Sequence[str] | None = None, prog_name: str = "mailcheck") -> NoReturn:
    """The console script: run the app, and make sure no Python traceback escapes; exits.

    `args` (default: sys.argv[1:]) and `prog_name` are those of another entry point, such as
    `manage.py mailcheck` (interview_mailcheck/django/management/commands/mailcheck.py)."""
    argv = list(sys.argv[1:] if args is None else args)
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        app_for([prog_name, *argv])(args=argv, prog_name=prog_name)
    except SystemExit:
        raise
    except Exception as error:  # an exception outside any command, e.g. in option parsing
        internal_error(error, bool(os.environ.get("MAILCHECK_DEBUG") or "--debug" in argv))
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)  # not reached: the group exits
