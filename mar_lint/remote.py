"""Archives read where they live: `https://`, `http://` and `s3://` targets.

The archive view reads a remote archive through `RemoteFile`, a seekable binary file whose
reads become range requests, so the member-reading path, every limit and every hostile-input
rule of local archives apply unchanged. What is remote-specific lives here: target parsing,
the filesystems (fsspec over aiohttp for HTTP, s3fs for S3: imported only when a remote target
is given), listing `s3://bucket/prefix/`, counting and limiting the bytes moved, timeouts, and
failures put into words that never show credentials.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit, urlunsplit

from mar_lint.archive import RangeFile, SourceError
from mar_lint.limits import READ_CHUNK

REMOTE_SCHEMES = ("http://", "https://", "s3://")
ARCHIVE_SUFFIXES = (".model", ".mar")
INSTALL_HINT = "install the extra: pip install 'mar-lint[remote]'"

# A read is never served with fewer bytes fetched than this: the fields of one zip or params
# header arrive in one request instead of several.
_MIN_FETCH = 4 << 10
# The end of the archive is fetched in one piece: the end record, the zip64 locator and,
# for archives of a few dozen members, the whole central directory.
_TAIL_FETCH = 64 << 10
# A read that follows two requests in a row (a member streamed to its end) fetches ahead by up
# to this much, so streaming costs one request per 8 MiB rather than per 1 MiB chunk.
_READ_AHEAD = 8 << 20
# A read that lands shortly after the last fetch (the next header after a small tensor) fetches
# this much: headers of a run of small tensors then arrive in one request, not one each.
_NEAR_FETCH = 64 << 10
_CACHE_BYTES = 16 << 20  # fetched bytes kept for re-reads (headers read twice, members re-opened)

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"]*)\?[^\s#'\"]*", re.IGNORECASE)


def is_remote(target: str) -> bool:
    """True for `http://`, `https://` and `s3://` targets."""
    return target.lower().startswith(REMOTE_SCHEMES)


def redact(text: str) -> str:
    """`text` with the user:password of every URL and every query string (a presigned URL's
    signature) replaced: what may be shown in reports and messages."""
    return _QUERY.sub(r"\1?<redacted>", _USERINFO.sub(r"\1", text))


def display_url(url: str) -> str:
    """The URL as reports name it: no credentials, no query string, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "<redacted>" if parts.query else "", ""))


class RemoteError(SourceError):
    """A read of a remote archive failed: network, server, timeout or transfer limit."""


class TransferLimitReached(RemoteError):
    """Reading on would move more than `--max-transfer` bytes for this archive."""


class Unreachable(Exception):
    """A remote target named on the command line cannot be reached or listed (exit 2)."""


def size_text(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


def describe_failure(exc: BaseException, timeout: float) -> str:
    """What went wrong with a request, in words, without any credential."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for error in seen:
        name = type(error).__name__
        status = getattr(error, "status", None)
        if isinstance(status, int) and status >= 400:  # aiohttp's ClientResponseError
            reason = getattr(error, "message", "") or ""
            return f"the server answered HTTP {status} {reason}".rstrip()
        response = getattr(error, "response", None)
        if isinstance(response, dict) and "Error" in response:  # botocore's ClientError
            code = response["Error"].get("Code", "")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
            return f"S3 answered {code or 'an error'} (HTTP {status})".replace(" (HTTP )", "")
        if isinstance(error, TimeoutError) or "Timeout" in name:
            return f"no answer within {timeout:g} s (--timeout)"
        if name in ("ClientPayloadError", "IncompleteRead", "ContentLengthError"):
            return "the response was cut off before its end (a truncated response)"
        if name in ("NoCredentialsError", "PartialCredentialsError"):
            return "no AWS credentials found (environment, profile or instance role)"
        if name in ("ClientConnectorError", "EndpointConnectionError", "ConnectionRefusedError"):
            return f"cannot connect: {redact(str(error))}"
    if isinstance(exc, PermissionError):
        return "access denied (HTTP 403)"
    if isinstance(exc, FileNotFoundError):
        return "not found (HTTP 404)"
    return redact(f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class RemoteOptions:
    max_transfer: int = 64 << 20  # bytes moved per archive, at most
    timeout: float = 30.0  # seconds to connect, and between two bytes of an answer
    verify_crc: bool = False  # read every member to its end (moves the whole archive)


class RemoteArchive:
    """One remote archive: what `ArchiveView` reads it through (`open`), what it has cost
    (`moved`), why reading it stopped (`failure`) and what a report should say (`notes`).

    All handles `open` gives share one transfer budget and one cache of fetched bytes, so
    re-opening a member never moves its bytes twice and the limit holds per archive.
    """

    def __init__(
        self, url: str, filesystem: Any, path: str, size: int | None, options: RemoteOptions
    ) -> None:
        self.url = display_url(url)
        self.options = options
        self.verify_crc = options.verify_crc
        self.size = size
        self.moved = 0
        self.requests = 0
        self.failure: str | None = None
        self.notes: list[str] = []
        self._filesystem = filesystem
        self._path = path
        self._remote: Any = None  # the fsspec file, opened on the first fetch
        self._local: Any = None  # the whole archive, when the server ignores ranges
        self._cache: list[tuple[int, bytes]] = []
        self._last_end = -1
        self._follows = False  # the last request started where the one before it ended
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemoteArchive({self.url!r})"

    def open(self) -> BinaryIO:
        """A new seekable binary handle of the whole archive (a `RemoteFile`)."""
        if self.size is None:  # no size from the server: ranges cannot be asked for
            with self._lock:
                self._download_whole("the server gives no size for the archive")
        elif not self._cache and self._local is None and self.failure is None:
            # The zip directory is read first, from the end; a small archive is then all here.
            self.fetch(max(self.size - 1, 0), self.size)
        # A raw (unbuffered) binary file: zipfile reads it as one; typeshed's BinaryIO does not
        # cover io.RawIOBase, and a buffer in between would fetch bytes no reader asked for.
        return cast(BinaryIO, RemoteFile(self))

    def close(self) -> None:
        with self._lock:
            for handle in (self._remote, self._local):
                if handle is not None:
                    try:
                        handle.close()
                    except Exception:  # noqa: BLE001, S110 - closing a broken connection
                        pass
            self._remote = self._local = None
            self._cache = []

    # -- fetching ------------------------------------------------------------------------

    def fetch(self, start: int, end: int) -> bytes:
        """The bytes [start, end) of the archive (end within its size): from the cache, or
        in one range request that counts against the transfer limit. Raises RemoteError."""
        with self._lock:
            if self._local is not None:
                self._local.seek(start)
                return self._local.read(end - start)
            if self.failure is not None:
                raise RemoteError(self.failure)
            cached = self._cached(start, end)
            if cached is not None and len(cached) == end - start:
                return cached
            head = cached or b""
            return head + self._request(start + len(head), end)

    def _cached(self, start: int, end: int) -> bytes | None:
        """The longest prefix of [start, end) held in the cache."""
        for origin, block in self._cache:
            if origin <= start < origin + len(block):
                return block[start - origin : end - origin]
        return None

    def _request(self, start: int, end: int) -> bytes:
        """Fetch [start, end) in one request, with some bytes around it: the whole tail for a
        read near the end, read-ahead when streaming, `_NEAR_FETCH` for
        one shortly after it, at least `_MIN_FETCH` otherwise; never more than the transfer
        budget allows."""
        size = self.size
        assert size is not None
        follows = start == self._last_end
        streaming, self._follows = follows and self._follows, follows  # two in a row
        if streaming and end - start >= _MIN_FETCH:
            low, high = start, start + _READ_AHEAD
        elif start >= size - _TAIL_FETCH:
            low, high = max(size - _TAIL_FETCH, 0), size
        elif 0 <= start - self._last_end < _NEAR_FETCH:
            low, high = start, start + _NEAR_FETCH
        else:
            low, high = start, start + _MIN_FETCH
        left = max(self.options.max_transfer - self.moved, 0)
        high = max(min(high, size, low + left), end)
        if self.moved + (high - low) > self.options.max_transfer:
            self._fail(
                TransferLimitReached(
                    f"the --max-transfer limit of {size_text(self.options.max_transfer)} was "
                    f"reached (moved {size_text(self.moved)}; the next read needs "
                    f"{size_text(high - low)} more)"
                )
            )
        try:
            if self._remote is None:
                self._remote = self._filesystem.open(
                    self._path, "rb", block_size=_MIN_FETCH, cache_type="none", size=size
                )
            self._remote.seek(low)
            self.requests += 1
            data = self._remote.read(high - low)
        except ValueError as exc:
            if "range" not in str(exc).lower():
                self._fail(RemoteError(describe_failure(exc, self.options.timeout)), exc)
            self._download_whole("the server ignores range requests")
            self._local.seek(start)
            return self._local.read(end - start)
        except Exception as exc:  # noqa: BLE001 - any failure of the network stack
            self._fail(RemoteError(describe_failure(exc, self.options.timeout)), exc)
        self.moved += len(data)
        if len(data) < high - low:
            self._fail(
                RemoteError(
                    f"a truncated response: asked for {high - low:,} bytes at offset {low:,}, "
                    f"got {len(data):,} (the archive is {size:,} bytes)"
                )
            )
        self._last_end = high
        self._remember(low, data)
        return data[start - low : end - low]

    def _remember(self, start: int, data: bytes) -> None:
        if len(data) > _CACHE_BYTES:
            return
        self._cache.insert(0, (start, data))
        while sum(len(block) for _, block in self._cache) > _CACHE_BYTES:
            self._cache.pop()

    def _fail(self, error: RemoteError, cause: BaseException | None = None) -> None:
        if self.failure is None:
            self.failure = str(error)
        raise error from cause

    def _download_whole(self, why: str) -> None:
        """Stream the whole archive into a temporary file, under the same transfer limit."""
        if self._local is not None:
            return
        if self.failure is not None:
            raise RemoteError(self.failure)
        if self.size is not None and self.moved + self.size > self.options.max_transfer:
            self._fail(
                TransferLimitReached(
                    f"{why}, and downloading the whole archive ({size_text(self.size)}) would "
                    f"pass the --max-transfer limit of {size_text(self.options.max_transfer)}"
                )
            )
        local = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 - kept open
        try:
            with self._filesystem.open(self._path, "rb", block_size=0) as stream:
                self.requests += 1
                while chunk := stream.read(READ_CHUNK):
                    self.moved += len(chunk)
                    if self.moved > self.options.max_transfer:
                        local.close()
                        self._fail(
                            TransferLimitReached(
                                f"{why}, and the whole archive is larger than the "
                                f"--max-transfer limit of {size_text(self.options.max_transfer)}"
                            )
                        )
                    local.write(chunk)
        except RemoteError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the network stack
            local.close()
            self._fail(RemoteError(describe_failure(exc, self.options.timeout)), exc)
        got = local.tell()
        if self.size is not None and got != self.size:
            local.close()
            self._fail(
                RemoteError(
                    f"a truncated response: the archive is {self.size:,} bytes, "
                    f"the download ended after {got:,}"
                )
            )
        self.size = got
        self._local = local
        self.verify_crc = True  # every byte is here now: checking them costs no transfer
        self.notes.append(f"{why}: the whole archive was downloaded ({size_text(got)})")


class RemoteFile(RangeFile):
    """A seekable, read-only binary file over a `RemoteArchive`: reads become range requests."""

    def __init__(self, archive: RemoteArchive) -> None:
        super().__init__()
        self._archive = archive

    def length(self) -> int:
        return self._archive.size or 0

    def fetch(self, start: int, end: int) -> bytes:
        return self._archive.fetch(start, end)


@dataclass
class Remote:
    """The filesystems of one run, made on first use and closed at the end; every target of
    the run is resolved through them."""

    options: RemoteOptions = field(default_factory=RemoteOptions)
    _filesystems: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._filesystems.clear()

    def filesystem(self, scheme: str) -> Any:
        if scheme not in self._filesystems:
            self._filesystems[scheme] = _make_filesystem(scheme, self.options.timeout)
        return self._filesystems[scheme]

    def resolve(self, target: str) -> list[RemoteArchive]:
        """The archives a target names: one URL or S3 key, or every `*.model`/`*.mar` under
        an S3 prefix (a key ending in `/`, or a bucket). Raises Unreachable with the reason."""
        scheme = target.split("://", 1)[0].lower()
        shown = display_url(target)
        try:
            fs = self.filesystem(scheme)
        except ImportError as exc:
            raise Unreachable(
                f"cannot read {shown}: {exc.name} is missing; {INSTALL_HINT}"
            ) from None
        try:
            if scheme == "s3":
                return list(self._resolve_s3(fs, target))
            if urlsplit(target).path.endswith("/"):
                raise Unreachable(f"cannot list {shown}: name the archives of an http(s) server")
            info = fs.info(target)
            size = info.get("size")
            return [RemoteArchive(target, fs, target, size, self.options)]
        except Unreachable:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the network stack
            raise Unreachable(
                f"cannot reach {shown}: {describe_failure(exc, self.options.timeout)}"
            ) from None

    def _resolve_s3(self, fs: Any, target: str) -> Iterator[RemoteArchive]:
        path = target.split("://", 1)[1]
        listing = path.endswith("/") or "/" not in path.strip("/")
        if not listing:
            info = fs.info(path)
            if info.get("type") == "file":
                yield RemoteArchive(target, fs, path, info.get("size"), self.options)
                return
        found = fs.find(path.rstrip("/") + "/", detail=True)
        names = sorted(
            n for n, i in found.items() if n.endswith(ARCHIVE_SUFFIXES) and i.get("size")
        )
        if not names:
            raise Unreachable(f"no *.model or *.mar archives under {display_url(target)}")
        for name in names:
            yield RemoteArchive(f"s3://{name}", fs, name, found[name]["size"], self.options)


def _make_filesystem(scheme: str, timeout: float) -> Any:
    """A filesystem for `scheme` whose every request has a timeout; credentials come from the
    usual places (for S3: environment, profile, instance role; AWS_ENDPOINT_URL is honoured)."""
    if scheme == "s3":
        import s3fs

        filesystem = s3fs.S3FileSystem(
            skip_instance_cache=True,
            config_kwargs={
                "connect_timeout": timeout,
                "read_timeout": timeout,
                "retries": {"max_attempts": 2, "mode": "standard"},
            },
            default_cache_type="none",
        )
        filesystem.retries = 2  # s3fs's own retries of a failed call (5 by default)
        return filesystem
    import aiohttp
    from fsspec.implementations.http import HTTPFileSystem

    return HTTPFileSystem(
        skip_instance_cache=True,
        block_size=_MIN_FETCH,
        cache_type="none",
        client_kwargs={
            "timeout": aiohttp.ClientTimeout(
                total=None, sock_connect=timeout, sock_read=timeout, connect=timeout
            ),
            "trust_env": True,  # proxies and .netrc credentials, as curl and requests use them
        },
    )
