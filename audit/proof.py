"""Proofs against signed checkpoints: inclusion and consistency in O(log n), and the tlog-proof file.

Every node of an RFC 6962 inclusion or consistency proof is the hash of a range of leaves
``[lo, hi)`` whose start is a multiple of the smallest power of two at least as large as the range,
so it is a fold of at most log2(n) complete subtrees (the binary decomposition of its size). A
store that can hand out the hash of any complete subtree (:class:`SubtreeHashes`: the hash tiles
of C2SP tlog-tiles read one tile per call) therefore yields any proof in O(log n) calls, never
reading the leaves. :func:`inclusion_proof` and :func:`consistency_proof` build them; they return
what :func:`audit.merkle.inclusion_proof` and :func:`audit.merkle.consistency_proof` compute from
all the leaves, and :func:`audit.merkle.verify_inclusion` / :func:`audit.merkle.verify_consistency`
check them.

A proof of inclusion in a signed checkpoint is written as a C2SP tlog-proof
(https://c2sp.org/tlog-proof): the header line, ``extra`` with the entry's Merkle leaf (the RFC 8785
JSON of its id, index, input and record digests: the extra data the spec allows "to reconstruct the
record hash"), the index, the inclusion proof, an empty line and the checkpoint verbatim.
:func:`open_proof` verifies one offline with nothing but the log's verifier key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from audit.errors import AuditError
from audit.log import leaf_bytes
from audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactTree,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from audit.note import Checkpoint, MalformedNoteError, NoteError, NoteVerifier, open_note

if TYPE_CHECKING:
    from audit.log import AuditLog

HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every tlog-proof file."""

MAX_PROOF_BYTES = 256 * 1024
"""The largest proof file a reader accepts: a checkpoint of up to 64 KiB, a leaf, 64 hashes."""

MAX_LEAF_BYTES = 64 * 1024
MAX_PROOF_HASHES = 64
LEAF_FIELDS = frozenset({"id", "index", "input", "record"})
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class ProofError(AuditError):
    """A proof does not verify, or cannot be made from the log as it is."""


class ProofFormatError(ProofError):
    """A proof file is not a tlog-proof (or not one of a govgate log): refused before any check."""


class SubtreeHashes(Protocol):
    """Hands out RFC 6962 hashes of complete subtrees of a log."""

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves starting at leaf index * 2**level."""
        ...


class MemoryTree:
    """Subtree hashes from a list of leaf hashes held in memory (tests, and small trees)."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self._leaves = list(leaf_hashes)

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The hash of the subtree, computed from its 2**level leaves."""
        if level < 0 or index < 0 or (index + 1) << level > len(self._leaves):
            raise ProofError(f"subtree ({level}, {index}) is not inside a tree of {len(self._leaves)} leaves")
        return root(self._leaves[index << level : (index + 1) << level])


def log_subtrees(log: AuditLog) -> SubtreeHashes:
    """The subtree hashes of a log folder, read from its hash tiles (AuditLog.subtree_hash)."""
    return log


def _pieces(lo: int, hi: int) -> list[tuple[int, int]]:
    """(level, index) of the complete subtrees [lo, hi) decomposes into, largest (leftmost) first.

    lo must be a multiple of the largest piece, as every range of an RFC 6962 proof is.
    """
    out: list[tuple[int, int]] = []
    at, size = lo, hi - lo
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if at % (1 << level):
                raise ProofError(f"range [{lo}, {hi}) is not aligned to complete subtrees")
            out.append((level, at >> level))
            at += 1 << level
    return out


def range_hash(tree: SubtreeHashes, lo: int, hi: int) -> bytes:
    """The Merkle tree hash of leaves [lo, hi) (lo < hi, aligned), from O(log(hi - lo)) subtrees."""
    hashes = [tree.subtree_hash(level, index) for level, index in _pieces(lo, hi)]
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def tree_root(tree: SubtreeHashes, size: int) -> bytes:
    """The root of the tree of the first size leaves."""
    return range_hash(tree, 0, size) if size else EMPTY_ROOT


def compact_tree(tree: SubtreeHashes, size: int) -> CompactTree:
    """The compact tree (its perfect-subtree roots) of the first size leaves, to append onto."""
    return CompactTree.from_nodes(size, [tree.subtree_hash(lv, i) for lv, i in _pieces(0, size)])


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(tree: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """The RFC 6962 audit path of leaf index in the tree of the first size leaves, leaf first.

    At most one node is not a complete subtree (the first right sibling on the tree's right
    edge), so the path costs O(log size) subtree hashes.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(range_hash(tree, mid, hi))
            hi = mid
        else:
            path.append(range_hash(tree, lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_proof(tree: SubtreeHashes, old_size: int, size: int) -> list[bytes]:
    """The RFC 6962 consistency proof from the first old_size leaves to the first size leaves."""
    if not 0 <= old_size <= size:
        raise ProofError(f"old tree size {old_size} is outside 0..{size}")
    if old_size in (0, size):
        return []
    proof: list[bytes] = []
    lo, hi, m = 0, size, old_size
    old_root_known = True
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if lo + m <= mid:
            proof.append(range_hash(tree, mid, hi))
            hi = mid
        else:
            proof.append(range_hash(tree, lo, mid))
            m -= mid - lo
            lo = mid
            old_root_known = False
    if not old_root_known:
        proof.append(range_hash(tree, lo, hi))
    proof.reverse()
    return proof


# --- the tlog-proof file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """An entry's Merkle leaf: the record id, its index, and the digests of its record and input."""

    record_id: str
    index: int
    record: str
    input: str | None

    def data(self) -> bytes:
        """The leaf's bytes (RFC 8785), as hashed into the tree."""
        return leaf_bytes(self.index, self.record_id, self.record, self.input)

    @classmethod
    def parse(cls, data: bytes) -> Leaf:
        """The leaf these bytes encode; ProofFormatError unless they are its RFC 8785 form."""
        if not data.startswith(b"{"):  # a leaf is one flat object: nothing nested is parsed
            raise ProofFormatError("its extra data is not a JSON leaf")
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            raise ProofFormatError("its extra data is not a JSON leaf") from None
        if not isinstance(doc, dict) or doc.keys() != LEAF_FIELDS:
            raise ProofFormatError(
                "its leaf does not have exactly the fields " + ", ".join(sorted(LEAF_FIELDS))
            )
        rid, index, record, inp = doc["id"], doc["index"], doc["record"], doc["input"]
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1 << 63:
            raise ProofFormatError("its leaf index is not a non-negative integer")
        if not isinstance(rid, str) or not rid:
            raise ProofFormatError("its leaf record id is not a string")
        if not _is_digest(record) or not (inp is None or _is_digest(inp)):
            raise ProofFormatError("its leaf's record or input digest is not sha256:<64 hex>")
        leaf = cls(rid, index, record, inp)
        try:
            canonical = leaf.data()
        except UnicodeEncodeError:  # a lone surrogate, escaped in the JSON
            raise ProofFormatError("its leaf record id is not a Unicode string") from None
        if canonical != data:
            raise ProofFormatError("its leaf is not in the canonical (RFC 8785) form")
        return leaf


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


@dataclass(frozen=True)
class TlogProof:
    """A C2SP tlog-proof: the leaf (as extra data), its index, the inclusion proof, the checkpoint."""

    leaf: bytes
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str

    def to_text(self) -> str:
        """The proof file's text."""
        lines = [HEADER, "extra " + _b64(self.leaf), f"index {self.index}", *map(_b64, self.hashes)]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, data: bytes) -> TlogProof:
        """Parse a proof file; ProofFormatError says what is malformed (nothing is verified yet)."""
        if len(data) > MAX_PROOF_BYTES:
            raise ProofFormatError(f"{len(data)} bytes, over the {MAX_PROOF_BYTES}-byte limit for a proof")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProofFormatError("not UTF-8 text") from None
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or lines[0] != HEADER:
            raise ProofFormatError(f"not a tlog-proof: it does not start with the line {HEADER}")
        if len(lines) < 3 or not lines[1].startswith("extra "):
            raise ProofFormatError("no extra line: a govgate proof carries the entry's leaf there")
        leaf = _unb64(lines[1].removeprefix("extra "), "extra data")
        if len(leaf) > MAX_LEAF_BYTES:
            raise ProofFormatError(f"its extra data is over {MAX_LEAF_BYTES} bytes")
        index_text = lines[2].removeprefix("index ")
        if not lines[2].startswith("index ") or not _DECIMAL.fullmatch(index_text):
            raise ProofFormatError("line 3 is not `index N` (a decimal without leading zeros)")
        index = int(index_text)
        if len(lines) - 3 > MAX_PROOF_HASHES:
            raise ProofFormatError(f"more than {MAX_PROOF_HASHES} proof hashes")
        hashes = []
        for number, line in enumerate(lines[3:], start=4):
            h = _unb64(line, f"line {number}")
            if len(h) != HASH_SIZE:
                raise ProofFormatError(f"line {number} is not a base64 SHA-256 hash")
            hashes.append(h)
        if not checkpoint:
            raise ProofFormatError("no checkpoint after the empty line")
        return cls(leaf, index, tuple(hashes), checkpoint)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProofFormatError(f"{what} is not base64") from None
    if _b64(data) != text:
        raise ProofFormatError(f"{what} is not canonical base64")
    return data


@dataclass(frozen=True)
class Proved:
    """What a verified proof proves: this leaf is entry leaf.index of the signed checkpoint."""

    leaf: Leaf
    checkpoint: Checkpoint


def open_checkpoint_text(text: str, verifier: NoteVerifier) -> Checkpoint:
    """A signed checkpoint verified with the log key: ProofFormatError when it is not a signed
    checkpoint at all, ProofError when the log key did not sign it."""
    try:
        note = open_note(text, [verifier])
    except MalformedNoteError as exc:
        raise ProofFormatError(f"not a signed note ({exc})") from None
    except NoteError as exc:
        raise ProofError(f"signature does not verify with the log key ({exc})") from None
    try:
        cp = Checkpoint.parse(note.text)
    except AuditError as exc:
        raise ProofFormatError(f"not a checkpoint ({exc})") from None
    if cp.origin != verifier.name:
        raise ProofError(f"checkpoint of log {cp.origin!r}, not of {verifier.name!r}")
    return cp


def open_proof(data: bytes, verifier: NoteVerifier) -> Proved:
    """Verify a tlog-proof file offline: the checkpoint's signature by the log key, the leaf, and
    its inclusion at its index in the checkpoint's tree.

    ProofFormatError when the file is not a tlog-proof of a govgate log; ProofError when it is one
    and does not verify.
    """
    proof = TlogProof.parse(data)
    leaf = Leaf.parse(proof.leaf)
    try:
        cp = open_checkpoint_text(proof.checkpoint, verifier)
    except ProofError as exc:
        raise type(exc)(f"its checkpoint: {exc}") from None
    if leaf.index != proof.index:
        raise ProofError(f"its leaf is entry {leaf.index}, but it proves index {proof.index}")
    if not verify_inclusion(leaf_hash(proof.leaf), proof.index, cp.size, proof.hashes, cp.root_hash):
        raise ProofError(
            f"its inclusion proof does not verify: entry {proof.index} is not shown to be in the "
            f"checkpoint of size {cp.size}"
        )
    return Proved(leaf, cp)


def prove(
    tree: SubtreeHashes, leaf: bytes, index: int, checkpoint_text: str, verifier: NoteVerifier
) -> TlogProof:
    """The tlog-proof of the leaf at index in the signed checkpoint, checked before it is returned
    (ProofError when the log's tree does not match the checkpoint)."""
    cp = open_checkpoint_text(checkpoint_text, verifier)
    if index >= cp.size:
        raise ProofError(
            f"entry {index} is not in the checkpoint (size {cp.size})",
            "prove against a later checkpoint (an interrupted append is covered by the next one)",
        )
    path = inclusion_proof(tree, index, cp.size)
    if not verify_inclusion(leaf_hash(leaf), index, cp.size, path, cp.root_hash):
        raise ProofError(
            f"the log's tree does not match the checkpoint of size {cp.size}: entry {index} cannot be proved",
            "run `gate audit verify --log DIR`",
        )
    return TlogProof(leaf, index, tuple(path), checkpoint_text)


def check_consistent(tree: SubtreeHashes, old: Checkpoint, new: Checkpoint) -> None:
    """ProofError unless the log's tree shows old is a prefix of new (O(log n) subtree hashes)."""
    if old.size > new.size:
        raise ProofError(
            f"log truncated or rolled back: the checkpoint has {old.size} entries, the log {new.size}"
        )
    proof = consistency_proof(tree, old.size, new.size)
    if not verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof):
        kind = "fork" if old.size == new.size else "history rewritten (fork)"
        raise ProofError(
            f"{kind}: the log's checkpoint of size {new.size} does not contain the checkpoint of size {old.size}"
        )
