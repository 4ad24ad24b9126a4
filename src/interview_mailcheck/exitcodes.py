"""Exit statuses, the same for every command (as linters such as ruff and sqlfluff use them)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """No finding at or above the fail level."""
    FINDINGS = 1
    """At least one error (or a warning under --strict): the mail setup is broken."""
    USAGE = 2
    """Bad command line or unreadable input (the message names what)."""
    INTERNAL = 3
    """mailcheck itself failed: a bug to report."""
