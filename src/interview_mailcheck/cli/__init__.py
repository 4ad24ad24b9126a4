"""The command line: parse the options, call the command, render its report, exit. Nothing more.

Exit codes (see exitcodes.py): 0 clean, 1 findings at the fail level, 2 usage or unreadable
input, 3 mailcheck itself failed. The options are declared once, in options.py; the shared
machinery (usage errors, the guarded run, the output options) is cli/app.py; the commands are
cli/commands.py.
"""

from interview_mailcheck.cli import commands as _commands  # noqa: F401 - registers the commands
from interview_mailcheck.cli.app import app, app_for, main, takes_option

__all__ = ["app", "app_for", "main", "takes_option"]
