"""Witness cosignatures (C2SP tlog-cosignature) and the tlog-witness client: keys, cosignature lines,
the witness folder verify checks, and what a hostile or broken witness answers."""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import load_public_key
from audit.log import AuditLog
from audit.merkle import consistency_proof, verify_consistency
from audit.note import Checkpoint, NoteSignature, NoteVerifier
from audit.verify import Report, Trust, UsageError, verify_log
from audit.witness import (
    WITNESS,
    Answer,
    WitnessError,
    WitnessRefused,
    WitnessUnreachable,
    WitnessVerifier,
    consistency_hashes,
    cosignature_timestamp,
    cosigned_message,
    endpoint,
    file_name,
    http_post,
    open_witnessed,
    request_body,
    store,
    submit,
    unique_witnesses,
)
from tests.audit.logs import Keys, make_keys, make_log

# A cosignature litewitness (torchwood v0.6.1) made on a govgate checkpoint, as stored.
LW_LOG_VKEY = "govgate.local/audit/4aff2bb8d114+79caa3ee+AeGo08zVtu8aqsZZz9QqlX0k4GU+awgEcVeN28MVm/54"
LW_VKEY = "witness.example/lw+2aff004e+BFPJKLBQijvGLqqgGyfaK5vi6ZgxQwD1DY9STg7RRFTy"
LW_NAME = "2.8a689209c0c93c3dd7b2adb4036c31425403603a0deb1219c2397f0d09877c31.2aff004e"
LW_FILE = (
    "govgate.local/audit/4aff2bb8d114\n2\nimiSCcDJPD3Xsq20A2wxQlQDYDoN6xIZwjl/DQmHfDE=\n\n"
    "— govgate.local/audit/4aff2bb8d114 ecqj7rSPEwesi9kwJQIFH15270iiWfo7z98Y9+0cbcgbhj8xX5fg7w0Sjr"
    "FcHnhOEXXiMAd9k0hLSjIP5QQT9oL4JAU=\n"
    "— witness.example/lw Kv8ATgAAAABrEaaOnD8tYPSviWOb/nkD2t7PoEyhvQaGONwUk9/QYtEZn/u4n3upczSsUyoOC+"
    "yBQHrSeVuRXxxKNrTCa0WXjBdkCQ==\n"
)
LW_TIME = 0x6B11A68E

SIZE = 4


def cosign(text: str, key: Ed25519PrivateKey, name: str, timestamp: int) -> NoteSignature:
    """A cosignature/v1 line over a checkpoint note text, made as tlog-cosignature says."""
    witness = WitnessVerifier(name, key.public_key().public_bytes_raw())
    signature = timestamp.to_bytes(8, "big") + key.sign(cosigned_message(text, timestamp))
    return NoteSignature(name, witness.key_id, signature)


class Witness:
    """A witness key for tests: its verifier, and cosignatures it makes."""

    def __init__(self, name: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.verifier = WitnessVerifier(name, self.key.public_key().public_bytes_raw())

    def cosign(self, note_text: str, timestamp: int | None = None) -> NoteSignature:
        text = note_text[: note_text.rindex("\n\n") + 1]
        stamp = int(time.time()) if timestamp is None else timestamp
        return cosign(text, self.key, self.verifier.name, stamp)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> tuple[Path, list[str]]:
    log = tmp_path_factory.mktemp("pristine") / "log"
    fields = make_log(log, keys, SIZE)
    return log, [str(f["checkpoint"]) for f in fields]


@pytest.fixture
def log(pristine: tuple[Path, list[str]], tmp_path: Path) -> Path:
    copy = tmp_path / "log"
    shutil.copytree(pristine[0], copy)
    return copy


@pytest.fixture
def checkpoints(pristine: tuple[Path, list[str]]) -> list[str]:
    """checkpoints[i]: the signed checkpoint of the first i + 1 records."""
    return pristine[1]


def keep(log: Path, keys: Keys, note_text: str, sig: NoteSignature) -> Path:
    cp = Checkpoint.parse(note_text[: note_text.rindex("\n\n") + 1])
    assert store(AuditLog(log), note_text, cp, sig)
    return log / WITNESS / file_name(cp, sig.key_id)


def run(
    log: Path,
    keys: Keys,
    witnesses: tuple[WitnessVerifier, ...] = (),
    required: int = 0,
    since: str | None = None,
) -> Report:
    return verify_log(
        log,
        Trust(keys=(load_public_key(keys.pub),)),
        log_key=keys.verifier(),
        expect_size=SIZE,
        witnesses=witnesses,
        witnesses_required=required,
        since=("saved.checkpoint", since) if since is not None else None,
    )


def lines(report: Report) -> list[str]:
    return [p.line() for p in report.problems]


# --- keys and cosignature lines -----------------------------------------------------------------


def test_litewitness_cosignature_verifies() -> None:
    witness = WitnessVerifier.from_vkey(LW_VKEY)
    assert witness.vkey == LW_VKEY and witness.label == "witness.example/lw+2aff004e"
    got = open_witnessed(LW_NAME, LW_FILE.encode(), NoteVerifier.from_vkey(LW_LOG_VKEY))
    assert got.checkpoint.size == 2 and got.timestamp == LW_TIME
    assert witness.verify(got.text, got.cosignature)


@pytest.mark.parametrize("byte", [7, -1], ids=["timestamp", "signature"])
def test_a_changed_litewitness_cosignature_does_not_verify(byte: int) -> None:
    witness = WitnessVerifier.from_vkey(LW_VKEY)
    got = open_witnessed(LW_NAME, LW_FILE.encode(), NoteVerifier.from_vkey(LW_LOG_VKEY))
    raw = bytearray(got.cosignature.signature)
    raw[byte] ^= 1
    forged = NoteSignature(got.cosignature.name, got.cosignature.key_id, bytes(raw))
    assert not witness.verify(got.text, forged)
    # nor over another checkpoint text
    assert not witness.verify(got.text.replace("\n2\n", "\n3\n"), got.cosignature)


def test_the_spec_example_cosignature_line_states_its_time() -> None:
    """tlog-cosignature's example: the line's timestamp is the `time` of its signed message."""
    line = "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    raw = base64.b64decode(line)
    sig = NoteSignature("witness.example.com/w1", int.from_bytes(raw[:4], "big"), raw[4:])
    assert cosignature_timestamp(sig) == 1679315147
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosigned_message(text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_a_timestamp_past_2_63_is_not_a_cosignature() -> None:
    assert cosignature_timestamp(NoteSignature("w", 1, b"\x80" + bytes(71))) is None
    assert cosignature_timestamp(NoteSignature("w", 1, bytes(64))) is None


@pytest.mark.parametrize(
    ("vkey", "says"),
    [
        (LW_LOG_VKEY, "a log's note key (0x01), not a cosignature/v1 key (0x04)"),
        (LW_VKEY.replace("+2aff004e+", "+2aff004f+"), "does not match its name"),
        (LW_VKEY.replace("witness.example/lw", "witness.example/other"), "does not match its name"),
        ("witness.example/lw+2aff004e", "not of the form"),
        ("witness.example/lw+2aff00+BFPJ", "8 hex digits"),
        ("witness.example/lw+2aff004e+!!!", "not base64 of 33 bytes"),
        ("bad name+2aff004e+" + LW_VKEY.rsplit("+", 1)[1], "invalid witness name"),
    ],
)
def test_malformed_witness_keys_are_refused(vkey: str, says: str) -> None:
    with pytest.raises(WitnessError, match=says.replace("(", r"\(").replace(")", r"\)")):
        WitnessVerifier.from_vkey(vkey)


def test_witness_keys_are_counted_once() -> None:
    assert unique_witnesses([LW_VKEY, LW_VKEY + "\n"]) == (WitnessVerifier.from_vkey(LW_VKEY),)


# --- the witness folder, as verify checks it ------------------------------------------------------


def test_cosignatures_are_counted_per_witness(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    a, b = Witness("witness.test/a"), Witness("witness.test/b")
    keep(log, keys, checkpoints[3], a.cosign(checkpoints[3]))
    keep(log, keys, checkpoints[1], b.cosign(checkpoints[1]))
    report = run(log, keys, (a.verifier, b.verifier), required=1)
    assert report.ok, lines(report)
    assert f"witness {b.verifier.label}: cosigned up to size 2, 2 entries after it" in report.notes
    # both vouch for the first 2 entries only: two required fails closed on the last 2
    report = run(log, keys, (a.verifier, b.verifier), required=2)
    assert lines(report) == [
        "--witnesses-required: the last 2 of 4 entries are not cosigned by 2 witness(es) (witnessed up to"
        " size 2): run `gate audit witness` for each witness"
    ]
    keep(log, keys, checkpoints[3], b.cosign(checkpoints[3]))
    assert run(log, keys, (a.verifier, b.verifier), required=2).ok


def test_verify_since_checks_the_witnesses_as_the_full_verify_does(
    log: Path, keys: Keys, checkpoints: list[str], tmp_path: Path
) -> None:
    a, b = Witness("witness.test/a"), Witness("witness.test/b")
    since = checkpoints[0]
    keep(log, keys, checkpoints[1], a.cosign(checkpoints[1]))
    report = run(log, keys, (a.verifier, b.verifier), required=1, since=since)
    assert lines(report) == [
        "--witnesses-required: the last 2 of 4 entries are not cosigned by 1 witness(es) (witnessed up to"
        " size 2): run `gate audit witness` for each witness"
    ]
    assert f"witness {b.verifier.label}: no cosignature" in report.notes
    keep(log, keys, checkpoints[3], a.cosign(checkpoints[3]))
    assert run(log, keys, (a.verifier,), required=1, since=since).ok
    # a cosigned checkpoint of another history, at a size before and after the saved one
    other = make_log(tmp_path / "other", keys, SIZE)
    for i in (0, 2):
        text = str(other[i]["checkpoint"])
        path = keep(log, keys, text, b.cosign(text))
        assert lines(run(log, keys, (a.verifier, b.verifier), required=1, since=since)) == [
            f"{WITNESS}/{path.name}: fork: the log's first {i + 1} entries hash to another root than the"
            " witnessed one"
        ]
        path.unlink()
    longer = tmp_path / "longer"
    shutil.copytree(log, longer)
    text = str(make_log(longer, keys, 1)[-1]["checkpoint"])
    path = keep(log, keys, text, b.cosign(text))
    assert lines(run(log, keys, (a.verifier, b.verifier), required=2, since=since)) == [
        "--witnesses-required: 1 of the given witnesses cosigned a checkpoint of this log, 2 required",
        f"{WITNESS}/{path.name}: log truncated or rolled back: witnessed at {SIZE + 1} entries, the log holds"
        f" {SIZE}",
    ]


def test_more_witnesses_required_than_keys_given_is_a_usage_error(log: Path, keys: Keys) -> None:
    with pytest.raises(UsageError, match="2 witnesses required, 1 witness key"):
        run(log, keys, (Witness("witness.test/a").verifier,), required=2)


def test_cosignature_of_a_given_witness_must_verify(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    a = Witness("witness.test/a")
    sig = a.cosign(checkpoints[3])
    forged = NoteSignature(sig.name, sig.key_id, sig.signature[:-1] + bytes([sig.signature[-1] ^ 1]))
    path = keep(log, keys, checkpoints[3], forged)
    assert run(log, keys).ok  # without its key it cannot be checked: a note says so
    assert any("not checked, no --witness key given: witness.test/a+" in n for n in run(log, keys).notes)
    assert lines(run(log, keys, (a.verifier,))) == [
        f"{WITNESS}/{path.name}: the cosignature of witness {a.verifier.label} does not verify"
    ]


def test_cosignature_timestamped_in_the_future(log: Path, keys: Keys, checkpoints: list[str]) -> None:
    a = Witness("witness.test/a")
    stamp = int(time.time()) + 86400
    path = keep(log, keys, checkpoints[3], a.cosign(checkpoints[3], stamp))
    assert lines(run(log, keys, (a.verifier,))) == [
        f"{WITNESS}/{path.name}: cosigned by {a.verifier.label} at {stamp}, in the future"
    ]


def test_a_witnessed_checkpoint_of_another_history_is_a_fork(log: Path, keys: Keys, tmp_path: Path) -> None:
    other = make_log(tmp_path / "other", keys, SIZE)  # same key and origin, other records
    a = Witness("witness.test/a")
    text = str(other[1]["checkpoint"])
    path = keep(log, keys, text, a.cosign(text))
    assert lines(run(log, keys, (a.verifier,))) == [
        f"{WITNESS}/{path.name}: fork: the log's first 2 entries hash to another root than the witnessed one"
    ]


def test_a_witnessed_checkpoint_past_the_log_is_a_rollback(log: Path, keys: Keys, tmp_path: Path) -> None:
    longer = tmp_path / "longer"
    shutil.copytree(log, longer)
    fields = make_log(longer, keys, SIZE + 1)
    a = Witness("witness.test/a")
    text = str(fields[-1]["checkpoint"])
    path = keep(log, keys, text, a.cosign(text))
    assert lines(run(log, keys, (a.verifier,), required=1)) == [
        "--witnesses-required: 0 of the given witnesses cosigned a checkpoint of this log, 1 required",
        f"{WITNESS}/{path.name}: log truncated or rolled back: witnessed at {2 * SIZE + 1} entries, the log holds"
        f" {SIZE}",
    ]


def test_a_checkpoint_not_signed_by_the_log_key_is_refused(log: Path, keys: Keys, tmp_path: Path) -> None:
    stranger = make_keys(tmp_path / "stranger")
    fields = make_log(tmp_path / "foreign", stranger, 2)
    text = str(fields[-1]["checkpoint"])
    a = Witness("witness.test/a")
    cp = Checkpoint.parse(text[: text.rindex("\n\n") + 1])
    (log / WITNESS).mkdir()
    name = file_name(cp, a.verifier.key_id)
    (log / WITNESS / name).write_text(text + a.cosign(text).line + "\n")
    (problem,) = lines(run(log, keys))
    assert problem.startswith(f"{WITNESS}/{name}: ") and "does not verify with the log key" in problem


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("rename", "not the one its name says"),
        ("key-id", "by key ID"),
        ("two-lines", "holds 2 cosignature line(s)"),
        ("no-line", "holds 0 cosignature line(s)"),
        ("stray", "unexpected file in the log"),
        ("link", "a symbolic link, not a regular file: refused"),
        ("huge", "over the 65536-byte limit"),
        ("folder-link", "a symbolic link, not a folder: refused"),
    ],
)
def test_damaged_witness_files_are_named(
    damage: str, says: str, log: Path, keys: Keys, checkpoints: list[str], tmp_path: Path
) -> None:
    a = Witness("witness.test/a")
    path = keep(log, keys, checkpoints[3], a.cosign(checkpoints[3]))
    text = path.read_text()
    if damage == "rename":
        smaller = Checkpoint.parse(checkpoints[2][: checkpoints[2].rindex("\n\n") + 1])
        path.rename(path.with_name(file_name(smaller, a.verifier.key_id)))
    elif damage == "key-id":
        path.rename(path.with_name(path.name[:-8] + "00000000"))
    elif damage == "two-lines":
        path.write_text(text + Witness("witness.test/b").cosign(checkpoints[3]).line + "\n")
    elif damage == "no-line":
        path.write_text(checkpoints[3])
    elif damage == "stray":
        (log / WITNESS / "notes.txt").write_text("x")
    elif damage == "link":
        path.unlink()
        (tmp_path / "elsewhere").write_text(text)
        os.symlink(tmp_path / "elsewhere", path)
    elif damage == "huge":
        path.write_text(text + "x" * 70000)
    elif damage == "folder-link":
        shutil.move(log / WITNESS, tmp_path / "w")
        os.symlink(tmp_path / "w", log / WITNESS)
    report = run(log, keys, (a.verifier,))
    assert not report.ok
    assert any(says in line for line in lines(report)), lines(report)


# --- the add-checkpoint client ----------------------------------------------------------------------


def test_consistency_hashes_prove_the_old_tree_a_prefix(log: Path, checkpoints: list[str]) -> None:
    audit_log = AuditLog(log)
    leaves = [audit_log.entry(i).leaf_hash() for i in range(SIZE)]
    roots = [Checkpoint.parse(c[: c.rindex("\n\n") + 1]).root_hash for c in checkpoints]
    for old in range(1, SIZE):
        proof = consistency_hashes(audit_log, old, SIZE)
        assert proof == consistency_proof(old, leaves)
        assert verify_consistency(old, SIZE, roots[old - 1], roots[-1], proof)


def test_request_body_is_the_protocols() -> None:
    body = request_body(2, [b"\x00" * 32], "o\n3\nAAAA\n\n— o x\n")
    assert body == b"old 2\n" + base64.b64encode(b"\x00" * 32) + b"\n\no\n3\nAAAA\n\n\xe2\x80\x94 o x\n"
    assert request_body(0, [], "n\n") == b"old 0\n\nn\n"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://w.example/",
        "file:///etc/passwd",
        "https://user:pw@w.example/",
        "https://w.example/?q=1",
        "w.example",
        "http://w.example:x/",
    ],
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(WitnessError):
        endpoint(url)


def test_endpoint_is_under_the_submission_prefix() -> None:
    assert endpoint("https://w.example/prefix/") == "https://w.example/prefix/add-checkpoint"
    assert endpoint("http://127.0.0.1:7380") == "http://127.0.0.1:7380/add-checkpoint"


class Scripted:
    """A witness answering from a script, recording the requests it got."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[bytes] = []

    def __call__(self, url: str, body: bytes, timeout: float) -> Answer:
        self.requests.append(body)
        return self.answers.pop(0)


def size_answer(size: int | str) -> Answer:
    return Answer(409, "text/x.tlog.size", f"{size}\n".encode())


def test_a_409_is_answered_once_with_a_proof_from_the_witness_size(log: Path, keys: Keys) -> None:
    a = Witness("witness.test/a")
    note = AuditLog(log).checkpoint_text()
    witness = Scripted(size_answer(2), Answer(200, "text/plain", (a.cosign(note).line + "\n").encode()))
    done = submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=witness)
    assert done.old == 2 and done.verified and len(done.stored) == 1
    assert witness.requests[0].startswith(b"old 0\n\n")
    head = witness.requests[1].split(b"\n\n", 1)[0].split(b"\n")
    assert head[0] == b"old 2" and len(head) == 2  # one proof hash from 2 to 4
    # the next submission starts where the stored cosignature is
    again = Scripted(Answer(200, "text/plain", (a.cosign(note).line + "\n").encode()))
    done = submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=again)
    assert again.requests[0].startswith(b"old 4\n\n") and done.kept and not done.stored


@pytest.mark.parametrize(
    ("answers", "error", "says"),
    [
        ((size_answer(9),), WitnessRefused, "already cosigned 9 entries"),
        ((size_answer(2), size_answer(3)), WitnessError, "changed its size"),
        ((size_answer(2), size_answer(2)), WitnessError, "with the size it was sent (2)"),
        ((size_answer(0),), WitnessError, "with the size it was sent (0)"),
        ((size_answer(2), size_answer(4), size_answer(4)), WitnessError, "changed its size"),
        ((size_answer(4), size_answer(4)), WitnessRefused, "another root for size 4"),
        ((Answer(409, "text/plain", b"2\n"),), WitnessError, "without its tree size"),
        ((Answer(409, "text/x.tlog.size", b"02\n"),), WitnessError, "without its tree size"),
        ((Answer(422, "text/plain", b"bad consistency proof\n"),), WitnessRefused, "(422)"),
        ((Answer(403, "text/plain", b"unknown log\n"),), WitnessError, "does not know log"),
        ((Answer(404, "text/plain", b""),), WitnessError, "does not know log"),
        ((Answer(400, "text/plain", b""),), WitnessError, "malformed (400)"),
        ((Answer(503, "text/plain", b""),), WitnessUnreachable, "HTTP 503"),
        ((Answer(302, "text/plain", b""),), WitnessError, "answered HTTP 302"),
        ((Answer(200, "text/plain", b"hello\n"),), WitnessError, "without cosignature lines"),
        ((Answer(200, "text/plain", b""),), WitnessError, "without cosignature lines"),
        ((Answer(200, "text/plain", b"\xe2\x80\x94 w AAAA\n"),), WitnessError, "do not parse"),
        ((Answer(200, "text/plain", b"\xff\n"),), WitnessError, "without cosignature lines"),
    ],
)
def test_what_a_witness_answers_is_checked(
    log: Path, keys: Keys, answers: tuple[Answer, ...], error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as caught:
        submit(AuditLog(log), keys.verifier(), "http://w.test", post=Scripted(*answers))
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert not (log / WITNESS).exists()


def test_a_fork_at_the_same_size_is_refused(log: Path, keys: Keys) -> None:
    a = Witness("witness.test/a")
    note = AuditLog(log).checkpoint_text()
    keep(log, keys, note, a.cosign(note))
    with pytest.raises(WitnessRefused, match="another root for size 4"):
        submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=Scripted(size_answer(4)))


def test_a_cosignature_by_another_key_or_forged_is_refused(log: Path, keys: Keys) -> None:
    a, b = Witness("witness.test/a"), Witness("witness.test/b")
    note = AuditLog(log).checkpoint_text()
    other = Scripted(Answer(200, "text/plain", (b.cosign(note).line + "\n").encode()))
    with pytest.raises(WitnessRefused, match="no cosignature by the key"):
        submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=other)
    sig = a.cosign(note)
    bad = NoteSignature(sig.name, sig.key_id, sig.signature[:-1] + bytes([sig.signature[-1] ^ 1]))
    forged = Scripted(Answer(200, "text/plain", (bad.line + "\n").encode()))
    with pytest.raises(WitnessRefused, match="does not verify"):
        submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=forged)
    future = Scripted(
        Answer(200, "text/plain", (a.cosign(note, int(time.time()) + 86400).line + "\n").encode())
    )
    with pytest.raises(WitnessError, match="in the future"):
        submit(AuditLog(log), keys.verifier(), "http://w.test", a.verifier, post=future)
    assert not (log / WITNESS).exists()


# --- the HTTP exchange, against a real local server ---------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "huge"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.mode == "redirect":
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:1/add-checkpoint")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        if self.mode == "huge":
            self.wfile.write(b"\xe2\x80\x94 w " + b"A" * 200_000 + b"\n")
        elif self.mode == "drip":
            for _ in range(100):
                self.wfile.write(b"\xe2\x80\x94")
                self.wfile.flush()
                time.sleep(0.05)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/add-checkpoint", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_an_oversized_answer_is_refused(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.mode = "huge"
    with pytest.raises(WitnessError, match="over 65536 bytes"):
        http_post(url, b"old 0\n\n", 5)


def test_a_dripping_answer_times_out(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.mode = "drip"
    started = time.monotonic()
    with pytest.raises(WitnessUnreachable, match="did not answer"):
        http_post(url, b"old 0\n\n", 1)
    assert time.monotonic() - started < 4


def test_a_redirect_is_not_followed(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.mode = "redirect"
    assert http_post(url, b"old 0\n\n", 5).status == 307


def test_a_closed_port_is_unreachable() -> None:
    from tests.opa_server_fixture import free_port

    with pytest.raises(WitnessUnreachable, match="did not answer"):
        http_post(f"http://127.0.0.1:{free_port()}/add-checkpoint", b"old 0\n\n", 2)
