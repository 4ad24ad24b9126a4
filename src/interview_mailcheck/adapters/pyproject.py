"""Reading the `[tool.mailcheck]` table of the project's pyproject.toml.

The only module that parses TOML (tomllib, or tomli before Python 3.11). Unreadable or invalid
files become `InputError` naming the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

from interview_mailcheck.errors import InputError
from interview_mailcheck.interviews import ToolTable

FILE_NAME = "pyproject.toml"


def find_pyproject(start: Path) -> Path | None:
    """The first pyproject.toml in `start` or one of its parents (as ruff and black look)."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / FILE_NAME
        if path.is_file():
            return path
    return None


def read_tool_table(start: Path) -> ToolTable:
    path = find_pyproject(start)
    if path is None:
        return ToolTable(None)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    # Imported only when there is a file to parse: doctor looks for one on every run.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path} is not valid TOML: {error}") from None
    tool = document.get("tool")
    table = tool.get("mailcheck", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.mailcheck] must be a table")
    return ToolTable(path, table)
