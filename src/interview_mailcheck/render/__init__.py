"""Renderers turn a Report into a string; the CLI decides where it goes.

Chosen by name from `RENDERERS`; each is imported only when used (json costs start-up time).
Every string a renderer is given was masked as it entered the report (secrets.py); each
renderer escapes control characters in what it shows, and `write`/`write_file` mask once more
as the last guard before the bytes leave mailcheck.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, NamedTuple, TextIO

from interview_mailcheck.report import Report


class RenderOptions(NamedTuple):
    verbose: bool = False
    color: bool = False
    width: int = 100


Renderer = Callable[[Report, RenderOptions], str]

RENDERERS: dict[str, str] = {
    "text": "interview_mailcheck.render.text",
    "json": "interview_mailcheck.render.json",
    "github": "interview_mailcheck.render.github",
    "junit": "interview_mailcheck.render.junit",
}


def get_renderer(name: str) -> Renderer:
    module = importlib.import_module(RENDERERS[name])
    render: Renderer = module.render
    return render


def wants_color(stream: TextIO) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_width(stream: TextIO | None = None, default: int = 100) -> int:
    import shutil

    stream = stream or sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return shutil.get_terminal_size((default, 24)).columns if tty else default


def terminal(stream: TextIO) -> tuple[bool, int]:
    """Whether to colour output for `stream`, and its width."""
    return wants_color(stream), terminal_width(stream)


def write(stream: IO[str], text: str) -> None:
    """The last guard: mask once more, then write."""
    from interview_mailcheck.secrets import mask

    stream.write(mask(text))
    stream.flush()


def write_file(path: Path, text: str, kind: str) -> None:
    """Write a report file (JUnit, --output), masked; InputError when it cannot be written."""
    from interview_mailcheck.errors import InputError
    from interview_mailcheck.secrets import mask

    try:
        path.write_text(mask(text), encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot write the {kind} {path}: {error.strerror or error}") from None
