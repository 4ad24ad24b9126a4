"""JUnit XML for CI systems that read it: a test suite per doctor section, a test case per check.

Errors are <failure>s (warnings too under --strict); other warnings and infos go to the case's
<system-out>; a skipped section or step is <skipped> with the reason. XML 1.0 cannot carry
control characters, and a CI system shows these texts on a web page or a terminal: they are
written visibly escaped (inert.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.inert import escape_controls as inert

if TYPE_CHECKING:
    from interview_mailcheck.commands.doctor import DoctorRun


def _describe(finding: Finding) -> str:
    lines = [f"{finding.id} ({finding.level.label}) {finding.subject}: {finding.message}"]
    if finding.hint:
        lines.append(f"fix: {finding.hint}")
    lines += [f"{key}: {value}" for key, value in finding.evidence.items()]
    return inert("\n".join(lines), keep_newlines=True)


def render_junit(run: DoctorRun, *, strict: bool) -> str:
    fail_level = Level.WARNING if strict else Level.ERROR
    root = ET.Element("testsuites", name="mailcheck doctor")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for section in run.sections:
        suite = ET.SubElement(
            root, "testsuite", name=section.name, time=f"{section.duration_ms / 1000:.3f}"
        )
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for case in section.cases:
            counts["tests"] += 1
            element = ET.SubElement(
                suite, "testcase", classname=f"mailcheck.{section.name}", name=inert(case.name)
            )
            failing = [f for f in case.findings if f.level >= fail_level]
            if case.skipped:
                counts["skipped"] += 1
                ET.SubElement(element, "skipped", message=inert(case.skipped))
            elif failing:
                counts["failures"] += 1
                failure = ET.SubElement(
                    element, "failure", type=failing[0].id, message=inert(failing[0].message)
                )
                failure.text = "\n\n".join(_describe(f) for f in failing)
            others = [f for f in case.findings if f not in failing]
            if others:
                ET.SubElement(element, "system-out").text = "\n\n".join(
                    _describe(f) for f in others
                )
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
