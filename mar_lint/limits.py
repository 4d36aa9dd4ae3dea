"""Bounds on what mar-lint will read from one archive. Every archive is hostile until proven
otherwise: these keep memory, time and recursion bounded whatever the input claims."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_members: int = 10_000
    max_name_length: int = 1_024
    max_path_depth: int = 32
    max_json_bytes: int = 64 * MiB  # graph JSON of the largest zoo networks is a few MiB
    max_json_depth: int = 64  # manifests nest 3 levels, graphs 5; subgraphs add a few
    max_text_bytes: int = 16 * MiB  # service code, labels
    max_member_bytes: int = 8 * GiB  # declared or inflated size of one member
    max_total_bytes: int = 32 * GiB  # all members together
    max_ratio: int = 1_000  # uncompressed / compressed size of one member
    # Below this size a high ratio is harmless (a few KiB of padding compress 1000:1).
    ratio_floor_bytes: int = 1 * MiB
    mxnet_timeout: float = 120.0  # seconds for one sandboxed MXNet job, import included
    mxnet_memory: int = 4 * GiB  # address-space limit of the MXNet sandbox
    max_transfer: int = 64 * MiB  # bytes moved over the network for one remote archive
    remote_timeout: float = 30.0  # seconds to connect, and between two bytes of an answer
