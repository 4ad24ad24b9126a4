"""`mailcheck demo`: the whole tool at work on a fresh machine, with no account and no network.

It starts a loopback SMTP server that behaves like Gmail (STARTTLS with a throwaway CA; AUTH
answers a wrong password with Gmail's exact 535-5.7.8), runs `send-test` against it with the
right App Password and with a wrong one, then `session` and `sessions` on a copy of the example
Django project with its demo data. Everything it starts or writes is removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from interview_mailcheck.errors import InputError
from interview_mailcheck.report import Report

DEMO_USER = "demo.recruiter@gmail.com"
APP_PASSWORD = "wxyz abcd efgh ijkl"  # the form Google shows: four groups of four letters
ACCOUNT_PASSWORD = "Summer-2024!"
EXAMPLE = Path("examples") / "interview_site"


@dataclass
class Step:
    title: str
    command: str
    report: Report | None = None
    note: str = ""


@dataclass
class DemoRun:
    steps: list[Step] = field(default_factory=list)
    expectations: list[tuple[str, bool]] = field(default_factory=list)
    """What the demo set out to show, and whether it did."""

    @property
    def ok(self) -> bool:
        return all(met for _, met in self.expectations)


def require_extras() -> None:
    try:
        import aiosmtpd  # noqa: F401
        import trustme  # noqa: F401
    except ImportError:
        raise InputError(
            "the demo needs its local SMTP server parts: pip install 'interview-mailcheck[demo]'"
        ) from None


def _env_text(port: int, password: str) -> str:
    return (
        "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\n"
        f"EMAIL_HOST=localhost\nEMAIL_PORT={port}\nEMAIL_USE_TLS=True\nEMAIL_USE_SSL=False\n"
        f"EMAIL_HOST_USER={DEMO_USER}\nEMAIL_HOST_PASSWORD={password}\n"
        f"DEFAULT_FROM_EMAIL=Interview Team <{DEMO_USER}>\nEMAIL_TIMEOUT=5\n"
    )


@contextmanager
def _workspace() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="mailcheck-demo-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_demo(example: Path | None, show: Callable[[Step], None]) -> DemoRun:
    """Run every part, calling `show` as each report is ready; clean up whatever happens."""
    require_extras()
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.send_test import send_test_report
    from interview_mailcheck.loopback import LoopbackSMTP

    run = DemoRun()
    users = {DEMO_USER: APP_PASSWORD.replace(" ", "")}
    with (
        _workspace() as folder,
        LoopbackSMTP("starttls", users=users, spaces_ignored=True) as server,
    ):
        cafile = server.ca_file()
        for title, password, expect_ok in (
            ("send-test with the right App Password", APP_PASSWORD, True),
            ("send-test with the account password (what Gmail refuses)", ACCOUNT_PASSWORD, False),
        ):
            env_file = folder / ("right.env" if expect_ok else "wrong.env")
            env_file.write_text(_env_text(server.port, password), encoding="utf-8")
            report = send_test_report(
                env_file, SendTestOptions(cafile=cafile, timeout=5.0), strict=False
            )
            step = Step(title, f"mailcheck send-test --env-file {env_file.name}", report)
            run.steps.append(step)
            show(step)
            ids = {finding.id for finding in report.findings}
            if expect_ok:
                delivered = report.ok and "smtp.I008" in ids
                run.expectations.append(("the test message was delivered", delivered))
            else:
                run.expectations.append(("Gmail's 535 was diagnosed", "smtp.E012" in ids))
        arrived = len(server.messages)
    run.expectations.append(("exactly one message reached the server", arrived == 1))
    run_django_parts(example, run, show)
    return run


def run_django_parts(example: Path | None, run: DemoRun, show: Callable[[Step], None]) -> None:
    """`session` and `sessions` on a copy of the example project (filled in with the adapter)."""
    step = Step("session and sessions on the example project", "", None, "not available yet")
    run.steps.append(step)
    show(step)
