"""`mailcheck doctor` end to end: a loopback SMTP server, a loopback nameserver, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import Run, RunCli
from support.nameserver import Nameserver, load_zones

from interview_mailcheck.loopback import LoopbackSMTP

ZONES = Path(__file__).parent / "fixtures" / "dns"
USER, PASSWORD = "hiring@good.test", "correct-horse-battery"


@pytest.fixture(scope="module")
def nameserver() -> Iterator[Nameserver]:
    with Nameserver(load_zones(ZONES)) as server:
        yield server


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackSMTP]:
    ca = trustme.CA()
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as server:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file())
        yield server


def env_file(folder: Path, port: int, **overrides: str) -> Path:
    values = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "True",
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "DEFAULT_FROM_EMAIL": f"Hiring <{USER}>",
        "EMAIL_TIMEOUT": "2",
        **overrides,
    }
    path = folder / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def sections(result: Run) -> dict[str, dict[str, object]]:
    return {row["section"]: row for row in result.json()["sections"]}


def test_all_green(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 0
    status = {name: row["status"] for name, row in sections(result).items()}
    assert status == {"config": "ok", "dns": "ok", "send-test": "ok", "django": "skipped"}
    assert "--settings" in str(sections(result)["django"]["reason"])
    assert smtp.login_attempts == [USER] and smtp.messages == []  # login only by default
    assert {f["section"] for f in result.json()["findings"]} == {"send-test"}
    assert all(row["duration_ms"] >= 0 for row in result.json()["sections"])


def test_send_sends_the_message(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    args = ("doctor", "--env-file", path, "--nameserver", nameserver.address, "--send")
    result = run_cli(*args, "--to", "candidate@elsewhere.test")
    assert result.exit_code == 0
    assert [message.recipients for message in smtp.messages] == [["candidate@elsewhere.test"]]
    assert result.stdout.rstrip().endswith("every section passed.")
    # Sent to the account itself, it passes with a warning: a sandbox would hide behind it.
    to_self = run_cli(*args, "--json")
    assert (to_self.exit_code, sections(to_self)["send-test"]["status"]) == (0, "warning")
    assert "smtp.W003" in to_self.ids()


def test_doctor_gives_the_envelope_by_default(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 0 and smtp.messages == []
    envelope = next(f for f in result.json()["findings"] if f["id"] == "smtp.I011")
    assert envelope["message"] == (
        f"MAIL FROM {USER} and RCPT TO {USER} accepted, then RSET: nothing was sent"
    )


def test_config_error_fails_and_skips_send_test(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(
        tmp_path, smtp.port, EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend"
    )
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 1
    rows = sections(result)
    assert rows["config"]["status"] == "failed" and rows["config"]["errors"] == 1
    assert rows["dns"]["status"] == "ok"
    assert rows["send-test"]["status"] == "skipped"
    assert "configuration has errors" in str(rows["send-test"]["reason"])
    assert smtp.login_attempts == []


def test_dns_failure_is_its_section(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port, DEFAULT_FROM_EMAIL="hiring@nomx.test")
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 1
    rows = sections(result)
    assert rows["dns"]["status"] == "failed"
    assert rows["send-test"]["status"] == "ok"
    failed = [f for f in result.json()["findings"] if f["level"] == "error"]
    assert [(f["id"], f["section"]) for f in failed] == [("dns.E002", "dns")]


def test_host_without_address_skips_send_test(
    nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, 587, EMAIL_HOST="smtp.nohost.test")
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 1
    rows = sections(result)
    assert rows["dns"]["status"] == "failed"
    assert rows["send-test"]["status"] == "skipped"
    assert "has no address" in str(rows["send-test"]["reason"])


def test_login_failure_is_the_send_test_section(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port, EMAIL_HOST_PASSWORD="wrong-password-here")
    result = run_cli("doctor", "--env-file", path, "--nameserver", nameserver.address, "--json")
    assert result.exit_code == 1
    assert sections(result)["send-test"]["status"] == "failed"
    error = next(f for f in result.json()["findings"] if f["level"] == "error")
    assert (error["id"], error["section"], error["step"]) == ("smtp.E012", "send-test", "login")


def test_github_format_and_junit(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(
        tmp_path,
        smtp.port,
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        DEFAULT_FROM_EMAIL="hiring@nodmarc.test",
    )
    junit = tmp_path / "reports" / "mailcheck.xml"
    junit.parent.mkdir()
    result = run_cli(
        "doctor",
        "--env-file",
        path,
        "--nameserver",
        nameserver.address,
        "--format",
        "github",
        "--junit",
        junit,
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    error = next(line for line in lines if line.startswith("::error "))
    assert error.startswith(
        f"::error title=config.E001,file={path},line=1::EMAIL_BACKEND is the console"
    )
    assert "Fix: Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend" in error
    warning = next(line for line in lines if line.startswith("::warning "))
    assert warning.startswith("::warning title=dns.W003::")
    assert not any(line.startswith("::notice") for line in lines)  # infos only with -v
    # The plain report follows for the log, where no line can be a workflow command.
    stop = next(line for line in lines if line.startswith("::stop-commands::"))
    token = stop.removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert lines[-2].startswith("✗ FAIL")

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"config", "dns", "send-test", "django"}
    backend = suites["config"].find("testcase[@name='backend']")
    assert backend is not None
    failure = backend.find("failure")
    assert failure is not None and failure.get("type") == "config.E001"
    assert "fix: Set EMAIL_BACKEND" in (failure.text or "")
    assert suites["config"].get("failures") == "1"
    skipped = suites["send-test"].find("testcase/skipped")
    assert skipped is not None and "configuration has errors" in (skipped.get("message") or "")
    dmarc = suites["dns"].find("testcase[@name='DMARC of nodmarc.test']")
    assert dmarc is not None and dmarc.find("failure") is None  # a warning, not a failure
    assert "dns.W003" in (dmarc.findtext("system-out") or "")
    assert root.get("tests") == str(sum(int(s.get("tests") or 0) for s in root))


def test_format_junit_to_a_file_records_every_check(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    report = tmp_path / "doctor.xml"
    args = ("--env-file", path, "--nameserver", nameserver.address, "--format", "junit")
    result = run_cli("doctor", *args, "--output", report)
    assert (result.exit_code, result.stdout) == (0, "")
    root = ET.parse(report).getroot()
    suites = {suite.get("name"): suite for suite in root}
    assert list(suites) == ["config", "dns", "send-test", "django"]
    cases = {name: [case.get("name") for case in suite] for name, suite in suites.items()}
    assert cases["config"] == [
        "env_file",
        "shadowing",
        "email_url",
        "shapes",
        "backend",
        "host",
        "values",
        "placeholders",
        "mode",
        "client_certificate",
        "credentials",
        "addresses",
        "provider",
        "client_certificate_files",
    ]
    assert cases["dns"] == ["MX of good.test", "SPF of good.test", "DMARC of good.test"]
    assert cases["send-test"] == [
        "resolve",
        "connect",
        "greet",
        "starttls",
        "certificate",
        "login",
        "envelope",
    ]
    django = suites["django"].find("testcase/skipped")
    assert django is not None and "no --settings" in (django.get("message") or "")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("25", "0", "1")


def test_junit_for_a_single_command(tmp_path: Path, run_cli: RunCli) -> None:
    """Any command's report is JUnit on request: one suite, a case per check."""
    report = tmp_path / "config.xml"
    env = tmp_path / ".env"
    env.write_text("EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend\n")
    result = run_cli("config", "--env-file", env, "--format", "junit", "-o", report)
    assert (result.exit_code, result.stdout) == (1, "")
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "config"
    backend = suite.find("testcase[@name='backend']/failure")
    assert backend is not None and backend.get("type") == "config.E001"


def test_only_and_skip_choose_the_sections(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    args = ("--env-file", path, "--nameserver", nameserver.address, "--json")
    only = run_cli("doctor", *args, "--only", "dns", "--only", "config")
    assert {name: row["status"] for name, row in sections(only).items()} == {
        "config": "ok",
        "dns": "ok",
        "send-test": "skipped",
        "django": "skipped",
    }
    assert sections(only)["send-test"]["reason"] == "left out (--only dns, config)"
    assert smtp.login_attempts == []
    skip = run_cli("doctor", *args, "--skip", "smtp")  # the area's name works too
    assert sections(skip)["send-test"]["reason"] == "left out (--skip send-test)"
    assert sections(skip)["dns"]["status"] == "ok" and smtp.login_attempts == []
    bad = run_cli("doctor", *args, "--only", "nope")
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr.startswith("mailcheck: error: --only 'nope' is not one of doctor's sections")


def test_github_escapes_newlines_and_percent() -> None:
    from interview_mailcheck.findings import Finding, Level
    from interview_mailcheck.render.github import annotation

    finding = Finding("smtp.E012", Level.ERROR, "100% refused\nreally", "retry, later", "X")
    assert (
        annotation(finding, {})
        == "::error title=smtp.E012::100%25 refused%0Areally Fix: retry, later"
    )


def test_unwritable_junit_path_is_a_usage_error(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path, run_cli: RunCli
) -> None:
    path = env_file(tmp_path, smtp.port)
    result = run_cli(
        "doctor",
        "--env-file",
        path,
        "--nameserver",
        nameserver.address,
        "--junit",
        tmp_path / "no" / "such" / "dir" / "x.xml",
    )
    assert result.exit_code == 2
    assert "cannot write the JUnit file" in result.stderr


# --- With the example Django project (in a subprocess: settings modules import once) ----------


def doctor_with_django(
    database: Path, smtp: LoopbackSMTP, nameserver: Nameserver, folder: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    from support.django_site import DATABASE_VARIABLE, SITE_ARGS

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO"))}
    environment.update(
        {
            DATABASE_VARIABLE: str(database),
            "SSL_CERT_FILE": smtp.ca_file(),
            # examples/interview_site/settings.py reads these with os.getenv()
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "localhost",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_USE_TLS": "True",
            "EMAIL_HOST_USER": USER,
            "EMAIL_HOST_PASSWORD": PASSWORD,
            "DEFAULT_FROM_EMAIL": USER,
        }
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "interview_mailcheck",
            "doctor",
            *SITE_ARGS,
            "--nameserver",
            nameserver.address,
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment,
        timeout=120,
    )


def test_django_section_audits_upcoming_interviews(
    smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path
) -> None:
    from support.django_site import NO_SESSION, ORPHAN_KEY, build_database

    database = build_database(tmp_path / "demo.sqlite3")
    before = database.read_bytes()
    junit = tmp_path / "junit.xml"
    completed = doctor_with_django(database, smtp, nameserver, tmp_path, "--junit", str(junit))
    print(completed.stdout[-3000:], completed.stderr)
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    rows = {row["section"]: row for row in document["sections"]}
    assert [rows[name]["status"] for name in ("config", "dns", "send-test")] == ["ok", "ok", "ok"]
    assert rows["django"]["status"] == "failed"
    assert document["summary"]["checked"] == 6
    django = [f for f in document["findings"] if f["section"] == "django"]
    assert {f.get("interview_id") for f in django if f["level"] == "error"} >= {
        NO_SESSION,
        ORPHAN_KEY,
    }
    suite = next(s for s in ET.parse(junit).getroot() if s.get("name") == "django")
    assert suite.find(f"testcase[@name='interview {ORPHAN_KEY}']/failure") is not None
    assert database.read_bytes() == before  # read-only


def test_django_all_green(smtp: LoopbackSMTP, nameserver: Nameserver, tmp_path: Path) -> None:
    from support.django_site import build_database

    database = build_database(tmp_path / "one.sqlite3", "--generate", "1")
    completed = doctor_with_django(
        database,
        smtp,
        nameserver,
        tmp_path,
        "--strict",
    )
    document = json.loads(completed.stdout)
    rows = {row["section"]: row["status"] for row in document["sections"]}
    # The app's link is http://127.0.0.1 (a warning, fixed in the app): --strict fails on it.
    assert rows == {"config": "ok", "dns": "ok", "send-test": "ok", "django": "warning"}
    assert completed.returncode == 1
    relaxed = doctor_with_django(database, smtp, nameserver, tmp_path)
    assert relaxed.returncode == 0
    assert json.loads(relaxed.stdout)["summary"]["checked"] == 1
