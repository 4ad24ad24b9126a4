"""DNS lookups with dnspython: the only module that imports it.

dnspython is imported inside the functions that use it, so importing this module (for its
types) costs nothing: `mailcheck config`, `explain` and `checks` never load dnspython.

dnspython's exceptions stop here. A lookup returns an `Answer` (records, no records, or the
name does not exist) or raises `DnsUnavailable` (no answer in time, the server failed, no
nameserver configured); a bad `--nameserver` or domain raises `InputError`.

`--timeout` is the longest one answer may take. One `DnsClient` also shares a deadline of twice
that among all its lookups, however many queries the checks make; and once a query has gone
unanswered for the whole timeout, the nameserver is taken for silent: the later queries fail at
once with the same reason, so a dead nameserver costs the timeout once, not once per query.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from interview_mailcheck.dnsdata import Answer, DnsUnavailable, Failure, FailureKind, Nameserver

if TYPE_CHECKING:
    import dns.resolver


SYSTEM_CONFIGURATION = "/etc/resolv.conf"
TRY_TIMEOUT = 2.0
"""Seconds to wait for one UDP reply before asking again (dnspython's default); a lost packet
costs this much, not the whole budget."""
BUDGET_TIMEOUTS = 2
"""All the lookups of one client together take at most this many timeouts."""
EDNS_PAYLOAD = 1232
"""The EDNS buffer size DNS Flag Day 2020 settled on: TXT answers fit without TCP."""


@dataclass
class DnsClient:
    """Looks names up through `nameservers`, or the system's when none are given.

    Each lookup waits at most `timeout` seconds; all of them share one deadline, twice that
    after the client is made. Answers are cached, so a name asked twice (an SPF include
    reached twice) is one query.
    """

    nameservers: Sequence[Nameserver]
    timeout: float
    configuration: str = SYSTEM_CONFIGURATION
    """The resolv.conf to read when no nameserver is given."""
    clock: Callable[[], float] = time.monotonic
    history: list[Answer | Failure] = field(default_factory=list)
    """Every answer and failure, in the order asked: the records read."""
    _deadline: float = field(init=False)
    _silent: str = field(init=False, default="")
    """Why the nameserver is taken for silent (a query went unanswered for the timeout)."""
    _resolver: dns.resolver.Resolver | None = field(init=False, default=None)
    _cache: dict[tuple[str, str], Answer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.timeout * BUDGET_TIMEOUTS

    def describe(self) -> str:
        """The nameservers asked, for headlines and hints."""
        if self.nameservers:
            return ", ".join(str(server) for server in self.nameservers)
        return f"the system's nameservers ({self.configuration})"

    def lookup(self, name: str, rdtype: str) -> Answer:
        """The records of type `rdtype` at `name`; raises DnsUnavailable when there is no answer."""
        key = (name.lower().rstrip("."), rdtype.upper())
        if key in self._cache:
            return self._cache[key]
        query = f"{key[0]} {key[1]}"
        try:
            answer = self._ask(*key)
        except DnsUnavailable as failure:
            self.history.append(Failure(query, failure.reason))
            raise
        self._cache[key] = answer
        self.history.append(answer)
        return answer

    def _ask(self, name: str, rdtype: str) -> Answer:
        import dns.exception
        import dns.name
        import dns.resolver

        query = f"{name} {rdtype}"
        remaining = min(self._deadline - self.clock(), self.timeout)
        if self._silent:
            raise DnsUnavailable(query, "timeout", self._silent)
        if remaining <= 0:
            raise DnsUnavailable(query, "timeout", self._timeout_reason())
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError):
            raise DnsUnavailable(
                query, "bad_name", f"{name!r} is not a valid domain name"
            ) from None
        resolver = self._get_resolver(query)
        resolver.timeout = min(TRY_TIMEOUT, remaining)
        try:
            result = resolver.resolve(
                qname,
                rdtype,
                raise_on_no_answer=False,
                lifetime=remaining,
                search=False,
            )
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, "nxdomain")
        except dns.exception.Timeout:
            self._silent = self._timeout_reason()
            raise DnsUnavailable(query, "timeout", self._silent) from None
        except dns.resolver.NoNameservers as error:
            raise DnsUnavailable(query, *_no_nameservers(error)) from None
        except dns.resolver.YXDOMAIN:
            raise DnsUnavailable(query, "bad_name", "the name is too long (YXDOMAIN)") from None
        except dns.exception.DNSException as error:
            raise DnsUnavailable(query, "server_failed", f"{error}") from None
        _prefer(resolver, result.nameserver, result.port)
        records = tuple(sorted(_record_text(rdtype, rdata) for rdata in result.rrset or ()))
        if rdtype == "MX":  # by preference, as a sending server tries them
            records = tuple(sorted(records, key=lambda record: int(record.split()[0])))
        return Answer(name, rdtype, "ok" if records else "nodata", records)

    def _timeout_reason(self) -> str:
        return f"no answer from {self.describe()} within the {self.timeout:g} s timeout"

    def _get_resolver(self, query: str) -> dns.resolver.Resolver:
        import dns.nameserver
        import dns.resolver

        if self._resolver is not None:
            return self._resolver
        if self.nameservers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(server.address, server.port)
                for server in self.nameservers
            ]
        else:
            try:
                resolver = dns.resolver.Resolver(filename=self.configuration)
            except (dns.resolver.NoResolverConfiguration, OSError):
                raise DnsUnavailable(
                    query,
                    "no_configuration",
                    f"no nameserver is configured on this machine ({self.configuration})",
                ) from None
        resolver.use_edns(0, 0, EDNS_PAYLOAD)
        resolver.cache = None
        self._resolver = resolver
        return resolver


def _prefer(resolver: dns.resolver.Resolver, address: str | None, port: int | None) -> None:
    """Ask the nameserver that answered first next time.

    dnspython starts every query at the first nameserver; when that one is dead, each query
    would spend its first try waiting on it, and a dozen queries would exhaust the deadline.
    """
    servers = list(resolver.nameservers)
    for index, server in enumerate(servers):
        server_address = getattr(server, "address", server)
        server_port = getattr(server, "port", resolver.nameserver_ports.get(str(server), 53))
        if (server_address, server_port) == (address, port):
            if index:
                resolver.nameservers = [server, *servers[:index], *servers[index + 1 :]]
            return


def _record_text(rdtype: str, rdata: object) -> str:
    if rdtype == "TXT":
        strings: Sequence[bytes] = getattr(rdata, "strings", ())
        return b"".join(strings).decode("utf-8", "replace")
    return str(rdata)


def _no_nameservers(error: Exception) -> tuple[FailureKind, str]:
    """Why every nameserver failed, from dnspython's trace of (server, tcp, port, error, ...)."""
    trace = getattr(error, "kwargs", {}).get("errors", [])
    answers = sorted({str(entry[3]) for entry in trace if isinstance(entry[3], str)})
    if answers:
        return "server_failed", f"the nameserver answered {', '.join(answers)}"
    problems = sorted({_describe_exception(entry[3]) for entry in trace})
    if problems:
        return "unreachable", f"the nameserver could not be reached ({'; '.join(problems)})"
    return "unreachable", "no nameserver answered"


def _describe_exception(error: object) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused: nothing listens on that port"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"
