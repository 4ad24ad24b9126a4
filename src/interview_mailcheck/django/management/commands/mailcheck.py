"""`manage.py mailcheck COMMAND ...`: any mailcheck command, inside the project.

Everything after `mailcheck` goes to mailcheck's own command line, untouched by Django's option
parser: the same options, output and exit codes as the console script. Where the command takes
--settings and none is given, it gets the settings module this project runs with. Django is
already set up here; mailcheck's own loading finds it so and uses it as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any, ClassVar, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

NAME = "mailcheck"


def settings_module() -> str | None:
    """The settings module this process runs with: Django's, else the environment's."""
    from django.conf import settings

    configured = getattr(settings, "_wrapped", None)
    module = getattr(configured, "SETTINGS_MODULE", None) if settings.configured else None
    return module or os.environ.get("DJANGO_SETTINGS_MODULE") or None


def mailcheck_args(args: list[str]) -> list[str]:
    """`args` with `--settings MODULE` added after the command name where the command takes
    --settings and none is given (before a `--`, which ends the options)."""
    if not args or args[0].startswith("-"):
        return args
    options = args[: args.index("--")] if "--" in args else args
    given = any(arg == "--settings" or arg.startswith("--settings=") for arg in options)
    module = settings_module()
    if given or module is None:
        return args
    from interview_mailcheck.cli import takes_option

    if not takes_option(args[0], "--settings"):
        return args
    return [args[0], "--settings", module, *args[1:]]


def run_mailcheck(args: list[str], prog_name: str) -> NoReturn:
    """Run mailcheck with `args`, this project's secrets known first; exits with its status."""
    from django.conf import settings

    from interview_mailcheck.adapters.django_settings import configured_mail_settings
    from interview_mailcheck.cli import main

    if settings.configured:  # the project's passwords are known before anything runs
        configured_mail_settings(settings)
    main(mailcheck_args(args), prog_name=prog_name)


class Command(BaseCommand):  # type: ignore[misc]  # Django is untyped here
    help = (
        "Run a mailcheck command inside this project, with its settings: "
        "`manage.py mailcheck config`, `doctor`, `session ID`, `send-test --to ADDR`... "
        "`manage.py mailcheck --help` lists them."
    )
    # No system checks first: mailcheck judges the settings itself, and says so in its report.
    requires_system_checks: ClassVar[list[str]] = []

    def run_from_argv(self, argv: list[str]) -> NoReturn:
        """`manage.py mailcheck ARGS`: ARGS to mailcheck, whole; exits with its status."""
        prog = f"{os.path.basename(argv[0])} {argv[1]}"
        run_mailcheck(list(argv[2:]), prog)

    def print_help(self, prog_name: str, subcommand: str) -> None:
        """`manage.py help mailcheck`: mailcheck's own help."""
        with contextlib.suppress(SystemExit):
            run_mailcheck(["--help"], f"{os.path.basename(prog_name)} {subcommand}")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """For call_command(): every argument is mailcheck's."""
        parser = CommandParser(
            prog=f"{os.path.basename(prog_name)} {subcommand}",
            description=self.help,
            add_help=False,
            called_from_command_line=False,
            **kwargs,
        )
        parser.add_argument("args", nargs=argparse.REMAINDER)
        return parser

    def execute(self, *args: str, **options: Any) -> None:
        """call_command("mailcheck", "config", "--json"): mailcheck's report to the `stdout`
        given (else sys.stdout); a status other than 0 is a CommandError carrying it. None of
        Django's own options (--no-color, --skip-checks...) stands in between."""
        self.handle(*args, **options)

    def handle(self, *args: str, **options: Any) -> None:
        out = options.get("stdout") or sys.stdout
        try:
            with contextlib.redirect_stdout(out):
                run_mailcheck(list(args), NAME)
        except SystemExit as done:
            # int(): an ExitCode is an IntEnum, which Python 3.10 prints as ExitCode.FINDINGS.
            code = int(done.code) if isinstance(done.code, int) else 0 if done.code is None else 1
            if code:
                raise CommandError(
                    f"mailcheck exited with status {code}", returncode=code
                ) from None
