"""`mailcheck demo` end to end, as a user runs it from a clone: it shows what it promises and
leaves no process, port or file behind."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_folders(temporary: Path) -> set[str]:
    return {p.name for p in temporary.glob("mailcheck-demo-*")}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def test_demo_shows_success_and_the_535_diagnosis_and_cleans_up(tmp_path: Path) -> None:
    # The test's own folder as the demo's temporary folder, so that what it leaves behind is
    # told apart from what another run on the machine (a second suite of .ci/run's matrix) has.
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "MAILCHECK_"))
    }
    environment["TMPDIR"] = str(tmp_path)
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", "demo"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = completed.stdout
    print(out[-4000:], completed.stderr)
    assert completed.returncode == 0
    assert completed.stderr == ""
    # config on .env.example, then both send-test runs, then session and sessions
    assert "config.E012  EMAIL_HOST_USER='your-email@gmail.com' looks like a placeholder" in out
    assert "smtp.I008  --to: message from demo.recruiter@gmail.com" in out
    assert "The test message was accepted" in out
    assert "smtp.E012  EMAIL_HOST_PASSWORD: Gmail refused the user name and password" in out
    assert "reply: 535-5.7.8 Username and Password not accepted" in out
    assert "scheduled (IST)   Mon 04 Mar 2030, 15:00 IST" in out
    assert "mailcheck sessions: 6 interviews" in out
    # the round trip: once in the inbox, once in spam with DMARC failing
    assert "delivery.I001  --confirm: the test message arrived in INBOX after " in out
    assert "the receiving server says: spf=pass, dkim=pass, dmarc=pass" in out
    assert "delivery.E001  --confirm: the test message arrived in the spam folder Junk" in out
    assert "delivery.E003  dmarc: DMARC fail for acme-hiring.example" in out
    assert out.count("✓ ") >= 9 and "✗ the" not in out and "✗ both" not in out
    # cleaned up: the ports are free, the temporary folder gone, no child left running
    ports = re.search(r"the SMTP server on port (\d+), the IMAP server on port (\d+)", out)
    assert ports is not None
    for port in ports.groups():  # nothing listens there (TIME_WAIT may keep bind() from it)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0
    assert demo_folders(tmp_path) == set()
    assert processes_mentioning(f"{tmp_path}/mailcheck-demo-") == []
    # the secrets of the demo never appear
    assert "Summer-2024!" not in out and "wxyz abcd" not in out
    assert "candidate-mailbox-password" not in out and "company-app-password" not in out


def test_demo_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    """aiosmtpd made unimportable, as on a machine without the demo extra."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['aiosmtpd'] = None\n"
            "sys.argv = ['mailcheck', 'demo']\n"
            "from interview_mailcheck.cli import main; main()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        "mailcheck: error: the demo needs its local SMTP server parts: "
        "pip install 'interview-mailcheck[demo]'\n"
    )
