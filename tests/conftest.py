"""Shared fixtures: a clean environment per test, and the CLI runner that prints on failure."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interview_mailcheck.cli import app
from interview_mailcheck.settings import ENV_FILE_VARIABLE, MAIL_SETTINGS

FIXTURES = Path(__file__).parent / "fixtures"
ENV_FIXTURES = FIXTURES / "env"
ISOLATED_VARIABLES = (
    *MAIL_SETTINGS,
    ENV_FILE_VARIABLE,
    "NO_COLOR",
    "MAILCHECK_DEBUG",
    "MAILCHECK_IMAP_PASSWORD",
)

# support.postgres is a plugin (pytest_plugins) that its test module also imports: have pytest
# rewrite its asserts on that first import, rather than warn that it came too late to.
pytest.register_assert_rewrite("support.postgres")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No EMAIL_* from the developer's shell, and no ./.env from the checkout."""
    for name in ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def json(self) -> Any:
        return json.loads(self.stdout)

    def ids(self) -> list[str]:
        return sorted(finding["id"] for finding in self.json()["findings"])

    def findings(self) -> list[str]:
        """Each finding whole, in order: `<id> <level> <subject>: <message>`."""
        return [
            f"{f['id']} {f['level']} {f['subject']}: {f['message']}"
            for f in self.json()["findings"]
        ]


RunCli = Callable[..., Run]


def invoke(args: list[str], env: Mapping[str, str] | None = None) -> Run:
    result = CliRunner().invoke(app, args, env=dict(env or {}), catch_exceptions=True)
    exception = None if isinstance(result.exception, SystemExit) else result.exception
    return Run(result.exit_code, result.stdout, result.stderr, exception)


@pytest.fixture
def run_cli() -> RunCli:
    """Run `mailcheck ARGS` in-process; print exit code, stdout and stderr for failing tests."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> Run:
        outcome = invoke([str(arg) for arg in args], env)
        print(f"$ mailcheck {' '.join(map(str, args))}\nexit: {outcome.exit_code}")
        print(f"--- stdout\n{outcome.stdout}--- stderr\n{outcome.stderr}---")
        return outcome

    return run


@pytest.fixture(autouse=True)
def forget_secrets() -> None:
    """Each test starts with no remembered secrets, so masking cannot pass by accident."""
    from interview_mailcheck import secrets

    secrets.reset()


@pytest.fixture(autouse=True)
def no_system_nameserver(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test asks this machine's nameservers (they forward to the internet): a test that
    reads /etc/resolv.conf through dnspython fails, naming the command to give --nameserver."""
    import dns.resolver

    asked: list[str] = []
    original = dns.resolver.Resolver.read_resolv_conf

    def read(self: dns.resolver.Resolver, f: Any) -> None:
        if str(f) == "/etc/resolv.conf":
            asked.append(str(f))
            raise dns.resolver.NoResolverConfiguration("the tests use loopback nameservers only")
        original(self, f)

    monkeypatch.setattr(dns.resolver.Resolver, "read_resolv_conf", read)
    yield
    assert not asked, "the test asked this machine's nameservers: give it --nameserver (loopback)"


@pytest.fixture(scope="session")
def ca() -> Any:
    """One trustme CA for the loopback servers of the session (SMTP, IMAP, the peers)."""
    import trustme

    return trustme.CA()


@pytest.fixture
def trusted(ca: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trust `ca` the way a user would: through SSL_CERT_FILE. The CA file's path."""
    path = tmp_path / "trusted-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return path
