"""Assets the service reads: the class labels in synset.txt."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from mar_lint_rules.service import is_vision, service_selection

from mar_lint.archive import MemberError, MemberTooLarge
from mar_lint.findings import Problem, Severity
from mar_lint.model import ModelView, known_shape
from mar_lint.registry import rule
from mar_lint.sandbox import MXNetUnavailable

LABELS = "synset.txt"  # the name MMS's base service reads, fixed (§1.8)
MAX_LISTED = 6


def read_labels(text: str) -> list[str]:
    """The labels as MMS reads them: every line of the file, stripped (`readlines()`), so a
    blank last line is a label too."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [line.strip() for line in lines]


def class_count(view: ModelView) -> tuple[int, str] | None:
    """How many classes the model's first output has, and where that number comes from: the
    shape MXNet infers, else the signature."""
    try:
        graph = view.graph
    except MXNetUnavailable:
        graph = None
    if graph is not None and graph.loaded and not graph.infer_error and graph.output_shapes:
        shape = graph.output_shapes[0]
        if known_shape(shape) and len(shape) >= 2:  # type: ignore[arg-type]
            return shape[1], f"the graph's output {graph.outputs[0]} is {list(shape)}"  # type: ignore[index]
    signature = view.signature.value if view.signature.ok else None
    outputs = signature.get("outputs") if isinstance(signature, dict) else None
    first = outputs[0] if isinstance(outputs, list) and outputs else None
    shape = first.get("data_shape") if isinstance(first, dict) else None
    if isinstance(shape, list) and len(shape) >= 2 and isinstance(shape[1], int) and shape[1] > 0:
        return shape[1], f"the signature's output {first.get('data_name')!r} is {shape}"  # type: ignore[union-attr]
    return None


@rule(
    "MAR601",
    "labels-mismatch",
    "error",
    "synset.txt does not have one label per output class, or a vision service has none",
)
def labels_mismatch(view: ModelView) -> Iterator[Problem]:
    """MMS's base service reads `synset.txt` (one label per line, stripped) and the vision
    service returns `labels[i]` for the top classes. With fewer labels than classes a
    request fails with an IndexError; with more, or shifted by a blank line, every answer
    names the wrong class. A vision service without `synset.txt` fails every request
    ("Can't find labels attribute. Did you put synset.txt file into model archive").
    Blank and duplicate labels are warnings: two classes that answer with one name.

    Fix: write exactly one label per output class, in class-index order, with no blank
    lines, into `synset.txt` at the archive root.
    """
    member = view.flattened().get(LABELS)
    if member is None:
        selection = service_selection(view)
        if is_vision(selection):
            yield Problem(
                f"{selection.chosen.name} is a vision service and needs {LABELS}, "  # type: ignore[union-attr]
                "which the archive does not have"
            )
        return
    try:
        labels = read_labels(
            view.read(member, view.limits.max_text_bytes).decode("utf-8", "replace")
        )
    except MemberTooLarge as exc:
        # A limit that stops a check says so: silence would read as "labels are fine".
        yield Problem(
            f"not checked: {exc} (max-text-bytes); a label file is a few KiB",
            member=member.name,
            severity=Severity.WARNING,
        )
        return
    except MemberError:
        return  # MAR002 or MAR004 reports the member
    counted = class_count(view)
    if counted is not None and counted[0] != len(labels):
        yield Problem(
            f"{len(labels)} labels for {counted[0]} classes ({counted[1]})", member=member.name
        )
    blank = [str(number) for number, label in enumerate(labels, 1) if not label]
    if blank:
        yield Problem(
            f"blank labels on lines {_listed(blank)}",
            member=member.name,
            severity=Severity.WARNING,
        )
    lines: dict[str, list[str]] = defaultdict(list)
    for number, label in enumerate(labels, 1):
        if label:
            lines[label].append(str(number))
    duplicated = [f"{label!r} (lines {', '.join(n)})" for label, n in lines.items() if len(n) > 1]
    if duplicated:
        yield Problem(
            f"labels given to several classes: {_listed(duplicated)}",
            member=member.name,
            severity=Severity.WARNING,
        )


def _listed(items: list[str]) -> str:
    rest = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {rest} more" if rest > 0 else "")
