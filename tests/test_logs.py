"""`mailcheck logs` beyond the fixture files: input kinds and errors, --since, --limit, the
reader's block boundaries, and how interleaved requests are untangled."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, RunCli

from interview_mailcheck import logcorrelate
from interview_mailcheck.adapters.logfile import read_blocks
from interview_mailcheck.checks import credentials, transport
from interview_mailcheck.checks import logs as log_checks
from interview_mailcheck.logscan import (
    MAX_LINE,
    Created,
    Failed,
    MailError,
    NotSent,
    Sent,
    Tally,
    parse_line,
    read_events,
)

LOGS = FIXTURES / "logs"
CLEAN = LOGS / "emoji_clean.log"
COMPRESSED = LOGS / "compressed.log.gz"


def rows(document: dict[str, object]) -> list[tuple[str, str]]:
    interviews = document["interviews"]
    assert isinstance(interviews, list)
    return [(row["interview_id"], row["outcome"]) for row in interviews]


# --- Input ----------------------------------------------------------------------------------


def test_gzip_is_recognised_by_its_magic_bytes_not_its_name(
    run_cli: RunCli, tmp_path: Path
) -> None:
    rotated = tmp_path / "app.log.1"
    rotated.write_bytes(COMPRESSED.read_bytes())
    named = run_cli("logs", COMPRESSED, "--json").json()
    unnamed = run_cli("logs", rotated, "--json").json()
    assert rows(unnamed) == rows(named) == [("401", "sent"), ("402", "no email")]


def test_concatenated_gzip_members_are_read_whole(run_cli: RunCli, tmp_path: Path) -> None:
    """`cat app.log.2.gz app.log.1.gz > both.gz` is valid gzip, zero padding after it too."""
    both = tmp_path / "both.gz"
    both.write_bytes(
        gzip.compress(CLEAN.read_bytes(), mtime=0) + COMPRESSED.read_bytes() + b"\0" * 8
    )
    result = run_cli("logs", both, "--json")
    assert [interview for interview, _ in rows(result.json())] == [
        "101", "102", "103", "104", "105", "106", "107", "401", "402",
    ]  # fmt: skip


def _mailcheck(*args: str, stdin: bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "MAILCHECK_"))},
        timeout=60,
    )


def test_standard_input_plain_and_compressed(tmp_path: Path) -> None:
    plain = _mailcheck("logs", "-", "--json", stdin=CLEAN.read_bytes(), cwd=tmp_path)
    assert plain.returncode == 1
    assert plain.stderr == b""
    document = json.loads(plain.stdout)
    assert rows(document)[:2] == [("101", "sent"), ("102", "failed")]
    assert document["summary"]["interviews"] == 7
    packed = _mailcheck("logs", "-", stdin=gzip.compress(CLEAN.read_bytes()), cwd=tmp_path)
    assert packed.returncode == 1
    text = packed.stdout.decode()
    assert text.startswith("mailcheck logs: standard input, 32 lines; 7 interviews")
    assert "Traceback" not in packed.stderr.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x1f\x8bnot really gzip at all", "log file is not valid gzip data"),
        (gzip.compress(b"x" * 5000)[:-4], "log file is truncated gzip data"),
        (b"\x1f\x8b", "log file is truncated gzip data"),
    ],
    ids=["corrupt", "truncated", "magic only"],
)
def test_bad_gzip_is_one_line_and_exit_2(
    content: bytes, message: str, run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "app.log.gz"
    path.write_bytes(content)
    result = run_cli("logs", path, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mailcheck: error: {message}")
    assert str(path) in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_missing_file_and_directory(run_cli: RunCli, tmp_path: Path) -> None:
    missing = run_cli("logs", tmp_path / "gone.log")
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert missing.stderr == f"mailcheck: error: log file not found: {tmp_path / 'gone.log'}\n"
    folder = run_cli("logs", tmp_path)
    assert folder.exit_code == 2
    assert folder.stderr == f"mailcheck: error: log file is a directory, not a file: {tmp_path}\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("x\n")
    path.chmod(0)
    result = run_cli("logs", path)
    assert result.exit_code == 2
    assert "permission denied" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_read_error_is_one_line(run_cli: RunCli) -> None:
    """Reading /proc/self/mem from offset 0 fails with EIO: a real I/O error, root or not."""
    result = run_cli("logs", "/proc/self/mem")
    assert result.exit_code == 2
    assert result.stderr.startswith("mailcheck: error: log file cannot be read: /proc/self/mem")
    assert len(result.stderr.splitlines()) == 1


def test_empty_log(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    result = run_cli("logs", path, "--json")
    assert result.exit_code == 0
    assert result.ids() == ["logs.I001"]
    assert result.json()["summary"]["lines"] == 0


# --- --since -----------------------------------------------------------------------------------


def test_since_keeps_the_lines_at_or_after_it(run_cli: RunCli) -> None:
    result = run_cli("logs", CLEAN, "--since", "2024-11-26 09:15", "--json")
    assert rows(result.json()) == [
        ("104", "not sent"),
        ("105", "not sent"),
        ("106", "no email"),
        ("107", "sent"),
    ]
    assert result.ids() == ["logs.E002", "logs.E003", "logs.E003", "logs.W001"]
    assert "app lines before 2024-11-26 09:15 skipped" in run_cli("logs", CLEAN, "--since",
        "2024-11-26 09:15").stdout  # fmt: skip


def test_since_with_a_zone_compares_wall_clock_with_naive_stamps(run_cli: RunCli) -> None:
    result = run_cli("logs", CLEAN, "--since", "2024-11-26T09:29:59+05:30", "--json")
    assert rows(result.json()) == [("107", "sent")]


def test_since_traceback_lines_go_with_the_line_before_them(run_cli: RunCli) -> None:
    """The tracebacks have no timestamp: each goes with its failure line, kept or skipped."""
    result = run_cli("logs", LOGS / "smtp_errors.log", "--since", "2024-11-27 11:08", "--json")
    document = result.json()
    assert [interview for interview, _ in rows(document)] == [str(n) for n in range(308, 316)]
    reasons = [row["reason"] for row in document["interviews"]]
    assert "WRONG_VERSION_NUMBER" in reasons[0]
    assert "certificate did not verify" in reasons[1]


def test_since_after_the_end_leaves_nothing(run_cli: RunCli) -> None:
    result = run_cli("logs", CLEAN, "--since", "2025-01-01", "--json")
    assert (result.exit_code, result.ids()) == (0, ["logs.I001"])
    assert "at or after 2025-01-01" in result.json()["findings"][0]["message"]


def test_since_on_a_log_without_timestamps_warns_and_keeps_everything(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "plain.log"
    path.write_text(
        "InterviewSession created for interview 9, session_key: k9\n"
        "Email sent to n@example.org with interview link: https://x.example/?session_key=k9\n"
    )
    result = run_cli("logs", path, "--since", "2024-11-26", "--json")
    assert rows(result.json()) == [("9", "sent")]
    assert result.ids() == ["logs.W002"]
    assert (result.exit_code, run_cli("logs", path, "--since", "2024-11-26", "--strict")
            .exit_code) == (0, 1)  # fmt: skip


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("yesterday", "is not a date or time: use YYYY-MM-DD"),
        ("26/11/2024", "is not a date or time: use YYYY-MM-DD"),
        ("2024-13-01", "is not a real date and time"),
        ("2024-11-26T10:00:00+99:00", "the offset +99:00 is a day or more"),
        ("0001-01-01T00:00+05:00", "is not a real date and time that mailcheck can compare"),
    ],
)
def test_since_that_is_not_a_timestamp_is_a_usage_error(
    value: str, why: str, run_cli: RunCli
) -> None:
    result = run_cli("logs", CLEAN, "--since", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mailcheck: error: --since {value!r}")
    assert why in result.stderr and len(result.stderr.splitlines()) == 1


# --- Output ---------------------------------------------------------------------------------


def test_json_document(run_cli: RunCli) -> None:
    result = run_cli("logs", CLEAN, "--json")
    document = result.json()
    assert document["command"] == "logs"
    assert document["summary"] == {
        "errors": 5,
        "warnings": 1,
        "infos": 0,
        "lines": 32,
        "interviews": 7,
        "sent": 2,
        "failed": 1,
        "not_sent": 3,
        "no_email": 1,
    }
    first, failed = document["interviews"][:2]
    assert first == {
        "interview_id": "101",
        "outcome": "sent",
        "email": "asha.rao@example.org",
        "reason": None,
        "time": "2024-11-26 09:00:02,210",
        "session_key": "9f1c2b7e4d5a6b7c8d9e0f1a2b3c4d5e",
        "link": "https://interviews.acme.io/?session_key=9f1c2b7e4d5a6b7c8d9e0f1a2b3c4d5e",
        "line": 2,
    }
    send_failure = next(f for f in document["findings"] if f["id"] == "logs.E001")
    assert send_failure["interview_id"] == "102"
    assert send_failure["evidence"]["provider"] == "Gmail / Google Workspace"
    assert send_failure["evidence"]["line"] == 17
    assert send_failure["evidence"]["error"].startswith("smtplib.SMTPAuthenticationError: (535")
    assert "App Password" in send_failure["hint"]
    assert failed["reason"].startswith("535 5.7.8: Gmail refused the user name and password")


def test_email_not_sent_is_explained_by_the_config_rule(run_cli: RunCli) -> None:
    findings = run_cli("logs", CLEAN, "--json").json()["findings"]
    not_sent = [f for f in findings if f["id"] == "logs.E003"]
    causes = [
        transport.BACKEND_NOT_SENDING,
        transport.HOST_MISSING,
        credentials.CREDENTIALS_INCOMPLETE,
    ]
    assert [f["evidence"]["config_finding"] for f in not_sent] == [rule.id for rule in causes]
    assert [f["interview_id"] for f in not_sent] == ["103", "104", "105"]
    for finding, rule in zip(not_sent, causes, strict=True):
        assert f"({rule.id}: {rule.title})" in finding["message"]
        assert f"mailcheck explain {rule.id}" in finding["hint"]
    assert not_sent[0]["hint"].startswith(transport.BACKEND_NOT_SENDING.hint)


def test_localhost_link_is_a_warning_that_strict_fails(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "local.log"
    path.write_text(
        "InterviewSession created for interview 5, session_key: k5\n"
        "Email sent to e@example.org with interview link: http://0.0.0.0:8000/?session_key=k5\n"
    )
    result = run_cli("logs", path, "--json")
    assert (result.exit_code, result.ids()) == (0, ["logs.W001"])
    assert "0.0.0.0" in result.json()["findings"][0]["message"]
    assert run_cli("logs", path, "--strict").exit_code == 1


def test_limit_lists_the_first_interviews_and_counts_the_rest(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "many.log"
    path.write_text(
        "".join(
            f"InterviewSession created for interview {n}, session_key: k{n}\n" for n in range(30)
        )
    )
    result = run_cli("logs", path, "--limit", "5", "--json")
    document = result.json()
    assert result.exit_code == 1
    assert [interview for interview, _ in rows(document)] == ["0", "1", "2", "3", "4"]
    assert document["summary"]["interviews"] == document["summary"]["no_email"] == 30
    assert result.ids() == ["logs.E002"] * 5 + ["logs.E004"]
    more = document["findings"][-1]
    assert more["message"] == (
        "25 more findings logs.E002 (A session was created but no email was sent for it) are "
        "not listed (--limit 5)"
    )
    assert len(run_cli("logs", path, "--limit", "0", "--json").json()["interviews"]) == 30
    assert "the first 5 listed" in run_cli("logs", path, "--limit", "5").stdout


# --- The reader -----------------------------------------------------------------------------


def events(path: Path, block_size: int) -> tuple[list[object], int]:
    tally = Tally()
    found: list[object] = list(read_events(read_blocks(str(path), block_size), tally))
    return found, tally.lines


@pytest.mark.parametrize("path", sorted(LOGS.glob("*.log*")), ids=lambda path: path.name)
def test_block_boundaries_change_nothing(path: Path) -> None:
    """Lines and tracebacks cut by the end of a block are read whole from the next one."""
    whole = events(path, 1 << 20)
    assert whole[1] > 0
    for block_size in (1, 2, 7, 64, 333):
        assert events(path, block_size) == whole, block_size


def test_a_line_longer_than_the_limit_is_cut_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(
        b"x" * (3 * MAX_LINE)
        + b"\nInterviewSession created for interview 1, session_key: k1\n"
        + b"y" * (2 * MAX_LINE)
    )
    tally = Tally()
    found = list(read_events(read_blocks(str(path), 4096), tally))
    assert found == [Created(2, None, "1", "k1")]
    assert tally.lines == 3


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    raise SMTPAuthenticationError(code, resp)", None),
        ("    except smtplib.SMTPException:", None),
        ('  File "/usr/lib/python3.11/smtplib.py", line 750, in login', None),
        (
            "ERROR Error: SMTPRecipientsRefused({'x@y.org': (550, b'5.1.1 No such user')})",
            (550, "5.1.1 No such user"),
        ),
        (
            "smtplib.SMTPDataError: (554, b'5.7.1 Message rejected')",
            (554, "5.7.1 Message rejected"),
        ),
        (
            "OSError: [Errno 101] Network is unreachable",
            (None, "[Errno 101] Network is unreachable"),
        ),
    ],
)
def test_exception_lines(line: str, expected: tuple[int | None, str] | None) -> None:
    event, _ = parse_line(1, line.encode())
    if expected is None:
        assert event is None
    else:
        assert isinstance(event, MailError)
        assert (event.code, event.text) == expected


# --- Interleaved requests -------------------------------------------------------------------


def outcomes(*lines: object) -> list[tuple[str | None, str, str | None]]:
    rows = log_checks.check_log(lines).rows  # type: ignore[arg-type]
    return [(r["interview_id"], r["outcome"], r["email"]) for r in rows]


def created(line: int, number: int) -> Created:
    return Created(line, None, str(number), f"k{number}")


def sent(line: int, number: int) -> Sent:
    return Sent(line, None, f"c{number}@x.org", f"https://x.org/?session_key=k{number}")


def test_a_failure_guessed_wrong_moves_along_the_waiting_interviews() -> None:
    assert outcomes(
        created(1, 1), created(2, 2), created(3, 3),
        Failed(4, None, "c1@x.org", None),  # guessed: 3, the most recent waiting
        sent(5, 3),  # 3 got its own email: the failure was 2's or 1's
        sent(6, 2),  # 2 too: it was 1's
    ) == [
        ("1", "failed", "c1@x.org"),
        ("2", "sent", "c2@x.org"),
        ("3", "sent", "c3@x.org"),
    ]  # fmt: skip


def test_email_not_sent_guessed_wrong_moves_too_but_stays_when_alone() -> None:
    assert outcomes(
        created(1, 1), created(2, 2), NotSent(3, None, "EMAIL_HOST is not set"), sent(4, 2)
    ) == [("1", "not sent", None), ("2", "sent", "c2@x.org")]
    # Alone, the console backend logs both lines for the same interview: it stays not sent.
    assert outcomes(created(1, 1), NotSent(2, None, "EMAIL_BACKEND is 'console'"), sent(3, 1)) == [
        ("1", "not sent", "c1@x.org")
    ]


def test_a_long_stale_interview_does_not_receive_a_moved_guess() -> None:
    stale = [created(1, 0)]
    busy = [event for n in range(1, 40) for event in (created(2 * n, n), sent(2 * n + 1, n))]
    result = outcomes(
        *stale, *busy, created(100, 99), Failed(101, None, "other@x.org", None), sent(102, 99)
    )
    assert result[0] == ("0", "no email", None)
    assert result[-1] == ("99", "sent after a failure", "c99@x.org")


def test_interviews_beyond_the_open_window_are_judged_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logcorrelate, "OPEN_WINDOW", 3)
    result = outcomes(*(created(n, n) for n in range(1, 6)), sent(6, 1))
    # Interview 1 was judged when 4 opened; its late email opens an entry of unknown id.
    assert result == [
        ("1", "no email", None),
        ("2", "no email", None),
        ("3", "no email", None),
        ("4", "no email", None),
        ("5", "no email", None),
        (None, "sent", "c1@x.org"),
    ]


def test_email_not_sent_with_no_interview_and_an_unknown_cause(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "startup.log"
    path.write_text("WARNING 2024-11-26 08:00:00,000 [EMAIL NOT SENT] sending paused by an admin\n")
    result = run_cli("logs", path, "--json")
    assert (result.exit_code, result.ids()) == (1, ["logs.E003"])
    finding = result.json()["findings"][0]
    assert finding["subject"] == "line 1"
    assert "interview_id" not in finding
    assert finding["hint"] == "Run `mailcheck config` to check the email settings"
    assert result.json()["interviews"] == []
