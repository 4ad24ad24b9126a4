"""Every .env file under tests/fixtures/env declares the findings and exit code it must produce.

A new case is a new file: its first lines are `# expect: <ids>` and `# exit: <code>`, then
one `# finding: <id> <level> <subject>: <message>` line per finding, in the order they are
reported (`{path}` stands for the file's own path).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ENV_FIXTURES, RunCli


def expectations(path: Path) -> tuple[list[str], int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    expect = next(line for line in lines if line.startswith("# expect:"))
    exit_line = next(line for line in lines if line.startswith("# exit:"))
    return sorted(expect.split(":", 1)[1].split()), int(exit_line.split(":", 1)[1])


def expected_findings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        line.removeprefix("# finding: ").replace("{path}", str(path))
        for line in lines
        if line.startswith("# finding: ")
    ]


CASES = sorted(ENV_FIXTURES.glob("*.env"))


def test_there_are_good_and_bad_cases() -> None:
    outcomes = [expectations(path) for path in CASES]
    assert sum(1 for ids, _ in outcomes if not ids) >= 4
    assert sum(1 for _, code in outcomes if code == 1) >= 20


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_fixture_file(path: Path, run_cli: RunCli) -> None:
    expected_ids, expected_exit = expectations(path)
    result = run_cli("config", "--env-file", path, "--json")
    assert result.exception is None
    assert result.exit_code == expected_exit
    assert result.ids() == expected_ids
    assert result.json()["ok"] is (expected_exit == 0)
    assert result.findings() == expected_findings(path)


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_fixture_file_as_text(path: Path, run_cli: RunCli) -> None:
    """The text report shows the same findings, each with its fix, and ends with one verdict."""
    expected_ids, expected_exit = expectations(path)
    result = run_cli("config", "--env-file", path)
    assert result.exit_code == expected_exit
    for finding_id in expected_ids:
        assert finding_id in result.stdout
    assert result.stdout.count("fix: ") == len(expected_ids)
    last_line = result.stdout.rstrip("\n").splitlines()[-1]
    assert last_line.startswith("✗ FAIL" if expected_exit else "✓ OK")
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes
