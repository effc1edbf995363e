"""C2SP tlog-tiles: tile paths, hash tiles and entry bundles (https://c2sp.org/tlog-tiles).

A log of n leaves is served as files: `tile/<L>/<N>` holds 256 consecutive hashes of tree level
8L (32 bytes each; level 0 holds the RFC 6962 leaf hashes), `tile/entries/<N>` the 256 leaves
themselves, each as a big-endian uint16 length and the leaf's bytes. The last tile of a level that
is not full is a partial tile `<N>.p/<W>` of its first W hashes (or entries). N is written in
groups of three digits, each but the last prefixed with `x` (1234067 is `x001/x234/067`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from audit.errors import AuditError
from audit.merkle import HASH_SIZE, leaf_hash, node_hash, root

TILE = "tile"
BUNDLES = "entries"
HEIGHT = 8
WIDTH = 1 << HEIGHT
MAX_LEAF = 0xFFFF  # an entry's length is a uint16
MAX_HASH_TILE = WIDTH * HASH_SIZE
MAX_BUNDLE = WIDTH * (2 + MAX_LEAF)
_GROUP = re.compile(r"x\d{3}")
_LAST = re.compile(r"\d{3}")
_WIDTH = re.compile(r"[1-9]\d{0,2}")


class TileError(AuditError):
    """A tile or entry bundle is malformed."""


def index_path(n: int) -> list[str]:
    """N as tlog-tiles writes it: three-digit groups, all but the last prefixed with `x`."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return groups[::-1]


def tile_parts(level: int | None, n: int, width: int) -> tuple[str, ...]:
    """The path parts of hash tile (level, n) of width hashes, or of entry bundle n when level is
    None; a width under 256 names the partial tile `.p/<width>`."""
    head = [TILE, BUNDLES if level is None else str(level)]
    groups = index_path(n)
    if width == WIDTH:
        return (*head, *groups)
    return (*head, *groups[:-1], groups[-1] + ".p", str(width))


def parse_tile_parts(parts: Sequence[str]) -> tuple[int | None, int, int] | None:
    """(level or None for an entry bundle, N, width) of a path under tile/, or None when the path is
    not a tile of this layout (exactly as tile_parts writes it)."""
    if len(parts) < 3 or parts[0] != TILE:
        return None
    if parts[1] == BUNDLES:
        level: int | None = None
    elif parts[1].isdigit() and str(int(parts[1])) == parts[1] and int(parts[1]) < 64:
        level = int(parts[1])
    else:
        return None
    rest = list(parts[2:])
    width = WIDTH
    if rest[-1] and len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= WIDTH:
            return None
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2].removesuffix(".p")]
    if not _LAST.fullmatch(rest[-1]) or not all(_GROUP.fullmatch(g) for g in rest[:-1]):
        return None
    n = 0
    for g in rest:
        n = n * 1000 + int(g.removeprefix("x"))
    if tile_parts(level, n, width) != tuple(parts):
        return None  # leading zero groups: not the one name of this tile
    return level, n, width


def tiles_of(size: int) -> Iterator[tuple[int, int, int]]:
    """(level, N, width) of every hash tile a tree of size leaves is served by, level by level."""
    level, count = 0, size
    while count:
        for n in range(count // WIDTH):
            yield level, n, WIDTH
        if count % WIDTH:
            yield level, count // WIDTH, count % WIDTH
        level, count = level + 1, count // WIDTH


def bundles_of(size: int) -> Iterator[tuple[int, int]]:
    """(N, width) of every entry bundle a log of size leaves is served by."""
    for n in range(size // WIDTH):
        yield n, WIDTH
    if size % WIDTH:
        yield size // WIDTH, size % WIDTH


def tile_width(level: int, n: int, size: int) -> int:
    """The width tile (level, N) has in a tree of size leaves (0: not in that tree)."""
    count = size >> (HEIGHT * level)
    return max(0, min(WIDTH, count - n * WIDTH))


def encode_bundle(leaves: Sequence[bytes]) -> bytes:
    """An entry bundle: each leaf as a big-endian uint16 length and its bytes."""
    out = bytearray()
    for leaf in leaves:
        if len(leaf) > MAX_LEAF:
            raise TileError(f"an entry of {len(leaf)} bytes is over the {MAX_LEAF}-byte limit of tlog-tiles")
        out += len(leaf).to_bytes(2, "big") + leaf
    return bytes(out)


def decode_bundle(data: bytes, width: int) -> list[bytes]:
    """The leaves of an entry bundle that must hold exactly width of them; TileError if not."""
    leaves: list[bytes] = []
    at = 0
    while at < len(data):
        if len(data) - at < 2:
            raise TileError(f"ends inside an entry's length (entry {len(leaves)})")
        length = int.from_bytes(data[at : at + 2], "big")
        if len(data) - at - 2 < length:
            raise TileError(f"entry {len(leaves)} is cut short ({length} bytes announced)")
        leaves.append(data[at + 2 : at + 2 + length])
        at += 2 + length
        if len(leaves) > width:
            break
    if len(leaves) > width:
        raise TileError(f"holds more than the {width} entries its name says")
    if len(leaves) < width:
        raise TileError(f"holds {len(leaves)} entries, not {width}")
    return leaves


def decode_hash_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a hash tile that must hold exactly width of them; TileError if not."""
    if len(data) != width * HASH_SIZE:
        raise TileError(f"{len(data)} bytes, not the {width * HASH_SIZE} of {width} hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def tile_root(hashes: Sequence[bytes]) -> bytes:
    """The hash of the perfect subtree over a full tile's 256 hashes (a node 8 levels up)."""
    return root(hashes)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The hash of the perfect subtree over 2**k hashes of one level."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def range_hash(subtree: Callable[[int, int], bytes], start: int, count: int) -> bytes:
    """The RFC 6962 hash of the count leaves from start, where start is a multiple of the largest
    power of two not above count (as every subtree of a proof is), from perfect-subtree hashes:
    one `subtree(level, index)` call per bit of count."""
    nodes: list[bytes] = []
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            nodes.append(subtree(level, start >> level))
            start += 1 << level
    result = nodes[-1]
    for left in reversed(nodes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_path(subtree: Callable[[int, int], bytes], index: int, size: int) -> list[bytes]:
    """The RFC 6962 inclusion proof of leaf index in the tree of size leaves, leaf first, from
    perfect-subtree hashes (O(log² size) `subtree` calls)."""
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        if index < lo + k:
            path.append(range_hash(subtree, lo + k, hi - lo - k))
            hi = lo + k
        else:
            path.append(subtree(k.bit_length() - 1, lo >> (k.bit_length() - 1)))
            lo += k
    path.reverse()
    return path


# A tile an append writes: (level, N, its items), level None for an entry bundle; items are the
# leaves of a bundle, the hashes of a hash tile.
NewTile = tuple[int | None, int, list[bytes]]


def appended_tiles(
    base: int,
    leaves: Sequence[bytes],
    bundle: Callable[[int, int], list[bytes]],
    hash_tile: Callable[[int, int, int], list[bytes]],
) -> list[NewTile]:
    """The entry bundles, then the hash tiles, a log of base leaves has once leaves are appended:
    every tile the append fills or extends, each whole (the items already there first).

    ``bundle(n, width)`` and ``hash_tile(level, n, width)`` read the partial tiles already there
    (only the last tile of each level can be partial, and only it is read)."""
    out: list[NewTile] = []
    if not leaves:
        return out
    end = base + len(leaves)
    first = base // WIDTH
    entries = [*(bundle(first, base % WIDTH) if base % WIDTH else []), *leaves]
    for t in range(first, (end - 1) // WIDTH + 1):
        out.append((None, t, entries[(t - first) * WIDTH : (t - first + 1) * WIDTH]))
    level, old, new = 0, base, end
    hashes = [leaf_hash(leaf) for leaf in leaves]
    while new > old:
        first = old // WIDTH
        row = [*(hash_tile(level, first, old % WIDTH) if old % WIDTH else []), *hashes]
        for t in range(first, (new - 1) // WIDTH + 1):
            out.append((level, t, row[(t - first) * WIDTH : (t - first + 1) * WIDTH]))
        # the tiles this append filled are the nodes of the level above
        completed = new // WIDTH - first
        hashes = [tile_root(row[i * WIDTH : (i + 1) * WIDTH]) for i in range(completed)]
        level, old, new = level + 1, old // WIDTH, new // WIDTH
    return out


def tile_bytes(level: int | None, items: Sequence[bytes]) -> bytes:
    """A tile's file: an entry bundle's encoding, or a hash tile's hashes one after another."""
    return encode_bundle(items) if level is None else b"".join(items)
