"""Reading a `.env` file with python-dotenv's parser, the one the app's `load_dotenv()` uses.

The only module that imports python-dotenv. I/O and decoding errors become `InputError`.

The file is parsed once, by python-dotenv's `parse_stream`, and `${VAR}` references are then
resolved here with python-dotenv's own `parse_variables`, in one pass. (python-dotenv's
`DotEnv.dict()` copies the whole environment and every earlier value for each line, which
makes a file of 50,000 lines take 20 s; the result here is the same, in linear time.)
"""

from __future__ import annotations

import io
import logging
import os
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream
from dotenv.variables import parse_variables

from interview_mailcheck.errors import InputError, unreadable
from interview_mailcheck.settings import EnvBinding, EnvFile

MAX_SIZE = 16 << 20
"""16 MiB. A real env file is a few kilobytes; anything past this is refused (exit 2)."""

# python-dotenv logs "could not parse statement" through the root logger's last-resort handler,
# which would print to stderr; mailcheck reports those lines as findings instead.
logging.getLogger("dotenv.main").addHandler(logging.NullHandler())
logging.getLogger("dotenv.main").propagate = False


def read_text_quietly(path: Path) -> str:
    """The file's text, or '' when it cannot be read (its reader reports why, later)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_SIZE + 1)
    except OSError:
        return ""
    return data[:MAX_SIZE].decode("utf-8", "replace")


def read_env_file(path: Path, environ: Mapping[str, str] | None = None) -> EnvFile:
    """Parse `path`; `${VAR}` references resolve against the process environment first, as
    load_dotenv() does (override=False), then against the file's earlier values."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_SIZE + 1)
    except OSError as error:
        raise unreadable("env file", path, error) from None
    if len(data) > MAX_SIZE:
        raise InputError(
            f"env file is larger than {MAX_SIZE >> 20} MiB, which no real env file is: {path}"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"env file is not valid UTF-8 (byte {error.start}): {path}; "
            "load_dotenv() would fail on it too"
        ) from None
    return parse_env_text(path, text, os.environ if environ is None else environ)


def parse_env_text(path: Path, text: str, environ: Mapping[str, str]) -> EnvFile:
    bindings = tuple(
        EnvBinding(b.key, b.value, b.original.line, b.original.string, b.error)
        for b in parse_stream(io.StringIO(text))
    )
    return EnvFile(path=path, text=text, bindings=bindings, values=interpolate(bindings, environ))


def interpolate(
    bindings: tuple[EnvBinding, ...], environ: Mapping[str, str]
) -> dict[str, str | None]:
    """The values `DotEnv(override=False).dict()` gives, in one pass: inside `${...}` the
    environment wins over the file, and a value sees only the lines before it."""
    values: dict[str, str | None] = {}
    scope: Mapping[str, str | None] = ChainMap(environ, values)  # type: ignore[arg-type]
    for binding in bindings:
        key, value = binding.key, binding.value
        if key is None:
            continue
        if value is not None and "${" in value:
            value = "".join(atom.resolve(scope) for atom in parse_variables(value))
        values[key] = value
    return values
