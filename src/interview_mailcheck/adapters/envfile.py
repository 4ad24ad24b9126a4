"""Reading a `.env` file as the app's `load_dotenv()` reads it. I/O and decoding errors become
`InputError`.

The file is parsed once, in one pass, by envparse.py: python-dotenv's grammar, the same
regular expressions at the same places (tests/test_envparse.py holds the two equal), three
times as fast as python-dotenv's own `parse_stream` and without importing python-dotenv, which
costs 40 ms at start-up. `${VAR}` references are resolved with python-dotenv's own
`parse_variables` (imported only for a file that has one), in one pass: python-dotenv's
`DotEnv.dict()` copies the whole environment and every earlier value for each line, which
makes a file of 50,000 lines take 20 s; the result here is the same, in linear time. This is
the only module that imports python-dotenv.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

from interview_mailcheck.envparse import parse
from interview_mailcheck.errors import InputError, unreadable
from interview_mailcheck.settings import EnvBinding, EnvFile

MAX_SIZE = 16 << 20
"""16 MiB. A real env file is a few kilobytes; anything past this is refused (exit 2)."""


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
    bindings = tuple(EnvBinding(s.key, s.value, s.line, s.original, s.error) for s in parse(text))
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
            from dotenv.variables import parse_variables

            value = "".join(atom.resolve(scope) for atom in parse_variables(value))
        values[key] = value
    return values
