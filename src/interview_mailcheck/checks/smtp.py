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
    EHLO_NAME_REFUSED,
    ENVELOPE_ACCEPTED,
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
    SELF_ONLY,
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
    to: tuple[str, ...] = ()
    """The recipients; EMAIL_HOST_USER (the account itself) when empty."""
    login_only: bool = False
    envelope: bool = False
    """MAIL FROM and RCPT TO, then RSET: what the server would take, nothing sent."""
    timeout: float | None = None
    cafile: str | None = None
    insecure: bool = False
    allow_plaintext_auth: bool = False
    ehlo: str | None = None
    """The EHLO name; Django's (socket.getfqdn()) when None."""
    retries: int = 0
    """How many times a temporary refusal at the greeting or EHLO is tried again."""
    warn_self_only: bool = True
    """Warn when the only recipient is the sender (smtp.W003)."""


@dataclass
class WalkResult:
    runs: list[CheckRun] = field(default_factory=list)
    """One check per step, in order; the steps not reached are skipped."""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    retryable: str = ""
    """Why the walk failed, when trying again may help (a 4xx at the greeting or EHLO, a
    connection dropped at once); '' otherwise."""
    token: str = ""
    """The token the test message carries (X-Mailcheck-Token, the Subject)."""
    sent: bool = False
    """The server took the message."""
    sent_at: float | None = None
    """When it did (time.monotonic): a confirmation counts its seconds from here."""

    @property
    def passed(self) -> bool:
        return not any(finding.level == Level.ERROR for finding in self.findings)

    @property
    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The Steps section: one row per step."""
        return [step_row(run) for run in self.runs]


def step_row(run: CheckRun) -> dict[str, Any]:
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
    if not options.login_only and not recipients(config, options):
        return Blocker("no recipient for the test message", NO_RECIPIENT.finding("--to"))
    return None


def recipients(config: MailConfig, options: SendTestOptions) -> list[str]:
    """--to, else the account itself (EMAIL_HOST_USER, when it is an address)."""
    if options.to:
        return list(options.to)
    own = email_address(config.user)
    return [own] if own else []


def fully_qualified(name: str) -> bool:
    """A host name with a dot, not an address literal: what servers want after EHLO."""
    inner = name.strip("[]")
    if ":" in inner or inner.replace(".", "").isdigit():
        return False
    return "." in inner.strip(".")


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
        self.retryable = ""
        self.token = ""
        self.sent = False
        self.sent_at: float | None = None

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
            self.retryable,
            self.token,
            self.sent,
            self.sent_at,
        )

    def planned_steps(self) -> list[str]:
        mode = self.config.mode
        steps = ["resolve", "connect"]
        steps += ["tls", "certificate", "greet"] if mode == "ssl" else ["greet"]
        steps += ["starttls", "certificate"] if mode == "starttls" else []
        return [*steps, "login", "envelope" if self.options.envelope else "send"]

    def guard(self, action: Callable[[], Any]) -> Any:
        """Run one session call; a failure becomes the finding the table gives for it."""
        try:
            return action()
        except SmtpProblem as problem:
            self.silenced = problem.kind in SILENT_KINDS
            if self.current == "greet" and problem.kind == "disconnected":
                self.retryable = f"the server dropped the connection ({problem.detail})"
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
                    client_certificate=self.client_certificate_names(),
                )
            )
            self.fail(verdict.rule, verdict.subject, evidence=verdict.evidence, **verdict.fields)

    def client_certificate_names(self) -> str:
        """'EMAIL_SSL_CERTFILE' (and/or EMAIL_SSL_KEYFILE) when the walk uses the TLS context
        Django builds from them; '' otherwise (and with --insecure, which skips verifying)."""
        config = self.config
        if not config.builds_client_context or self.options.insecure:
            return ""
        named = [
            name
            for name, value in (
                ("EMAIL_SSL_CERTFILE", config.ssl_certfile),
                ("EMAIL_SSL_KEYFILE", config.ssl_keyfile),
            )
            if value
        ]
        return " and ".join(named)

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
            self.refused(banner)
        hello = self.guard(self.session.ehlo)
        if not 200 <= hello.code < 300:
            name = self.session.local_hostname
            if (hello.code == 421 or hello.code >= 500) and not fully_qualified(name):
                self.fail(
                    EHLO_NAME_REFUSED,
                    "EHLO",
                    name=name,
                    reply=hello.quoted().replace("\n", " "),
                    evidence={"ehlo": name, "reply": hello.quoted()},
                )
            self.refused(hello)
        self.ok(GREETED, "EMAIL_HOST", banner=banner.quoted().splitlines()[0])

    def refused(self, reply: Reply) -> None:
        """The server refused the session; temporarily (4xx: worth a retry) or not."""
        if 400 <= reply.code < 500:
            self.retryable = f"{reply.code} at the {self.current}"
        self.fail(SESSION_REFUSED, "EMAIL_HOST", reply=reply.quoted(), fix=self._reply_fix(reply))

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
        found = recipients(self.config, self.options)
        return ", ".join(found) if found else None

    def send(self) -> None:
        options = self.options
        self.step("envelope" if options.envelope else "send")
        if options.login_only:
            self.ok(LOGIN_ONLY, "--login-only")
            return
        to = recipients(self.config, options)
        assert to, "checked before connecting"
        sender = self.sender()
        if options.envelope:
            self.guard(lambda: self.session.envelope(sender, to))
            self.ok(ENVELOPE_ACCEPTED, "--to", sender=sender, recipients=", ".join(to))
        else:
            self.token = new_token()
            message = build_message(self.config, sender, to, self.token)
            reply = self.guard(lambda: self.session.send(sender, to, message))
            self.sent, self.sent_at = True, time.monotonic()
            self.ok(
                ACCEPTED,
                "--to",
                sender=sender,
                recipient=", ".join(to),
                reply=reply.quoted().splitlines()[-1],
            )
        own = {a.lower() for a in (email_address(self.config.user), self.sender()) if a}
        if options.warn_self_only and {address.lower() for address in to} <= own:
            self.ok(SELF_ONLY, "--to", recipient=", ".join(to))


TOKEN_HEADER = "X-Mailcheck-Token"


def new_token() -> str:
    """What tells this test message from every other one (send-test --confirm finds it)."""
    import uuid

    return uuid.uuid4().hex[:16]


def build_message(config: MailConfig, sender: str, to: list[str], token: str) -> bytes:
    """The test message: From DEFAULT_FROM_EMAIL, Subject naming mailcheck and the token, Date,
    Message-ID, and the token in X-Mailcheck-Token; CRLF line ends, as Django sends them
    (smtplib passes bytes through, and servers refuse a bare LF)."""
    from email.message import EmailMessage
    from email.policy import SMTP as SMTP_POLICY
    from email.utils import formatdate, make_msgid

    mode = MODE_LABEL.get(config.mode or "", "?")
    message = EmailMessage()
    message["From"] = config.from_email.strip() or sender
    message["To"] = ", ".join(to)
    message["Subject"] = f"mailcheck test message via {config.host} [{token}]"
    message[TOKEN_HEADER] = token
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("mailcheck", domain=sender.rsplit("@", 1)[-1])
    message.set_content(
        "This is a test message from `mailcheck send-test`.\n\n"
        "If it arrived, the interview invitations can go out the same way:\n"
        f"  host: {config.host}\n  port: {config.port}\n  mode: {mode}\n"
        f"  login: {config.user or '(none)'}\n"
    )
    return message.as_bytes(policy=SMTP_POLICY)


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
