"""Run the selected rules over archives and collect findings."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path

from mar_lint.config import Settings
from mar_lint.findings import Finding, Problem, Severity
from mar_lint.model import ModelView
from mar_lint.registry import Registry, Rule
from mar_lint.sandbox import MXNetUnavailable, Sandbox


@dataclass
class ArchiveReport:
    path: str
    findings: list[Finding] = field(default_factory=list)
    mms_release: str | None = None  # the manifest schema release it was checked against

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)


def summarize(reports: list[ArchiveReport]) -> dict[str, int]:
    findings = [f for r in reports for f in r.findings]
    return {
        "archives": len(reports),
        "errors": sum(f.severity is Severity.ERROR for f in findings),
        "warnings": sum(f.severity is Severity.WARNING for f in findings),
        "info": sum(f.severity is Severity.INFO for f in findings),
        "fixable": sum(f.fixable for f in findings),
    }


def stamp(rule: Rule, problem: Problem) -> Finding:
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=problem.severity or rule.severity,
        message=problem.message,
        member=problem.member,
        location=problem.location,
        hint=problem.hint,
        fix=problem.fix,
    )


class Checker:
    """Checks archives against the selected rules; one MXNet sandbox serves the whole run."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.rules = [r for r in registry.rules if r.check is not None and settings.selects(r.code)]
        self.sandbox = Sandbox(settings.limits.mxnet_timeout, settings.limits.mxnet_memory)

    def close(self) -> None:
        self.sandbox.close()

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_engine_finding(
        self, report: ArchiveReport, code: str, message: str, hint: str | None = None
    ) -> None:
        """Record a finding of the engine's own (9xx), unless the user deselected that code."""
        engine_rule = self.registry.get(code)
        if engine_rule is not None and self.settings.selects(code):
            report.findings.append(stamp(engine_rule, Problem(message, hint=hint)))

    def check(self, path: Path) -> ArchiveReport:
        report = ArchiveReport(str(path))
        for failure in self.registry.failures:
            self.add_engine_finding(report, "MAR903", f"plugin {failure.origin}: {failure.message}")
        skipped: list[str] = []
        reason = ""
        with ModelView(path, self.settings, self.sandbox) as view:
            for rule in self.rules:
                if view.unreadable and not rule.on_unreadable:
                    continue
                try:
                    for problem in rule.check(view):  # type: ignore[misc]
                        report.findings.append(stamp(rule, problem))
                except MXNetUnavailable as exc:
                    skipped.append(rule.code)
                    reason = str(exc)
                except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    message = (
                        f"rule {rule.code} ({rule.name}) from {rule.origin} raised "
                        f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
                    )
                    self.add_engine_finding(report, "MAR901", message)
            if view.mms_release is not None:
                report.mms_release = view.mms_release[0]
        if skipped:
            message = f"skipped {', '.join(skipped)}: {reason}"
            hint = "install the extra: pip install 'mar-lint[mxnet]'"
            self.add_engine_finding(report, "MAR902", message, hint)
        report.findings.sort(key=lambda f: (f.code, f.member or "", f.location or ""))
        return report
