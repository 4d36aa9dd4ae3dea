"""The `mar-lint` command line. Exit status: 0 no error-level finding, 1 at least one,
2 usage errors (unknown option or code, a path that does not exist, nothing to check)."""

from __future__ import annotations

import importlib

import click

from mar_lint import __version__
from mar_lint.syspath import scrub_import_path

# Each sub-command is imported when it runs (or when --help lists it): `check` does not pay
# for `explore`'s rich progress bars or `repack`'s fixer.
COMMANDS = {
    "check": "mar_lint.commands.check:check",
    "explore": "mar_lint.commands.explore:explore",
    "rule": "mar_lint.commands.rules:rule_command",
    "rules": "mar_lint.commands.rules:rules_command",
    "repack": "mar_lint.commands.repack:repack",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS and name not in self.commands:
            module, attribute = COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mar-lint")
def main() -> None:
    """Lint MXNet Model Server .model archives before they reach production."""
    # Before any lazy import: the working folder may be the (hostile) model folder.
    scrub_import_path()
