"""`--format sarif`: one SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers.

`tool.driver.rules` is built from the registry (summary, docstring, default severity). Each
result points at the archive file (`artifactLocation.uri`, relative paths kept relative) and,
when the finding is about one member, at that member and JSON pointer as a logical location
(`signature.json/inputs/0/data_shape/0`), since a zip member has no line numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from mar_lint import __version__
from mar_lint.findings import Finding, Severity
from mar_lint.json_output import strict_dumps
from mar_lint.registry import Registry, Rule
from mar_lint.rule_docs import as_markdown, parse_rule_doc
from mar_lint.runner import ArchiveReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = parse_rule_doc(rule.doc)
    properties: dict[str, Any] = {"needsMxnet": rule.needs_mxnet, "origin": rule.origin}
    if rule.consequence is not None:  # the engine's own codes (9xx) are about mar-lint
        properties["consequence"] = rule.consequence.value
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        # the why alone: the example and fix are in help
        "fullDescription": {"text": doc.why or rule.summary},
        "help": {"text": rule.doc, "markdown": as_markdown(doc)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": properties,
    }


def artifact_uri(path: str) -> str:
    if "://" in path:  # a remote archive: its URL (already without credentials) is the URI
        return quote(path, safe="/:@%")
    where = Path(path)
    return where.as_uri() if where.is_absolute() else quote(where.as_posix(), safe="/")


def result(finding: Finding, report: ArchiveReport, rule_index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": artifact_uri(report.path)}}
    }
    if finding.member:
        location["logicalLocations"] = [
            {
                "name": finding.member,
                "fullyQualifiedName": finding.member + (finding.location or ""),
                "kind": "value" if finding.location else "resource",
            }
        ]
    # Locations are JSON pointers ("/inputs/0") in JSON members and "line:column" in code.
    is_pointer = finding.location is not None and finding.location[:1] in ("", "/")
    where_key = "jsonPointer" if is_pointer else "location"
    properties: dict[str, Any] = {"member": finding.member, where_key: finding.location}
    if finding.hint:
        properties["hint"] = finding.hint
    if finding.fix is not None:
        properties["fix"] = {"summary": finding.fix.summary, "safe": finding.fix.safe}
    if finding.consequence is not None:
        properties["consequence"] = finding.consequence.value
    entry: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "properties": properties,
    }
    if finding.code in rule_index:
        entry["ruleIndex"] = rule_index[finding.code]
    return entry


def render(reports: list[ArchiveReport], registry: Registry, stream: TextIO) -> None:
    rules = list(registry.rules)
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mar-lint",
                        "version": __version__,
                        "rules": [rule_descriptor(rule) for rule in rules],
                    }
                },
                "artifacts": [
                    {"location": {"uri": artifact_uri(report.path)}} for report in reports
                ],
                "results": [
                    result(finding, report, rule_index)
                    for report in reports
                    for finding in report.findings
                ],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    stream.write(strict_dumps(log) + "\n")
