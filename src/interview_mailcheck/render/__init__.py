"""Renderers turn a Report into a string; the CLI decides where it goes.

Chosen by name from `RENDERERS`; each is imported only when used (json costs start-up time).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import NamedTuple, TextIO

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


def terminal_width(default: int = 100) -> int:
    import shutil

    return shutil.get_terminal_size((default, 24)).columns if sys.stdout.isatty() else default
