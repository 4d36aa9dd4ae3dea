"""`mar-lint rule CODE` and `mar-lint rules`: the rules' own documentation."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mar_lint.commands.check import load_rules
from mar_lint.registry import Rule
from mar_lint.rule_docs import as_markdown, parse_rule_doc, reflowed

FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)


def rule_json(rule: Rule) -> dict[str, Any]:
    doc = parse_rule_doc(rule.doc)
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "summary": rule.summary,
        "doc": rule.doc,
        "needs_mxnet": rule.needs_mxnet,
        "origin": rule.origin,
        "consequence": rule.consequence.value if rule.consequence else None,
        "consequence_text": rule.consequence_text,
        "why": doc.why,
        "example": doc.example,
        "fix": doc.fix,
        "fix_safety": doc.fix_safety,  # none, safe, unsafe, or "safe and unsafe"
        "fix_availability": doc.fix_availability,
        "repack": doc.repack,
    }


def _body(rule: Rule) -> str:
    """The page below the rule's heading and summary, as markdown."""
    doc = parse_rule_doc(rule.doc)
    return f"Fix availability: {doc.fix_availability}.\n\n{as_markdown(doc)}"


def explain(rule: Rule) -> str:
    """The rule's page, as markdown: what ruff's `ruff rule CODE` prints, for a mar-lint code."""
    return (
        f"{rule.code} {rule.name} ({rule.severity.value}; {rule.consequence_text})\n\n"
        + reflowed(f"{rule.summary}\n\n{_body(rule)}")
    )


def print_explained(rule: Rule) -> None:
    """Rich markdown on a terminal; the plain markdown text otherwise (pipes, files, tests)."""
    if not sys.stdout.isatty():
        click.echo(explain(rule))
        return
    from rich.console import Console  # imported only when a person reads it
    from rich.markdown import Markdown

    console = Console(highlight=False)
    console.print(
        f"[bold]{rule.code}[/] [cyan]{rule.name}[/] ({rule.severity.value}; "
        f"{rule.consequence_text})",
        markup=True,
    )
    console.print(rule.summary, markup=False)
    console.print(Markdown(_body(rule)))


@click.command("rule")
@click.argument("code")
@FORMAT
def rule_command(code: str, output_format: str) -> None:
    """Explain a rule: why it matters and how to fix it."""
    found = load_rules().get(code.upper())
    if found is None:
        raise click.BadParameter(f"no rule {code!r} (see `mar-lint rules`)", param_hint="CODE")
    if output_format == "json":
        click.echo(json.dumps(rule_json(found), indent=2))
    else:
        print_explained(found)


@click.command("rules")
@FORMAT
def rules_command(output_format: str) -> None:
    """List every rule: code, name, default severity and summary."""
    registry = load_rules()
    if output_format == "json":
        click.echo(json.dumps([rule_json(item) for item in registry.rules], indent=2))
        return
    for item in registry.rules:
        click.echo(
            f"{item.code}  {item.name:<22} {item.severity.value:<8} "
            f"{item.consequence_text:<24} {item.summary}"
        )
