"""Benchmark: what mailcheck's Django app adds to `manage.py check` (runserver's start-up runs
the same system checks).

The example project (a copy, in a temporary folder) with a healthy SMTP configuration, run as
`python manage.py check` with its own settings, and with the same settings plus
"interview_mailcheck.django" in INSTALLED_APPS: fresh processes, in alternated pairs (the order
flips from pair to pair), byte code cached. The figure is the median of the pairs' ratios
(with / without); target <= 1.15. Exit status 1 when it is missed.

    python bench/django_check_startup.py [--pairs 31]     (needs Django: the django or test extra)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "interview_site"
TARGET = 1.15
WITHOUT, WITH = "interview_site.settings", "interview_site.with_mailcheck"
WITH_APP = """from interview_site.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "interview_mailcheck.django"]  # noqa: F405
"""
HEALTHY = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.gmail.com",
    "EMAIL_PORT": "587",
    "EMAIL_USE_TLS": "True",
    "EMAIL_HOST_USER": "hiring.team@gmail.com",
    "EMAIL_HOST_PASSWORD": "abcd efgh ijkl mnop",
    "DEFAULT_FROM_EMAIL": "Hiring Team <hiring.team@gmail.com>",
}


def environment(settings: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "DJANGO_", "MAILCHECK_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    return {**base, **HEALTHY, "DJANGO_SETTINGS_MODULE": settings}


def timed(folder: Path, settings: str) -> float:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=folder,
        env=environment(settings),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0 or "no issues" not in completed.stdout:
        raise SystemExit(f"manage.py check with {settings} failed: {completed.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=31)
    args = parser.parse_args()
    import django

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "site"
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.sqlite3", ".env"))
        (folder / "interview_site" / "with_mailcheck.py").write_text(WITH_APP)
        for settings in (WITHOUT, WITH):  # warm the file cache, write the .pyc files
            timed(folder, settings)
        without: list[float] = []
        with_app: list[float] = []
        for pair in range(args.pairs):
            order = (WITHOUT, WITH) if pair % 2 == 0 else (WITH, WITHOUT)
            times = {settings: timed(folder, settings) for settings in order}
            without.append(times[WITHOUT])
            with_app.append(times[WITH])
    ratios = [w / wo for w, wo in zip(with_app, without, strict=True)]
    added = [w - wo for w, wo in zip(with_app, without, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.pairs} "
        "alternated pairs of `manage.py check`, median wall time"
    )
    print(f"  without the app  {statistics.median(without) * 1000:7.1f} ms")
    print(f"  with the app     {statistics.median(with_app) * 1000:7.1f} ms")
    print(f"  added            {statistics.median(added) * 1000:7.1f} ms (median of the pairs)")
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"median ratio {ratio:.3f} (target <= {TARGET}): {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
