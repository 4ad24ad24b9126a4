"""The Django adapter: load the user's project as django-admin does, and read its rows read-only.

The only module that imports Django, and only inside functions, so `mailcheck config` without
--settings never pays for it. Django's exceptions, and anything the user's settings code
raises, become `InputError` here (exit 2, one line naming what failed); a database that refuses
the connection or a query is its subclass `DatabaseRefused`, with the driver's words, SQLSTATE
and the settings used, which checks/database.py names as a finding where it knows the problem.

Read-only, twice over: every read runs in a transaction that is rolled back, and the connection
itself is opened read-only where the backend has a switch for it (SQLite `mode=ro`, PostgreSQL
`default_transaction_read_only`). SQLite in `mode=ro` also never creates a missing file.

A WAL-mode SQLite database is read in place only where its -wal and -shm files exist and SQLite
can use them; otherwise a reader would create them beside the database (and leave them), or fail
where it cannot. Such a database is read from a private temporary copy instead (see
sqlite_files.py), and `InterviewReader.read_only_note` says so.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from interview_mailcheck import secrets
from interview_mailcheck.adapters.django_settings import (
    _import_django,
    _import_settings,
    _one_line,
    quiet_email_deprecations,
    settings_secrets,
    user_code,
)
from interview_mailcheck.adapters.sqlite_files import (
    OnDisk,
    copy_note,
    look,
    private_copy,
    sqlite_path,
)
from interview_mailcheck.errors import DatabaseRefused, InputError
from interview_mailcheck.interviews import DataLayout, InterviewRecord, localize
from interview_mailcheck.values import parse_timeout, resolve_timeout

_UNMIGRATED = re.compile(r"no such (table|column)|does not exist|doesn't exist|Unknown column")
CHUNK_SIZE = 2000
"""Rows fetched per round trip while streaming: memory stays flat whatever the row count."""


@dataclass(frozen=True)
class Project:
    settings_module: str
    time_zone: str
    use_tz: bool
    email_timeout: float | None = None
    """EMAIL_TIMEOUT when it is a usable timeout: what session and sessions wait for DNS."""

    @property
    def zone(self) -> tzinfo | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.time_zone) if self.time_zone else None
        except (ZoneInfoNotFoundError, ValueError):
            return None


def load_project(module: str, pythonpath: Path) -> Project:
    """Configure Django with `module` and call django.setup(), as django-admin does."""
    django = _import_django()
    _import_settings(module, pythonpath)
    from django.apps import apps
    from django.conf import settings

    if settings.configured:
        current = getattr(settings, "SETTINGS_MODULE", None)
        if current != module:
            raise InputError(
                f"Django is already set up with settings {current!r} in this process; "
                f"cannot load {module!r}"
            )
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    with quiet_email_deprecations():
        if not apps.ready:
            with user_code(f"django.setup() failed with settings {module!r}", pythonpath.resolve()):
                django.setup()
        secrets.current().add_all(settings_secrets(settings))
        timeout = _email_timeout(settings)
    usable = (
        parse_timeout(str(timeout))
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
        else None
    )
    return Project(module, str(settings.TIME_ZONE or ""), bool(settings.USE_TZ), usable)


def _email_timeout(settings: Any) -> object:
    """The timeout the app sends with: the 'default' mailer's with Django 6.1's MAILERS, else
    EMAIL_TIMEOUT (which Django 6.1 will not let be read beside MAILERS)."""
    mailers = getattr(settings, "MAILERS", None)
    if isinstance(mailers, Mapping):
        default = mailers.get("default")
        options = default.get("OPTIONS") if isinstance(default, Mapping) else None
        return options.get("timeout") if isinstance(options, Mapping) else None
    try:
        return getattr(settings, "EMAIL_TIMEOUT", None)
    except Exception:  # AttributeError or ImproperlyConfigured: not readable here
        return None


# --- Read-only connections ------------------------------------------------------------------


def read_only_changes(
    vendor: str, settings_dict: Mapping[str, Any], timeout: float | None = None
) -> dict[str, Any]:
    """The NAME / OPTIONS that make a connection read-only; {} when the backend has no switch.

    PostgreSQL also gets a connect_timeout (see `connect_timeout`), so that a server that
    accepts the connection and never answers costs that long, not forever.
    """
    options = dict(settings_dict.get("OPTIONS") or {})
    if vendor == "sqlite":
        name = str(settings_dict.get("NAME") or "")
        if name == ":memory:" or "mode=memory" in name:
            return {}
        if name.startswith("file:"):
            uri = name if "mode=ro" in name else f"{name}{'&' if '?' in name else '?'}mode=ro"
        else:
            uri = Path(name).resolve().as_uri() + "?mode=ro"
        # BEGIN IMMEDIATE / EXCLUSIVE (Django 5.1's transaction_mode) asks for a write lock.
        options.pop("transaction_mode", None)
        return {"NAME": uri, "OPTIONS": options}
    if vendor == "postgresql":
        extra = "-c default_transaction_read_only=on"
        existing = str(options.get("options") or "")
        options["options"] = f"{existing} {extra}".strip()
        options["connect_timeout"] = connect_timeout(options.get("connect_timeout"), timeout)
        return {"OPTIONS": options}
    return {}


def connect_timeout(configured: object, given: float | None) -> int:
    """PostgreSQL's connect_timeout for mailcheck's connection: --timeout when given, else the
    app's OPTIONS['connect_timeout'] when it is a usable timeout (values.py: 1 to 600 s; libpq
    waits forever for 0), else the default timeout. Whole seconds, at least 2 (libpq's own
    minimum)."""
    app = parse_timeout(str(configured)) if configured is not None else None
    return max(2, math.ceil(resolve_timeout(given, app)))


def describe_database(vendor: str, settings_dict: Mapping[str, Any]) -> str:
    name = str(settings_dict.get("NAME") or "")
    if vendor == "sqlite":
        return f"SQLite {name}"
    host = settings_dict.get("HOST") or "localhost"
    return f"{vendor} database {name!r} on {host}"


def _connect(connection: Any, where: str) -> None:
    from django.db.utils import Error as DatabaseError

    try:
        connection.ensure_connection()
    except DatabaseError as error:  # the server refused, or never answered
        message = f"database cannot be opened: {where}: {_one_line(error)}"
        raise _refused(connection, error, "open", message) from None
    except Exception as error:  # ImproperlyConfigured, missing drivers
        raise InputError(f"database cannot be opened: {where}: {_one_line(error)}") from None


def _database_facts(connection: Any) -> dict[str, str]:
    """What checks/database.py names in its findings: the settings to change."""
    settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS") or {}

    def text(value: object) -> str:
        return "" if value is None else str(value)

    return {
        "vendor": text(connection.vendor),
        "alias": text(connection.alias),
        "where": describe_database(connection.vendor, settings_dict),
        "host": text(settings_dict.get("HOST")),
        "port": text(settings_dict.get("PORT")),
        "name": text(settings_dict.get("NAME")),
        "user": text(settings_dict.get("USER")),
        "sslmode": text(options.get("sslmode")),
        "connect_timeout": text(options.get("connect_timeout")),
    }


def _refused(connection: Any, error: BaseException, phase: str, message: str) -> DatabaseRefused:
    """The driver's error (Django wraps it: the driver's own is its __cause__) as the project's
    DatabaseRefused: the driver's words, its SQLSTATE and class names, the settings used."""
    driver = error.__cause__ if error.__cause__ is not None else error
    sqlstate = getattr(driver, "sqlstate", None) or getattr(error, "sqlstate", None)
    return DatabaseRefused(
        message,
        phase=phase,
        server_text=" ".join(str(driver).split()) or type(driver).__name__,
        sqlstate=str(sqlstate) if sqlstate else None,
        kinds=tuple(kind.__name__ for kind in type(driver).__mro__),
        database=_database_facts(connection),
    )


def _refusal(connection: Any, where: str) -> str:
    """Connect and read the schema: '' when SQLite can, else its error, the connection closed
    (a WAL-mode database whose -wal or -shm it cannot use). Reading is what opens the -wal and
    the -shm: at the first query, or already in an init_command that reads the database."""
    import sqlite3

    from django.db.utils import Error as DatabaseError

    try:
        connection.ensure_connection()
        connection.connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (sqlite3.Error, DatabaseError) as error:
        connection.close()
        return " ".join(str(error).split()) or type(error).__name__
    except Exception as error:  # ImproperlyConfigured, as _connect
        raise InputError(f"database cannot be opened: {where}: {_one_line(error)}") from None
    return ""


# --- Reading interviews ---------------------------------------------------------------------


class InterviewReader:
    """The interview and session models of the layout, checked against the app's real models."""

    def __init__(self, project: Project, layout: DataLayout) -> None:
        from django.db import router

        self.project = project
        self.layout = layout
        self.read_only_note = ""
        """Set by read_only(): '' when the database was read as it is, else one sentence on
        what was read instead and why (a WAL-mode SQLite database read from a private copy)."""
        self.interview_model = _get_model(layout.interview_model, "interview")
        self.session_model = _get_model(layout.session_model, "session")
        for key, path in layout.interview_fields.items():
            if path:
                _check_path(self.interview_model, path, f"interview.{key}")
        for key, path in layout.session_fields.items():
            if path:
                _check_path(self.session_model, path, f"session.{key}")
        self.alias = router.db_for_read(self.interview_model)
        session_alias = router.db_for_read(self.session_model)
        if session_alias != self.alias:
            raise InputError(
                f"{layout.interview_model} is read from database {self.alias!r} and "
                f"{layout.session_model} from {session_alias!r}: mailcheck needs both in one"
            )

    @property
    def database(self) -> str:
        from django.db import connections

        connection = connections[self.alias]
        return describe_database(connection.vendor, connection.settings_dict)

    @contextmanager
    def read_only(self, timeout: float | None = None) -> Iterator[None]:
        """A read-only connection and a transaction that is always rolled back.

        `timeout` (--timeout) bounds the wait for a PostgreSQL server (see connect_timeout).
        A server that refuses the connection or a query raises DatabaseRefused.

        A WAL-mode SQLite database that SQLite cannot read in place without creating files
        beside it is read from a private copy, removed afterwards; `read_only_note` says so.
        """
        from django.db import connections, transaction
        from django.db.utils import Error as DatabaseError

        connection = connections[self.alias]
        connection.close()
        settings_dict = connection.settings_dict
        saved = {key: settings_dict.get(key) for key in ("NAME", "OPTIONS")}
        where = describe_database(connection.vendor, settings_dict)
        self.read_only_note = ""
        disk: OnDisk | None = None
        if connection.vendor == "sqlite":
            name = str(settings_dict.get("NAME") or "")
            if not name.startswith("file:") and name != ":memory:" and not Path(name).exists():
                raise InputError(f"database cannot be opened: {where}: no such file")
            path = sqlite_path(name)
            disk = look(path) if path is not None else None
        # A private copy, if one is read, is removed after the `finally` has closed the connection.
        with ExitStack() as copies:
            try:
                settings_dict.update(read_only_changes(connection.vendor, settings_dict, timeout))
                if disk is not None and not disk.readable_in_place:
                    reason = f"without creating {disk.missing} beside it"
                    self._read_a_copy(copies, disk, reason, settings_dict, saved, where)
                if disk is not None and disk.wal_mode and not self.read_only_note:
                    refused = _refusal(connection, where)
                    if refused:
                        self._read_a_copy(copies, disk, f"({refused})", settings_dict, saved, where)
                _connect(connection, where)
                try:
                    with transaction.atomic(using=self.alias):
                        yield
                        transaction.set_rollback(True, using=self.alias)
                except DatabaseError as error:
                    unmigrated = _UNMIGRATED.search(str(error))
                    hint = " (are the app's migrations applied to it?)" if unmigrated else ""
                    message = f"database cannot be read: {where}: {_one_line(error)}{hint}"
                    raise _refused(connection, error, "read", message) from None
            finally:
                connection.close()
                settings_dict.update(saved)

    def _read_a_copy(
        self,
        copies: ExitStack,
        disk: OnDisk,
        reason: str,
        settings_dict: dict[str, Any],
        saved: Mapping[str, Any],
        where: str,
    ) -> None:
        """Point the connection's settings at a private copy of the database (and its -wal)."""
        try:
            copy = copies.enter_context(private_copy(disk.path))
        except OSError as error:
            raise InputError(
                f"database cannot be opened: {where}: it is in WAL mode and SQLite cannot read "
                f"it in place {reason}, and a private copy could not be made: {_one_line(error)}"
            ) from None
        settings_dict.update(read_only_changes("sqlite", {**saved, "NAME": str(copy.path)}))
        self.read_only_note = copy_note(reason, copy.with_wal)

    def _sessions(self) -> Any:
        """The session rows whose key is the outer interview's key (a correlated subquery)."""
        from django.db.models import OuterRef

        layout = self.layout
        return self.session_model._default_manager.using(self.alias).filter(
            **{layout.session_path("session-key"): OuterRef(layout.interview_path("session-key"))}
        )

    def _interviews(self) -> Any:
        """By start time, unscheduled last. No tie-breaker: with one, SQLite sorts all the rows
        again instead of walking the started_at index (a fifth of the query's time at 100,000)."""
        from django.db.models import F

        manager = self.interview_model._default_manager.using(self.alias)
        started = self.layout.interview_path("started-at")
        return manager.order_by(F(started).asc(nulls_last=True) if started else "pk")

    def _column(self, key: str) -> Any:
        from django.db.models import CharField, Value

        return self.layout.interview_path(key) or Value(None, CharField())

    def _session_email(self) -> Any:
        """The session's email: '' when the session has none, NULL when there is no session."""
        from django.db.models import CharField, Subquery, Value
        from django.db.models.functions import Cast, Coalesce

        path = self.layout.session_path("candidate-email")
        email = Coalesce(
            Cast(path, CharField()) if path else Value(None, CharField()), Value("", CharField())
        )
        found = self._sessions().annotate(mailcheck_email=email).values("mailcheck_email")
        return Subquery(found[:1])

    def one(self, interview_id: str) -> InterviewRecord | None:
        """The interview with this primary key; None for an unknown or malformed id.

        One query, every value converted as the app sees it (an aware datetime with USE_TZ).
        """
        from django.core.exceptions import ValidationError
        from django.db.models import CharField, Subquery, Value

        language = self.layout.session_path("coding-language")
        columns = (
            "pk",
            self._column("session-key"),
            self._column("candidate-name"),
            self._column("candidate-email"),
            self._column("job-title"),
            self._column("company"),
            self._column("started-at"),
            self._session_email(),
            Subquery(self._sessions().values(language)[:1])
            if language
            else Value(None, CharField()),
        )
        try:
            key = self.interview_model._meta.pk.to_python(interview_id.strip())
            rows = list(self._interviews().filter(pk=key).values_list(*columns)[:1])
        except (ValidationError, ValueError, TypeError, OverflowError):
            return None
        if not rows:
            return None
        pk, *values = rows[0]
        return InterviewRecord(str(pk), *values)

    def many(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Every interview (in the window, up to `limit`): one query, streamed in chunks.

        Built for 100,000 rows: one correlated subquery (the session's email), the primary key
        and start time read as text so that no per-row conversion runs, and each row a plain
        tuple in InterviewRecord's field order (`InterviewRecord._make(row)` is the record).
        Its `interview_id` is the key as the database stores it; `display_id()` gives the
        app's form.
        """
        from django.db.models import CharField, Value
        from django.db.models.functions import Cast

        started = self.layout.interview_path("started-at")
        if (since or until) and not started:
            raise InputError("--since and --until need the interview's started-at field")
        nothing = Value(None, CharField())
        columns = (
            Cast("pk", CharField()),
            self._column("session-key"),
            self._column("candidate-name"),
            self._column("candidate-email"),
            nothing,
            nothing,
            Cast(started, CharField()) if started else nothing,
            self._session_email(),
            nothing,
        )
        queryset = self._interviews()
        zone, use_tz = self.project.zone, self.project.use_tz
        if since is not None:
            queryset = queryset.filter(**{f"{started}__gte": localize(since, zone, use_tz)})
        if until is not None:
            queryset = queryset.filter(**{f"{started}__lte": localize(until, zone, use_tz)})
        rows = queryset.values_list(*columns)
        if limit is not None:
            rows = rows[:limit]
        return rows.iterator(chunk_size=CHUNK_SIZE)  # type: ignore[no-any-return]

    def display_id(self, stored: str) -> str:
        """The primary key as the app shows it (a UUID with dashes), from its stored text."""
        try:
            return str(self.interview_model._meta.pk.to_python(stored))
        except Exception:  # a key Django cannot parse back: show it as stored
            return stored


def _get_model(label: str, side: str) -> Any:
    from django.apps import apps

    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as error:
        raise InputError(
            f"{side} model {label!r} not found: {_one_line(error)} (set it with "
            f"--{side}-model or `model` in [tool.mailcheck.{side}])"
        ) from None


def _check_path(model: Any, path: str, key: str) -> None:
    """Every step of `path` exists, and each but the last is a single-valued relation."""
    from django.core.exceptions import FieldDoesNotExist

    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        meta = current._meta
        try:
            field = meta.get_field(part)
        except FieldDoesNotExist:
            names = ", ".join(sorted(f.name for f in meta.get_fields()))
            raise InputError(
                f"field {path!r} ({key}) not found: {meta.label} has no field {part!r} (its "
                f"fields: {names}); set the path with --field {key}=PATH or in [tool.mailcheck]"
            ) from None
        if field.many_to_many or field.one_to_many:
            raise InputError(
                f"field {path!r} ({key}): {meta.label}.{part} holds many rows; "
                "mailcheck needs a path to one value"
            )
        if index < len(parts) - 1:
            if not field.is_relation or field.related_model is None:
                raise InputError(
                    f"field {path!r} ({key}): {meta.label}.{part} is not a relation, "
                    f"so {'__'.join(parts[index + 1 :])!r} cannot follow it"
                )
            current = field.related_model
