"""The offline checks of the email settings, in the order they run: `mailcheck config`.

The checks live by concern, each module with its rules beside its checks: the env file itself
(checks/envfile.py), EMAIL_URL (checks/email_url.py), how mail leaves the app: backend, host,
port, TLS mode, timeout (checks/transport.py), and who sends: credentials, placeholders, the
sender, the provider's rules (checks/credentials.py). `analyse(settings)` interprets the
settings (mailconfig.py) and runs them all, recording each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from interview_mailcheck.checks import (
    client_certificate,
    credentials,
    email_url,
    envfile,
    transport,
)
from interview_mailcheck.findings import EMPTY, Finding
from interview_mailcheck.mailconfig import MailConfig, backend_kind, interpret
from interview_mailcheck.registry import Check
from interview_mailcheck.report import CheckRun, Recorder
from interview_mailcheck.settings import MailSettings

ORDER = (
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
)
_DECLARED = {
    declared.name: declared
    for declared in (
        *envfile.CHECKS,
        *email_url.CHECKS,
        *transport.CHECKS,
        *client_certificate.CHECKS,
        *credentials.CHECKS,
    )
}
CHECKS: tuple[Check, ...] = tuple(_DECLARED[name] for name in ORDER)


class ConfigResult(NamedTuple):
    config: MailConfig
    runs: list[CheckRun]

    @property
    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]

    @property
    def has_errors(self) -> bool:
        from interview_mailcheck.findings import Level

        return any(finding.level == Level.ERROR for finding in self.findings)

    @property
    def blocks_walk(self) -> bool:
        """An error send-test must not connect with; not one the walk itself shows as the app
        meets it (WALK_SHOWS)."""
        from interview_mailcheck.findings import Level

        return any(
            finding.level == Level.ERROR and finding.id not in WALK_SHOWS
            for finding in self.findings
        )


WALK_SHOWS = frozenset({"config.E026"})
"""Config errors send-test walks on: with EMAIL_SSL_CERTFILE set it connects with the TLS
context Django builds, and the certificate step fails as the app's would (smtp.E030)."""


def analyse(
    settings: MailSettings,
    recorder: Recorder | None = None,
    *,
    skip: Mapping[str, str] = EMPTY,
) -> ConfigResult:
    """Interpret the settings and run every config check over them, each recorded; the SMTP
    checks are skipped (recorded as such) for a backend that sends through an HTTP API, and
    so are the checks named in `skip` (name -> why)."""
    config = interpret(settings)
    recorder = recorder or Recorder()
    api = backend_kind(config.backend) == "api"
    for declared in CHECKS:
        function = declared.function
        assert function is not None
        if declared.name in skip:
            recorder.skip(declared.name, skip[declared.name])
            continue
        if api and transport.SMTP_BACKEND_ONLY in declared.tags:
            recorder.skip(declared.name, f"EMAIL_BACKEND {config.backend} does not use SMTP")
            continue
        recorder.run(declared.name, lambda function=function: function(config))  # type: ignore[misc]
    return ConfigResult(config, recorder.runs)
