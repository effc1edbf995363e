"""read_bytes reads whole regular files, and refuses at once what is not one or passes the size limit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gate.collect.base import CollectError
from gate.collect.read import read_bytes


def test_a_file_is_read_whole(tmp_path: Path) -> None:
    for size in (1, 4095, 4096, 70_000):
        path = tmp_path / f"f{size}"
        path.write_bytes(b"x" * size)
        assert read_bytes(path) == b"x" * size
        assert read_bytes(path, max_bytes=size) == b"x" * size
        with pytest.raises(CollectError, match="over the"):
            read_bytes(path, max_bytes=size - 1)


def test_a_link_to_a_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_bytes(b"{}")
    (tmp_path / "link.json").symlink_to("real.json")
    assert read_bytes(tmp_path / "link.json") == b"{}"


def test_a_pipe_is_refused_not_read(tmp_path: Path) -> None:
    """A FIFO (whose reading waits for a writer that may never come) is refused before it is
    opened, even while a writer is waiting with data."""
    path = tmp_path / "pipe.json"
    os.mkfifo(path)

    def write() -> None:
        with path.open("wb") as fh:
            fh.write(b'{"a": 1}')  # fits in the pipe's buffer: written once a reader opened it

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        with pytest.raises(CollectError, match=r"a named pipe \(FIFO\), not a regular file"):
            read_bytes(path)
    finally:
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return
        writer.join()
        os.close(reader)


def test_a_device_is_refused_not_read() -> None:
    with pytest.raises(CollectError, match="a character device, not a regular file") as caught:
        read_bytes(Path("/dev/zero"))
    assert caught.value.path == "/dev/zero"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CollectError, match="a directory, not a regular file"):
        read_bytes(tmp_path)


def test_a_symbolic_link_loop_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    with pytest.raises(CollectError, match="symbolic link loop"):
        read_bytes(tmp_path / "a.yaml")
