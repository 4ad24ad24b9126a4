"""The live SMTP path, step by step: `mailcheck send-test`.

`walk(config, options, session)` drives an `SmtpSession` (smtp_session.py; the real one is
adapters/smtp.py) through resolve, connect, TLS, certificate, greeting, login and send, each
step recorded as a check with its findings and duration (info when it worked). The first
failure becomes an error naming the step, the server's exact reply and the setting to change,
and the walk stops there. What a failure means is not decided here: the table of
checks/smtp_failures.py does, with the provider table for server replies. The rules are in
checks/smtp_rules.py.

`blocker(...)` is the one definition of when not to connect at all, used by send-test and
doctor alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from interview_mailcheck.checks.smtp_failures import Situation, explain
from interview_mailcheck.checks.smtp_rules import (
    ACCEPTED,
    CERTIFICATE_VERIFIED,
    CONNECTED,
    GREETED,
    INSECURE,
    LOGGED_IN,
    LOGIN_ONLY,
    LOGIN_SKIPPED,
    NO_RECIPIENT,
    NO_STARTTLS,
    NOT_CONNECTING,
    PLAINTEXT_LOGIN,
    PLAINTEXT_LOGIN_REFUSED,
    RESOLVED,
    SESSION_REFUSED,
    TLS_ESTABLISHED,
)
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import MailConfig, backend_kind, email_address
from interview_mailcheck.providers import MODE_LABEL, classify_reply
from interview_mailcheck.registry import check
from interview_mailcheck.report import CheckRun
from interview_mailcheck.smtp_session import Reply, SmtpProblem, SmtpSession, TlsInfo
from interview_mailcheck.values import QUICK_WAIT, resolve_timeout

INFO = Level.INFO
SILENT_KINDS = frozenset({"silent", "timeout", "tls_timeout", "connect_timeout"})
"""Failures after which the server is not worth a QUIT."""
BUDGET_TIMEOUTS = 2
"""The whole walk may take this many timeouts; each step at most one."""
DJANGO_FALLBACK_SENDER = "webmaster@localhost"


@dataclass(frozen=True)
class SendTestOptions:
    to: str | None = None
    login_only: bool = False
    timeout: float | None = None
    cafile: str | None = None
    insecure: bool = False
    allow_plaintext_auth: bool = False


@dataclass
class WalkResult:
    runs: list[CheckRun] = field(default_factory=list)
    """One check per step, in order; the steps not reached are skipped."""
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The Steps section: one row per step."""
        return [_step_row(run) for run in self.runs]


def _step_row(run: CheckRun) -> dict[str, Any]:
    if run.skipped:
        return {"step": run.name, "status": "skipped", "duration_ms": 0.0, "detail": run.skipped}
    levels = {finding.level for finding in run.findings}
    status = "failed" if Level.ERROR in levels else "warning" if Level.WARNING in levels else "ok"
    detail = run.findings[-1].message if run.findings else ""
    return {"step": run.name, "status": status, "duration_ms": run.duration_ms, "detail": detail}


class _Stop(Exception):
    """The walk ends here (after a failure, or by choice)."""


class Blocker(NamedTuple):
    """Why the walk does not start: a reason for a report, and the finding that says so."""

    reason: str
    finding: Finding

    @property
    def is_refusal(self) -> bool:
        """An error of the request itself (no recipient), not a reason the walk cannot run."""
        return self.finding.level == Level.ERROR


def blocker(
    config: MailConfig,
    options: SendTestOptions,
    *,
    config_has_errors: bool,
    host_unresolvable: bool = False,
) -> Blocker | None:
    """Reasons not to connect at all, checked before any network traffic."""
    reasons: tuple[tuple[bool, str, str, str], ...] = (
        (
            backend_kind(config.backend) == "api",
            f"{config.backend} sends through an HTTP API, not SMTP",
            "EMAIL_BACKEND",
            "Test that backend with its provider's tools",
        ),
        (
            config_has_errors,
            "the configuration has errors (see the config checks)",
            "send-test",
            "Fix the configuration errors, then run send-test again",
        ),
        (
            host_unresolvable,
            f"EMAIL_HOST {config.host} has no address (see the dns checks)",
            "EMAIL_HOST",
            "Fix EMAIL_HOST, then run send-test again",
        ),
    )
    for applies, why, subject, fix in reasons:
        if applies:
            return Blocker(why, NOT_CONNECTING.finding(subject, why=why, fix=fix))
    if not options.login_only and not (options.to or email_address(config.user)):
        return Blocker("no recipient for the test message", NO_RECIPIENT.finding("--to"))
    return None


class _Walk:
    def __init__(
        self, config: MailConfig, options: SendTestOptions, session: SmtpSession, timeout: float
    ) -> None:
        self.config = config
        self.options = options
        self.timeout = timeout
        self.session = session
        self.runs: dict[str, CheckRun] = {}
        self.current = ""
        self.started = time.perf_counter()
        self.silenced = False
        """The server stopped answering: the connection is not worth a QUIT."""

    # bookkeeping

    def step(self, name: str) -> None:
        self.current = name
        self.started = time.perf_counter()
        self.runs.setdefault(name, CheckRun(name))

    def elapsed(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def record(self, finding: Finding) -> None:
        duration = self.elapsed()
        run = self.runs[self.current]
        run.duration_ms = round(run.duration_ms + duration, 1)
        self.started = time.perf_counter()
        run.findings.append(
            finding._replace(context={"step": self.current, "duration_ms": duration})
        )

    def ok(self, rule: Rule, subject: str, **fields: Any) -> None:
        self.record(rule.finding(subject, **fields))

    def fail(self, rule: Rule, subject: str, **fields: Any) -> None:
        self.record(rule.finding(subject, **fields))
        raise _Stop

    # the walk

    def run(self) -> WalkResult:
        mode = self.config.mode
        try:
            self.resolve()
            self.connect()
            if mode == "ssl":
                self.step("tls")
                info = self.guard(self.session.start_implicit_tls)
                self.tls_established(info, "implicit TLS")
            self.greet()
            if mode == "starttls":
                self.starttls()
            self.login()
            self.send()
        except _Stop:
            pass
        finally:
            self.session.close(quit=not self.silenced)
        for name in self.planned_steps():
            self.runs.setdefault(name, CheckRun(name, skipped="not reached"))
        return WalkResult(
            list(self.runs.values()),
            [
                {"ms": line.at_ms, "who": line.who, "line": line.text}
                for line in self.session.transcript.lines
            ],
        )

    def planned_steps(self) -> list[str]:
        mode = self.config.mode
        steps = ["resolve", "connect"]
        steps += ["tls", "certificate", "greet"] if mode == "ssl" else ["greet"]
        steps += ["starttls", "certificate"] if mode == "starttls" else []
        return [*steps, "login", "send"]

    def guard(self, action: Callable[[], Any]) -> Any:
        """Run one session call; a failure becomes the finding the table gives for it."""
        try:
            return action()
        except SmtpProblem as problem:
            self.silenced = problem.kind in SILENT_KINDS
            verdict = explain(
                Situation(
                    step=self.current,
                    problem=problem,
                    host=self.config.host,
                    port=self.config.port or 0,
                    timeout=self.timeout,
                    starttls=self.config.mode == "starttls",
                    probe=self.session,
                    certificate_wait=max(min(self.timeout, self.session.remaining()), QUICK_WAIT),
                    sender=self.sender(),
                    recipient=self.recipient() or "",
                )
            )
            self.fail(verdict.rule, verdict.subject, evidence=verdict.evidence, **verdict.fields)

    # steps

    def resolve(self) -> None:
        self.step("resolve")
        addresses = self.guard(self.session.resolve)
        self.ok(RESOLVED, "EMAIL_HOST", host=self.config.host, addresses=", ".join(addresses))

    def connect(self) -> None:
        self.step("connect")
        address = self.guard(self.session.connect)
        self.ok(CONNECTED, "EMAIL_PORT", address=address, port=self.config.port)

    def tls_established(self, info: TlsInfo, how: str) -> None:
        self.ok(TLS_ESTABLISHED, "EMAIL_PORT", how=how, version=info.version, cipher=info.cipher)
        self.step("certificate")
        if self.options.insecure:
            self.ok(INSECURE, "EMAIL_HOST")
            return
        certificate = info.certificate
        self.ok(
            CERTIFICATE_VERIFIED,
            "EMAIL_HOST",
            names=", ".join(certificate.names) if certificate else self.config.host,
            issuer=certificate.issuer if certificate else "?",
            expires=certificate.not_after if certificate else "?",
        )

    def greet(self) -> None:
        self.step("greet")
        banner = self.guard(self.session.greet)
        if banner.code != 220:
            self.fail(
                SESSION_REFUSED, "EMAIL_HOST", reply=banner.quoted(), fix=self._reply_fix(banner)
            )
        hello = self.guard(self.session.ehlo)
        if not 200 <= hello.code < 300:
            self.fail(
                SESSION_REFUSED, "EMAIL_HOST", reply=hello.quoted(), fix=self._reply_fix(hello)
            )
        self.ok(GREETED, "EMAIL_HOST", banner=banner.quoted().splitlines()[0])

    def _reply_fix(self, reply: Reply) -> str:
        known = classify_reply(reply.code, reply.text, self.config.host)
        if known:
            return known.fix
        if reply.code < 500:
            return "The refusal is temporary: retry later"
        return "The server refuses this client: check its logs or ask its operator"

    def starttls(self) -> None:
        self.step("starttls")
        if not self.session.offers("starttls"):
            self.fail(NO_STARTTLS, "EMAIL_USE_TLS")
        info = self.guard(self.session.starttls)
        self.tls_established(info, "STARTTLS")
        self.step("starttls")
        self.guard(self.session.ehlo)

    def login(self) -> None:
        self.step("login")
        config = self.config
        if not (config.user and config.password):
            self.ok(LOGIN_SKIPPED, "EMAIL_HOST_USER")
            return
        if config.mode == "plain" and not self.options.allow_plaintext_auth:
            self.fail(PLAINTEXT_LOGIN_REFUSED, "EMAIL_USE_TLS")
        reply = self.guard(lambda: self.session.login(config.user, config.password))
        if config.mode == "plain":
            self.ok(PLAINTEXT_LOGIN, "EMAIL_USE_TLS")
        self.ok(
            LOGGED_IN, "EMAIL_HOST_USER", user=config.user, reply=reply.quoted().splitlines()[-1]
        )

    def sender(self) -> str:
        return email_address(self.config.from_email) or DJANGO_FALLBACK_SENDER

    def recipient(self) -> str | None:
        return self.options.to or email_address(self.config.user)

    def send(self) -> None:
        self.step("send")
        if self.options.login_only:
            self.ok(LOGIN_ONLY, "--login-only")
            return
        recipient = self.recipient()
        assert recipient, "checked before connecting"
        message = build_message(self.config, self.sender(), recipient)
        reply = self.guard(lambda: self.session.send(self.sender(), recipient, message))
        self.ok(
            ACCEPTED,
            "--to",
            sender=self.sender(),
            recipient=recipient,
            reply=reply.quoted().splitlines()[-1],
        )


def build_message(config: MailConfig, sender: str, recipient: str) -> bytes:
    """The test message: From DEFAULT_FROM_EMAIL, Subject naming mailcheck, Date, Message-ID."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    mode = MODE_LABEL.get(config.mode or "", "?")
    message = EmailMessage()
    message["From"] = config.from_email.strip() or sender
    message["To"] = recipient
    message["Subject"] = f"mailcheck test message via {config.host}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("mailcheck", domain=sender.rsplit("@", 1)[-1])
    message.set_content(
        "This is a test message from `mailcheck send-test`.\n\n"
        "If it arrived, the interview invitations can go out the same way:\n"
        f"  host: {config.host}\n  port: {config.port}\n  mode: {mode}\n"
        f"  login: {config.user or '(none)'}\n"
    )
    return message.as_bytes()


def walk_timeout(config: MailConfig, options: SendTestOptions) -> float:
    return resolve_timeout(options.timeout, config.timeout)


def walk(config: MailConfig, options: SendTestOptions, session: SmtpSession) -> WalkResult:
    """Walk the SMTP path through `session` (made with the timeout `walk_timeout` gives)."""
    return _Walk(config, options, session, walk_timeout(config, options)).run()


def _all_smtp_rules() -> tuple[Rule, ...]:
    from interview_mailcheck.checks import smtp_rules

    return tuple(value for value in vars(smtp_rules).values() if isinstance(value, Rule))


CHECKS = (
    check(
        "smtp",
        "walk",
        "network",
        rules=_all_smtp_rules(),
        function=walk,
        expensive=True,
    ),
)
