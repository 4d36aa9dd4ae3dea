"""Tests for mar_lint.params against files written (or at least loaded) by mxnet 1.9.1 itself.

Hand-built records are only used where mxnet 1.9.1 cannot write the layout (legacy, V1, bad
headers); each valid hand-built file is loaded with `mx.nd.load` so the fixture is real.
"""

from __future__ import annotations

import io
import pickle
import random
import struct
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mar_lint.params import (
    LFS_POINTER_PREFIX,
    ParamsError,
    ParamsIndex,
    Tensor,
    read_params_index,
)

mx = pytest.importorskip("mxnet")
np = pytest.importorskip("numpy")

V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
ITEMSIZE = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1, 8: 2, 9: 2, 10: 4, 11: 8, 12: 2}


# --- hand-built bytes (layouts from reference/formats.md section 5) -------------------------


def shape_bytes(dims: tuple[int, ...], ndim: int | None = None) -> bytes:
    """V1/V2/V3 Shape: i32 ndim, then ndim x i64."""
    count = len(dims) if ndim is None else ndim
    return struct.pack("<i", count) + struct.pack(f"<{len(dims)}q", *dims)


def payload(dims: tuple[int, ...], flag: int) -> bytes:
    count = 1
    for d in dims:
        count *= max(d, 0)
    return bytes(count * ITEMSIZE.get(flag, 4))


def tail(dims: tuple[int, ...], flag: int, dev: tuple[int, int]) -> bytes:
    """Context, dtype flag and zeroed data, shared by all dense record versions."""
    return struct.pack("<iii", dev[0], dev[1], flag) + payload(dims, flag)


def head_v2(
    dims: tuple[int, ...],
    flag: int = 0,
    dev: tuple[int, int] = (1, 0),
    *,
    magic: int = V2,
    stype: int = 0,
    ndim: int | None = None,
) -> bytes:
    """A dense V2/V3 record without its data (for headers whose data would be huge)."""
    return (
        struct.pack("<Ii", magic, stype)
        + shape_bytes(dims, ndim)
        + struct.pack("<iii", dev[0], dev[1], flag)
    )


def rec_v2(
    dims: tuple[int, ...],
    flag: int = 0,
    dev: tuple[int, int] = (1, 0),
    *,
    magic: int = V2,
    stype: int = 0,
    ndim: int | None = None,
) -> bytes:
    return head_v2(dims, flag, dev, magic=magic, stype=stype, ndim=ndim) + payload(dims, flag)


def rec_v1(dims: tuple[int, ...], flag: int = 0, dev: tuple[int, int] = (1, 0)) -> bytes:
    return struct.pack("<I", V1) + shape_bytes(dims) + tail(dims, flag, dev)


def rec_legacy(dims: tuple[int, ...], flag: int = 0, dev: tuple[int, int] = (1, 0)) -> bytes:
    """MXNet <= 0.10: u32 ndim, ndim x u32 dims, no magic."""
    head = struct.pack(f"<I{len(dims)}I", len(dims), *dims)
    return head + tail(dims, flag, dev)


def rec_row_sparse(aux_flag: int = 6, *, magic: int = V2, stored: int = 1) -> bytes:
    """row_sparse (3, 2) float32 with one stored row, as mxnet 1.9.1 writes it.

    `stored` is the row count in the storage shape; 0 makes mxnet derive it from the index."""
    return (
        struct.pack("<Ii", magic, 1)
        + shape_bytes((stored, 2))
        + shape_bytes((3, 2))
        + struct.pack("<iii", 1, 0, 0)
        + struct.pack("<i", aux_flag)
        + shape_bytes((1,))
        + bytes(8)
        + payload((1,), aux_flag)
    )


def params_file(records: list[bytes], names: list[str | bytes] | None = None) -> bytes:
    raw = [n.encode() if isinstance(n, str) else n for n in names or []]
    table = b"".join(struct.pack("<Q", len(n)) + n for n in raw)
    return (
        struct.pack("<QQQ", 0x112, 0, len(records))
        + b"".join(records)
        + struct.pack("<Q", len(raw))
        + table
    )


# --- helpers -------------------------------------------------------------------------------


def index_of(data: bytes, *, known_size: bool = True) -> ParamsIndex:
    return read_params_index(io.BytesIO(data), len(data) if known_size else None)


def mx_load(tmp_path: Path, data: bytes, *, np_shape: bool = False) -> Any:
    path = tmp_path / "probe.params"
    path.write_bytes(data)
    with mx.util.np_shape(np_shape):
        return mx.nd.load(str(path))


def mx_save(
    tmp_path: Path, arrays: Any, *, name: str = "f.params", np_shape: bool = False
) -> bytes:
    path = tmp_path / name
    with mx.util.np_shape(np_shape):
        mx.nd.save(str(path), arrays)
    return path.read_bytes()


def describe(arr: Any) -> tuple[tuple[int, ...], str, str, int]:
    """What mxnet reports for an array, in the reader's terms."""
    if arr.stype == "default":
        parts = [arr.asnumpy()]
    elif arr.stype == "row_sparse":
        parts = [arr.data.asnumpy(), arr.indices.asnumpy()]
    else:
        parts = [arr.data.asnumpy(), arr.indptr.asnumpy(), arr.indices.asnumpy()]
    return tuple(arr.shape), np.dtype(arr.dtype).name, arr.stype, sum(p.nbytes for p in parts)


def summary(t: Tensor) -> tuple[tuple[int, ...] | None, str | None, str, int]:
    return t.shape, t.dtype, t.storage, t.nbytes


def assert_matches_mxnet(index: ParamsIndex, loaded: Any) -> None:
    if isinstance(loaded, dict):
        assert index.has_names
        assert [t.name for t in index.tensors] == list(loaded)
        arrays = list(loaded.values())
    else:
        assert not index.has_names and index.by_name() == {}
        assert all(t.name is None for t in index.tensors)
        arrays = loaded
    assert [summary(t) for t in index.tensors] == [describe(a) for a in arrays]
    offsets = [t.offset for t in index.tensors]
    assert offsets == sorted(offsets) and (not offsets or offsets[0] == 24)


class ForwardOnly:
    """A stream with nothing but read(n): proves the reader never seeks, tells or reads all."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.largest = 0

    def read(self, n: int) -> bytes:
        assert 0 <= n <= 1 << 20, f"read({n}) is not a bounded chunk"
        self.largest = max(self.largest, n)
        return self._inner.read(n)


# --- fixtures: files written by mxnet 1.9.1 ------------------------------------------------

DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]


@pytest.fixture(scope="module")
def tmp_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("params")


@pytest.fixture(scope="module")
def dtypes_file(tmp_module: Path) -> bytes:
    arrays = {f"arg:w_{dt}": mx.nd.array(np.arange(6).reshape(2, 3) % 2, dtype=dt) for dt in DTYPES}
    arrays["aux:moving_var"] = mx.nd.ones((3,))
    arrays["no_prefix"] = mx.nd.ones((4, 1, 2, 3), dtype="float16")
    return mx_save(tmp_module, arrays, name="dtypes.params")


@pytest.fixture(scope="module")
def sparse_file(tmp_module: Path) -> bytes:
    rows = mx.nd.sparse.row_sparse_array((np.ones((2, 4)), [1, 5]), shape=(7, 4), dtype="float32")
    csr = mx.nd.sparse.csr_matrix(
        (np.array([1.0, 2.0, 3.0]), np.array([0, 2, 1]), np.array([0, 2, 3, 3])),
        shape=(3, 3),
        dtype="float32",
    )
    arrays = {
        "arg:rows": rows,
        "arg:csr": csr,
        "arg:rows_empty": mx.nd.sparse.zeros("row_sparse", (5, 2)),
        "arg:csr_empty": mx.nd.sparse.zeros("csr", (2, 6), dtype="float64"),
        "arg:dense": mx.nd.ones((2,)),
    }
    return mx_save(tmp_module, arrays, name="sparse.params")


@pytest.fixture(scope="module")
def mlp_file(tmp_module: Path) -> bytes:
    from mxnet import gluon

    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.BatchNorm(), gluon.nn.Dense(4))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.ones((2, 8)))
    net.export(str(tmp_module / "mlp"), epoch=0)
    return (tmp_module / "mlp-0000.params").read_bytes()


@pytest.fixture(scope="module")
def resnet_path(tmp_module: Path) -> Path:
    from mxnet.gluon.model_zoo import vision

    net = vision.get_model("resnet18_v1", pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.ones((1, 3, 32, 32)))
    net.export(str(tmp_module / "resnet18"), epoch=0)
    return tmp_module / "resnet18-0000.params"


# --- valid files ---------------------------------------------------------------------------


def test_hexdump_example_from_formats_md(tmp_path: Path) -> None:
    data = mx_save(tmp_path, {"arg:w": mx.nd.array([[1, 2, 3], [4, 5, 6]])})
    index = index_of(data)
    assert index == ParamsIndex(
        (Tensor("arg:w", "v2", "default", (2, 3), "float32", "cpu", 0, 0x18, 24),), True, 0
    )
    assert index.tensors[0].prefix == "arg" and index.tensors[0].bare_name == "w"


@pytest.mark.parametrize("known_size", [True, False])
def test_all_loadable_dtypes(tmp_path: Path, dtypes_file: bytes, known_size: bool) -> None:
    index = index_of(dtypes_file, known_size=known_size)
    assert_matches_mxnet(index, mx_load(tmp_path, dtypes_file))
    assert {t.version for t in index.tensors} == {"v2"}
    assert {(t.device, t.device_id) for t in index.tensors} == {("cpu", 0)}
    assert [t.dtype for t in index.tensors[: len(DTYPES)]] == DTYPES
    assert index.by_name()["no_prefix"].nbytes == 4 * 2 * 3 * 2
    assert index.trailing_bytes == 0


def test_sparse_row_sparse_and_csr(tmp_path: Path, sparse_file: bytes) -> None:
    index = index_of(sparse_file)
    assert_matches_mxnet(index, mx_load(tmp_path, sparse_file))
    by_name = index.by_name()
    assert by_name["arg:rows"].storage == "row_sparse"
    assert by_name["arg:rows"].nbytes == 2 * 4 * 4 + 2 * 8  # 2 stored rows + int64 idx
    assert by_name["arg:csr"].nbytes == 3 * 4 + 4 * 8 + 3 * 8  # data + indptr + idx


def test_sparse_storage_shape_derived_from_index_like_mxnet(tmp_path: Path) -> None:
    # Storage shape (0, 2) but one index: NDArray's constructor derives (1, 2), so 8 data bytes.
    data = params_file([rec_row_sparse(stored=0), rec_v2((2,))], ["rows", "after"])
    assert_matches_mxnet(index_of(data), mx_load(tmp_path, data))


def test_list_file_and_empty_dict(tmp_path: Path) -> None:
    data = mx_save(tmp_path, [mx.nd.ones((3,)), mx.nd.zeros((2, 2), dtype="int64")])
    assert_matches_mxnet(index_of(data), mx_load(tmp_path, data))
    empty = mx_save(tmp_path, {})
    assert len(empty) == 32
    assert index_of(empty) == ParamsIndex((), False, 0)


def test_gluon_export_with_batchnorm(tmp_path: Path, mlp_file: bytes) -> None:
    index = index_of(mlp_file)
    assert_matches_mxnet(index, mx_load(tmp_path, mlp_file))
    prefixes = {t.bare_name: t.prefix for t in index.tensors}
    assert any(p == "aux" and n.endswith("running_mean") for n, p in prefixes.items())
    assert any(p == "arg" and n.endswith("weight") for n, p in prefixes.items())


def test_resnet18_forward_only_stream(resnet_path: Path) -> None:
    data = resnet_path.read_bytes()
    stream = ForwardOnly(data)
    index = read_params_index(stream, len(data))  # type: ignore[arg-type]
    assert 0 < stream.largest <= 1 << 20
    loaded = mx.nd.load(str(resnet_path))
    assert_matches_mxnet(index, loaded)
    with resnet_path.open("rb") as fh:
        assert read_params_index(fh) == index


def test_v3_numpy_semantics(tmp_path: Path) -> None:
    with mx.util.np_shape(True):
        arrays = {
            "scalar": mx.nd.ones(()),
            "empty": mx.nd.zeros((0, 3)),
            "w": mx.nd.ones((2, 3), dtype="float16"),
        }
    data = mx_save(tmp_path, arrays, np_shape=True)
    index = index_of(data)
    assert {t.version for t in index.tensors} == {"v3"}
    assert_matches_mxnet(index, mx_load(tmp_path, data, np_shape=True))
    assert [t.shape for t in index.tensors] == [(), (0, 3), (2, 3)]

    path = tmp_path / "npx.params"
    with mx.util.np_shape(True), mx.util.np_array(True):
        mx.npx.save(str(path), {"x": mx.np.ones((2, 3)), "y": mx.np.zeros(())})
    assert [(t.version, t.shape) for t in index_of(path.read_bytes()).tensors] == [
        ("v3", (2, 3)),
        ("v3", ()),
    ]


def test_legacy_and_v1_records_load_in_mxnet(tmp_path: Path) -> None:
    # ndim 0 is a scalar (one element follows) for legacy/V1 in 1.9.1, not a "none" record.
    records = [
        rec_legacy((2, 3)),
        rec_legacy((4,), flag=6, dev=(2, 1)),
        rec_legacy(()),
        rec_v1((0, 5)),
        rec_v1((3,), flag=1),
        rec_v1(()),
    ]
    names = ["arg:a", "arg:b", "arg:c", "aux:d", "aux:e", "f"]
    data = params_file(records, names)
    loaded = mx_load(tmp_path, data)
    index = index_of(data)
    assert_matches_mxnet(index, loaded)
    assert [t.version for t in index.tensors] == ["legacy"] * 3 + ["v1"] * 3
    assert (index.tensors[1].device, index.tensors[1].device_id) == ("gpu", 1)
    assert [t.shape for t in index.tensors] == [(2, 3), (4,), (), (0, 5), (3,), ()]
    assert index.tensors[2].nbytes == 4
    assert index_of(params_file(records)).has_names is False


def test_mxnet_refused_dtypes_are_reported_by_name(tmp_path: Path) -> None:
    for flag, name in [(8, "int16"), (9, "uint16"), (10, "uint32"), (11, "uint64")]:
        data = params_file([rec_v2((3,), flag=flag), rec_v2((2,))], ["a", "b"])
        assert [t.dtype for t in index_of(data).tensors] == [name, "float32"]
        assert index_of(data).tensors[0].nbytes == 3 * ITEMSIZE[flag]
        with pytest.raises(mx.base.MXNetError, match=f"Unknown type enum {flag}"):
            mx_load(tmp_path, data)
    bf16 = params_file([rec_v2((5,), flag=12)], ["b"])
    assert mx_load(tmp_path, bf16)["b"].shape == (5,)
    assert index_of(bf16).tensors[0].dtype == "bfloat16"


def test_devices_any_dev_type_loads(tmp_path: Path) -> None:
    devs = [(1, 0), (2, 3), (3, 0), (5, 1), (4, 0)]
    data = params_file([rec_v2((2,), dev=dev) for dev in devs], list("abcde"))
    assert set(mx_load(tmp_path, data)) == set("abcde")
    assert [(t.device, t.device_id) for t in index_of(data).tensors] == [
        ("cpu", 0),
        ("gpu", 3),
        ("cpu_pinned", 0),
        ("cpu_shared", 1),
        ("dev_type 4", 0),
    ]


def test_none_records_end_after_shape(tmp_path: Path) -> None:
    # The C loader accepts them (the whole name table is read); python's mx.nd.load then fails.
    v2_none = struct.pack("<Iii", V2, 0, 0)
    v3_unknown = struct.pack("<Ii", V3, 0) + shape_bytes((2, -1))
    for version, rec, np_shape in [("v2", v2_none, False), ("v3", v3_unknown, True)]:
        data = params_file([rec, rec_v2((3,), magic=V3 if np_shape else V2)], ["n", "x"])
        with pytest.raises(Exception, match="unknown storage type: -1"):
            mx_load(tmp_path, data, np_shape=np_shape)
        none, real = index_of(data).tensors
        assert none == Tensor("n", version, "default", None, None, None, None, 24, 0)
        assert (real.shape, real.offset) == ((3,), 24 + len(rec))


def test_trailing_bytes_and_duplicate_names(tmp_path: Path) -> None:
    data = params_file([rec_v2((2,)), rec_v2((3,))], ["a", "a"]) + b"garbage"
    assert mx_load(tmp_path, data)["a"].shape == (3,)
    index = index_of(data)
    assert index.trailing_bytes == 7
    assert [t.name for t in index.tensors] == ["a", "a"]
    assert index.by_name()["a"].shape == (3,)  # last wins, as in mx.nd.load


def test_name_prefix_properties() -> None:
    def named(name: str | None) -> Tensor:
        return Tensor(name, "v2", "default", (1,), "float32", "cpu", 0, 24, 4)

    assert (named("arg:fc1_weight").prefix, named("arg:fc1_weight").bare_name) == (
        "arg",
        "fc1_weight",
    )
    assert (named("a:b:c").prefix, named("a:b:c").bare_name) == ("a", "b:c")
    assert (named("0.weight").prefix, named("0.weight").bare_name) == (None, "0.weight")
    assert (named(None).prefix, named(None).bare_name) == (None, None)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_member(tmp_path: Path, mlp_file: bytes, sparse_file: bytes, compression: int) -> None:
    path = tmp_path / "m.model"
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("mlp-0000.params", mlp_file)
        zf.writestr("sparse.params", sparse_file)
    with zipfile.ZipFile(path) as zf:
        for info, data in zip(zf.infolist(), [mlp_file, sparse_file]):
            with zf.open(info) as member:
                assert read_params_index(member, info.file_size) == index_of(data)
            with zf.open(info) as member:
                assert read_params_index(member) == index_of(data)


def test_zip_crc_is_checked_because_stream_is_read_to_the_end(
    tmp_path: Path, mlp_file: bytes
) -> None:
    path = tmp_path / "m.model"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("m-0000.params", mlp_file)
    raw = bytearray(path.read_bytes())
    first = index_of(mlp_file).tensors[0]
    raw[raw.index(mlp_file[:64]) + first.offset + first.nbytes - 1] ^= 0xFF  # inside data
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf, zf.open("m-0000.params") as member:
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            read_params_index(member, zf.getinfo("m-0000.params").file_size)


def test_200mb_of_zeros_through_deflate_keeps_memory_bounded(tmp_path: Path) -> None:
    raw = tmp_path / "zeros.params"
    mx.nd.save(str(raw), {"arg:zeros": mx.nd.zeros((50 * 2**20,))})  # 200 MiB of float32
    path = tmp_path / "zeros.model"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.write(raw, "zeros-0000.params")
    raw.unlink()
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("zeros-0000.params")
        with zf.open(info) as member:
            tracemalloc.start()
            try:
                index = read_params_index(member, info.file_size)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert index.tensors[0].nbytes == 200 * 2**20
    assert peak < 10 * 2**20, f"peak {peak:,} bytes"


# --- broken files --------------------------------------------------------------------------

HTML = b"\n<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>\n"
LFS = LFS_POINTER_PREFIX + b"v1\noid sha256:" + b"ab" * 32 + b"\nsize 46804925\n"
BIG = 2**40


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("MANIFEST.json", "{}")
    return buf.getvalue()


def with_u64(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<Q", value) + data[offset + 8 :]


GOOD = params_file([rec_v2((2,))], ["arg:w"])
# (id, bytes, message fragment, mxnet 1.9.1 also rejects it: safe and cheap to check)
BROKEN: list[tuple[str, bytes, str, bool]] = [
    ("empty", b"", "file is empty", True),
    ("random", random.Random(0).randbytes(10), "not an MXNet .params file", True),
    ("bad-magic", with_u64(GOOD, 0, 0), "bad magic 0x00000000 (expected 0x112)", True),
    ("lfs", LFS, "git lfs pull", True),
    ("html", HTML, "HTML page", True),
    ("zip", zip_bytes(), "zip archive", True),
    ("short-header", GOOD[:20], "truncated: the file header", True),
    ("n-arrays", with_u64(GOOD, 16, BIG), "1,099,511,627,776 arrays", False),
    ("dim", params_file([head_v2((BIG,))], ["w"]), "needs 4,398,046,511,104 bytes of data", False),
    ("name-length", with_u64(GOOD, len(GOOD) - 13, BIG), "name length 1,099,511,627,776", False),
    (
        "names-count",
        params_file([rec_v2((2,)), rec_v2((1,))], ["a"]),
        "names count 1 does not match 2 arrays",
        True,
    ),
    ("dtype-13", params_file([rec_v2((2,), flag=13)], ["w"]), "unknown dtype flag 13", True),
    ("dtype-99", params_file([rec_v2((2,), flag=99)], ["w"]), "unknown dtype flag 99", True),
    ("dtype--1", params_file([rec_v2((2,), flag=-1)], ["w"]), "unknown dtype flag -1", True),
    (
        "aux-dtype-8",
        params_file([rec_row_sparse(aux_flag=8)], ["w"]),
        "aux 0 dtype flag 8 (int16) cannot be loaded",
        True,
    ),
    ("stype-7", params_file([rec_v2((2,), stype=7)], ["w"]), "unknown storage type 7", True),
    ("stype--1", params_file([rec_v2((2,), stype=-1)], ["w"]), "unknown storage type -1", True),
    ("huge-product", params_file([head_v2((2**62,) * 4)], ["w"]), "more than 2^63 bytes", False),
    (
        "ndim-100",
        params_file([head_v2(tuple(range(1, 101)))], ["w"]),
        "ndim 100 is more than 32",
        False,
    ),
    (
        "legacy-garbage",
        params_file([struct.pack("<I", 0xDEADBEEF) + bytes(40)]),
        "neither a record magic",
        False,
    ),
    ("ndim--1-v2", params_file([rec_v2((), ndim=-1)], ["w"]), "negative shape ndim -1", False),
    (
        "ndim--1-v3",
        params_file([rec_v2((), ndim=-1, magic=V3)], ["w"]),
        "negative shape ndim -1",
        False,
    ),
    ("dim--1-v2", params_file([rec_v2((2, -1))], ["w"]), "negative dim in shape", True),
    ("dim--2-v3", params_file([rec_v2((2, -2), magic=V3)], ["w"]), "negative dim", True),
    ("sparse-v3", params_file([rec_row_sparse(magic=V3)], ["w"]), "numpy-semantics (v3)", True),
    ("utf8", params_file([rec_v2((2,))], [b"\xffw"]), "name 1 is not valid UTF-8", True),
]


@pytest.mark.parametrize("known_size", [True, False], ids=["size", "no-size"])
@pytest.mark.parametrize(
    ("data", "fragment", "mxnet_rejects"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken(
    tmp_path: Path, data: bytes, fragment: str, mxnet_rejects: bool, known_size: bool
) -> None:
    with pytest.raises(ParamsError) as caught:
        index_of(data, known_size=known_size)
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message
    assert 0 <= caught.value.offset <= len(data)
    if mxnet_rejects and known_size:
        np_shape = V3.to_bytes(4, "little") in data
        with pytest.raises((mx.base.MXNetError, UnicodeDecodeError)):
            mx_load(tmp_path, data, np_shape=np_shape)


def test_params_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(ParamsError("names count 1 does not match 2 arrays", 64)))
    assert (str(error), error.message, error.offset) == (
        "names count 1 does not match 2 arrays",
        "names count 1 does not match 2 arrays",
        64,
    )


def test_hand_built_good_file_loads(tmp_path: Path) -> None:
    """The base that BROKEN mutates is itself a file mxnet loads."""
    assert mx_load(tmp_path, GOOD)["arg:w"].shape == (2,)
    assert mx_load(tmp_path, params_file([rec_row_sparse()], ["w"]))["w"].stype == "row_sparse"


def test_truncation_at_every_offset(sparse_file: bytes, dtypes_file: bytes) -> None:
    for source in (sparse_file, dtypes_file):
        for cut in range(len(source)):
            prefix = source[:cut]
            for size in (cut, None):
                with pytest.raises(ParamsError) as caught:
                    read_params_index(io.BytesIO(prefix), size)
                assert 0 <= caught.value.offset <= cut
        assert index_of(source).trailing_bytes == 0
