"""The one atomic write: complete files or none, links replaced themselves, modes kept."""

from __future__ import annotations

import os
import stat

import pytest

from mar_lint.files import atomic_write, default_mode


def test_writes_with_the_mode_asked_for_or_the_umask_default(tmp_path):
    with atomic_write(tmp_path / "a") as out:
        out.write(b"one")
    with atomic_write(tmp_path / "b", 0o640) as out:
        out.write(b"two")
    assert (tmp_path / "a").read_bytes() == b"one"
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == default_mode()
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o640


def test_a_link_is_replaced_never_its_target(tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "link").symlink_to(outside)
    with atomic_write(tmp_path / "dir" / "link") as out:
        out.write(b"new")
    assert outside.read_bytes() == b"keep"
    assert not (tmp_path / "dir" / "link").is_symlink()
    assert (tmp_path / "dir" / "link").read_bytes() == b"new"


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path, error):
    (tmp_path / "t").write_bytes(b"old")
    with pytest.raises(error), atomic_write(tmp_path / "t") as out:
        out.write(b"half")
        raise error()
    assert os.listdir(tmp_path) == ["t"]
    assert (tmp_path / "t").read_bytes() == b"old"


def test_the_longest_file_name_still_fits(tmp_path):
    target = tmp_path / ("x" * 255)
    with atomic_write(target) as out:
        out.write(b"long")
    assert target.read_bytes() == b"long"
