"""Where the test message arrived, and how: `mailcheck send-test --confirm`.

The mechanism (log in to the recipient's mailbox over IMAP, look for the message's token in
INBOX, the spam folder and All Mail) is commands/confirm.py. This module judges what it found:
the folder, the receiving server's `Authentication-Results` (SPF, DKIM, DMARC: a failure names
the DNS record to fix), the From as it arrived (a provider that rewrites it), and why the
mailbox could not be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from interview_mailcheck import authresults
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import email_address
from interview_mailcheck.providers import Provider
from interview_mailcheck.registry import check

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

ARRIVED = Rule(
    id="delivery.I001",
    level=INFO,
    title="The test message arrived in the inbox",
    message="the test message arrived in {folder} after {seconds:.1f} s",
    hint="",
    explanation=(
        "send-test --confirm found the message by its token (X-Mailcheck-Token) in the "
        "recipient's inbox over IMAP: an invitation sent the same way reaches candidates "
        "whose provider judges it as this one did."
    ),
)
IN_SPAM = Rule(
    id="delivery.E001",
    level=ERROR,
    title="The test message arrived in the spam folder",
    message="the test message arrived in the spam folder {folder} after {seconds:.1f} s{why}",
    hint="{fix}",
    explanation=(
        "The receiving server took the message and filed it as spam: candidates would not see "
        "their invitation. The message's Authentication-Results header usually says why "
        "(SPF, DKIM or DMARC failing for the From domain); the fixes are in DNS, at the "
        "sending domain."
    ),
)
NOT_ARRIVED = Rule(
    id="delivery.E002",
    level=ERROR,
    title="The test message did not arrive",
    message="the test message did not arrive in {folders} within {seconds:g} s",
    hint=(
        "Check the recipient (--to) is this mailbox (--imap-user), the provider's sending logs "
        "for the queue id above, and the spam folder by hand; allow a longer --confirm-timeout"
    ),
    explanation=(
        "The server accepted the message (250 after DATA) but it did not appear in the inbox, "
        "the spam folder or All Mail within --confirm-timeout. It may still be queued, it may "
        "have been dropped silently after acceptance (a policy, a quota), or --to is not the "
        "mailbox that was searched."
    ),
)
AUTH_FAILED = Rule(
    id="delivery.E003",
    level=ERROR,
    title="SPF, DKIM or DMARC failed for the test message",
    message="{method} {result} for {domain} (the receiving server's verdict)",
    hint="{fix}",
    explanation=(
        "The receiving server checked the message against the sending domain's DNS: SPF (is "
        "this server allowed to send for the domain?), DKIM (is the signature the domain's?) "
        "and DMARC (does one of them pass for the From domain?). A failure sends mail to spam "
        "or gets it refused; each is fixed by a DNS record of the sending domain."
    ),
)
AUTH_NONE = Rule(
    id="delivery.W001",
    level=WARNING,
    title="SPF, DKIM or DMARC gave no result for the test message",
    message="{method} {result} for {domain}: the receiving server could not judge it",
    hint="{fix}",
    explanation=(
        "'none' means the domain publishes nothing to check (no SPF record, no DKIM "
        "signature, no DMARC record); 'temperror' that the check failed for now. Big mailbox "
        "providers junk or refuse unauthenticated mail from bulk senders."
    ),
)
NO_AUTH_RESULTS = Rule(
    id="delivery.I002",
    level=INFO,
    title="The received message carries no Authentication-Results",
    message="the message as received has no Authentication-Results header: {server} says nothing",
    hint="",
    explanation=(
        "Big mailbox providers add an Authentication-Results header to every message they "
        "receive; a small or local server may not. Nothing then says whether SPF, DKIM and "
        "DMARC passed: `mailcheck dns` checks the records themselves."
    ),
)
AUTH_PASSED = Rule(
    id="delivery.I003",
    level=INFO,
    title="SPF, DKIM and DMARC results of the test message",
    message="the receiving server says: {verdicts}",
    hint="",
    explanation="The Authentication-Results header the receiving server added, method by method.",
)
FROM_REWRITTEN = Rule(
    id="delivery.W002",
    level=WARNING,
    title="The From address was rewritten on the way",
    message="the message arrived From {received}, not {sent}: the provider rewrote it",
    hint="{fix}",
    explanation=(
        "Gmail replaces a From that is not the account or a verified 'Send mail as' alias with "
        "the account's own address; other providers do the same. Candidates then see an "
        "address they do not expect, and replies go there."
    ),
)
IMAP_LOGIN_REFUSED = Rule(
    id="delivery.E004",
    level=ERROR,
    title="The mailbox refused the IMAP login",
    message="{host} refused the IMAP login of {user}: {reply}",
    hint="{fix}",
    explanation=(
        "To confirm the delivery, send-test --confirm logs in to the recipient's mailbox over "
        "IMAP with --imap-user and MAILCHECK_IMAP_PASSWORD (else EMAIL_HOST_PASSWORD). The "
        "provider refused that login: IMAP may be off for the account, or it takes another "
        "password."
    ),
)
IMAP_FAILED = Rule(
    id="delivery.E005",
    level=ERROR,
    title="The mailbox could not be read over IMAP",
    message="the mailbox at {host}:{port} could not be read: {detail}",
    hint="{fix}",
    explanation=(
        "The delivery could not be confirmed because the IMAP server could not be reached or "
        "read: a wrong --imap-host or --imap-port, implicit TLS (993) against STARTTLS (143, "
        "--imap-starttls), a certificate that does not verify, or a server that stopped "
        "answering. The SMTP part above is judged on its own."
    ),
)
NO_IMAP_HOST = Rule(
    id="delivery.E006",
    level=ERROR,
    title="No IMAP server is known for this mailbox",
    message="no IMAP server is known for {host}: the delivery cannot be confirmed",
    hint="Pass --imap-host (and --imap-port or --imap-starttls) for the recipient's mailbox",
    explanation=(
        "mailcheck knows the IMAP servers of the big mailbox providers (imap.gmail.com, "
        "outlook.office365.com, ...). A relay such as SendGrid or SES has no mailbox: confirm "
        "the delivery in the recipient's mailbox, wherever it is."
    ),
)
NOT_A_RECIPIENT = Rule(
    id="delivery.E007",
    level=ERROR,
    title="The mailbox --confirm reads is not a recipient",
    message="--confirm would read the mailbox of {user}, but the message goes to {recipients}",
    hint="Send to the mailbox read (--to {user}), or read the recipient's (--imap-user)",
    explanation=(
        "send-test --confirm looks for the test message in the mailbox of --imap-user (default "
        "EMAIL_HOST_USER). When that address is not among the recipients (--to) the message "
        "cannot be there, so nothing is sent."
    ),
)
DELETED = Rule(
    id="delivery.I004",
    level=INFO,
    title="The test message was removed from the mailbox, or kept (--keep)",
    message="{what}",
    hint="",
    explanation=(
        "send-test --confirm deletes its test message once it has read it (flagged \\Deleted "
        "and expunged by UID where the server allows, never other messages); --keep leaves it."
    ),
)


class Arrival(NamedTuple):
    """What the mailbox showed: where the message was (None: nowhere), and its header."""

    folder: str | None
    spam: bool
    seconds: float
    header: bytes = b""
    searched: tuple[str, ...] = ()


_RECORD_FIXES: Mapping[str, str] = {
    "spf": (
        "Publish one SPF record at {domain} that includes the sending provider "
        "(`mailcheck dns` names the include it needs)"
    ),
    "dkim": (
        "Turn on DKIM signing at the provider and publish the key it gives at "
        "<selector>._domainkey.{domain}"
    ),
    "dmarc": (
        "Make SPF or DKIM pass for the From domain {domain} (aligned), then keep the DMARC "
        "record at _dmarc.{domain}"
    ),
}
FAILING = frozenset({"fail", "softfail", "permerror", "policy", "neutral"})
UNJUDGED = frozenset({"none", "temperror"})


def judge_arrival(
    arrival: Arrival, sent_from: str, provider: Provider | None, timeout: float
) -> list[Finding]:
    """The findings of one confirmation: where it arrived, the verdicts, the From."""
    if arrival.folder is None:
        folders = ", ".join(arrival.searched) or "the mailbox"
        return [NOT_ARRIVED.finding("--confirm", folders=folders, seconds=timeout)]
    results = authresults.from_header(arrival.header)
    verdicts = verdict_findings(results, sent_from, authserver(arrival.header))
    failed = [f for f in verdicts if f.level == ERROR]
    if arrival.spam:
        summary = results.summary() if results else {}
        said = ", ".join(f"{m.upper()} {r}" for m, r in summary.items() if r in FAILING)
        why = f", the receiver's verdicts: {said}" if said else ""
        fix = failed[0].hint if failed else "Check the sending domain's SPF, DKIM and DMARC"
        first = IN_SPAM.finding(
            "--confirm", folder=arrival.folder, seconds=arrival.seconds, why=why, fix=fix
        )
    else:
        first = ARRIVED.finding("--confirm", folder=arrival.folder, seconds=arrival.seconds)
    return [first, *verdicts, *from_findings(arrival.header, sent_from, provider)]


def authserver(header: bytes) -> str:
    results = authresults.from_header(header)
    return results.authserv_id if results and results.authserv_id else "the receiving server"


def verdict_findings(
    results: authresults.AuthResults | None, sent_from: str, server: str
) -> list[Finding]:
    if results is None:
        return [NO_AUTH_RESULTS.finding("Authentication-Results", server=server)]
    domain = (email_address(sent_from) or "").rpartition("@")[2] or "the sending domain"
    findings: list[Finding] = []
    for method, result in results.summary().items():
        if result is None:
            continue
        fix = _RECORD_FIXES[method].format(domain=domain)
        if result in FAILING:
            findings.append(
                AUTH_FAILED.finding(
                    method, method=method.upper(), result=result, domain=domain, fix=fix
                )
            )
        elif result in UNJUDGED:
            findings.append(
                AUTH_NONE.finding(
                    method, method=method.upper(), result=result, domain=domain, fix=fix
                )
            )
    shown = ", ".join(f"{m}={r}" for m, r in results.summary().items() if r) or "nothing"
    return [AUTH_PASSED.finding("Authentication-Results", verdicts=shown), *findings]


def from_findings(header: bytes, sent_from: str, provider: Provider | None) -> list[Finding]:
    received = next(iter(authresults.header_values(header, "From")), "")
    sent, got = email_address(sent_from), email_address(received)
    if not sent or not got or sent.lower() == got.lower():
        return []
    fix = (
        provider.send_as_fix
        if provider and provider.send_as_fix
        else "Make DEFAULT_FROM_EMAIL an address the account may send as, or send as the account"
    )
    return [FROM_REWRITTEN.finding("DEFAULT_FROM_EMAIL", received=got, sent=sent, fix=fix)]


CHECKS = (
    check(
        "delivery",
        "arrival",
        "network",
        "imap",
        rules=(ARRIVED, IN_SPAM, NOT_ARRIVED, FROM_REWRITTEN, DELETED),
        function=judge_arrival,
        expensive=True,
    ),
    check(
        "delivery",
        "authentication",
        "imap",
        rules=(AUTH_FAILED, AUTH_NONE, NO_AUTH_RESULTS, AUTH_PASSED),
        function=verdict_findings,
        expensive=True,
    ),
    check(
        "delivery",
        "mailbox",
        "network",
        "imap",
        rules=(IMAP_LOGIN_REFUSED, IMAP_FAILED, NO_IMAP_HOST, NOT_A_RECIPIENT),
        expensive=True,
    ),
)
