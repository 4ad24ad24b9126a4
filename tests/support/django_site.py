"""The example Django project (examples/interview_site) as a real peer for the tests.

Its databases are built in temporary folders by a subprocess running the project's own
`migrate` and `demo_data`, as a user would. In-process runs of `mailcheck session(s)` set
Django up with the example's settings (once per process, as Django allows); other projects run
in subprocesses. The fixtures are in support/django_fixtures.py; this module holds the paths,
the demo interviews' ids and the helpers.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "interview_site"
HIRING_SITE = ROOT / "tests" / "fixtures" / "django" / "hiring_site"
SETTINGS_FIXTURES = ROOT / "tests" / "fixtures" / "django" / "settings"
SETTINGS = "interview_site.settings"
SITE_ARGS = ("--settings", SETTINGS, "--pythonpath", str(EXAMPLE))
DATABASE_VARIABLE = "INTERVIEW_SITE_DB"

# The demo interviews (examples/interview_site/interviews/management/commands/demo_data.py).
HEALTHY = "6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60"
NO_SESSION = "6f1c2a3e-0002-4c8e-9a51-2b7d3e4f5a60"
ORPHAN_KEY = "6f1c2a3e-0003-4c8e-9a51-2b7d3e4f5a60"
NO_EMAIL = "6f1c2a3e-0004-4c8e-9a51-2b7d3e4f5a60"
EMAIL_DIFFERS = "6f1c2a3e-0005-4c8e-9a51-2b7d3e4f5a60"
INVALID_EMAIL = "6f1c2a3e-0006-4c8e-9a51-2b7d3e4f5a60"
LINK_WARNINGS = ["session.W002", "session.W003"]  # the app's default link: 127.0.0.1, http

BUILD = """
import django
from django.core.management import call_command

django.setup()
call_command("migrate", verbosity=0)
call_command("demo_data", *{args!r})
"""


def build_database(path: Path, *demo_args: str) -> Path:
    """A fresh database for the example project: migrated, then `demo_data ARGS`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO"))}
    environment.update({DATABASE_VARIABLE: str(path), "DJANGO_SETTINGS_MODULE": SETTINGS})
    subprocess.run(
        [sys.executable, "-c", BUILD.format(args=demo_args)],
        cwd=EXAMPLE,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def use_database(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Point the example project's connection at another SQLite file for this test."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(path))
