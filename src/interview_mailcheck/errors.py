"""The project's own errors. Adapters translate library exceptions into these at the boundary."""


class MailcheckError(Exception):
    """Base class: a problem with the user's input that the CLI reports in one line (exit 2)."""


class InputError(MailcheckError):
    """An input file or value cannot be read or used (missing file, bad encoding, bad option)."""
