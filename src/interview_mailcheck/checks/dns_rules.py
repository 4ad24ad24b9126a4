"""The rules of `mailcheck dns`: what the sending domain's records and EMAIL_HOST's address
can be found to lack (data). The checks are checks/dns.py."""

from __future__ import annotations

from interview_mailcheck.findings import Level, Rule

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

DOMAIN_NXDOMAIN = Rule(
    id="dns.E001",
    level=ERROR,
    title="The sending domain does not exist (NXDOMAIN)",
    message="{domain} does not exist (NXDOMAIN): receiving servers refuse mail from it",
    hint="Check the domain in {source} for a typo; a domain must be registered to send mail",
    explanation=(
        "The nameserver answered NXDOMAIN for the domain of the From address: the name does not "
        "exist in DNS. Receiving servers look up the sender's domain and refuse mail from a "
        "domain that does not exist, and candidates' replies have nowhere to go. This is "
        "usually a typo in DEFAULT_FROM_EMAIL, or a domain whose registration has lapsed."
    ),
)

NO_MX = Rule(
    id="dns.E002",
    level=ERROR,
    title="The sending domain has no MX record",
    message="{domain} has no MX record: replies and bounces cannot reach it",
    hint="Publish an MX record for {domain} pointing at the server that receives its mail",
    explanation=(
        "Mail from a domain that cannot receive mail looks like spam: many receivers check that "
        "the sender's domain has an MX record, and candidates' replies to an invitation and "
        "bounces for mistyped addresses are lost. (RFC 5321 lets a sender fall back to the "
        "domain's A record, but receivers judging a sender do not count on it.)"
    ),
)

NULL_MX = Rule(
    id="dns.E003",
    level=ERROR,
    title="The sending domain publishes a null MX: it accepts no mail",
    message="{domain} publishes a null MX ('0 .'), declaring that it sends and receives no mail",
    hint="Send from a domain that receives mail, or replace the null MX with real MX records",
    explanation=(
        "A null MX (RFC 7505: a single MX record '0 .') states that a domain accepts no mail. "
        "RFC 7505 section 4.2 tells receiving servers to refuse mail whose sender is at such a "
        "domain, since no reply or bounce could be delivered."
    ),
)

HOST_NO_ADDRESS = Rule(
    id="dns.E004",
    level=ERROR,
    title="EMAIL_HOST has no address (no A or AAAA record)",
    message="EMAIL_HOST {host} {problem}: the app cannot connect to it",
    hint="Check EMAIL_HOST for a typo against your provider's documentation (e.g. smtp.gmail.com)",
    explanation=(
        "To send, Django connects to EMAIL_HOST, which must resolve to an IPv4 (A) or IPv6 "
        "(AAAA) address. Without one, every send fails with 'Name or service not known' "
        "(socket.gaierror) before any SMTP is spoken."
    ),
)

SPF_MULTIPLE = Rule(
    id="dns.E005",
    level=ERROR,
    title="The sending domain has more than one SPF record",
    message=(
        "{domain} has {count} SPF records: receivers stop with a permanent error "
        "(RFC 7208 permerror) and SPF fails for every message"
    ),
    hint="Merge them into one TXT record starting with v=spf1, with one include: per service",
    explanation=(
        "RFC 7208 section 4.5: if more than one TXT record at a domain starts with 'v=spf1', "
        "the result is permerror, which receivers treat as a failure. It usually happens when "
        "a second service's set-up guide says 'add this TXT record' and the old one stays. "
        "Keep one record and put every sender's include: in it."
    ),
)

SPF_TOO_MANY_LOOKUPS = Rule(
    id="dns.E006",
    level=ERROR,
    title="The SPF record needs more than 10 DNS lookups",
    message=(
        "{domain}'s SPF record needs {count} DNS lookups once its includes and redirects are "
        "followed; the limit is 10, past which receivers stop with a permanent error"
    ),
    hint=(
        "Remove includes of services that no longer send for {domain}, or replace a, mx and "
        "ptr terms with ip4:/ip6: ranges"
    ),
    explanation=(
        "RFC 7208 section 4.6.4 limits an SPF check to 10 terms that query DNS: the include, "
        "a, mx, ptr and exists mechanisms and the redirect modifier, counted through every "
        "included record. Past 10 the result is permerror and SPF fails, for every message. "
        "Each provider's include costs one lookup plus those inside its own record (Google's "
        "_spf.google.com costs 4). mailcheck counts the terms of every record it can reach, as "
        "checkdmarc and most validators do."
    ),
)

DMARC_MALFORMED = Rule(
    id="dns.E007",
    level=ERROR,
    title="The DMARC record is malformed",
    message="_dmarc.{domain} holds a malformed DMARC record ({problem}): receivers ignore it",
    hint=(
        "Publish one TXT record at _dmarc.{domain} such as "
        "'v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}'"
    ),
    explanation=(
        "A DMARC record (RFC 7489) is one TXT record at _dmarc.<domain> that starts exactly "
        "with 'v=DMARC1', followed by tag=value pairs separated by semicolons, with a policy "
        "p=none, quarantine or reject. Receivers discard records that do not start with "
        "v=DMARC1, and apply none when there are several; a domain with a broken record is "
        "treated as one without DMARC, which bulk-sender rules at Gmail and Yahoo require."
    ),
)

UNCHECKED = Rule(
    id="dns.E008",
    level=ERROR,
    title="The DNS records could not be checked",
    message="DNS records could not be checked ({parts}): {reason}",
    hint="Check the network, pass --nameserver IP, or allow a longer --timeout",
    explanation=(
        "mailcheck got no usable answer from the nameserver: it did not answer within the "
        "--timeout (shared by all the queries of a run), it answered with an error such as "
        "SERVFAIL, or none is configured. Nothing is known about the records it could not "
        "read, so it reports them as unchecked rather than missing."
    ),
)

SPF_MISSING = Rule(
    id="dns.W001",
    level=WARNING,
    title="The sending domain has no SPF record",
    message=(
        "{domain} has no SPF record: receivers cannot tell which servers may send for it, and "
        "large mailbox providers junk or refuse unauthenticated mail"
    ),
    hint="Publish one TXT record at {domain}: {suggestion}",
    explanation=(
        "SPF (RFC 7208) is a TXT record starting with 'v=spf1' that lists the servers allowed "
        "to send mail for a domain. Gmail and Yahoo require SPF or DKIM of every sender, and "
        "both of bulk senders; without either, invitations land in spam or are refused."
    ),
)

SPF_PROVIDER_MISSING = Rule(
    id="dns.W002",
    level=WARNING,
    title="The SPF record does not authorise the configured provider",
    message=(
        "{domain}'s SPF record does not authorise {provider} ({expected}): invitations sent "
        "through {host} may fail SPF"
    ),
    hint="Add include:{include} to the SPF record of {domain}, before its final all",
    explanation=(
        "The SPF record lists who may send for the domain; mail from a server it does not "
        "list fails SPF, and unless DKIM passes for the same domain, DMARC fails too. Each "
        "provider publishes an include for its servers (Google _spf.google.com, Microsoft "
        "spf.protection.outlook.com, Amazon SES amazonses.com, ...). Providers that send "
        "with their own bounce domain (SES, SendGrid and Mailgun without a custom MAIL FROM) "
        "are checked against theirs instead: if DKIM for your domain is set up there, this "
        "warning can be ignored."
    ),
)

DMARC_MISSING = Rule(
    id="dns.W003",
    level=WARNING,
    title="The sending domain has no DMARC record",
    message=(
        "{domain} has no DMARC record (at _dmarc.{domain}), which Gmail and Yahoo require of "
        "bulk senders"
    ),
    hint=(
        "Publish a TXT record at _dmarc.{domain}, to start "
        "'v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}'"
    ),
    explanation=(
        "DMARC (RFC 7489) tells receivers what to do with mail that fails SPF and DKIM for "
        "the domain, and where to send reports. Since 2024 Gmail and Yahoo require a DMARC "
        "record of bulk senders, and without one mail forged in the domain's name cannot be "
        "refused. Start with p=none to receive reports, then tighten the policy."
    ),
)

DMARC_POLICY_NONE = Rule(
    id="dns.I001",
    level=INFO,
    title="The DMARC policy is p=none (monitoring only)",
    message="{domain}'s DMARC policy is p=none: receivers report failing mail but deliver it",
    hint="Once the reports show your own mail passing, move to p=quarantine, then p=reject",
    explanation=(
        "p=none is the right first step: receivers send reports and change nothing. It meets "
        "the bulk-sender requirement, but forged mail in the domain's name still reaches "
        "candidates; tighten it once the reports show all legitimate mail passing."
    ),
)

PROVIDER_DOMAIN = Rule(
    id="dns.I002",
    level=INFO,
    title="The sending domain is a mail provider's own: its records are not judged",
    message="{domain} is {provider}'s own domain: its MX, SPF and DMARC records are not yours",
    hint="Nothing to do; to send from your own domain, set DEFAULT_FROM_EMAIL to an address at it",
    explanation=(
        "Addresses at gmail.com, outlook.com, yahoo.com and the like are sent through the "
        "provider's own servers, which its own SPF and DMARC records authorise. They are not "
        "yours to change, so mailcheck does not judge them."
    ),
)
