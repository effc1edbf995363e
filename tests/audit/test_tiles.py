"""C2SP tlog-tiles names and encodings: paths as the spec writes them, and malformed tiles refused."""

from __future__ import annotations

import pytest

from audit.merkle import leaf_hash, root
from audit.tiles import (
    TileError,
    bundles_of,
    decode_bundle,
    decode_hash_tile,
    encode_bundle,
    inclusion_path,
    parse_tile_parts,
    perfect_root,
    tile_parts,
    tiles_of,
)


@pytest.mark.parametrize(
    ("level", "n", "width", "path"),
    [
        (0, 0, 256, "tile/0/000"),
        (0, 1234067, 256, "tile/0/x001/x234/067"),  # the spec's example
        (1, 1234067, 5, "tile/1/x001/x234/067.p/5"),
        (None, 0, 3, "tile/entries/000.p/3"),
        (None, 1000, 256, "tile/entries/x001/000"),
        (2, 999, 255, "tile/2/999.p/255"),
    ],
)
def test_tile_paths_are_the_specs(level: int | None, n: int, width: int, path: str) -> None:
    assert "/".join(tile_parts(level, n, width)) == path
    assert parse_tile_parts(path.split("/")) == (level, n, width)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/001",  # a leading zero group: not the one name of tile 1
        "tile/0/1",
        "tile/0/0001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/05",
        "tile/00/000",
        "tile/data/000",
        "tile/0/x001",
        "tile/0/000/extra",
        "tile/entries",
    ],
)
def test_other_names_are_not_tiles(path: str) -> None:
    assert parse_tile_parts(path.split("/")) is None


def test_the_tiles_of_a_tree() -> None:
    assert list(tiles_of(0)) == []
    assert list(tiles_of(3)) == [(0, 0, 3)]
    assert list(tiles_of(256)) == [(0, 0, 256), (1, 0, 1)]
    assert list(tiles_of(600)) == [(0, 0, 256), (0, 1, 256), (0, 2, 88), (1, 0, 2)]
    assert list(bundles_of(600)) == [(0, 256), (1, 256), (2, 88)]


def test_entry_bundles_round_trip_and_malformed_ones_are_refused() -> None:
    leaves = [b"", b"a", b"x" * 300]
    data = encode_bundle(leaves)
    assert data[:2] == b"\0\0" and data[2:5] == b"\0\x01a" and data[5:7] == (300).to_bytes(2, "big")
    assert decode_bundle(data, 3) == leaves
    with pytest.raises(TileError, match="holds more than the 2 entries its name says"):
        decode_bundle(data, 2)
    with pytest.raises(TileError, match="holds 3 entries, not 4"):
        decode_bundle(data, 4)
    with pytest.raises(TileError, match="cut short"):
        decode_bundle(data[:-1], 3)
    with pytest.raises(TileError, match="inside an entry's length"):
        decode_bundle(data + b"\0", 3)
    with pytest.raises(TileError, match="over the 65535-byte limit"):
        encode_bundle([b"x" * 65536])


def test_hash_tiles_and_subtrees() -> None:
    hashes = [leaf_hash(bytes([i])) for i in range(256)]
    assert decode_hash_tile(b"".join(hashes), 256) == hashes
    with pytest.raises(TileError, match="8191 bytes, not the 8192 of 256 hashes"):
        decode_hash_tile(b"".join(hashes)[:-1], 256)
    assert perfect_root(hashes) == root(hashes)
    assert perfect_root(hashes[8:16]) == root(hashes[8:16])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 255, 256, 257, 1000])
def test_inclusion_paths_from_subtree_hashes(size: int) -> None:
    from audit.merkle import inclusion_proof

    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]

    def subtree(level: int, index: int) -> bytes:
        return root(hashes[index << level : (index + 1) << level])

    for index in {0, size // 3, size // 2, size - 1}:
        assert inclusion_path(subtree, index, size) == inclusion_proof(index, hashes)
