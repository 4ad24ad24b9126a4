"""What a DNS lookup answers, as the checks see it; and names and nameservers as the user
writes them.

checks/dns.py asks through a `Lookup` (name, type) -> `Answer`, raising `DnsUnavailable` when no
answer came; adapters/dns.py is the real one, over dnspython. Parsing `--nameserver` and
turning a domain into its DNS form (lower case, IDNA) need no DNS library: they are here, used
by the options layer, the checks and the adapter alike.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from interview_mailcheck.errors import InputError

Status = Literal["ok", "nodata", "nxdomain"]

FailureKind = Literal["timeout", "server_failed", "unreachable", "no_configuration", "bad_name"]

DEFAULT_PORT = 53


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        if self.port == DEFAULT_PORT:
            return self.address
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


_BRACKETED = re.compile(r"^\[([^\[\]]+)\](?::(.*))?$")


def parse_nameserver(text: str) -> Nameserver:
    """`IP`, `IPv4:PORT`, `IPv6` or `[IPv6]:PORT`; raises InputError naming the bad value."""
    value = text.strip()
    problem = repr(text)
    bracketed = _BRACKETED.match(value)
    if bracketed:
        address, port_text = bracketed.group(1), bracketed.group(2)
    elif value.count(":") == 1:
        address, port_text = value.split(":")
    else:
        address, port_text = value, None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InputError(
            f"{problem} is not an IP address; expected IP, IP:PORT or [IPv6]:PORT "
            "(a host name would itself need a nameserver)"
        ) from None
    if bracketed and ip.version == 4:
        raise InputError(f"{problem}: brackets are for IPv6 addresses; write IPv4:PORT")
    port = DEFAULT_PORT
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise InputError(f"{problem}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Nameserver(str(ip), port)


@dataclass(frozen=True)
class Answer:
    """What the nameserver said about one name and type."""

    name: str
    rdtype: str
    status: Status
    records: tuple[str, ...] = ()
    """As text: TXT strings joined (RFC 7208 3.3), MX as 'PREFERENCE EXCHANGE.', A/AAAA
    addresses."""

    @property
    def query(self) -> str:
        return f"{self.name} {self.rdtype}"

    def shown(self) -> list[str] | str:
        """The records as evidence: the list of records, or what the nameserver said instead."""
        if self.status == "nxdomain":
            return "NXDOMAIN (the name does not exist)"
        return list(self.records) if self.records else "no records"


class DnsUnavailable(Exception):
    """The nameserver gave no usable answer: the records could not be read at all."""

    def __init__(self, query: str, kind: FailureKind, reason: str) -> None:
        super().__init__(f"{query}: {reason}")
        self.query = query
        self.kind = kind
        self.reason = reason


@dataclass
class Failure:
    query: str
    reason: str


MAX_LABEL, MAX_NAME = 63, 253
"""RFC 1035: 63 octets a label, 255 a name on the wire (253 written out)."""


def domain_name(text: str, what: str) -> str:
    """`text` as a DNS name (lower case, no final dot, IDNA-encoded as dnspython encodes by
    default); InputError if it is not one. `what` names where the text came from ('--domain')."""
    value = text.strip()
    if "@" in value:
        raise InputError(
            f"{what} {text!r} is an address, not a domain; use {value.rsplit('@', 1)[1]!r}"
        )
    name = value[:-1] if value.endswith(".") else value
    if not name:
        raise InputError(f"{what} is empty")
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise InputError(f"{what} {text!r} is not a valid domain name: {error}") from None
    labels = encoded.split(".")
    if any(not label for label in labels):
        raise InputError(f"{what} {text!r} is not a valid domain name: it has an empty label")
    if any(len(label) > MAX_LABEL for label in labels) or len(encoded) > MAX_NAME:
        raise InputError(f"{what} {text!r} is not a valid domain name: it is too long")
    return encoded.lower()


Lookup = Callable[[str, str], Answer]
"""(name, rdtype) -> the answer; raises DnsUnavailable when none came."""
