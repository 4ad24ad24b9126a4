"""Whether the candidate's address can receive the invitation: `session` and `sessions`.

Each distinct domain among the candidates' addresses (the candidate's and the session's) is
judged once, however many interviews use it:

- offline, a misspelling of a big provider's domain (maildomains.py): asha.rao@gmial.com is
  session.E012, "did you mean asha.rao@gmail.com?", and is not looked up;
- through a `Lookup` (checks ask, the command layer owns the DNS client): the domain does not
  exist (session.E009), publishes a null MX (session.E010), or has neither MX nor A/AAAA, so
  RFC 5321's implicit MX fails too (session.E011).

A domain whose records could not be read (no answer in time, SERVFAIL, no nameserver) gets no
verdict: the run gets one session.I002 per reason, naming the domains, and never an error.
Every verdict becomes a finding per address that has it, on the interview it belongs to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from interview_mailcheck.errors import InputError
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.maildomains import likely_typo
from interview_mailcheck.registry import check

if TYPE_CHECKING:
    # dnsdata is imported when a domain needs it (a lookup, a name that is not plain ASCII):
    # `sessions --no-dns` over ASCII domains, doctor and the demo never pay for it.
    from interview_mailcheck.dnsdata import DnsUnavailable, Lookup

ERROR, INFO = Level.ERROR, Level.INFO

Side = Literal["candidate", "session"]

DOMAIN_MISSING = Rule(
    id="session.E009",
    level=ERROR,
    title="The candidate's email domain does not exist",
    message="the {side} address {address} cannot receive mail: {domain} {problem}",
    hint="Ask the candidate for the right address, correct it, then send the invitation again",
    explanation=(
        "The nameserver answered NXDOMAIN for the domain of the address (or the domain is not "
        "a name DNS can hold): no such domain exists, so no server accepts mail for it and the "
        "invitation bounces, or is dropped without a trace when the app sends from a no-reply "
        "address. It is usually a typo the candidate made in a form (a missing or extra "
        "letter, a wrong company domain), or a domain whose registration has lapsed."
    ),
)
DOMAIN_NULL_MX = Rule(
    id="session.E010",
    level=ERROR,
    title="The candidate's email domain accepts no mail (null MX)",
    message=(
        "the {side} address {address} cannot receive mail: {domain} publishes a null MX "
        "('0 .'), declaring that it accepts no mail"
    ),
    hint="Ask the candidate for an address at a domain that receives mail, then send again",
    explanation=(
        "A null MX (RFC 7505: a single MX record '0 .') is a domain's statement that it "
        "receives no mail. Sending servers give up at once and bounce the message. Parked "
        "domains and the documentation domains (example.com, example.org) publish one."
    ),
)
DOMAIN_NO_MAIL_SERVER = Rule(
    id="session.E011",
    level=ERROR,
    title="The candidate's email domain has no mail server (no MX, no A or AAAA)",
    message=(
        "the {side} address {address} cannot receive mail: {domain} has no MX record and no "
        "A or AAAA record to fall back on"
    ),
    hint="Ask the candidate for the right address, correct it, then send the invitation again",
    explanation=(
        "A sending server looks up the domain's MX records to find where to deliver. Without "
        "any, RFC 5321 section 5.1 lets it fall back to the domain's own address (A or AAAA "
        "record), the implicit MX. This domain exists but has neither, so there is nowhere "
        "to deliver the invitation: it bounces after the sender gives up."
    ),
)
MISTYPED = Rule(
    id="session.E012",
    level=ERROR,
    title="The candidate's address looks mistyped (a misspelt provider domain)",
    message="the {side} address {address} looks mistyped: did you mean {suggestion}?",
    hint="Confirm with the candidate, correct the address to {suggestion}, then send again",
    explanation=(
        "The domain is a well-known misspelling of a big mail provider's (gmial.com, "
        "hotmial.com, yahooo.com, gmail.con...) or one edit away from one (a letter added, "
        "dropped, replaced or two swapped). Such domains either do not exist, and the "
        "invitation bounces, or belong to someone collecting mistyped mail, and the "
        "candidate never sees it. This check needs no network, so it runs with --no-dns too. "
        "Real domains near a provider's (ymail.com, email.com, gmx.de, mail.ru...) are never "
        "flagged, nor are edits of the first letter or of short provider names (aol, gmx, "
        "live, mail, zoho), whose neighbours are often real."
    ),
)
DOMAINS_UNCHECKED = Rule(
    id="session.I002",
    level=INFO,
    title="The candidates' email domains could not be checked in DNS",
    message="{count} could not be checked in DNS ({domains}; {interviews}): {reason}",
    hint=(
        "Check the network or pass --nameserver IP, allow a longer --timeout, or skip the "
        "lookups with --no-dns"
    ),
    explanation=(
        "mailcheck got no usable answer about these domains: the nameserver did not answer "
        "within the --timeout (one deadline for all the lookups of the run), answered with an "
        "error such as SERVFAIL, or none is configured. Nothing is known about them, so no "
        "verdict is given and the run does not fail because of it; the offline checks, a "
        "misspelt provider domain among them, still ran. --no-dns skips the lookups."
    ),
)

_HINTS: Mapping[str, str] = {
    "server_failed": (
        "The nameserver could not resolve these domains: their own nameservers may be down "
        "(check with `dig MX <domain>`), or try another --nameserver"
    ),
    "unreachable": "Check the --nameserver address and port, and the network",
    "no_configuration": "Pass --nameserver IP (e.g. --nameserver 1.1.1.1), or --no-dns",
}
SHOWN_DOMAINS = 10
"""At most this many domains are named in a session.I002 message (all are counted)."""


# --- One domain -----------------------------------------------------------------------------


class DomainVerdict:
    """What is known about one domain, shared by every address at it: one object per domain,
    compared by identity. A plain class, not a dataclass: creating one at import costs start-up
    time, which `sessions` counts (bench/sessions.py)."""

    __slots__ = ("answer", "domain", "evidence", "failure", "fields", "interviews", "rule")

    def __init__(
        self,
        domain: str,
        answer: str,
        rule: Rule | None = None,
        fields: dict[str, str] | None = None,
        evidence: dict[str, Any] | None = None,
        failure: DnsUnavailable | None = None,
    ) -> None:
        self.domain = domain
        """The domain as DNS knows it (IDNA, lower case); as written when it is not a name."""
        self.answer = answer
        """What was found, in a few words: the section row of the domain."""
        self.rule = rule
        """The error every address at the domain gets; None when there is none to report."""
        self.fields = fields or {}
        """The rule's message fields that belong to the domain (problem, meant)."""
        self.evidence = evidence or {}
        self.failure = failure
        """Why the records could not be read: no verdict, reported by session.I002."""
        self.interviews = 0
        """How many interviews have an address at the domain."""


MAX_LABEL, MAX_NAME = 63, 253
"""RFC 1035's limits, as dnsdata.domain_name applies them."""


def dns_form(written: str) -> str:
    """The domain of an address as DNS knows it (dnsdata.domain_name: lower case, IDNA);
    InputError when it is no domain name. Plain ASCII, the common case, needs no IDNA codec."""
    if written.isascii() and "@" not in written and written == written.strip():
        name = written.lower()
        if len(name) <= MAX_NAME and all(0 < len(label) <= MAX_LABEL for label in name.split(".")):
            return name
    from interview_mailcheck.dnsdata import domain_name

    return domain_name(written, "the domain")


def judge_mail_domain(domain: str, lookup: Lookup) -> DomainVerdict:
    """Whether mail for `domain` (its DNS form) has somewhere to go: MX, else A or AAAA (the
    implicit MX). Raises DnsUnavailable when a needed answer did not come."""
    mx = lookup(domain, "MX")
    evidence: dict[str, Any] = {mx.query: mx.shown()}
    if mx.status == "nxdomain":
        fields = {"problem": "does not exist (NXDOMAIN)"}
        return DomainVerdict(domain, "does not exist (NXDOMAIN)", DOMAIN_MISSING, fields, evidence)
    if mx.records:
        if any(record.split()[-1:] == ["."] for record in mx.records):
            return DomainVerdict(domain, "null MX ('0 .')", DOMAIN_NULL_MX, {}, evidence)
        return DomainVerdict(domain, f"MX {', '.join(mx.records)}")
    for rdtype in ("A", "AAAA"):
        answer = lookup(domain, rdtype)
        evidence[answer.query] = answer.shown()
        if answer.records:
            return DomainVerdict(
                domain, f"no MX; {rdtype} {', '.join(answer.records)} (implicit MX)"
            )
    return DomainVerdict(domain, "no MX, no A or AAAA", DOMAIN_NO_MAIL_SERVER, {}, evidence)


# --- Every domain of a run ----------------------------------------------------------------


class CandidateDomains:
    """The candidates' domains of one run, each judged once; the findings of each address.

    `lookup` is None when no domain is looked up (`not_looked_up` says why, e.g. '--no-dns'):
    the offline checks still run.
    """

    def __init__(self, lookup: Lookup | None, not_looked_up: str = "") -> None:
        self.lookup = lookup
        self.not_looked_up = not_looked_up
        self.judged: dict[str, DomainVerdict] = {}
        """By the domain as written in an address: read directly on the hot path."""
        self._named: dict[str, DomainVerdict] = {}
        """By the domain's DNS form, in the order first seen: one verdict per domain."""
        self.unanswered_interviews: Counter[str] = Counter()
        """Why some domains got no answer -> how many interviews have an address at one."""

    def verdict(self, written: str) -> DomainVerdict:
        """The verdict on the domain of an address, as written there (judged on first use)."""
        found = self.judged.get(written)
        if found is None:
            found = self.judged[written] = self._judge(written)
        return found

    def _judge(self, written: str) -> DomainVerdict:
        text = written.strip()
        try:
            name = dns_form(text)
        except InputError as error:
            name = text.lower()
            if name not in self._named:
                why = str(error).rpartition("is not a valid domain name: ")[2]
                self._named[name] = DomainVerdict(
                    name,
                    f"not a valid domain name ({why})",
                    DOMAIN_MISSING,
                    {"problem": "is not a valid domain name, so it cannot exist"},
                    {name: why},
                )
            return self._named[name]
        if name in self._named:
            return self._named[name]
        typo = likely_typo(text)
        if typo is not None:
            verdict = DomainVerdict(
                name,
                f"looks mistyped ({typo.why}): not looked up",
                MISTYPED,
                {"meant": typo.meant},
                {name: typo.why},
            )
        elif self.lookup is None:
            verdict = DomainVerdict(name, f"not looked up ({self.not_looked_up})")
        else:
            from interview_mailcheck.dnsdata import DnsUnavailable

            try:
                verdict = judge_mail_domain(name, self.lookup)
            except DnsUnavailable as failure:
                verdict = DomainVerdict(name, f"not answered: {failure.reason}", failure=failure)
        self._named[name] = verdict
        return verdict

    def check_interview(
        self, addresses: Iterable[tuple[str, str, Side]], context: Mapping[str, Any] | None
    ) -> list[Finding]:
        """The findings of one interview's valid addresses, each (address, subject, side);
        each distinct domain (and reason a domain went unanswered) counts the interview once."""
        findings: list[Finding] = []
        counted: list[DomainVerdict] = []
        unanswered: set[str] = set()
        for address, subject, side in addresses:
            local, _, written = address.rpartition("@")
            verdict = self.judged.get(written) or self.verdict(written)
            if verdict not in counted:
                counted.append(verdict)
                verdict.interviews += 1
            if verdict.failure is not None:
                unanswered.add(verdict.failure.reason)
            if verdict.rule is None:
                continue
            meant = verdict.fields.get("meant")
            findings.append(
                verdict.rule.finding(
                    subject,
                    side=f"{side}'s",
                    address=address,
                    domain=verdict.domain,
                    suggestion=f"{local}@{meant}" if meant else "",
                    evidence=verdict.evidence,
                    context=context,
                    **{key: value for key, value in verdict.fields.items() if key != "meant"},
                )
            )
        if unanswered:
            self.unanswered_interviews.update(unanswered)
        return findings

    def passed(self, verdict: DomainVerdict) -> None:
        """Count an interview whose one address is at `verdict`'s domain, which has no finding
        (`InterviewChecks.audit` passes a healthy interview over with this alone)."""
        verdict.interviews += 1
        if verdict.failure is not None:
            self.unanswered_interviews[verdict.failure.reason] += 1

    def unchecked(self, context: Mapping[str, Any] | None = None) -> list[Finding]:
        """One session.I002 per reason the records of some domains could not be read."""
        by_reason: dict[str, list[DomainVerdict]] = {}
        for verdict in self._named.values():
            if verdict.failure is not None:
                by_reason.setdefault(verdict.failure.reason, []).append(verdict)
        findings = []
        for reason, verdicts in by_reason.items():
            names = [verdict.domain for verdict in verdicts]
            shown = ", ".join(names[:SHOWN_DOMAINS])
            if len(names) > SHOWN_DOMAINS:
                shown += f" and {len(names) - SHOWN_DOMAINS} more"
            interviews = self.unanswered_interviews[reason]
            kind = verdicts[0].failure.kind if verdicts[0].failure else ""
            findings.append(
                DOMAINS_UNCHECKED.finding(
                    "DNS",
                    count=_plural(len(names), "candidate domain"),
                    domains=shown,
                    interviews=f"used by {_plural(interviews, 'interview')}",
                    reason=reason,
                    hint=_HINTS.get(kind, DOMAINS_UNCHECKED.hint),
                    evidence={
                        "not checked": names[:SHOWN_DOMAINS],
                        "unanswered": [
                            verdict.failure.query
                            for verdict in verdicts[:SHOWN_DOMAINS]
                            if verdict.failure
                        ],
                    },
                    context=context,
                )
            )
        return findings

    def rows(self) -> list[dict[str, Any]]:
        """One row per domain, in the order first seen: the domain, its interviews, the answer."""
        return [
            {"domain": verdict.domain, "interviews": verdict.interviews, "answer": verdict.answer}
            for verdict in self._named.values()
        ]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def check_typo(address: str) -> list[Finding]:
    """The offline check of one address, alone (`mailcheck checks` lists it)."""
    return CandidateDomains(None, "offline").check_interview(
        [(address, "address", "candidate")], None
    )


CHECKS = (
    check("session", "address", "address", rules=(MISTYPED,), function=check_typo),
    check(
        "session",
        "address_domain",
        "address",
        "network",
        rules=(DOMAIN_MISSING, DOMAIN_NULL_MX, DOMAIN_NO_MAIL_SERVER, DOMAINS_UNCHECKED),
        function=judge_mail_domain,
        expensive=True,
    ),
)
