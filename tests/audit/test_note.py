"""Tests for audit.note against the published signed-note and tlog-checkpoint examples.

Examples: the PeterNeumann and EnochRoot keys and signatures in the documentation
and tests of golang.org/x/mod/sumdb/note (golang/mod sumdb/note/note.go and
note_test.go), and the examples in C2SP signed-note.md and tlog-checkpoint.md.
"""

from __future__ import annotations

import base64
import re

import pytest

from audit import note as note_module
from audit.errors import AuditError
from audit.merkle import EMPTY_ROOT, CompactTree, leaf_hash
from audit.note import (
    AmbiguousKeyError,
    Checkpoint,
    CheckpointError,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    TooManySignaturesError,
    UnverifiedNoteError,
    generate_key,
    is_valid_key_name,
    key_id,
    open_note,
    sign_note,
)

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"\u2014 PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"\u2014 EnochRoot {ENOCH_B64}\n"
SIGNED = TEXT + "\n" + PETER_SIG

QUASIMODO_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "\u2014 quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)

CHECKPOINT_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
CHECKPOINT_NOTE = (
    CHECKPOINT_TEXT
    + "\n\u2014 example.com/behind-the-sofa "
    + "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


@pytest.fixture(scope="module")
def peter() -> NoteVerifier:
    return NoteVerifier.from_vkey(PETER_VKEY)


@pytest.fixture(scope="module")
def enoch() -> NoteVerifier:
    return NoteVerifier.from_vkey(ENOCH_VKEY)


@pytest.fixture(scope="module")
def peter_signer() -> NoteSigner:
    return NoteSigner.from_skey(PETER_SKEY)


def _with_signature_bytes(line: str, edit: bytes | None = None, flip_at: int | None = None) -> str:
    """Rewrite a signature line's decoded bytes: replace them, or flip one byte."""
    prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    if flip_at is not None:
        raw[flip_at] ^= 0x01
    data = edit if edit is not None else bytes(raw)
    return f"{prefix} {base64.b64encode(data).decode()}\n"


# --- keys ------------------------------------------------------------------------


def test_example_keys_parse(peter: NoteVerifier, peter_signer: NoteSigner) -> None:
    assert peter.name == "PeterNeumann"
    assert peter.key_id == 0xC74F20A3
    assert peter.vkey == PETER_VKEY
    assert peter_signer.name == "PeterNeumann"
    assert peter_signer.key_id == 0xC74F20A3
    assert peter_signer.verifier == peter
    assert key_id("PeterNeumann", peter.public_key) == 0xC74F20A3
    assert NoteVerifier.from_vkey(ENOCH_VKEY).key_id == 0xAF0CFE78
    assert "PRIVATE" not in repr(peter_signer)
    assert PETER_VKEY in repr(peter)


def test_every_mangled_verifier_key_is_rejected() -> None:
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(KeyFormatError):
                    NoteVerifier.from_vkey(PETER_VKEY[i:j])
    for i, ch in enumerate(PETER_VKEY):
        with pytest.raises(KeyFormatError):
            NoteVerifier.from_vkey(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])


def test_every_mangled_signer_key_is_rejected() -> None:
    for i in range(len(PETER_SKEY) + 1):
        for j in range(i + 1, len(PETER_SKEY) + 1):
            if (i, j) != (0, len(PETER_SKEY)):
                with pytest.raises(KeyFormatError):
                    NoteSigner.from_skey(PETER_SKEY[i:j])
    for i, ch in enumerate(PETER_SKEY):
        with pytest.raises(KeyFormatError):
            NoteSigner.from_skey(PETER_SKEY[:i] + chr(ord(ch) + 1) + PETER_SKEY[i + 1 :])


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        # Wrong key length (in non-canonical base64) and unknown algorithm, each with a matching key ID.
        ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", "base64"),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "algorithm"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid key name"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3", "form"),
    ],
)
def test_bad_verifier_keys(vkey: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        NoteVerifier.from_vkey(vkey)


def test_verifier_key_of_wrong_length_is_rejected(peter: NoteVerifier) -> None:
    longer = peter.public_key + b"\x00"
    key_b64 = base64.b64encode(b"\x01" + longer).decode()
    vkey = f"PeterNeumann+{key_id('PeterNeumann', longer):08x}+{key_b64}"
    with pytest.raises(KeyFormatError, match="34 bytes, not 33"):
        NoteVerifier.from_vkey(vkey)


def test_signer_key_with_wrong_seed_is_rejected() -> None:
    with pytest.raises(KeyFormatError, match="does not match"):
        NoteSigner.from_skey("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxEXUKS9V")


def test_generated_keys_round_trip() -> None:
    skey, vkey = generate_key("example.com/audit-log")
    assert re.fullmatch(r"PRIVATE\+KEY\+example\.com/audit-log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", skey)
    assert re.fullmatch(r"example\.com/audit-log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", vkey)
    assert skey.split("+")[3] == vkey.split("+")[1]
    signer = NoteSigner.from_skey(skey)
    verifier = NoteVerifier.from_vkey(vkey)
    assert signer.verifier == verifier
    assert verifier.vkey == vkey
    signature = signer.sign(b"hi")
    assert verifier.verify(b"hi", signature)
    assert not verifier.verify(b"hj", signature)
    assert not verifier.verify(b"hi", bytes([signature[0] ^ 1]) + signature[1:])
    assert generate_key("example.com/audit-log") != (skey, vkey)


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2028b", "a\u3000b", "a\x01b", "\ud800"]
)
def test_invalid_key_names(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(KeyFormatError):
        generate_key(name)


@pytest.mark.parametrize("name", ["PeterNeumann", "example.com/log42", "ünïcødé", "a—b", "x"])
def test_valid_key_names(name: str) -> None:
    assert is_valid_key_name(name)
    skey, vkey = generate_key(name)
    assert NoteSigner.from_skey(skey).name == NoteVerifier.from_vkey(vkey).name == name


# --- signing and opening the published examples ----------------------------------------


def test_signing_example_reproduces_published_note(peter_signer: NoteSigner) -> None:
    assert sign_note(TEXT, [peter_signer]) == SIGNED


def test_open_example(peter: NoteVerifier) -> None:
    for message in (SIGNED, SIGNED.encode()):
        opened = open_note(message, [peter])
        assert opened.text == TEXT
        assert opened.verifiers == (peter,)
        assert [(s.name, s.key_id) for s in opened.signatures] == [("PeterNeumann", 0xC74F20A3)]
        assert opened.signatures[0].line + "\n" == PETER_SIG
        assert opened.unverified_signatures == ()


def test_open_doubly_signed_example(peter: NoteVerifier, enoch: NoteVerifier) -> None:
    message = TEXT + "\n" + PETER_SIG + ENOCH_SIG

    one = open_note(message, [peter])
    assert one.verifiers == (peter,)
    assert [(s.name, s.key_id) for s in one.unverified_signatures] == [("EnochRoot", 0xAF0CFE78)]

    both = open_note(message, [enoch, peter])
    assert both.verifiers == (peter, enoch)
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified_signatures == ()

    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(message, [])
    assert caught.value.note.text == TEXT
    assert caught.value.note.signatures == ()
    assert [s.name for s in caught.value.note.unverified_signatures] == ["PeterNeumann", "EnochRoot"]
    assert "PeterNeumann+c74f20a3" in str(caught.value)


def test_spec_example_note_with_blank_line_in_text() -> None:
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(QUASIMODO_NOTE, [NoteVerifier.from_vkey(PETER_VKEY)])
    opened = caught.value.note
    assert (
        opened.text
        == "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    )
    assert [s.name for s in opened.unverified_signatures] == ["quasimodo.example/salvatore"]
    assert len(opened.unverified_signatures[0].signature) == 64


def test_sign_and_open_with_generated_keys() -> None:
    keys = [generate_key(f"example.com/witness{i}") for i in range(3)]
    signers = [NoteSigner.from_skey(s) for s, _ in keys]
    verifiers = [NoteVerifier.from_vkey(v) for _, v in keys]
    for text in ["\n", "one line\n", "a\n\nb\n\n", "— looks like a signature\n", "ünïcødé\n"]:
        message = sign_note(text, signers)
        opened = open_note(message, verifiers[1:])
        assert opened.text == text
        assert opened.verifiers == tuple(verifiers[1:])
        assert [s.name for s in opened.unverified_signatures] == ["example.com/witness0"]


def test_duplicate_signatures_are_recorded_once(peter: NoteVerifier) -> None:
    enoch_altered = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    message = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_altered
    opened = open_note(message, [peter])
    assert opened.verifiers == (peter,)
    assert len(opened.signatures) == 1
    assert [s.name for s in opened.unverified_signatures] == ["EnochRoot", "EnochRoot"]
    assert opened.unverified_signatures[0].signature != opened.unverified_signatures[1].signature


# --- rejection ---------------------------------------------------------------------------


def test_altered_text_is_rejected(peter: NoteVerifier) -> None:
    for i in range(len(TEXT) - 1):
        altered = TEXT[:i] + chr(ord(TEXT[i]) ^ 0x01) + TEXT[i + 1 :]
        if "\n\n" in altered or re.search(r"[\x00-\x09\x0b-\x1f]", altered):
            continue
        with pytest.raises(InvalidSignatureError, match=r"PeterNeumann\+c74f20a3"):
            open_note(altered + "\n" + PETER_SIG, [peter])


def test_altered_signature_is_rejected(peter: NoteVerifier) -> None:
    for i in range(4, 68):
        with pytest.raises(InvalidSignatureError):
            open_note(TEXT + "\n" + _with_signature_bytes(PETER_SIG, flip_at=i), [peter])
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], [peter])
    raw = base64.b64decode(PETER_B64)
    for truncated in (raw[:-1], raw[:5], raw + b"\x00"):
        with pytest.raises(InvalidSignatureError):
            open_note(TEXT + "\n" + _with_signature_bytes(PETER_SIG, edit=truncated), [peter])


def test_bad_known_signature_is_an_error_even_beside_a_good_one(
    peter: NoteVerifier, enoch: NoteVerifier
) -> None:
    bad_enoch = _with_signature_bytes(ENOCH_SIG, flip_at=10)
    with pytest.raises(InvalidSignatureError, match="EnochRoot"):
        open_note(TEXT + "\n" + PETER_SIG + bad_enoch, [peter, enoch])
    with pytest.raises(InvalidSignatureError, match="PeterNeumann"):
        open_note(TEXT + "\n" + ENOCH_SIG + _with_signature_bytes(PETER_SIG, flip_at=10), [peter, enoch])
    # Unknown to this verifier set, the bad signature is ignored.
    assert open_note(TEXT + "\n" + PETER_SIG + bad_enoch, [peter]).verifiers == (peter,)


def test_wrong_key_finds_no_signature(peter: NoteVerifier, enoch: NoteVerifier) -> None:
    _, impostor_vkey = generate_key("PeterNeumann")
    impostor = NoteVerifier.from_vkey(impostor_vkey)
    assert impostor.key_id != peter.key_id
    for verifiers in ([impostor], [enoch], []):
        with pytest.raises(UnverifiedNoteError):
            open_note(SIGNED, verifiers)
    # A signature whose key ID is altered names an unknown key.
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + _with_signature_bytes(PETER_SIG, flip_at=0), [peter])
    # So does a signature under another name.
    with pytest.raises(UnverifiedNoteError):
        open_note(SIGNED.replace("PeterNeumann", "CarmenSandiego"), [peter])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + f"\u2014 Bad Name {PETER_B64}\n",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG + "\n",
        TEXT + "\n" + PETER_SIG.replace("\u2014", "\u2013"),
        TEXT + "\n" + PETER_SIG.replace("\u2014 ", "-- "),
        TEXT + "\n" + PETER_SIG.replace("\u2014 ", "\u2014"),
        TEXT + "\n" + "\u2014 PeterNeumann\n",
        TEXT + "\n" + "\u2014 PeterNeumann \n",
        TEXT + "\n" + "\u2014  " + PETER_B64 + "\n",
        TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),
        TEXT + "\n" + PETER_SIG.replace("AM=\n", "AN=\n"),
        TEXT + "\n" + "\u2014 PeterNeumann " + base64.b64encode(b"\xc7\x4f\x20\xa3").decode() + "\n",
        TEXT + "\n" + PETER_SIG.replace(" x08go", " x08go "),
        (TEXT + "\n" + PETER_SIG).replace("\n", "\r\n"),
        "",
        "\n",
        "\n\n",
        TEXT.replace("\n", "\t", 1) + "\n" + PETER_SIG,
        "\ud800" + TEXT + "\n" + PETER_SIG,
    ],
)
def test_malformed_notes(message: str, peter: NoteVerifier) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(message, [peter])


def test_malformed_bytes(peter: NoteVerifier) -> None:
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(b"\xff" + SIGNED.encode(), [peter])


def test_signature_limit(peter: NoteVerifier) -> None:
    assert len(open_note(TEXT + "\n" + PETER_SIG * 100, [peter]).signatures) == 1
    for verifiers in ([peter], []):
        with pytest.raises(TooManySignaturesError, match="101 signature lines"):
            open_note(TEXT + "\n" + PETER_SIG * 101, verifiers)
    assert open_note(TEXT + "\n" + PETER_SIG * 16, [peter], max_signatures=16).verifiers == (peter,)
    with pytest.raises(TooManySignaturesError):
        open_note(TEXT + "\n" + PETER_SIG * 17, [peter], max_signatures=16)
    with pytest.raises(ValueError):
        open_note(SIGNED, [peter], max_signatures=15)


def test_ambiguous_verifiers(peter: NoteVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_note(SIGNED, [peter, NoteVerifier.from_vkey(PETER_VKEY)]).verifiers == (peter,)
    monkeypatch.setattr(note_module, "key_id", lambda name, public_key: 0xC74F20A3)
    _, impostor_vkey = generate_key("PeterNeumann")
    impostor = NoteVerifier.from_vkey(impostor_vkey)
    assert (impostor.name, impostor.key_id) == (peter.name, peter.key_id)
    with pytest.raises(AmbiguousKeyError):
        open_note(SIGNED, [peter, impostor])


def test_sign_note_rejects_bad_input(peter_signer: NoteSigner) -> None:
    for text in ["", "no newline", "tab\there\n", "nul\x00\n", "cr\r\n", "\udc80\n"]:
        with pytest.raises(MalformedNoteError):
            sign_note(text, [peter_signer])
    with pytest.raises(NoteError, match="at least one signer"):
        sign_note(TEXT, [])
    with pytest.raises(NoteError, match="given twice"):
        sign_note(TEXT, [peter_signer, NoteSigner.from_skey(PETER_SKEY)])


def test_errors_are_audit_errors_with_remediation(peter: NoteVerifier) -> None:
    with pytest.raises(AuditError) as caught:
        open_note(TEXT + "\n" + _with_signature_bytes(PETER_SIG, flip_at=20), [peter])
    assert caught.value.remediation
    assert issubclass(TooManySignaturesError, MalformedNoteError)
    assert issubclass(CheckpointError, AuditError)


# --- checkpoints -------------------------------------------------------------------------


def test_spec_checkpoint_parses_and_round_trips() -> None:
    checkpoint = Checkpoint.parse(CHECKPOINT_TEXT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.to_text() == CHECKPOINT_TEXT


def test_spec_signed_checkpoint_opens_as_unverified_note() -> None:
    with pytest.raises(UnverifiedNoteError) as caught:
        open_note(CHECKPOINT_NOTE, [NoteVerifier.from_vkey(PETER_VKEY)])
    opened = caught.value.note
    assert [s.name for s in opened.unverified_signatures] == ["example.com/behind-the-sofa"]
    assert Checkpoint.parse(opened.text) == Checkpoint.parse(CHECKPOINT_TEXT)


def test_signed_checkpoint_of_a_compact_tree() -> None:
    skey, vkey = generate_key("example.com/audit")
    tree = CompactTree()
    tree.extend(leaf_hash(str(i).encode()) for i in range(1000))
    checkpoint = Checkpoint("example.com/audit", tree.size, tree.root(), ("ext one", "ext two"))
    message = sign_note(checkpoint.to_text(), [NoteSigner.from_skey(skey)])
    opened = open_note(message, [NoteVerifier.from_vkey(vkey)])
    assert Checkpoint.parse(opened.text) == checkpoint
    assert opened.text.endswith("\next one\next two\n")


def test_empty_tree_checkpoint() -> None:
    checkpoint = Checkpoint("log", 0, EMPTY_ROOT)
    assert checkpoint.to_text() == "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    assert Checkpoint.parse(checkpoint.to_text()) == checkpoint


ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"origin\n5\n{ROOT_B64}",
        "origin\n5\n",
        f"origin\n5\n{ROOT_B64}\n\n",
        f"origin\n5\n{ROOT_B64}\next\n\n",
        f"origin\n5\n{ROOT_B64}\n\next\n",
        f"\n5\n{ROOT_B64}\n",
        f"origin\n05\n{ROOT_B64}\n",
        f"origin\n00\n{ROOT_B64}\n",
        f"origin\n+5\n{ROOT_B64}\n",
        f"origin\n-1\n{ROOT_B64}\n",
        f"origin\n 5\n{ROOT_B64}\n",
        f"origin\n5 \n{ROOT_B64}\n",
        f"origin\n\n{ROOT_B64}\n",
        f"origin\n\uff15\n{ROOT_B64}\n",
        f"origin\n5_0\n{ROOT_B64}\n",
        f"origin\n{1 << 64}\n{ROOT_B64}\n",
        f"origin\n5\n{ROOT_B64[:-1]}\n",
        f"origin\n5\n{ROOT_B64[:-2]}J=\n",
        f"origin\n5\n{ROOT_B64} \n",
        f"origin\n5\n{base64.b64encode(bytes(31)).decode()}\n",
        f"origin\n5\n{base64.b64encode(bytes(33)).decode()}\n",
        f"origin\n5\n{ROOT_B64.replace('/', '_')}\n",
        f"origin\r\n5\r\n{ROOT_B64}\r\n",
        f"ori\x01gin\n5\n{ROOT_B64}\n",
    ],
)
def test_malformed_checkpoints(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(text)


def test_checkpoint_extremes() -> None:
    largest = Checkpoint.parse(f"origin with spaces+plus\n{(1 << 64) - 1}\n{ROOT_B64}\n")
    assert largest.size == (1 << 64) - 1
    assert largest.origin == "origin with spaces+plus"


@pytest.mark.parametrize(
    ("origin", "size", "root_hash", "extensions"),
    [
        ("", 1, EMPTY_ROOT, ()),
        ("a\nb", 1, EMPTY_ROOT, ()),
        ("log", -1, EMPTY_ROOT, ()),
        ("log", 1 << 64, EMPTY_ROOT, ()),
        ("log", 1, EMPTY_ROOT[:31], ()),
        ("log", 1, EMPTY_ROOT, ("",)),
        ("log", 1, EMPTY_ROOT, ("a\nb",)),
    ],
)
def test_invalid_checkpoint_fields(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root_hash, extensions)
