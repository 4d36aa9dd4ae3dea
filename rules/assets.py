"""Assets the service reads: the class labels in synset.txt."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from mar_lint.findings import Consequence, Problem, Severity
from mar_lint.model import LABELS_FILE, ModelView
from mar_lint.registry import rule
from mar_lint.text import listed

# The stock `_postprocess` methods that answer with `self.labels[i]` for the top 5 classes,
# asserting the labels were loaded (mms-loader.md, "vision service").
LABELLING_POSTPROCESS = ("MXNetVisionService", "GluonVisionService")


@rule(
    "MAR601",
    "labels-mismatch",
    "error",
    "synset.txt does not have one label per output class",
    consequence=Consequence.WRONG_ANSWERS,
)
def labels_mismatch(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS reads `synset.txt` as `[line.strip() for line in readlines()]` (a
    blank line, the last one too, is a label) and the stock vision services answer with
    `labels[i]` for the top classes. With fewer labels than classes, a request whose top 5
    reaches past the end fails with an IndexError; with more, or shifted by a blank line,
    answers name the wrong class. Blank and duplicate labels are warnings: two classes that
    answer with one name.

    Example: `cat -A synset.txt` for a graph whose output is (1, 2): three labels, the last
    one blank:

        cat$
        dog$
        $

    Fix: write exactly one label per output class, in class-index order, with no blank lines,
    into `synset.txt` at the archive root.
    """
    labels = view.labels
    if labels.too_large:
        yield Problem(labels.too_large, member=labels.member_name, severity=Severity.WARNING)
        return
    if labels.member_name is None or labels.error:
        return  # MAR602 reports a missing file when it matters, MAR002 an unreadable one
    classes = view.class_count
    if classes is not None and classes.count != len(labels.labels):
        yield Problem(
            f"{len(labels.labels)} labels for {classes.count} classes ({classes.source})",
            member=labels.member_name,
        )
    blank = [str(number) for number, label in enumerate(labels.labels, 1) if not label]
    if blank:
        yield Problem(
            f"blank labels on lines {listed(blank)}",
            member=labels.member_name,
            severity=Severity.WARNING,
        )
    lines: dict[str, list[str]] = defaultdict(list)
    for number, label in enumerate(labels.labels, 1):
        if label:
            lines[label].append(str(number))
    duplicated = [f"{label!r} (lines {', '.join(n)})" for label, n in lines.items() if len(n) > 1]
    if duplicated:
        yield Problem(
            f"labels given to several classes: {listed(duplicated)}",
            member=labels.member_name,
            severity=Severity.WARNING,
        )


@rule(
    "MAR602",
    "labels-missing",
    "error",
    "the service class answers with labels from synset.txt, which the archive lacks",
    consequence=Consequence.REQUESTS_FAIL,
)
def labels_missing(view: ModelView) -> Iterator[Problem]:
    """Why it matters: the stock `_postprocess` of `MXNetVisionService` and `GluonVisionService`
    asserts the labels MMS loads from `synset.txt`, so without that file every request fails
    ("Can't find labels attribute. Did you put synset.txt file into model archive"). A class
    that overrides `_postprocess` needs no labels (a method that only returns
    `super()._postprocess(data)` runs the stock one).

    Example: an archive without `synset.txt` whose service keeps the stock `_postprocess`:

        class ResnetService(MXNetVisionService):
            pass

    Fix: put `synset.txt` (one label per output class) at the archive root, or override
    `_postprocess`.
    """
    service = view.service_class
    provider = service.provider("_postprocess") if service else None
    if service and view.labels.member_name is None and provider in LABELLING_POSTPROCESS:
        yield Problem(
            f"{service.name} inherits {provider}._postprocess, which answers with "
            f"labels from {LABELS_FILE}, and the archive has none: every request fails",
            member=service.member_name,
        )
