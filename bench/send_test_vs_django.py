"""Benchmark: `mailcheck send-test` against Django's `manage.py sendtestemail`.

Both send one message through the same loopback STARTTLS server (aiosmtpd, trustme CA,
AUTH), as fresh processes, interleaved. Django runs with a minimal settings module of our own.
The figure is the ratio of median wall times; target <= 0.75. Exit status 1 when missed.

    python bench/send_test_vs_django.py [--runs 15]     (needs the test extra: Django, aiosmtpd)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from interview_mailcheck.loopback import LoopbackSMTP

TARGET = 0.75
USER, PASSWORD = "hiring.team@gmail.com", "abcdefghijklmnop"
MAILCHECK = str(Path(sys.executable).with_name("mailcheck"))

SETTINGS = """
SECRET_KEY = "bench-only"
INSTALLED_APPS: list[str] = []
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "localhost"
EMAIL_PORT = {port}
EMAIL_USE_TLS = True
EMAIL_HOST_USER = "{user}"
EMAIL_HOST_PASSWORD = "{password}"
DEFAULT_FROM_EMAIL = "{user}"
EMAIL_TIMEOUT = 10
"""
MANAGE = """
import sys
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""
ENV_FILE = """EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
EMAIL_HOST=localhost
EMAIL_PORT={port}
EMAIL_USE_TLS=True
EMAIL_USE_SSL=False
EMAIL_HOST_USER={user}
EMAIL_HOST_PASSWORD={password}
DEFAULT_FROM_EMAIL={user}
EMAIL_TIMEOUT=10
"""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(
            f"{command[1:3]} failed: {completed.stdout.decode()}{completed.stderr.decode()}"
        )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with (
        LoopbackSMTP("starttls", users={USER: PASSWORD}) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        cwd = Path(folder)
        fields = {"port": server.port, "user": USER, "password": PASSWORD}
        (cwd / "bench_settings.py").write_text(SETTINGS.format(**fields))
        (cwd / "manage.py").write_text(MANAGE)
        (cwd / ".env").write_text(ENV_FILE.format(**fields))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            SSL_CERT_FILE=server.ca_file(),
            DJANGO_SETTINGS_MODULE="bench_settings",
            PYTHONPATH=folder,
        )
        commands = {
            "django: manage.py sendtestemail": [sys.executable, "manage.py", "sendtestemail", USER],
            "mailcheck send-test": [MAILCHECK, "send-test"],
        }
        for command in commands.values():  # warm-up: caches, .pyc files
            timed(command, cwd, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command, cwd, env))
        sent = len(server.messages)
    medians = {name: statistics.median(values) for name, values in times.items()}
    import django

    print(
        f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.runs} runs each, "
        f"median wall time, {sent} messages delivered"
    )
    baseline = medians["django: manage.py sendtestemail"]
    for name, median in medians.items():
        print(f"  {name:34s} {median * 1000:7.1f} ms   ratio {median / baseline:4.2f}")
    ratio = medians["mailcheck send-test"] / baseline
    print(f"ratio {ratio:.2f} (target <= {TARGET}): {'met' if ratio <= TARGET else 'MISSED'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
