"""A real UDP nameserver on loopback, serving zones from files, for tests of `mailcheck dns`.

Built on `dns.message` like dnspython's own tests/nanonameserver.py, but with a plain thread
and socket instead of trio. It answers as a recursive resolver would: from the zones it holds,
NXDOMAIN for names in none of them, NODATA for a name without records of the type asked.

    with Nameserver(load_zones(FIXTURES / "dns")) as server:
        run_cli("dns", "--nameserver", server.address)

`SilentNameserver` is a bound UDP socket that never answers: a dead nameserver.

To try `mailcheck dns` by hand against the fixtures (as the README's examples were made):

    cd tests && python -m support.nameserver --port 5353
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

UDP_LIMIT = 512
"""The reply size allowed to a query without EDNS (RFC 1035)."""


def load_zones(folder: Path) -> list[dns.zone.Zone]:
    """Every `*.zone` file in `folder`; each names its origin with `$ORIGIN`."""
    return [load_zone(path) for path in sorted(folder.glob("*.zone"))]


def load_zone(path: Path) -> dns.zone.Zone:
    with path.open(encoding="utf-8") as stream:
        return dns.zone.from_file(stream, relativize=False, check_origin=False, filename=str(path))


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Nameserver:
    """Serve `zones` over UDP on `host`, on a free port, in a background thread."""

    def __init__(
        self,
        zones: Iterable[dns.zone.Zone],
        host: str = "127.0.0.1",
        servfail: Iterable[str] = (),
        port: int = 0,
    ) -> None:
        # Longest origin first, so a zone for a.example wins over one for example.
        self.zones = sorted(zones, key=lambda zone: len(zone.origin or dns.name.root), reverse=True)
        self.host = host
        self.port = port
        """The port to listen on; 0 until started for any free port."""
        self.servfail = {dns.name.from_text(name) for name in servfail}
        """Names answered with SERVFAIL, as when the domain's own nameservers are broken."""
        self.queries: list[tuple[str, str]] = []
        """(name, type) of every query received, in order: what mailcheck asked."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-nameserver", daemon=True)

    @property
    def address(self) -> str:
        """The value for `--nameserver`."""
        return _address(self.host, self.port)

    def __enter__(self) -> Nameserver:
        self._socket.bind((self.host, self.port))
        self.port = self._socket.getsockname()[1]
        self._socket.settimeout(0.05)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not DNS: drop it, as a real server would
            self._socket.sendto(self._wire(self.respond(query), query), peer)

    def _wire(self, response: dns.message.Message, query: dns.message.Message) -> bytes:
        limit = query.payload if query.edns >= 0 else UDP_LIMIT
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.flags |= dns.flags.TC
            return response.to_wire(max_size=limit)

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query, recursion_available=True)
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        self.queries.append(
            (question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype))
        )
        name = question.name
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        for _ in range(8):  # follow CNAMEs inside the zones held, as a resolver would
            zone = self._zone_for(name)
            if zone is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            node = zone.get_node(name)
            if node is None:
                if not any(other.is_subdomain(name) for other in zone.nodes):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                self._add_soa(response, zone)
                return response
            rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
            if rdataset is not None:
                response.answer.append(_rrset(name, rdataset))
                return response
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                self._add_soa(response, zone)
                return response
            response.answer.append(_rrset(name, cname))
            name = cname[0].target
        return response

    def _zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        for zone in self.zones:
            if zone.origin is not None and name.is_subdomain(zone.origin):
                return zone
        return None

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        assert zone.origin is not None
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            response.authority.append(_rrset(zone.origin, soa))


def _rrset(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))


class SilentNameserver:
    """A bound UDP socket that receives queries and never answers: a dead nameserver."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def __enter__(self) -> SilentNameserver:
        self._socket.bind((self.host, 0))
        self.address = _address(self.host, self._socket.getsockname()[1])
        """The value for `--nameserver`."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._socket.close()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Serve tests/fixtures/dns on loopback.")
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    folder = Path(__file__).resolve().parent.parent / "fixtures" / "dns"
    with Nameserver(load_zones(folder), host=args.host, port=args.port) as server:
        print(f"serving {folder} on {server.address}; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
