"""GitHub Actions workflow commands: each finding becomes an annotation on the job.

https://docs.github.com/actions/reference/workflow-commands-for-github-actions
Errors become `::error`, warnings `::warning`; infos `::notice` with -v only. A finding about a
setting read from the env file points at its line (`file=.env,line=7`).

The plain report that follows the annotations quotes text from outside (a server's reply, a
database row): a line of it that began with `::` would be a workflow command. It is wrapped in
`::stop-commands::TOKEN` ... `::TOKEN::`, GitHub's way to print untrusted text, with a token
made for this run.
"""

from __future__ import annotations

import os
import re

from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.inert import escape_controls as inert
from interview_mailcheck.render import RenderOptions
from interview_mailcheck.render.text import layout, to_plain
from interview_mailcheck.report import Report

COMMANDS = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}
_ORIGIN = re.compile(r"^(?P<file>.+) line (?P<line>\d+)$")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, origins: dict[str, str]) -> str:
    properties = [f"title={escape_property(finding.id)}"]
    match = _ORIGIN.match(origins.get(finding.subject, ""))
    if match:
        properties.append(f"file={escape_property(inert(match['file']))}")
        properties.append(f"line={match['line']}")
    message = finding.message + (f" Fix: {finding.hint}" if finding.hint else "")
    text = escape_data(inert(message, keep_newlines=True))
    return f"::{COMMANDS[finding.level]} {','.join(properties)}::{text}"


def render(report: Report, options: RenderOptions) -> str:
    origins = {
        str(row.get("name")): str(row.get("source", ""))
        for s in report.sections
        if s.key == "settings"
        for row in s.rows
    }
    lines = [
        annotation(finding, origins)
        for finding in report.findings
        if finding.level > Level.INFO or options.verbose
    ]
    # The plain report follows, for people reading the job's log; no line of it is a command.
    token = os.urandom(16).hex()
    plain = to_plain(layout(report, options.verbose))
    return (
        "\n".join(lines)
        + ("\n" if lines else "")
        + f"::stop-commands::{token}\n{plain}::{token}::\n"
    )
