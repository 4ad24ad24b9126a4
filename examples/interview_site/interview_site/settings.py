"""Settings of the example interview site: the models and settings shape of the real app.

The database is a SQLite file, `db.sqlite3` next to manage.py unless INTERVIEW_SITE_DB names
another path (the tests and the benchmark build theirs in a temporary folder).

When INTERVIEW_SITE_DATABASE_URL is set, the database is PostgreSQL instead (and
INTERVIEW_SITE_DB is ignored), given as a URL over TCP, with the password percent-encoded:

    INTERVIEW_SITE_DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/NAME?sslmode=require

The query string, if any, becomes OPTIONS (sslmode, connect_timeout, ...).

It needs the psycopg driver (`pip install 'psycopg[binary]'`). The tests start their own
throwaway server (tests/support/postgres.py).

The email settings come from `.env` next to manage.py, as in the app, with the app's fallbacks.
"""

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

SECRET_KEY = "example-site-only-not-a-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "interviews",
    "interview_app",
]


def postgresql(url: str) -> dict[str, object]:
    """DATABASES['default'] for a postgresql://USER:PASSWORD@HOST:PORT/NAME?OPTIONS URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"INTERVIEW_SITE_DATABASE_URL must start with postgresql://, not {parts.scheme!r}"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
    }


if os.environ.get("INTERVIEW_SITE_DATABASE_URL"):
    DATABASES = {"default": postgresql(os.environ["INTERVIEW_SITE_DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("INTERVIEW_SITE_DB", str(BASE_DIR / "db.sqlite3")),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"

EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.getenv("EMAIL_HOST", "")
EMAIL_PORT = int(os.getenv("EMAIL_PORT", "587"))
EMAIL_USE_TLS = os.getenv("EMAIL_USE_TLS", "True") == "True"
EMAIL_USE_SSL = os.getenv("EMAIL_USE_SSL", "False") == "True"
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", EMAIL_HOST_USER or "webmaster@localhost")
EMAIL_TIMEOUT = 10
