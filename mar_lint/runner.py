"""Run the selected rules over archives and collect findings."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mar_lint.archive import ArchiveSource
from mar_lint.config import Settings
from mar_lint.crc_pass import CrcPending, deferring
from mar_lint.crc_pass import stop as stop_crc_pass
from mar_lint.findings import Finding, Problem, Severity
from mar_lint.limits import memory_backstop, memory_error_message
from mar_lint.model import ModelView
from mar_lint.registry import Registry, Rule, load_registry
from mar_lint.sandbox import MXNetUnavailable, Sandbox, mxnet_installed


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
        "fixable_safe": sum(f.fix is not None and f.fix.safe for f in findings),
    }


MAX_MESSAGE = 2_000  # characters of one finding's message


def stamp(rule: Rule, problem: Problem, settings: Settings) -> Finding:
    """The finding a rule's problem becomes; the user's severity override beats the rule's."""
    message = problem.message
    if len(message) > MAX_MESSAGE:  # archive text quoted in a message: keep reports small
        message = f"{message[:MAX_MESSAGE]}... ({len(message):,} characters)"
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=settings.severity_of(rule.code, problem.severity or rule.severity),
        message=message,
        member=problem.member,
        location=problem.location,
        hint=problem.hint,
        fix=problem.fix,
        consequence=problem.consequence or rule.consequence,
    )


# (pid, timeout, memory) -> the sandbox Checkers share while `shared_sandboxes()` is active.
_shared: dict[tuple[int, float, int], Sandbox] | None = None


@contextmanager
def shared_sandboxes() -> Iterator[None]:
    """While active, every Checker of this process whose rules need MXNet uses one sandbox
    per limits instead of starting its own, so a caller that runs many checks in one process
    (a test session: click's CliRunner) pays for one MXNet import. A sandbox restarts after
    a failure either way; they are all stopped when the context ends."""
    global _shared
    outer, _shared = _shared, {}
    try:
        yield
    finally:
        for sandbox in _shared.values():
            sandbox.close()
        _shared = outer


def sandbox_for(settings: Settings, needs_mxnet: bool) -> tuple[Sandbox, bool]:
    """The sandbox a Checker uses, and whether the Checker owns it (and stops it)."""
    limits = settings.limits
    if not needs_mxnet or _shared is None:
        return Sandbox(limits.mxnet_timeout, limits.mxnet_memory), True
    key = (os.getpid(), limits.mxnet_timeout, limits.mxnet_memory)  # never a parent's child
    if key not in _shared:
        _shared[key] = Sandbox(limits.mxnet_timeout, limits.mxnet_memory)
    return _shared[key], False


class Checker:
    """Checks archives against the selected rules; one MXNet sandbox serves the whole run."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.rules = [r for r in registry.rules if r.check is not None and settings.selects(r.code)]
        wants_mxnet = settings.engine == "mxnet" and any(r.needs_mxnet for r in self.rules)
        self.sandbox, self._owns_sandbox = sandbox_for(settings, wants_mxnet)
        if wants_mxnet and mxnet_installed():
            # Selected rules will want the graph: import mxnet in the child while this
            # process opens archives, instead of after.
            self.sandbox.start(preload_mxnet=True)

    def close(self) -> None:
        if self._owns_sandbox:
            self.sandbox.close()

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def engine_finding(
        self,
        code: str,
        message: str,
        hint: str | None = None,
        ignored: tuple[str, ...] = (),
        always: bool = False,
    ) -> list[Finding]:
        """A finding of the engine's own (9xx), unless the user deselected that code;
        `always`: whatever was selected or ignored, for a run that stopped before every rule
        had read what it needed (MAR904, MAR911): that archive must not pass as clean."""
        engine_rule = self.registry.get(code)
        if engine_rule is None:
            return []
        if not always and (not self.settings.selects(code) or code.startswith(ignored)):
            return []
        return [stamp(engine_rule, Problem(message, hint=hint), self.settings)]

    def add_engine_finding(
        self,
        report: ArchiveReport,
        code: str,
        message: str,
        hint: str | None = None,
        ignored: tuple[str, ...] = (),
        always: bool = False,
    ) -> None:
        """Record `engine_finding(...)` in `report`."""
        report.findings.extend(self.engine_finding(code, message, hint, ignored, always))

    def check(
        self, path: Path | ArchiveSource, open_view: ModelView | None = None
    ) -> ArchiveReport:
        """Check the archive at `path` (or a remote one); `open_view`, a view of it made with
        this checker's settings and sandbox, is checked instead of opening it again (its owner
        closes it)."""
        report = ArchiveReport(str(path))
        ignored = self.settings.ignored_at(str(path))  # per-path ignores: those rules never run
        for failure in self.registry.failures:
            message = f"plugin {failure.origin}: {failure.message}"
            self.add_engine_finding(report, "MAR903", message, ignored=ignored)
        skipped: dict[int, tuple[str, str]] = {}  # rule position -> (code, why)
        try:
            opened = open_view or ModelView(path, self.settings, self.sandbox)
            with contextlib.nullcontext(opened) if open_view is not None else opened as view:
                self._run_rules(view, report, ignored, skipped)
                if view.mms_release is not None:
                    report.mms_release = view.mms_release[0]
                if view.source is not None:
                    for code, message, hint in remote_notes(view):
                        # A read that stopped fails the run whatever was selected.
                        always = code == "MAR911"
                        self.add_engine_finding(report, code, message, hint, ignored, always)
        except MemoryError:
            # The backstop (memory_backstop) caught what no cap foresaw: this archive ends here
            # as a finding, and the view and everything it read are freed for the next one.
            message = memory_error_message(self.settings.limits.memory)
            self.add_engine_finding(report, "MAR904", message, always=True)
        if skipped:
            codes, reasons = zip(*(skipped[n] for n in sorted(skipped)))
            message = f"skipped {', '.join(codes)}: {reasons[-1]}"
            hint = "install the extra: pip install 'mar-lint[mxnet]'"
            self.add_engine_finding(report, "MAR902", message, hint, ignored)
        report.findings.sort(key=lambda f: (f.code, f.member or "", f.location or ""))
        return report

    def _run_rules(
        self,
        view: ModelView,
        report: ArchiveReport,
        ignored: tuple[str, ...],
        skipped: dict[int, tuple[str, str]],
    ) -> None:
        """Add the findings of the rules that apply to `report`, in rule order (those of the
        rules that finished, if one runs out of memory).

        A rule that asks for the weights before the early CRC pass (mar_lint.crc_pass) has
        read them is set aside and run again after the others: this thread does the others'
        work meanwhile instead of waiting. Rules only read the view, so the second run finds
        what one run would have."""
        rules = [
            rule
            for rule in self.rules
            if (rule.on_unreadable or not view.unreadable) and not rule.code.startswith(ignored)
        ]
        found: dict[int, list[Finding]] = {}

        def run(position: int) -> None:
            found[position] = []  # filled as the rule goes: what it found before a MemoryError
            try:
                self._run_checked(rules[position], view, ignored, found[position])
            except MXNetUnavailable as exc:
                skipped[position] = (rules[position].code, str(exc))

        later = []
        try:
            with deferring():
                for position in range(len(rules)):
                    try:
                        run(position)
                    except CrcPending:
                        found[position] = []
                        later.append(position)
            for position in later:
                run(position)
        finally:
            report.findings.extend(f for n in sorted(found) for f in found[n])

    def _run_checked(
        self, rule: Rule, view: ModelView, ignored: tuple[str, ...], findings: list[Finding]
    ) -> None:
        """Add the rule's findings to `findings`, and the MAR901 finding of a rule that
        raised. MemoryError, MXNetUnavailable and CrcPending are for the caller."""
        try:
            self._run_rule(rule, view, findings)
        except (MXNetUnavailable, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = (
                f"rule {rule.code} ({rule.name}) from {rule.origin} raised "
                f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
            )
            findings.extend(self.engine_finding("MAR901", message, ignored=ignored))

    def _run_rule(self, rule: Rule, view: ModelView, findings: list[Finding]) -> None:
        """Stamp the rule's problems into `findings`, at most `max_findings_per_rule` of them;
        the rest become one "and N more" finding (counted up to a bound, then estimated)."""
        cap = self.settings.limits.max_findings_per_rule
        count = 0
        problems = rule.check(view)  # type: ignore[misc]
        for problem in problems:
            count += 1
            if count <= cap:
                findings.append(stamp(rule, problem, self.settings))
            elif count >= cap * _COUNTED_PAST_CAP:
                break
        if count > cap:
            more = (
                f"{count - cap:,}" if count < cap * _COUNTED_PAST_CAP else f"over {count - cap:,}"
            )
            message = (
                f"and {more} more {rule.code} findings, not listed (the limit is {cap:,} per "
                "rule and archive: max-findings-per-rule)"
            )
            findings.append(stamp(rule, Problem(message), self.settings))


# Past the cap, a rule's problems are only counted, and only up to this many times the cap:
# a million bad dimensions must not cost a million findings' worth of work.
_COUNTED_PAST_CAP = 20


def remote_notes(view: ModelView) -> Iterator[tuple[str, str, str | None]]:
    """The engine's findings about how a remote archive was read: (code, message, hint)."""
    source = view.source
    assert source is not None
    if source.failure and not view.unreadable:  # an unreadable archive is MAR001's finding
        hint = "raise --max-transfer or --timeout, or check a local copy"
        yield "MAR911", f"reading stopped: {source.failure}", hint
    said = list(getattr(source, "notes", []))
    unverified = view.unverified() if not source.failure else []
    if unverified:
        size = sum(m.size for m in unverified)
        said.append(
            f"the CRC-32 of {len(unverified)} of {len(view.files)} members ({size:,} bytes) "
            "was not verified"
        )
    params = view.model_file("Parameters")
    if params is not None and params in unverified:
        if view.params is None:
            said.append(
                f"the weights ({params.compression}, {params.compressed_size:,} bytes) were "
                "not read: only inflating all of them reaches their headers"
            )
        else:
            said.append("the weights were read from header to header, their payloads skipped")
    if said:
        yield (
            "MAR910",
            "; ".join(said),
            "--verify-crc reads every byte once" if unverified else None,
        )


def check_all(
    registry: Registry,
    settings: Settings,
    targets: Sequence[Path | ArchiveSource],
    jobs: int = 1,
    on_done: Callable[[], None] | None = None,
) -> list[ArchiveReport]:
    """Reports for `targets`, in their order. With `jobs` > 1 the archives are shared among
    that many processes, each with its own Checker and sandbox (0: one per CPU); remote
    archives among that many threads of one process instead, since they mostly wait for the
    network. `on_done` is called as each archive is done (a progress bar)."""
    jobs = min(jobs or os.cpu_count() or 1, len(targets))
    done = on_done or (lambda: None)
    if jobs <= 1 or any(not isinstance(target, Path) for target in targets):
        with memory_backstop(settings.limits.memory), Checker(registry, settings) as checker:
            if jobs <= 1:
                return [_then(checker.check(target), done) for target in targets]
            from concurrent.futures import ThreadPoolExecutor  # a run of one job needs none

            with ThreadPoolExecutor(jobs) as threads:
                return list(threads.map(lambda t: _then(checker.check(t), done), targets))
    return _check_in_processes(settings, targets, jobs, done)


def _check_in_processes(
    settings: Settings,
    targets: Sequence[Path | ArchiveSource],
    jobs: int,
    done: Callable[[], None],
) -> list[ArchiveReport]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Small chunks keep the processes evenly busy when one archive is much slower.
    chunk = max(1, len(targets) // (jobs * 8))
    # fork: a worker inherits this process's import path, already without the working folder;
    # spawn and forkserver would start a fresh `python -c` there, importing from it first.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    stop_crc_pass()  # none should run here (see early_crc_pass); a fork must not copy one
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(settings,)
    ) as pool:
        return [_then(r, done) for r in pool.map(_check_in_worker, targets, chunksize=chunk)]


def _then(report: ArchiveReport, done: Callable[[], None]) -> ArchiveReport:
    done()
    return report


_worker_checker: Checker | None = None
_worker_backstop: contextlib.AbstractContextManager[None] | None = None


def _start_worker(settings: Settings) -> None:
    # Rules hold their check functions, which do not pickle: each process loads the registry.
    global _worker_checker, _worker_backstop, _shared
    _shared = None  # a forked worker starts its own sandbox
    _worker_backstop = memory_backstop(settings.limits.memory)
    _worker_backstop.__enter__()  # for the worker's whole life (kept referenced: see above)
    _worker_checker = Checker(load_registry(), settings)
    # Pool processes end without atexit handlers; Finalize still runs, and stops the sandbox.
    import multiprocessing.util

    multiprocessing.util.Finalize(_worker_checker, _worker_checker.close, exitpriority=10)


def _check_in_worker(target: Path) -> ArchiveReport:
    assert _worker_checker is not None, "the pool initializer creates the checker"
    return _worker_checker.check(target)
