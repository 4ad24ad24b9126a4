"""The candidates' addresses: does their domain receive mail, or is it a misspelt provider's?

`mailcheck session` and `sessions` on copies of the example project's demo database, the
candidates' emails set with sqlite3, against a real UDP nameserver on loopback serving
tests/fixtures/candidate_dns/*.zone (apart from tests/fixtures/dns, whose every zone is a case
of `mailcheck dns`). A name in none of those zones is NXDOMAIN (nx.test, gmial.com).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from conftest import FIXTURES, Run, RunCli
from hypothesis import given
from hypothesis import strategies as st
from support.django_site import (
    EMAIL_DIFFERS,
    HEALTHY,
    INVALID_EMAIL,
    NO_EMAIL,
    NO_SESSION,
    ORPHAN_KEY,
    SITE_ARGS,
    build_database,
    use_database,
)
from support.nameserver import Nameserver, SilentNameserver, load_zones

from interview_mailcheck.adapters.dns import DnsClient
from interview_mailcheck.checks.candidate_address import CandidateDomains, dns_form
from interview_mailcheck.dnsdata import domain_name
from interview_mailcheck.errors import InputError

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site
pytestmark = pytest.mark.usefixtures("site")

ZONES = FIXTURES / "candidate_dns"
PUBLIC_LINK = ("--link-template", "https://interviews.acme.example/join?session_key={session_key}")
CANDIDATE_IDS = {
    HEALTHY: 1,
    NO_SESSION: 2,
    ORPHAN_KEY: 3,
    NO_EMAIL: 4,
    EMAIL_DIFFERS: 5,
    INVALID_EMAIL: 6,
}
SESSION_KEYS = {
    HEALTHY: "k7Qm2xHealthy",
    NO_EMAIL: "w9Lc4tNoEmail",
    EMAIL_DIFFERS: "r2Dv6nDiffers",
    INVALID_EMAIL: "m5Tb1yInvalid",
}


@pytest.fixture(scope="module")
def nameserver() -> Iterator[Nameserver]:
    with Nameserver(load_zones(ZONES)) as server:
        yield server


def with_emails(
    source: Path,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    candidates: Mapping[str, str],
    sessions: Mapping[str, str] | None = None,
) -> Path:
    """A copy of `source` where the candidates of these interviews have these emails; their
    sessions too, unless `sessions` says otherwise. The example project reads the copy."""
    copy = folder / "candidates.sqlite3"
    shutil.copyfile(source, copy)
    session_emails = {**candidates, **(sessions or {})}
    with sqlite3.connect(copy) as connection:
        for interview, email in candidates.items():
            connection.execute(
                "UPDATE interviews_candidate SET email = ? WHERE id = ?",
                (email, CANDIDATE_IDS[interview]),
            )
        for interview, email in session_emails.items():
            if interview in SESSION_KEYS:
                connection.execute(
                    "UPDATE interview_app_interviewsession SET candidate_email = ? "
                    "WHERE session_key = ?",
                    (email, SESSION_KEYS[interview]),
                )
    connection.close()
    use_database(monkeypatch, copy)
    return copy


def asked(server: Nameserver, before: int) -> list[tuple[str, str]]:
    return server.queries[before:]


# --- One address, each verdict ------------------------------------------------------------

SUBJECT = "candidate__email"
CANNOT = "the candidate's address {address} cannot receive mail: "


@pytest.mark.parametrize(
    ("address", "findings", "queries"),
    [
        pytest.param(
            "someone@nx.test",
            [
                f"session.E009 error {SUBJECT}: "
                + CANNOT.format(address="someone@nx.test")
                + "nx.test does not exist (NXDOMAIN)"
            ],
            [("nx.test", "MX")],
            id="nxdomain",
        ),
        pytest.param(
            "x@nullmx.test",
            [
                f"session.E010 error {SUBJECT}: "
                + CANNOT.format(address="x@nullmx.test")
                + "nullmx.test publishes a null MX ('0 .'), declaring that it accepts no mail"
            ],
            [("nullmx.test", "MX")],
            id="null-mx",
        ),
        pytest.param(
            "dana@nomail.test",
            [
                f"session.E011 error {SUBJECT}: "
                + CANNOT.format(address="dana@nomail.test")
                + "nomail.test has no MX record and no A or AAAA record to fall back on"
            ],
            [("nomail.test", "MX"), ("nomail.test", "A"), ("nomail.test", "AAAA")],
            id="no-mail-server",
        ),
        pytest.param(
            "asha.rao@gmial.com",
            [
                f"session.E012 error {SUBJECT}: the candidate's address asha.rao@gmial.com "
                "looks mistyped: did you mean asha.rao@gmail.com?"
            ],
            [],  # a misspelt provider domain is not looked up
            id="misspelt",
        ),
        pytest.param(
            "Asha.Rao@Hotmial.CO.UK",
            [
                f"session.E012 error {SUBJECT}: the candidate's address Asha.Rao@Hotmial.CO.UK "
                "looks mistyped: did you mean Asha.Rao@hotmail.co.uk?"
            ],
            [],
            id="misspelt-any-case",
        ),
        pytest.param(
            "x@" + "a" * 64 + ".test",
            [
                f"session.E009 error {SUBJECT}: "
                + CANNOT.format(address="x@" + "a" * 64 + ".test")
                + "a" * 64
                + ".test is not a valid domain name, so it cannot exist"
            ],
            [],
            id="label-too-long",
        ),
        pytest.param("asha.rao@gmail.com", [], [("gmail.com", "MX")], id="provider"),
        pytest.param("asha@hired.test", [], [("hired.test", "MX")], id="mx"),
        pytest.param("asha@HIRED.Test", [], [("hired.test", "MX")], id="mx-any-case"),
        pytest.param(
            "asha@implicit.test",
            [],
            [("implicit.test", "MX"), ("implicit.test", "A")],
            id="implicit-mx-a",
        ),
        pytest.param(
            "asha@v6only.test",
            [],
            [("v6only.test", "MX"), ("v6only.test", "A"), ("v6only.test", "AAAA")],
            id="implicit-mx-aaaa",
        ),
        pytest.param(
            "asha@mx.hired.test", [], [("mx.hired.test", "MX"), ("mx.hired.test", "A")], id="sub"
        ),
    ],
)
def test_each_verdict(
    address: str,
    findings: list[str],
    queries: list[tuple[str, str]],
    nameserver: Nameserver,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: address})
    before = len(nameserver.queries)
    result = run_cli(
        "session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--nameserver", nameserver.address, "--json"
    )
    assert result.findings() == findings
    assert asked(nameserver, before) == queries
    assert (result.exit_code, result.stderr) == (1 if findings else 0, "")
    for finding in result.json()["findings"]:
        assert finding["interview_id"] == HEALTHY
        assert finding["evidence"]


def test_each_finding_says_what_was_read(
    nameserver: Nameserver,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: "dana@nomail.test"})
    args = ("session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--nameserver", nameserver.address)
    (finding,) = run_cli(*args, "--json").json()["findings"]
    assert finding["hint"] == (
        "Ask the candidate for the right address, correct it, then send the invitation again"
    )
    assert finding["evidence"] == {
        "nomail.test MX": "no records",
        "nomail.test A": "no records",
        "nomail.test AAAA": "no records",
    }
    text = run_cli(*args, "-v")
    assert text.stdout.splitlines()[0].endswith(
        f"; candidate domains asked of {nameserver.address}, timeout 10 s"
    )
    assert "Candidate domains" in text.stdout
    assert "nomail.test  1           no MX, no A or AAAA" in text.stdout


def test_the_apps_email_timeout_is_the_default(
    nameserver: Nameserver, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    from django.conf import settings

    monkeypatch.setattr(settings, "EMAIL_TIMEOUT", 3)  # the example's settings say 10
    args = ("session", HEALTHY, *SITE_ARGS, "--nameserver", nameserver.address)
    default = run_cli(*args).stdout.splitlines()[0]
    given = run_cli(*args, "--timeout", "2.5").stdout.splitlines()[0]
    assert default.endswith(f"candidate domains asked of {nameserver.address}, timeout 3 s")
    assert given.endswith(f"candidate domains asked of {nameserver.address}, timeout 2.5 s")


def test_the_session_address_is_checked_when_it_differs(
    nameserver: Nameserver,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    with_emails(
        site,
        tmp_path,
        monkeypatch,
        {EMAIL_DIFFERS: "emeka.obi@hired.test"},
        {EMAIL_DIFFERS: "emeka@gmaol.com"},
    )
    result = run_cli(
        "session",
        EMAIL_DIFFERS,
        *SITE_ARGS,
        *PUBLIC_LINK,
        "--nameserver",
        nameserver.address,
        "--json",
    )
    assert result.findings() == [
        "session.W001 warning InterviewSession.candidate_email: the candidate's email is "
        "'emeka.obi@hired.test' but the session's is 'emeka@gmaol.com'",
        "session.E012 error InterviewSession.candidate_email: the session's address "
        "emeka@gmaol.com looks mistyped: did you mean emeka@gmail.com?",
    ]
    assert result.json()["findings"][1]["evidence"] == {"gmaol.com": "one edit away from gmail.com"}
    assert result.json()["candidate_domains"] == [
        {
            "domain": "hired.test",
            "interviews": 1,
            "answer": "MX 10 mx1.hired.test., 20 mx2.hired.test.",
        },
        {
            "domain": "gmaol.com",
            "interviews": 1,
            "answer": "looks mistyped (one edit away from gmail.com): not looked up",
        },
    ]


# --- Offline: --no-dns, and a nameserver that never answers ----------------------------------


def test_the_misspelling_is_found_with_no_dns(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: "asha.rao@gmial.com"})
    result = run_cli("session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--no-dns", "--json")
    assert result.findings() == [
        f"session.E012 error {SUBJECT}: the candidate's address asha.rao@gmial.com looks "
        "mistyped: did you mean asha.rao@gmail.com?"
    ]
    assert result.json()["findings"][0]["hint"] == (
        "Confirm with the candidate, correct the address to asha.rao@gmail.com, then send again"
    )
    assert result.exit_code == 1
    text = run_cli("session", HEALTHY, *SITE_ARGS, "--no-dns")
    assert "candidate domains asked" not in text.stdout  # no nameserver in the headline


def test_no_dns_looks_nothing_up(
    nameserver: Nameserver,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: "x@nullmx.test"})
    result = run_cli("session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--no-dns", "--json")
    assert (result.exit_code, result.findings()) == (0, [])
    assert result.json()["candidate_domains"] == [
        {"domain": "nullmx.test", "interviews": 1, "answer": "not looked up (--no-dns)"}
    ]


def test_the_misspelling_is_found_with_a_silent_nameserver(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    """No query is sent for a misspelt provider domain, so the silent one costs nothing."""
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: "asha.rao@gmial.com"})
    with SilentNameserver() as silent:
        start = time.monotonic()
        result = run_cli(
            "session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--nameserver", silent.address, "--json"
        )
        elapsed = time.monotonic() - start
    assert elapsed < 1.0, elapsed
    assert result.ids() == ["session.E012"]


@pytest.mark.parametrize("option", [("--nameserver", "127.0.0.1"), ("--timeout", "5")])
def test_no_dns_with_a_dns_option_is_a_usage_error(
    option: tuple[str, str], run_cli: RunCli
) -> None:
    for command in (["session", HEALTHY], ["sessions"]):
        result = run_cli(*command, *SITE_ARGS, "--no-dns", *option)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"mailcheck: error: {option[0]} cannot be used with --no-dns, which looks nothing up\n"
        )


@pytest.mark.parametrize("value", ["dns.google", "127.0.0.1:0", ""])
def test_bad_nameserver_is_a_usage_error(value: str, run_cli: RunCli) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--nameserver", value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"mailcheck: error: --nameserver {value!r}")


# --- sessions: every interview, each domain judged once -----------------------------------

VERDICTS = {
    HEALTHY: "asha.rao@gmial.com",
    NO_SESSION: "someone@nx.test",
    ORPHAN_KEY: "x@nullmx.test",
    EMAIL_DIFFERS: "emeka.obi@hired.test",
}
"""The demo interviews with a candidate at each kind of domain; the no-email and the
invalid-email ones are left as they are (nothing to look up)."""


@pytest.fixture
def verdicts(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return with_emails(site, tmp_path, monkeypatch, VERDICTS, {EMAIL_DIFFERS: "emeka@nomail.test"})


def address_findings(result: Run) -> list[tuple[str, str, str]]:
    return [
        (f["interview_id"], f["id"], f["message"])
        for f in result.json()["findings"]
        if f["id"] in ("session.E009", "session.E010", "session.E011", "session.E012")
    ]


@pytest.mark.usefixtures("verdicts")
def test_sessions_reports_each_address_on_its_interview(
    nameserver: Nameserver, run_cli: RunCli
) -> None:
    before = len(nameserver.queries)
    result = run_cli(
        "sessions", *SITE_ARGS, *PUBLIC_LINK, "--nameserver", nameserver.address, "--json"
    )
    assert (result.exit_code, result.stderr) == (1, "")
    assert address_findings(result) == [
        (
            HEALTHY,
            "session.E012",
            "the candidate's address asha.rao@gmial.com looks mistyped: did you mean "
            "asha.rao@gmail.com?",
        ),
        (
            NO_SESSION,
            "session.E009",
            "the candidate's address someone@nx.test cannot receive mail: nx.test does not "
            "exist (NXDOMAIN)",
        ),
        (
            ORPHAN_KEY,
            "session.E010",
            "the candidate's address x@nullmx.test cannot receive mail: nullmx.test publishes "
            "a null MX ('0 .'), declaring that it accepts no mail",
        ),
        (
            EMAIL_DIFFERS,
            "session.E011",
            "the session's address emeka@nomail.test cannot receive mail: nomail.test has no "
            "MX record and no A or AAAA record to fall back on",
        ),
    ]
    # An interview's findings are together: the address's come after the interview's own.
    ids = [(f.get("interview_id"), f["id"]) for f in result.json()["findings"]]
    assert ids.index((NO_SESSION, "session.E002")) + 1 == ids.index((NO_SESSION, "session.E009"))
    assert Counter(asked(nameserver, before)) == Counter(
        {
            ("nx.test", "MX"): 1,
            ("nullmx.test", "MX"): 1,
            ("hired.test", "MX"): 1,
            ("nomail.test", "MX"): 1,
            ("nomail.test", "A"): 1,
            ("nomail.test", "AAAA"): 1,
        }
    )


@pytest.mark.usefixtures("verdicts")
def test_the_misspelling_is_found_offline_in_sessions(run_cli: RunCli) -> None:
    result = run_cli("sessions", *SITE_ARGS, *PUBLIC_LINK, "--no-dns", "--json")
    assert [f[1] for f in address_findings(result)] == ["session.E012"]


@pytest.mark.usefixtures("verdicts")
def test_a_silent_nameserver_costs_the_timeout_once(run_cli: RunCli) -> None:
    """Four domains to look up; one shared deadline: the first query's timeout, not four."""
    timeout = 1.0
    with SilentNameserver() as silent:
        start = time.monotonic()
        result = run_cli(
            "sessions",
            *SITE_ARGS,
            *PUBLIC_LINK,
            "--nameserver",
            silent.address,
            "--timeout",
            str(timeout),
            "--json",
        )
        elapsed = time.monotonic() - start
    assert elapsed < timeout + 1.5, elapsed
    assert result.exit_code == 1  # the interviews' own errors, and the misspelling
    unchecked = [f for f in result.json()["findings"] if f["id"] == "session.I002"]
    assert [(f["level"], f["subject"], f["message"]) for f in unchecked] == [
        (
            "info",
            "DNS",
            "4 candidate domains could not be checked in DNS (nx.test, nullmx.test, "
            "hired.test, nomail.test; used by 3 interviews): no answer from "
            f"{silent.address} within the 1 s timeout",
        )
    ]
    assert "interview_id" not in unchecked[0]
    assert unchecked[0]["evidence"] == {
        "not checked": ["nx.test", "nullmx.test", "hired.test", "nomail.test"],
        "unanswered": ["nx.test MX", "nullmx.test MX", "hired.test MX", "nomail.test MX"],
    }
    assert [f[1] for f in address_findings(result)] == ["session.E012"]  # still found


@pytest.mark.usefixtures("verdicts")
def test_an_unanswered_domain_never_fails_the_run(run_cli: RunCli) -> None:
    """Only the unanswered domains are unchecked; --strict does not fail on the info."""
    with Nameserver(load_zones(ZONES), servfail=["nomail.test"]) as server:
        result = run_cli(
            "sessions", *SITE_ARGS, *PUBLIC_LINK, "--nameserver", server.address, "--json"
        )
    (unchecked,) = [f for f in result.json()["findings"] if f["id"] == "session.I002"]
    assert unchecked["message"] == (
        "1 candidate domain could not be checked in DNS (nomail.test; used by 1 interview): "
        "the nameserver answered SERVFAIL"
    )
    assert "dig MX <domain>" in unchecked["hint"]
    assert "session.E011" not in result.ids()
    assert "session.E010" in result.ids()  # the other domains were judged


def test_an_unanswered_domain_alone_is_not_a_failure(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    with_emails(site, tmp_path, monkeypatch, {HEALTHY: "asha@hired.test"})
    with Nameserver(load_zones(ZONES), servfail=["hired.test"]) as server:
        args = ("session", HEALTHY, *SITE_ARGS, *PUBLIC_LINK, "--nameserver", server.address)
        result = run_cli(*args, "--json", "--strict")
    assert (result.exit_code, result.ids()) == (0, ["session.I002"])
    assert result.json()["findings"][0]["interview_id"] == HEALTHY


def test_no_nameserver_configured_is_unchecked(tmp_path: Path) -> None:
    """The system's configuration read by the real client: a machine with none."""
    client = DnsClient([], timeout=1, configuration=str(tmp_path / "resolv.conf"))
    domains = CandidateDomains(client.lookup)
    assert domains.check_interview([("a@hired.test", "email", "candidate")], None) == []
    (finding,) = domains.unchecked()
    assert finding.message == (
        "1 candidate domain could not be checked in DNS (hired.test; used by 1 interview): no "
        f"nameserver is configured on this machine ({tmp_path / 'resolv.conf'})"
    )
    assert finding.hint == "Pass --nameserver IP (e.g. --nameserver 1.1.1.1), or --no-dns"


# --- Many interviews, few domains ---------------------------------------------------------


@pytest.fixture(scope="module")
def thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 generated interviews whose candidates (and sessions) are spread over four
    spellings of three domains by their number: hired.test, HIRED.Test, nomail.test,
    gmial.com."""
    path = build_database(
        tmp_path_factory.mktemp("thousand") / "1000.sqlite3", "--generate", "1000"
    )
    spread = (
        "replace(email, '@example.org', CASE CAST(substr(email, 10, instr(email, '@') - 10) "
        "AS INTEGER) % 4 WHEN 0 THEN '@hired.test' WHEN 1 THEN '@HIRED.Test' "
        "WHEN 2 THEN '@nomail.test' ELSE '@gmial.com' END)"
    )
    with sqlite3.connect(path) as connection:
        connection.execute(f"UPDATE interviews_candidate SET email = {spread}")
        connection.execute(
            f"UPDATE interview_app_interviewsession SET candidate_email = "
            f"{spread.replace('email', 'candidate_email')}"
        )
    connection.close()
    return path


def test_one_query_per_distinct_domain(
    thousand: Path, nameserver: Nameserver, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    use_database(monkeypatch, thousand)
    before = len(nameserver.queries)
    result = run_cli(
        "sessions", *SITE_ARGS, *PUBLIC_LINK, "--nameserver", nameserver.address, "--json"
    )
    assert asked(nameserver, before) == [
        ("hired.test", "MX"),
        ("nomail.test", "MX"),
        ("nomail.test", "A"),
        ("nomail.test", "AAAA"),
    ]
    document = result.json()
    assert document["summary"]["checked"] == 1000
    # Every candidate with an email: 10 in 1,000 have none (number % 100 == 3).
    emails = [n for n in range(1000) if n % 100 != 3]
    counts = Counter(f["id"] for f in document["findings"])
    assert counts["session.E011"] == sum(1 for n in emails if n % 4 == 2)
    assert counts["session.E012"] == sum(1 for n in emails if n % 4 == 3)
    first = next(f for f in document["findings"] if f["id"] == "session.E011")
    assert first["message"] == (
        "the candidate's address candidate2@nomail.test cannot receive mail: nomail.test has "
        "no MX record and no A or AAAA record to fall back on"
    )
    assert first["interview_id"] == "6e000000-0000-0000-0000-000000000002"
    assert {row["domain"]: row["interviews"] for row in document["candidate_domains"]} == {
        "hired.test": sum(1 for n in emails if n % 4 in (0, 1)),
        "nomail.test": sum(1 for n in emails if n % 4 == 2),
        "gmial.com": sum(1 for n in emails if n % 4 == 3),
    }


# --- No input makes it fail -----------------------------------------------------------------

HOSTILE = {
    HEALTHY: "x@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".test",
    NO_SESSION: "ñandú@ñandú.test",
    ORPHAN_KEY: "x@\u0661\u0662.test",
    NO_EMAIL: "x@a_b.test",
    EMAIL_DIFFERS: "x@xn--zz.test",
    INVALID_EMAIL: "x@gm\u0430il.com",
}


@pytest.mark.parametrize("dns", ["loopback", "silent", "--no-dns"])
def test_no_address_makes_mailcheck_fail(
    dns: str,
    nameserver: Nameserver,
    site: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    with_emails(site, tmp_path, monkeypatch, HOSTILE)
    with SilentNameserver() as silent:
        options = {
            "loopback": ["--nameserver", nameserver.address],
            "silent": ["--nameserver", silent.address, "--timeout", "0.5"],
            "--no-dns": ["--no-dns"],
        }[dns]
        for command in (["sessions"], *(["session", key] for key in HOSTILE)):
            for output in ("--json", "-v"):
                result = run_cli(*command, *SITE_ARGS, *options, output)
                assert (result.exit_code, result.exception, result.stderr) in {
                    (0, None, ""),
                    (1, None, ""),
                }
    result = run_cli("sessions", *SITE_ARGS, "--nameserver", nameserver.address, "--json")
    by_interview = {f.get("interview_id"): f["id"] for f in result.json()["findings"]}
    assert by_interview[HEALTHY] == "session.E009"  # a name longer than 253: cannot exist
    assert by_interview[INVALID_EMAIL] == "session.E012"  # a Cyrillic а in gmail


def _either(convert: Callable[[str], str], text: str) -> str:
    try:
        return convert(text)
    except InputError:
        return "InputError"


@given(
    st.one_of(
        st.text(alphabet="aZ09-_.@ ", max_size=80),
        st.builds(lambda n, m: "a" * n + "." + "b" * m, st.integers(0, 70), st.integers(0, 260)),
        st.text(max_size=20),
    )
)
def test_the_ascii_short_cut_is_domain_name(text: str) -> None:
    """dns_form skips the IDNA codec for plain ASCII: the same name, or the same refusal."""
    assert _either(dns_form, text) == _either(lambda t: domain_name(t, "the domain"), text)
