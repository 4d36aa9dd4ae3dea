"""A rule's documentation in ruff's shape: why it matters, an example, and the fix.

A rule's docstring is a few labelled paragraphs (CONTRIBUTING.md shows a whole one):

    Why it matters: what MMS does with such an archive (mms-loader.md), and the harm.

    Example: one sentence, then the offending JSON, manifest fragment, zip listing or
    service code, indented four spaces:

        "outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}]

    Fix: what to change, by hand.

    Repack: unsafe. What `mar-lint repack` changes, and why that is (un)safe.

The `Repack:` paragraph starts with `safe`, `unsafe` or `safe and unsafe` (some findings'
fixes are safe, others are not) and is left out when `mar-lint repack` fixes nothing. A
docstring without labels (an older plugin's) is all "why", up to a `Fix:` paragraph.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mar_lint.registry import Rule

# A label starts a paragraph: a prose line that wraps to start with "Fix:" is not one.
SECTION = re.compile(r"(?:\A|(?<=\n\n))(Why it matters|Example|Fix|Repack):[ \t]*")
SAFETIES = ("safe and unsafe", "unsafe", "safe")  # longest first: "unsafe" ends in "safe"
REPACK = re.compile(rf"^({'|'.join(SAFETIES)})\b[.:;,]?\s*", re.IGNORECASE)
# How each fix availability reads, for `mar-lint rule` and the README table.
AVAILABILITY = {
    "none": "no automatic fix",
    "safe": "`mar-lint repack` fixes it (safe)",
    "unsafe": "`mar-lint repack --unsafe-fixes` fixes it (unsafe)",
    "safe and unsafe": "`mar-lint repack` fixes it (safe), some cases only with `--unsafe-fixes`",
}


@dataclass(frozen=True)
class RuleDoc:
    """A docstring cut into its sections; a section the docstring lacks is empty."""

    why: str
    example: str
    fix: str
    repack: str = ""  # what `mar-lint repack` does, after its safety word
    fix_safety: str = "none"  # a key of AVAILABILITY

    @property
    def fix_availability(self) -> str:
        return AVAILABILITY[self.fix_safety]


def parse_rule_doc(doc: str) -> RuleDoc:
    """Cut a (cleaned) rule docstring into why, example, fix and repack."""
    found = list(SECTION.finditer(doc))
    sections = {"Why it matters": doc[: found[0].start()] if found else doc}
    for here, after in zip(found, [*found[1:], None]):
        end = after.start() if after else len(doc)
        # A section given twice (or prose before "Why it matters:") reads as one, in order.
        sections[here.group(1)] = (sections.get(here.group(1), "") + doc[here.end() : end]).strip()
    repack, safety = sections.get("Repack", "").strip(), "none"
    stated = REPACK.match(repack)
    if stated:
        safety, repack = stated.group(1).lower(), repack[stated.end() :]
    return RuleDoc(
        why=_sentence(sections["Why it matters"]),
        example=_sentence(sections.get("Example", "")),
        fix=_sentence(sections.get("Fix", "")),
        repack=repack.strip(),
        fix_safety=safety,
    )


def _sentence(text: str) -> str:
    """A section's text, starting with a capital (after its label it starts in lower case),
    unless it starts with mar-lint's own name."""
    text = text.strip()
    return text if text.startswith("mar-lint") else text[:1].upper() + text[1:]


def as_markdown(doc: RuleDoc) -> str:
    """The three sections under their headings, with what `mar-lint repack` does."""
    parts = [f"## Why it matters\n\n{doc.why}"]
    if doc.example:
        parts.append(f"## Example\n\n{doc.example}")
    fix = doc.fix or "No fix is documented."
    if doc.fix_safety != "none":
        command = "repack --unsafe-fixes" if doc.fix_safety == "unsafe" else "repack"
        fix += f"\n\n`mar-lint {command}` ({doc.fix_safety}): {doc.repack or doc.fix_availability}"
    parts.append(f"## Fix\n\n{fix}")
    return "\n\n".join(parts)


def reflowed(markdown: str, width: int = 88) -> str:
    """Prose paragraphs refilled to `width` (docstring line breaks fall short after a label);
    indented blocks (examples) are kept as they are."""
    paragraphs = markdown.split("\n\n")
    return "\n\n".join(
        part if part.startswith("    ") else textwrap.fill(" ".join(part.split()), width)
        for part in paragraphs
    )


def is_own(rule: Rule) -> bool:
    """mar-lint's own rules (built-in and engine codes), not those of installed plugins."""
    return rule.origin == "mar-lint" or "(mar_lint_rules." in rule.origin


README_TABLE_HEADER = (
    "| code | name | severity | consequence | repack | what it reports |\n"
    "|---|---|---|---|---|---|\n"
)


def readme_table(rules: Iterable[Rule]) -> str:
    """The README's rules table (between its rules-table markers): one row per rule, with
    what `mar-lint repack` does for it (safe, unsafe, safe and unsafe, or nothing)."""
    rows = []
    for rule in rules:
        safety = parse_rule_doc(rule.doc).fix_safety
        cells = (
            rule.code,
            rule.name,
            rule.severity.value,
            rule.consequence_text,
            "" if safety == "none" else safety,
            rule.summary.replace("|", "\\|"),
        )
        rows.append("| " + " | ".join(cells) + " |\n")
    return README_TABLE_HEADER + "".join(rows)
