"""Merkle tree hashing over SHA-256 as defined by RFC 6962 and RFC 9162.

Leaves are hashed as ``SHA-256(0x00 || data)`` and interior nodes as
``SHA-256(0x01 || left || right)``; the tree over ``n`` leaves splits at the
largest power of two smaller than ``n``. The functions here take leaf hashes
(not leaf data), so a log can store the 32-byte hashes and rebuild any root or
proof from them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence

from audit.errors import AuditError

HASH_SIZE = 32
"""The size in bytes of every hash in the tree."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree with no leaves: SHA-256 of the empty string."""

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


class MerkleError(AuditError):
    """A Merkle tree operation was given arguments it cannot work with."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 hash of one leaf: ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_leaf_hashes(leaf_hashes: Sequence[object]) -> None:  # checked: callers pass anything
    for i, h in enumerate(leaf_hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise MerkleError(
                f"leaf hash {i} is not {HASH_SIZE} bytes",
                "pass the SHA-256 leaf hashes from leaf_hash(), not the leaf data",
            )


def _range_root(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """The Merkle tree hash of ``hashes[lo:hi]`` (``lo < hi``), computed level by level.

    Pairing adjacent nodes and carrying an odd last node up unchanged builds
    exactly the left-balanced tree that RFC 6962 defines recursively.
    """
    if hi - lo == 1:
        return hashes[lo]
    sha, prefix = _sha256, _NODE_PREFIX
    level = [sha(prefix + hashes[i] + hashes[i + 1]).digest() for i in range(lo, hi - 1, 2)]
    if (hi - lo) & 1:
        level.append(hashes[hi - 1])
    while len(level) > 1:
        carry = level[-1] if len(level) & 1 else None
        level = [sha(prefix + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if carry is not None:
            level.append(carry)
    return level[0]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (MTH) of the tree whose leaves have these hashes.

    The empty tree has root :data:`EMPTY_ROOT`. Raises :class:`MerkleError` if a
    leaf hash is not 32 bytes.
    """
    if not leaf_hashes:
        return EMPTY_ROOT
    _check_leaf_hashes(leaf_hashes)
    return _range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the RFC 6962 audit path for leaf ``index`` in the tree of ``leaf_hashes``.

    The path lists sibling subtree hashes from the leaf up to the root. Raises
    :class:`MerkleError` if ``index`` is not a leaf of the tree.
    """
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise MerkleError(
            f"leaf index {index} is outside a tree of {size} leaves",
            "ask for a proof of a leaf that is in the tree",
        )
    _check_leaf_hashes(leaf_hashes)
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            path.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            path.append(_range_root(leaf_hashes, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the RFC 6962 consistency proof from the first ``old_size`` leaves to all of them.

    The proof is empty when ``old_size`` is 0 or the full size. Raises
    :class:`MerkleError` if ``old_size`` is negative or larger than the tree.
    """
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise MerkleError(
            f"old tree size {old_size} is outside 0..{size}",
            "ask for a proof from a size the tree has already reached",
        )
    if old_size in (0, size):
        return []
    _check_leaf_hashes(leaf_hashes)
    proof: list[bytes] = []
    lo, hi, m = 0, size, old_size
    old_root_known = True
    while m != hi - lo:
        mid = lo + _split_point(hi - lo)
        if lo + m <= mid:
            proof.append(_range_root(leaf_hashes, mid, hi))
            hi = mid
        else:
            proof.append(_range_root(leaf_hashes, lo, mid))
            m -= mid - lo
            lo = mid
            old_root_known = False
    if not old_root_known:
        proof.append(_range_root(leaf_hashes, lo, hi))
    proof.reverse()
    return proof


def _is_mapping(value: object) -> bool:
    return isinstance(value, Mapping)


def _is_count(value: object) -> bool:
    """A non-negative int that is not a bool (typed callers may still pass anything at run time)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _all_hashes(values: Iterable[object]) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Check an inclusion proof with the algorithm of RFC 9162 section 2.1.3.2.

    Returns True only if ``proof`` shows that ``leaf_hash`` is leaf ``index`` of
    the tree of ``size`` leaves whose root is ``root``. Malformed input
    (out-of-range index, hashes that are not 32 bytes) gives False.
    """
    if not 0 <= index < size or not _all_hashes((leaf_hash, root, *proof)):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof with the algorithm of RFC 9162 section 2.1.4.2.

    Returns True only if ``proof`` shows that the tree of ``old_size`` leaves with
    root ``old_root`` is a prefix of the tree of ``new_size`` leaves with root
    ``new_root``. Equal sizes need an empty proof and equal roots; an old size of
    0 needs an empty proof and ``old_root == EMPTY_ROOT``.
    """
    if not 0 <= old_size <= new_size or not _all_hashes((old_root, new_root, *proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and (old_size > 0 or old_root == EMPTY_ROOT)
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactTree:
    """An append-only Merkle tree that keeps only the roots of its perfect subtrees.

    A tree of ``size`` leaves is held as one hash per set bit of ``size``: the
    roots of the perfect subtrees it decomposes into, largest (leftmost) first.
    Appending a leaf and computing the root both take O(log size) hashes, and
    the state serialises to JSON so a log writer can carry on from where it
    stopped without rereading its leaves.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[bytes] = []

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> CompactTree:
        """Build the compact tree of the given leaf hashes."""
        _check_leaf_hashes(leaf_hashes)
        tree = cls()
        size = len(leaf_hashes)
        lo = 0
        for bit in range(size.bit_length() - 1, -1, -1):
            width = 1 << bit
            if size & width:
                tree._nodes.append(_range_root(leaf_hashes, lo, lo + width))
                lo += width
        tree._size = size
        return tree

    @classmethod
    def from_nodes(cls, size: int, nodes: Sequence[bytes]) -> CompactTree:
        """Restore a compact tree from its size and perfect-subtree roots, largest first.

        Raises :class:`MerkleError` if the number of roots does not match the
        size or a root is not 32 bytes.
        """
        if not _is_count(size):
            raise MerkleError(f"compact tree size {size!r} is not a non-negative integer")
        if len(nodes) != size.bit_count():
            raise MerkleError(
                f"a compact tree of size {size} has {size.bit_count()} subtree roots, not {len(nodes)}",
                "restore the tree from the state that to_json() wrote",
            )
        if not _all_hashes(nodes):
            raise MerkleError(f"a compact tree subtree root is not {HASH_SIZE} bytes")
        tree = cls()
        tree._size = size
        tree._nodes = list(nodes)
        return tree

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        """The perfect-subtree roots, largest (leftmost) first."""
        return tuple(self._nodes)

    def append(self, leaf_hash: bytes) -> int:
        """Append one leaf hash and return its index in the tree."""
        if not _all_hashes([leaf_hash]):
            raise MerkleError(
                f"leaf hash is not {HASH_SIZE} bytes",
                "append the SHA-256 leaf hash from leaf_hash(), not the leaf data",
            )
        index = self._size
        h = leaf_hash
        n = index
        while n & 1:
            h = node_hash(self._nodes.pop(), h)
            n >>= 1
        self._nodes.append(h)
        self._size = index + 1
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append each of the given leaf hashes in order."""
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        """Return the Merkle tree hash of all leaves appended so far."""
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1]
        for left in reversed(self._nodes[:-1]):
            r = node_hash(left, r)
        return r

    def copy(self) -> CompactTree:
        """Return an independent copy of this tree."""
        return CompactTree.from_nodes(self._size, self._nodes)

    def to_dict(self) -> dict[str, object]:
        """Return the state as ``{"size": int, "hashes": [hex, ...]}``."""
        return {"size": self._size, "hashes": [h.hex() for h in self._nodes]}

    def to_json(self) -> str:
        """Return the state as compact JSON (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CompactTree:
        """Restore a tree from the mapping :meth:`to_dict` returns.

        Raises :class:`MerkleError` on any other shape: missing or extra keys,
        hashes that are not 64 lowercase hex digits, or a hash count that does
        not match the size.
        """
        if not _is_mapping(data) or set(data) != {"size", "hashes"}:
            raise MerkleError(
                'compact tree state must be an object with exactly the keys "size" and "hashes"',
                "restore the tree from the state that to_json() wrote",
            )
        size, hashes = data["size"], data["hashes"]
        if isinstance(size, bool) or not isinstance(size, int):
            raise MerkleError(f"compact tree size {size!r} is not an integer")
        if not isinstance(hashes, list) or not all(
            isinstance(h, str) and _HEX_HASH.fullmatch(h) for h in hashes
        ):
            raise MerkleError("compact tree hashes must be a list of 64-digit lowercase hex strings")
        return cls.from_nodes(size, [bytes.fromhex(h) for h in hashes])

    @classmethod
    def from_json(cls, text: str) -> CompactTree:
        """Restore a tree from the JSON that :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MerkleError(f"compact tree state is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MerkleError("compact tree state must be a JSON object")
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactTree):
            return NotImplemented
        return self._size == other._size and self._nodes == other._nodes

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CompactTree(size={self._size}, root={self.root().hex()})"
