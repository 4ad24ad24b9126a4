"""TLS for the adapters that speak to mail servers (SMTP, IMAP): the only module that builds
SSL contexts, and the one that reads certificates.

`tls_context` trusts what Django trusts (the system store, which honours SSL_CERT_FILE and
SSL_CERT_DIR) plus an optional CA file. A failed handshake becomes an `SmtpProblem` whose kind
says why: the certificate (with the reason: self-signed, unknown issuer, expired, hostname
mismatch), a peer that answered in plain text, or another TLS failure. A certificate that did not
verify can still be decoded, for display only.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from interview_mailcheck.errors import InputError
from interview_mailcheck.smtp_session import CertificateInfo, SmtpProblem


def tls_context(cafile: str | None, insecure: bool) -> ssl.SSLContext:
    """The system trust store (honours SSL_CERT_FILE and SSL_CERT_DIR), plus `cafile`."""
    context = ssl.create_default_context()
    if cafile:
        try:
            context.load_verify_locations(cafile=cafile)
        except FileNotFoundError:
            raise InputError(f"CA file not found: {cafile}") from None
        except (ssl.SSLError, OSError, ValueError) as error:
            raise InputError(
                f"CA file is not a PEM certificate bundle: {cafile} ({error})"
            ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def django_context(
    certfile: str | None, keyfile: str | None, insecure: bool = False
) -> ssl.SSLContext:
    """The context Django's SMTP backend builds when EMAIL_SSL_CERTFILE or EMAIL_SSL_KEYFILE is
    set (its `ssl_context`): SSLContext(PROTOCOL_TLS_CLIENT) and the client certificate, and no
    CA certificate at all, so no server certificate verifies. Raises InputError when the files
    cannot be loaded (`client_certificate_problem` says why first)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(certfile or "", keyfile or None, password=_no_passphrase)
    except (ssl.SSLError, OSError, ValueError, TypeError) as error:
        raise InputError(f"the client certificate cannot be loaded: {error}") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _no_passphrase() -> bytes:
    raise ValueError("the private key is encrypted with a passphrase")


_LOAD_REASONS = {
    "KEY_VALUES_MISMATCH": "mismatch",
    "NO_START_LINE": "not_pem",
    "PEM_LIB": "not_pem",
    "BAD_BASE64_DECODE": "not_pem",
    "BAD_END_LINE": "not_pem",
}


def client_certificate_problem(certfile: str | None, keyfile: str | None) -> tuple[str, str] | None:
    """Why Django could not load this client certificate and key, as (kind, detail); None when
    it could. Kinds: key_without_certificate, missing, unreadable, encrypted, mismatch,
    not_pem, other. The files are read, never shown."""
    import os

    if keyfile and not certfile:
        return ("key_without_certificate", "Django calls load_cert_chain(None, keyfile)")
    for path in (certfile, keyfile):
        if not path:
            continue
        if not os.path.exists(path):
            return ("missing", f"{path} does not exist")
        if os.path.isdir(path):
            return ("unreadable", f"{path} is a folder")
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            return ("unreadable", f"{path} cannot be read: {error.strerror or error}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_cert_chain(certfile or "", keyfile or None, password=_no_passphrase)
    except ValueError as error:  # the passphrase callback: an encrypted key
        return ("encrypted", str(error))
    except ssl.SSLError as error:
        reason = (getattr(error, "reason", "") or "").upper()
        kind = _LOAD_REASONS.get(reason, "other")
        text = str(error).lower()
        if kind == "other" and "bad decrypt" in text:
            kind = "encrypted"
        elif kind == "other" and "pem lib" in text:
            kind = "not_pem"
        return (kind, str(error.reason or error.strerror or "the SSL library refused it"))
    except OSError as error:
        return ("unreadable", str(error))
    return None


def unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


def _name(entries: Any) -> str:
    parts = []
    for rdn in entries or ():
        for key, value in rdn:
            short = _SHORT_NAMES.get(key, key)
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def certificate_info(decoded: dict[str, Any]) -> CertificateInfo:
    names = tuple(
        value for kind, value in decoded.get("subjectAltName", ()) if kind in ("DNS", "IP Address")
    )
    if not names:
        names = tuple(v for rdn in decoded.get("subject", ()) for k, v in rdn if k == "commonName")
    return CertificateInfo(
        subject=_name(decoded.get("subject")),
        issuer=_name(decoded.get("issuer")),
        not_after=str(decoded.get("notAfter", "")),
        names=names,
    )


def decode_der(der: bytes) -> CertificateInfo | None:
    """Decode a certificate that was not verified (for display only).

    The standard library decodes only verified certificates, except through the test helper
    `ssl._ssl._test_decode_cert`, which CPython has shipped since 3.2. If it is ever missing,
    the certificate is simply not shown.
    """
    import os
    import tempfile

    decoder: Callable[[str], dict[str, Any]] | None = getattr(ssl._ssl, "_test_decode_cert", None)  # type: ignore[attr-defined]
    if decoder is None:
        return None
    handle, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(ssl.DER_cert_to_PEM_cert(der))
        return certificate_info(decoder(path))
    except (ssl.SSLError, ValueError, OSError):
        return None
    finally:
        os.unlink(path)


_VERIFY_REASONS = {
    18: "self_signed",
    19: "self_signed",
    20: "unknown_issuer",
    21: "unknown_issuer",
    2: "unknown_issuer",
    10: "expired",
    9: "not_yet_valid",
    62: "hostname_mismatch",
}


def _certificate_problem(error: ssl.SSLCertVerificationError) -> SmtpProblem:
    code = getattr(error, "verify_code", 0) or 0
    message = getattr(error, "verify_message", "") or str(error)
    reason = _VERIFY_REASONS.get(code, "other")
    if reason == "other" and "hostname" in message.lower():
        reason = "hostname_mismatch"
    return SmtpProblem("certificate", message, data={"reason": reason, "verify_code": code})


def tls_problem(error: ssl.SSLError) -> SmtpProblem:
    if isinstance(error, ssl.SSLCertVerificationError):
        return _certificate_problem(error)
    reason = (getattr(error, "reason", "") or "").upper()
    if reason in {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
        "PACKET_LENGTH_TOO_LONG",
        "RECORD_LAYER_FAILURE",
    }:
        return SmtpProblem("tls_plaintext_peer", f"the TLS handshake failed at once: {error}")
    return SmtpProblem("tls_failed", f"the TLS handshake failed: {error}")
