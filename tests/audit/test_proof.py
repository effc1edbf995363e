"""Proofs from subtree hashes (audit.proof): parity with the all-leaves proofs, their cost, the
tlog-proof file, and proofs of real logs."""

from __future__ import annotations

import base64
import math
import random
from pathlib import Path

import pytest

from audit import merkle
from audit.log import AuditLog
from audit.note import NoteSigner
from audit.proof import (
    HEADER,
    Leaf,
    MemoryTree,
    ProofError,
    ProofFormatError,
    TlogProof,
    check_consistent,
    compact_tree,
    consistency_proof,
    inclusion_proof,
    log_subtrees,
    open_proof,
    prove,
    tree_root,
)
from tests.audit.logs import Keys, make_keys, make_log


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(n)]


class Counting(MemoryTree):
    """Counts the subtree hashes asked for."""

    def __init__(self, hashes: list[bytes]) -> None:
        super().__init__(hashes)
        self.calls = 0

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.calls += 1
        return super().subtree_hash(level, index)


ALL = leaves(130)


@pytest.mark.parametrize("n", range(1, 70))
def test_inclusion_proofs_equal_the_all_leaves_proofs(n: int) -> None:
    tree = MemoryTree(ALL[:n])
    assert tree_root(tree, n) == merkle.root(ALL[:n])
    for i in range(n):
        path = inclusion_proof(tree, i, n)
        assert path == merkle.inclusion_proof(i, ALL[:n])
        assert merkle.verify_inclusion(ALL[i], i, n, path, merkle.root(ALL[:n]))


@pytest.mark.parametrize("n", range(1, 70))
def test_consistency_proofs_equal_the_all_leaves_proofs(n: int) -> None:
    tree = MemoryTree(ALL[:n])
    for m in range(n + 1):
        proof = consistency_proof(tree, m, n)
        assert proof == merkle.consistency_proof(m, ALL[:n])
        old = merkle.root(ALL[:m])
        assert merkle.verify_consistency(m, n, old, merkle.root(ALL[:n]), proof)


def test_proofs_of_a_larger_tree_equal_the_all_leaves_proofs_at_random_sizes() -> None:
    rng = random.Random(15)
    many = leaves(3000)
    for _ in range(60):
        n = rng.randint(1, len(many))
        i, m = rng.randrange(n), rng.randint(0, n)
        tree = MemoryTree(many[:n])
        assert inclusion_proof(tree, i, n) == merkle.inclusion_proof(i, many[:n])
        assert consistency_proof(tree, m, n) == merkle.consistency_proof(m, many[:n])


def test_a_compact_tree_from_subtrees_is_the_one_of_the_leaves() -> None:
    for n in (0, 1, 2, 7, 64, 100):
        assert compact_tree(MemoryTree(ALL[:n]), n) == merkle.CompactTree.from_leaf_hashes(ALL[:n])


def test_proofs_cost_o_log_n_subtree_hashes() -> None:
    """Each proof node is at most one fold of log2(n) complete subtrees, and at most one or two
    nodes are not complete: so the calls stay within a small multiple of log2(n), for any size."""
    big = leaves(1 << 12)
    rng = random.Random(6962)
    for _ in range(200):
        n = rng.randint(2, len(big))
        tree = Counting(big[:n])
        inclusion_proof(tree, rng.randrange(n), n)
        bound = 3 * math.ceil(math.log2(n)) + 2
        assert tree.calls <= bound, (n, tree.calls)
        tree.calls = 0
        consistency_proof(tree, rng.randint(1, n), n)
        assert tree.calls <= bound, (n, tree.calls)


def test_proofs_outside_the_tree_are_refused() -> None:
    tree = MemoryTree(ALL[:5])
    with pytest.raises(ProofError):
        inclusion_proof(tree, 5, 5)
    with pytest.raises(ProofError):
        consistency_proof(tree, 6, 5)
    with pytest.raises(ProofError):
        tree.subtree_hash(3, 1)
    with pytest.raises(ProofError):
        tree.subtree_hash(-1, 0)


# --- the tlog-proof file over a real log ----------------------------------------------------


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> AuditLog:
    folder = tmp_path_factory.mktemp("log") / "log"
    make_log(folder, keys, 11)
    return AuditLog(folder)


def test_the_log_hands_out_the_subtree_hashes_of_its_leaves(log: AuditLog) -> None:
    hashes = [log.entry(i).leaf_hash() for i in range(11)]
    stored, memory = log_subtrees(log), MemoryTree(hashes)
    for level in range(4):
        for index in range(11 >> level):
            assert stored.subtree_hash(level, index) == memory.subtree_hash(level, index)


def test_a_proof_of_each_entry_verifies_with_the_log_key(log: AuditLog, keys: Keys) -> None:
    text = log.checkpoint_text()
    for i in range(11):
        entry = log.entry(i)
        proof = prove(log_subtrees(log), entry.leaf_data(), i, text, keys.verifier())
        written = proof.to_text()
        assert written.startswith(f"{HEADER}\nextra ") and f"\nindex {i}\n" in written
        assert written.endswith("\n\n" + text)  # the checkpoint verbatim, after an empty line
        proved = open_proof(written.encode(), keys.verifier())
        assert proved.leaf == Leaf(entry.record_id, i, entry.record, entry.input)
        assert (
            proved.checkpoint.size == 11
            and proved.checkpoint.root_hash == log.checkpoint(keys.verifier()).root_hash
        )


def test_a_saved_checkpoint_is_consistent_with_the_latest(tmp_path: Path, keys: Keys) -> None:
    folder = tmp_path / "log"
    make_log(folder, keys, 5)
    log = AuditLog(folder)
    old = log.checkpoint(keys.verifier())
    make_log(folder, keys, 9)  # the log grows to 14 entries
    new = log.checkpoint(keys.verifier())
    check_consistent(log_subtrees(log), old, new)
    with pytest.raises(ProofError, match="rolled back"):
        check_consistent(log_subtrees(log), new, old)


def _proof_text(log: AuditLog, keys: Keys, index: int = 3) -> str:
    entry = log.entry(index)
    return prove(
        log_subtrees(log), entry.leaf_data(), index, log.checkpoint_text(), keys.verifier()
    ).to_text()


def _swap_line(text: str, number: int, line: str) -> str:
    lines = text.split("\n")
    lines[number] = line
    return "\n".join(lines)


def test_tampered_proofs_do_not_verify(log: AuditLog, keys: Keys, tmp_path: Path) -> None:
    text = _proof_text(log, keys)
    other = log.entry(4)
    lines = text.split("\n")
    tampered = {
        "another entry's leaf": _swap_line(text, 1, "extra " + base64.b64encode(other.leaf_data()).decode()),
        "a proof hash changed": _swap_line(text, 3, base64.b64encode(b"\x01" * 32).decode()),
        "a proof hash dropped": "\n".join(lines[:3] + lines[4:]),
        "the index changed in both places": _swap_line(
            _swap_line(text, 2, "index 2"),
            1,
            "extra "
            + base64.b64encode(log.entry(3).leaf_data().replace(b'"index":3', b'"index":2')).decode(),
        ),
        "the checkpoint's root changed": text.replace(
            text.split("\n\n")[1].split("\n")[2], base64.b64encode(b"\x02" * 32).decode()
        ),
    }
    for what, bad in tampered.items():
        with pytest.raises(ProofError) as caught:
            open_proof(bad.encode(), keys.verifier())
        assert not isinstance(caught.value, ProofFormatError), what
    other_keys = make_keys(tmp_path / "other")
    with pytest.raises(ProofError, match="does not verify with the log key"):
        open_proof(text.encode(), other_keys.verifier())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("\nextra ", "\nextras "),
        lambda t: t.replace("\nindex 3\n", "\nindex 03\n"),
        lambda t: t.replace("\nindex 3\n", "\nindex -3\n"),
        lambda t: _swap_line(t, 1, "extra !!!"),
        lambda t: _swap_line(t, 1, "extra " + base64.b64encode(b'{"id":"x"}').decode()),
        lambda t: _swap_line(t, 1, "extra " + base64.b64encode(b"[1,2]").decode()),
        lambda t: _swap_line(t, 1, "extra " + base64.b64encode(b"[" * 40000).decode()),
        lambda t: _swap_line(
            t,
            1,
            "extra "
            + base64.b64encode(
                b'{"id":"\\ud800","index":3,"input":null,"record":"sha256:' + b"0" * 64 + b'"}'
            ).decode(),
        ),
        lambda t: _swap_line(t, 1, "extra " + base64.b64encode(b'{"id":' + b"[" * 40000).decode()),
        lambda t: _swap_line(t, 3, "AAAA"),
        lambda t: t.split("\n\n")[0] + "\n\n",
        lambda t: t.replace("\n\n", "\n", 1),
        lambda t: t.replace("\n— ", "\n- "),  # the checkpoint is no longer a signed note
        lambda t: (
            "\n".join([*t.split("\n")[:3], *(["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="] * 65)]) + "\n\n"
        ),
        lambda t: t + "x" * (300 * 1024),
        lambda t: "\udcff",
    ],
)
def test_malformed_proofs_are_refused_as_not_a_proof(log: AuditLog, keys: Keys, mangle: object) -> None:
    text = _proof_text(log, keys)
    bad = mangle(text)  # type: ignore[operator]
    data = bad.encode("utf-8", "surrogateescape")
    with pytest.raises(ProofFormatError):
        open_proof(data, keys.verifier())


def test_a_leaf_not_in_canonical_form_is_refused(log: AuditLog, keys: Keys) -> None:
    text = _proof_text(log, keys)
    leaf = log.entry(3).leaf_data().replace(b",", b", ", 1)
    with pytest.raises(ProofFormatError, match="canonical"):
        open_proof(_swap_line(text, 1, "extra " + base64.b64encode(leaf).decode()).encode(), keys.verifier())


def test_prove_refuses_an_entry_past_the_checkpoint_and_a_tree_that_does_not_match(
    log: AuditLog, keys: Keys
) -> None:
    text = log.checkpoint_text()
    entry = log.entry(3)
    with pytest.raises(ProofError, match="not in the checkpoint"):
        prove(log_subtrees(log), entry.leaf_data(), 11, text, keys.verifier())
    with pytest.raises(ProofError, match="does not match"):
        prove(log_subtrees(log), log.entry(4).leaf_data(), 3, text, keys.verifier())


def test_the_proof_round_trips() -> None:
    signer = NoteSigner.from_skey(make_keys_skey())
    cp = merkle_checkpoint(signer)
    proof = TlogProof(b'{"id":"a","index":0,"input":null,"record":"sha256:' + b"0" * 64 + b'"}', 0, (), cp)
    assert TlogProof.parse(proof.to_text().encode()) == proof


def make_keys_skey() -> str:
    from audit.keys import new_log_key

    return new_log_key()[0]


def merkle_checkpoint(signer: NoteSigner) -> str:
    from audit.note import Checkpoint, sign_note

    return sign_note(Checkpoint(signer.name, 1, merkle.leaf_hash(b"x")).to_text(), [signer])


def test_a_log_that_hands_out_subtree_hashes_is_read_through_them(log: AuditLog) -> None:
    hashes = [log.entry(i).leaf_hash() for i in range(11)]

    class Tiled(AuditLog):
        def subtree_hash(self, level: int, index: int) -> bytes:
            return MemoryTree(hashes).subtree_hash(level, index)

    tiled = Tiled(log.path)
    assert log_subtrees(tiled) is tiled
    assert inclusion_proof(log_subtrees(tiled), 3, 11) == merkle.inclusion_proof(3, hashes)
