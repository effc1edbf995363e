"""read_bytes reads whole files, pipes included, and refuses what passes the size limit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gate.collect.base import CollectError
from gate.collect.files import read_bytes


def test_a_file_is_read_whole(tmp_path: Path) -> None:
    for size in (1, 4095, 4096, 70_000):
        path = tmp_path / f"f{size}"
        path.write_bytes(b"x" * size)
        assert read_bytes(path) == b"x" * size
        assert read_bytes(path, max_bytes=size) == b"x" * size
        with pytest.raises(CollectError, match="over the"):
            read_bytes(path, max_bytes=size - 1)


def _fifo(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)

    def write() -> None:
        try:
            with path.open("wb") as fh:
                fh.write(data)
        except BrokenPipeError:  # the reader stopped at its limit
            pass

    threading.Thread(target=write, daemon=True).start()
    return path


def test_a_pipe_whose_size_stat_does_not_tell_is_read_whole(tmp_path: Path) -> None:
    data = b'{"a": 1}' * 20_000
    assert read_bytes(_fifo(tmp_path, data)) == data


def test_a_pipe_over_the_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CollectError, match="grew over the 1000-byte limit"):
        read_bytes(_fifo(tmp_path, b"y" * 5000), max_bytes=1000)
