"""`mailcheck dns` against a real UDP nameserver on loopback serving tests/fixtures/dns/*.zone.

A zone file whose first lines declare `; expect: <ids>`, `; exit: <code>` and one
`; finding: <id> <level> <subject>: <message>` line per finding is a case:
`test_zone_case` runs `mailcheck dns` with DEFAULT_FROM_EMAIL at its domain (`; domain:`,
else its $ORIGIN) and EMAIL_HOST `; host:` (else smtp.gmail.com). A new case is a new file.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, RunCli
from support.nameserver import Nameserver, SilentNameserver, load_zones

from interview_mailcheck.adapters.dns import DnsClient
from interview_mailcheck.checks.dns import DnsTarget, check_dns, dmarc_problems, spf_term
from interview_mailcheck.dnsdata import Answer, DnsUnavailable, parse_nameserver
from interview_mailcheck.dnsdata import Nameserver as NameserverAddress
from interview_mailcheck.errors import InputError

DNS_FIXTURES = FIXTURES / "dns"
GMAIL = {"EMAIL_HOST": "smtp.gmail.com"}


def header(path: Path) -> dict[str, str]:
    """The `; key: value` lines of a zone file's leading comment, and its $ORIGIN."""
    meta: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^;\s*(expect|exit|domain|host):\s*(.*)$", line):
            meta[match.group(1)] = match.group(2).strip()
        elif line.startswith("$ORIGIN"):
            meta["origin"] = line.split()[1].rstrip(".")
    return meta


CASES = sorted(path for path in DNS_FIXTURES.glob("*.zone") if "expect" in header(path))


@pytest.fixture(scope="module")
def nameserver() -> Iterator[Nameserver]:
    with Nameserver(load_zones(DNS_FIXTURES)) as server:
        yield server


@pytest.fixture
def dead_nameserver() -> Iterator[SilentNameserver]:
    with SilentNameserver() as server:
        yield server


# --- The cases: one zone file each --------------------------------------------------------


def test_every_required_case_has_a_zone_file() -> None:
    expected = {case: set(header(case)["expect"].split()) for case in CASES}
    covered = set().union(*expected.values())
    assert {"dns.E001", "dns.E002", "dns.E003", "dns.E005", "dns.E006", "dns.E007"} <= covered
    assert {"dns.W001", "dns.W002", "dns.W003", "dns.I001", "dns.I002"} <= covered
    assert set() in expected.values()  # a good domain, with nothing to report


@pytest.mark.parametrize("zone", CASES, ids=lambda path: path.stem)
def test_zone_case(zone: Path, nameserver: Nameserver, run_cli: RunCli) -> None:
    meta = header(zone)
    domain = meta.get("domain", meta["origin"])
    env = {
        "EMAIL_HOST": meta.get("host", "smtp.gmail.com"),
        "DEFAULT_FROM_EMAIL": f"Hiring Team <hiring@{domain}>",
    }
    result = run_cli("dns", "--nameserver", nameserver.address, "--json", env=env)
    assert result.ids() == sorted(meta["expect"].split())
    assert result.findings() == [
        line.removeprefix("; finding: ")
        for line in zone.read_text(encoding="utf-8").splitlines()
        if line.startswith("; finding: ")
    ]
    assert result.exit_code == int(meta["exit"])
    assert result.stderr == ""
    for finding in result.json()["findings"]:
        if finding["id"] != "dns.I002":  # the one finding that reads no record
            assert finding["evidence"], finding["id"]


# --- What each finding says and shows ---------------------------------------------------------


def run_dns(run_cli: RunCli, server: Nameserver, domain: str, *args: str) -> dict[str, object]:
    result = run_cli(
        "dns", "--nameserver", server.address, "--domain", domain, "--json", *args, env=GMAIL
    )
    assert result.stderr == ""
    document: dict[str, object] = result.json()
    return document


def only_finding(document: dict[str, object]) -> dict[str, object]:
    findings = document["findings"]
    assert isinstance(findings, list) and len(findings) == 1, findings
    finding: dict[str, object] = findings[0]
    return finding


def test_good_domain_reads_every_record(run_cli: RunCli, nameserver: Nameserver) -> None:
    document = run_dns(run_cli, nameserver, "good.test")
    assert document["ok"] is True and document["findings"] == []
    assert document["records"] == [
        {"query": "good.test MX", "answer": "10 mx1.good.test."},
        {"query": "good.test MX", "answer": "20 mx2.good.test."},
        {"query": "good.test TXT", "answer": "google-site-verification=abc123"},
        {"query": "good.test TXT", "answer": "v=spf1 include:_spf.google.com ~all"},
        {
            "query": "_spf.google.com TXT",
            "answer": "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
            "include:_netblocks3.google.com ~all",
        },
        {"query": "_netblocks.google.com TXT", "answer": "v=spf1 ip4:192.0.2.0/25 ~all"},
        {"query": "_netblocks2.google.com TXT", "answer": "v=spf1 ip6:2001:db8::/33 ~all"},
        {"query": "_netblocks3.google.com TXT", "answer": "v=spf1 ip4:198.51.100.0/24 ~all"},
        {
            "query": "_dmarc.good.test TXT",
            "answer": "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@good.test",
        },
        {"query": "smtp.gmail.com A", "answer": "192.0.2.108"},
        {"query": "smtp.gmail.com AAAA", "answer": "2001:db8::108"},
    ]


def test_good_domain_text(run_cli: RunCli, nameserver: Nameserver) -> None:
    result = run_cli("dns", "--nameserver", nameserver.address, "--domain", "good.test", env=GMAIL)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "mailcheck dns: sending domain good.test (from --domain); EMAIL_HOST smtp.gmail.com "
        f"(Gmail / Google Workspace); nameserver {nameserver.address}, timeout 10 s"
    )
    assert result.stdout.splitlines()[-1].startswith("✓ OK 0 errors, 0 warnings, 0 infos.")
    assert "Records read" not in result.stdout
    verbose = run_cli(
        "dns", "--nameserver", nameserver.address, "--domain", "good.test", "-v", env=GMAIL
    )
    assert "Records read" in verbose.stdout
    assert re.search(r"_dmarc\.good\.test TXT +v=DMARC1; p=quarantine", verbose.stdout)


def test_nxdomain_names_the_domain(run_cli: RunCli, nameserver: Nameserver) -> None:
    finding = only_finding(run_dns(run_cli, nameserver, "missing.nx.test"))
    assert finding["id"] == "dns.E001"
    assert finding["message"] == (
        "missing.nx.test does not exist (NXDOMAIN): receiving servers refuse mail from it"
    )
    assert finding["evidence"] == {"missing.nx.test MX": "NXDOMAIN (the name does not exist)"}


def test_nxdomain_stops_the_domain_checks(run_cli: RunCli, nameserver: Nameserver) -> None:
    """No SPF or DMARC verdict about a domain that does not exist: they are not even asked."""
    before = len(nameserver.queries)
    run_dns(run_cli, nameserver, "missing.nx.test")
    assert nameserver.queries[before:] == [
        ("missing.nx.test", "MX"),
        ("smtp.gmail.com", "A"),
        ("smtp.gmail.com", "AAAA"),
    ]


def test_null_mx_shows_the_record(run_cli: RunCli, nameserver: Nameserver) -> None:
    finding = only_finding(run_dns(run_cli, nameserver, "nullmx.test"))
    assert finding["id"] == "dns.E003"
    assert finding["evidence"] == {"nullmx.test MX": ["0 ."]}


def test_no_mx(run_cli: RunCli, nameserver: Nameserver) -> None:
    finding = only_finding(run_dns(run_cli, nameserver, "nomx.test"))
    assert (finding["id"], finding["evidence"]) == ("dns.E002", {"nomx.test MX": "no records"})


def test_two_spf_records_show_both(run_cli: RunCli, nameserver: Nameserver) -> None:
    finding = only_finding(run_dns(run_cli, nameserver, "twospf.test"))
    assert finding["id"] == "dns.E005"
    assert "twospf.test has 2 SPF records" in str(finding["message"])
    assert finding["evidence"] == {
        "twospf.test TXT": [
            "v=spf1 include:_spf.google.com ~all",
            "v=spf1 include:sendgrid.net -all",
        ]
    }


def test_include_chain_counts_13_lookups(run_cli: RunCli, nameserver: Nameserver) -> None:
    """The count is explained line by line at the top of chain.test.zone."""
    finding = only_finding(run_dns(run_cli, nameserver, "chain.test"))
    assert finding["id"] == "dns.E006"
    assert str(finding["message"]).startswith("chain.test's SPF record needs 13 DNS lookups")
    evidence = finding["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["lookups"] == 13
    assert list(evidence)[:-1] == [
        "chain.test TXT",
        "_spf.google.com TXT",
        "_netblocks.google.com TXT",
        "_netblocks2.google.com TXT",
        "_netblocks3.google.com TXT",
        "one._spf.chain.test TXT",
        "two._spf.chain.test TXT",
        "three._spf.chain.test TXT",
    ]
    assert evidence["three._spf.chain.test TXT"] == ["v=spf1 a:mx.chain.test mx ptr -all"]


def test_include_loop_is_stopped(run_cli: RunCli, nameserver: Nameserver) -> None:
    before = len(nameserver.queries)
    finding = only_finding(run_dns(run_cli, nameserver, "loop.test"))
    assert finding["id"] == "dns.E006"
    assert "needs more than 50 DNS lookups" in str(finding["message"])
    assert nameserver.queries[before:].count(("loop.test", "TXT")) == 1  # answers are cached


def test_provider_not_authorised(run_cli: RunCli, nameserver: Nameserver) -> None:
    result = run_cli(
        "dns",
        "--nameserver",
        nameserver.address,
        "--domain",
        "good.test",
        "--json",
        env={"EMAIL_HOST": "smtp.sendgrid.net"},
    )
    finding = only_finding(result.json())
    assert finding["id"] == "dns.W002"
    assert finding["message"] == (
        "good.test's SPF record does not authorise SendGrid (include:sendgrid.net): invitations "
        "sent through smtp.sendgrid.net may fail SPF"
    )
    assert finding["hint"] == (
        "Add include:sendgrid.net to the SPF record of good.test, before its final all"
    )
    assert finding["evidence"] == {
        "good.test TXT": ["v=spf1 include:_spf.google.com ~all"],
        "includes reached": [
            "_spf.google.com",
            "_netblocks.google.com",
            "_netblocks2.google.com",
            "_netblocks3.google.com",
        ],
    }
    assert result.exit_code == 0


def test_custom_relay_is_not_judged_against_a_provider(
    run_cli: RunCli, nameserver: Nameserver
) -> None:
    """EMAIL_HOST of no known provider: SPF cannot be checked for it (nohost.test's 'mx')."""
    result = run_cli(
        "dns",
        "--nameserver",
        nameserver.address,
        "--domain",
        "nohost.test",
        "--json",
        env={"EMAIL_HOST": "mx.nohost.test"},
    )
    assert (result.exit_code, result.ids()) == (0, [])


def test_host_without_address(run_cli: RunCli, nameserver: Nameserver) -> None:
    result = run_cli(
        "dns",
        "--nameserver",
        nameserver.address,
        "--domain",
        "good.test",
        "--json",
        env={"EMAIL_HOST": "smtp.nohost.test"},
    )
    finding = only_finding(result.json())
    assert finding["message"] == (
        "EMAIL_HOST smtp.nohost.test has no A or AAAA record: the app cannot connect to it"
    )
    assert finding["evidence"] == {
        "smtp.nohost.test A": "no records",
        "smtp.nohost.test AAAA": "no records",
    }


def test_host_that_does_not_exist(run_cli: RunCli, nameserver: Nameserver) -> None:
    result = run_cli(
        "dns",
        "--nameserver",
        nameserver.address,
        "--domain",
        "good.test",
        "--json",
        env={"EMAIL_HOST": "smtp.gmial.com"},
    )
    finding = only_finding(result.json())
    assert finding["id"] == "dns.E004"
    assert "smtp.gmial.com does not exist (NXDOMAIN)" in str(finding["message"])


def test_host_that_is_not_a_host_name(run_cli: RunCli, nameserver: Nameserver) -> None:
    env = {"EMAIL_HOST": "smtp..gmail.com"}
    result = run_cli("dns", "--nameserver", nameserver.address, "--domain", "good.test", env=env)
    assert result.exit_code == 1
    assert "EMAIL_HOST 'smtp..gmail.com' is not a valid host name" in result.stdout


def test_host_with_a_newline_is_not_a_host_name(run_cli: RunCli, nameserver: Nameserver) -> None:
    """A quoted .env value can hold a newline: it is no host name, and no message breaks."""
    env = {"EMAIL_HOST": "email_host=\nemail_host="}
    result = run_cli("dns", "--nameserver", nameserver.address, "--json", env=env)
    assert result.findings() == [
        "dns.E004 error EMAIL_HOST: EMAIL_HOST 'email_host=\\nemail_host=' is not a valid host "
        "name: the app cannot connect to it"
    ]
    assert (result.exit_code, result.stderr) == (1, "")


def test_dmarc_findings(run_cli: RunCli, nameserver: Nameserver) -> None:
    malformed = only_finding(run_dns(run_cli, nameserver, "baddmarc.test"))
    assert malformed["subject"] == "_dmarc.baddmarc.test"
    assert malformed["message"] == (
        "_dmarc.baddmarc.test holds a malformed DMARC record (p=rejected is not none, "
        "quarantine or reject; rua=dmarc@baddmarc.test lacks the mailto: prefix): receivers "
        "ignore it"
    )
    assert malformed["evidence"] == {
        "_dmarc.baddmarc.test TXT": ["v=DMARC1; p=rejected; rua=dmarc@baddmarc.test"]
    }
    missing = only_finding(run_dns(run_cli, nameserver, "nodmarc.test"))
    assert missing["evidence"] == {"_dmarc.nodmarc.test TXT": "NXDOMAIN (the name does not exist)"}
    monitoring = only_finding(run_dns(run_cli, nameserver, "pnone.test"))
    assert monitoring["level"] == "info"
    assert monitoring["evidence"] == {
        "_dmarc.pnone.test TXT": ["v=DMARC1; p=none; rua=mailto:dmarc@pnone.test"]
    }


def test_provider_domain_is_not_asked(run_cli: RunCli, nameserver: Nameserver) -> None:
    before = len(nameserver.queries)
    finding = only_finding(run_dns(run_cli, nameserver, "gmail.com"))
    assert finding["id"] == "dns.I002"
    assert nameserver.queries[before:] == [("smtp.gmail.com", "A"), ("smtp.gmail.com", "AAAA")]


def test_strict_fails_on_a_warning(run_cli: RunCli, nameserver: Nameserver) -> None:
    args = ("dns", "--nameserver", nameserver.address, "--domain", "nodmarc.test")
    assert run_cli(*args, env=GMAIL).exit_code == 0
    assert run_cli(*args, "--strict", env=GMAIL).exit_code == 1


# --- Where the domain and host come from --------------------------------------------------------


def test_domain_and_host_from_the_env_file(
    run_cli: RunCli, nameserver: Nameserver, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "EMAIL_HOST=smtp.gmail.com\nDEFAULT_FROM_EMAIL=Interview Team <jobs@GOOD.test>\n"
    )
    result = run_cli("dns", "--nameserver", nameserver.address, "--env-file", env_file)
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "mailcheck dns: sending domain good.test (from DEFAULT_FROM_EMAIL); EMAIL_HOST "
        "smtp.gmail.com (Gmail / Google Workspace)"
    )


def test_domain_option_wins_over_the_settings(run_cli: RunCli, nameserver: Nameserver) -> None:
    env = {**GMAIL, "DEFAULT_FROM_EMAIL": "jobs@good.test"}
    result = run_cli(
        "dns", "--nameserver", nameserver.address, "--domain", "nomx.test", "--json", env=env
    )
    assert result.ids() == ["dns.E002"]


def test_without_a_sending_domain_the_host_is_still_checked(
    run_cli: RunCli, nameserver: Nameserver
) -> None:
    result = run_cli(
        "dns", "--nameserver", nameserver.address, env={"EMAIL_HOST": "smtp.gmial.com"}
    )
    assert result.exit_code == 1
    assert "no sending domain (DEFAULT_FROM_EMAIL is not set; pass --domain)" in result.stdout
    assert "dns.E004" in result.stdout


def test_host_that_is_an_ip_address_is_not_looked_up(
    run_cli: RunCli, nameserver: Nameserver
) -> None:
    env = {"EMAIL_HOST": "192.0.2.1", "DEFAULT_FROM_EMAIL": "jobs@good.test"}
    before = len(nameserver.queries)
    result = run_cli("dns", "--nameserver", nameserver.address, env=env)
    assert result.exit_code == 0
    assert "EMAIL_HOST not looked up (EMAIL_HOST is an IP address" in result.stdout
    assert all(name != "192.0.2.1" for name, _ in nameserver.queries[before:])


def test_nothing_to_check_is_a_usage_error(run_cli: RunCli, nameserver: Nameserver) -> None:
    result = run_cli("dns", "--nameserver", nameserver.address)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "mailcheck: error: nothing to look up: DEFAULT_FROM_EMAIL is not set and EMAIL_HOST is "
        "not set; pass --domain or set them (see `mailcheck config`)\n"
    )


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        (
            "jobs@good.test",
            "--domain 'jobs@good.test' is an address, not a domain; use 'good.test'",
        ),
        ("good..test", "--domain 'good..test' is not a valid domain name"),
        ("", "--domain is empty"),
    ],
)
def test_bad_domain_is_a_usage_error(run_cli: RunCli, domain: str, message: str) -> None:
    result = run_cli("dns", "--nameserver", "127.0.0.1", "--domain", domain)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mailcheck: error: {message}")
    assert len(result.stderr.splitlines()) == 1


# --- Nameservers and the timeout --------------------------------------------------------------


def test_dead_nameserver_is_bounded_by_the_timeout(
    run_cli: RunCli, dead_nameserver: SilentNameserver
) -> None:
    """Four parts need at least four queries; one deadline bounds them all (not 4 x 1 s)."""
    timeout = 1.0
    start = time.monotonic()
    result = run_cli(
        "dns",
        "--nameserver",
        dead_nameserver.address,
        "--domain",
        "good.test",
        "--timeout",
        str(timeout),
        "--json",
        env=GMAIL,
    )
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, elapsed
    assert result.exit_code == 1
    finding = only_finding(result.json())
    assert finding["id"] == "dns.E008"
    assert finding["message"] == (
        "DNS records could not be checked (MX of good.test, SPF of good.test, DMARC of "
        "good.test, address of smtp.gmail.com): no answer from "
        f"{dead_nameserver.address} within the 1 s timeout"
    )
    assert "SPF record" not in result.stdout  # never "no SPF": nothing was read


def test_servfail_marks_only_that_part_unchecked(run_cli: RunCli) -> None:
    with Nameserver(load_zones(DNS_FIXTURES), servfail=["_dmarc.good.test"]) as server:
        document = run_dns(run_cli, server, "good.test")
    finding = only_finding(document)
    assert finding["message"] == (
        "DNS records could not be checked (DMARC of good.test): the nameserver answered SERVFAIL"
    )
    assert finding["evidence"] == {
        "not checked": ["DMARC of good.test"],
        "unanswered": ["_dmarc.good.test TXT"],
    }
    assert "dig" in str(finding["hint"])


def test_one_deadline_for_every_lookup() -> None:
    """Once the deadline has passed, a lookup fails at once, without asking anyone."""
    now = [100.0]
    client = DnsClient([NameserverAddress("127.0.0.1", 9)], timeout=5, clock=lambda: now[0])
    now[0] += 5.0
    with pytest.raises(DnsUnavailable) as raised:
        client.lookup("good.test", "MX")
    assert raised.value.kind == "timeout"
    assert raised.value.reason == "no answer from 127.0.0.1:9 within the 5 s timeout"


def test_a_name_that_is_not_a_domain_is_not_sent() -> None:
    """An SPF include can name anything; a name DNS cannot carry fails before any query."""
    client = DnsClient([NameserverAddress("127.0.0.1", 9)], timeout=5)
    with pytest.raises(DnsUnavailable) as raised:
        client.lookup("bad..name.test", "TXT")
    assert (raised.value.kind, raised.value.reason) == (
        "bad_name",
        "'bad..name.test' is not a valid domain name",
    )


def test_no_system_configuration_is_reported_as_unchecked(tmp_path: Path) -> None:
    client = DnsClient([], timeout=1, configuration=str(tmp_path / "resolv.conf"))
    target = DnsTarget("good.test", "--domain", None)
    findings = check_dns(target, client.lookup)
    assert [finding.id for finding in findings] == ["dns.E008"]
    assert findings[0].message.endswith(
        f"no nameserver is configured on this machine ({tmp_path / 'resolv.conf'})"
    )
    assert findings[0].hint == "Pass --nameserver IP (e.g. --nameserver 1.1.1.1)"


def test_repeated_nameserver_option(run_cli: RunCli, nameserver: Nameserver) -> None:
    with SilentNameserver() as silent:
        result = run_cli(
            "dns",
            "--nameserver",
            nameserver.address,
            "--nameserver",
            silent.address,
            "--domain",
            "good.test",
        )
    assert result.exit_code == 0
    assert f"nameserver {nameserver.address}, {silent.address}, timeout 10 s" in result.stdout


def test_a_dead_first_nameserver_costs_one_try_not_one_per_query(
    run_cli: RunCli, nameserver: Nameserver
) -> None:
    """dnspython waits 2 s on the dead one and gets the answer from the next, asked first after."""
    with SilentNameserver() as silent:
        result = run_cli(
            "dns",
            "--nameserver",
            silent.address,
            "--nameserver",
            nameserver.address,
            "--domain",
            "good.test",
            "--timeout",
            "4",
            env=GMAIL,
        )
    # Eleven queries each waiting 2 s on the dead one would pass the 4 s deadline at the second.
    assert (result.exit_code, result.stdout.splitlines()[-1][:4]) == (0, "✓ OK")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_nameserver(run_cli: RunCli) -> None:
    with Nameserver(load_zones(DNS_FIXTURES), host="::1") as server:
        assert server.address.startswith("[::1]:")
        result = run_cli("dns", "--nameserver", server.address, "--domain", "nomx.test", "--json")
    assert (result.exit_code, result.ids()) == (1, ["dns.E002"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", NameserverAddress("127.0.0.1", 53)),
        ("127.0.0.1:5353", NameserverAddress("127.0.0.1", 5353)),
        (" 1.1.1.1 ", NameserverAddress("1.1.1.1", 53)),
        ("::1", NameserverAddress("::1", 53)),
        ("2001:db8::53", NameserverAddress("2001:db8::53", 53)),
        ("[2001:DB8::53]:5353", NameserverAddress("2001:db8::53", 5353)),
        ("[::1]", NameserverAddress("::1", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: NameserverAddress) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dns.google", "--nameserver 'dns.google' is not an IP address"),
        ("1.1.1.1:0", "--nameserver '1.1.1.1:0': the port must be a number from 1 to 65535"),
        ("1.1.1.1:dns", "--nameserver '1.1.1.1:dns': the port must be a number from 1 to 65535"),
        ("1.1.1.1:65536", "--nameserver '1.1.1.1:65536': the port must be"),
        ("[1.1.1.1]:53", "--nameserver '[1.1.1.1]:53': brackets are for IPv6 addresses"),
        ("[::1]:", "--nameserver '[::1]:': the port must be"),
        ("", "--nameserver '' is not an IP address"),
    ],
)
def test_bad_nameserver_is_a_usage_error(run_cli: RunCli, text: str, message: str) -> None:
    with pytest.raises(InputError):
        parse_nameserver(text)
    result = run_cli("dns", "--nameserver", text, "--domain", "good.test")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mailcheck: error: {message}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("timeout", ["0", "-1", "inf", "nan"])
def test_bad_timeout_is_a_usage_error(run_cli: RunCli, timeout: str) -> None:
    result = run_cli(
        "dns", "--nameserver", "127.0.0.1", "--domain", "good.test", "--timeout", timeout
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mailcheck: error: --timeout {timeout!r} must be a number")
    assert len(result.stderr.splitlines()) == 1


# --- Parsing, without the network ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("include:_spf.google.com", ("include", "_spf.google.com")),
        ("+include:_spf.google.com", ("include", "_spf.google.com")),
        ("~all", ("all", "")),
        ("a", ("a", "")),
        ("a/24", ("a", "")),
        ("-mx:mail.example.test/24", ("mx", "mail.example.test/24")),
        ("redirect=_spf.example.test", ("redirect", "_spf.example.test")),
        ("exp=explain.example.test", ("exp", "explain.example.test")),
        ("ip4:192.0.2.0/24", ("ip4", "192.0.2.0/24")),
        ("PTR", ("ptr", "")),
    ],
)
def test_spf_term(term: str, expected: tuple[str, str]) -> None:
    assert spf_term(term) == expected


@pytest.mark.parametrize(
    ("record", "problems"),
    [
        ("v=DMARC1; p=reject", []),
        ("v=DMARC1; p=none; rua=mailto:a@x.test,mailto:b@x.test; pct=50; adkim=s", []),
        ("v=DMARC1;p=quarantine;", []),
        ("v=DMARC1", ["no p= policy tag"]),
        ("v=DMARC1; p=reject; pct=150", ["pct=150 is not a number from 0 to 100"]),
        ("v=DMARC1; p=reject; aspf=strict", ["aspf=strict is not r or s"]),
        ("v=DMARC1; p=reject; sp=block", ["sp=block is not none, quarantine or reject"]),
        (
            "v=DMARC1; p=none rua=mailto:a@x.test",
            ["p=none rua=mailto:a@x.test is not none, quarantine or reject"],
        ),
        ("v=DMARC1; p=reject; reject", ["'reject' is not a tag=value pair"]),
    ],
)
def test_dmarc_problems(record: str, problems: list[str]) -> None:
    assert dmarc_problems(record)[1] == problems


def test_dmarc_records_that_do_not_start_with_the_version() -> None:
    def lookup(records: tuple[str, ...]) -> list[str]:
        answer = Answer("_dmarc.x.test", "TXT", "ok", records)
        target = DnsTarget("x.test", "--domain", None)
        mx = Answer("x.test", "MX", "ok", ("10 mx.x.test.",))
        spf = Answer("x.test", "TXT", "ok", ("v=spf1 -all",))
        answers = {"_dmarc.x.test": answer, "x.test MX": mx, "x.test TXT": spf}
        findings = check_dns(
            target, lambda name, rdtype: answers.get(name) or answers[f"{name} {rdtype}"]
        )
        return [finding.message for finding in findings]

    assert lookup(("v=dmarc1; p=reject",)) == [
        "_dmarc.x.test holds a malformed DMARC record (no record starts with exactly "
        "'v=DMARC1'): receivers ignore it"
    ]
    assert lookup(("v=DMARC1; p=reject", "v=DMARC1; p=none")) == [
        "_dmarc.x.test holds a malformed DMARC record (2 records start with v=DMARC1; "
        "receivers apply none of them): receivers ignore it"
    ]


# --- Start-up cost and help ----------------------------------------------------------------

_IMPORTS = """
import sys
from interview_mailcheck.cli import main
sys.argv = ["mailcheck", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(sorted(name for name in sys.modules if name == "dns" or name.startswith("dns.")))
"""


@pytest.mark.parametrize(
    "args", [["config", "--env-file", str(FIXTURES / "env" / "good_gmail_587.env")], ["checks"]]
)
def test_other_commands_do_not_import_dnspython(args: list[str], tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert completed.stdout.splitlines()[-1] == "[]"


def test_help_has_an_example(run_cli: RunCli) -> None:
    result = run_cli("dns", "--help")
    assert result.exit_code == 0
    assert "Example: mailcheck dns --domain example.com" in result.stdout
    assert "--nameserver" in result.stdout and "--timeout" in result.stdout
