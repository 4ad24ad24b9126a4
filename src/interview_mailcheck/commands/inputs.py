"""What every command reads before it checks anything: the settings, and the run's secrets.

The commands layer reads (through the adapters) and hands plain values to the domain below.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from interview_mailcheck import secrets
from interview_mailcheck.adapters.envfile import read_env_file, read_text_quietly
from interview_mailcheck.settings import (
    SECRET_SETTINGS,
    MailSettings,
    env_file_location,
    merge,
    remember_secret,
    remember_secrets_in,
)

EXTRA_SECRET_VARIABLES = ("MAILCHECK_IMAP_PASSWORD",)


def load_settings(option: Path | None) -> MailSettings:
    """Read the env file and the process environment; raises InputError for an unreadable file."""
    path, required = env_file_location(option)
    env_file = read_env_file(path) if required or path.exists() else None
    return merge(path, env_file, os.environ)


def collect_secrets(
    env_file: Path | None,
    project_folder: Path | None,
    environ: Mapping[str, str],
    also_read: Sequence[Path] = (),
) -> None:
    """Fill the run's secrets before any of the user's code runs.

    From the process environment (EMAIL_HOST_PASSWORD, EMAIL_URL, and every variable named
    like a secret: a settings module may read DATABASE_PASSWORD and raise with it), and from
    the env files the run reads or the settings module may load: the one named, and the .env
    next to the project (where load_dotenv() finds it), and `also_read` (`--compare`'s). Files
    that cannot be read are left to the step that reads them, which says why.
    """
    known = secrets.current()
    known.add_all(secrets.from_environment(environ))
    for name in (*SECRET_SETTINGS, *EXTRA_SECRET_VARIABLES):
        remember_secret(name, environ.get(name))
    user, password = environ.get("EMAIL_HOST_USER"), environ.get("EMAIL_HOST_PASSWORD")
    if user and password:
        known.add_login(user, password)
    paths = {env_file_location(env_file)[0], (project_folder or Path.cwd()) / ".env", *also_read}
    for path in paths:
        text = read_text_quietly(path)
        if text:
            remember_secrets_in(text)
