"""Building real logs for the audit tests: keys, decisions and records made by code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.keys import RecordKey, generate_record_key, new_log_key, record_key_pem
from audit.note import NoteSigner, NoteVerifier
from audit.record import DecisionFacts
from audit.writer import AuditSettings, write_record

NOW_NS = 1_795_435_200 * 10**9  # 2026-11-23T12:00:00Z


@dataclass(frozen=True)
class Keys:
    """A record-signing key and a log key, with their public halves written to files."""

    record: RecordKey
    log_skey: str
    pub: Path
    log_pub: Path

    def verifier(self) -> NoteVerifier:
        """The log key's verifier (what an auditor pins)."""
        return NoteSigner.from_skey(self.log_skey).verifier

    def settings(self, log: Path, **extra: Any) -> AuditSettings:
        """Settings that write into log with these keys."""
        return AuditSettings(
            log=log, key_pem=record_key_pem(self.record).decode(), log_key_text=self.log_skey, **extra
        )

    def env(self, log: Path) -> dict[str, str]:
        """The same as environment variables for `gate check`."""
        return {
            "GATE_AUDIT_LOG": str(log),
            "GATE_SIGNING_KEY": record_key_pem(self.record).decode(),
            "GATE_LOG_KEY": self.log_skey,
        }


def make_keys(folder: Path) -> Keys:
    """New keys; the record key's public PEM at folder/audit.pub, the log's verifier key at
    folder/log.pub."""
    folder.mkdir(parents=True, exist_ok=True)
    key = generate_record_key()
    pub = folder / "audit.pub"
    pub.write_bytes(key.public_pem())
    skey, vkey = new_log_key()
    log_pub = folder / "log.pub"
    log_pub.write_text(vkey + "\n", encoding="utf-8")
    return Keys(key, skey, pub, log_pub)


def decision(n: int, outcome: str = "block", environment: str = "prod") -> dict[str, Any]:
    """A decision JSON as `gate check` gives it, varied by n."""
    findings = [
        {
            "check": "SBOM-VULN-HIGH",
            "title": "t",
            "severity": "high",
            "action": "block" if outcome == "block" else "warn",
            "message": f"component pkg:npm/lodash@4.17.{n} has CVE-2021-23337",
            "subject": {
                "kind": "sbom",
                "path": "sbom.cdx.json",
                "ref": f"pkg:npm/lodash@4.17.{n}",
                "line": None,
            },
            "remediation": "upgrade",
            "waiver": None,
        }
    ]
    return {
        "outcome": outcome,
        "environment": environment,
        "findings": findings if outcome in ("block", "warn") else [],
        "summary": {"block": int(outcome == "block"), "warn": int(outcome == "warn"), "waived": 0},
        "engine": {"name": "embedded", "version": "1"},
        "policy": {"digest": "sha256:" + "ab" * 32},
        "input": {"digest": "sha256:" + f"{n:064x}"},
        "audit": None,
    }


def facts(n: int, record_id: str | None = None, **kw: Any) -> DecisionFacts:
    """DecisionFacts for decision n (record id rec-n unless given)."""
    context = {
        "environment": kw.get("environment", "prod"),
        "ci": "github",
        "repository": f"https://github.com/acme/svc-{n % 3}",
        "commit": f"{n:040x}",
        "service": f"svc-{n % 3}",
        "time_ns": NOW_NS + n * 10**9,
    }
    return DecisionFacts(
        decision=decision(n, **kw),
        context=context,
        subjects=(("sbom.cdx.json", f"{n:064x}"),),
        time_ns=NOW_NS + n * 10**9,
        gate_version="0.0.0",
        record_id=record_id or f"rec-{n}",
    )


def document(n: int) -> dict[str, Any]:
    """An input document for decision n, with a secret to be masked."""
    return {
        "context": {"environment": "prod", "date": "2026-11-23"},
        "sboms": [],
        "params": {"token": f"s3cret-{n}", "n": n},
    }


def make_log(log: Path, keys: Keys, count: int) -> list[dict[str, Any]]:
    """A log of count records; returns each record's `audit` field."""
    return [write_record(keys.settings(log), facts(i), document(i)) for i in range(count)]


def bundle_path(log: Path) -> Path:
    """The entry bundle a small log (under 256 entries) serves: the widest of tile/entries/000."""
    partial = log / "tile" / "entries" / "000.p"
    return partial / str(max(int(p.name) for p in partial.iterdir()))


def bundle_leaves(log: Path) -> list[bytes]:
    """The leaves of a small log's entry bundle."""
    from audit.tiles import decode_bundle

    path = bundle_path(log)
    return decode_bundle(path.read_bytes(), int(path.name))


def write_bundle(log: Path, leaves: list[bytes], width: int | None = None) -> None:
    """Rewrite a small log's entry bundle with leaves, under the name of width entries (by default
    its own name: then a bundle with another count of leaves lies about its width)."""
    from audit.tiles import encode_bundle

    path = bundle_path(log)
    path.unlink()
    (path.parent / str(width or int(path.name))).write_bytes(encode_bundle(leaves))


def cut(log: Path, size: int) -> None:
    """Cut a small log back to its first size entries, as a writer would have left it (entry
    bundle and leaf hash tile of that width), checkpoint aside."""
    from audit.merkle import HASH_SIZE
    from audit.tiles import encode_bundle

    leaves = bundle_leaves(log)
    tile = log / "tile" / "0" / "000.p"
    hashes = (tile / bundle_path(log).name).read_bytes()
    for old in [*tile.iterdir(), *bundle_path(log).parent.iterdir()]:
        old.unlink()
    (tile / str(size)).write_bytes(hashes[: size * HASH_SIZE])
    (log / "tile" / "entries" / "000.p" / str(size)).write_bytes(encode_bundle(leaves[:size]))


LEGACY_LOG = Path(__file__).parent / "data" / "legacy-log"
"""A log of 3 records written by govgate before the log was tiled (entries/<index>.json), with its
record key's audit.pub and its log.pub beside it."""


def to_legacy(log: Path) -> None:
    """Rewrite a small tiled log in the layout before tiles: one entries/<index>.json per entry,
    holding its leaf fields, the root of the tree it ends and its inclusion proof in that tree."""
    import json
    import shutil

    from audit.merkle import CompactTree, leaf_hash

    tree = CompactTree()
    (log / "entries").mkdir()
    for i, leaf in enumerate(bundle_leaves(log)):
        proof = [p.hex() for p in reversed(tree.nodes)]
        tree.append(leaf_hash(leaf))
        doc = {**json.loads(leaf), "root": tree.root().hex(), "proof": proof}
        (log / "entries" / f"{i:012d}.json").write_text(
            json.dumps(doc, sort_keys=True, separators=(",", ":")), encoding="utf-8"
        )
    shutil.rmtree(log / "tile")
