"""`ModelView`, the rule API: documented in the README, typed so that rules need no
`# type: ignore`, the only way rules reach the sandbox, and built for repack's output by a
constructor that carries what the source's check verified."""

from __future__ import annotations

import ast
import re
from functools import cached_property
from pathlib import Path

from builders import ArchiveSpec

from mar_lint.config import Settings
from mar_lint.fixer import Plan, write_archive
from mar_lint.model import ModelView
from mar_lint.params import ParamsIndex
from mar_lint.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
RULES = sorted((ROOT / "rules").glob("*.py"))
EXAMPLE_PLUGIN = ROOT / "tests" / "fixtures" / "example_plugin" / "acme_mar_rules.py"


def public_facts() -> set[str]:
    """The ModelView's own public properties and methods (ArchiveView's are listed in prose)."""
    return {
        name
        for name, value in vars(ModelView).items()
        if not name.startswith("_")
        and isinstance(value, (cached_property, property, type(public_facts)))
    }


def test_the_readme_documents_every_fact():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### The rule API: `ModelView`", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)(?:\([^)]*\))?` \| `[^|]+(?:\\\|[^|]+)*` \| \S", section, re.M)
    documented = set(rows)
    assert documented == public_facts() - {"rewritten"}, (
        f"undocumented: {public_facts() - {'rewritten'} - documented}; "
        f"documented but gone: {documented - public_facts()}"
    )


def test_rules_reach_neither_the_sandbox_nor_the_file_system():
    forbidden_modules = {"mar_lint.sandbox", "os", "pathlib", "shutil", "subprocess", "io"}
    for path in RULES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
            else:
                names = set()
            assert not names & forbidden_modules, f"{path.name} imports {names}"
            if isinstance(node, ast.Attribute):
                assert node.attr != "sandbox", f"{path.name}:{node.lineno} reads the sandbox"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"{path.name}:{node.lineno} opens a file"


def test_rules_and_the_example_plugin_need_no_type_ignores():
    ignores = {path.name: path.read_text().count("type: ignore") for path in RULES}
    assert sum(ignores.values()) <= 3, ignores
    assert "type: ignore" not in EXAMPLE_PLUGIN.read_text()


def open_view(path: Path) -> ModelView:
    return ModelView(path, Settings(), Sandbox())


def test_a_parsed_document_narrows_to_its_member(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, extra=[("list.json", "[1, 2]"), ("broken.json", "{")])
    with open_view(spec.write(tmp_path / "docs.model")) as view:
        manifest = view.manifest.object
        assert manifest is not None and manifest.member.name == "MANIFEST.json"
        assert manifest.value["Model"]["Model-Name"] == view.model_entry["Model-Name"]
        listed = view.json(view.get("list.json"))
        assert listed.object is None and listed.parsed is not None
        assert listed.parsed.value == [1, 2] and listed.parsed.member.name == "list.json"
        broken = view.json(view.get("broken.json"))
        assert broken.error and broken.parsed is None and broken.object is None
        missing = view.json(view.get("absent.json"))
        assert missing.member is None and missing.parsed is None and missing.object is None


def test_a_rewritten_view_keeps_what_the_source_verified(tmp_path, mlp_model):
    """repack's output view: copied members whose CRC held are not read again, and an
    unchanged params file keeps the index the source's check read."""
    source_path = ArchiveSpec(mlp_model).write(tmp_path / "source.model")
    with open_view(source_path) as source:
        index = source.params
        assert isinstance(index, ParamsIndex)
        source.verify()
        written = write_archive(source, Plan(), tmp_path / "out.model")
        assert all(copied is not None for copied in written.copied)
        out = ModelView.rewritten(
            tmp_path / "out.model", Settings(), Sandbox(), source=source, copied=written.copied
        )
        with out:
            assert out.params is index  # carried, not read again
            assert all(out.read_results.get(m.index, "unread") is None for m in out.files)
            assert out.read_failures == {}


def test_a_rewritten_view_reads_what_the_source_never_read(tmp_path, mlp_model):
    source_path = ArchiveSpec(mlp_model).write(tmp_path / "source.model")
    with open_view(source_path) as source:
        written = write_archive(source, Plan(), tmp_path / "out.model")
        with ModelView.rewritten(
            tmp_path / "out.model", Settings(), Sandbox(), source=source, copied=written.copied
        ) as out:
            # Only what the source read to its end (writing read the manifest) is known good.
            verified = {source.members[i].name for i, f in source.read_results.items() if not f}
            assert {out.members[i].name for i in out.read_results} == verified
            assert len(verified) < len(out.files)
            index = out.params
            assert isinstance(index, ParamsIndex) and "params" not in source.__dict__
