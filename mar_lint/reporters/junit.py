"""`--format junit`: JUnit XML for CI systems that show test reports (GitLab, Jenkins, Azure).

One `<testsuite>` per archive. Each finding is one `<testcase>` named `CODE name member:pointer`
(classname: the archive path): errors and warnings carry a `<failure>` whose type is the
severity, info findings pass with the message in `<system-out>`. An archive without findings
gets one passing `<testcase name="mar-lint">`, so a clean archive shows as passed, not absent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TextIO

from mar_lint.findings import Finding, Severity
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize

FAILING = (Severity.ERROR, Severity.WARNING)
# XML 1.0 cannot hold these at all, escaped or not; hostile member names can.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def testcase(finding: Finding, path: str) -> ET.Element:
    where = ":".join(part for part in (finding.member, finding.location) if part)
    name = f"{finding.code} {finding.name}" + (f" {where}" if where else "")
    case = ET.Element("testcase", name=xml_safe(name), classname=xml_safe(path))
    details = finding.message
    if finding.fix is not None:
        details += f"\nfix: {finding.fix.summary}"
    elif finding.hint:
        details += f"\nhint: {finding.hint}"
    if finding.severity in FAILING:
        failure = ET.SubElement(
            case, "failure", message=xml_safe(finding.message), type=finding.severity.value
        )
        failure.text = xml_safe(details)
    else:
        ET.SubElement(case, "system-out").text = xml_safe(details)
    return case


def testsuite(report: ArchiveReport) -> ET.Element:
    failures = sum(f.severity in FAILING for f in report.findings)
    cases = [testcase(finding, report.path) for finding in report.findings]
    if not cases:
        cases = [ET.Element("testcase", name="mar-lint", classname=xml_safe(report.path))]
    suite = ET.Element(
        "testsuite",
        name=xml_safe(report.path),
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    suite.extend(cases)
    return suite


def render(reports: list[ArchiveReport], registry: Registry, stream: TextIO) -> None:
    suites = [testsuite(report) for report in reports]
    totals = summarize(reports)
    root = ET.Element(
        "testsuites",
        name="mar-lint",
        tests=str(sum(int(s.get("tests", "0")) for s in suites)),
        failures=str(totals["errors"] + totals["warnings"]),
        errors="0",
    )
    root.extend(suites)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode") + "\n")
