"""The `mar-lint` command line. Exit status: 0 no error-level finding, 1 at least one,
2 usage errors (unknown option or code, a path that does not exist, nothing to check)."""

from __future__ import annotations

import click

from mar_lint import __version__
from mar_lint.commands.check import check
from mar_lint.commands.explore import explore
from mar_lint.commands.repack import repack
from mar_lint.commands.rules import rule_command, rules_command
from mar_lint.sandbox import scrub_import_path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mar-lint")
def main() -> None:
    """Lint MXNet Model Server .model archives before they reach production."""
    # Before any lazy import: the working folder may be the (hostile) model folder.
    scrub_import_path()


main.add_command(check)
main.add_command(explore)
main.add_command(rule_command)
main.add_command(rules_command)
main.add_command(repack)
