"""Benchmark: `mailcheck send-test` against swaks and Django's `sendtestemail` (issue 15, item 2).

Three sides send one message each through the same loopback STARTTLS server (aiosmtpd with a
trustme CA, AUTH LOGIN/PLAIN), as fresh processes, run alternately pair by pair: mailcheck
send-test (reading a .env), swaks from Debian's packages (`--tls --tls-verify` against the same
CA, AUTH with the same credentials) and Django's `manage.py sendtestemail` with a minimal
settings module. All three verify the server's certificate. The figures are the medians of
the per-pair ratios.

Targets: mailcheck at most 1.5 times swaks, and at most 0.6 times sendtestemail.
Exit status 1 when missed.

    python bench/send_test.py [--pairs 11] [--smoke]   (needs swaks, and the test extra)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MAILCHECK, alternate, finish, parser, run, verdict

from interview_mailcheck.loopback import LoopbackSMTP

SWAKS_TARGET = 1.5
DJANGO_TARGET = 0.6
USER, PASSWORD = "hiring.team@gmail.com", "abcdefghijklmnop"
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


def swaks_arguments(port: int, ca_file: str) -> list[str]:
    return [
        *("--silent", "2", "--server", "localhost", "--port", str(port)),
        *("--tls", "--tls-verify", "--tls-ca-path", ca_file),
        *("--auth", "--auth-user", USER, "--auth-password", PASSWORD),
        *("--from", USER, "--to", USER),
    ]


def main() -> int:
    options = parser(__doc__.splitlines()[0], pairs=11).parse_args()
    pairs = 2 if options.smoke else options.pairs
    swaks = shutil.which("swaks")
    if swaks is None:
        raise SystemExit("bench/send_test.py: needs swaks (apt-get install swaks)")
    with (
        LoopbackSMTP("starttls", users={USER: PASSWORD}) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        cwd = Path(folder)
        fields = {"port": server.port, "user": USER, "password": PASSWORD}
        (cwd / "bench_settings.py").write_text(SETTINGS.format(**fields))
        (cwd / "manage.py").write_text(MANAGE)
        (cwd / ".env").write_text(ENV_FILE.format(**fields))
        env = {
            "SSL_CERT_FILE": server.ca_file(),
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": folder,
        }

        def side(*command: str):  # type: ignore[no-untyped-def]
            return lambda: run(command, cwd=cwd, env=env, ok=(0,))

        mailcheck, swaks_side, django = (
            "mailcheck send-test",
            "swaks",
            "django: manage.py sendtestemail",
        )
        timed = alternate(
            {
                mailcheck: side(MAILCHECK, "send-test"),
                swaks_side: side(swaks, *swaks_arguments(server.port, server.ca_file())),
                django: side(sys.executable, "manage.py", "sendtestemail", USER),
            },
            pairs,
        )
        sent = len(server.messages)
    expected = (pairs + 1) * 3
    timed.show(f"Python {sys.version.split()[0]}, {pairs} pairs, {sent}/{expected} messages sent")
    results = [
        sent == expected,
        verdict(f"{mailcheck} / swaks", timed.ratio(mailcheck, swaks_side), SWAKS_TARGET),
        verdict(f"{mailcheck} / sendtestemail", timed.ratio(mailcheck, django), DJANGO_TARGET),
    ]
    return finish(results, options.smoke)


if __name__ == "__main__":
    sys.exit(main())
