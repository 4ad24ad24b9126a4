"""The Authentication-Results parser (authresults.py): the examples of RFC 8601 Appendix B
(marked VERBATIM: copied as the RFC prints them), the shapes Gmail, Microsoft 365 and Fastmail
write (marked SHAPE: written after their documented and commonly seen form, with example
domains and made-up signatures and addresses), choosing the receiving server's header, and
property tests that no text makes it raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interview_mailcheck import authresults
from interview_mailcheck.authresults import AuthResults, parse, select

# --- RFC 8601 Appendix B, VERBATIM ------------------------------------------------------------


def test_rfc8601_b2_nothing_done() -> None:
    """B.2: Nearly Trivial Case; Service Provided, but No Authentication Done."""
    header = parse("Authentication-Results: example.org 1; none")
    assert header.authserv_id == "example.org"
    assert header.version == "1"
    assert header.none and header.results == ()
    assert header.spf is None and header.dkim is None and header.dmarc is None


def test_rfc8601_b3_spf() -> None:
    """B.3: Service Provided, Authentication Done."""
    header = parse(
        "Authentication-Results: example.com;\n          spf=pass smtp.mailfrom=example.net"
    )
    assert header.authserv_id == "example.com"
    spf = header.first("spf")
    assert spf is not None and spf.result == "pass"
    assert spf.get("smtp.mailfrom") == "example.net"


def test_rfc8601_b4_several_authentications_single_mta() -> None:
    """B.4: Service Provided, Several Authentications Done, Single MTA (two fields)."""
    values = [
        "example.com;\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\n"
        "          spf=pass smtp.mailfrom=example.net",
        "example.com; iprev=pass\n          policy.iprev=192.0.2.200",
    ]
    first, second = (parse(value) for value in values)
    auth = first.first("auth")
    assert auth is not None and auth.result == "pass" and auth.comments == ("cram-md5",)
    assert auth.get("smtp.auth") == "sender@example.net"
    assert first.spf == "pass"
    iprev = second.first("iprev")
    assert iprev is not None and iprev.get("policy.iprev") == "192.0.2.200"


def test_rfc8601_b5_several_authentications_different_mtas() -> None:
    """B.5: Service Provided, Several Authentications Done, Different MTAs."""
    newer = parse(
        "Authentication-Results: example.com;\n"
        "          dkim=pass (good signature) header.d=example.com"
    )
    older = parse(
        "Authentication-Results: example.com;\n"
        "          auth=pass (cram-md5) smtp.auth=sender@example.com;\n"
        "          spf=fail smtp.mailfrom=example.com"
    )
    dkim = newer.first("dkim")
    assert dkim is not None and dkim.result == "pass" and dkim.comment == "good signature"
    assert dkim.get("header.d") == "example.com"
    assert older.spf == "fail" and older.result("auth") == "pass"


def test_rfc8601_b6_multi_tiered() -> None:
    """B.6: Service Provided, Multi-Tiered Authentication Done (both fields)."""
    border = parse(
        "Authentication-Results: example.com;\n"
        '      dkim=pass reason="good signature"\n'
        "        header.i=@mail-router.example.net;\n"
        '      dkim=fail reason="bad signature"\n'
        "        header.i=@newyork.example.com"
    )
    first, second = border.all("dkim")
    assert (first.reason, first.get("header.i")) == ("good signature", "@mail-router.example.net")
    assert (second.reason, second.get("header.i")) == ("bad signature", "@newyork.example.com")
    assert border.dkim == "pass"  # one of two signatures verified: DKIM passes
    router = parse(
        "Authentication-Results: example.net;\n"
        "      dkim=pass (good signature) header.i=@newyork.example.com"
    )
    dkim = router.first("dkim")
    assert dkim is not None and dkim.comment == "good signature" and dkim.reason is None


def test_signatures_told_apart_by_header_b() -> None:
    """SHAPE: after RFC 6008 (header.b tells two signatures of one domain apart)."""
    header = parse(
        "Authentication-Results: mail-router.example.net;\n"
        "          dkim=pass (good signature) header.d=newyork.example.com\n"
        "                header.b=oINEO8hg;\n"
        "          dkim=fail (bad signature) header.d=newyork.example.com\n"
        "                header.b=EToRSuvU"
    )
    signatures = header.all("dkim")
    assert [s.result for s in signatures] == ["pass", "fail"]
    assert [s.get("header.b") for s in signatures] == ["oINEO8hg", "EToRSuvU"]
    passing = header.passing("dkim")
    assert passing is not None and passing.get("header.b") == "oINEO8hg"


def test_conflicting_results_of_one_method_fail_closed() -> None:
    """Several DKIM results are several signatures (any pass will do); two results of
    another method in one field are a conflict, answered with the first that is not pass."""
    header = parse("mx.example; dmarc=pass header.from=a.example; dmarc=fail header.from=a.example")
    assert header.dmarc == "fail"
    assert parse("mx.example; spf=pass; spf=pass").spf == "pass"


def test_rfc8601_b7_comments_everywhere() -> None:
    """B.7: Comment-Heavy Example."""
    header = parse(
        "Authentication-Results: foo.example.net (foobar) 1 (baz);\n"
        "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\n"
        "      policy (A dot can go here) . (like that) expired\n"
        "      (this surprised me) = (as I wasn't expecting it) 1362471462"
    )
    assert header.authserv_id == "foo.example.net" and header.version == "1"
    dkim = header.first("dkim")
    assert dkim is not None
    assert (dkim.result, dkim.version) == ("fail", "1")
    assert dkim.get("policy.expired") == "1362471462"
    assert "Because I like it" in dkim.comments and "wait for it" in dkim.comments
    assert header.skipped == ()


# --- Real-world shapes ------------------------------------------------------------------------

GMAIL = (  # SHAPE: Gmail (mx.google.com), folded as Gmail folds it
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@example.com header.s=20230601 header.b=Xq3bNw7s;\r\n"
    "       spf=pass (google.com: domain of jobs@example.com designates 192.0.2.25 as "
    "permitted sender) smtp.mailfrom=jobs@example.com;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com"
)
GMAIL_FAILING = (  # SHAPE: Gmail, a message sent through an unaligned relay
    "mx.google.com; dkim=pass header.i=@relay.example.net header.s=s1 header.b=AbCdEf12; "
    "spf=softfail (google.com: domain of transitioning jobs@example.com does not designate "
    "198.51.100.7 as permitted sender) smtp.mailfrom=jobs@example.com; "
    "dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=example.com"
)
MICROSOFT = (  # SHAPE: Microsoft 365 / Outlook.com: no authserv-id, action= and compauth
    "spf=pass (sender IP is 192.0.2.25) smtp.mailfrom=example.com; dkim=pass (signature was "
    "verified) header.d=example.com;dmarc=pass action=none header.from=example.com;"
    "compauth=pass reason=100"
)
MICROSOFT_FAILING = (  # SHAPE: Microsoft 365 quarantining a spoof
    "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=example.com; dkim=none (message not "
    "signed) header.d=none;dmarc=fail action=quarantine header.from=example.com;"
    "compauth=fail reason=000"
)
FASTMAIL = (  # SHAPE: Fastmail (mx.messagingengine.com), with its version number and x-* methods
    "mx3.messagingengine.com;\r\n"
    "    dkim=pass (2048-bit rsa key sha256) header.d=example.com header.i=@example.com "
    "header.b=Kp0zT3Qa header.a=rsa-sha256 header.s=fm1 x-bits=2048;\r\n"
    "    dmarc=pass policy.published-domain-policy=reject policy.applied-disposition=none "
    "policy.evaluated-disposition=none (p=reject,d=none,d.eval=none) policy.policy-from=p "
    "header.from=example.com;\r\n"
    "    iprev=pass smtp.remote-ip=192.0.2.25 (mail.example.com);\r\n"
    "    spf=pass smtp.mailfrom=jobs@example.com smtp.helo=mail.example.com;\r\n"
    "    x-aligned-from=pass (Address match);\r\n"
    "    x-me-sender=none;\r\n"
    "    x-ptr=pass smtp.helo=mail.example.com policy.ptr=mail.example.com"
)
ARC = (  # SHAPE: the ARC-Authentication-Results Gmail adds, with its instance
    "i=1; mx.google.com; dkim=pass header.i=@example.com header.s=s1 header.b=Zz9;"
    " spf=pass (google.com: domain of jobs@example.com designates 192.0.2.25 as permitted"
    " sender) smtp.mailfrom=jobs@example.com; dmarc=pass (p=REJECT sp=REJECT dis=NONE)"
    " header.from=example.com; arc=none"
)


def test_gmail() -> None:
    header = parse(GMAIL)
    assert header.authserv_id == "mx.google.com"
    assert header.summary() == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    spf = header.first("spf")
    assert spf is not None and spf.get("smtp.mailfrom") == "jobs@example.com"
    assert "designates 192.0.2.25 as permitted sender" in spf.comment
    dkim = header.first("dkim")
    assert dkim is not None
    assert (dkim.get("header.i"), dkim.get("header.s")) == ("@example.com", "20230601")
    dmarc = header.first("dmarc")
    assert dmarc is not None and dmarc.get("header.from") == "example.com"
    assert dmarc.comment == "p=REJECT sp=REJECT dis=NONE"


def test_gmail_failing_dmarc() -> None:
    header = parse(GMAIL_FAILING)
    assert header.summary() == {"spf": "softfail", "dkim": "pass", "dmarc": "fail"}
    dkim = header.first("dkim")
    assert dkim is not None and dkim.get("header.i") == "@relay.example.net"


def test_microsoft_without_authserv_id() -> None:
    header = parse(MICROSOFT)
    assert header.authserv_id == ""
    assert header.summary() == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    dmarc = header.first("dmarc")
    assert dmarc is not None
    assert dmarc.get("action") == "none" and dmarc.get("header.from") == "example.com"
    compauth = header.first("compauth")
    assert compauth is not None and (compauth.result, compauth.reason) == ("pass", "100")


def test_microsoft_failing() -> None:
    header = parse(MICROSOFT_FAILING)
    assert header.summary() == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    dmarc = header.first("dmarc")
    assert dmarc is not None and dmarc.get("action") == "quarantine"
    dkim = header.first("dkim")
    assert dkim is not None and dkim.comment == "message not signed"


def test_fastmail() -> None:
    header = parse(FASTMAIL)
    assert header.authserv_id == "mx3.messagingengine.com"
    assert header.summary() == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    methods = [result.method for result in header.results]
    assert methods == ["dkim", "dmarc", "iprev", "spf", "x-aligned-from", "x-me-sender", "x-ptr"]
    dmarc = header.first("dmarc")
    assert dmarc is not None and dmarc.get("policy.published-domain-policy") == "reject"
    dkim = header.first("dkim")
    assert dkim is not None and dkim.get("x-bits") == "2048"
    assert header.skipped == ()


def test_arc_authentication_results() -> None:
    header = parse("ARC-Authentication-Results: " + ARC)
    assert header.instance == 1 and header.authserv_id == "mx.google.com"
    assert header.result("arc") == "none" and header.dmarc == "pass"


# --- Choosing the receiving server's header ---------------------------------------------------

FORGED = "mx.google.com; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com"
MESSAGE = (
    b"Delivered-To: candidate@gmail.com\r\n"
    b"Authentication-Results: mx.google.com;\r\n"
    b"       spf=fail smtp.mailfrom=example.com;\r\n"
    b"       dmarc=fail (p=NONE) header.from=example.com\r\n"
    b"Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.com\r\n"
    b"From: Hiring <jobs@example.com>\r\n"
    b"Subject: Your interview\r\n"
    b"\r\n"
    b"Authentication-Results: body.example; spf=pass\r\n"
)


def test_the_first_header_is_the_receiving_servers() -> None:
    found = authresults.from_header(MESSAGE)
    assert found is not None and found.authserv_id == "mx.google.com"
    assert found.summary() == {"spf": "fail", "dkim": None, "dmarc": "fail"}


def test_a_known_authserv_id_chooses_the_header() -> None:
    found = authresults.from_header(MESSAGE, authserv_id="RELAY.example.net")
    assert found is not None and found.spf == "pass"
    assert authresults.from_header(MESSAGE, authserv_id="other.example") is None
    assert select([], None) is None


def test_a_header_claiming_the_receivers_id_further_down_is_not_chosen_first() -> None:
    """A sender can write any header it likes, even one naming mx.google.com; the receiving
    server's own is on top, and it is the one chosen."""
    values = ["mx.google.com; dmarc=fail header.from=example.com", FORGED]
    chosen = select(values, "mx.google.com")
    assert chosen is not None and chosen.dmarc == "fail"


def test_header_fields_unfold_and_stop_at_the_body() -> None:
    fields = authresults.header_fields(MESSAGE)
    names = [name for name, _ in fields]
    assert names == [
        "Delivered-To",
        "Authentication-Results",
        "Authentication-Results",
        "From",
        "Subject",
    ]
    assert fields[1][1] == (
        "mx.google.com; spf=fail smtp.mailfrom=example.com; dmarc=fail (p=NONE) "
        "header.from=example.com"
    )
    assert authresults.header_values(MESSAGE.decode(), "from") == ["Hiring <jobs@example.com>"]
    assert authresults.results_of([parse(v) for _, v in fields[1:3]], "spf") == ["fail", "pass"]


# --- Leniency and properties ---------------------------------------------------------------------


def test_unreadable_parts_are_skipped_up_to_the_next_semicolon() -> None:
    header = parse('mx.example; spf=pass; ??? garbage "quoted ; inside"; dkim=fail; =; dmarc=pass')
    assert [r.method for r in header.results] == ["spf", "dkim", "dmarc"]
    assert header.skipped and "garbage" in header.skipped[0]


def test_unclosed_comment_and_quote() -> None:
    assert parse("mx.example; spf=pass (unclosed").spf == "pass"
    header = parse('mx.example; dkim=pass reason="unclosed')
    assert header.dkim == "pass"
    dkim = header.first("dkim")
    assert dkim is not None and dkim.reason == "unclosed"


def test_results_and_methods_are_lower_case() -> None:
    header = parse("MX.Example; SPF=PASS smtp.MailFrom=Jobs@Example.com; DMARC=Fail")
    spf = header.first("spf")
    assert spf is not None and spf.result == "pass"
    assert spf.properties == (("smtp.mailfrom", "Jobs@Example.com"),)  # the value as written
    assert header.dmarc == "fail"


def test_a_huge_header_is_cut() -> None:
    header = parse("mx.example; " + "spf=pass; " * 20_000)
    assert len(header.results) < 20_000 and header.spf == "pass"


_HEADER_ALPHABET = st.sampled_from(
    [*list('abcdefxyz019.-_@/=;()"\\ \t\r\n'), "spf", "dkim", "dmarc", "none", "pass", "reason"]
)


@settings(max_examples=400)
@given(st.text())
def test_any_text_parses(text: str) -> None:
    header = parse(text)
    assert isinstance(header, AuthResults)
    assert header.raw == text
    for result in header.results:
        assert result.method == result.method.lower() and result.method


@settings(max_examples=400)
@given(st.lists(_HEADER_ALPHABET, max_size=60).map("".join))
def test_any_header_like_text_parses(text: str) -> None:
    header = parse(text)
    assert all(result.result for result in header.results)
    assert header.result("spf") in (None, *{r.result for r in header.all("spf")})


@settings(max_examples=200)
@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=10)))
def test_any_header_block_reads(block: bytes, authserv_id: str | None) -> None:
    fields = authresults.header_fields(block)
    assert all(name and ":" not in name for name, _ in fields)
    found = authresults.from_header(block, authserv_id)
    if found is not None and authserv_id is not None:
        assert found.authserv_id.lower() == authserv_id.strip().lower()
