"""The fixtures over the example project, loaded by the Django test modules through
`pytest_plugins = ["support.django_fixtures"]`: demo_db, process_state, site."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.django_site import DATABASE_VARIABLE, EXAMPLE, SETTINGS, build_database


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six demo interviews, built once per test session."""
    return build_database(tmp_path_factory.mktemp("site") / "demo.sqlite3")


@pytest.fixture
def process_state() -> Iterator[None]:
    """Give back os.environ, sys.path and the time zone as they were: loading settings sets
    DJANGO_SETTINGS_MODULE and TZ, inserts --pythonpath, and settings modules call
    load_dotenv()."""
    environ, path = dict(os.environ), list(sys.path)
    yield
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    if hasattr(time, "tzset"):
        time.tzset()


@pytest.fixture
def site(demo_db: Path, process_state: None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project set up in this process on the demo database; returns its path.

    The first in-process run sets Django up, reading the database path from the environment.
    Later runs reuse that set-up; tests that need another database repoint the connection with
    `use_database`.
    """
    monkeypatch.setenv(DATABASE_VARIABLE, str(demo_db))
    from interview_mailcheck.adapters.django import load_project

    load_project(SETTINGS, EXAMPLE)
    from django.db import connections

    monkeypatch.setitem(connections["default"].settings_dict, "NAME", str(demo_db))
    return demo_db
