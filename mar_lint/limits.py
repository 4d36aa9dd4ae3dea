"""Bounds on what mar-lint will read from one archive. Every archive is hostile until proven
otherwise: these keep memory, time and recursion bounded whatever the input claims."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30
# Largest single read, inflation step or copy: memory stays bounded whatever a file claims.
READ_CHUNK = MiB


@dataclass(frozen=True)
class Limits:
    max_members: int = 10_000
    max_name_length: int = 1_024
    max_path_depth: int = 32
    max_json_bytes: int = 16 * MiB  # graph JSON of the largest zoo networks is a few MiB
    max_json_depth: int = 64  # manifests nest 3 levels, graphs 5; subgraphs add a few
    # Bounds on the work and objects one JSON member costs, checked before it is parsed: a
    # document under the byte cap can still be a million values, each a Python object.
    max_json_values: int = 1_000_000  # arrays, objects and scalars; resnet152's graph: ~60,000
    max_json_string: int = 1 * MiB  # characters of one string (node names, attrs: < 1 KiB)
    max_text_bytes: int = 16 * MiB  # labels
    max_service_bytes: int = 1 * MiB  # service code is a few KiB; its syntax tree is 100x that
    max_tensors: int = 100_000  # records of one params file (resnet152: ~1,000)
    max_findings_per_rule: int = 200  # per archive; the rest become one "and N more" finding
    max_folder_depth: int = 64  # folders a model folder may nest before the walk stops
    max_member_bytes: int = 8 * GiB  # declared or inflated size of one member
    max_total_bytes: int = 32 * GiB  # all members together
    max_ratio: int = 1_000  # uncompressed / compressed size of one member
    # Below this size a high ratio is harmless (a few KiB of padding compress 1000:1).
    ratio_floor_bytes: int = 1 * MiB
    mxnet_timeout: float = 120.0  # seconds for one sandboxed MXNet job, import included
    mxnet_memory: int = 4 * GiB  # address-space limit of the MXNet sandbox
    # Address space mar-lint's own process may add to what it maps at the start (POSIX only),
    # a backstop behind every cap above: breaching it is a MAR904 finding on that archive,
    # and the run goes on.
    memory: int = 2 * GiB
    max_transfer: int = 64 * MiB  # bytes moved over the network for one remote archive
    remote_timeout: float = 30.0  # seconds to connect, and between two bytes of an answer


@contextmanager
def memory_backstop(limit: int) -> Iterator[None]:
    """Run the block under an address-space limit of `limit` bytes more than the process maps
    now (the soft RLIMIT_AS), so an allocation no cap foresaw raises MemoryError instead of
    exhausting the machine; the
    previous limit comes back afterwards. A no-op where `resource` does not exist (Windows)
    or the limit cannot be set. Children inherit it; the MXNet sandbox sets its own."""
    try:
        import resource  # POSIX only: imported here, never on Windows
    except ImportError:
        yield
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        previous: tuple[int, int] | None = (soft, hard)  # None: nothing to restore
        # On top of what the process already maps: mar-lint run inside a bigger process (a
        # test session, a notebook) must still start threads and import lazily.
        wanted = limit + _address_space_in_use()
        wanted = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft <= wanted:
            previous = None  # already as strict: leave it
        else:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ValueError, OSError):  # e.g. a platform that refuses RLIMIT_AS (some macOS)
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous)


def _address_space_in_use() -> int:
    """Bytes of address space this process maps now (Linux); 0 where that is unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 0


def memory_error_message(limit: int) -> str:
    return (
        f"mar-lint ran out of memory on this archive (its limit: {limit >> 20:,} MiB, the "
        "`memory` limit): its checks stopped there; the other findings stand"
    )
