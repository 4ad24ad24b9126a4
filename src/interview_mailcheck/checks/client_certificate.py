"""EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE (a mailer's ssl_certfile and ssl_keyfile): the TLS
context Django's SMTP backend builds from them, and the files as Django loads them.

With either set, Django (4.2 to 6.1) makes a bare ssl.SSLContext(PROTOCOL_TLS_CLIENT), loads
the client certificate into it and no CA certificate at all, so no server certificate can
verify. The files are loaded by adapters/tls.py (`client_certificate_problem`); this module
judges what it found. send-test walks with that same context (smtp.E030).
"""

from __future__ import annotations

from interview_mailcheck.checks.transport import SMTP_BACKEND_ONLY
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import MailConfig
from interview_mailcheck.registry import check

ERROR = Level.ERROR

CLIENT_CERT_NO_CA = Rule(
    id="config.E026",
    level=ERROR,
    title="EMAIL_SSL_CERTFILE or EMAIL_SSL_KEYFILE is set: Django then trusts no CA",
    message=(
        "{names} set: Django's SMTP backend then builds its TLS context as "
        "ssl.SSLContext(PROTOCOL_TLS_CLIENT) with the client certificate and no CA "
        "certificates, so the server's certificate never verifies"
    ),
    hint=(
        "Remove EMAIL_SSL_CERTFILE and EMAIL_SSL_KEYFILE unless the server demands a client "
        "certificate (Gmail, Microsoft 365, SES and SendGrid never do); if it does, subclass the "
        "SMTP EmailBackend and build ssl_context with ssl.create_default_context() before "
        "load_cert_chain()"
    ),
    explanation=(
        "Django (4.2 to 6.1) uses ssl.create_default_context(), the system's CAs, only when "
        "neither file is set. With either one it creates a bare SSLContext(PROTOCOL_TLS_CLIENT), "
        "which verifies certificates but holds no CA to verify them against, and loads the "
        "client certificate into it: every STARTTLS or implicit-TLS connection then fails with "
        "'certificate verify failed: unable to get local issuer certificate'. SSL_CERT_FILE "
        "does not help: that context never reads it."
    ),
)
CLIENT_CERT_UNUSABLE = Rule(
    id="config.E027",
    level=ERROR,
    title="The client certificate or key cannot be loaded",
    message="{setting} cannot be loaded as Django loads it: {why}",
    hint="{fix}",
    explanation=(
        "Django calls ssl_context.load_cert_chain(EMAIL_SSL_CERTFILE, EMAIL_SSL_KEYFILE) before "
        "the first message: a file that is missing or unreadable, not PEM, a key that does not "
        "match the certificate, or a key encrypted with a passphrase (OpenSSL would then ask "
        "for it on the worker's terminal) makes every send fail."
    ),
)
CLIENT_CERT_FIXES = {
    "key_without_certificate": "Set EMAIL_SSL_CERTFILE too, or remove EMAIL_SSL_KEYFILE",
    "missing": "Fix the path (it is read by the process that sends, in its own folder)",
    "unreadable": "Make the file readable by the user the app and its worker run as",
    "encrypted": "Use a key without a passphrase (openssl pkey -in key.pem -out key-plain.pem)",
    "mismatch": "Give the key that belongs to this certificate",
    "not_pem": "Give PEM files (-----BEGIN CERTIFICATE----- and a -----BEGIN ... KEY-----)",
    "other": "Check the files with: openssl x509 -in CERT -noout; openssl pkey -in KEY -noout",
}
CLIENT_CERT_WHY = {
    "key_without_certificate": "EMAIL_SSL_KEYFILE is set without EMAIL_SSL_CERTFILE",
    "missing": "{detail}",
    "unreadable": "{detail}",
    "encrypted": "the private key is encrypted with a passphrase",
    "mismatch": "the key does not match the certificate",
    "not_pem": "it is not a PEM certificate and key",
    "other": "{detail}",
}


def check_client_certificate(config: MailConfig) -> list[Finding]:
    """EMAIL_SSL_CERTFILE / EMAIL_SSL_KEYFILE: the TLS context Django builds from them."""
    if not config.builds_client_context:
        return []
    names = " and ".join(
        name
        for name, value in (
            ("EMAIL_SSL_CERTFILE", config.ssl_certfile),
            ("EMAIL_SSL_KEYFILE", config.ssl_keyfile),
        )
        if value
    )
    verb = "are" if " and " in names else "is"
    return [CLIENT_CERT_NO_CA.finding(names.split(" and ")[0], names=f"{names} {verb}")]


def judge_client_certificate(problem: tuple[str, str] | None) -> list[Finding]:
    """What loading the client certificate as Django does gave (adapters/tls.py)."""
    if problem is None:
        return []
    kind, detail = problem
    subject = "EMAIL_SSL_KEYFILE" if kind == "key_without_certificate" else "EMAIL_SSL_CERTFILE"
    why = CLIENT_CERT_WHY.get(kind, "{detail}").format(detail=detail)
    fix = CLIENT_CERT_FIXES.get(kind, CLIENT_CERT_FIXES["other"])
    return [CLIENT_CERT_UNUSABLE.finding(subject, setting=subject, why=why, fix=fix)]


CHECKS = (
    check(
        "config",
        "client_certificate",
        "transport",
        "tls",
        SMTP_BACKEND_ONLY,
        rules=(CLIENT_CERT_NO_CA,),
        function=check_client_certificate,
    ),
    check(
        "config",
        "client_certificate_files",
        "transport",
        "tls",
        SMTP_BACKEND_ONLY,
        rules=(CLIENT_CERT_UNUSABLE,),
        function=judge_client_certificate,
    ),
)
