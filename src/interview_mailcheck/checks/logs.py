"""The app's own log, per interview: `mailcheck logs`.

logcorrelate.py ties the log's events to interviews; this module judges each one: a send
failure, a session with no email after it, a link to this machine, '[EMAIL NOT SENT]'
explained by the config check that finds its cause. SMTP replies are explained with the same
provider table as `send-test` (`providers.classify_reply`). Only the first `limit` interviews
are kept for the report; the rest are counted.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interview_mailcheck.checks.credentials import CREDENTIALS_INCOMPLETE
from interview_mailcheck.checks.transport import BACKEND_NOT_SENDING, HOST_MISSING
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.interviews import is_local_host
from interview_mailcheck.logcorrelate import OPEN_WINDOW, Interview, Loose, correlate
from interview_mailcheck.logscan import Event, MailError, NotSent, Tally
from interview_mailcheck.providers import PROVIDERS, classify_reply, enhanced_status
from interview_mailcheck.registry import check
from interview_mailcheck.values import LIST_LIMIT

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

SEND_TEST = "`mailcheck send-test` replays the SMTP dialogue step by step"

SEND_FAILED = Rule(
    id="logs.E001",
    level=ERROR,
    title="An invitation email failed to send",
    message="email to {email} failed: {reason}",
    hint="{fix}",
    explanation=(
        "The app logged 'Email sending failed for <address> - check email configuration', or "
        "smtplib raised an exception while a booking was being handled. mailcheck reads the "
        "exception next to that line (a traceback after it, or an error just before it) and "
        "explains the server's reply with the same provider table as `mailcheck send-test`: "
        "'535 5.7.8 Username and Password not accepted' from Gmail means the account password "
        "was used instead of an App Password. Without an exception in the log, the reason is "
        "unknown: run `mailcheck send-test` with the same settings."
    ),
)

NO_EMAIL = Rule(
    id="logs.E002",
    level=ERROR,
    title="A session was created but no email was sent for it",
    message=(
        "interview {interview_id}: InterviewSession created (line {line}), but no email was "
        "sent, failed or refused for it afterwards"
    ),
    hint=(
        "Look at the log after line {line}: an exception there (or a missing logger call) "
        "stopped the invitation; resend it once the cause is fixed"
    ),
    explanation=(
        "The app logs 'InterviewSession created for interview <id>, session_key: <key>' when a "
        "booking creates the session, then 'Email sent to ...' or 'Email sending failed for ...'. "
        "When neither follows, the request died between the two (an exception that is not "
        "logged as a failure, a worker killed by a timeout), or the email code was never "
        "called, and the candidate has no link. mailcheck waits for the outcome until "
        f"{OPEN_WINDOW:,} newer sessions have been created, or to the end of the log."
    ),
)

NOT_SENT = Rule(
    id="logs.E003",
    level=ERROR,
    title="The app refused to send an invitation ([EMAIL NOT SENT])",
    message="the invitation{to} was not sent: the app logged '[EMAIL NOT SENT] {reason}'{cause}",
    hint="{fix}",
    explanation=(
        "Before sending, the app checks its email settings and logs '[EMAIL NOT SENT] ...' "
        "instead of sending when they cannot work: EMAIL_BACKEND is 'console' (config.E001), "
        "EMAIL_HOST is not set (config.E003), or the credentials are incomplete (config.E010). "
        "Each such line is reported with the config finding that explains it; `mailcheck "
        "config` checks the settings themselves."
    ),
)

MORE_ERRORS = Rule(
    id="logs.E004",
    level=ERROR,
    title="More interviews have errors than are listed",
    message="{count} more findings {rule_id} ({title}) are not listed (--limit {limit})",
    hint="Run again with a larger --limit (0 for all), or with --since for a shorter window",
    explanation=(
        "To keep memory flat on a large log, the report lists the first --limit interviews "
        "(1000 by default) with their findings, and counts the others. This finding says how "
        "many errors of each kind are beyond the list, so that the exit status stays right."
    ),
)

LOCAL_LINK = Rule(
    id="logs.W001",
    level=WARNING,
    title="An invitation link points at localhost",
    message="the link sent{to} points at {host}, which a candidate cannot open",
    hint="Build the link from the site's public address (e.g. a SITE_URL setting), not {host}",
    explanation=(
        "localhost, 127.0.0.1 and 0.0.0.0 name the candidate's own computer in their browser, "
        "so a link built from the development server's address opens nothing. The email went "
        "out, but the candidate cannot join the interview."
    ),
)

NO_STAMPS = Rule(
    id="logs.W002",
    level=WARNING,
    title="--since was given, but the app's lines carry no timestamp",
    message="--since {since}: none of the app's lines has a timestamp mailcheck reads",
    hint="Add %(asctime)s to the log format, or drop --since",
    explanation=(
        "--since compares the timestamp written in each of the app's lines (2024-11-26 "
        "14:00:01,123, ISO 8601, or [26/Nov/2024 14:00:01]); lines without one go with the "
        "line before them. When no line has one, nothing can be filtered and the whole log is "
        "reported."
    ),
)

MORE_WARNINGS = Rule(
    id="logs.W003",
    level=WARNING,
    title="More interviews have warnings than are listed",
    message="{count} more findings {rule_id} ({title}) are not listed (--limit {limit})",
    hint="Run again with a larger --limit (0 for all), or with --since for a shorter window",
    explanation=(
        "The warning counterpart of logs.E004: the warnings beyond the first --limit "
        "interviews, counted by kind."
    ),
)

NO_MARKERS = Rule(
    id="logs.I001",
    level=INFO,
    title="The log has none of the app's email lines",
    message="none of the {lines:,} lines read{window} is one of the app's email lines",
    hint="Check that this is the app's log and that its logger lets INFO messages through",
    explanation=(
        "mailcheck looks for 'InterviewSession created for interview', 'Email sent to', "
        "'Email sending failed for' and '[EMAIL NOT SENT]', and for smtplib's exceptions. A log "
        "without any is another program's, or the app's logger level hides INFO messages."
    ),
)

MANGLED_EMOJI = Rule(
    id="logs.I002",
    level=INFO,
    title="The log's emoji are mangled by a wrong decoding",
    message="'{emoji}' appears as '{mangled}' (line {line}): UTF-8 was read as {codec}",
    hint=(
        "mailcheck reads the lines anyway; for a readable log run the app with PYTHONUTF8=1 "
        "and a UTF-8 console"
    ),
    explanation=(
        "The app writes emoji such as ✅ and ❌ before its messages. Somewhere between the app "
        "and the file (a Windows console, a redirect, a log shipper) the UTF-8 bytes were "
        "decoded as Windows-1252 ('âœ…') or Mac Roman ('‚úÖ') and written again. The markers "
        "are plain ASCII, so mailcheck finds them whatever happened to the emoji."
    ),
)


@dataclass(frozen=True)
class ErrorMeaning:
    """An exception without an SMTP reply, recognised by its name and message."""

    pattern: re.Pattern[str]
    meaning: str
    fix: str


_MODE_FIX = (
    "Match the mode to the port: 587 with EMAIL_USE_TLS=True and EMAIL_USE_SSL=False, or 465 "
    "with EMAIL_USE_SSL=True and EMAIL_USE_TLS=False"
)

# Matched in order against "<exception name>: <message>"; the first match explains it.
# fmt: off
ERROR_MEANINGS: tuple[ErrorMeaning, ...] = tuple(
    ErrorMeaning(re.compile(pattern, re.IGNORECASE), meaning, fix) for pattern, meaning, fix in (
    (r"ConnectionRefused|\[(?:Errno 111|Errno 61|WinError 10061)\]|Connection refused",
     "the connection was refused: nothing listens on EMAIL_HOST at EMAIL_PORT",
     "Check EMAIL_HOST and EMAIL_PORT (Django falls back to localhost:25 when they are unset); "
     "providers take mail on 587 (STARTTLS) or 465 (implicit TLS)"),
    (r"Timeout|timed out|\[(?:Errno 110|Errno 60|WinError 10060)\]",
     "the connection timed out: a firewall drops the traffic (cloud hosts block port 25), or "
     "EMAIL_USE_TLS waits for a banner on an implicit-TLS port (465)",
     f"Use 587 or 465 and allow outbound traffic to it; {_MODE_FIX}; set EMAIL_TIMEOUT"),
    (r"gaierror|\[(?:Errno -[235]|Errno 8|WinError 1100[14])\]|Name or service not known|"
     r"nodename nor servname|getaddrinfo failed|name resolution",
     "EMAIL_HOST does not resolve: the DNS lookup of the SMTP server failed",
     "Check EMAIL_HOST for typos (e.g. smtp.gmail.com), and that the server can resolve names"),
    (r"\[(?:Errno 101|Errno 113|Errno 51|Errno 65)\]|unreachable|No route to host",
     "the network has no route to the SMTP server",
     "Check the server's outbound network and firewall rules for EMAIL_PORT"),
    (r"WRONG_VERSION_NUMBER|wrong version number|UNKNOWN_PROTOCOL|record layer failure",
     "TLS was spoken to a port that expects plain SMTP first: EMAIL_USE_SSL on a STARTTLS "
     "port", _MODE_FIX),
    (r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|CertVerification",
     "the SMTP server's certificate did not verify",
     "Set EMAIL_HOST to the provider's own host name (not an IP address or an alias), or "
     "trust the CA that signed the server's certificate (SSL_CERT_FILE)"),
    (r"SSL",
     "the TLS handshake with the SMTP server failed", _MODE_FIX),
    (r"SMTP AUTH extension not supported",
     "the server offered no login (AUTH): providers offer it only after STARTTLS",
     "Set EMAIL_USE_TLS=True with port 587 (or EMAIL_USE_SSL=True with 465)"),
    (r"STARTTLS extension not supported",
     "EMAIL_USE_TLS is on, but the server does not offer STARTTLS",
     "Check that EMAIL_HOST and EMAIL_PORT point at the provider's submission port (587), or "
     "use 465 with EMAIL_USE_SSL=True"),
    (r"No suitable authentication method",
     "the server offers no login method smtplib supports",
     "Use the provider's submission port with TLS, where it offers AUTH LOGIN or PLAIN"),
    (r"ServerDisconnected|Connection unexpectedly closed|ConnectionReset|ConnectionAborted|"
     r"BrokenPipe|\[(?:Errno 104|Errno 54|Errno 32)\]",
     "the server closed the connection: often the TLS mode does not match the port",
     f"{_MODE_FIX}; {SEND_TEST}"),
))

@dataclass(frozen=True)
class Explanation:
    reason: str
    """One line for the per-interview summary: the reply or exception and what it means."""
    fix: str
    evidence: Mapping[str, Any]

def explain_error(error: MailError) -> Explanation:
    """What an exception from the log means, and how to fix it."""
    evidence: dict[str, Any] = {"line": error.line, "error": error.excerpt}
    if error.code is not None:
        status = enhanced_status(error.text)
        reply = f"{error.code} {status}".strip()
        rule = classify_reply(error.code, error.text, None)
        if rule is not None:
            if rule.provider:
                evidence["provider"] = _provider_name(rule.provider)
            return Explanation(f"{reply}: {rule.meaning}", rule.fix, evidence)
        temporary = 400 <= error.code < 500
        meaning = "a temporary refusal" if temporary else "the server refused the message"
        fix = "Retry later" if temporary else "Look the reply up in the provider's documentation"
        return Explanation(f"{reply}: {meaning} ({error.text})", f"{fix}; {SEND_TEST}", evidence)
    described = f"{error.name}: {error.text}" if error.name else error.text
    shown = described if len(described) <= 100 else described[:99] + "…"
    for known in ERROR_MEANINGS:
        if known.pattern.search(described):
            return Explanation(f"{shown}: {known.meaning}", known.fix, evidence)
    return Explanation(shown, f"Run {SEND_TEST}", evidence)

def _provider_name(key: str) -> str:
    return next((provider.name for provider in PROVIDERS if provider.key == key), key)

@dataclass(frozen=True)
class NotSentCause:
    fragment: str
    rule: Rule
    """The config check that finds the setting behind the line."""
    setting: str
    fields: Mapping[str, str] = field(default_factory=dict)
    """Fills the config rule's hint template where the log line cannot say more."""

NOT_SENT_CAUSES: tuple[NotSentCause, ...] = (
    NotSentCause("EMAIL_BACKEND is", BACKEND_NOT_SENDING, "EMAIL_BACKEND"),
    NotSentCause("EMAIL_HOST is not set", HOST_MISSING, "EMAIL_HOST"),
    NotSentCause(
        "credentials incomplete",
        CREDENTIALS_INCOMPLETE,
        "EMAIL_HOST_USER",
        {"missing": "the missing one of EMAIL_HOST_USER and EMAIL_HOST_PASSWORD"},
    ),
)

def not_sent_cause(reason: str) -> NotSentCause | None:
    lowered = reason.lower()
    return next((c for c in NOT_SENT_CAUSES if c.fragment.lower() in lowered), None)

@dataclass
class LogResult:
    findings: list[Finding] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    overflow: Counter[Rule] = field(default_factory=Counter)
    limit: int = LIST_LIMIT

    @property
    def interviews(self) -> int:
        return self.counters["interviews"]

    def full(self, kept: int) -> bool:
        return bool(self.limit) and kept >= self.limit

def not_sent_finding(
    event: NotSent, email: str | None, subject: str | None, context: Mapping[str, Any]
) -> Finding:
    """logs.E003, with the config rule that explains the line when mailcheck knows it."""
    cause = not_sent_cause(event.reason)
    evidence: dict[str, Any] = {"line": event.line}
    if cause is None:
        return NOT_SENT.finding(
            subject or f"line {event.line}",
            to=f" to {email}" if email else "",
            reason=event.reason,
            cause="",
            fix="Run `mailcheck config` to check the email settings",
            evidence=evidence,
            context=context,
        )
    evidence["config_finding"] = cause.rule.id
    return NOT_SENT.finding(
        subject or f"line {event.line}",
        to=f" to {email}" if email else "",
        reason=event.reason,
        cause=f" ({cause.rule.id}: {cause.rule.title})",
        fix=f"{cause.rule.hint.format(**cause.fields)}; `mailcheck explain {cause.rule.id}`",
        evidence=evidence,
        context=context,
    )

_COUNTER = {
    "sent": "sent",
    "sent after a failure": "sent",
    "failed": "failed",
    "not sent": "not_sent",
    "no email": "no_email",
}

_RULES_BY_ID = {
    rule.id: rule
    for rule in (SEND_FAILED, NO_EMAIL, NOT_SENT, LOCAL_LINK, MORE_ERRORS, MORE_WARNINGS)
}

def finding_rule(finding: Finding) -> Rule:
    return _RULES_BY_ID[finding.id]

def judge(interview: Interview) -> tuple[dict[str, Any], list[Finding]]:
    """The summary row of one interview and its findings."""
    context = {"interview_id": interview.interview_id} if interview.interview_id else {}
    subject = (
        f"interview {interview.interview_id}"
        if interview.interview_id
        else interview.email or f"line {interview.first_line}"
    )
    findings: list[Finding] = []
    reason: str | None = None
    failed_last = interview.failed_line is not None and (
        interview.sent_line is None or interview.sent_line < interview.failed_line
    )
    if interview.not_sent is not None:
        outcome = "not sent"
        finding = not_sent_finding(interview.not_sent, interview.email, subject, context)
        reason = f"[EMAIL NOT SENT] {interview.not_sent.reason}"
        findings.append(finding)
    elif failed_last:
        outcome = "failed"
        explanation = (
            explain_error(interview.error)
            if interview.error
            else Explanation(
                "no exception next to the failure line",
                f"Run {SEND_TEST}",
                {"line": interview.failed_line},
            )
        )
        reason = explanation.reason
        findings.append(
            SEND_FAILED.finding(
                subject,
                email=interview.email or "the candidate",
                reason=explanation.reason,
                fix=explanation.fix,
                evidence=explanation.evidence,
                context=context,
            )
        )
    elif interview.sent_line is not None:
        outcome = "sent after a failure" if interview.failed_line else "sent"
    else:
        outcome = "no email"
        line = interview.created_line or interview.first_line
        findings.append(
            NO_EMAIL.finding(
                subject,
                interview_id=interview.interview_id,
                line=line,
                evidence={"line": line, "session_key": interview.session_key},
                context=context,
            )
        )
    host = _link_host(interview.link)
    if host is not None and _local_host(host):
        findings.append(
            LOCAL_LINK.finding(
                subject,
                to=f" to {interview.email}" if interview.email else "",
                host=host,
                evidence={"line": interview.sent_line, "link": interview.link},
                context=context,
            )
        )
    row = {
        "interview_id": interview.interview_id,
        "outcome": outcome,
        "email": interview.email,
        "reason": reason,
        "time": interview.stamp,
        "session_key": interview.session_key,
        "link": interview.link,
        "line": interview.first_line,
    }
    return row, findings

_HOST = re.compile(r"(?:[A-Za-z][\w+.-]*:)?//(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]+)|([^:/?#]+)")

_local_host = functools.lru_cache(maxsize=256)(is_local_host)
"""`is_local_host`, remembered (bounded): a log's links name a handful of hosts, and for a name
`ipaddress.ip_address` raising ValueError costs more than the rest of judging an interview."""


def _link_host(link: str | None) -> str | None:
    """The host name of a link, lower case, with or without a scheme (`127.0.0.1:8000/x`)."""
    match = _HOST.match(link) if link else None
    if match is None:
        return None
    return (match[1] or match[2]).lower()

def check_log(events: Iterable[Event], limit: int = LIST_LIMIT) -> LogResult:
    """Follow the app's events and judge every interview they mention; the first `limit`
    interviews (0: all) are kept for the report, the others counted."""
    result = LogResult(limit=limit)
    loose_kept = 0
    for settled in correlate(events):
        if isinstance(settled, Loose):
            finding = loose_finding(settled)
            if result.full(loose_kept):
                result.overflow[finding_rule(finding)] += 1
            else:
                loose_kept += 1
                result.findings.append(finding)
            continue
        row, findings = judge(settled)
        result.counters["interviews"] += 1
        result.counters[_COUNTER[row["outcome"]]] += 1
        if result.full(len(result.rows)):
            result.overflow.update(finding_rule(finding) for finding in findings)
            continue
        result.rows.append(row)
        result.findings.extend(findings)
    for rule, count in result.overflow.items():
        more = MORE_ERRORS if rule.level == ERROR else MORE_WARNINGS
        result.findings.append(
            more.finding(rule.id, count=count, rule_id=rule.id, title=rule.title, limit=limit)
        )
    return result


def loose_finding(loose: Loose) -> Finding:
    """A line of the log that belongs to no interview."""
    event = loose.event
    if isinstance(event, NotSent):
        return not_sent_finding(event, None, None, {})
    explanation = explain_error(event)
    return SEND_FAILED.finding(
        f"line {event.line}",
        email="an unknown recipient",
        reason=explanation.reason,
        fix=explanation.fix,
        evidence=explanation.evidence,
    )


def check_reading(tally: Tally, result: LogResult, since: str | None) -> list[Finding]:
    """What the reading itself showed: no app line at all, --since without timestamps,
    mangled emoji."""
    findings: list[Finding] = []
    if since is not None and tally.stamped == 0 and (result.interviews or result.findings):
        findings.append(NO_STAMPS.finding("--since", since=since))
    if not result.interviews and not result.findings:
        window = f" at or after {since}" if since is not None and tally.stamped else ""
        findings.append(NO_MARKERS.finding("log", lines=tally.lines, window=window))
    if tally.mangled is not None:
        mangled, emoji, codec, line = tally.mangled
        findings.append(
            MANGLED_EMOJI.finding(
                "emoji",
                emoji=emoji,
                mangled=mangled,
                codec=codec,
                line=line,
                evidence={"line": line},
            )
        )
    return findings


CHECKS = (
    check(
        "logs",
        "interviews",
        "file",
        rules=(SEND_FAILED, NO_EMAIL, NOT_SENT, LOCAL_LINK, MORE_ERRORS, MORE_WARNINGS),
        function=check_log,
    ),
    check(
        "logs",
        "reading",
        "file",
        rules=(NO_STAMPS, NO_MARKERS, MANGLED_EMOJI),
        function=check_reading,
    ),
)
