"""Provider facts, kept as data in one place.

Source: shared/reference/smtp-providers.md. Checks look things up here; nothing about a
provider is spelled out in an if-chain elsewhere. `PROVIDERS` describes how to configure each
provider; `REPLIES` describes the replies their servers send (used to classify SMTP failures).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

Mode = Literal["starttls", "ssl"]
UserRule = Literal["address", "apikey", "any"]
PasswordRule = Literal["gmail_app_password", "ses_smtp_password", "any"]
FromRule = Literal["rewritten", "must_be_login", "must_be_owned", "any"]

MODE_LABEL: Mapping[str, str] = {"starttls": "STARTTLS", "ssl": "implicit TLS", "plain": "no TLS"}


class Provider(NamedTuple):
    key: str
    name: str
    hosts: tuple[str, ...]
    ports: Mapping[int, Mode]
    credentials: str
    """What EMAIL_HOST_USER and EMAIL_HOST_PASSWORD must be, in one sentence."""
    host_pattern: str = ""
    """A regular expression for regional host names, matched whole."""
    unsupported_ports: Mapping[int, str] = MappingProxyType({})
    user_rule: UserRule = "any"
    password_rule: PasswordRule = "any"
    from_rule: FromRule = "any"
    from_note: str = ""
    spf_includes: tuple[str, ...] = ()
    """Domains an SPF record includes to authorise this provider."""
    own_domains: tuple[str, ...] = ()
    """Mailbox domains that belong to the provider itself (their DNS is not the user's)."""
    imap_host: str = ""
    """Where the account's mailbox is read over IMAP (send-test --confirm); '' for a relay."""
    imap_advice: str = ""
    """What the provider needs before IMAP logins work."""
    send_as_fix: str = ""
    """How to make DEFAULT_FROM_EMAIL an address the account may send as."""

    def matches(self, host: str) -> bool:
        host = host.strip().lower().rstrip(".")
        if host in self.hosts:
            return True
        return bool(self.host_pattern) and re.fullmatch(self.host_pattern, host) is not None

    def ports_text(self) -> str:
        return ", ".join(f"{port} ({MODE_LABEL[mode]})" for port, mode in self.ports.items())


GMAIL_APP_PASSWORD_URL = "https://myaccount.google.com/apppasswords"

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        key="gmail",
        name="Gmail / Google Workspace",
        hosts=("smtp.gmail.com", "smtp.googlemail.com", "smtp-relay.gmail.com"),
        ports={587: "starttls", 465: "ssl"},
        credentials=(
            "EMAIL_HOST_USER is the full Gmail address; EMAIL_HOST_PASSWORD is a 16-letter App "
            f"Password (needs 2-Step Verification; create one at {GMAIL_APP_PASSWORD_URL})"
        ),
        user_rule="address",
        password_rule="gmail_app_password",
        from_rule="rewritten",
        from_note="Gmail rewrites a From address that is not the account or a verified alias",
        spf_includes=("_spf.google.com",),
        own_domains=("gmail.com", "googlemail.com"),
        imap_host="imap.gmail.com",
        imap_advice=(
            "Gmail needs IMAP turned on (Settings > See all settings > Forwarding and POP/IMAP) "
            "and takes the same App Password as SMTP"
        ),
        send_as_fix=(
            "Add DEFAULT_FROM_EMAIL as a 'Send mail as' address (Gmail Settings > Accounts and "
            "Import) and verify it, or send from the account's own address"
        ),
    ),
    Provider(
        key="microsoft",
        name="Microsoft 365 / Outlook.com",
        hosts=("smtp.office365.com", "smtp-mail.outlook.com"),
        ports={587: "starttls", 25: "starttls"},
        unsupported_ports={465: "Microsoft 365 does not support SMTP AUTH on port 465"},
        credentials=(
            "EMAIL_HOST_USER is the full address of a licensed mailbox with Authenticated SMTP "
            "enabled; basic authentication is off under Security Defaults or MFA"
        ),
        user_rule="address",
        from_rule="must_be_login",
        from_note=(
            "Microsoft refuses a From that is not the login mailbox "
            "(550 5.7.60 SendAsDenied) unless Send As is granted"
        ),
        spf_includes=("spf.protection.outlook.com",),
        own_domains=("outlook.com", "hotmail.com", "live.com", "msn.com"),
        imap_host="outlook.office365.com",
        imap_advice=(
            "IMAP must be enabled for the mailbox (Microsoft 365 admin center > Mail apps), and "
            "basic authentication is off under Security Defaults"
        ),
        send_as_fix="Grant the login mailbox Send As on DEFAULT_FROM_EMAIL, or send as the login",
    ),
    Provider(
        key="ses",
        name="Amazon SES",
        hosts=(),
        host_pattern=r"email-smtp(-fips)?\.[a-z0-9-]+\.amazonaws\.com",
        ports={587: "starttls", 25: "starttls", 2587: "starttls", 465: "ssl", 2465: "ssl"},
        credentials=(
            "SES SMTP credentials created for the same region as EMAIL_HOST; the SMTP password "
            "is not the IAM secret access key"
        ),
        password_rule="ses_smtp_password",
        spf_includes=("amazonses.com",),
    ),
    Provider(
        key="sendgrid",
        name="SendGrid",
        hosts=("smtp.sendgrid.net",),
        ports={587: "starttls", 25: "starttls", 2525: "starttls", 465: "ssl"},
        credentials=(
            "EMAIL_HOST_USER is literally 'apikey'; EMAIL_HOST_PASSWORD is an API key with the "
            "Mail Send permission"
        ),
        user_rule="apikey",
        spf_includes=("sendgrid.net",),
    ),
    Provider(
        key="mailgun",
        name="Mailgun",
        hosts=("smtp.mailgun.org", "smtp.eu.mailgun.org"),
        ports={587: "starttls", 25: "starttls", 2525: "starttls", 465: "ssl"},
        credentials=(
            "a per-domain SMTP login (e.g. postmaster@your-domain) with its own password, not "
            "the dashboard password or an API key"
        ),
        user_rule="address",
        spf_includes=("mailgun.org",),
    ),
    Provider(
        key="postmark",
        name="Postmark",
        hosts=("smtp.postmarkapp.com", "smtp-broadcasts.postmarkapp.com"),
        ports={587: "starttls", 25: "starttls", 2525: "starttls"},
        credentials="a Server API Token as both user and password, or an SMTP token pair",
        spf_includes=("spf.mtasv.net",),
    ),
    Provider(
        key="yahoo",
        name="Yahoo Mail",
        hosts=("smtp.mail.yahoo.com",),
        ports={465: "ssl", 587: "starttls"},
        credentials="the full Yahoo address and an app password (needs 2-step verification)",
        user_rule="address",
        from_rule="must_be_owned",
        from_note="Yahoo refuses a From that is not the account",
        spf_includes=("_spf.mail.yahoo.com",),
        own_domains=("yahoo.com", "ymail.com"),
        imap_host="imap.mail.yahoo.com",
        imap_advice="Yahoo takes an app password for IMAP too (needs 2-step verification)",
        send_as_fix="Send from the Yahoo account's own address",
    ),
    Provider(
        key="zoho",
        name="Zoho Mail",
        hosts=(),
        host_pattern=r"smtp(pro)?\.zoho\.(com|eu|in|com\.au|jp|com\.cn)",
        ports={465: "ssl", 587: "starttls"},
        credentials="the Zoho account address and, with 2FA on, an app-specific password",
        user_rule="address",
        from_rule="must_be_owned",
        from_note="Zoho refuses a From not owned by the account (553 Relaying disallowed)",
        spf_includes=("zoho.com", "zoho.eu", "zoho.in"),
        own_domains=("zoho.com", "zohomail.com"),
        imap_host="imap.zoho.com",
        imap_advice="Turn on IMAP access in Zoho Mail (Settings > Mail Accounts > IMAP)",
        send_as_fix=(
            "Add DEFAULT_FROM_EMAIL as an alias of the Zoho account, or send as the account"
        ),
    ),
    Provider(
        key="icloud",
        name="iCloud Mail",
        hosts=("smtp.mail.me.com",),
        ports={587: "starttls"},
        credentials="the full iCloud address and an app-specific password (needs 2FA)",
        user_rule="address",
        from_rule="must_be_owned",
        from_note="iCloud sends only from the account's own addresses",
        spf_includes=("icloud.com",),
        own_domains=("icloud.com", "me.com", "mac.com"),
        imap_host="imap.mail.me.com",
        imap_advice="iCloud takes an app-specific password for IMAP too (needs 2FA)",
        send_as_fix="Send from one of the iCloud account's own addresses",
    ),
    Provider(
        key="brevo",
        name="Brevo (Sendinblue)",
        hosts=("smtp-relay.brevo.com", "smtp-relay.sendinblue.com"),
        ports={587: "starttls", 2525: "starttls", 465: "ssl"},
        credentials="the login shown on Brevo's SMTP page and an SMTP key (not an API key)",
        spf_includes=("spf.brevo.com", "spf.sendinblue.com"),
    ),
)


def provider_for_host(host: str | None) -> Provider | None:
    """The provider whose SMTP server `host` is; chosen by host, never by the user's address."""
    if not host:
        return None
    for provider in PROVIDERS:
        if provider.matches(host):
            return provider
    return None


# --- Replies -------------------------------------------------------------------------------

ReplyKind = Literal[
    "auth_failed",
    "auth_required",
    "app_password_required",
    "web_login_required",
    "tls_required",
    "temporary",
    "sender_refused",
    "recipient_refused",
    "quota",
    "mechanism",
    "policy",
]


class ReplyRule(NamedTuple):
    """One known server reply: matched by code, enhanced status and a fragment of the text."""

    code: int
    enhanced: str
    """The enhanced status code (RFC 3463) it carries; empty to match any, NONE to match a
    reply that carries none."""
    fragment: str
    """Matched case-insensitively against the whole reply, continuation lines joined; empty
    to match any text."""
    kind: ReplyKind
    provider: str
    """The `Provider.key` whose servers send this text; empty for RFC-defined replies."""
    meaning: str
    fix: str
    confirmed: bool = True
    """False for rows that came from a single user report."""
    host_only: bool = False
    """The text is too generic to name the provider by itself (Postfix says it too): the row
    applies only when EMAIL_HOST is that provider's."""


G, MS, SES, SG = "gmail", "microsoft", "ses", "sendgrid"
UNCONFIRMED, HOST_ONLY = False, True
NONE = "none"
_MAKE_APP_PASSWORD = (
    f"create an App Password at {GMAIL_APP_PASSWORD_URL} (needs 2-Step Verification) and put "
    "its 16 letters in EMAIL_HOST_PASSWORD; the spaces Google shows do not matter"
)
_SET_LOGIN = "Set EMAIL_HOST_USER and EMAIL_HOST_PASSWORD"
_SEND_AS = "Make DEFAULT_FROM_EMAIL the login mailbox, or grant Send As"

# Each row: code, enhanced status, text fragment, kind, provider; then meaning; then fix.
# fmt: off
REPLIES: tuple[ReplyRule, ...] = tuple(ReplyRule(*row) for row in (
    # Gmail / Google Workspace
    (535, "5.7.8", "Username and Password not accepted", "auth_failed", G,
     "Gmail refused the user name and password: the account password instead of an App Password?",
     f"Use an App Password, not the account password: {_MAKE_APP_PASSWORD}"),
    (534, "5.7.9", "Application-specific password required", "app_password_required", G,
     "Gmail requires an App Password for this account (2-Step Verification is on)",
     f"Use an App Password: {_MAKE_APP_PASSWORD}"),
    (534, "5.7.14", "Please log in through your web browser", "web_login_required", G,
     "Google blocked the sign-in",
     "Sign in to the account from a browser, confirm the activity, then retry"),
    (530, "5.7.0", "Must issue a STARTTLS command first", "tls_required", G,
     "The server requires STARTTLS before anything else",
     "Turn on STARTTLS: EMAIL_USE_TLS=True, EMAIL_USE_SSL=False, EMAIL_PORT=587"),
    (530, "", "Authentication Required", "auth_required", G,
     "The server requires a login before sending", _SET_LOGIN),
    (454, "4.7.0", "Too many login attempts", "temporary", G,
     "Gmail throttled the logins",
     "Reuse one connection for several messages and back off before retrying"),
    (454, "4.7.0", "Cannot authenticate due to a temporary system problem", "temporary", G,
     "Gmail could not authenticate for a temporary reason",
     "Retry later; do not change the password because of this reply"),
    (504, "5.7.4", "Unrecognized authentication type", "mechanism", G,
     "The server does not support that authentication mechanism",
     "Use AUTH LOGIN or PLAIN over TLS"),
    (550, "5.4.5", "Daily user sending quota exceeded", "quota", G,
     "Gmail's daily sending quota is used up (a permanent code, but it clears daily)",
     "Wait for the daily window to reset, or send through a transactional provider"),
    (421, "4.7.0", "Try again later, closing connection", "temporary", G,
     "Gmail asked to try again later", "Retry later"),
    (550, "", "Mail relay denied", "policy", G,
     "The Workspace SMTP relay refused to relay",
     "Register the sending IP or domain in the Workspace SMTP relay settings"),
    (550, "", "Invalid credentials for relay", "policy", G,
     "The Workspace SMTP relay refused the credentials",
     "Register the sending IP or domain in the Workspace SMTP relay settings"),
    # Microsoft 365 / Outlook.com
    (535, "5.7.139", "SmtpClientAuthentication is disabled", "policy", MS,
     "SMTP AUTH is disabled for the Microsoft 365 tenant",
     "Set-TransportConfig -SmtpClientAuthenticationDisabled $false, or per mailbox "
     "Set-CASMailbox -SmtpClientAuthenticationDisabled $false"),
    (535, "5.7.139", "basic authentication is disabled", "policy", MS,
     "Basic authentication is disabled for this Microsoft account",
     "Security Defaults, a policy or a consumer account turned it off: use OAuth2 (XOAUTH2) "
     "or another provider"),
    (535, "5.7.139", "the user credentials were incorrect", "auth_failed", MS,
     "Microsoft refused the user name and password",
     "Check EMAIL_HOST_USER (the full mailbox address) and EMAIL_HOST_PASSWORD"),
    (535, "5.7.3", "Authentication unsuccessful", "auth_failed", MS,
     "Microsoft refused the login",
     "Wrong credentials, or Authenticated SMTP is not enabled for the mailbox"),
    (530, "5.7.57", "Client not authenticated", "auth_required", MS,
     "Microsoft requires a login before sending", _SET_LOGIN),
    (550, "5.7.60", "does not have permissions to send as this sender", "sender_refused", MS,
     "Microsoft refused to send as this sender", _SEND_AS),
    (554, "", "SendAsDenied", "sender_refused", MS,
     "Microsoft refused to send as this sender", _SEND_AS),
    (550, "5.1.8", "Bad outbound sender", "policy", MS,
     "Microsoft blocked the mailbox for sending spam",
     "Ask the tenant admin to release the mailbox"),
    (432, "4.3.2", "sender thread limit exceeded", "temporary", MS,
     "Microsoft's sender thread limit was reached", "Retry later"),
    (554, "5.2.0", "SubmissionQuotaExceededException", "quota", MS,
     "Microsoft's daily recipient limit was reached",
     "Wait for the limit (10,000 recipients a day) to reset"),
    (550, "5.7.30", "Basic authentication is not supported", "policy", MS,
     "Basic authentication is retired for client submission",
     "Use OAuth2 (XOAUTH2) or another provider"),
    # Amazon SES
    (535, NONE, "Authentication Credentials Invalid", "auth_failed", SES,
     "SES refused the SMTP credentials",
     "Create SES SMTP credentials (not IAM access keys) in the same region as EMAIL_HOST"),
    (535, "", "Account not subscribed to SES", "policy", SES,
     "The AWS account is not subscribed to SES", "Activate SES for the account"),
    (554, "", "not authorized to perform ses:SendRawEmail", "policy", SES,
     "The IAM user may not send through SES",
     "Allow ses:SendRawEmail in the IAM policy of the SMTP user"),
    (554, "", "Email address is not verified", "sender_refused", SES,
     "SES has not verified this address",
     "Verify DEFAULT_FROM_EMAIL (or its domain) in the SES region; in the sandbox SES sends "
     "only to verified addresses: request production access in the SES console (or verify "
     "each recipient)"),
    (454, "", "Throttling failure", "temporary", SES,
     "SES throttled the sending", "Retry later, more slowly"),
    (454, "", "Temporary authentication failure", "temporary", SES,
     "SES had a temporary authentication failure", "Retry after 5 to 30 seconds"),
    (451, "", "Temporary service failure", "temporary", SES,
     "SES had a temporary service failure", "Retry after 5 to 30 seconds"),
    (421, "", "Too many concurrent SMTP connections", "temporary", SES,
     "SES has too many concurrent connections from this account", "Retry after 30 seconds"),
    (552, "", "Message is too long", "policy", SES,
     "SES refused a message over 10 MB", "Send a smaller message"),
    # SendGrid
    (535, "", "Authentication failed: Bad username", "auth_failed", SG,
     "SendGrid refused the login",
     "EMAIL_HOST_USER must be the word 'apikey' and EMAIL_HOST_PASSWORD an API key with Mail "
     "Send permission"),
    (535, "", "authorization grant is invalid, expired, or revoked", "auth_failed", SG,
     "The SendGrid API key is invalid, expired or revoked",
     "Create a new API key with Mail Send permission"),
    (451, "", "Authentication failed: Could not authenticate", "temporary", SG,
     "SendGrid could not authenticate (one report: an IP allow-list)",
     "Check SendGrid's IP Access Management allow-list", UNCONFIRMED),
    (550, "", "Unauthenticated senders not allowed", "auth_required", SG,
     "SendGrid refused mail before login", _SET_LOGIN),
    (550, "", "does not match a verified Sender Identity", "sender_refused", SG,
     "SendGrid has not verified this sender",
     "Verify DEFAULT_FROM_EMAIL as a Sender Identity, or authenticate its domain"),
    (451, "", "Maximum credits exceeded", "quota", SG,
     "SendGrid credits are used up", "Wait or upgrade the plan"),
    # Mailgun, Postmark, Yahoo, Zoho, Brevo
    (535, "5.7.0", "Mailgun is not loving your login or password", "auth_failed", "mailgun",
     "Mailgun refused the SMTP login",
     "Use the domain's SMTP credentials, not the dashboard password or an API key"),
    (554, "", "Sandbox subdomains are for test purposes only", "policy", "mailgun",
     "Mailgun sandbox domains only send to authorised recipients",
     "Use your own domain, or authorise the recipient in the sandbox"),
    (535, "5.7.8", "Error: authentication failed:", "auth_failed", "postmark",
     "Postmark refused the token", "Use the Server API Token as user and password",
     True, HOST_ONLY),
    (535, "5.7.0", "(#AUTH005) Too many bad auth attempts", "auth_failed", "yahoo",
     "Yahoo refused the login after too many bad attempts",
     "Use an app password (needs 2-step verification)"),
    (535, "5.7.0", "(#MBR1212) Incorrect username or password", "auth_failed", "yahoo",
     "Yahoo refused the user name or password", "Use the full address and an app password"),
    (553, "", "Relaying disallowed", "sender_refused", "zoho",
     "The server refused the From address: the account does not own it",
     "Make DEFAULT_FROM_EMAIL the account's address or one of its aliases"),
    (535, "", "Authentication Failed", "auth_failed", "zoho",
     "Zoho refused the login",
     "Use the account address and, with 2FA on, an app-specific password", True, HOST_ONLY),
    (535, "5.7.0", "Invalid login or password", "auth_failed", "brevo",
     "Brevo refused the login",
     "Use the login shown on Brevo's SMTP page and an SMTP key (not an API key)",
     True, HOST_ONLY),
    (502, "5.7.0", "Please authenticate first", "auth_required", "brevo",
     "Brevo requires a login before sending", _SET_LOGIN, UNCONFIRMED),
    # Postfix's texts, which many relays and hosted servers send
    (553, "", "Sender address rejected: not owned by user", "sender_refused", "",
     "The server refused the From address: the logged-in account does not own it",
     "Make DEFAULT_FROM_EMAIL EMAIL_HOST_USER's address or an alias the server lets it use"),
    (554, "", "Relay access denied", "policy", "",
     "The server refused to relay to this recipient: it did not count the client as logged in",
     "Log in (EMAIL_HOST_USER and EMAIL_HOST_PASSWORD) before sending, or use the "
     "submission port 587"),
    # RFC-defined replies: matched when no provider's text is
    (535, "", "", "auth_failed", "",
     "The server refused the user name and password",
     "Check EMAIL_HOST_USER and EMAIL_HOST_PASSWORD against the provider's SMTP credentials"),
    (534, "", "", "mechanism", "",
     "The server considers the authentication mechanism too weak",
     "Use the provider's app-specific password or a stronger mechanism"),
    (538, "", "", "tls_required", "",
     "The server requires encryption for this authentication mechanism",
     "Turn on TLS: EMAIL_USE_TLS=True (port 587) or EMAIL_USE_SSL=True (port 465)"),
    (530, "", "STARTTLS", "tls_required", "",
     "The server requires STARTTLS first",
     "Turn on STARTTLS: EMAIL_USE_TLS=True, EMAIL_USE_SSL=False"),
    (530, "", "", "auth_required", "",
     "The server requires a login before sending", _SET_LOGIN),
    (432, "4.7.12", "", "policy", "",
     "The server needs a password transition", "Change the password, then retry"),
    (454, "", "", "temporary", "",
     "Temporary authentication failure",
     "Retry later; do not change the password because of this reply"),
    (500, "5.5.6", "", "mechanism", "",
     "The server refused a line as too long", "Report this to mailcheck"),
))
# fmt: on


_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str:
    """The first enhanced status code (RFC 3463) in a reply's text, or ''."""
    match = _ENHANCED.search(text)
    return match.group(1) if match else ""


def classify_reply(code: int, text: str, host: str | None = None) -> ReplyRule | None:
    """The known reply that best explains `code` and `text`.

    The reply itself decides (code, then enhanced status, then text fragment): relays, proxies
    and test servers sit between the app and the provider, so the host only breaks ties.
    """
    joined = " ".join(text.split()).lower()
    status = enhanced_status(text)
    host_provider = provider_for_host(host)
    best: tuple[int, ReplyRule] | None = None
    for rule in REPLIES:
        if rule.code != code:
            continue
        if rule.enhanced and rule.enhanced != (status or NONE):
            continue
        if rule.fragment and rule.fragment.lower() not in joined:
            continue
        if rule.host_only and not (host_provider and host_provider.key == rule.provider):
            continue
        score = (2 if rule.fragment else 0) + (1 if rule.enhanced else 0)
        score = score * 2 + (1 if host_provider and rule.provider == host_provider.key else 0)
        if best is None or score > best[0]:
            best = (score, rule)
    return best[1] if best else None
