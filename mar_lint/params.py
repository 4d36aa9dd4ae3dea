"""Walk the headers of an MXNet `.params` file (NDArray list) without loading any weights.

Why a pure-Python walker instead of `mx.nd.load`: MXNet trusts every count and length in the
header, so a corrupt or hostile file makes it allocate terabytes (`std::bad_alloc`) or read past a
stack buffer before it reports anything. This reader checks each count against the bytes that are
left *before* it reads or allocates, skips payloads in bounded chunks, and only ever calls
`stream.read(n)`, so it works on a forward-only `zipfile` member and never needs mxnet or numpy;
asked to (`seek_payloads`), it seeks past the payloads of a seekable stream instead.

Layout (docs: reference/formats.md section 5; behaviour checked against mxnet 1.9.1)::

    u64 0x112, u64 reserved, u64 n_arrays, n_arrays x record,
    u64 n_names, n_names x (u64 len, len bytes of UTF-8)

Where mxnet 1.9.1 differs from older writers, this module follows 1.9.1 (see `_record`).
Record numbers in messages are 1-based; `ParamsError.offset` is the byte offset where reading
failed.
"""

from __future__ import annotations

import io
import struct
import typing
from dataclasses import dataclass, replace

from mar_lint.limits import READ_CHUNK

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"

_LIST_MAGIC = 0x112
_V1_MAGIC, _V2_MAGIC, _V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
# Smallest conceivable record: a legacy "none" (one u32) of old writers. In mxnet 1.9.1 the
# smallest loadable one is the 12-byte v2 "none" record, so 4 is a safe lower bound.
_MIN_RECORD_BYTES = 4
_MAX_PAYLOAD = (1 << 63) - 1  # MXNet sizes are int64; anything larger is a corrupt header

# mshadow::TypeFlag -> (numpy-style name, item size). 8-11 are listed so callers can name them
# in a finding, although mxnet 1.9.1 refuses to load them ("Unknown type enum 8").
_DTYPES: dict[int, tuple[str, int]] = {
    0: ("float32", 4),
    1: ("float64", 8),
    2: ("float16", 2),
    3: ("uint8", 1),
    4: ("int32", 4),
    5: ("int8", 1),
    6: ("int64", 8),
    7: ("bool", 1),
    8: ("int16", 2),
    9: ("uint16", 2),
    10: ("uint32", 4),
    11: ("uint64", 8),
    12: ("bfloat16", 2),
}
_MXNET_UNLOADABLE_DTYPES = frozenset({8, 9, 10, 11})
# The dtype names mxnet 1.9.1 refuses to load ("Unknown type enum 8"), for rules to report.
MXNET_UNLOADABLE_DTYPES = frozenset(_DTYPES[flag][0] for flag in _MXNET_UNLOADABLE_DTYPES)


# stype -> (name, number of aux arrays: row_sparse has idx; csr has indptr, idx)
_STORAGE: dict[int, tuple[str, int]] = {0: ("default", 0), 1: ("row_sparse", 1), 2: ("csr", 2)}
# Context::DeviceType. mxnet 1.9.1 loads any dev_type (a CPU build keeps the array on the CPU),
# so an unknown one is reported as "dev_type N" rather than rejected.
_DEVICES: dict[int, str] = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}


def dtype_name(flag: int) -> str | None:
    """The numpy-style name of an `mshadow::TypeFlag` (a graph variable's `__dtype__`)."""
    return _DTYPES[flag][0] if flag in _DTYPES else None


class ParamsError(Exception):
    """The bytes are not a valid MXNet NDArray list. `offset` is where reading failed."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)  # both in args, so the error survives pickling
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Tensor:
    """One record's header.

    `shape`, `dtype`, `device` and `device_id` are None for a "none" record, one that ends right
    after its shape (v2 `ndim 0`, or a v3 shape with an unknown `-1` dim): MXNet's C loader
    accepts it but `mx.nd.load` then fails with "unknown storage type: -1".
    """

    name: str | None
    version: str
    storage: str
    shape: tuple[int, ...] | None
    dtype: str | None
    device: str | None
    device_id: int | None
    offset: int
    nbytes: int

    @property
    def prefix(self) -> str | None:
        """`arg`/`aux`/... : what `mx.model.load_params` splits off at the first ':'."""
        if self.name is None or ":" not in self.name:
            return None
        return self.name.split(":", 1)[0]

    @property
    def bare_name(self) -> str | None:
        """The name after the first ':' (the whole name when there is none)."""
        if self.name is None:
            return None
        return self.name.split(":", 1)[-1]


@dataclass(frozen=True)
class ParamsIndex:
    """Every record header of a file, in file order."""

    tensors: tuple[Tensor, ...]
    has_names: bool
    trailing_bytes: int

    def by_name(self) -> dict[str, Tensor]:
        """Name -> tensor. A duplicated name maps to its last record, as in `mx.nd.load`."""
        return {t.name: t for t in self.tensors if t.name is not None}


class _Cursor:
    """Forward-only reader that knows its offset, the bytes left and what it is reading now.

    `where` names the part being read ("record 3 of 10") so every error can say where it is.
    """

    def __init__(
        self, stream: typing.IO[bytes], size: int | None, max_ndim: int, seeks: bool = False
    ) -> None:
        self.stream = stream
        self.size = size
        # Skip payloads by seeking (a remote archive then moves the headers only).
        self.seeks = seeks and size is not None
        self.max_ndim = max_ndim
        self.pos = 0
        self.where = "the file header"

    def error(self, message: str, offset: int | None = None) -> ParamsError:
        return ParamsError(f"{self.where}: {message}", self.pos if offset is None else offset)

    def remaining(self) -> int | None:
        return None if self.size is None else max(self.size - self.pos, 0)

    def _truncated(self, n: int, what: str, available: int) -> ParamsError:
        return ParamsError(
            f"truncated: {self.where} needs {n:,} bytes of {what} but only {available:,} remain",
            self.pos,
        )

    def check_fits(self, n: int, what: str) -> None:
        """Fail before reading or allocating when `size` says the bytes are not there."""
        left = self.remaining()
        if left is not None and n > left:
            raise self._truncated(n, what, left)

    def read_upto(self, n: int) -> bytes:
        """Up to `n` bytes (fewer only at EOF), fetched in chunks of at most `READ_CHUNK`."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            part = self.stream.read(min(n - got, READ_CHUNK))
            if not part:
                break
            parts.append(part)
            got += len(part)
        self.pos += got
        return b"".join(parts)

    def read(self, n: int, what: str) -> bytes:
        self.check_fits(n, what)
        start = self.pos
        data = self.read_upto(n)
        if len(data) < n:
            self.pos = start
            raise self._truncated(n, what, len(data))
        return data

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))

    def skip(self, n: int, what: str) -> None:
        """Read and discard `n` bytes; a zip member is thereby still CRC-checked at its end.
        A seekable stream seeks past them instead (`check_fits` has shown they exist)."""
        self.check_fits(n, what)
        if self.seeks:
            self.stream.seek(n, io.SEEK_CUR)
            self.pos += n
            return
        start, left = self.pos, n
        while left:
            part = self.stream.read(min(left, READ_CHUNK))
            if not part:
                self.pos = start
                raise self._truncated(n, what, n - left)
            left -= len(part)
            self.pos += len(part)

    def drain(self) -> int:
        """Count the bytes up to EOF (MXNet ignores them; reading them completes the CRC)."""
        if self.seeks:
            total = self.remaining() or 0
            self.stream.seek(total, io.SEEK_CUR)
            self.pos += total
            return total
        total = 0
        while part := self.stream.read(READ_CHUNK):
            total += len(part)
        self.pos += total
        return total


def _sniff(head: bytes) -> str | None:
    """Name the common wrong files found under a `.params` name, for a helpful message."""
    if head.startswith(LFS_POINTER_PREFIX):
        return (
            "this is a Git LFS pointer file, not the weights: run `git lfs pull` "
            "(or fetch the real file) before packaging"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")):
        return (
            "looks like an HTML page (an error or login page saved instead of the weights?): "
            "not an MXNet .params file"
        )
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "looks like a zip archive: not an MXNet .params file"
    if head.startswith(b"\x1f\x8b"):
        return "looks like gzip-compressed data: not an MXNet .params file (decompress it first)"
    if text.startswith((b"{", b"[")):
        return "looks like JSON text (a symbol or signature file?): not an MXNet .params file"
    return None


def _read_header(cur: _Cursor) -> int:
    """Check the list magic and return n_arrays."""
    head = cur.read_upto(24)
    if not head:
        raise ParamsError("file is empty", 0)
    magic = int.from_bytes(head[:8], "little") if len(head) >= 8 else None
    if magic != _LIST_MAGIC:
        hint = _sniff(head + cur.read_upto(64))
        if hint:
            raise ParamsError(hint, 0)
        if magic is None:
            raise ParamsError(
                f"only {len(head)} bytes: too short for an MXNet .params file "
                "(its header alone is 24 bytes)",
                0,
            )
        raise ParamsError(
            f"bad magic 0x{magic:08x} (expected 0x{_LIST_MAGIC:x}): not an MXNet .params file", 0
        )
    if len(head) < 24:
        raise ParamsError(
            f"truncated: the file header needs 24 bytes but only {len(head)} exist", len(head)
        )
    return int.from_bytes(head[16:24], "little")


def _dtype(cur: _Cursor, flag: int, what: str, *, aux: bool = False) -> tuple[str, int]:
    """Look up the type flag just read. Aux (sparse index) flags 8-11 are errors, unlike data
    flags: `Tensor` cannot carry them for callers to report, and mxnet 1.9.1 cannot load them."""
    if flag not in _DTYPES:
        raise cur.error(f"unknown {what} flag {flag} (known flags are 0-12)", cur.pos - 4)
    if aux and flag in _MXNET_UNLOADABLE_DTYPES:
        raise cur.error(
            f"{what} flag {flag} ({_DTYPES[flag][0]}) cannot be loaded by MXNet", cur.pos - 4
        )
    return _DTYPES[flag]


def _read_shape(cur: _Cursor, what: str, *, v3: bool = False) -> tuple[int, ...]:
    """`i32 ndim` then `ndim x i64`. A `-1` dim ("unknown") is kept only in v3 records.

    Negative ndim is always an error: mxnet 1.9.1's `Tuple::Load` then asks for
    `sizeof(int64) * (size_t)-1` bytes into a 4-slot stack buffer, so loading fails with
    "Invalid NDArray file format" at best and segfaults at worst (observed), even in v3 where
    -1 nominally means "unknown ndim".
    """
    (ndim,) = cur.unpack("<i", f"{what} ndim")
    if ndim < 0:
        raise cur.error(f"negative {what} ndim {ndim} (MXNet 1.9.1 cannot read it)", cur.pos - 4)
    if ndim > cur.max_ndim:
        raise cur.error(
            f"{what} ndim {ndim:,} is more than {cur.max_ndim}: corrupt header", cur.pos - 4
        )
    dims = cur.unpack(f"<{ndim}q", f"{what} dims")
    lowest = -1 if v3 else 0
    if any(d < lowest for d in dims):
        raise cur.error(f"negative dim in {what} {dims}", cur.pos - 8 * ndim)
    return dims


def _legacy_shape(cur: _Cursor, ndim: int) -> tuple[int, ...]:
    """MXNet <= 0.10: the record's first u32 *is* ndim, then ndim x u32 dims."""
    if ndim > cur.max_ndim:
        raise cur.error(
            f"starts with 0x{ndim:08x}, which is neither a record magic "
            f"(0x{_V1_MAGIC:08x}-0x{_V3_MAGIC:08x}) nor a plausible legacy ndim "
            f"(at most {cur.max_ndim}): corrupt header",
            cur.pos - 4,
        )
    return cur.unpack(f"<{ndim}I", "shape dims")


def _product(dims: tuple[int, ...]) -> int:
    result = 1
    for d in dims:
        result *= d
    return result


def _record(cur: _Cursor) -> Tensor:
    """Read one record header and skip its payload.

    Differences from older MXNet that follow mxnet 1.9.1 (verified with `mx.nd.load`):
    legacy and v1 records with ndim 0 are *scalars* (ctx, dtype and one element follow), not
    "none" records (1.9.1's `LegacyLoad` tests `shape_is_none`, which is false for ndim 0).
    In v2 ndim 0 ends the record; in v3 a shape with any -1 dim ends it (`!shape_is_known`),
    so its payload is 0 bytes, while ndim 0 is a real scalar and 0 dims are allowed.
    """
    offset = cur.pos
    (magic,) = cur.unpack("<I", "record magic")
    n_aux, storage, storage_shape = 0, "default", None
    if magic in (_V2_MAGIC, _V3_MAGIC):
        v3 = magic == _V3_MAGIC
        version = "v3" if v3 else "v2"
        (stype,) = cur.unpack("<i", "storage type")
        if stype not in _STORAGE:
            raise cur.error(
                f"unknown storage type {stype} (expected 0 default, 1 row_sparse or 2 csr)",
                cur.pos - 4,
            )
        storage, n_aux = _STORAGE[stype]
        if v3 and n_aux:
            raise cur.error(
                f"{storage} storage in a numpy-semantics (v3) record, which MXNet refuses to load",
                cur.pos - 4,
            )
        storage_shape = _read_shape(cur, "storage shape") if n_aux else None
        shape = _read_shape(cur, "shape", v3=v3)
        is_none = -1 in shape if v3 else len(shape) == 0
        if is_none:
            return Tensor(None, version, storage, None, None, None, None, offset, 0)
    elif magic == _V1_MAGIC:
        version, shape = "v1", _read_shape(cur, "shape")
    else:
        version, shape = "legacy", _legacy_shape(cur, magic)

    dev_type, dev_id, flag = cur.unpack("<iii", "device and dtype")
    dtype, itemsize = _dtype(cur, flag, "dtype")
    aux = _read_aux(cur, n_aux)
    if storage_shape is not None and _product(storage_shape) == 0 and aux and aux[-1][1]:
        # As NDArray's constructor does: an empty storage shape is derived from the index aux
        # (row_sparse: idx count rows of shape[1:]; csr: the idx shape).
        idx_shape = aux[-1][1]
        storage_shape = (idx_shape[0], *shape[1:]) if storage == "row_sparse" else idx_shape
    blocks = [(itemsize, shape if storage_shape is None else storage_shape), *aux]
    nbytes = sum(size * _product(dims) for size, dims in blocks)
    if nbytes > _MAX_PAYLOAD:
        raise cur.error(f"shape {shape} of {dtype} needs more than 2^63 bytes: corrupt header")
    cur.skip(nbytes, "data")
    device = _DEVICES.get(dev_type, f"dev_type {dev_type}")
    return Tensor(None, version, storage, shape, dtype, device, dev_id, offset, nbytes)


def _read_aux(cur: _Cursor, n_aux: int) -> list[tuple[int, tuple[int, ...]]]:
    """A sparse record's auxiliary arrays (indices, pointers): (item size, shape) each."""
    aux = []
    for i in range(n_aux):
        (aux_flag,) = cur.unpack("<i", f"aux {i} dtype")
        aux.append(
            (
                _dtype(cur, aux_flag, f"aux {i} dtype", aux=True)[1],
                _read_shape(cur, f"aux {i} shape"),
            )
        )
    return aux


def _read_names(cur: _Cursor, n_arrays: int, max_name_bytes: int) -> list[str]:
    cur.where = "the name table"
    (n_names,) = cur.unpack("<Q", "names count")
    if n_names not in (0, n_arrays):
        raise cur.error(f"names count {n_names:,} does not match {n_arrays:,} arrays", cur.pos - 8)
    names = []
    for i in range(n_names):
        cur.where = f"name {i + 1} of {n_names:,}"
        start = cur.pos
        (length,) = cur.unpack("<Q", "name length")
        if length > max_name_bytes:
            raise cur.error(
                f"name length {length:,} is more than the limit of "
                f"{max_name_bytes:,} bytes: corrupt name table",
                start,
            )
        raw = cur.read(length, "name")
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ParamsError(
                f"name {i + 1} is not valid UTF-8 ({raw[:40]!r})", start + 8 + exc.start
            ) from None
    return names


def read_params_index(
    stream: typing.IO[bytes],
    size: int | None = None,
    *,
    max_tensors: int = 1_000_000,
    max_ndim: int = 32,
    max_name_bytes: int = 65_536,
    seek_payloads: bool = False,
) -> ParamsIndex:
    """Index the records of an MXNet `.params` stream, reading it once, front to back.

    `size` (the total byte count, when known) lets every header count be checked against the
    bytes left before anything is read; without it the `max_*` limits and EOF bound the work.
    `seek_payloads` (with `size`): seek past each payload instead of reading it, on a stream
    whose every seek is cheap (its CRC, if any, is then never checked).
    Raises `ParamsError` for anything MXNet could not load as an NDArray list, except dtypes
    8-11 (returned by name so callers can report them) and duplicate names.
    """
    cur = _Cursor(stream, size, max_ndim, seek_payloads)
    n_arrays = _read_header(cur)
    left = cur.remaining()
    if left is not None and n_arrays > left // _MIN_RECORD_BYTES:
        raise cur.error(
            f"claims {n_arrays:,} arrays but only {left:,} bytes follow "
            f"(each needs at least {_MIN_RECORD_BYTES})",
            16,
        )
    if n_arrays > max_tensors:
        raise cur.error(f"claims {n_arrays:,} arrays, more than the limit of {max_tensors:,}", 16)
    tensors = []
    for i in range(n_arrays):
        cur.where = f"record {i + 1} of {n_arrays:,}"
        tensors.append(_record(cur))
    names = _read_names(cur, n_arrays, max_name_bytes)
    if names:
        tensors = [replace(t, name=name) for t, name in zip(tensors, names)]
    return ParamsIndex(tuple(tensors), bool(names), cur.drain())
