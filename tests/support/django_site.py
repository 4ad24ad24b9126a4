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
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


# --- The example project with mailcheck's Django app ------------------------------------------

APP = "interview_mailcheck.django"
APP_SETTINGS = "interview_site.with_mailcheck"
"""The settings module of site_with_app(): the example's, with mailcheck's app installed."""


def site_with_app(folder: Path, extra: str = "", *, debug: bool = False) -> Path:
    """A copy of the example project whose settings module `interview_site.with_mailcheck` is
    the example's with mailcheck's app in INSTALLED_APPS and DEBUG as given (off, as where
    mail must go out: with DEBUG on the app's errors are warnings), then the lines `extra`."""
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", ".env")
    )
    (folder / "interview_site" / "with_mailcheck.py").write_text(
        "from interview_site.settings import *  # noqa: F403\n\n"
        f"INSTALLED_APPS = [*INSTALLED_APPS, {APP!r}]  # noqa: F405\nDEBUG = {debug}\n{extra}",
        encoding="utf-8",
    )
    return folder


def project_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the developer's EMAIL_*, MAILCHECK_*, DJANGO_* and the
    example's database variable, plus `extra`."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "MAILCHECK_", "DJANGO_")) and k != DATABASE_VARIABLE
    }
    environment.update(extra or {})
    return environment


def run_in(
    folder: Path, *command: str, env: Mapping[str, str] | None = None, label: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python COMMAND...` in `folder` (this interpreter: the venv's), printed for a failing
    test."""
    completed = subprocess.run(
        [sys.executable, *command],
        cwd=folder,
        env=project_environment(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(f"$ {label or ' '.join(command)}\nexit: {completed.returncode}")
    print(f"--- stdout\n{completed.stdout}--- stderr\n{completed.stderr}---")
    return completed


def manage(
    folder: Path, *args: str, env: Mapping[str, str] | None = None, settings: str = APP_SETTINGS
) -> subprocess.CompletedProcess[str]:
    """`python manage.py ARGS` in the project `folder`, with DJANGO_SETTINGS_MODULE=settings."""
    environment = {"DJANGO_SETTINGS_MODULE": settings, **(env or {})}
    return run_in(folder, "manage.py", *args, env=environment, label=f"manage.py {' '.join(args)}")


def console(
    folder: Path, *args: str, env: Mapping[str, str] | None = None, settings: str = APP_SETTINGS
) -> subprocess.CompletedProcess[str]:
    """The console script, `mailcheck ARGS`, in `folder` with the same environment as manage()."""
    environment = {"DJANGO_SETTINGS_MODULE": settings, **(env or {})}
    return run_in(
        folder,
        "-m",
        "interview_mailcheck",
        *args,
        env=environment,
        label=f"mailcheck {' '.join(args)}",
    )


def without_durations(value: Any) -> Any:
    """A JSON document with its timings left out (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: without_durations(v) for k, v in value.items() if k not in ("duration_ms", "ms")}
    if isinstance(value, list):
        return [without_durations(item) for item in value]
    return value
