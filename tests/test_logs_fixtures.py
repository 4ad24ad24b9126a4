"""Every log under tests/fixtures/logs has a sibling `<name>.expect.json` that declares the exit
status, the finding ids, the summary counts and the per-interview summary it must produce.

A new case is two new files. Each expected interview is `[interview_id, outcome, email,
reason]`, where `reason` is a fragment the reported reason must contain (null: no reason).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, RunCli

LOG_FIXTURES = FIXTURES / "logs"
CASES = sorted(path for path in LOG_FIXTURES.iterdir() if ".expect." not in path.name)


def expectation(path: Path) -> dict[str, Any]:
    stem = path.name.split(".log")[0]
    expected: dict[str, Any] = json.loads((LOG_FIXTURES / f"{stem}.expect.json").read_text())
    return expected


def test_every_log_has_an_expectation_and_the_cases_cover_the_issue() -> None:
    assert len(CASES) >= 10
    for path in CASES:
        assert expectation(path)["exit"] in (0, 1)
    text = "".join(
        path.read_bytes().decode("utf-8", "replace") for path in CASES if path.suffix == ".log"
    )
    for marker in (
        "InterviewSession created for interview ",
        "Email sent to ",
        "Email sending failed for ",
        "[EMAIL NOT SENT] EMAIL_BACKEND is 'console'",
        "[EMAIL NOT SENT] EMAIL_HOST is not set",
        "[EMAIL NOT SENT] Email credentials incomplete",
        "Traceback (most recent call last):",
        "âœ…",  # ✅ read as Windows-1252
        "‚úÖ",  # ✅ read as Mac Roman
        "✅",
    ):
        assert marker in text, marker
    assert any(path.read_bytes()[:2] == b"\x1f\x8b" for path in CASES)


@pytest.mark.parametrize("path", CASES, ids=[path.name for path in CASES])
def test_fixture_log(path: Path, run_cli: RunCli) -> None:
    expected = expectation(path)
    result = run_cli("logs", path, "--json")
    assert result.exception is None
    assert result.exit_code == expected["exit"]
    assert result.stderr == ""
    document = result.json()
    assert result.ids() == expected["findings"]
    assert document["ok"] is (expected["exit"] == 0)
    summary = {key: document["summary"][key] for key in expected["summary"]}
    assert summary == expected["summary"]
    rows = document["interviews"]
    assert [[row["interview_id"], row["outcome"], row["email"]] for row in rows] == [
        interview[:3] for interview in expected["interviews"]
    ]
    for row, (*_, reason) in zip(rows, expected["interviews"], strict=True):
        if reason is None:
            assert row["reason"] is None, row
        else:
            assert reason in row["reason"], row


@pytest.mark.parametrize("path", CASES, ids=[path.name for path in CASES])
def test_findings_about_an_interview_carry_its_id(path: Path, run_cli: RunCli) -> None:
    document = run_cli("logs", path, "--json").json()
    known = {row["interview_id"] for row in document["interviews"]}
    for finding in document["findings"]:
        if finding["subject"].startswith("interview "):
            interview_id = finding["subject"].split(" ", 1)[1]
            assert finding["interview_id"] == interview_id
            assert interview_id in known


@pytest.mark.parametrize("path", CASES, ids=[path.name for path in CASES])
def test_fixture_log_as_text(path: Path, run_cli: RunCli) -> None:
    """Text shows the per-interview summary without -v, every finding with its fix, one verdict."""
    expected = expectation(path)
    result = run_cli("logs", path)
    assert result.exit_code == expected["exit"]
    lines = result.stdout.rstrip("\n").splitlines()
    assert lines[0].startswith(f"mailcheck logs: {path}, ")
    assert lines[-1].startswith("✗ FAIL" if expected["exit"] else "✓ OK")
    assert result.stdout.count("fix: ") == len(expected["findings"])
    table = result.stdout.split("Interviews\n", 1)[1].split("\n\n", 1)[0].splitlines()
    expected_ids = [interview[0] for interview in expected["interviews"]]
    # Rows start with the interview id (a header line, if the renderer prints one, does not).
    assert [line.split()[0] for line in table if line.split()[0] in expected_ids] == expected_ids
