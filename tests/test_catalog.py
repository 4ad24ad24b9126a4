"""The catalogue of finding ids: unique, well formed, explained, and reachable from the CLI."""

from __future__ import annotations

import re
from collections import Counter

from conftest import RunCli

from interview_mailcheck.catalog import all_rules, general_fix
from interview_mailcheck.findings import ID_PATTERN, Level, registered_rules


def test_every_id_is_unique() -> None:
    all_rules()
    counts = Counter(rule.id for rule in registered_rules())
    assert [rule_id for rule_id, count in counts.items() if count > 1] == []


def test_every_id_is_well_formed_and_its_letter_matches_its_level() -> None:
    for rule in all_rules():
        assert ID_PATTERN.match(rule.id), rule.id
        assert rule.id.split(".")[1][0] == rule.level.letter, rule.id


def test_every_rule_has_a_one_line_title_a_hint_and_an_explanation() -> None:
    """Errors and warnings always say how to fix them; an info that reports success may not."""
    for rule in all_rules():
        assert rule.title and "\n" not in rule.title, rule.id
        assert "\n" not in rule.hint, rule.id
        assert rule.hint or rule.level == Level.INFO, rule.id
        assert len(rule.explanation) > len(rule.title), rule.id


def test_explain_prints_the_long_story_for_every_id(run_cli: RunCli) -> None:
    for rule in all_rules():
        result = run_cli("explain", rule.id)
        assert result.exit_code == 0
        assert result.stdout.startswith(f"{rule.id} ({rule.level.label}): {rule.title}")
        assert rule.explanation in result.stdout
        if rule.hint:
            assert f"Fix: {general_fix(rule.hint)}" in result.stdout
            # no template field left unfilled (literal braces, as in a dict, are fine)
            assert not re.search(r"\{[a-z_]+\}", result.stdout.split("Fix: ", 1)[1])
        else:
            assert "Fix:" not in result.stdout


def test_explain_shows_what_each_finding_fills_in() -> None:
    assert general_fix("Pass --to {user}") == "Pass --to <user>"
    assert general_fix("{fix}").startswith("given with each finding")
    assert general_fix("Set EMAIL_PORT=587") == "Set EMAIL_PORT=587"


def test_explain_is_case_insensitive(run_cli: RunCli) -> None:
    assert run_cli("explain", "CONFIG.e001").stdout.startswith("config.E001 (error)")


def test_explain_an_unknown_id_is_a_usage_error_with_suggestions(run_cli: RunCli) -> None:
    result = run_cli("explain", "config.E0001")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mailcheck: error: unknown finding id 'config.E0001'")
    assert "did you mean" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_checks_lists_every_id_once(run_cli: RunCli) -> None:
    result = run_cli("checks")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == [rule.id for rule in all_rules()]


def test_checks_json(run_cli: RunCli) -> None:
    rows = run_cli("checks", "--json").json()
    assert {row["id"] for row in rows} == {rule.id for rule in all_rules()}
    assert {row["level"] for row in rows} == {"error", "warning", "info"}


def test_checks_by_tag_lists_the_ids_of_those_checks(run_cli: RunCli) -> None:
    dns = run_cli("checks", "--tag", "dns", "--json").json()
    assert {row["id"].split(".")[0] for row in dns} == {"dns"}
    assert {row["check"] for row in dns} == {
        "dns.mx",
        "dns.spf",
        "dns.dmarc",
        "dns.host_address",
        "dns.unanswered",
    }
    credentials = run_cli("checks", "--tag", "credentials").stdout.splitlines()
    assert "config.E010" in {line.split()[0] for line in credentials}
    assert "config.E001" not in {line.split()[0] for line in credentials}
    expensive = {
        row["id"].split(".")[0] for row in run_cli("checks", "--tag", "expensive", "--json").json()
    }
    assert expensive == {"smtp", "delivery", "dns", "session"}


def test_checks_with_an_unknown_tag_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("checks", "--tag", "nope")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("mailcheck: error: no check has the tag 'nope'; tags: ")
