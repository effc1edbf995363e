"""Tests for audit.merkle against the RFC 6962 reference vectors and the RFC's own definitions.

Known-answer vectors: the reference tree of eight leaves used by
google/certificate-transparency (cpp/merkletree/merkle_tree_test.cc) and
transparency-dev/merkle (testonly/constants.go, proof/verify_test.go).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from audit.errors import AuditError
from audit.merkle import (
    EMPTY_ROOT,
    CompactTree,
    MerkleError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAF_HASHES = [leaf_hash(d) for d in LEAF_INPUTS]

# ROOTS[n] is the root of the tree over the first n leaf inputs.
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]

# NODE_HASHES[level][i]: the perfect subtrees of the eight-leaf reference tree.
NODE_HASHES = [
    [
        bytes.fromhex(h)
        for h in [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ]
    ],
    [
        bytes.fromhex(h)
        for h in [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ]
    ],
    [
        bytes.fromhex(h)
        for h in [
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]
    ],
    [bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# (0-based leaf index, tree size, audit path)
INCLUSION_VECTORS = [
    (
        0,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (0, 1, []),
]

# (old size, new size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


# The RFC 6962 section 2.1 definitions, written out literally, as an independent reference.
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


MAX_N = 70
LEAVES = leaves(MAX_N)
PREFIX_ROOTS = [ref_mth(LEAVES[:n]) for n in range(MAX_N + 1)]


def flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


# --- hashing primitives ------------------------------------------------------


def test_hash_primitives_follow_rfc6962() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest() == NODE_HASHES[0][0]
    assert node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


def test_leaf_hashes_of_reference_inputs() -> None:
    assert NODE_HASHES[0] == LEAF_HASHES


# --- known-answer vectors ----------------------------------------------------


@pytest.mark.parametrize("size", range(9))
def test_root_vectors(size: int) -> None:
    assert root(LEAF_HASHES[:size]) == ROOTS[size]


def test_node_hash_vectors() -> None:
    for level in range(1, 4):
        width = 1 << level
        for i, expected in enumerate(NODE_HASHES[level]):
            assert root(LEAF_HASHES[i * width : (i + 1) * width]) == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(index, LEAF_HASHES[:size]) == path
    assert verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, LEAF_HASHES[:new]) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS[:4])
def test_inclusion_vectors_reject_corruption(index: int, size: int, path: list[bytes]) -> None:
    good_root, leaf = ROOTS[size], LEAF_HASHES[index]
    probes: list[tuple[bytes, int, int, list[bytes], bytes]] = [
        (leaf, index - 1, size, path, good_root),
        (leaf, index + 1, size, path, good_root),
        (leaf, index ^ 2, size, path, good_root),
        (leaf, index, size * 2, path, good_root),
        (leaf, index, size // 2, path, good_root),
        (leaf_hash(b"WrongLeaf"), index, size, path, good_root),
        (b"WrongLeaf", index, size, path, good_root),
        (leaf, index, size, path, EMPTY_ROOT),
        (leaf, index, size, path, SOME_HASH),
        (leaf, index, size, [*path, b""], good_root),
        (leaf, index, size, [*path, good_root], good_root),
        (leaf, index, size, [b"", *path], good_root),
        (leaf, index, size, [good_root, *path], good_root),
        (leaf, index, size, path[:-1], good_root),
        (leaf, index, size, [path[0], SOME_HASH, *path[1:]], good_root),
    ]
    for i in range(len(path)):
        probes.append((leaf, index, size, [*path[:i], flip(path[i], 3), *path[i + 1 :]], good_root))
    for probe in probes:
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS[1:])
def test_consistency_vectors_reject_corruption(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old], ROOTS[new]
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, b"WrongRoot", r2, proof),
        (old, new, r1, b"WrongRoot", proof),
        (old, new, SOME_HASH, r2, proof),
        (old, new, r1, SOME_HASH, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        probes.append((old, new, r1, r2, [*proof[:i], flip(proof[i], 4), *proof[i + 1 :]]))
    for probe in probes:
        assert not verify_consistency(*probe), probe


def test_verify_inclusion_degenerate_inputs() -> None:
    single = leaf_hash(b"data")
    assert verify_inclusion(single, 0, 1, [], single)
    assert not verify_inclusion(single, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], single)
    for index, size in [(0, 0), (1, 0), (2, 1), (1, 1), (-1, 1)]:
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
        assert not verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)


def test_verify_consistency_degenerate_inputs() -> None:
    r1, r2 = ROOTS[1], ROOTS[2]
    # Sizes that are consistent without a proof.
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert verify_consistency(1, 1, r1, r1, [])
    # ...but only with the right roots and an empty proof.
    assert not verify_consistency(0, 0, r1, r1, [])
    assert not verify_consistency(0, 1, r1, r2, [])
    assert not verify_consistency(1, 1, r1, r2, [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [EMPTY_ROOT])
    assert not verify_consistency(1, 1, r1, r1, [EMPTY_ROOT])
    # Time travel to the past, negative sizes, a missing proof.
    assert not verify_consistency(1, 0, r1, EMPTY_ROOT, [])
    assert not verify_consistency(2, 1, r2, r1, [])
    assert not verify_consistency(-1, 1, r1, r1, [])
    assert not verify_consistency(1, 2, r1, r2, [])


# --- properties over every small tree ------------------------------------------


def test_root_matches_reference_definition() -> None:
    for n in range(MAX_N + 1):
        assert root(LEAVES[:n]) == PREFIX_ROOTS[n]


def test_root_matches_reference_on_larger_sizes() -> None:
    for n in [127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025]:
        d = leaves(n)
        assert root(d) == ref_mth(d)


def _other_sizes(n: int) -> set[int]:
    return {n - 2, n - 1, n + 1, n + 2, n // 2, n * 2} - {n}


def test_inclusion_proofs_for_every_leaf_of_every_size() -> None:
    proofs = {
        (i, n): inclusion_proof(i, LEAVES[:n]) for n in range(1, 2 * MAX_N + 1) for i in range(min(n, MAX_N))
    }
    for n in range(1, MAX_N + 1):
        d, r = LEAVES[:n], PREFIX_ROOTS[n]
        for i in range(n):
            proof = proofs[i, n]
            assert proof == ref_path(i, d)
            assert verify_inclusion(d[i], i, n, proof, r)
            assert not verify_inclusion(d[i], i, n, proof, PREFIX_ROOTS[n - 1])
            assert not verify_inclusion(d[i], i, n, proof, SOME_HASH)
            assert not verify_inclusion(flip(d[i]), i, n, proof, r)
            assert not verify_inclusion(d[i], i, n, [*proof, SOME_HASH], r)
            assert not verify_inclusion(d[i], i, n, [SOME_HASH, *proof], r)
            for other in (i - 1, i + 1, i ^ 1, i ^ 2):
                if other != i and 0 <= other < n:
                    assert not verify_inclusion(d[i], other, n, proof, r)
                    assert not verify_inclusion(d[other], i, n, proof, r)
            # A size whose audit paths have another length cannot accept this proof.
            for size in _other_sizes(n):
                if size <= i or len(proofs[i, size]) != len(proof):
                    assert not verify_inclusion(d[i], i, size, proof, r)
            if proof:
                assert not verify_inclusion(d[i], i, n, proof[:-1], r)
            for j in range(len(proof)):
                bad = [*proof[:j], flip(proof[j], j % 8), *proof[j + 1 :]]
                assert not verify_inclusion(d[i], i, n, bad, r)


def test_consistency_proofs_for_every_pair_of_sizes() -> None:
    proofs = {
        (m, n): consistency_proof(m, LEAVES[:n])
        for n in range(2 * MAX_N + 1)
        for m in range(min(n, MAX_N) + 1)
    }
    for n in range(MAX_N + 1):
        d = LEAVES[:n]
        for m in range(n + 1):
            proof = proofs[m, n]
            assert proof == ([] if m in (0, n) else ref_subproof(m, d, True))
            r1, r2 = PREFIX_ROOTS[m], PREFIX_ROOTS[n]
            assert verify_consistency(m, n, r1, r2, proof)
            if m == n:
                assert not verify_consistency(m, n, r1, r2, [SOME_HASH])
                continue
            assert not verify_consistency(m, n, SOME_HASH, r2, proof)
            if m == 0:
                # Every tree extends the empty tree, so there is nothing to prove.
                assert not verify_consistency(m, n, r1, r2, [SOME_HASH])
                continue
            assert not verify_consistency(m, n, r1, SOME_HASH, proof)
            assert not verify_consistency(m, n, r1, PREFIX_ROOTS[n - 1], proof)
            assert not verify_consistency(m, n, r2, r1, proof)
            assert not verify_consistency(m, n, r1, r2, [])
            assert not verify_consistency(m, n, r1, r2, proof[:-1])
            assert not verify_consistency(m, n, r1, r2, [*proof, SOME_HASH])
            assert not verify_consistency(m, n, r1, r2, [SOME_HASH, *proof])
            # Sizes whose proofs have another length cannot accept this proof.
            for old in _other_sizes(m):
                if not 0 < old < n or len(proofs[old, n]) != len(proof):
                    assert not verify_consistency(old, n, r1, r2, proof)
            for new in _other_sizes(n):
                if new <= m or len(proofs[m, new]) != len(proof):
                    assert not verify_consistency(m, new, r1, r2, proof)
            for j in range(len(proof)):
                bad = [*proof[:j], flip(proof[j], j % 8), *proof[j + 1 :]]
                assert not verify_consistency(m, n, r1, r2, bad)


def test_proof_generation_rejects_bad_arguments() -> None:
    d = LEAVES[:5]
    for index in (-1, 5, 6):
        with pytest.raises(MerkleError):
            inclusion_proof(index, d)
    with pytest.raises(MerkleError):
        inclusion_proof(0, [])
    for old in (-1, 6):
        with pytest.raises(MerkleError):
            consistency_proof(old, d)
    with pytest.raises(MerkleError, match="leaf hash 1 is not 32 bytes"):
        root([d[0], b"short"])
    with pytest.raises(AuditError):
        inclusion_proof(0, [d[0], b"leaf data, not a hash"])


# --- CompactTree ---------------------------------------------------------------


def test_compact_tree_matches_reference_vectors() -> None:
    tree = CompactTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    expected_nodes = [
        [],
        [NODE_HASHES[0][0]],
        [NODE_HASHES[1][0]],
        [NODE_HASHES[1][0], NODE_HASHES[0][2]],
        [NODE_HASHES[2][0]],
        [NODE_HASHES[2][0], NODE_HASHES[0][4]],
        [NODE_HASHES[2][0], NODE_HASHES[1][2]],
        [NODE_HASHES[2][0], NODE_HASHES[1][2], NODE_HASHES[0][6]],
        [NODE_HASHES[3][0]],
    ]
    for i, h in enumerate(LEAF_HASHES):
        assert tree.append(h) == i
        assert tree.size == i + 1
        assert tree.root() == ROOTS[i + 1]
        assert list(tree.nodes) == expected_nodes[i + 1]


def test_compact_tree_root_equals_root_at_every_size() -> None:
    d = leaves(300)
    tree = CompactTree()
    for n in range(301):
        assert tree.root() == root(d[:n])
        assert tree == CompactTree.from_leaf_hashes(d[:n])
        restored = CompactTree.from_json(tree.to_json())
        assert restored == tree
        assert restored.root() == tree.root()
        if n < 300:
            tree.append(d[n])


def test_compact_tree_resumes_after_serialisation() -> None:
    d = leaves(100)
    tree = CompactTree()
    tree.extend(d[:37])
    state = tree.to_json()
    resumed = CompactTree.from_json(state)
    resumed.extend(d[37:])
    assert resumed.size == 100
    assert resumed.root() == root(d)
    assert tree.size == 37
    assert json.loads(state) == {"size": 37, "hashes": [h.hex() for h in tree.nodes]}


def test_compact_tree_copy_is_independent() -> None:
    tree = CompactTree.from_leaf_hashes(leaves(5))
    twin = tree.copy()
    twin.append(SOME_HASH)
    assert tree.size == 5
    assert twin.size == 6
    assert tree.root() == root(leaves(5))


@pytest.mark.parametrize(
    "state",
    [
        "not json",
        "[]",
        "{}",
        '{"size": 1}',
        '{"size": 1, "hashes": [], "extra": 0}',
        '{"size": -1, "hashes": []}',
        '{"size": true, "hashes": ["' + "00" * 32 + '"]}',
        '{"size": "1", "hashes": ["' + "00" * 32 + '"]}',
        '{"size": 1, "hashes": []}',
        '{"size": 3, "hashes": ["' + "00" * 32 + '"]}',
        '{"size": 1, "hashes": ["' + "00" * 31 + '"]}',
        '{"size": 1, "hashes": ["' + "AA" * 32 + '"]}',
        '{"size": 1, "hashes": ["' + "zz" * 32 + '"]}',
        '{"size": 1, "hashes": "' + "00" * 32 + '"}',
    ],
)
def test_compact_tree_rejects_bad_state(state: str) -> None:
    with pytest.raises(MerkleError):
        CompactTree.from_json(state)


def test_compact_tree_rejects_bad_leaf_hash() -> None:
    tree = CompactTree()
    with pytest.raises(MerkleError):
        tree.append(b"leaf data")
    assert tree.size == 0


# --- a large tree ----------------------------------------------------------------


def test_large_tree_agrees_with_the_compact_tree_and_its_proofs() -> None:
    d = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(100_000)]
    expected = CompactTree.from_leaf_hashes(d).root()
    assert root(d) == expected
    tree = CompactTree()
    tree.extend(d)
    assert tree.root() == expected
    proof = inclusion_proof(54_321, d)
    assert verify_inclusion(d[54_321], 54_321, len(d), proof, expected)
    proof = consistency_proof(77_777, d)
    assert verify_consistency(77_777, len(d), root(d[:77_777]), expected, proof)
