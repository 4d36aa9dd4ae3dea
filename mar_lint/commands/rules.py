"""`mar-lint rule CODE` and `mar-lint rules`: the rules' own documentation."""

from __future__ import annotations

import click

from mar_lint.registry import load_registry


@click.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Explain a rule: why it matters and how to fix it."""
    found = load_registry().get(code.upper())
    if found is None:
        raise click.BadParameter(f"no rule {code!r} (see `mar-lint rules`)", param_hint="CODE")
    click.echo(
        f"{found.code} {found.name} ({found.severity.value})\n\n{found.summary}\n\n{found.doc}"
    )


@click.command("rules")
def rules_command() -> None:
    """List every rule: code, name, default severity and summary."""
    for item in load_registry().rules:
        click.echo(f"{item.code}  {item.name:<22} {item.severity.value:<8} {item.summary}")
