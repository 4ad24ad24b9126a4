"""The project's own errors. Adapters translate library exceptions into these at the boundary."""


class MailcheckError(Exception):
    """Base class: a problem with the user's input that the CLI reports in one line (exit 2).

    The message is masked as the error is made: it often quotes what the user's code or a
    server said, which can hold the password.
    """

    def __init__(self, message: str) -> None:
        from interview_mailcheck.secrets import mask

        super().__init__(mask(message))


class InputError(MailcheckError):
    """An input file or value cannot be read or used (missing file, bad encoding, bad option)."""


def unreadable(kind: str, name: object, error: OSError) -> InputError:
    """The one-line error for a file that cannot be read, e.g. kind 'env file' or 'log file'."""
    if isinstance(error, FileNotFoundError):
        return InputError(f"{kind} not found: {name}")
    if isinstance(error, IsADirectoryError):
        return InputError(f"{kind} is a directory, not a file: {name}")
    if isinstance(error, PermissionError):
        return InputError(f"{kind} is not readable (permission denied): {name}")
    return InputError(f"{kind} cannot be read: {name}: {error.strerror or error}")


class DatabaseRefused(InputError):
    """The app's database would not let mailcheck in, or read a table: raised by the adapter
    with what the driver and the server said, for checks/database.py to name as a finding.

    Uncaught (a problem that table does not know), it is the one-line input error it always
    was: its message is "database cannot be opened: ..." or "database cannot be read: ...".
    """

    def __init__(
        self,
        message: str,
        *,
        phase: str,
        server_text: str,
        sqlstate: str | None,
        kinds: tuple[str, ...],
        database: dict[str, str],
    ) -> None:
        from interview_mailcheck.secrets import mask

        super().__init__(message)
        self.phase = phase
        """'open' (connecting, logging in) or 'read' (a query)."""
        self.server_text = mask(server_text)
        """What the driver or the server said, on one line (untrusted text)."""
        self.sqlstate = sqlstate
        self.kinds = kinds
        """The driver's exception class names, most specific first (ConnectionTimeout...)."""
        self.database = database
        """The connection's settings: vendor, alias, where, host, port, name, user, sslmode,
        connect_timeout (each a string, '' when not set)."""
