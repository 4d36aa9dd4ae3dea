"""Build real model archives for tests: real MXNet exports (random weights) in real zips.

Nothing here is mocked: graphs and weights come from `HybridBlock.export`, archives from
`zipfile`, and broken archives from real bytes.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest

EXPORTS = Path(__file__).parent / "fixtures" / "exports"

MemberList = Iterable[tuple[str, Union[bytes, str]]]

VISION_SERVICE = '''\
"""Image classification service for MMS 0.4."""
from mms.model_service.mxnet_vision_service import MXNetVisionService


class ClassifierService(MXNetVisionService):
    """Top-5 classes for one JPEG image."""

    def _postprocess(self, data):
        return super(ClassifierService, self)._postprocess(data)
'''

# The stock vision service decodes every image to 3 channels; a grey-scale model needs its
# own `_preprocess` (MMS fails every request otherwise: MAR404).
GREY_VISION_SERVICE = '''\
"""Digit classes for one grey-scale JPEG, for MMS 0.4."""
from mms.model_service.mxnet_vision_service import MXNetVisionService
from mms.utils.mxnet import image


class DigitsService(MXNetVisionService):
    """The stock service decodes images to RGB; this model reads one grey channel."""

    def _preprocess(self, data):
        batches = []
        for index, jpeg in enumerate(data):
            _, _, height, width = self.signature["inputs"][index]["data_shape"]
            grey = image.read(jpeg, flag=0)  # H x W x 1
            grey = image.resize(grey, width, height)
            batches.append(image.transform_shape(grey))  # 1 x 1 x H x W
        return batches
'''

# `MXNetBaseService._preprocess` returns a `map` on Python 3, which MMS's `_inference`
# refuses ("Input data must be a list"): a JSON service returns a list itself (MAR403).
JSON_SERVICE = '''\
"""Tabular model service for MMS 0.4."""
import mxnet as mx
from mms.model_service.mxnet_model_service import MXNetBaseService


class TabularService(MXNetBaseService):
    def _preprocess(self, data):
        return [mx.nd.array(item) for item in data]
'''


@dataclass(frozen=True)
class ExportedModel:
    """One network exported by MXNet: its graph JSON, its weights, and its I/O shapes."""

    name: str
    symbol: bytes
    params: bytes
    input_name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    vision: bool

    @property
    def service(self) -> str:
        """The service file MMS serves this model with."""
        if not self.vision:
            return JSON_SERVICE
        return GREY_VISION_SERVICE if self.input_shape[1] == 1 else VISION_SERVICE

    @property
    def output_name(self) -> str:
        """The graph's output as MXNet names it (`list_outputs()`)."""
        graph = json.loads(self.symbol)
        return graph["nodes"][graph["heads"][0][0]]["name"] + "_output"


def require_mxnet() -> Any:
    """mxnet, or skip the test: it installs only on Python <= 3.11 (the oracle environment)."""
    return pytest.importorskip("mxnet", reason="needs mxnet 1.9.1 (Python <= 3.11 only)")


def export_model(
    net: Any, name: str, input_shape: tuple[int, ...], workdir: Path, vision: bool
) -> ExportedModel:
    """Export a gluon network with random weights the way users do (`HybridBlock.export`)."""
    mx = require_mxnet()

    mx.random.seed(7)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    out = net(mx.nd.random.uniform(shape=input_shape))
    prefix = workdir / name
    net.export(str(prefix), epoch=0)
    return ExportedModel(
        name=name,
        symbol=(workdir / f"{name}-symbol.json").read_bytes(),
        params=(workdir / f"{name}-0000.params").read_bytes(),
        input_name="data",
        input_shape=input_shape,
        output_shape=tuple(out.shape),
        vision=vision,
    )


def committed_export(name: str) -> ExportedModel:
    """One of the small exports `make_fixtures.py` commits, so tests run without mxnet."""
    meta = json.loads((EXPORTS / f"{name}.json").read_text())
    return ExportedModel(
        name=name,
        symbol=(EXPORTS / f"{name}-symbol.json").read_bytes(),
        params=(EXPORTS / f"{name}-0000.params").read_bytes(),
        input_name=meta["input_name"],
        input_shape=tuple(meta["input_shape"]),
        output_shape=tuple(meta["output_shape"]),
        vision=meta["vision"],
    )


def commit_export(model: ExportedModel) -> None:
    EXPORTS.mkdir(exist_ok=True)
    (EXPORTS / f"{model.name}-symbol.json").write_bytes(model.symbol)
    (EXPORTS / f"{model.name}-0000.params").write_bytes(model.params)
    meta = {
        "input_name": model.input_name,
        "input_shape": list(model.input_shape),
        "output_shape": list(model.output_shape),
        "vision": model.vision,
    }
    (EXPORTS / f"{model.name}.json").write_text(json.dumps(meta, indent=2) + "\n")


def mlp(workdir: Path) -> ExportedModel:
    """A small tabular MLP with BatchNorm (auxiliary states) and JSON input (committed)."""
    return committed_export("tabular")


def tiny_cnn(workdir: Path) -> ExportedModel:
    """The digits CNN (committed)."""
    return committed_export("digits")


def export_mlp(workdir: Path) -> ExportedModel:
    """A small tabular MLP with BatchNorm (auxiliary states) and JSON input."""
    require_mxnet()
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(32, activation="relu"), nn.BatchNorm(), nn.Dense(5))
    return export_model(net, "tabular", (1, 12), workdir, vision=False)


def export_tiny_cnn(workdir: Path) -> ExportedModel:
    """A digits classifier small enough to commit: 1x28x28 images, 10 classes."""
    require_mxnet()
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(
            nn.Conv2D(4, 3, activation="relu"),
            nn.MaxPool2D(2),
            nn.Conv2D(8, 3, activation="relu"),
            nn.MaxPool2D(2),
            nn.Flatten(),
            # in_units fixes the weight shape in the graph, as in most zoo classifiers: a
            # signature with another image size then fails shape inference (MMS #52).
            nn.Dense(10, in_units=8 * 5 * 5),
        )
    return export_model(net, "digits", (1, 1, 28, 28), workdir, vision=True)


def zoo_model(name: str, workdir: Path) -> ExportedModel:
    """A gluon model-zoo network with random weights (no download)."""
    require_mxnet()
    from mxnet.gluon.model_zoo import vision

    net = vision.get_model(name, pretrained=False, classes=1000)
    return export_model(net, name.replace(".", "_"), (1, 3, 224, 224), workdir, vision=True)


def mms_04_manifest(prefix: str) -> dict[str, Any]:
    """The MANIFEST.json `mxnet-model-export` (MMS 0.4) writes for `<prefix>-symbol.json` and
    `<prefix>-0000.params` with a `service.py`."""
    return {
        "Model-Archive-Version": 0.2,
        "Model-Archive-Description": prefix,
        "Model-Server": 0.4,
        "Model": {
            "Parameters": f"{prefix}-0000.params",
            "Symbol": f"{prefix}-symbol.json",
            "Signature": "signature.json",
            "Description": prefix,
            "Model-Format": "MXNet-Symbolic",
            "Model-Name": prefix,
            "Service": "service.py",
        },
        "Engine": {"MXNet": ["int", 10901]},
    }


@dataclass
class ArchiveSpec:
    """The members of a legacy `.model` archive as `mxnet-model-export` (MMS 0.4) writes
    them; tests change fields to make realistic mistakes."""

    model: ExportedModel
    manifest: dict[str, Any] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    extra: list[tuple[str, bytes | str]] = field(default_factory=list)
    drop: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        model = self.model
        prefix = model.name
        self.manifest = {**mms_04_manifest(prefix), **self.manifest}
        mime = "image/jpeg" if model.vision else "application/json"
        self.signature = {
            "inputs": [{"data_name": model.input_name, "data_shape": [0, *model.input_shape[1:]]}],
            "input_type": mime,
            "outputs": [
                {"data_name": model.output_name, "data_shape": [0, *model.output_shape[1:]]}
            ],
            "output_type": "application/json",
            **self.signature,
        }

    def members(self) -> list[tuple[str, bytes | str]]:
        prefix = self.model.name
        members: list[tuple[str, bytes | str]] = [
            ("signature.json", json.dumps(self.signature, indent=2)),
            (f"{prefix}-symbol.json", self.model.symbol),
            (f"{prefix}-0000.params", self.model.params),
            ("service.py", self.model.service),
            ("MANIFEST.json", json.dumps(self.manifest, indent=4)),
        ]
        if self.model.vision:
            members.append(
                ("synset.txt", "".join(f"class_{i}\n" for i in range(self.model.output_shape[1])))
            )
        return [(n, d) for n, d in members if n not in self.drop] + list(self.extra)

    def write(self, path: Path, compression: int = zipfile.ZIP_STORED) -> Path:
        return write_zip(path, self.members(), compression)

    def write_folder(self, path: Path) -> Path:
        for name, data in self.members():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode() if isinstance(data, str) else data)
        return path


def write_zip(path: Path, members: MemberList, compression: int = zipfile.ZIP_STORED) -> Path:
    """A real zip with fixed timestamps, so the same members give the same bytes."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def unix_member(name: str, mode: int, data: bytes | str) -> tuple[zipfile.ZipInfo, bytes | str]:
    """A member with Unix file-type bits: `stat.S_IFLNK | 0o777` makes unzip tools restore a
    symbolic link to `data`."""
    info = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = mode << 16
    return info, data


def write_members(
    path: Path,
    members: Iterable[tuple[str | zipfile.ZipInfo, bytes | str]],
    compression: int = zipfile.ZIP_STORED,
) -> Path:
    """Like write_zip, but a member may come with its own ZipInfo (links, odd modes)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            if not isinstance(name, zipfile.ZipInfo):
                name = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
                name.compress_type = compression
                name.external_attr = 0o644 << 16
            archive.writestr(name, data)
    return path


def understate_size(path: Path, name: str, declared: int) -> Path:
    """Make the headers of member `name` declare `declared` uncompressed bytes while its
    compressed data inflates to more: a bomb that lies about its size."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    struct.pack_into("<I", data, local + 22, declared)
    central = len(data)
    while True:  # the central header whose name follows its 46 fixed bytes
        central = data.rindex(b"PK\x01\x02", 0, central)
        if data[central + 46 : central + 46 + len(name.encode())] == name.encode():
            break
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def resave_params(params: bytes, change: Any, *, np_shape: bool = False) -> bytes:
    """Load a params file with MXNet, change its name -> NDArray dict with `change`, and save
    it again with `mx.nd.save` (numpy shape semantics, i.e. V3 records, with `np_shape`)."""
    import tempfile

    mx = require_mxnet()

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "w.params"
        path.write_bytes(params)
        arrays = change(mx.nd.load(str(path)))
        with mx.util.np_shape(np_shape):
            mx.nd.save(str(path), arrays)
        return path.read_bytes()


def mlp_saved_parameters(workdir: Path) -> bytes:
    """The `mlp` network's weights as Gluon's `save_parameters` writes them (no prefixes)."""
    mx = require_mxnet()
    from mxnet.gluon import nn

    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(32, activation="relu"), nn.BatchNorm(), nn.Dense(5))
    net.initialize(mx.init.Xavier())
    net(mx.nd.ones((1, 12)))
    path = workdir / "tabular-gluon.params"
    net.save_parameters(str(path))
    return path.read_bytes()
