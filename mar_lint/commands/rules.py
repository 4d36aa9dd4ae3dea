"""`mar-lint rule CODE` and `mar-lint rules`: the rules' own documentation."""

from __future__ import annotations

import json
from typing import Any

import click

from mar_lint.commands.check import load_rules
from mar_lint.registry import Rule

FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)


def rule_json(rule: Rule) -> dict[str, Any]:
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
    }


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
        click.echo(
            f"{found.code} {found.name} ({found.severity.value}; {found.consequence_text})"
            f"\n\n{found.summary}\n\n{found.doc}"
        )


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
