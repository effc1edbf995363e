"""C2SP signed notes with Ed25519 keys, and C2SP tlog-checkpoint note texts.

A signed note (https://c2sp.org/signed-note) is a text ending in a newline, a
blank line, and one or more signature lines ``— <key name> <base64(key ID ||
signature)>``. Keys use the text formats of Go's ``golang.org/x/mod/sumdb/note``:
the signer key ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>`` and the
verifier key ``<name>+<key ID>+<base64(0x01 || public key)>``.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the note text a
transparency log signs: its origin, tree size and root hash, and optional
extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.errors import AuditError

ALG_ED25519 = 0x01
"""The signature type identifier byte of Ed25519 note signatures."""

MAX_SIGNATURES = 100
"""The default limit on signature lines in a note that :func:`open_note` accepts."""

MIN_SIGNATURE_LIMIT = 16
"""The signature count every verifier must accept, per the signed-note specification."""

_SIG_PREFIX = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_KEY_HELP = "use the key strings that generate_key() produced, unmodified"


class NoteError(AuditError):
    """A signed note or a note key could not be made, read or verified."""


class KeyFormatError(NoteError):
    """A signer or verifier key string, or a key name, is malformed."""


class AmbiguousKeyError(NoteError):
    """Two different verifier keys share a key name and key ID."""


class MalformedNoteError(NoteError):
    """A signed note does not follow the signed-note format."""


class TooManySignaturesError(MalformedNoteError):
    """A signed note carries more signature lines than the verifier accepts."""


class InvalidSignatureError(NoteError):
    """A signature from a known key does not verify: the note or signature was altered."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(
            f"invalid signature for key {name}+{key_id:08x}",
            "the note or its signature was altered after signing; do not trust the note",
        )
        self.name = name
        self.key_id = key_id


class UnverifiedNoteError(NoteError):
    """A well-formed note carries no signature from any known key.

    ``note`` holds the parsed, untrusted note with its unverified signatures.
    """

    def __init__(self, note: Note) -> None:
        signers = ", ".join(f"{s.name}+{s.key_id:08x}" for s in note.unverified_signatures)
        super().__init__(
            f"note has no signature from a known key (signed by: {signers})",
            "configure the verifier key of the signer you trust for this note",
        )
        self.note = note


class CheckpointError(AuditError):
    """A checkpoint text does not follow the tlog-checkpoint format."""


def is_valid_key_name(name: str) -> bool:
    """Report whether ``name`` is a valid key name.

    A key name is non-empty UTF-8 with no Unicode space, no plus sign and no
    control character.
    """
    if not name or "+" in name:
        return False
    return not any(ch.isspace() or ch < " " or "\ud800" <= ch <= "\udfff" for ch in name)


def key_id(name: str, public_key: bytes) -> int:
    """Return the key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _b64decode_canonical(text: str) -> bytes | None:
    """Decode standard padded base64, or return None unless ``text`` is its canonical encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise KeyFormatError(
            f"invalid key name {name!r}",
            "use a non-empty name without spaces, plus signs or control characters, e.g. example.com/log",
        )


def _parse_key_body(name: str, hash_hex: str, key_b64: str, what: str) -> tuple[int, bytes]:
    """Check the name, key ID and key of a key string; return the ID and the 32 key bytes."""
    _check_name(name)
    if not _HEX8.fullmatch(hash_hex):
        raise KeyFormatError(f"{what} key ID {hash_hex!r} is not 8 hex digits", _KEY_HELP)
    raw = _b64decode_canonical(key_b64)
    if raw is None:
        raise KeyFormatError(f"{what} key data is not valid base64", _KEY_HELP)
    if len(raw) != 33:
        raise KeyFormatError(f"{what} key data is {len(raw)} bytes, not 33", _KEY_HELP)
    if raw[0] != ALG_ED25519:
        raise KeyFormatError(
            f"{what} key algorithm {raw[0]:#04x} is not supported (only Ed25519, 0x01)", _KEY_HELP
        )
    return int(hash_hex, 16), raw[1:]


@dataclass(frozen=True, repr=False)
class NoteVerifier:
    """An Ed25519 public key with its key name, able to check note signatures."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not _is_bytes(self.public_key, 32):
            raise KeyFormatError("an Ed25519 public key is 32 bytes", _KEY_HELP)
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise KeyFormatError(f"invalid Ed25519 public key: {exc}", _KEY_HELP) from exc
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``<name>+<key ID>+<base64(0x01 || public key)>``.

        Raises :class:`KeyFormatError` if the string is malformed, the algorithm
        is not Ed25519, or the key ID does not match the name and key.
        """
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise KeyFormatError("verifier key is not of the form <name>+<key ID>+<key>", _KEY_HELP)
        name, hash_hex, key_b64 = parts
        claimed, public_key = _parse_key_body(name, hash_hex, key_b64, "verifier")
        verifier = cls(name, public_key)
        if verifier.key_id != claimed:
            raise KeyFormatError(
                f"verifier key ID {hash_hex} does not match key name {name!r} and its public key", _KEY_HELP
            )
        return verifier

    @property
    def vkey(self) -> str:
        """The verifier key string of this key."""
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Report whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"NoteVerifier.from_vkey({self.vkey!r})"


class NoteSigner:
    """An Ed25519 private key with its key name, able to sign notes."""

    __slots__ = ("_key", "_verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._verifier = NoteVerifier(name, _raw_public_key(private_key.public_key()))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse a signer key ``PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>``.

        Raises :class:`KeyFormatError` if the string is malformed, the algorithm
        is not Ed25519, or the key ID does not match the name and derived public key.
        """
        parts = skey.split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise KeyFormatError("signer key is not of the form PRIVATE+KEY+<name>+<key ID>+<key>", _KEY_HELP)
        _, _, name, hash_hex, key_b64 = parts
        claimed, seed = _parse_key_body(name, hash_hex, key_b64, "signer")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.key_id != claimed:
            raise KeyFormatError(
                f"signer key ID {hash_hex} does not match key name {name!r} and its public key", _KEY_HELP
            )
        return signer

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> int:
        """The 32-bit key ID written at the start of each signature."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The verifier for this signer's public key."""
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id:08x})"


def generate_key(name: str) -> tuple[str, str]:
    """Generate a new Ed25519 key named ``name``; return ``(signer key, verifier key)``.

    The signer key is secret. Raises :class:`KeyFormatError` for an invalid name.
    """
    _check_name(name)
    private_key = Ed25519PrivateKey.generate()
    seed = private_key.private_bytes_raw()
    verifier = NoteVerifier(name, _raw_public_key(private_key.public_key()))
    skey = f"PRIVATE+KEY+{name}+{verifier.key_id:08x}+{_b64(bytes([ALG_ED25519]) + seed)}"
    return skey, verifier.vkey


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, key ID and the signature bytes."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, without its final newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64(self.key_id.to_bytes(4, 'big') + self.signature)}"


@dataclass(frozen=True)
class Note:
    """An opened note: its text and who signed it.

    ``signatures`` are the verified signatures and ``verifiers`` the known keys
    that made them, in order of appearance; ``unverified_signatures`` are those
    from keys the caller did not supply.
    """

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified_signatures: tuple[NoteSignature, ...]
    verifiers: tuple[NoteVerifier, ...]


def _check_note_chars(content: str, what: str) -> None:
    match = _CONTROL.search(content)
    if match:
        raise MalformedNoteError(
            f"{what} contains the control character {match.group()!r} at offset {match.start()}",
            "notes may contain no ASCII control characters other than newline",
        )
    try:
        content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNoteError(f"{what} is not valid UTF-8: {exc.reason}") from exc


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Sign ``text`` with each signer and return the signed note.

    ``text`` must end in a newline and contain no control characters other than
    newline. Raises :class:`NoteError` for an unsignable text, no signers, or a
    key given twice.
    """
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline", "append '\\n' to the text")
    _check_note_chars(text, "note text")
    if not signers:
        raise NoteError("a note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise TooManySignaturesError(f"{len(signers)} signers is more than the limit of {MAX_SIGNATURES}")
    seen: set[tuple[str, int]] = set()
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        ident = (signer.name, signer.key_id)
        if ident in seen:
            raise NoteError(f"key {signer.name}+{signer.key_id:08x} is given twice")
        seen.add(ident)
        lines.append(NoteSignature(signer.name, signer.key_id, signer.sign(message)).line + "\n")
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError(
            f"signature line {number} does not start with an em dash (U+2014) and a space",
            "the signature block must contain only signature lines",
        )
    name, sep, sig_b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not is_valid_key_name(name):
        raise MalformedNoteError(f"signature line {number} has no valid key name")
    raw = _b64decode_canonical(sig_b64)
    if raw is None or len(raw) < 5:
        raise MalformedNoteError(f"signature line {number} does not hold a base64 key ID and signature")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _verifier_table(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    table: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        ident = (verifier.name, verifier.key_id)
        known = table.setdefault(ident, verifier)
        if known != verifier:
            raise AmbiguousKeyError(
                f"two different verifier keys are named {verifier.name}+{verifier.key_id:08x}",
                "remove one of them from the trusted keys",
            )
    return table


def open_note(
    message: str | bytes, verifiers: Iterable[NoteVerifier], *, max_signatures: int = MAX_SIGNATURES
) -> Note:
    """Parse a signed note and verify its signatures against the known ``verifiers``.

    Signatures from unknown keys are recorded as unverified and otherwise
    ignored. Raises :class:`MalformedNoteError` for a note that does not follow
    the format (:class:`TooManySignaturesError` past ``max_signatures`` lines),
    :class:`InvalidSignatureError` if any signature from a known key fails, and
    :class:`UnverifiedNoteError` if no known key signed it.
    """
    if max_signatures < MIN_SIGNATURE_LIMIT:
        raise ValueError(f"max_signatures must be at least {MIN_SIGNATURE_LIMIT}")
    table = _verifier_table(verifiers)
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNoteError(f"note is not valid UTF-8: {exc.reason}") from exc
    _check_note_chars(message, "note")
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError(
            "note has no blank line between its text and signatures", "a signed note must carry signatures"
        )
    text, block = message[: split + 1], message[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNoteError("note does not end with a newline after its last signature line")
    lines = block[:-1].split("\n")
    if len(lines) > max_signatures:
        raise TooManySignaturesError(
            f"note has {len(lines)} signature lines, more than the limit of {max_signatures}"
        )
    parsed = [_parse_signature_line(line, n) for n, line in enumerate(lines, start=1)]

    payload = text.encode("utf-8")
    verified: list[NoteSignature] = []
    signed_by: list[NoteVerifier] = []
    unverified: list[NoteSignature] = []
    for sig in parsed:
        verifier = table.get((sig.name, sig.key_id))
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if not verifier.verify(payload, sig.signature):
            raise InvalidSignatureError(sig.name, sig.key_id)
        if verifier not in signed_by:
            signed_by.append(verifier)
            verified.append(sig)
    note = Note(text, tuple(verified), tuple(unverified), tuple(signed_by))
    if not verified:
        raise UnverifiedNoteError(note)
    return note


def _check_checkpoint_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"checkpoint {what} is empty")
    if "\n" in line or _CONTROL.search(line):
        raise CheckpointError(f"checkpoint {what} contains a newline or control character")


@dataclass(frozen=True)
class Checkpoint:
    """A transparency log checkpoint: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_checkpoint_line(self.origin, "origin")
        size: object = self.size  # checked: the dataclass takes whatever it is given
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 64:
            raise CheckpointError(f"checkpoint size {self.size!r} is not an integer in 0..2**64-1")
        if not _is_bytes(self.root_hash, 32):
            raise CheckpointError("checkpoint root hash is not 32 bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            _check_checkpoint_line(line, "extension line")

    def to_text(self) -> str:
        """Return the checkpoint note text, ending in a newline."""
        lines = [self.origin, str(self.size), _b64(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (the text of an opened note, not the signed note).

        Raises :class:`CheckpointError` unless the text has a non-empty origin
        line, a decimal size without leading zeros, a base64 SHA-256 root hash,
        only non-empty extension lines, and a final newline.
        """
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint text has fewer than three lines (origin, size, root hash)")
        origin, size_text, root_b64, *extensions = lines
        if not _DECIMAL.fullmatch(size_text) or len(size_text) > 20:
            raise CheckpointError(
                f"checkpoint size {size_text!r} is not a decimal number without leading zeros"
            )
        root_hash = _b64decode_canonical(root_b64)
        if root_hash is None:
            raise CheckpointError("checkpoint root hash is not valid base64")
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def _is_bytes(value: object, size: int) -> bool:
    """Whether a field typed bytes holds `size` bytes (a caller may pass anything at run time)."""
    return isinstance(value, bytes) and len(value) == size
