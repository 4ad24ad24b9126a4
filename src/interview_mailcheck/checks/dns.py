"""Deliverability records in DNS: `mailcheck dns` (and later `mailcheck doctor`).

For the sending domain (DEFAULT_FROM_EMAIL's, or --domain): it exists, it has MX records
and no null MX, one SPF record within the 10-lookup limit that authorises the provider, and a
well-formed DMARC record. For EMAIL_HOST: it has an address.

`check_dns(target, lookup)` is the whole check: `lookup(name, rdtype)` is
`adapters.dns.DnsClient.lookup` (or anything answering the same way). A lookup that gets no
answer raises `DnsUnavailable`; the part it was checking becomes one `dns.E008` finding,
never a verdict about records that were not read.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from interview_mailcheck.checks.dns_rules import (
    DMARC_MALFORMED,
    DMARC_MISSING,
    DMARC_POLICY_NONE,
    DOMAIN_NXDOMAIN,
    HOST_NO_ADDRESS,
    NO_MX,
    NULL_MX,
    PROVIDER_DOMAIN,
    SPF_MISSING,
    SPF_MULTIPLE,
    SPF_PROVIDER_MISSING,
    SPF_TOO_MANY_LOOKUPS,
    UNCHECKED,
)
from interview_mailcheck.dnsdata import Answer, DnsUnavailable, Lookup, domain_name
from interview_mailcheck.errors import InputError
from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.mailconfig import MailConfig, email_address
from interview_mailcheck.providers import PROVIDERS, Provider
from interview_mailcheck.registry import check
from interview_mailcheck.report import Recorder

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

SPF_LOOKUP_LIMIT = 10
"""RFC 7208 4.6.4: at most 10 mechanisms and modifiers that query DNS."""
SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists"})
"""The mechanisms that count towards the limit; the `redirect` modifier counts too."""
SPF_FOLLOW_CAP = 50
"""Stop following includes after this many lookups (an include loop never ends)."""
DMARC_POLICIES = frozenset({"none", "quarantine", "reject"})

# --- Rules -----------------------------------------------------------------------------------


# --- What is checked ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DnsTarget:
    """The names `mailcheck dns` looks up, and why one is left out."""

    domain: str | None
    """The sending domain, IDNA-encoded, lower case; None when there is none to check."""
    domain_source: str
    """Where the domain came from ('--domain', 'DEFAULT_FROM_EMAIL'), or why there is none."""
    host: str | None
    """EMAIL_HOST when it is a name to look up in DNS."""
    host_note: str = ""
    """Why EMAIL_HOST is not looked up (unset, an IP address, a single-label name)."""
    host_invalid: bool = False
    """EMAIL_HOST is set but is not a valid host name (reported as dns.E004)."""
    provider: Provider | None = None
    """The provider, chosen by EMAIL_HOST."""
    raw_host: str = ""

    @property
    def empty(self) -> bool:
        return self.domain is None and self.host is None and not self.host_invalid


def target_for(config: MailConfig, domain_option: str | None = None) -> DnsTarget:
    """What to check for these settings; raises InputError for a --domain that is not a name."""
    domain: str | None = None
    if domain_option is not None:
        domain, source = domain_name(domain_option, "--domain"), "--domain"
    elif "DEFAULT_FROM_EMAIL" in config.placeholders:
        source = "DEFAULT_FROM_EMAIL is a placeholder"
    elif not config.from_email:
        source = "DEFAULT_FROM_EMAIL is not set"
    elif (address := email_address(config.from_email)) is None:
        source = "DEFAULT_FROM_EMAIL is not a valid address"
    else:
        domain = domain_name(address.rsplit("@", 1)[1], "the domain of DEFAULT_FROM_EMAIL")
        source = "DEFAULT_FROM_EMAIL"
    host, note, invalid = _host(config)
    return DnsTarget(domain, source, host, note, invalid, config.provider, config.host)


def _host(config: MailConfig) -> tuple[str | None, str, bool]:
    raw = config.host.strip()
    if not raw:
        return None, "EMAIL_HOST is not set", False
    if "EMAIL_HOST" in config.placeholders:
        return None, "EMAIL_HOST is a placeholder", False
    try:
        ipaddress.ip_address(raw.strip("[]"))
    except ValueError:
        pass
    else:
        return None, "EMAIL_HOST is an IP address: nothing to look up", False
    if any(char.isspace() or not char.isprintable() for char in raw):
        return None, "", True  # a space, a newline or a control character: no host name
    try:
        host = domain_name(raw, "EMAIL_HOST")
    except InputError:
        return None, "", True
    if "." not in host:
        return None, f"EMAIL_HOST {host} is a local name (hosts file, container network)", False
    return host, "", False


# --- The checks ------------------------------------------------------------------------------


def check_dns(target: DnsTarget, lookup: Lookup, recorder: Recorder | None = None) -> list[Finding]:
    """Every DNS check for `target`, each part recorded (`MX of example.com`, ...); parts whose
    records could not be read are recorded as skipped, and one dns.E008 per reason says so."""
    parts = _Parts(recorder if recorder is not None else Recorder())
    domain = target.domain
    if domain is not None:
        owner = _own_domain_provider(domain)
        if owner is not None:
            parts.recorder.add(
                f"provider of {domain}",
                [PROVIDER_DOMAIN.finding(domain, domain=domain, provider=owner.name)],
            )
        else:
            _check_domain(domain, target, lookup, parts)
    if target.host is not None or target.host_invalid:
        part = f"address of {target.host or target.raw_host}"
        parts.run(part, lambda: check_host_address(target, lookup))
    unchecked = parts.unchecked()
    if unchecked:
        parts.recorder.add("unanswered", unchecked)
    return parts.recorder.findings


def _check_domain(domain: str, target: DnsTarget, lookup: Lookup, parts: _Parts) -> None:
    found = parts.run(f"MX of {domain}", lambda: check_mx(domain, target.domain_source, lookup))
    if any(finding.id == DOMAIN_NXDOMAIN.id for finding in found):
        return  # nothing else to ask about a domain that does not exist
    host = target.host or target.raw_host
    parts.run(f"SPF of {domain}", lambda: check_spf(domain, target.provider, host, lookup))
    parts.run(f"DMARC of {domain}", lambda: check_dmarc(domain, lookup))


@dataclass
class _Parts:
    """Runs each part of the check; one whose records could not be read is set aside."""

    recorder: Recorder
    failures: dict[str, list[tuple[str, DnsUnavailable]]] = field(default_factory=dict)
    """reason -> (part, failure): one dns.E008 per reason, naming every part it stopped."""

    def run(self, part: str, check: Callable[[], list[Finding]]) -> list[Finding]:
        """The part's findings, each marked with the part."""
        started = time.perf_counter()
        try:
            found = [f._replace(context={**f.context, "part": part}) for f in check()]
        except DnsUnavailable as failure:
            self.failures.setdefault(failure.reason, []).append((part, failure))
            self.recorder.skip(part, f"not answered: {failure.reason}")
            return []
        self.recorder.add(part, found, (time.perf_counter() - started) * 1000)
        return found

    def unchecked(self) -> list[Finding]:
        findings = []
        for reason, failures in self.failures.items():
            names = [part for part, _ in failures]
            findings.append(
                UNCHECKED.finding(
                    "DNS",
                    evidence={
                        "not checked": names,
                        "unanswered": [failure.query for _, failure in failures],
                    },
                    hint=_UNCHECKED_HINTS.get(failures[0][1].kind, UNCHECKED.hint),
                    parts=", ".join(names),
                    reason=reason,
                )
            )
        return findings


_UNCHECKED_HINTS: Mapping[str, str] = {
    "server_failed": (
        "The nameserver could not resolve these names: the domain's own nameservers may be "
        "down or misconfigured (check with `dig`), or try another --nameserver"
    ),
    "unreachable": "Check the --nameserver address and port, and the network",
    "no_configuration": "Pass --nameserver IP (e.g. --nameserver 1.1.1.1)",
}


def _own_domain_provider(domain: str) -> Provider | None:
    for provider in PROVIDERS:
        if domain in provider.own_domains:
            return provider
    return None


def check_mx(domain: str, source: str, lookup: Lookup) -> list[Finding]:
    answer = lookup(domain, "MX")
    evidence = {answer.query: answer.shown()}
    if answer.status == "nxdomain":
        return [DOMAIN_NXDOMAIN.finding(domain, evidence=evidence, domain=domain, source=source)]
    if not answer.records:
        return [NO_MX.finding(domain, evidence=evidence, domain=domain)]
    if any(record.split()[-1:] == ["."] for record in answer.records):
        return [NULL_MX.finding(domain, evidence=evidence, domain=domain)]
    return []


def check_host_address(target: DnsTarget, lookup: Lookup) -> list[Finding]:
    if target.host is None:
        problem = "is not a valid host name"
        return [
            HOST_NO_ADDRESS.finding(
                "EMAIL_HOST", evidence={}, host=repr(target.raw_host), problem=problem
            )
        ]
    host = target.host
    answers = [lookup(host, "A")]
    if answers[0].status != "nxdomain":
        answers.append(lookup(host, "AAAA"))
    if any(answer.records for answer in answers):
        return []
    problem = (
        "does not exist (NXDOMAIN)"
        if answers[0].status == "nxdomain"
        else "has no A or AAAA record"
    )
    evidence = {answer.query: answer.shown() for answer in answers}
    return [HOST_NO_ADDRESS.finding("EMAIL_HOST", evidence=evidence, host=host, problem=problem)]


# --- SPF --------------------------------------------------------------------------------------


def spf_records(answer: Answer) -> list[str]:
    """The TXT records that are SPF records (RFC 7208 4.5: 'v=spf1' then a space or the end)."""
    return [
        record
        for record in answer.records
        if record.lower() == "v=spf1" or record.lower().startswith("v=spf1 ")
    ]


@dataclass
class SpfWalk:
    """What following an SPF record's includes and redirects found."""

    lookups: int = 0
    targets: list[str] = field(default_factory=list)
    """Every include: and redirect= domain reached, in order."""
    records: dict[str, Any] = field(default_factory=dict)
    """The records read, as evidence: '<name> TXT' -> records."""
    complete: bool = True
    """False when the walk stopped at SPF_FOLLOW_CAP."""


def spf_term(term: str) -> tuple[str, str]:
    """A term's name and domain: ('include', 'x.test') for '+include:x.test', ('a', '') for 'a/24'.

    Modifiers come out the same way: ('redirect', 'x.test') for 'redirect=x.test'.
    """
    body = term[1:] if term[:1] in "+-~?" else term
    match = re.match(r"([A-Za-z][A-Za-z0-9_.-]*)(?:([:=/])(.*))?$", body)
    if not match:
        return "", body
    name, separator, value = match.group(1).lower(), match.group(2), match.group(3) or ""
    return name, value if separator in (":", "=") else ""


def walk_spf(record: str, lookup: Lookup) -> SpfWalk:
    """Count the DNS-querying terms of `record` and of every record it includes or redirects to."""
    walk = SpfWalk()
    _walk(record, lookup, walk)
    return walk


def _walk(record: str, lookup: Lookup, walk: SpfWalk) -> None:
    terms = [spf_term(term) for term in record.split()[1:]]
    has_all = any(name == "all" for name, _ in terms)
    for name, value in terms:
        if name in SPF_LOOKUP_TERMS:
            walk.lookups += 1
            if name == "include" and value:
                _follow(value, lookup, walk)
    redirect = next((value for name, value in terms if name == "redirect"), None)
    # RFC 7208 6.1: a redirect is ignored when the record has an 'all' mechanism.
    if redirect is not None and not has_all:
        walk.lookups += 1
        _follow(redirect, lookup, walk)


def _follow(target: str, lookup: Lookup, walk: SpfWalk) -> None:
    target = target.lower().rstrip(".")
    walk.targets.append(target)
    if walk.lookups > SPF_FOLLOW_CAP:
        walk.complete = False
        return
    if "%" in target:  # a macro: expanded per message, nothing to follow statically
        return
    answer = lookup(target, "TXT")
    records = spf_records(answer)
    walk.records[answer.query] = answer.shown() if len(records) != 1 else records
    if len(records) == 1:
        _walk(records[0], lookup, walk)


def authorises(walk: SpfWalk, provider: Provider) -> bool:
    """Whether an include or redirect reached is one of the provider's (or below it)."""
    return any(
        target == include or target.endswith("." + include)
        for target in walk.targets
        for include in provider.spf_includes
    )


def check_spf(domain: str, provider: Provider | None, host: str, lookup: Lookup) -> list[Finding]:
    answer = lookup(domain, "TXT")
    records = spf_records(answer)
    evidence: dict[str, Any] = {answer.query: answer.shown()}
    if not records:
        suggestion = (
            f"'v=spf1 include:{provider.spf_includes[0]} ~all'"
            if provider and provider.spf_includes
            else "'v=spf1' with your provider's include: and '~all'"
        )
        return [
            SPF_MISSING.finding(domain, evidence=evidence, domain=domain, suggestion=suggestion)
        ]
    if len(records) > 1:
        evidence = {answer.query: records}
        return [SPF_MULTIPLE.finding(domain, evidence=evidence, domain=domain, count=len(records))]
    walk = walk_spf(records[0], lookup)
    evidence = {answer.query: records, **walk.records}
    findings: list[Finding] = []
    if walk.lookups > SPF_LOOKUP_LIMIT:
        count = str(walk.lookups) if walk.complete else f"more than {SPF_FOLLOW_CAP}"
        findings.append(
            SPF_TOO_MANY_LOOKUPS.finding(
                domain, evidence={**evidence, "lookups": walk.lookups}, domain=domain, count=count
            )
        )
    if provider and provider.spf_includes and walk.complete and not authorises(walk, provider):
        includes = provider.spf_includes
        expected = " or ".join(f"include:{include}" for include in includes)
        findings.append(
            SPF_PROVIDER_MISSING.finding(
                domain,
                evidence={answer.query: records, "includes reached": walk.targets or "none"},
                domain=domain,
                expected=expected,
                include=includes[0],
                provider=provider.name,
                host=host,
            )
        )
    return findings


# --- DMARC ------------------------------------------------------------------------------------

_DMARC_VERSION = re.compile(r"^v[ \t]*=[ \t]*DMARC1[ \t]*(;|$)")
_DMARC_TAG = re.compile(r"^([A-Za-z][A-Za-z0-9]*)[ \t]*=[ \t]*(.*)$", re.DOTALL)
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def dmarc_problems(record: str) -> tuple[dict[str, str], list[str]]:
    """The tags of a DMARC record and what is wrong with it (empty when well formed)."""
    parts = [part.strip() for part in record.split(";")]
    if parts and parts[-1] == "":
        parts.pop()
    tags: dict[str, str] = {}
    problems: list[str] = []
    for part in parts:
        match = _DMARC_TAG.match(part)
        if not match:
            problems.append(f"{part!r} is not a tag=value pair")
            continue
        tags.setdefault(match.group(1).lower(), match.group(2).strip())
    policy = tags.get("p")
    if policy is None:
        problems.append("no p= policy tag")
    elif policy.lower() not in DMARC_POLICIES:
        problems.append(f"p={policy} is not none, quarantine or reject")
    if "sp" in tags and tags["sp"].lower() not in DMARC_POLICIES:
        problems.append(f"sp={tags['sp']} is not none, quarantine or reject")
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            problems.append(f"{tag}={tags[tag]} is not r or s")
    if "pct" in tags and not (tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100):
        problems.append(f"pct={tags['pct']} is not a number from 0 to 100")
    for tag in ("rua", "ruf"):
        for uri in filter(None, (uri.strip() for uri in tags.get(tag, "").split(","))):
            if not _URI_SCHEME.match(uri):
                problems.append(f"{tag}={uri} lacks the mailto: prefix")
    return tags, problems


def check_dmarc(domain: str, lookup: Lookup) -> list[Finding]:
    answer = lookup(f"_dmarc.{domain}", "TXT")
    evidence = {answer.query: answer.shown()}
    if not answer.records:
        return [DMARC_MISSING.finding(domain, evidence=evidence, domain=domain)]
    records = [record for record in answer.records if _DMARC_VERSION.match(record.strip())]
    if len(records) != 1:
        problem = (
            f"{len(records)} records start with v=DMARC1; receivers apply none of them"
            if records
            else "no record starts with exactly 'v=DMARC1'"
        )
        return [
            DMARC_MALFORMED.finding(
                f"_dmarc.{domain}", evidence=evidence, domain=domain, problem=problem
            )
        ]
    tags, problems = dmarc_problems(records[0].strip())
    if problems:
        return [
            DMARC_MALFORMED.finding(
                f"_dmarc.{domain}", evidence=evidence, domain=domain, problem="; ".join(problems)
            )
        ]
    if tags["p"].lower() == "none":
        return [DMARC_POLICY_NONE.finding(domain, evidence=evidence, domain=domain)]
    return []


CHECKS = (
    check(
        "dns",
        "mx",
        "network",
        rules=(DOMAIN_NXDOMAIN, NO_MX, NULL_MX, PROVIDER_DOMAIN),
        function=check_mx,
        expensive=True,
    ),
    check(
        "dns",
        "spf",
        "network",
        rules=(SPF_MISSING, SPF_MULTIPLE, SPF_TOO_MANY_LOOKUPS, SPF_PROVIDER_MISSING),
        function=check_spf,
        expensive=True,
    ),
    check(
        "dns",
        "dmarc",
        "network",
        rules=(DMARC_MISSING, DMARC_MALFORMED, DMARC_POLICY_NONE),
        function=check_dmarc,
        expensive=True,
    ),
    check(
        "dns",
        "host_address",
        "network",
        rules=(HOST_NO_ADDRESS,),
        function=check_host_address,
        expensive=True,
    ),
    check("dns", "unanswered", "network", rules=(UNCHECKED,), expensive=True),
)
