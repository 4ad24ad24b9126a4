"""Reading a `.env` file with python-dotenv, the same parser the app's `load_dotenv()` uses.

The only module that imports python-dotenv. I/O and decoding errors become `InputError`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from dotenv.main import DotEnv
from dotenv.parser import parse_stream

from interview_mailcheck.errors import InputError, unreadable

# python-dotenv logs "could not parse statement" through the root logger's last-resort handler,
# which would print to stderr; mailcheck reports those lines as findings instead.
logging.getLogger("dotenv.main").addHandler(logging.NullHandler())
logging.getLogger("dotenv.main").propagate = False


class EnvBinding(NamedTuple):
    """One statement of the file as python-dotenv parsed it."""

    key: str | None
    value: str | None
    line: int
    original: str
    """The statement's text as written (can span several lines)."""
    error: bool
    """python-dotenv could not parse the statement and skipped it."""


class EnvFile(NamedTuple):
    path: Path
    text: str
    bindings: tuple[EnvBinding, ...]
    values: Mapping[str, str | None]
    """The values after interpolation, as `load_dotenv()` computes them (the last key wins)."""


def read_env_file(path: Path) -> EnvFile:
    """Parse `path`; `${VAR}` references resolve against os.environ first, as load_dotenv does."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise unreadable("env file", path, error) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"env file is not valid UTF-8 (byte {error.start}): {path}; "
            "load_dotenv() would fail on it too"
        ) from None
    bindings = tuple(
        EnvBinding(b.key, b.value, b.original.line, b.original.string, b.error)
        for b in parse_stream(io.StringIO(text))
    )
    # DotEnv(override=False) is what load_dotenv() builds: inside ${...} the process
    # environment wins over the file, exactly as the app will see it.
    values = DotEnv(None, stream=io.StringIO(text), interpolate=True, override=False).dict()
    return EnvFile(path=path, text=text, bindings=bindings, values=dict(values))
