"""The live SMTP path, step by step: `mailcheck send-test`.

`walk()` drives `adapters.smtp.SmtpClient` through resolve, connect, TLS, certificate, greeting,
login and send. Each step becomes a finding (info when it worked) with its duration; the first
failure becomes an error naming the step, the server's exact reply and the setting to change,
and the walk stops there. Server replies are explained from the provider table
(`providers.classify_reply`), by the reply itself first and the host only to break ties.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from interview_mailcheck.adapters.smtp import (
    PROBE_WAIT,
    Reply,
    SmtpClient,
    SmtpProblem,
    TlsInfo,
    fetch_certificate,
    probe_banner,
    probe_tls,
)
from interview_mailcheck.checks.config import MailConfig, email_address
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.providers import MODE_LABEL, classify_reply
from interview_mailcheck.values import resolve_timeout

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO
SILENT_KINDS = frozenset({"silent", "timeout", "tls_timeout", "connect_timeout"})
BUDGET_TIMEOUTS = 2
"""The whole walk may take this many timeouts; each step at most one."""
DJANGO_FALLBACK_SENDER = "webmaster@localhost"

# --- Rules: each step that worked --------------------------------------------------------------

RESOLVED = Rule(
    id="smtp.I001",
    level=INFO,
    title="EMAIL_HOST resolves",
    message="{host} resolves to {addresses}",
    hint="",
    explanation="The system resolver (which honours /etc/hosts) found the host's addresses.",
)
CONNECTED = Rule(
    id="smtp.I002",
    level=INFO,
    title="The server accepts connections on EMAIL_PORT",
    message="connected to {address} port {port}",
    hint="",
    explanation="A TCP connection to the server's port succeeded within the timeout.",
)
GREETED = Rule(
    id="smtp.I003",
    level=INFO,
    title="The server greeted and answered EHLO",
    message="the server greets: {banner}",
    hint="",
    explanation="The server sent its 220 banner and accepted EHLO (or HELO).",
)
TLS_ESTABLISHED = Rule(
    id="smtp.I004",
    level=INFO,
    title="TLS is established",
    message="{how}: {version}, {cipher}",
    hint="",
    explanation="The connection is encrypted; the login and the message travel under TLS.",
)
CERTIFICATE_VERIFIED = Rule(
    id="smtp.I005",
    level=INFO,
    title="The server's certificate is valid for EMAIL_HOST",
    message="certificate for {names} verified; issued by {issuer}, expires {expires}",
    hint="",
    explanation=(
        "The certificate chains to a trusted CA (the system store, SSL_CERT_FILE, SSL_CERT_DIR "
        "or --cafile), is in date, and names EMAIL_HOST."
    ),
)
LOGGED_IN = Rule(
    id="smtp.I006",
    level=INFO,
    title="The server accepted the login",
    message="logged in as {user}: {reply}",
    hint="",
    explanation="AUTH succeeded with EMAIL_HOST_USER and EMAIL_HOST_PASSWORD.",
)
LOGIN_SKIPPED = Rule(
    id="smtp.I007",
    level=INFO,
    title="No login: no credentials are configured",
    message="no EMAIL_HOST_USER / EMAIL_HOST_PASSWORD: sending without AUTH, as Django would",
    hint="",
    explanation=(
        "Django logs in only when both credentials are set. A local relay such as Mailpit needs "
        "no login; a hosted provider refuses mail from clients that did not log in."
    ),
)
ACCEPTED = Rule(
    id="smtp.I008",
    level=INFO,
    title="The server accepted the test message",
    message="message from {sender} to {recipient} accepted: {reply}",
    hint="",
    explanation=(
        "The server took responsibility for the message (250 after DATA). The reply usually "
        "carries a queue id to look the message up in the provider's logs. Check the "
        "recipient's inbox and spam folder."
    ),
)
LOGIN_ONLY = Rule(
    id="smtp.I009",
    level=INFO,
    title="--login-only: no message was sent",
    message="stopped after login as asked (--login-only): no message sent",
    hint="",
    explanation="With --login-only the walk ends after the login step, before MAIL FROM.",
)
NOT_CONNECTING = Rule(
    id="smtp.I010",
    level=INFO,
    title="The live test did not run",
    message="not connecting: {why}",
    hint="{fix}",
    explanation=(
        "send-test first runs the offline checks of `mailcheck config`; their errors (or a "
        "backend that does not use SMTP) stop it before any connection."
    ),
)

# --- Rules: what can fail -----------------------------------------------------------------------

NO_SUCH_HOST = Rule(
    id="smtp.E001",
    level=ERROR,
    title="EMAIL_HOST does not resolve",
    message="{detail}",
    hint="Check the spelling of EMAIL_HOST (e.g. smtp.gmail.com): a host name, not a URL",
    explanation=(
        "The system resolver found no address for EMAIL_HOST: a typo, a scheme or port inside "
        "the value, or an internal name used outside its network."
    ),
)
RESOLVE_FAILED = Rule(
    id="smtp.E002",
    level=ERROR,
    title="EMAIL_HOST could not be looked up",
    message="{detail}",
    hint="Check the machine's DNS (resolv.conf) and network, then retry",
    explanation="The lookup failed for another reason than 'no such host': DNS is down or slow.",
)
REFUSED = Rule(
    id="smtp.E003",
    level=ERROR,
    title="Nothing listens on EMAIL_PORT: connection refused",
    message="connection to {host} port {port} refused ({detail})",
    hint="Check EMAIL_PORT (587 for STARTTLS, 465 for implicit TLS) and that the server runs",
    explanation=(
        "The host answered at once that nothing listens on that port: a wrong port, or a local "
        "relay (Mailpit, MailHog) that is not started."
    ),
)
CONNECT_TIMEOUT = Rule(
    id="smtp.E004",
    level=ERROR,
    title="Connecting timed out: a firewall drops the traffic",
    message="no answer from {host} port {port} within {timeout:g} s ({detail})",
    hint=(
        "A firewall drops the traffic: cloud hosts usually block port 25, some networks block "
        "465/587. Try 587, or ask the host to open the port"
    ),
    explanation=(
        "Unlike a refusal, a timeout means the packets vanish: a firewall or security group "
        "drops them. Cloud providers (AWS, GCP, Azure, many VPS) block outbound port 25."
    ),
)
UNREACHABLE = Rule(
    id="smtp.E005",
    level=ERROR,
    title="The network cannot reach EMAIL_HOST",
    message="cannot reach {host} port {port}: {detail}",
    hint="Check the machine's network connection and routes (VPN, proxy, IPv6 without a route)",
    explanation="The operating system has no route to the server's address.",
)
NO_BANNER_IMPLICIT_TLS = Rule(
    id="smtp.E006",
    level=ERROR,
    title="STARTTLS was tried on an implicit-TLS port",
    message=(
        "port {port} sent no greeting within {timeout:g} s and answers a TLS handshake: "
        "it speaks implicit TLS"
    ),
    hint="Set EMAIL_USE_SSL=True and EMAIL_USE_TLS=False, or use EMAIL_PORT=587 with STARTTLS",
    explanation=(
        "On an implicit-TLS port (465) the server waits for the client's TLS handshake and "
        "never sends a plain-text banner. A client configured for STARTTLS (or plain SMTP) waits "
        "for the banner until it times out; Django with no EMAIL_TIMEOUT hangs forever."
    ),
)
NO_BANNER = Rule(
    id="smtp.E007",
    level=ERROR,
    title="The server sent no greeting",
    message="port {port} accepted the connection but sent no greeting within {timeout:g} s",
    hint="The server is overloaded or not an SMTP server; check EMAIL_HOST and EMAIL_PORT",
    explanation=(
        "An SMTP server greets with '220' as soon as the connection opens. Silence means a hung "
        "server, a proxy that holds the connection, or another protocol on that port."
    ),
)
SESSION_REFUSED = Rule(
    id="smtp.E008",
    level=ERROR,
    title="The server refused the session",
    message="the server refused the session: {reply}",
    hint="{fix}",
    explanation=(
        "Instead of 220 (greeting) or 250 (EHLO) the server answered with an error, often "
        "because the client's IP is blocked or the server is overloaded (421)."
    ),
)
NOT_SMTP = Rule(
    id="smtp.E009",
    level=ERROR,
    title="The server does not speak SMTP",
    message="{detail}",
    hint="Check EMAIL_HOST and EMAIL_PORT: something other than an SMTP server answers there",
    explanation="The first line from the server is not an SMTP reply ('220 ...').",
)
SSL_TO_PLAIN_PORT = Rule(
    id="smtp.E010",
    level=ERROR,
    title="Implicit TLS was tried on a STARTTLS port",
    message="port {port} answered the TLS handshake in plain text{banner}",
    hint="Set EMAIL_USE_TLS=True and EMAIL_USE_SSL=False, or use EMAIL_PORT=465",
    explanation=(
        "With EMAIL_USE_SSL the client starts with a TLS handshake, but a STARTTLS port (587, "
        "25) greets in plain text first, and the handshake fails at once with 'wrong version "
        "number'."
    ),
)
NO_STARTTLS = Rule(
    id="smtp.E011",
    level=ERROR,
    title="The server does not offer STARTTLS",
    message=(
        "EMAIL_USE_TLS is on, but the server does not offer STARTTLS: stopped, the credentials "
        "were not sent"
    ),
    hint="Use the provider's submission port (587) or EMAIL_USE_SSL=True with port 465",
    explanation=(
        "Django raises SMTPNotSupportedError when STARTTLS is not offered. mailcheck stops "
        "there too, so the credentials never cross an unencrypted connection."
    ),
)
LOGIN_REFUSED = Rule(
    id="smtp.E012",
    level=ERROR,
    title="The server refused the login",
    message="{meaning}",
    hint="{fix}",
    explanation=(
        "The server answered AUTH with a permanent error (5xx). mailcheck explains the reply "
        "from the provider table: Gmail's 535 5.7.8 means the account password was used instead "
        "of an App Password; Microsoft's 535 5.7.139 means SMTP AUTH is disabled; SES's 535 "
        "means IAM keys were used instead of SMTP credentials; SendGrid's user must be 'apikey'."
    ),
)
STARTTLS_REFUSED = Rule(
    id="smtp.E013",
    level=ERROR,
    title="The server refused STARTTLS",
    message="the server answered STARTTLS with {code}: stopped, the credentials were not sent",
    hint="Retry later (454 is temporary); if it persists use port 465 with EMAIL_USE_SSL=True",
    explanation="The server offered STARTTLS, then refused it (RFC 3207: 454 TLS not available).",
)
TLS_FAILED = Rule(
    id="smtp.E014",
    level=ERROR,
    title="The TLS handshake failed",
    message="{detail}",
    hint="Check that EMAIL_PORT and the TLS mode match the server; update OpenSSL if it is old",
    explanation=(
        "The TLS handshake failed for a reason other than the certificate: no common protocol "
        "version or cipher, or the server dropped the handshake."
    ),
)
CERTIFICATE_FAILED = Rule(
    id="smtp.E015",
    level=ERROR,
    title="The server's certificate does not verify",
    message="certificate not trusted ({reason}): {detail}{about}",
    hint="{fix}",
    explanation=(
        "Django verifies the server certificate against the system trust store (honouring "
        "SSL_CERT_FILE and SSL_CERT_DIR). A self-signed certificate, one from an unknown CA, an "
        "expired one or one issued for another name fails, and the app cannot send. Fix the "
        "server or EMAIL_HOST; for a private CA, trust it with SSL_CERT_FILE (or --cafile here). "
        "--insecure skips verification for debugging only."
    ),
)
INSECURE = Rule(
    id="smtp.W001",
    level=WARNING,
    title="--insecure: the certificate was not verified",
    message="certificate verification skipped (--insecure): this run proves nothing about it",
    hint="Drop --insecure; Django always verifies, so what fails here fails in the app",
    explanation="--insecure is for debugging only: Django verifies the certificate.",
)
PLAINTEXT_LOGIN_REFUSED = Rule(
    id="smtp.E016",
    level=ERROR,
    title="Login refused by mailcheck: the connection is not encrypted",
    message="not sending the credentials over an unencrypted connection",
    hint="Set EMAIL_USE_TLS=True (port 587); for a local test relay pass --allow-plaintext-auth",
    explanation=(
        "Without TLS, AUTH sends the user name and password in base64, which anyone on the path "
        "can read. mailcheck does not do that unless --allow-plaintext-auth says the relay is "
        "local."
    ),
)
PLAINTEXT_LOGIN = Rule(
    id="smtp.W002",
    level=WARNING,
    title="The credentials were sent without encryption",
    message="logged in over an unencrypted connection (--allow-plaintext-auth)",
    hint="Acceptable only for a relay on this machine or network",
    explanation="--allow-plaintext-auth lets the login cross an unencrypted connection.",
)
AUTH_NOT_OFFERED = Rule(
    id="smtp.E017",
    level=ERROR,
    title="The server offers no login the client can use",
    message="{detail}",
    hint="Check the port; for a relay without login leave the credentials empty",
    explanation=(
        "Credentials are configured but the server's EHLO lists no AUTH mechanism smtplib "
        "supports (PLAIN, LOGIN, CRAM-MD5). Django then fails with SMTPNotSupportedError. "
        "Some servers offer AUTH only after STARTTLS."
    ),
)
LOGIN_TEMPORARY = Rule(
    id="smtp.E018",
    level=ERROR,
    title="The login failed for a temporary reason",
    message="{meaning}",
    hint="{fix}",
    explanation=(
        "A 4xx reply to AUTH is temporary (RFC 4954: 454 4.7.0): do not change the password "
        "because of it. Retry later, and reuse one connection for several messages."
    ),
)
SENDER_REFUSED = Rule(
    id="smtp.E019",
    level=ERROR,
    title="The server refused the sender (MAIL FROM)",
    message="sender {sender} refused: {meaning}",
    hint="{fix}",
    explanation=(
        "The server refused DEFAULT_FROM_EMAIL: it is not the account or a verified sender "
        "(553, Microsoft 550 5.7.60, SES 554 not verified), or a login is required first (530)."
    ),
)
RECIPIENT_REFUSED = Rule(
    id="smtp.E020",
    level=ERROR,
    title="The server refused the recipient (RCPT TO)",
    message="recipient {recipient} refused: {meaning}",
    hint="{fix}",
    explanation=(
        "The server would not take mail for the recipient: a typo in --to, a sandbox that only "
        "sends to verified recipients (SES, Mailgun), or relaying denied without login."
    ),
)
MESSAGE_REFUSED = Rule(
    id="smtp.E021",
    level=ERROR,
    title="The server refused the message (DATA)",
    message="message refused: {meaning}",
    hint="{fix}",
    explanation="The server refused the message body: size, content policy or a quota.",
)
STEP_TIMEOUT = Rule(
    id="smtp.E022",
    level=ERROR,
    title="The server stopped answering mid-dialogue",
    message="{detail} during {step}",
    hint="Retry; if it persists the server or a middlebox is broken (check EMAIL_TIMEOUT too)",
    explanation=(
        "Every step is bounded by the timeout and the whole test by a couple of timeouts; "
        "the server did not finish the step in time."
    ),
)
DISCONNECTED = Rule(
    id="smtp.E023",
    level=ERROR,
    title="The server closed the connection mid-dialogue",
    message="{detail} during {step}",
    hint="Check the server's logs: it may reject the client's IP, EHLO name or TLS settings",
    explanation="The server hung up before the step was complete.",
)
PROTOCOL_ERROR = Rule(
    id="smtp.E024",
    level=ERROR,
    title="The server broke the SMTP protocol",
    message="{detail} during {step}",
    hint="Check that EMAIL_HOST and EMAIL_PORT point at an SMTP server, not a proxy",
    explanation=(
        "The server sent something that is not a valid SMTP reply, a line longer than any "
        "server sends, or a reply that never ends."
    ),
)
NO_RECIPIENT = Rule(
    id="smtp.E025",
    level=ERROR,
    title="No recipient for the test message",
    message="no recipient: EMAIL_HOST_USER is not an address and --to is not given",
    hint="Pass --to you@example.org (or --login-only to stop after the login)",
    explanation="The test message goes to --to, by default to EMAIL_HOST_USER (to yourself).",
)
NOT_ASCII = Rule(
    id="smtp.E026",
    level=ERROR,
    title="The credentials are not ASCII",
    message="the user name or password contains non-ASCII characters, which smtplib cannot send",
    hint="Use an ASCII password (an App Password or API key is always ASCII)",
    explanation=(
        "smtplib encodes the AUTH payload as ASCII, so Django fails with UnicodeEncodeError "
        "before the server sees the login."
    ),
)

STARTTLS_NOT_STARTED = Rule(
    id="smtp.E027",
    level=ERROR,
    title="The server accepted STARTTLS but did not start TLS",
    message=(
        "the server answered STARTTLS with 220, then went on in plain text instead of starting "
        "TLS: stopped, the credentials were not sent"
    ),
    hint=(
        "Something between here and the server breaks STARTTLS (an antivirus or firewall that "
        "inspects mail, a proxy): send from another network, or use EMAIL_USE_SSL=True with "
        "port 465"
    ),
    explanation=(
        "After '220 Ready to start TLS' the client starts a TLS handshake, and the server must "
        "answer it. This one kept talking plain SMTP. That is not a setting of the app's: the "
        "TLS mode is right (the server offered and accepted STARTTLS). It is what a broken "
        "server or a middlebox that strips or intercepts STARTTLS does; Django fails with an "
        "SSL error on every send."
    ),
)
LOGIN_NOT_CONFIRMED = Rule(
    id="smtp.E028",
    level=ERROR,
    title="The server did not confirm the login (no 235)",
    message="the server answered the login with {code}, not 235: the client is not logged in",
    hint=(
        "Check that EMAIL_HOST and EMAIL_PORT are the provider's submission server; a 503 "
        "('bad sequence of commands') to AUTH means the server does not take the login here"
    ),
    explanation=(
        "RFC 4954: only 235 means that AUTH succeeded. smtplib, which Django uses, also "
        "returns quietly on 503 (it takes it for 'already authenticated'), so Django would go "
        "on without a login and the server would refuse the message later. mailcheck counts "
        "only 235 as a login."
    ),
)

_CERT_FIXES = {
    "self_signed": (
        "the server uses a self-signed certificate: trust it with SSL_CERT_FILE (or --cafile) "
        "or install a CA-issued one"
    ),
    "unknown_issuer": (
        "the issuing CA is not trusted here: add it with SSL_CERT_FILE (or --cafile), or "
        "install the system CA bundle (ca-certificates)"
    ),
    "expired": "the certificate has expired: the server's operator must renew it",
    "not_yet_valid": "the certificate is not valid yet: check this machine's clock",
    "hostname_mismatch": (
        "EMAIL_HOST is not a name in the certificate: set EMAIL_HOST to one of the names it "
        "is valid for"
    ),
    "other": "fix the server's certificate, or trust its CA with SSL_CERT_FILE (or --cafile)",
}
_REASON_TEXT = {
    "self_signed": "self-signed",
    "unknown_issuer": "unknown issuer",
    "expired": "expired",
    "not_yet_valid": "not yet valid",
    "hostname_mismatch": "hostname mismatch",
    "other": "verification failed",
}


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
    findings: list[Finding] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)


class _Stop(Exception):
    """The walk ends here (after a failure, or by choice)."""


class _Walk:
    def __init__(self, config: MailConfig, options: SendTestOptions, timeout: float) -> None:
        self.config = config
        self.options = options
        self.timeout = timeout
        self.result = WalkResult()
        self.client = SmtpClient(
            config.host,
            config.port or 25,
            timeout=timeout,
            budget=timeout * BUDGET_TIMEOUTS,
            cafile=options.cafile,
            insecure=options.insecure,
        )
        self.current = ""
        self.started = time.perf_counter()
        self.silenced = False
        """The server stopped answering: the connection is not worth a QUIT."""

    # bookkeeping

    def step(self, name: str) -> None:
        self.current = name
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)

    def record(self, finding: Finding, status: str) -> None:
        duration = self.elapsed()
        context = {"step": self.current, "duration_ms": duration}
        self.result.findings.append(
            Finding(
                finding.id,
                finding.level,
                finding.message,
                finding.hint,
                finding.subject,
                finding.evidence,
                context,
            )
        )
        self.result.steps.append(
            {
                "step": self.current,
                "status": status,
                "duration_ms": duration,
                "detail": finding.message,
            }
        )

    def ok(self, rule: Rule, subject: str, **fields: Any) -> None:
        finding = rule.finding(subject, **fields)
        self.record(finding, "ok" if rule.level == INFO else "warning")

    def fail(self, rule: Rule, subject: str, **fields: Any) -> None:
        self.record(rule.finding(subject, **fields), "failed")
        raise _Stop

    # the walk

    def run(self) -> WalkResult:
        mode = self.config.mode
        try:
            self.resolve()
            self.connect()
            if mode == "ssl":
                self.step("tls")
                info = self.guard(self.client.start_implicit_tls)
                self.tls_established(info, "implicit TLS")
            self.greet()
            if mode == "starttls":
                self.starttls()
            self.login()
            self.send()
        except _Stop:
            pass
        finally:
            # A server that stopped answering gets no QUIT to wait for.
            self.client.close(quit=not self.silenced)
            self.result.transcript = [
                {"ms": line.at_ms, "who": line.who, "line": line.text}
                for line in self.client.transcript.lines
            ]
        done = {row["step"] for row in self.result.steps}
        for name in self.planned_steps():
            if name not in done:
                self.result.steps.append(
                    {"step": name, "status": "skipped", "duration_ms": 0.0, "detail": "not reached"}
                )
        return self.result

    def planned_steps(self) -> list[str]:
        mode = self.config.mode
        steps = ["resolve", "connect"]
        steps += ["tls", "certificate", "greet"] if mode == "ssl" else ["greet"]
        steps += ["starttls", "certificate"] if mode == "starttls" else []
        return [*steps, "login", "send"]

    def guard(self, action: Callable[[], Any]) -> Any:
        """Run one adapter call; turn an SmtpProblem into the finding for this step."""
        try:
            return action()
        except SmtpProblem as problem:
            self.silenced = problem.kind in SILENT_KINDS
            self.problem(problem)

    def problem(self, problem: SmtpProblem) -> None:
        config, step = self.config, self.current
        host, port = config.host, config.port
        kind = problem.kind
        generic: dict[str, Rule] = {
            "timeout": STEP_TIMEOUT,
            "disconnected": DISCONNECTED,
            "silent": STEP_TIMEOUT,
            "protocol": PROTOCOL_ERROR,
            "not_smtp": PROTOCOL_ERROR,
        }
        if step == "resolve":
            rule = NO_SUCH_HOST if kind == "no_such_host" else RESOLVE_FAILED
            self.fail(rule, "EMAIL_HOST", detail=problem.detail)
        if step == "connect":
            if kind == "refused":
                self.fail(REFUSED, "EMAIL_PORT", host=host, port=port, detail=problem.detail)
            if kind == "connect_timeout":
                self.fail(
                    CONNECT_TIMEOUT,
                    "EMAIL_PORT",
                    host=host,
                    port=port,
                    timeout=self.timeout,
                    detail=problem.detail,
                )
            self.fail(UNREACHABLE, "EMAIL_HOST", host=host, port=port, detail=problem.detail)
        if kind == "certificate":
            self.certificate_failed(problem)
        if kind == "starttls_not_started":
            self.fail(STARTTLS_NOT_STARTED, "EMAIL_HOST")
        if kind == "auth_not_confirmed" and problem.reply:
            self.fail(
                LOGIN_NOT_CONFIRMED,
                "EMAIL_HOST",
                code=problem.reply.code,
                evidence={"reply": problem.reply.quoted()},
            )
        if kind == "tls_plaintext_peer":
            banner = probe_banner(self.client.address, port or 0, PROBE_WAIT)
            shown = f" (it greets: {banner})" if banner else ""
            self.fail(
                SSL_TO_PLAIN_PORT,
                "EMAIL_USE_SSL",
                port=port,
                banner=shown,
                evidence={"banner": banner},
            )
        if kind in ("tls_failed", "tls_timeout"):
            self.fail(TLS_FAILED, "EMAIL_PORT", detail=problem.detail)
        if kind == "starttls_refused" and problem.reply:
            self.fail(
                STARTTLS_REFUSED,
                "EMAIL_USE_TLS",
                code=problem.reply.code,
                evidence={"reply": problem.reply.quoted()},
            )
        if step == "greet" and kind == "silent":
            speaks_tls = probe_tls(self.client.address, port or 0, host, PROBE_WAIT)
            self.fail(
                NO_BANNER_IMPLICIT_TLS if speaks_tls else NO_BANNER,
                "EMAIL_USE_SSL" if speaks_tls else "EMAIL_PORT",
                port=port,
                timeout=self.timeout,
                evidence={"answers_tls": speaks_tls},
            )
        if step == "greet" and kind == "not_smtp":
            self.fail(NOT_SMTP, "EMAIL_PORT", detail=problem.detail)
        if step == "login" and kind == "auth_refused" and problem.reply:
            self.reply_failed(
                problem.reply,
                LOGIN_TEMPORARY if problem.reply.code < 500 else LOGIN_REFUSED,
                "EMAIL_HOST_PASSWORD",
            )
        if kind == "auth_not_offered":
            self.fail(AUTH_NOT_OFFERED, "EMAIL_HOST_USER", detail=problem.detail)
        if kind == "auth_not_ascii":
            self.fail(NOT_ASCII, "EMAIL_HOST_PASSWORD")
        if kind in ("sender_refused", "recipient_refused", "data_refused") and problem.reply:
            rule = {
                "sender_refused": SENDER_REFUSED,
                "recipient_refused": RECIPIENT_REFUSED,
                "data_refused": MESSAGE_REFUSED,
            }[kind]
            self.reply_failed(
                problem.reply, rule, "DEFAULT_FROM_EMAIL" if kind == "sender_refused" else "--to"
            )
        self.fail(generic.get(kind, PROTOCOL_ERROR), "EMAIL_HOST", detail=problem.detail, step=step)

    def probe_wait(self) -> float:
        """Fetching a certificate to show it gets what is left of the budget, but at least a
        moment (the server has just answered a handshake)."""
        return max(min(self.timeout, self.client.deadline.remaining()), PROBE_WAIT)

    def reply_failed(self, reply: Reply, rule: Rule, subject: str) -> None:
        known = classify_reply(reply.code, reply.text, self.config.host)
        meaning = known.meaning if known else f"the server answered {reply.code}"
        fix = (
            known.fix
            if known
            else "Read the server's reply below; the provider documents its codes"
        )
        evidence: dict[str, Any] = {"reply": reply.quoted()}
        if known and known.provider:
            evidence["explained_by"] = f"{known.provider} reply table" + (
                "" if known.confirmed else " (unconfirmed)"
            )
        self.fail(
            rule,
            subject,
            meaning=meaning,
            fix=fix,
            sender=self.sender(),
            recipient=self.recipient() or "",
            evidence=evidence,
        )

    def certificate_failed(self, problem: SmtpProblem) -> None:
        reason = str(problem.data.get("reason", "other"))
        certificate = fetch_certificate(
            self.client.address,
            self.config.port or 0,
            self.config.host,
            starttls=self.config.mode == "starttls",
            wait=self.probe_wait(),
        )
        evidence: dict[str, Any] = {"verify_error": problem.detail}
        fix = _CERT_FIXES.get(reason, _CERT_FIXES["other"])
        about = ""
        if certificate is not None:
            evidence.update(certificate.as_evidence())
            if reason == "hostname_mismatch" and certificate.names:
                best = best_name(self.config.host, certificate.names)
                about = f"; it is valid for {', '.join(certificate.names)}"
                fix = f"set EMAIL_HOST={best}, a name the certificate is valid for"
            elif reason in ("unknown_issuer", "self_signed"):
                about = f"; issued by {certificate.issuer or '?'}"
            elif reason in ("expired", "not_yet_valid"):
                about = f"; valid until {certificate.not_after}"
        self.fail(
            CERTIFICATE_FAILED,
            "EMAIL_HOST",
            reason=_REASON_TEXT.get(reason, reason),
            detail=problem.detail,
            about=about,
            fix=fix[0].upper() + fix[1:],
            evidence=evidence,
        )

    # steps

    def resolve(self) -> None:
        self.step("resolve")
        addresses = self.guard(self.client.resolve)
        self.ok(RESOLVED, "EMAIL_HOST", host=self.config.host, addresses=", ".join(addresses))

    def connect(self) -> None:
        self.step("connect")
        address = self.guard(self.client.connect)
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
        banner = self.guard(self.client.greet)
        if banner.code != 220:
            self.fail(
                SESSION_REFUSED, "EMAIL_HOST", reply=banner.quoted(), fix=self._reply_fix(banner)
            )
        hello = self.guard(self.client.ehlo)
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
        if not self.client.offers("starttls"):
            self.fail(NO_STARTTLS, "EMAIL_USE_TLS")
        info = self.guard(self.client.starttls)
        self.tls_established(info, "STARTTLS")
        self.step("starttls")
        self.guard(self.client.ehlo)

    def login(self) -> None:
        self.step("login")
        config = self.config
        if not (config.user and config.password):
            self.ok(LOGIN_SKIPPED, "EMAIL_HOST_USER")
            return
        if config.mode == "plain" and not self.options.allow_plaintext_auth:
            self.fail(PLAINTEXT_LOGIN_REFUSED, "EMAIL_USE_TLS")
        reply = self.guard(lambda: self.client.login(config.user, config.password))
        if config.mode == "plain":
            self.ok(PLAINTEXT_LOGIN, "EMAIL_USE_TLS")
            self.step("login")
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
        reply = self.guard(lambda: self.client.send(self.sender(), recipient, message))
        self.ok(
            ACCEPTED,
            "--to",
            sender=self.sender(),
            recipient=recipient,
            reply=reply.quoted().splitlines()[-1],
        )


def best_name(host: str, names: tuple[str, ...]) -> str:
    """The certificate name to suggest for EMAIL_HOST: the one sharing most trailing labels
    with it (a wildcard is shown as an example name under it)."""

    def shared(name: str) -> int:
        ours, theirs = host.lower().split(".")[::-1], name.lower().split(".")[::-1]
        count = 0
        for a, b in zip(ours, theirs, strict=False):
            if a != b:
                break
            count += 1
        return count

    candidates = [name for name in names if not name.replace(".", "").isdigit()] or list(names)
    best = max(candidates, key=lambda name: (shared(name), not name.startswith("*.")))
    return "smtp." + best[2:] if best.startswith("*.") else best


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


def preflight(config: MailConfig, options: SendTestOptions) -> Finding | None:
    """Reasons not to connect at all, checked before any network traffic."""
    if not options.login_only and not (options.to or email_address(config.user)):
        return NO_RECIPIENT.finding("--to")
    return None


def walk(config: MailConfig, options: SendTestOptions) -> WalkResult:
    return _Walk(config, options, resolve_timeout(options.timeout, config.timeout)).run()
