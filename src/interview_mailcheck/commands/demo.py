"""`mailcheck demo`: the whole tool at work on a fresh machine, with no account and no network.

A tour in seven reports: `config` on the bundled .env.example (its placeholders), `send-test`
against a loopback SMTP server that behaves like Gmail (STARTTLS with a throwaway CA; AUTH
answers a wrong password with Gmail's exact 535-5.7.8) with the right App Password and with the
account password; `send-test --confirm` twice through a loopback SMTP server that delivers into
a loopback IMAP mailbox, once to the inbox and once to spam with DMARC failing; then `session`
and `sessions` on a copy of the example Django project with its demo data. Everything it starts
or writes is stopped or removed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from interview_mailcheck.errors import InputError
from interview_mailcheck.exitcodes import ExitCode
from interview_mailcheck.report import Report

DEMO_USER = "demo.recruiter@gmail.com"
CANDIDATE = "asha.rao@example.org"
"""Who the demo's test message goes to: a candidate, not the recruiter's own account."""
APP_PASSWORD = "wxyz abcd efgh ijkl"  # the form Google shows: four groups of four letters
ACCOUNT_PASSWORD = "Summer-2024!"
COMPANY_SENDER = "interviews@acme-hiring.example"
"""The round trip's sender: a company domain, whose SPF, DKIM and DMARC the receiver judges."""
COMPANY_PASSWORD = "company-app-password"
CANDIDATE_IMAP_PASSWORD = "candidate-mailbox-password"
EXAMPLE = Path("examples") / "interview_site"
EXAMPLE_SETTINGS = "interview_site.settings"
EXAMPLE_DATABASE_VARIABLE = "INTERVIEW_SITE_DB"
HEALTHY_INTERVIEW = "6f1c2a3e-0001-4c8e-9a51-2b7d3e4f5a60"
"""The healthy interview of examples/interview_site/interviews/management/commands/demo_data.py."""
BUILD_DATABASE = (
    "import django\n"
    "from django.core.management import call_command\n"
    "django.setup()\n"
    "call_command('migrate', verbosity=0)\n"
    "call_command('demo_data')\n"
)


@dataclass
class Step:
    title: str
    command: str
    report: Report | None = None
    note: str = ""
    """Why there is no report (a part that could not run here)."""


@dataclass
class DemoRun:
    steps: list[Step] = field(default_factory=list)
    expectations: list[tuple[str, bool]] = field(default_factory=list)
    """What the demo set out to show, and whether it did."""
    smtp_port: int = 0
    imap_port: int = 0

    @property
    def ok(self) -> bool:
        return all(met for _, met in self.expectations)


def installed(module: str) -> bool:
    """Whether `module` can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def require_extras() -> None:
    if not all(installed(name) for name in ("aiosmtpd", "trustme")):
        raise InputError(
            "the demo needs its local SMTP server parts: pip install 'interview-mailcheck[demo]'"
        )


def find_example(option: Path | None) -> Path | None:
    """The example project: --example, else ./examples/interview_site, else next to the source."""
    candidates = [option] if option else [Path.cwd() / EXAMPLE]
    if not option:
        candidates.append(Path(__file__).resolve().parents[3] / EXAMPLE)
    for candidate in candidates:
        if candidate is not None and (candidate / "manage.py").is_file():
            return candidate
    if option:
        raise InputError(f"no Django project (manage.py) in {option}")
    return None


def find_env_example() -> Path | None:
    for candidate in (
        Path.cwd() / ".env.example",
        Path(__file__).resolve().parents[3] / ".env.example",
    ):
        if candidate.is_file():
            return candidate
    return None


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


def run_demo(example_option: Path | None, show: Callable[[Step], None]) -> DemoRun:
    """Run every part, calling `show` as each report is ready; clean up whatever happens."""
    require_extras()
    example = find_example(example_option)
    run = DemoRun()
    with _workspace() as folder:
        _config_part(run, show)
        _smtp_part(run, show, folder)
        _delivery_part(run, show, folder)
        _django_part(run, show, folder, example)
    return run


def show_demo(example_option: Path | None, out: IO[str], *, color: bool, width: int) -> int:
    """Run the demo, writing each report to `out` as it is ready; the exit status."""
    from interview_mailcheck.render import RenderOptions, get_renderer, write
    from interview_mailcheck.render.text import render_banner, render_lines

    require_extras()
    options = RenderOptions(verbose=False, color=color, width=width)
    text = get_renderer("text")

    def show(step: Step) -> None:
        write(out, render_banner(step.title, step.command, options))
        if step.report is not None:
            write(out, text(step.report, options))
        else:
            write(out, render_lines([(f"(skipped: {step.note})", "yellow")], options))
        write(out, "\n")

    intro = "mailcheck demo: every part runs on this machine; nothing is sent anywhere."
    write(out, render_lines([(intro, "bold"), ("", "")], options))
    run = run_demo(example_option, show)
    summary = [("━━ What the demo showed", "bold magenta")]
    summary += [
        (f"{'✓' if met else '✗'} {what}", "green" if met else "bold red")
        for what, met in run.expectations
    ]
    summary.append(
        (
            f"Cleaned up: the SMTP server on port {run.smtp_port}, the IMAP server on port "
            f"{run.imap_port} and the round trip's SMTP server are stopped; the temporary files "
            "are removed.",
            "",
        )
    )
    write(out, render_lines(summary, options))
    return ExitCode.OK if run.ok else ExitCode.FINDINGS


def _config_part(run: DemoRun, show: Callable[[Step], None]) -> None:
    from interview_mailcheck.commands.config import config_report

    env_example = find_env_example()
    if env_example is None:
        step = Step("config on the bundled .env.example", "", note=".env.example not found here")
    else:
        report = config_report(env_example, strict=False)
        step = Step(
            "config on the bundled .env.example: the placeholders copied from documentation",
            "mailcheck config --env-file .env.example",
            report,
        )
        placeholders = [f for f in report.findings if f.id == "config.E012"]
        run.expectations.append(("the placeholders were found", bool(placeholders)))
    run.steps.append(step)
    show(step)


def _smtp_part(run: DemoRun, show: Callable[[Step], None], folder: Path) -> None:
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.send_test import send_test_report
    from interview_mailcheck.loopback import LoopbackSMTP

    users = {DEMO_USER: APP_PASSWORD.replace(" ", "")}
    with LoopbackSMTP("starttls", users=users, spaces_ignored=True) as server:
        run.smtp_port = server.port
        options = SendTestOptions(to=(CANDIDATE,), cafile=server.ca_file(), timeout=5.0)
        for title, name, password in (
            ("send-test with the right App Password", "right.env", APP_PASSWORD),
            (
                "send-test with the account password, which Gmail refuses",
                "wrong.env",
                ACCOUNT_PASSWORD,
            ),
        ):
            env_file = folder / name
            env_file.write_text(_env_text(server.port, password), encoding="utf-8")
            report = send_test_report(env_file, options, strict=False)
            command = (
                f"mailcheck send-test --env-file {name}   "
                f"(a Gmail-like server on 127.0.0.1:{server.port})"
            )
            step = Step(title, command, report)
            run.steps.append(step)
            show(step)
            ids = {finding.id for finding in report.findings}
            if name == "right.env":
                run.expectations.append(
                    ("the test message was accepted", report.ok and "smtp.I008" in ids)
                )
            else:
                run.expectations.append(("Gmail's 535 was diagnosed", "smtp.E012" in ids))
        arrived = len(server.messages)
    run.expectations.append(("exactly one message reached the server", arrived == 1))


def _delivery_part(run: DemoRun, show: Callable[[Step], None], folder: Path) -> None:
    """send-test --confirm twice: the demo router files the first message in the inbox with
    every verdict passing, the second in Junk with DMARC failing."""
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.confirm import ConfirmOptions
    from interview_mailcheck.commands.send_test import send_test_report
    from interview_mailcheck.loopback import LoopbackSMTP
    from interview_mailcheck.loopback_imap import LoopbackIMAP, SmtpToImap, demo_router

    with (
        LoopbackIMAP({CANDIDATE: CANDIDATE_IMAP_PASSWORD}) as imap,
        LoopbackSMTP("starttls", users={COMPANY_SENDER: COMPANY_PASSWORD}, ca=imap.ca) as smtp,
        SmtpToImap(smtp, imap, demo_router(junk=imap.junk)),
    ):
        run.imap_port = imap.tls_port
        env_file = folder / "company.env"
        env_file.write_text(
            "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\n"
            f"EMAIL_HOST=localhost\nEMAIL_PORT={smtp.port}\nEMAIL_USE_TLS=True\n"
            f"EMAIL_HOST_USER={COMPANY_SENDER}\nEMAIL_HOST_PASSWORD={COMPANY_PASSWORD}\n"
            f"DEFAULT_FROM_EMAIL=Interview Team <{COMPANY_SENDER}>\nEMAIL_TIMEOUT=5\n"
            f"MAILCHECK_IMAP_PASSWORD={CANDIDATE_IMAP_PASSWORD}\n",
            encoding="utf-8",
        )
        options = SendTestOptions(to=(CANDIDATE,), cafile=imap.ca_file(), timeout=5.0)
        confirming = ConfirmOptions(
            host="localhost", port=imap.tls_port, user=CANDIDATE, within=10.0
        )
        command = (
            f"mailcheck send-test --env-file company.env --to {CANDIDATE} --confirm "
            f"--imap-host localhost --imap-port {imap.tls_port} --imap-user {CANDIDATE}"
        )
        for title, wanted in (
            ("send-test --confirm: the invitation followed into the candidate's inbox", "inbox"),
            ("send-test --confirm again: this time the receiver files it as spam", "spam"),
        ):
            report = send_test_report(env_file, options, strict=False, confirming=confirming)
            step = Step(title, command, report)
            run.steps.append(step)
            show(step)
            ids = {finding.id for finding in report.findings}
            if wanted == "inbox":
                met = report.ok and "delivery.I001" in ids
                run.expectations.append(("the first message was found in the inbox", met))
            else:
                dmarc = any(
                    f.id == "delivery.E003" and f.subject == "dmarc" for f in report.findings
                )
                met = "delivery.E001" in ids and dmarc
                run.expectations.append(("the second was found in spam, DMARC failing", met))
        left = len(imap.messages(CANDIDATE))
    run.expectations.append(("both test messages were deleted from the mailbox", left == 0))


def _django_part(
    run: DemoRun, show: Callable[[Step], None], folder: Path, example: Path | None
) -> None:
    titles = ("session on the healthy demo interview", "sessions: every demo interview")
    reason = ""
    if example is None:
        reason = "the example project (examples/interview_site) is not here: run from a clone"
    else:
        if not installed("django"):
            reason = "Django is not installed: pip install 'interview-mailcheck[demo]'"
    if reason:
        for title in titles:
            step = Step(title, "", note=reason)
            run.steps.append(step)
            show(step)
        return
    assert example is not None
    from interview_mailcheck.commands.session import (
        NO_DNS,
        ProjectOptions,
        session_report,
        sessions_report,
    )

    site = folder / "interview_site"
    shutil.copytree(
        example, site, ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__", ".env")
    )
    database = folder / "demo.sqlite3"
    _build_database(site, database)
    previous = os.environ.get(EXAMPLE_DATABASE_VARIABLE)
    os.environ[EXAMPLE_DATABASE_VARIABLE] = str(database)
    try:
        project = ProjectOptions(EXAMPLE_SETTINGS, site)
        # No network in the demo: the candidates' domains are checked offline (--no-dns).
        one = session_report(HEALTHY_INTERVIEW, project, check_link=False, strict=False, dns=NO_DNS)
        command = f"mailcheck session {HEALTHY_INTERVIEW} --settings {EXAMPLE_SETTINGS} --no-dns"
        step = Step(titles[0], command, one)
        run.steps.append(step)
        show(step)
        every = sessions_report(
            project, since=None, until=None, limit=None, strict=False, dns=NO_DNS
        )
        step = Step(titles[1], f"mailcheck sessions --settings {EXAMPLE_SETTINGS} --no-dns", every)
        run.steps.append(step)
        show(step)
    finally:
        if previous is None:
            os.environ.pop(EXAMPLE_DATABASE_VARIABLE, None)
        else:
            os.environ[EXAMPLE_DATABASE_VARIABLE] = previous
    problems = {
        f.context.get("interview_id") for f in every.findings if f.context.get("interview_id")
    }
    run.expectations.append(
        (
            "the healthy interview's invitation was shown",
            not any(f.level >= 30 for f in one.findings),
        )
    )
    run.expectations.append(("the broken demo interviews were found", len(problems) >= 3))


def _build_database(site: Path, database: Path) -> None:
    """The example's own migrate and demo_data, in a child process that ends before we go on."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO"))}
    environment.update(
        {EXAMPLE_DATABASE_VARIABLE: str(database), "DJANGO_SETTINGS_MODULE": EXAMPLE_SETTINGS}
    )
    completed = subprocess.run(
        [sys.executable, "-c", BUILD_DATABASE],
        cwd=site,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"building the example's demo database failed: {last}")
