"""Witness cosignatures on the log's checkpoints (C2SP tlog-witness and tlog-cosignature).

A witness keeps the latest checkpoint it saw of each log it knows and cosigns a new one only when
a consistency proof shows the old one is its prefix: checkpoints it cosigned cannot be forked or
rolled back without that showing. Its cosignature is a note signature line of signature type 0x04
(https://c2sp.org/tlog-cosignature): ``— <witness name> base64(key ID || timestamp || Ed25519
signature)``, where the signature covers ``cosignature/v1``, ``time <timestamp>`` and the
checkpoint text; the witness's verifier key is ``<name>+<key ID>+base64(0x04 || public key)``.

`submit` sends the log's latest checkpoint to a witness's ``add-checkpoint`` endpoint
(https://c2sp.org/tlog-witness) with the consistency proof from the size the witness last
cosigned, and `store` keeps each cosignature, create-only, as ``witness/<size>.<root hex>.<key ID
hex>``: the checkpoint as the log signed it with that one cosignature line added, so every file
holds data the log key and the witness key verify. `read_witnessed` and `Witnessed.check` are
what `verify_log` runs over those files.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import ssl
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.errors import AuditError
from audit.log import TMP_PREFIX, AuditLog, LogError, MissingFile, kind_of, open_checkpoint, read_log_file
from audit.merkle import consistency_proof
from audit.note import Checkpoint, NoteError, NoteSignature, NoteVerifier, is_valid_key_name, open_note

ALG_COSIGNATURE_V1 = 0x04
"""The signature type identifier byte of timestamped Ed25519 cosignatures (cosignature/v1)."""

WITNESS = "witness"
"""The folder of the log that holds the cosigned checkpoints."""

MAX_FILE_BYTES = 64 * 1024
"""The largest witness file a reader accepts (a checkpoint with two signature lines is ~300 bytes)."""

MAX_RESPONSE_BYTES = 64 * 1024
"""The largest answer read from a witness."""

MAX_PROOF_LINES = 63
"""The most consistency proof lines a request may carry (tlog-witness)."""

DEFAULT_TIMEOUT = 10.0
"""Seconds a whole add-checkpoint exchange may take."""

FUTURE_SKEW_S = 600
"""How far in the future a cosignature's timestamp may be (the witness's clock may run ahead)."""

_COSIGNATURE_BYTES = 8 + 64
_MAX_TIMESTAMP = (1 << 63) - 1
_FILE_RE = re.compile(r"(0|[1-9][0-9]{0,19})\.([0-9a-f]{64})\.([0-9a-f]{8})")
_SIZE_RE = re.compile(r"(0|[1-9][0-9]{0,19})\n")
_KEY_HELP = "use the witness's verifier key as its operator publishes it: <name>+<key ID>+<base64 key>"
_TIMESTAMP_HELP = "the witness's clock is wrong: ask its operator"


class WitnessError(AuditError):
    """A witness could not be asked, answered nonsense, or a witness key or file is malformed."""


class WitnessUnreachable(WitnessError):
    """The witness did not answer: refused connection, timeout, TLS failure or a server error."""


class WitnessRefused(WitnessError):
    """The witness refused the checkpoint as inconsistent with what it cosigned (rollback or fork),
    or its answer does not verify with its pinned key."""


@dataclass(frozen=True, repr=False)
class WitnessVerifier:
    """A witness's Ed25519 cosigning key with its name, able to check cosignature/v1 lines."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise WitnessError(f"invalid witness name {self.name!r}", _KEY_HELP)
        key_bytes: object = self.public_key  # checked: the dataclass takes whatever it is given
        if not isinstance(key_bytes, bytes) or len(key_bytes) != 32:
            raise WitnessError("a witness's Ed25519 public key is 32 bytes", _KEY_HELP)
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise WitnessError(f"invalid Ed25519 public key: {exc}", _KEY_HELP) from None
        digest = hashlib.sha256(
            self.name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + self.public_key
        ).digest()
        object.__setattr__(self, "key_id", int.from_bytes(digest[:4], "big"))
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessVerifier:
        """Parse a witness verifier key ``<name>+<key ID hex>+<base64(0x04 || public key)>``.

        Raises :class:`WitnessError` if it is malformed, not of type 0x04, or its key ID does not
        match its name and key.
        """
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise WitnessError("witness key is not of the form <name>+<key ID>+<key>", _KEY_HELP)
        name, hash_hex, key_b64 = parts
        if not re.fullmatch(r"[0-9a-fA-F]{8}", hash_hex):
            raise WitnessError(f"witness key ID {hash_hex!r} is not 8 hex digits", _KEY_HELP)
        raw = _b64decode(key_b64)
        if raw is None or len(raw) != 33:
            raise WitnessError("witness key data is not base64 of 33 bytes", _KEY_HELP)
        if raw[0] != ALG_COSIGNATURE_V1:
            kind = "a log's note key (0x01)" if raw[0] == 0x01 else f"of type {raw[0]:#04x}"
            raise WitnessError(f"witness key {name!r} is {kind}, not a cosignature/v1 key (0x04)", _KEY_HELP)
        verifier = cls(name, raw[1:])
        if verifier.key_id != int(hash_hex, 16):
            raise WitnessError(
                f"witness key ID {hash_hex} does not match its name {name!r} and public key", _KEY_HELP
            )
        return verifier

    @property
    def vkey(self) -> str:
        """The verifier key string of this witness."""
        raw = bytes([ALG_COSIGNATURE_V1]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(raw).decode('ascii')}"

    @property
    def label(self) -> str:
        """``name+keyid``: how messages name this witness."""
        return f"{self.name}+{self.key_id:08x}"

    def matches(self, sig: NoteSignature) -> bool:
        """Whether a signature line names this key (its name and key ID)."""
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, text: str, sig: NoteSignature) -> bool:
        """Whether ``sig`` is this witness's cosignature/v1 of the checkpoint note text ``text``."""
        timestamp = cosignature_timestamp(sig)
        if timestamp is None or not self.matches(sig):
            return False
        try:
            self._key.verify(sig.signature[8:], cosigned_message(text, timestamp))
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"WitnessVerifier.from_vkey({self.vkey!r})"


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The message a cosignature/v1 signs: the header, the time line and the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosignature_timestamp(sig: NoteSignature) -> int | None:
    """The POSIX time a cosignature/v1 line states, or None if it is not one (wrong length, or a
    time past 2**63 - 1)."""
    if len(sig.signature) != _COSIGNATURE_BYTES:
        return None
    timestamp = int.from_bytes(sig.signature[:8], "big")
    return timestamp if timestamp <= _MAX_TIMESTAMP else None


def _b64decode(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def unique_witnesses(vkeys: Iterable[str]) -> tuple[WitnessVerifier, ...]:
    """Parse witness keys, each once; WitnessError for a malformed key or two keys sharing a name
    and key ID."""
    found: dict[tuple[str, int], WitnessVerifier] = {}
    for vkey in vkeys:
        w = WitnessVerifier.from_vkey(vkey)
        known = found.setdefault((w.name, w.key_id), w)
        if known != w:
            raise WitnessError(f"two different witness keys are named {w.label}", "drop one of them")
    return tuple(found.values())


# --- the files of the witness folder -----------------------------------------------------------


def file_name(cp: Checkpoint, key_id: int) -> str:
    """The name of the file holding a cosignature by key ``key_id`` on checkpoint ``cp``."""
    return f"{cp.size}.{cp.root_hash.hex()}.{key_id:08x}"


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """One witness file, read and checked: its checkpoint (verified with the log key) and its one
    cosignature line (verified only against a witness key the caller gives)."""

    name: str
    checkpoint: Checkpoint
    text: str
    cosignature: NoteSignature
    timestamp: int

    @property
    def where(self) -> str:
        """The file, relative to the log folder."""
        return f"{WITNESS}/{self.name}"


def open_witnessed(name: str, data: bytes, log_key: NoteVerifier) -> WitnessedCheckpoint:
    """Check one witness file: a checkpoint of this log signed by its key, plus exactly one
    cosignature/v1 line, with the size, root and key ID its name says; WitnessError if not."""
    m = _FILE_RE.fullmatch(name)
    if m is None:
        raise WitnessError("unexpected file in the log")
    text = data.decode("utf-8", "replace")
    try:
        cp = open_checkpoint(text, log_key, name)
        note = open_note(text, [log_key])
    except (LogError, NoteError) as exc:
        raise WitnessError(str(exc).split(": ", 1)[-1]) from None
    if cp.size != int(m.group(1)) or cp.root_hash.hex() != m.group(2):
        raise WitnessError(
            f"holds the checkpoint of size {cp.size}, root {cp.root_hash.hex()[:16]}…, not the one its name says"
        )
    others = note.unverified_signatures
    if len(others) != 1 or len(note.signatures) != 1:
        raise WitnessError(
            f"holds {len(others)} cosignature line(s) and {len(note.signatures)} log signature(s), "
            "not one of each"
        )
    sig = others[0]
    if f"{sig.key_id:08x}" != m.group(3):
        raise WitnessError(f"its cosignature is by key ID {sig.key_id:08x}, not the one its name says")
    timestamp = cosignature_timestamp(sig)
    if timestamp is None:
        raise WitnessError(f"the line of {sig.name} is not a cosignature/v1 (timestamped Ed25519)")
    return WitnessedCheckpoint(name, cp, note.text, sig, timestamp)


@dataclass
class Witnessed:
    """The witness folder of a log, read: the files that check, and the problems of the others."""

    files: list[WitnessedCheckpoint] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sizes(self) -> set[int]:
        """The tree sizes cosigned checkpoints have (the roots verify needs at those sizes)."""
        return {f.checkpoint.size for f in self.files}

    def check(
        self,
        roots: Mapping[int, bytes],
        size: int,
        witnesses: Sequence[WitnessVerifier],
        required: int,
        now: float | None = None,
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """(problems, notes) of the cosigned checkpoints against the log verify recomputed.

        ``roots`` maps tree sizes to the roots the log's entries hash to (at least at every size in
        ``sizes`` up to ``size``, the log's size). A cosigned checkpoint must be a prefix of the log
        (a larger one means the log was rolled back; another root, a fork), and a cosignature line
        by one of ``witnesses`` must verify. Each witness vouches for the log up to the largest
        checkpoint it cosigned; ``required`` witnesses must vouch for all ``size`` entries, else the
        unwitnessed tail is a problem (fail closed).
        """
        problems = list(self.problems)
        notes: list[str] = []
        clock = time.time() if now is None else now
        reach: dict[WitnessVerifier, int] = {}
        unknown: set[tuple[str, int]] = set()
        for f in self.files:
            cp = f.checkpoint
            if cp.size > size:
                problems.append(
                    (
                        f.where,
                        f"log truncated or rolled back: witnessed at {cp.size} entries, the log holds {size}",
                    )
                )
                continue
            if cp.size in roots and roots[cp.size] != cp.root_hash:
                problems.append(
                    (
                        f.where,
                        f"fork: the log's first {cp.size} entries hash to another root than the witnessed one",
                    )
                )
                continue
            witness = next((w for w in witnesses if w.matches(f.cosignature)), None)
            if witness is None:
                unknown.add((f.cosignature.name, f.cosignature.key_id))
                continue
            if not witness.verify(f.text, f.cosignature):
                problems.append((f.where, f"the cosignature of witness {witness.label} does not verify"))
                continue
            if f.timestamp > clock + FUTURE_SKEW_S:
                problems.append((f.where, f"cosigned by {witness.label} at {f.timestamp}, in the future"))
                continue
            if cp.size in roots:
                reach[witness] = max(reach.get(witness, 0), cp.size)
        if unknown:
            names = ", ".join(sorted(f"{n}+{k:08x}" for n, k in unknown))
            notes.append(
                f"{WITNESS}: cosignatures of {len(unknown)} witness(es) not checked, no --witness key given: {names}"
            )
        for w in witnesses:
            at = reach.get(w)
            notes.append(
                f"witness {w.label}: "
                + (
                    f"cosigned up to size {at}, {size - at} entries after it"
                    if at is not None
                    else "no cosignature"
                )
            )
        if required:
            sizes = sorted(reach.values(), reverse=True)
            covered = sizes[required - 1] if len(sizes) >= required else None
            if covered is None:
                problems.append(
                    (
                        "--witnesses-required",
                        f"{len(sizes)} of the given witnesses cosigned a checkpoint of this log, {required} required",
                    )
                )
            elif covered < size:
                problems.append(
                    (
                        "--witnesses-required",
                        f"the last {size - covered} of {size} entries are not cosigned by {required} witness(es)"
                        f" (witnessed up to size {covered}): run `gate audit witness` for each witness",
                    )
                )
        return problems, notes


def read_witnessed(log: AuditLog, log_key: NoteVerifier | None) -> Witnessed:
    """Read and check every file of the log's witness folder (nothing when there is none); links,
    FIFOs and folders are refused, never followed."""
    out = Witnessed()
    folder = log.file(WITNESS)
    try:
        mode = os.lstat(folder).st_mode
    except FileNotFoundError:
        return out
    except OSError as exc:
        out.problems.append((WITNESS, f"cannot read ({exc.strerror})"))
        return out
    if not stat.S_ISDIR(mode):
        out.problems.append((WITNESS, f"{kind_of(mode)}, not a folder: refused"))
        return out
    try:
        with os.scandir(folder) as it:
            names = sorted(item.name for item in it)
    except OSError as exc:
        out.problems.append((WITNESS, f"cannot read ({exc.strerror})"))
        return out
    for name in names:
        where = f"{WITNESS}/{name}"
        if _FILE_RE.fullmatch(name) is None:
            out.problems.append((where, "unexpected file in the log"))
            continue
        if log_key is None:
            out.problems.append((where, "cannot be checked: the log key is unreadable"))
            continue
        try:
            data = read_log_file(log.path, (WITNESS, name), MAX_FILE_BYTES)
            out.files.append(open_witnessed(name, data, log_key))
        except (LogError, WitnessError) as exc:
            out.problems.append((where, str(exc).split(f"{name}: ", 1)[-1]))
    return out


def store(log: AuditLog, note_text: str, cp: Checkpoint, sig: NoteSignature) -> bool:
    """Keep a cosignature on the checkpoint note ``note_text`` (as the log signed it) in the witness
    folder, create-only; False when that witness's cosignature on it is already there."""
    name = file_name(cp, sig.key_id)
    target = log.file(WITNESS, name)
    data = (note_text + sig.line + "\n").encode()
    with log.locked():
        if os.path.lexists(target):
            return False
        folder = log.file(WITNESS)
        try:
            folder.mkdir(exist_ok=True)
            mode = os.lstat(folder).st_mode
            if not stat.S_ISDIR(mode):  # never write through a link to somewhere else
                raise WitnessError(f"{folder}: {kind_of(mode)}, not a folder: refused")
            # in the log's top folder, where verify and the next append know temporary files
            tmp = log.file(TMP_PREFIX + secrets.token_hex(8))
            with tmp.open("xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise WitnessError(f"{target}: cannot write ({exc.strerror})") from None
    return True


def last_cosigned(log: AuditLog, log_key: NoteVerifier, witness: WitnessVerifier, up_to: int) -> int:
    """The largest size up to ``up_to`` at which the folder holds a valid cosignature of ``witness``
    (0 when none): where a submission to it starts its consistency proof."""
    best = 0
    for f in read_witnessed(log, log_key).files:
        if best < f.checkpoint.size <= up_to and witness.verify(f.text, f.cosignature):
            best = f.checkpoint.size
    return best


# --- the add-checkpoint protocol ---------------------------------------------------------------


def consistency_hashes(log: AuditLog, old: int, new: int) -> list[bytes]:
    """The RFC 6962 consistency proof from the log's first ``old`` entries to its first ``new``."""
    return consistency_proof(old, [log.entry(i).leaf_hash() for i in range(new)])


def request_body(old: int, proof: Sequence[bytes], note_text: str) -> bytes:
    """An add-checkpoint request: the old size line, the proof lines, a blank line, the note."""
    lines = [f"old {old}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return ("\n".join(lines) + "\n\n" + note_text).encode()


@dataclass(frozen=True)
class Answer:
    """A witness's HTTP answer: status, content type and body (bounded)."""

    status: int
    content_type: str
    body: bytes


Post = Callable[[str, bytes, float], Answer]


def endpoint(url: str) -> str:
    """The add-checkpoint URL under a witness's submission prefix; WitnessError unless it is an
    http(s) URL with a host and no credentials, query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WitnessError(
            f"witness URL {url!r} is not an http(s) URL", "e.g. --url https://witness.example/"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise WitnessError(
            f"witness URL {url!r} carries credentials, a query or a fragment",
            "pass the witness's submission prefix only",
        )
    try:
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise WitnessError(f"witness URL {url!r} has a malformed port") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/add-checkpoint"


def http_post(url: str, body: bytes, timeout: float) -> Answer:
    """POST body to url and read the answer within ``timeout`` seconds overall and
    MAX_RESPONSE_BYTES; no redirect or proxy is followed. WitnessUnreachable when it fails."""
    import http.client
    import socket
    import threading

    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    expired = threading.Event()
    opened: list[socket.socket] = []

    def expire() -> None:
        # a per-read timeout alone lets a server that drips bytes hold the exchange for ever
        expired.set()
        for sock in opened:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        conn.connect()
        # kept here: the connection lets go of its socket once the answer is one that ends with it
        opened.append(conn.sock)
        if expired.is_set():
            raise TimeoutError("timed out")
        conn.request(
            "POST",
            parts.path or "/",
            body=body,
            headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "govgate"},
        )
        resp = conn.getresponse()
        data = b""
        while len(data) <= MAX_RESPONSE_BYTES:
            chunk = resp.read1(min(16384, MAX_RESPONSE_BYTES + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        if expired.is_set():
            raise TimeoutError("timed out")
        if len(data) > MAX_RESPONSE_BYTES:
            raise WitnessError(
                f"witness {url} answered HTTP {resp.status} with over {MAX_RESPONSE_BYTES} bytes: refused",
                "ask the witness's operator; this is not a tlog-witness answer",
            )
        return Answer(resp.status, resp.getheader("Content-Type", "") or "", data)
    except (OSError, http.client.HTTPException) as exc:
        reason = (
            f"no full answer within {timeout:g} s" if expired.is_set() else str(exc) or type(exc).__name__
        )
        raise WitnessUnreachable(
            f"witness {url} did not answer: {reason}", "check the URL, the network and that the witness runs"
        ) from None
    finally:
        timer.cancel()
        conn.close()


@dataclass(frozen=True)
class Submitted:
    """What a submission got: the checkpoint, the size the proof started from, the cosignature
    lines (verified with the pinned witness key, when one was given) and which were new files."""

    checkpoint: Checkpoint
    old: int
    cosignatures: tuple[NoteSignature, ...]
    stored: tuple[str, ...]
    kept: tuple[str, ...]
    verified: bool


def submit(
    log: AuditLog,
    log_key: NoteVerifier,
    url: str,
    witness: WitnessVerifier | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    post: Post = http_post,
    now: float | None = None,
) -> Submitted:
    """Have the witness at ``url`` cosign the log's latest checkpoint, and store its cosignatures.

    The proof starts at the size the folder holds a cosignature of ``witness`` at (else 0); when
    the witness answers 409 with its own size, the request is sent once more with a proof from
    there. Raises :class:`WitnessRefused` for a rollback (the witness cosigned a larger tree), a
    fork (422, or 409 at the same size) or a cosignature that does not verify with ``witness``;
    :class:`WitnessUnreachable` when it does not answer; :class:`WitnessError` for anything else.
    """
    target = endpoint(url)
    note_text = log.checkpoint_text()
    cp = open_checkpoint(note_text, log_key, str(log.file("checkpoint")))
    old = last_cosigned(log, log_key, witness, cp.size) if witness is not None else 0
    answer = _ask(post, target, old, log, cp, note_text, timeout)
    if answer.status == 409:
        old = _conflict(answer, target, old, cp)
        answer = _ask(post, target, old, log, cp, note_text, timeout)
        if answer.status == 409:
            _conflict(answer, target, old, cp)
            raise WitnessError(
                f"witness {target} changed its size for {cp.origin} while asked", "run the command again"
            )
    text, sigs = _cosignatures(answer, target, note_text, log_key)
    verified = False
    if witness is not None:
        mine = tuple(s for s in sigs if witness.matches(s))
        if not mine:
            raise WitnessRefused(
                f"witness {target} answered no cosignature by the key {witness.label}",
                "check --witness-key: it is the witness's published verifier key",
            )
        for s in mine:
            if not witness.verify(text, s):
                raise WitnessRefused(f"the cosignature from {target} does not verify with {witness.label}")
        sigs = mine
        verified = True
    clock = time.time() if now is None else now
    for s in sigs:
        stamp = cosignature_timestamp(s)
        if stamp is not None and stamp > clock + FUTURE_SKEW_S:
            raise WitnessError(
                f"witness {target} timestamped its cosignature {stamp}, in the future", _TIMESTAMP_HELP
            )
    stored: list[str] = []
    kept: list[str] = []
    for s in sigs:
        (stored if store(log, note_text, cp, s) else kept).append(f"{WITNESS}/{file_name(cp, s.key_id)}")
    return Submitted(cp, old, sigs, tuple(stored), tuple(kept), verified)


def _ask(
    post: Post, target: str, old: int, log: AuditLog, cp: Checkpoint, note_text: str, timeout: float
) -> Answer:
    try:
        proof = consistency_hashes(log, old, cp.size) if 0 < old < cp.size else []
    except (LogError, MissingFile) as exc:
        raise WitnessError(
            f"cannot prove the log's consistency from size {old}: {exc}", exc.remediation
        ) from None
    except AuditError as exc:
        raise WitnessError(f"cannot prove the log's consistency from size {old}: {exc}") from None
    if len(proof) > MAX_PROOF_LINES:
        raise WitnessError(f"a consistency proof of {len(proof)} hashes is over the protocol's limit")
    answer = post(target, request_body(old, proof, note_text), timeout)
    if answer.status in (200, 409):
        return answer
    detail = _printable(answer.body)
    if answer.status == 422:
        raise WitnessRefused(
            f"witness {target} refused the consistency proof from size {old} to {cp.size} (422): the log's"
            f" history differs from what it cosigned (a fork){detail}",
            "do not trust this log; run `gate audit verify` and compare with the witness's checkpoint",
        )
    if answer.status in (403, 404):
        raise WitnessError(
            f"witness {target} does not know log {cp.origin} or its key (HTTP {answer.status}){detail}",
            "ask the witness's operator to add the log's origin and its log.pub key",
        )
    if answer.status == 400:
        raise WitnessError(f"witness {target} refused the request as malformed (400){detail}")
    if answer.status >= 500:
        raise WitnessUnreachable(f"witness {target} failed: HTTP {answer.status}{detail}", "try again later")
    raise WitnessError(f"witness {target} answered HTTP {answer.status}{detail}, not a tlog-witness answer")


def _printable(body: bytes) -> str:
    """A short, single-line excerpt of an error body (the caller escapes it for the terminal)."""
    text = " ".join(body[:200].decode("utf-8", "replace").split())
    return f": {text}" if text else ""


def _conflict(answer: Answer, target: str, old: int, cp: Checkpoint) -> int:
    """The size a 409 answer says the witness cosigned last; WitnessRefused when that shows a
    rollback (larger than the checkpoint) or a fork (the checkpoint's own size, another root)."""
    known = _conflict_size(answer, target)
    if known > cp.size:
        raise WitnessRefused(
            f"witness {target} already cosigned {known} entries of {cp.origin}, more than its checkpoint's"
            f" {cp.size}: the log was rolled back (or this folder is an old copy of it)",
            "do not trust this log copy; compare it with the witness's checkpoint",
        )
    if known == old == cp.size:
        raise WitnessRefused(
            f"witness {target} holds another root for size {cp.size} of {cp.origin}: a fork",
            "do not trust this log: its history differs from what the witness cosigned",
        )
    if known == old:
        raise WitnessError(
            f"witness {target} answered 409 with the size it was sent ({old}): not a tlog-witness answer"
        )
    return known


def _conflict_size(answer: Answer, target: str) -> int:
    kind = answer.content_type.split(";", 1)[0].strip().lower()
    m = _SIZE_RE.fullmatch(answer.body.decode("ascii", "replace"))
    if kind != "text/x.tlog.size" or m is None:
        raise WitnessError(
            f"witness {target} answered 409 without its tree size (text/x.tlog.size): not a tlog-witness answer"
        )
    return int(m.group(1))


def _cosignatures(
    answer: Answer, target: str, note_text: str, log_key: NoteVerifier
) -> tuple[str, tuple[NoteSignature, ...]]:
    """The signature lines of a 200 answer, read as the spec suggests: appended to the checkpoint
    and opened as one note (so the log's own signature still has to verify)."""
    bad = WitnessError(f"witness {target} answered 200 without cosignature lines: not a tlog-witness answer")
    try:
        body = answer.body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad from None
    lines = body.split("\n")
    if not body.endswith("\n") or not all(line.startswith("\u2014 ") for line in lines[:-1]):
        raise bad
    try:
        note = open_note(note_text + body, [log_key])
    except NoteError as exc:
        raise WitnessError(f"witness {target} answered cosignature lines that do not parse: {exc}") from None
    sigs = tuple(s for s in note.unverified_signatures if cosignature_timestamp(s) is not None)
    if not sigs:
        raise bad
    return note.text, sigs
