"""EMAIL_URL is read exactly as django-environ and dj-email-url read it (both really installed)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import dj_email_url
import environ
import pytest
from conftest import RunCli

from interview_mailcheck.email_url import mask_password, parse_email_url

URLS = [
    "smtp+tls://user:pa+ss@smtp.gmail.com:587",
    "smtp+tls://user:pa%2Bss@smtp.gmail.com:587",
    "smtp+ssl://hiring.team%40gmail.com:abcd%20efgh@smtp.gmail.com:465",
    "smtp://u@acme-hiring.io:p@w@relay.acme-hiring.io:25",
    "smtps://apikey:SG.x.y@smtp.sendgrid.net:587",
    "smtp://relay.acme-hiring.internal:2525",
    "smtp+tls://user:p%2Fw%3Fx%23y@mail.acme-hiring.io:587",
]
KEYS = ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")


def as_strings(config: dict[str, Any]) -> dict[str, str]:
    return {k: str(config[k]) for k in KEYS if config.get(k) not in (None, "")}


@pytest.mark.parametrize("url", URLS)
def test_same_values_as_django_environ(url: str) -> None:
    theirs = environ.Env.email_url_config(url)
    ours = parse_email_url(url).values
    assert {k: ours[k] for k in KEYS if k in ours} == as_strings(theirs)
    assert (ours["EMAIL_USE_TLS"] == "True") == bool(theirs.get("EMAIL_USE_TLS"))
    assert (ours["EMAIL_USE_SSL"] == "True") == bool(theirs.get("EMAIL_USE_SSL"))


DJ_EMAIL_URLS = [url for url in URLS if url.split("://")[0] in ("smtp", "smtps")] + [
    "submission://u:p@mail.acme-hiring.io?timeout=7",
    "smtp://u:p@h:465?ssl=True",
]


@pytest.mark.parametrize("url", DJ_EMAIL_URLS)
def test_same_values_as_dj_email_url(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # smtps:// is "pending deprecation"
        theirs = dj_email_url.parse(url)
    ours = parse_email_url(url).values
    assert {k: ours[k] for k in KEYS if k in ours} == as_strings(theirs)
    assert (ours["EMAIL_USE_TLS"] == "True") == theirs["EMAIL_USE_TLS"]
    assert (ours["EMAIL_USE_SSL"] == "True") == theirs["EMAIL_USE_SSL"]
    if theirs["EMAIL_TIMEOUT"] is not None:
        assert ours["EMAIL_TIMEOUT"] == str(theirs["EMAIL_TIMEOUT"])


@pytest.mark.parametrize("url", ["smtp://u:p/w@h:25", "smtp://u:p?w@h:25", "smtp://u:p#w@h:25"])
def test_breaking_characters_fail_in_the_loaders_and_are_named(url: str) -> None:
    with pytest.raises(ValueError, match="Port could not be cast"):
        environ.Env.email_url_config(url)
    with pytest.raises(ValueError, match="Port could not be cast"):
        dj_email_url.parse(url)
    parsed = parse_email_url(url)
    assert parsed.broken == (url.split(":")[2][1],)


def test_password_is_masked_for_display() -> None:
    assert mask_password("smtp+tls://user:s3cr%2Bt@h:587") == "smtp+tls://user:********@h:587"
    assert mask_password("smtp://relay:25") == "smtp://relay:25"


def test_plus_problem_in_one_screen(tmp_path: Path, run_cli: RunCli) -> None:
    """The issue's example: everything needed is on one screen, and the secret is not."""
    env_file = tmp_path / ".env"
    env_file.write_text("EMAIL_URL=smtp+tls://user:pa+ss@smtp.gmail.com:587\n")
    result = run_cli("config", "--env-file", env_file)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) < 25
    assert "config.W014" in result.stdout
    assert "django-environ up to 0.8.1 reads '+' as a space" in result.stdout
    assert "'+' as %2B" in result.stdout
    assert "smtp+tls://user:********@smtp.gmail.com:587" in result.stdout
    assert "pa+ss" not in result.stdout and "pa ss" not in result.stdout


def test_url_values_are_shown_with_their_source(tmp_path: Path, run_cli: RunCli) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EMAIL_URL=smtp+ssl://a%40gmail.com:abcdefghijklmnop@smtp.gmail.com:465\n")
    rows = {
        r["name"]: r for r in run_cli("config", "--env-file", env_file, "--json").json()["settings"]
    }
    assert rows["EMAIL_URL"]["value"] == "'smtp+ssl://a%40gmail.com:********@smtp.gmail.com:465'"
    assert rows["EMAIL_PORT"] == {
        "name": "EMAIL_PORT",
        "value": "'465'",
        "source": f"EMAIL_URL ({env_file} line 1)",
    }
    assert rows["EMAIL_HOST_USER"]["value"] == "'a@gmail.com'"
    assert rows["EMAIL_HOST_PASSWORD"]["value"] == "set (16 characters)"


def test_url_from_the_environment_disagreeing_password(tmp_path: Path, run_cli: RunCli) -> None:
    env = {
        "EMAIL_URL": "smtp+tls://a%40gmail.com:abcdefghijklmnop@smtp.gmail.com:587",
        "EMAIL_HOST_PASSWORD": "Another-Secret-Value",
    }
    result = run_cli("config", "--json", env=env)
    conflict = next(f for f in result.json()["findings"] if f["id"] == "config.W015")
    assert conflict["subject"] == "EMAIL_HOST_PASSWORD"
    assert (
        "set (20 characters)" in conflict["message"]
        and "set (16 characters)" in conflict["message"]
    )
    assert "Another-Secret-Value" not in result.stdout and "abcdefghijklmnop" not in result.stdout


@pytest.mark.parametrize("scheme", ["smtp+tls", "smtp+ssl"])
def test_a_scheme_only_django_environ_knows_is_flagged(
    scheme: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """dj-email-url really leaves TLS off for these: the user is told so."""
    url = f"{scheme}://a%40gmail.com:abcdefghijklmnop@smtp.gmail.com:587"
    assert dj_email_url.parse(url)["EMAIL_USE_TLS"] is False
    assert "EMAIL_BACKEND" not in dj_email_url.parse(url)
    env_file = tmp_path / ".env"
    env_file.write_text(f"EMAIL_URL={url}\n")
    findings = run_cli("config", "--env-file", env_file, "--json").json()["findings"]
    [note] = [f for f in findings if f["id"] == "config.W016"]
    assert "dj-email-url does not know it" in note["message"]


def test_a_scheme_only_dj_email_url_knows_is_flagged(tmp_path: Path, run_cli: RunCli) -> None:
    url = "submission://a%40gmail.com:abcdefghijklmnop@smtp.gmail.com"
    with pytest.raises(Exception, match="Invalid email schema"):
        environ.Env.email_url_config(url)
    env_file = tmp_path / ".env"
    env_file.write_text(f"EMAIL_URL={url}\n")
    result = run_cli("config", "--env-file", env_file, "--json")
    [note] = [f for f in result.json()["findings"] if f["id"] == "config.W016"]
    assert "django-environ refuses it" in note["message"]
    port = next(r for r in result.json()["settings"] if r["name"] == "EMAIL_PORT")
    assert port["value"] == "'587'"
