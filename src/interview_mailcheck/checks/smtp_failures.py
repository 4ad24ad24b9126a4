"""What a failure at a step of the SMTP walk means: a table, apart from the walk's mechanism.

A failed step raises `SmtpProblem(kind, detail, reply=...)`. `explain(step, problem, probe)`
finds the first row of `MEANINGS` for that step and kind (a row with no step applies to any
step; the kind "*" to any kind) and returns the rule, the setting it is about, and the fields
of its message. A row may name a diagnosis: a probe of the port (does it answer TLS? what does
it greet with?), the server's certificate fetched for display, or the reply explained by the
provider table (providers.classify_reply), next to which this table sits in spirit: facts as
data, not an if-chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from interview_mailcheck.checks.smtp_rules import (
    AUTH_NOT_OFFERED,
    CERTIFICATE_FAILED,
    CERTIFICATE_NO_CA,
    CONNECT_TIMEOUT,
    DISCONNECTED,
    LOGIN_NOT_CONFIRMED,
    LOGIN_REFUSED,
    LOGIN_TEMPORARY,
    MESSAGE_REFUSED,
    NO_BANNER,
    NO_BANNER_IMPLICIT_TLS,
    NO_SUCH_HOST,
    NOT_ASCII,
    NOT_SMTP,
    PROTOCOL_ERROR,
    RECIPIENT_REFUSED,
    REFUSED,
    RESOLVE_FAILED,
    SENDER_REFUSED,
    SSL_TO_PLAIN_PORT,
    STARTTLS_NOT_STARTED,
    STARTTLS_REFUSED,
    STEP_TIMEOUT,
    TLS_FAILED,
    UNREACHABLE,
)
from interview_mailcheck.findings import Rule
from interview_mailcheck.providers import classify_reply
from interview_mailcheck.smtp_session import CertificateInfo, Reply, SmtpProblem
from interview_mailcheck.values import QUICK_WAIT


class Probe(Protocol):
    """What a diagnosis may ask of the session that failed (smtp_session.SmtpSession)."""

    def probe_banner(self, wait: float) -> str | None: ...

    def probe_tls(self, wait: float) -> bool: ...

    def fetch_certificate(self, *, starttls: bool, wait: float) -> CertificateInfo | None: ...


@dataclass(frozen=True)
class Situation:
    """Everything a diagnosis may use: the failure, the settings it is about, a probe."""

    step: str
    problem: SmtpProblem
    host: str
    port: int
    timeout: float
    starttls: bool
    probe: Probe
    certificate_wait: float
    sender: str
    recipient: str
    client_certificate: str = ""
    """The settings that make Django's TLS context trust no CA ('EMAIL_SSL_CERTFILE'...);
    '' when neither is set."""


class Verdict(NamedTuple):
    rule: Rule
    subject: str
    fields: Mapping[str, Any]
    evidence: Mapping[str, Any] = {}


Diagnosis = Callable[[Situation, Rule, str], Verdict]


def _plain(situation: Situation, rule: Rule, subject: str) -> Verdict:
    problem = situation.problem
    return Verdict(
        rule,
        subject,
        {
            "detail": problem.detail,
            "step": situation.step,
            "host": situation.host,
            "port": situation.port,
            "timeout": situation.timeout,
        },
    )


def _reply(situation: Situation, rule: Rule, subject: str) -> Verdict:
    """The server's reply, explained by the provider table; 4xx is the temporary variant."""
    reply = situation.problem.reply or Reply(0, ("(no reply)",))
    if rule is LOGIN_REFUSED and reply.code < 500:
        rule = LOGIN_TEMPORARY
    known = classify_reply(reply.code, reply.text, situation.host)
    evidence: dict[str, Any] = {"reply": reply.quoted()}
    if known and known.provider:
        evidence["explained_by"] = f"{known.provider} reply table" + (
            "" if known.confirmed else " (unconfirmed)"
        )
    fields = {
        "meaning": known.meaning if known else f"the server answered {reply.code}",
        "fix": known.fix
        if known
        else "Read the server's reply below; the provider documents its codes",
        "sender": situation.sender,
        "recipient": situation.recipient,
    }
    return Verdict(rule, subject, fields, evidence)


def _reply_code(situation: Situation, rule: Rule, subject: str) -> Verdict:
    reply = situation.problem.reply or Reply(0, ("(no reply)",))
    return Verdict(rule, subject, {"code": reply.code}, {"reply": reply.quoted()})


def _banner(situation: Situation, rule: Rule, subject: str) -> Verdict:
    """What the port greets with, in plain text: it is a STARTTLS port."""
    banner = situation.probe.probe_banner(QUICK_WAIT)
    shown = f" (it greets: {banner})" if banner else ""
    return Verdict(rule, subject, {"port": situation.port, "banner": shown}, {"banner": banner})


def _tls_probe(situation: Situation, rule: Rule, subject: str) -> Verdict:
    """No greeting at all: an implicit-TLS port waits for the client's handshake."""
    speaks_tls = situation.probe.probe_tls(QUICK_WAIT)
    if speaks_tls:
        rule, subject = NO_BANNER_IMPLICIT_TLS, "EMAIL_USE_SSL"
    fields = {"port": situation.port, "timeout": situation.timeout}
    return Verdict(rule, subject, fields, {"answers_tls": speaks_tls})


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


def _certificate(situation: Situation, rule: Rule, subject: str) -> Verdict:
    """The certificate that failed, fetched again without verification to show it."""
    problem = situation.problem
    reason = str(problem.data.get("reason", "other"))
    certificate = situation.probe.fetch_certificate(
        starttls=situation.starttls, wait=situation.certificate_wait
    )
    evidence: dict[str, Any] = {"verify_error": problem.detail}
    fix = _CERT_FIXES.get(reason, _CERT_FIXES["other"])
    about = ""
    if certificate is not None:
        evidence.update(certificate.as_evidence())
        if reason == "hostname_mismatch" and certificate.names:
            best = best_name(situation.host, certificate.names)
            about = f"; it is valid for {', '.join(certificate.names)}"
            fix = f"set EMAIL_HOST={best}, a name the certificate is valid for"
        elif reason in ("unknown_issuer", "self_signed"):
            about = f"; issued by {certificate.issuer or '?'}"
        elif reason in ("expired", "not_yet_valid"):
            about = f"; valid until {certificate.not_after}"
    fields = {
        "reason": _REASON_TEXT.get(reason, reason),
        "detail": problem.detail,
        "about": about,
        "fix": fix[0].upper() + fix[1:],
    }
    if situation.client_certificate and reason in ("unknown_issuer", "self_signed", "other"):
        fields["names"] = situation.client_certificate
        return Verdict(CERTIFICATE_NO_CA, situation.client_certificate.split()[0], fields, evidence)
    return Verdict(rule, subject, fields, evidence)


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


@dataclass(frozen=True)
class Meaning:
    """One row of the table: a failure of `kind` at `step` is `rule`, about `subject`."""

    kind: str
    """SmtpProblem.kind, or '*' for any."""
    rule: Rule
    subject: str
    step: str = ""
    """The step it applies to; '' for any."""
    diagnose: Diagnosis = field(default=_plain)

    def matches(self, step: str, kind: str) -> bool:
        return self.kind in (kind, "*") and self.step in (step, "")


# First match wins: specific rows before the catch-alls.
MEANINGS: tuple[Meaning, ...] = (
    Meaning("no_such_host", NO_SUCH_HOST, "EMAIL_HOST", "resolve"),
    Meaning("*", RESOLVE_FAILED, "EMAIL_HOST", "resolve"),
    Meaning("refused", REFUSED, "EMAIL_PORT", "connect"),
    Meaning("connect_timeout", CONNECT_TIMEOUT, "EMAIL_PORT", "connect"),
    Meaning("*", UNREACHABLE, "EMAIL_HOST", "connect"),
    Meaning("certificate", CERTIFICATE_FAILED, "EMAIL_HOST", diagnose=_certificate),
    Meaning("starttls_not_started", STARTTLS_NOT_STARTED, "EMAIL_HOST"),
    Meaning("auth_not_confirmed", LOGIN_NOT_CONFIRMED, "EMAIL_HOST", diagnose=_reply_code),
    Meaning("tls_plaintext_peer", SSL_TO_PLAIN_PORT, "EMAIL_USE_SSL", diagnose=_banner),
    Meaning("tls_failed", TLS_FAILED, "EMAIL_PORT"),
    Meaning("tls_timeout", TLS_FAILED, "EMAIL_PORT"),
    Meaning("starttls_refused", STARTTLS_REFUSED, "EMAIL_USE_TLS", diagnose=_reply_code),
    Meaning("silent", NO_BANNER, "EMAIL_PORT", "greet", diagnose=_tls_probe),
    Meaning("not_smtp", NOT_SMTP, "EMAIL_PORT", "greet"),
    Meaning("auth_refused", LOGIN_REFUSED, "EMAIL_HOST_PASSWORD", "login", diagnose=_reply),
    Meaning("auth_not_offered", AUTH_NOT_OFFERED, "EMAIL_HOST_USER"),
    Meaning("auth_not_ascii", NOT_ASCII, "EMAIL_HOST_PASSWORD"),
    Meaning("sender_refused", SENDER_REFUSED, "DEFAULT_FROM_EMAIL", diagnose=_reply),
    Meaning("recipient_refused", RECIPIENT_REFUSED, "--to", diagnose=_reply),
    Meaning("data_refused", MESSAGE_REFUSED, "--to", diagnose=_reply),
    Meaning("timeout", STEP_TIMEOUT, "EMAIL_HOST"),
    Meaning("silent", STEP_TIMEOUT, "EMAIL_HOST"),
    Meaning("disconnected", DISCONNECTED, "EMAIL_HOST"),
    Meaning("*", PROTOCOL_ERROR, "EMAIL_HOST"),
)


def explain(situation: Situation) -> Verdict:
    """The verdict of the first row that matches the step and the kind of failure."""
    kind = situation.problem.kind
    meaning = next(row for row in MEANINGS if row.matches(situation.step, kind))
    return meaning.diagnose(situation, meaning.rule, meaning.subject)
