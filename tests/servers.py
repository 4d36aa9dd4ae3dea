"""Real servers on 127.0.0.1 for the remote-archive tests and benchmark: an HTTP file server
(with or without `Range` support, or one that fails in a chosen way) and a local S3 endpoint
(moto in server mode). Each is started in a thread of the calling process and stopped after;
no traffic leaves the machine.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")

# How a server behaves: honours Range, ignores it, refuses, or fails part-way.
MODES = ("range", "no-range", "403", "404", "hang", "truncate", "hang-body")


class FileServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, root: Path, mode: str) -> None:
        assert mode in MODES, mode
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.mode = mode
        self.body_bytes = 0  # every byte of every response body sent, for the figures
        self.requests = 0
        self.release = threading.Event()  # ends the hanging modes' waits
        self._count = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def sent(self, count: int) -> None:
        with self._count:
            self.body_bytes += count


class _Handler(BaseHTTPRequestHandler):
    server: FileServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every small response (real servers set it too).
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        server = self.server
        server.requests += 1
        if server.mode == "hang":
            server.release.wait(60)
            return
        if server.mode in ("403", "404"):
            self.send_response(int(server.mode))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = (server.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if server.root.resolve() not in path.parents or not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = path.stat().st_size
        start, end = 0, size
        found = _RANGE.match(self.headers.get("Range", ""))
        ranged = found is not None and server.mode not in ("no-range",) and not head
        if ranged:
            start = int(found[1])
            end = min(int(found[2]) + 1, size) if found[2] else size
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        else:
            self.send_response(200)
        if server.mode != "no-range":
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if head:
            return
        if server.mode == "truncate":  # promise the bytes, send half, close
            end = start + (end - start) // 2
        with open(path, "rb") as handle:
            handle.seek(start)
            left = end - start
            try:
                while left > 0:
                    chunk = handle.read(min(left, 1 << 20))
                    if server.mode == "hang-body":  # the headers, a little, then silence
                        self.wfile.write(chunk[:100])
                        self.wfile.flush()
                        server.release.wait(60)
                        return
                    self.wfile.write(chunk)
                    server.sent(len(chunk))
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return
        if server.mode == "truncate":
            self.close_connection = True


@contextmanager
def file_server(root: Path, mode: str = "range") -> Iterator[FileServer]:
    """Serve `root` on 127.0.0.1 (a free port) in a thread; stopped when the block ends."""
    server = FileServer(root, mode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 endpoint on 127.0.0.1 (a free port), for as long as the block runs; yields
    its URL. Credentials are dummies the caller puts in the environment."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
