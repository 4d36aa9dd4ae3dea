"""`mar-lint repack`: apply the fixes findings carry and write a corrected archive.

Exit status: 0 nothing needed fixing, 1 something changed (or would change, with `--diff`),
2 usage errors. After writing, the result is checked and whatever still needs a human is
reported.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from pathlib import Path
from typing import Any

import click

from mar_lint.archive import SourceError
from mar_lint.commands.check import (
    ENGINE_OPTION,
    TargetType,
    load_rules,
    remote_options,
    remote_session,
    resolve_settings,
    resolve_targets,
)
from mar_lint.findings import Finding
from mar_lint.fixer import (
    UNSAFE_HELD,
    FixError,
    Plan,
    Written,
    new_json,
    plan_fixes,
    write_archive,
    write_folder_in_place,
)
from mar_lint.model import ModelView
from mar_lint.remote import RemoteArchive
from mar_lint.reporters import text_report
from mar_lint.runner import ArchiveReport, Checker
from mar_lint.text import plural

MAX_PASSES = 3


class WriteError(click.ClickException):
    """The result could not be written: nothing was changed, exit 2."""

    exit_code = 2


def _fix_line(finding: Finding) -> str:
    where = ":".join(p for p in (finding.member, finding.location) if p)
    return f"  {finding.code} {finding.fix.summary}" + (f"  ({where})" if where else "")  # type: ignore[union-attr]


def _print_plan(plan: Plan, conflicts_only: bool) -> None:
    """The fixes applied and those held back; after writing, the findings report lists the
    unsafe ones still open, so only conflicts are named here."""
    for finding in plan.applied:
        click.echo(_fix_line(finding))
    for held in plan.held_back:
        if not (conflicts_only and held.reason == UNSAFE_HELD):
            click.echo(f"{_fix_line(held.finding)}  [not applied: {held.reason}]")


def _print_diff(view: ModelView, plan: Plan) -> None:
    for index, data in new_json(view, plan).items():
        member = view.members[index]
        old = view.read(member, view.limits.max_json_bytes).decode("utf-8", "replace")
        new_name = plan.renamed.get(index, member.name)
        lines = difflib.unified_diff(
            old.splitlines(keepends=True),
            data.decode("utf-8").splitlines(keepends=True),
            f"a/{member.name}",
            f"b/{new_name}",
        )
        for line in lines:
            click.echo(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n", nl=False
            )
    for index in sorted(plan.removed):
        click.echo(f"removed: {view.members[index].name} (member {index})")
    for index, new_name in sorted(plan.renamed.items()):
        click.echo(f"renamed: {view.members[index].name} -> {new_name}")


def _output_view(
    path: Path, view: ModelView, written: Written | None, checker: Checker
) -> ModelView:
    """A view of the written archive that knows what the source's check already verified:
    members copied as raw bytes whose CRC held in the source hold the same bytes, so they
    are not inflated again, and an unchanged params file keeps its index."""
    if written is None:
        return ModelView(path, checker.settings, checker.sandbox)
    return ModelView.rewritten(
        path, checker.settings, checker.sandbox, source=view, copied=written.copied
    )


def _target(
    source: Path | RemoteArchive, output: Path | None, in_place: bool, diff: bool, force: bool
) -> Path | None:
    """Where the result goes (None with --diff), or a usage error."""
    if diff:
        if output is not None or in_place:
            raise click.UsageError("--diff writes nothing: drop -o/--in-place")
        return None
    if in_place == (output is not None):
        raise click.UsageError("give either -o OUT or --in-place (or --diff)")
    if in_place:
        if not isinstance(source, Path):
            raise click.UsageError(f"{source} is remote: write a local copy with -o OUT")
        return source
    assert output is not None
    if isinstance(source, Path) and output.exists() and output.resolve() == source.resolve():
        raise click.UsageError("-o is the input itself: use --in-place")
    if output.is_dir():
        raise click.UsageError(f"-o {output} is a folder; name the archive to write")
    if output.exists() and not force:
        raise click.UsageError(f"{output} exists: --force overwrites it")
    if not output.parent.is_dir():
        raise click.UsageError(f"{output.parent} is not a folder")
    return output


@click.command("repack")
@click.argument(
    "sources",
    metavar="IN...",
    nargs=-1,
    required=True,
    type=TargetType(),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the corrected archive here (a zip, also for a model folder).",
)
@click.option(
    "--in-place", is_flag=True, help="Replace IN (a zip) or rewrite the changed files (a folder)."
)
@click.option(
    "--diff",
    is_flag=True,
    help="Write nothing; show what the first pass would change (exit 1 if anything).",
)
@click.option(
    "--unsafe-fixes", is_flag=True, help="Also apply fixes that change the model's contract."
)
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Configuration file (default: the nearest .mar-lint.toml or pyproject.toml).",
)
@click.option("--select", multiple=True, help="Codes or prefixes whose fixes apply.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to check as well.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to leave alone.")
@click.option("--mms-version", help="Target MMS release (default: the manifest's own).")
@click.option("--mxnet-version", help="Target MXNet release (default: the installed mxnet).")
@ENGINE_OPTION
@remote_options
def repack(
    sources: tuple[Path | str, ...],
    output: Path | None,
    in_place: bool,
    diff: bool,
    unsafe_fixes: bool,
    force: bool,
    config_file: Path | None,
    verify_crc: bool,
    **options: Any,
) -> None:
    """Apply the fixes of the findings in each IN (an archive or a model folder): safe fixes,
    and unsafe ones with --unsafe-fixes. Several INs need --in-place or --diff (pre-commit
    passes every staged archive at once). Exit 1 when something changed or would change.
    An https://, http:// or s3:// IN is read in place and written to a local -o OUT."""
    registry = load_rules()
    settings = resolve_settings(registry, config_file, fail_on=None, **options)
    with remote_session(settings, verify_crc) as remote:
        targets = resolve_targets(sources, remote)
    if len(targets) > 1 and output is not None:
        raise click.UsageError("-o names one output: give one IN, or use --in-place")
    changed = False
    with Checker(registry, settings) as checker:
        for source in targets:
            target = _target(source, output, in_place, diff, force)
            changed |= _repack_one(source, target, checker, diff=diff, unsafe=unsafe_fixes)
    sys.exit(1 if changed else 0)


def _repack_one(
    source: Path | RemoteArchive,
    target: Path | None,
    checker: Checker,
    *,
    diff: bool,
    unsafe: bool,
) -> bool:
    """Repack one archive or model folder; True when it changed (or would, with --diff), or
    when it cannot be read at all."""
    registry = checker.registry
    in_place = target is not None and target == source
    with contextlib.ExitStack() as views:
        view = views.enter_context(ModelView(source, checker.settings, checker.sandbox))
        report = checker.check(source, open_view=view)
        if view.unreadable:
            text_report.render([report], registry, sys.stdout)
            click.echo(f"nothing repacked: {view.unreadable}")
            return True
        plan = plan_fixes(view, report.findings, unsafe)
        if diff:
            _print_diff(view, plan)
            if plan.applied or plan.held_back:
                click.echo("fixes:")
                _print_plan(plan, conflicts_only=False)
            return bool(plan.changes)
        if not plan.changes:
            click.echo(f"{source}: nothing to fix; nothing written")
            _print_plan(plan, conflicts_only=False)
            return False
        assert target is not None
        report = _write_until_stable(
            view, plan, target, checker, views, in_place=in_place, unsafe=unsafe
        )
    if report.findings:
        click.echo("still to fix by hand:")
        text_report.render([report], registry, sys.stdout)
    else:
        click.echo(f"{target}: checked, nothing left to fix")
    return True


def _write_until_stable(
    view: ModelView,
    plan: Plan,
    target: Path,
    checker: Checker,
    views: contextlib.ExitStack,
    *,
    in_place: bool,
    unsafe: bool,
) -> ArchiveReport:
    """Write the plan, check the result, and repeat while its check finds more to fix: fixes
    can reveal others (a renamed input lets MXNet infer the outputs), and repacking the
    output again must change nothing. Returns the last result's report."""
    for _ in range(MAX_PASSES):
        written = _write(view, plan, target, in_place)
        click.echo(f"{view.path} -> {target}: {plural(len(plan.applied), 'fix')} applied")
        _print_plan(plan, conflicts_only=True)
        view = views.enter_context(_output_view(target, view, written, checker))
        report = checker.check(target, open_view=view)
        plan = plan_fixes(view, report.findings, unsafe)
        if not plan.changes:
            break
    return report


def _write(view: ModelView, plan: Plan, target: Path, in_place: bool) -> Written | None:
    try:
        if view.kind == "folder" and in_place:
            write_folder_in_place(view, plan)
            return None
        return write_archive(view, plan, target)
    except FixError as exc:
        raise WriteError(str(exc)) from exc
    except SourceError as exc:  # a remote source stopped answering, or its limit was reached
        raise WriteError(f"cannot read {view.path}: {exc}; nothing written") from exc
