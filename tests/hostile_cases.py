"""Hostile archives and model folders (issue 15, part A), built from the committed sample
archive `tests/fixtures/digits.model` (a real MXNet export) with one attack each.

`CASES` maps a case name to a builder: `build(folder) -> path` writes the case under
`folder` and returns the archive or model folder to run mar-lint on. The tests and
`benchmarks/hostile.py` use the same builders. Run each command from the returned folder (or
the archive's folder): that is where a planted module would be picked up.

Cases that plant a Python module make it write `SENTINEL` (a file beside the model folder)
when it runs: that file must never appear.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

SAMPLE = Path(__file__).parent / "fixtures" / "digits.model"
SENTINEL = "SENTINEL"
# Module names a sandbox child imports: the standard library's json (mar-lint's own code),
# and numpy, which mxnet imports first thing.
PLANTED_MODULES = ("json.py", "json/__init__.py", "numpy.py")


def sample_members() -> dict[str, bytes]:
    with zipfile.ZipFile(SAMPLE) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    """A stored zip: compressed, these members would be caught as bombs (MAR006) before the
    mechanism under test is reached."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def write_folder(path: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def archive_with(**replaced: Callable[[], bytes]) -> Callable[[Path], Path]:
    """A builder of the sample archive with members replaced or added (`synset_txt` names
    synset.txt: dots and dashes become underscores in the keyword). Each member's bytes are
    made when the case is built, not when this module is imported."""

    def build(folder: Path) -> Path:
        members = sample_members()
        for key, make in replaced.items():
            name = next((n for n in members if _keyword(n) == key), None)
            members[name or key] = make()
        return write_archive(folder / "case.model", members)

    return build


def _keyword(name: str) -> str:
    return name.replace(".", "_").replace("-", "_")


def manifest_with(**changes: object) -> bytes:
    manifest = json.loads(sample_members()["MANIFEST.json"])
    manifest["Model"].update(changes)
    return json.dumps(manifest).encode()


def signature_with_shape(shape: list[object]) -> bytes:
    signature = json.loads(sample_members()["signature.json"])
    signature["inputs"][0]["data_shape"] = shape
    return json.dumps(signature).encode()


# -- import isolation: a module in the checked folder (or the working folder) must never run


def planted(module: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        model = write_folder(folder / "model", sample_members())
        sentinel = (folder / SENTINEL).resolve()
        code = f"open({str(sentinel)!r}, 'w').write('ran')\n"
        target = model / module
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
        return model

    return build


# -- sizes: JSON, service, params, labels, findings


def params_of_tiny_arrays(count: int) -> bytes:
    """An MXNet NDArray list of `count` one-element float32 arrays (v2 records, no names)."""
    record = struct.pack("<Iiiqiii", 0xF993FAC9, 0, 1, 1, 1, 0, 0) + b"\x00" * 4
    return struct.pack("<QQQ", 0x112, 0, count) + record * count + struct.pack("<Q", 0)


def elif_chain(branches: int) -> bytes:
    service = sample_members()["service.py"].decode()
    chain = "if VERSION == 0:\n    pass\n" + "".join(
        f"elif VERSION == {i}:\n    pass\n" for i in range(1, branches)
    )
    return (service + "\nVERSION = 1\n" + chain).encode()


def junk_members(folder: Path) -> Path:
    """More MAR008 findings than one rule may list: 1,000 compiled-Python leftovers."""
    members = sample_members()
    members.update({f"cache/x{i}.pyc": b"" for i in range(1000)})
    return write_archive(folder / "case.model", members)


# -- depth: folders, syntax trees, JSON


def deep_folder(levels: int) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        model = write_folder(folder / "model", sample_members())
        deep = str(model)
        for _ in range(levels):  # Path.mkdir(parents=True) itself recurses per level
            deep = os.path.join(deep, "d")
            os.mkdir(deep)
        Path(deep, "leaf.txt").write_text("deep\n")
        return model

    return build


def remove_deep(folder: Path) -> None:
    """Delete what `deep_folder` made, without recursion (shutil.rmtree recurses per level)."""
    chain = [str(folder)]
    while os.path.isdir(os.path.join(chain[-1], "d")):
        chain.append(os.path.join(chain[-1], "d"))
    for path in reversed(chain):
        for name in os.listdir(path):
            if not os.path.isdir(os.path.join(path, name)):
                os.unlink(os.path.join(path, name))
        if path != str(folder):
            os.rmdir(path)


def unterminated_escapes(folder: Path) -> Path:
    """A signature whose last string never ends: 200,000 escaped quotes and brackets."""
    return archive_with(signature_json=lambda: b'{"inputs": "' + b'\\"[{' * 200_000)(folder)


# -- JSON read as MMS reads it, and written as JSON


def manifest_is_a_folder(folder: Path) -> Path:
    members = sample_members()
    del members["MANIFEST.json"]
    model = write_folder(folder / "model", members)
    (model / "MANIFEST.json").mkdir()
    (model / "MANIFEST.json" / "x").write_text("{}")
    return model


def encoded(name: str, encoding: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        text = sample_members()[name].decode()
        return archive_with(**{_keyword(name): lambda: text.encode(encoding)})(folder)

    return build


def not_a_number(folder: Path) -> Path:
    manifest = json.loads(sample_members()["MANIFEST.json"])
    manifest["Model-Archive-Version"] = float("nan")
    manifest["Model"]["Threshold"] = float("inf")
    return archive_with(MANIFEST_json=lambda: json.dumps(manifest).encode())(folder)


CASES: dict[str, Callable[[Path], Path]] = {
    "clean-sample (baseline)": lambda folder: write_archive(
        folder / "case.model", sample_members()
    ),
    "planted-json-module": planted("json.py"),
    "planted-json-package": planted("json/__init__.py"),
    "planted-numpy-module": planted("numpy.py"),
    "json-16m-character-string": archive_with(
        signature_json=lambda: b'{"inputs": [], "input_type": "' + b"x" * 16_000_000 + b'"}'
    ),
    "json-million-bad-dimensions": archive_with(
        signature_json=lambda: signature_with_shape([-1] * 1_000_000)
    ),
    "json-500k-bad-dimensions": archive_with(
        signature_json=lambda: signature_with_shape([-1] * 500_000)
    ),
    "json-21m-empty-objects": archive_with(
        signature_json=lambda: b"[" + b"{}," * 21_000_000 + b"{}]"
    ),
    "json-5m-empty-objects-under-byte-cap": archive_with(
        signature_json=lambda: b"[" + b"{}," * 5_000_000 + b"{}]"
    ),
    "json-unterminated-escaped-quotes": unterminated_escapes,
    "json-deep-brackets": archive_with(signature_json=lambda: b"[" * 200_000),
    "service-16mb": archive_with(service_py=lambda: b"x = 1\n" * ((16 << 20) // 6)),
    "service-elif-2000": archive_with(service_py=lambda: elif_chain(2000)),
    "params-million-tiny-arrays": archive_with(
        digits_0000_params=lambda: params_of_tiny_arrays(1_000_000)
    ),
    "synset-17mib": archive_with(synset_txt=lambda: b"label\n" * (17 * (1 << 20) // 6)),
    "findings-1000-junk-members": junk_members,
    "service-reference-16m-characters": archive_with(
        MANIFEST_json=lambda: manifest_with(Service="*" * 16_000_000)
    ),
    "service-reference-1m-characters": archive_with(
        MANIFEST_json=lambda: manifest_with(Service="?*" * 500_000)
    ),
    # A glob MMS would match with service.py, slowly: mar-lint does not compile it.
    "service-reference-1m-glob": archive_with(
        MANIFEST_json=lambda: manifest_with(Service="*" * 1_000_000 + "service.py")
    ),
    "folder-1200-deep": deep_folder(1200),
    "manifest-is-a-folder": manifest_is_a_folder,
    "manifest-utf8-bom": encoded("MANIFEST.json", "utf-8-sig"),
    "signature-utf16": encoded("signature.json", "utf-16"),
    "manifest-utf32": encoded("MANIFEST.json", "utf-32"),
    "manifest-nan-infinity": not_a_number,
}
