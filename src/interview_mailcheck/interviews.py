"""What mailcheck knows of the app's interview data: where it lives, and what one interview holds.

The layout (the two models and the field paths mailcheck reads) defaults to the app's names;
the `[tool.mailcheck]` table of the project's pyproject.toml, then command-line options, change
it. Plain data and validation only: Django is imported by adapters/django.py alone.
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from interview_mailcheck.errors import InputError

DEFAULT_INTERVIEW_MODEL = "interviews.Interview"
DEFAULT_SESSION_MODEL = "interview_app.InterviewSession"
INTERVIEW_FIELDS: Mapping[str, str] = {
    "candidate-name": "candidate__full_name",
    "candidate-email": "candidate__email",
    "job-title": "job__title",
    "company": "job__company_name",
    "started-at": "started_at",
    "session-key": "session_key",
}
SESSION_FIELDS: Mapping[str, str] = {
    "session-key": "session_key",
    "candidate-email": "candidate_email",
    "coding-language": "coding_language",
}
SIDES: Mapping[str, Mapping[str, str]] = {"interview": INTERVIEW_FIELDS, "session": SESSION_FIELDS}
REQUIRED_FIELDS = frozenset({("interview", "session-key"), ("session", "session-key")})
"""The chain cannot be walked without these; every other field may be "" (not in this app)."""

DEFAULT_LINK_TEMPLATE = "http://127.0.0.1:8000/?session_key={session_key}"
LINK_PLACEHOLDERS = ("session_key", "interview_id")
SETTINGS_VARIABLE = "DJANGO_SETTINGS_MODULE"
TOP_LEVEL_KEYS = ("settings", "link-template", "interview", "session")
_LABEL = re.compile(r"^[A-Za-z_][\w]*\.[A-Za-z_]\w*$")
_PATH = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True)
class ToolTable:
    """The `[tool.mailcheck]` table of the project's pyproject.toml (adapters/pyproject.py)."""

    path: Path | None
    """The pyproject.toml read, or None when there is none."""
    table: dict[str, Any] = field(default_factory=dict)
    """Its `[tool.mailcheck]` table; empty when the file has none."""


class InterviewRecord(NamedTuple):
    """One interview and the session its key points at, as read from the database.

    The fields are the columns of the adapter's query, in order (records are built straight
    from its rows).
    """

    interview_id: str
    session_key: str | None
    candidate_name: Any
    candidate_email: Any
    job_title: Any
    company: Any
    started_at: Any
    """A datetime (aware when the app has USE_TZ); in `sessions`, its stored text; or None."""
    session_email: Any
    """The session's candidate email, '' when it has none; None when there is no session."""
    coding_language: Any

    @property
    def session_found(self) -> bool:
        return self.session_email is not None


@dataclass(frozen=True)
class DataLayout:
    interview_model: str
    session_model: str
    interview_fields: Mapping[str, str]
    """Key (e.g. 'candidate-email') to a field path on the interview model; '' when absent."""
    session_fields: Mapping[str, str]
    link_template: str

    def interview_path(self, key: str) -> str:
        return self.interview_fields[key]

    def session_path(self, key: str) -> str:
        return self.session_fields[key]


def find_settings_module(
    option: str | None, tool: ToolTable, environ: Mapping[str, str]
) -> str | None:
    """The app's settings module: --settings, else $DJANGO_SETTINGS_MODULE, else `settings` in
    [tool.mailcheck]; None when none of them names one. The one definition every command uses."""
    for value in (option, environ.get(SETTINGS_VARIABLE), tool.table.get("settings")):
        if value:
            if not isinstance(value, str):
                raise InputError(f"{tool.path}: [tool.mailcheck] settings must be a string")
            return value.strip()
    return None


def settings_module(option: str | None, tool: ToolTable) -> str:
    """The app's settings module (find_settings_module); InputError when none is named."""
    found = find_settings_module(option, tool, os.environ)
    if found is None:
        raise InputError(
            "no Django settings module: pass --settings MODULE (e.g. mysite.settings), set "
            f"{SETTINGS_VARIABLE}, or set `settings` in [tool.mailcheck] of pyproject.toml"
        )
    return found


def resolve_layout(
    tool: ToolTable,
    *,
    interview_model: str | None = None,
    session_model: str | None = None,
    fields: Sequence[str] = (),
    link_template: str | None = None,
) -> DataLayout:
    """Defaults, then [tool.mailcheck], then options; raises InputError naming a bad entry."""
    table = tool.table
    where = f"{tool.path} [tool.mailcheck]"
    unknown = sorted(set(table) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise InputError(
            f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(TOP_LEVEL_KEYS)}"
        )
    models = {"interview": DEFAULT_INTERVIEW_MODEL, "session": DEFAULT_SESSION_MODEL}
    paths: dict[str, dict[str, str]] = {side: dict(SIDES[side]) for side in SIDES}
    for side in SIDES:
        section = table.get(side, {})
        if not isinstance(section, dict):
            raise InputError(f"{where}: `{side}` must be a table ([tool.mailcheck.{side}])")
        for key, value in section.items():
            if not isinstance(value, str):
                raise InputError(f"{where}.{side}: {key} must be a string")
            if key == "model":
                models[side] = value
            else:
                _set_path(paths, side, key, value, f"{where}.{side}")
    for option in fields:
        side_key, equals, value = option.partition("=")
        side, dot, key = side_key.strip().partition(".")
        if not equals or not dot:
            raise InputError(
                f"--field {option!r}: expected SIDE.KEY=PATH, e.g. "
                "interview.candidate-email=candidate__email"
            )
        _set_path(paths, side, key, value, "--field")
    models["interview"] = interview_model or models["interview"]
    models["session"] = session_model or models["session"]
    for side, label in models.items():
        if not _LABEL.match(label):
            raise InputError(f"the {side} model {label!r} is not of the form app_label.ModelName")
    template = link_template or table.get("link-template") or DEFAULT_LINK_TEMPLATE
    if not isinstance(template, str):
        raise InputError(f"{where}: link-template must be a string")
    check_link_template(template)
    return DataLayout(
        interview_model=models["interview"],
        session_model=models["session"],
        interview_fields=paths["interview"],
        session_fields=paths["session"],
        link_template=template,
    )


def _set_path(
    paths: dict[str, dict[str, str]], side: str, key: str, value: str, where: str
) -> None:
    if side not in SIDES:
        raise InputError(f"{where}: unknown side {side!r}; use interview.KEY or session.KEY")
    if key not in SIDES[side]:
        known = ", ".join(["model", *SIDES[side]]) if where != "--field" else ", ".join(SIDES[side])
        raise InputError(f"{where}: unknown {side} field {key!r}; known: {known}")
    path = value.strip()
    if not path and (side, key) in REQUIRED_FIELDS:
        raise InputError(f"{where}: {side}.{key} cannot be empty: mailcheck follows it")
    if path and not all(_PATH.match(part) for part in path.split("__")):
        raise InputError(f"{where}: {side}.{key}={value!r} is not a field path like job__title")
    paths[side][key] = path


# --- The interview link ---------------------------------------------------------------------


def check_link_template(template: str) -> None:
    """A usable template: http(s), and only the placeholders mailcheck can fill."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise InputError(f"link template {template!r} is not a valid template: {error}") from None
    for name in names:
        if name not in LINK_PLACEHOLDERS:
            raise InputError(
                f"link template {template!r}: unknown placeholder {{{name}}}; "
                "use {session_key} or {interview_id}"
            )
    if urlsplit(template).scheme not in ("http", "https") or not urlsplit(template).netloc:
        raise InputError(f"link template {template!r} is not an http:// or https:// URL")


LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_local_host(host: str) -> bool:
    """A host that means the candidate's own computer: localhost (and *.localhost, RFC 6761),
    a loopback address (127.0.0.0/8, ::1) or the unspecified one (0.0.0.0, ::)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def template_uses(template: str, placeholder: str) -> bool:
    return any(name == placeholder for _, name, _, _ in string.Formatter().parse(template))


def build_link(template: str, record: InterviewRecord) -> str | None:
    """The link the invitation carries; None when it needs a session key the interview lacks."""
    if template_uses(template, "session_key") and not record.session_key:
        return None
    return template.format(session_key=record.session_key or "", interview_id=record.interview_id)


# --- A window of interviews -----------------------------------------------------------------


def localize(moment: datetime, zone: tzinfo | None, use_tz: bool) -> datetime:
    """As Django compares it: aware in the app's zone with USE_TZ, naive local time without."""
    if use_tz:
        return moment if moment.tzinfo else moment.replace(tzinfo=zone or timezone.utc)
    if moment.tzinfo and zone is not None:
        return moment.astimezone(zone).replace(tzinfo=None)
    return moment.replace(tzinfo=None)
