"""Hostile zip structures, each built at run time from the committed sample archive
(`tests/fixtures/digits.model`) with the real `zipfile` and byte surgery.

`CASES` maps a case name to a function that builds the case under the given folder and
returns the archive's path. The tests (`tests/test_zip_structure.py`) and the hostile-input
benchmark (`benchmarks/hostile.py`) use the same builders. The bombs are cheap to build and
small on disk: what they declare or inflate to is large, never what they hold.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "digits.model"
DATE = (2018, 5, 24, 0, 0, 0)

LOCAL = struct.Struct("<4sHHHHHIIIHH")  # APPNOTE 4.3.7
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # APPNOTE 4.3.12
END = struct.Struct("<4sHHHHIIH")  # APPNOTE 4.3.16
# Field offsets inside a local header and a central header.
L_FLAGS, L_METHOD, L_CRC, L_CSIZE, L_USIZE = 6, 8, 14, 18, 22
C_METHOD, C_CRC, C_USIZE, C_OFFSET = 10, 16, 24, 42


def sample_members() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(SAMPLE) as sample:
        return [(info.filename, sample.read(info)) for info in sample.infolist()]


def write_sample(path: Path, extra: Sequence[tuple[str, bytes]] = ()) -> Path:
    """The sample's members, then `extra`, stored by zipfile."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in [*sample_members(), *extra]:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def central_headers(data: bytes) -> list[int]:
    """Offsets of the central directory headers, in order (the last end record's)."""
    end = data.rindex(b"PK\x05\x06")
    count, _, start = struct.unpack_from("<HII", data, end + 10)
    offsets = []
    for _ in range(count):
        offsets.append(start)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, start + 28)
        start += 46 + name_len + extra_len + comment_len
    return offsets


def _entry(data: bytes, name: str) -> tuple[int, int]:
    """(local header offset, central header offset) of member `name`."""
    for central in central_headers(data):
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name.encode():
            return struct.unpack_from("<I", data, central + C_OFFSET)[0], central
    raise KeyError(name)


def patch(
    path: Path,
    name: str,
    *,
    local: dict[int, tuple[str, int]] | None = None,
    central: dict[int, tuple[str, int]] | None = None,
) -> Path:
    """Overwrite fields ({offset: (struct format, value)}) of member `name`'s headers."""
    data = bytearray(path.read_bytes())
    local_at, central_at = _entry(bytes(data), name)
    for where, fields in ((local_at, local or {}), (central_at, central or {})):
        for offset, (fmt, value) in fields.items():
            struct.pack_into(fmt, data, where + offset, value)
    path.write_bytes(bytes(data))
    return path


# -- decompression that outruns the declared size ---------------------------------------------


def understated(path: Path, name: str, method: int, size: int, declared: int) -> Path:
    """The sample plus member `name` of `size` zero bytes compressed with `method`, its
    headers then made to declare only `declared` bytes."""
    write_sample(path)
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name, date_time=DATE)
        info.compress_type = method
        with archive.open(info, "w", force_zip64=False) as sink:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                sink.write(chunk)
    return patch(path, name, local={L_USIZE: ("<I", declared)}, central={C_USIZE: ("<I", declared)})


def precompressed(path: Path, name: str, method: int, payload: bytes, declared: int) -> Path:
    """The sample plus member `name` whose data is `payload`, already compressed with
    `method` from zeros, its headers declaring `declared` uncompressed bytes (with the CRC of
    that many zeros, so a reader that stops there finds nothing wrong)."""
    write_sample(path, [(name, payload)])
    crc = zlib.crc32(bytes(declared))
    fields = {L_METHOD: ("<H", method), L_USIZE: ("<I", declared), L_CRC: ("<I", crc)}
    central = {C_METHOD: ("<H", method), C_USIZE: ("<I", declared), C_CRC: ("<I", crc)}
    return patch(path, name, local=fields, central=central)


def bzip2_zeros(blocks: int, block_bytes: int = 40 << 20) -> bytes:
    """A bzip2 stream of `blocks` x `block_bytes` zeros, built from one compressed block
    repeated bit by bit (each block holds at most about 45 MB of zeros; one is compressed,
    in about a second, and the stream's combined CRC is worked out from the block CRCs)."""
    block_magic, end_magic = 0x314159265359, 0x177245385090
    one = bz2.compress(bytes(block_bytes), 9)
    bits, total = int.from_bytes(one, "big"), len(one) * 8
    for pad in range(8):  # the end-of-stream marker: 48-bit magic, 32-bit CRC, padding
        end_at = total - pad - 80
        if bits >> (total - end_at - 48) & (1 << 48) - 1 == end_magic:
            break
    block_len = end_at - 32  # after "BZh9"
    block = bits >> (total - end_at) & (1 << block_len) - 1
    assert block >> (block_len - 48) == block_magic, "not a one-block stream"
    block_crc = block >> (block_len - 80) & 0xFFFFFFFF
    stream, combined = int.from_bytes(b"BZh9", "big"), 0
    for _ in range(blocks):
        combined = ((combined << 1 | combined >> 31) & 0xFFFFFFFF) ^ block_crc
        stream = stream << block_len | block
    stream = (stream << 48 | end_magic) << 32 | combined
    length = 32 + blocks * block_len + 80
    return (stream << (-length % 8)).to_bytes((length + 7) // 8, "big")


def bzip2_understated(folder: Path) -> Path:
    """3.5 KB of bzip2 that inflates to 3.9 GiB, declared as 4,096 bytes."""
    path = folder / "bzip2-understated.model"
    return precompressed(path, "weights.bin", zipfile.ZIP_BZIP2, bzip2_zeros(100), 4096)


def lzma_understated(folder: Path) -> Path:
    """37 KB of LZMA (zipfile's framing: version, properties, raw LZMA1) that inflates to
    256 MiB, declared as 4,096 bytes."""
    lzma_filter = {"id": lzma.FILTER_LZMA1, "preset": 0}
    packer = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
    chunk = bytes(1 << 20)
    body = b"".join(packer.compress(chunk) for _ in range(256)) + packer.flush()
    properties = lzma._encode_filter_properties(lzma_filter)  # type: ignore[attr-defined]
    payload = struct.pack("<BBH", 9, 4, len(properties)) + properties + body
    path = folder / "lzma-understated.model"
    return precompressed(path, "weights.bin", zipfile.ZIP_LZMA, payload, 4096)


def deflate_understated(folder: Path) -> Path:
    return understated(
        folder / "deflate-understated.model", "weights.bin", zipfile.ZIP_DEFLATED, 64 << 20, 4096
    )


# -- overlapping members: David Fifield's "better zip bomb" ------------------------------------


Affine = tuple[list[int], int]  # a map s -> (columns x s) ^ constant over GF(2)^32


def _learn(function: Callable[[int], int]) -> Affine:
    constant = function(0)
    return [function(1 << bit) ^ constant for bit in range(32)], constant


def _apply(affine: Affine, value: int) -> int:
    columns, result = affine
    for bit in range(32):
        if value >> bit & 1:
            result ^= columns[bit]
    return result


def _then(first: Affine, second: Affine) -> Affine:
    """The map `second(first(s))`."""
    constant = _apply(second, first[1])
    return [_apply(second, column) ^ second[1] for column in first[0]], constant


def crc_after_zeros(count: int) -> Callable[[int], int]:
    """start -> zlib.crc32(bytes(count), start), without reading `count` bytes: the CRC
    update is affine in its start value, so the map for one zero byte is squared up."""
    step, total = _learn(lambda start: zlib.crc32(b"\0", start)), None
    while count:
        if count & 1:
            total = step if total is None else _then(total, step)
        step, count = _then(step, step), count >> 1
    return lambda start: start if total is None else _apply(total, start)


def overlap_bomb(folder: Path, files: int = 256, kernel_bytes: int = 94 << 20) -> Path:
    """The sample, then `files` members whose data overlap: each member's data quotes the next
    member's local header in a stored deflate block and runs on into that member's data, and
    all of them end in one shared deflate kernel of `kernel_bytes` zeros. Every member passes
    the size and ratio limits on its own (the kernel is deflated at level 1, about 230:1);
    together they declare files x kernel_bytes (23.5 GiB with the defaults)."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    kernel = b"".join(packer.compress(chunk) for _ in range(kernel_bytes >> 20))
    kernel += packer.compress(bytes(kernel_bytes & ((1 << 20) - 1))) + packer.flush()
    after = crc_after_zeros(kernel_bytes)
    names = [f"bomb/{i:04d}.bin".encode() for i in range(files)]
    quote = 5  # a stored block's header: 1 byte (BFINAL=0, BTYPE=00), LEN, NLEN
    # Member i inflates to the local headers of members i+1.. and the kernel's output.
    usize, csize, crc = [0] * files, [0] * files, [0] * files
    usize[-1], csize[-1], crc[-1] = kernel_bytes, len(kernel), after(0)
    headers: list[bytes] = [b""] * files

    def header(i: int) -> bytes:
        return (
            LOCAL.pack(
                b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc[i], csize[i], usize[i], len(names[i]), 0
            )
            + names[i]
        )

    headers[-1] = header(files - 1)
    for i in range(files - 2, -1, -1):
        nxt = headers[i + 1]
        usize[i] = len(nxt) + usize[i + 1]
        csize[i] = quote + len(nxt) + csize[i + 1]
        prefix = nxt
        for j in range(i + 2, files):  # the CRC over the quoted headers, then the kernel's
            prefix += headers[j]
        crc[i] = after(zlib.crc32(prefix))
        headers[i] = header(i)
    body = io.BytesIO()
    write_sample(path := folder / "overlap-bomb.model")
    base = path.read_bytes()
    end = base.rindex(b"PK\x05\x06")
    first_central = central_headers(base)[0]
    directory = bytearray(base[first_central:end])
    body.write(base[:first_central])
    offsets = []
    for i in range(files):
        offsets.append(body.tell())
        body.write(headers[i])
        if i + 1 < files:
            length = len(headers[i + 1])
            body.write(b"\x00" + struct.pack("<HH", length, length ^ 0xFFFF))
    body.write(kernel)
    for i in range(files):
        directory += (
            CENTRAL.pack(
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc[i],
                csize[i],
                usize[i],
                len(names[i]),
                0,
                0,
                0,
                0,
                0o644 << 16,
                offsets[i],
            )
            + names[i]
        )
    count = len(central_headers(base)) + files
    start = body.tell()
    body.write(bytes(directory))
    body.write(END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), start, 0))
    path.write_bytes(body.getvalue())
    return path


def small_overlap_bomb(folder: Path) -> Path:
    """The same construction, small enough for a test to inflate it all (8 x 1 MiB)."""
    return overlap_bomb(folder, files=8, kernel_bytes=1 << 20)


# -- directories that zipfile trips over -------------------------------------------------------


def zip64_multidisk(folder: Path) -> Path:
    """A Zip64 end-of-central-directory locator that claims the archive spans 2 disks."""
    path = write_sample(folder / "zip64-multidisk.model")
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, 0, 2)
    record = bytearray(data[end:])
    offset = struct.unpack_from("<I", record, 16)[0]
    struct.pack_into("<I", record, 16, offset)  # the directory did not move
    path.write_bytes(data[:end] + locator + bytes(record))
    return path


def directory_offset_into_itself(folder: Path) -> Path:
    """The end record's central-directory offset points into the directory itself, so every
    member's local header is looked for at the wrong place (some before the file starts)."""
    path = write_sample(folder / "cd-offset-into-itself.model")
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack_from("<II", data, end + 12)
    struct.pack_into("<I", data, end + 16, offset + size // 2)
    path.write_bytes(bytes(data))
    return path


def second_directory_in_comment(folder: Path) -> Path:
    """The archive comment holds a second central directory and end record. zipfile takes the
    last end record it finds (the one in the comment); tools that check the comment's length
    take the first. The second directory names the members differently."""
    path = write_sample(folder / "second-cd-in-comment.model")
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    first = central_headers(data)[0]
    directory = data[first:end].replace(b"service.py", b"evil_sv.py")
    count = len(central_headers(data))
    # The second directory sits right after the first end record, where zipfile will look.
    fake_end = END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), end + END.size, 0)
    comment = directory + fake_end
    record = bytearray(data[end : end + END.size])
    struct.pack_into("<H", record, 20, len(comment))
    path.write_bytes(data[:end] + bytes(record) + comment)
    return path


# -- local headers against the central directory ------------------------------------------------


def local_name_differs(folder: Path) -> Path:
    path = write_sample(folder / "local-name-differs.model")
    data = bytearray(path.read_bytes())
    local_at, _ = _entry(bytes(data), "service.py")
    data[local_at + LOCAL.size : local_at + LOCAL.size + 10] = b"evil_sv.py"
    path.write_bytes(bytes(data))
    return path


# synset.txt's local header changed in one field: (file name, {offset: (format, value)}).
LOCAL_CHANGES = {
    "size": ("local-size-differs.model", {L_USIZE: ("<I", 40), L_CSIZE: ("<I", 40)}),
    "crc": ("local-crc-differs.model", {L_CRC: ("<I", 0xDEADBEEF)}),
    "encryption": ("local-encryption-differs.model", {L_FLAGS: ("<H", 0x1)}),
    "method": ("local-method-differs.model", {L_METHOD: ("<H", 8)}),
}


def local_differs(folder: Path, change: str, extra: Sequence[tuple[str, bytes]] = ()) -> Path:
    """The sample (plus `extra`) with synset.txt's local header changed as LOCAL_CHANGES says."""
    name, fields = LOCAL_CHANGES[change]
    return patch(write_sample(folder / name, extra), "synset.txt", local=fields)


def lying_data_descriptor(folder: Path) -> Path:
    """synset.txt written with a data descriptor (flag bit 3) whose CRC and sizes disagree
    with the central directory."""
    path = folder / "lying-data-descriptor.model"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in sample_members():
            info = zipfile.ZipInfo(name, date_time=DATE)
            if name != "synset.txt":
                archive.writestr(info, data)
                continue
            # Writing to an unseekable stream makes zipfile add a data descriptor.
            buffer = io.BytesIO()
            with zipfile.ZipFile(_Unseekable(buffer), "w") as streamed:
                with streamed.open(info, "w") as sink:
                    sink.write(data)
            inner = buffer.getvalue()
            local_end = inner.index(b"PK\x07\x08")
            header_len = LOCAL.size + len(name)
            body = inner[header_len:local_end]
            descriptor = struct.pack("<4sIII", b"PK\x07\x08", 0x12345678, len(body) + 7, 99)
            info.flag_bits |= 0x08
            info.CRC, info.compress_size, info.file_size = zlib.crc32(data), len(body), len(data)
            offset = archive.fp.tell()
            info.header_offset = offset
            archive.fp.write(info.FileHeader(False))
            archive.fp.write(body + descriptor)
            archive.filelist.append(info)
            archive.NameToInfo[name] = info
            archive.start_dir = archive.fp.tell()
    return path


class _Unseekable(io.RawIOBase):
    def __init__(self, sink: io.BytesIO) -> None:
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return self._sink.write(data)

    def flush(self) -> None:
        pass


def concatenated(folder: Path) -> Path:
    """A different archive, then the sample: zipfile (and MMS 0.x) read the sample through
    the last end record; streaming readers (java.util.zip.ZipInputStream, MMS 1.x) unpack
    the first archive's members."""
    hidden = io.BytesIO()
    with zipfile.ZipFile(hidden, "w") as archive:
        archive.writestr(zipfile.ZipInfo("service.py", date_time=DATE), "import os\n")
    path = write_sample(folder / "concatenated.model")
    path.write_bytes(hidden.getvalue() + path.read_bytes())
    return path


def unicode_path_extra(folder: Path) -> Path:
    """service.py carries an Info-ZIP Unicode Path extra field (0x7075) naming `evil.py`:
    Info-ZIP unzip and 7-Zip unpack it as evil.py, zipfile as service.py."""
    path = folder / "unicode-path-extra.model"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in sample_members():
            info = zipfile.ZipInfo(name, date_time=DATE)
            if name == "service.py":
                payload = b"\x01" + struct.pack("<I", zlib.crc32(name.encode())) + b"evil.py"
                info.extra = struct.pack("<HH", 0x7075, len(payload)) + payload
            archive.writestr(info, data)
    return path


def nfc_nfd_twins(folder: Path) -> Path:
    composed = unicodedata.normalize("NFC", "café.txt")
    decomposed = unicodedata.normalize("NFD", "café.txt")
    return write_sample(
        folder / "nfc-nfd-twins.model", [(composed, b"one\n"), (decomposed, b"two\n")]
    )


def directory_and_file(folder: Path) -> Path:
    return write_sample(
        folder / "directory-and-file.model", [("labels/", b""), ("labels", b"cat\n")]
    )


def nul_in_name(folder: Path) -> Path:
    """A member stored as `service.py<NUL>.txt`: zipfile cuts the name at the NUL and sees a
    second service.py; other tools keep the whole name or refuse it."""
    placeholder = "service.py_.txt"
    path = write_sample(folder / "nul-in-name.model", [(placeholder, b"raise SystemExit(3)\n")])
    data = path.read_bytes().replace(placeholder.encode(), b"service.py\x00.txt")
    path.write_bytes(data)
    return path


CASES: dict[str, Callable[[Path], Path]] = {
    "bzip2-understated": bzip2_understated,
    "lzma-understated": lzma_understated,
    "deflate-understated": deflate_understated,
    "overlap-bomb": overlap_bomb,
    "zip64-multidisk": zip64_multidisk,
    "cd-offset-into-itself": directory_offset_into_itself,
    "second-cd-in-comment": second_directory_in_comment,
    "local-name-differs": local_name_differs,
    **{
        f"local-{change}-differs": lambda folder, change=change: local_differs(folder, change)
        for change in LOCAL_CHANGES
    },
    "lying-data-descriptor": lying_data_descriptor,
    "concatenated": concatenated,
    "unicode-path-extra": unicode_path_extra,
    "nfc-nfd-twins": nfc_nfd_twins,
    "directory-and-file": directory_and_file,
    "nul-in-name": nul_in_name,
}
