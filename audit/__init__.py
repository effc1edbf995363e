"""govgate's audit package: a signed, tamper-evident record of every decision, in a Merkle log.

This module is the package's public API; the gate imports nothing else from it (a test holds
both this and that the audit package never imports the gate).

- settings and facts: `AuditSettings` (where records go, who signs them), `DecisionFacts` (what the
  gate tells the package about one decision);
- writing a record: `write_record`, and `stored_input_bytes` (the masked input stored beside it);
- canonical bytes: `compact_json` (the input document's encoding);
- the log: `AuditLog` (the folder store), checkpoints (`open_checkpoint`, `NoteSigner`,
  `NoteVerifier`), keys (`keygen`, `load_public_key`), proofs (`verify_inclusion`,
  `prove_in_checkpoint`; from `audit.proof`: `prove`, `open_proof`, `check_consistent` over a log's
  `log_subtrees`, any `SubtreeHashes`);
- verification: `Trust` and `Identity` (who may sign), `verify_log`, `verify_record`, and sigstore
  trust roots and verifiers (`verifier_for`, from `audit.trust`), which the gate's signature
  collectors use too;
- witnesses: `submit_to_witness` (a checkpoint to a C2SP tlog-witness, its cosignature stored),
  `WitnessVerifier` and `unique_witnesses` (witness keys), `WitnessError` and its kinds;
- queries: `iter_records`, `find_record`, `Filters`, `parse_time`, `detail_of`;
- the standard forms: `envelope_of` (a record's bare DSSE envelope), `service_uri` (its resourceUri);
- errors: `AuditError`, the base of every error the package raises, each with a remediation.

Names load on first use (PEP 562): `import audit` costs nothing until a record is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.compact import NotJSONError as NotJSONError
    from audit.compact import compact_json as compact_json
    from audit.envelope import envelope_of as envelope_of
    from audit.errors import AuditError as AuditError
    from audit.http_guard import DEFAULT_BODY_TIMEOUT_S as DEFAULT_BODY_TIMEOUT_S
    from audit.http_guard import DEFAULT_MAX_REQUEST_BYTES as DEFAULT_MAX_REQUEST_BYTES
    from audit.http_guard import RECEIVED_KEY as RECEIVED_KEY
    from audit.http_guard import RequestGuard as RequestGuard
    from audit.keys import PublicKey as PublicKey
    from audit.keys import keygen as keygen
    from audit.keys import load_public_key as load_public_key
    from audit.log import CHECKPOINT as CHECKPOINT
    from audit.log import AuditLog as AuditLog
    from audit.log import LogError as LogError
    from audit.log import not_of_log as not_of_log
    from audit.log import open_checkpoint as open_checkpoint
    from audit.log import sha256_digest as sha256_digest
    from audit.merkle import verify_inclusion as verify_inclusion
    from audit.migrate import MigrateError as MigrateError
    from audit.migrate import migrate as migrate_log
    from audit.note import Checkpoint as Checkpoint
    from audit.note import NoteError as NoteError
    from audit.note import NoteSigner as NoteSigner
    from audit.note import NoteVerifier as NoteVerifier
    from audit.pgstore import StoreError as StoreError
    from audit.proof import MAX_PROOF_BYTES as MAX_PROOF_BYTES
    from audit.proof import ProofError as ProofError
    from audit.proof import ProofFormatError as ProofFormatError
    from audit.proof import SubtreeHashes as SubtreeHashes
    from audit.proof import check_consistent as check_consistent
    from audit.proof import log_subtrees as log_subtrees
    from audit.proof import open_checkpoint_text as open_checkpoint_text
    from audit.proof import open_proof as open_proof
    from audit.proof import prove as prove
    from audit.query import Filters as Filters
    from audit.query import Listed as Listed
    from audit.query import find as find_record
    from audit.query import iter_records as iter_records
    from audit.query import parse_time as parse_time
    from audit.query import prove_in_checkpoint as prove_in_checkpoint
    from audit.record import DecisionFacts as DecisionFacts
    from audit.record import detail_of as detail_of
    from audit.record import service_uri as service_uri
    from audit.service import ServiceConfig as ServiceConfig
    from audit.service import create_log_app as create_log_app
    from audit.service import create_token as create_token
    from audit.service import load_service_config as load_service_config
    from audit.service import open_service as open_log_service
    from audit.signer import LEGACY_KEY_DIR as LEGACY_KEY_DIR
    from audit.signer import SignerError as SignerError
    from audit.signer import default_key_dir as default_key_dir
    from audit.trust import CryptographicOnly as CryptographicOnly
    from audit.trust import TrustRootError as TrustRootError
    from audit.trust import bundle_identity as bundle_identity
    from audit.trust import leaf_der as leaf_der
    from audit.trust import load_bundle as load_bundle
    from audit.trust import sigstore_message as sigstore_message
    from audit.trust import verifier_for as verifier_for
    from audit.verify import Identity as Identity
    from audit.verify import Report as Report
    from audit.verify import Trust as Trust
    from audit.verify import UsageError as UsageError
    from audit.verify import VerifiedRecord as VerifiedRecord
    from audit.verify import verify_log as verify_log
    from audit.verify import verify_record as verify_record
    from audit.witness import WitnessError as WitnessError
    from audit.witness import WitnessRefused as WitnessRefused
    from audit.witness import WitnessUnreachable as WitnessUnreachable
    from audit.witness import WitnessVerifier as WitnessVerifier
    from audit.witness import submit as submit_to_witness
    from audit.witness import unique_witnesses as unique_witnesses
    from audit.writer import DEFAULT_LOG as DEFAULT_LOG
    from audit.writer import AuditSettings as AuditSettings
    from audit.writer import key_files as key_files
    from audit.writer import stored_input_bytes as stored_input_bytes
    from audit.writer import write_record as write_record

# name: (module, name there)
_EXPORTS: dict[str, tuple[str, str]] = {
    "AuditError": ("audit.errors", "AuditError"),
    "AuditLog": ("audit.log", "AuditLog"),
    "AuditSettings": ("audit.writer", "AuditSettings"),
    "CHECKPOINT": ("audit.log", "CHECKPOINT"),
    "Checkpoint": ("audit.note", "Checkpoint"),
    "CryptographicOnly": ("audit.trust", "CryptographicOnly"),
    "DEFAULT_LOG": ("audit.writer", "DEFAULT_LOG"),
    "LEGACY_KEY_DIR": ("audit.signer", "LEGACY_KEY_DIR"),
    "DecisionFacts": ("audit.record", "DecisionFacts"),
    "Filters": ("audit.query", "Filters"),
    "Identity": ("audit.verify", "Identity"),
    "Listed": ("audit.query", "Listed"),
    "LogError": ("audit.log", "LogError"),
    "MigrateError": ("audit.migrate", "MigrateError"),
    "NoteError": ("audit.note", "NoteError"),
    "NoteSigner": ("audit.note", "NoteSigner"),
    "NoteVerifier": ("audit.note", "NoteVerifier"),
    "NotJSONError": ("audit.compact", "NotJSONError"),
    "PublicKey": ("audit.keys", "PublicKey"),
    "MAX_PROOF_BYTES": ("audit.proof", "MAX_PROOF_BYTES"),
    "ProofError": ("audit.proof", "ProofError"),
    "ProofFormatError": ("audit.proof", "ProofFormatError"),
    "SubtreeHashes": ("audit.proof", "SubtreeHashes"),
    "check_consistent": ("audit.proof", "check_consistent"),
    "log_subtrees": ("audit.proof", "log_subtrees"),
    "open_checkpoint_text": ("audit.proof", "open_checkpoint_text"),
    "open_proof": ("audit.proof", "open_proof"),
    "prove": ("audit.proof", "prove"),
    "Report": ("audit.verify", "Report"),
    "SignerError": ("audit.signer", "SignerError"),
    "Trust": ("audit.verify", "Trust"),
    "TrustRootError": ("audit.trust", "TrustRootError"),
    "UsageError": ("audit.verify", "UsageError"),
    "VerifiedRecord": ("audit.verify", "VerifiedRecord"),
    "bundle_identity": ("audit.trust", "bundle_identity"),
    "compact_json": ("audit.compact", "compact_json"),
    "detail_of": ("audit.record", "detail_of"),
    "envelope_of": ("audit.envelope", "envelope_of"),
    "find_record": ("audit.query", "find"),
    "iter_records": ("audit.query", "iter_records"),
    "default_key_dir": ("audit.signer", "default_key_dir"),
    "key_files": ("audit.writer", "key_files"),
    "keygen": ("audit.keys", "keygen"),
    "leaf_der": ("audit.trust", "leaf_der"),
    "load_bundle": ("audit.trust", "load_bundle"),
    "load_public_key": ("audit.keys", "load_public_key"),
    "migrate_log": ("audit.migrate", "migrate"),
    "not_of_log": ("audit.log", "not_of_log"),
    "open_checkpoint": ("audit.log", "open_checkpoint"),
    "parse_time": ("audit.query", "parse_time"),
    "prove_in_checkpoint": ("audit.query", "prove_in_checkpoint"),
    "service_uri": ("audit.record", "service_uri"),
    "sha256_digest": ("audit.log", "sha256_digest"),
    "sigstore_message": ("audit.trust", "sigstore_message"),
    "stored_input_bytes": ("audit.writer", "stored_input_bytes"),
    "verifier_for": ("audit.trust", "verifier_for"),
    "verify_inclusion": ("audit.merkle", "verify_inclusion"),
    "verify_log": ("audit.verify", "verify_log"),
    "verify_record": ("audit.verify", "verify_record"),
    "write_record": ("audit.writer", "write_record"),
    "WitnessError": ("audit.witness", "WitnessError"),
    "WitnessRefused": ("audit.witness", "WitnessRefused"),
    "WitnessUnreachable": ("audit.witness", "WitnessUnreachable"),
    "WitnessVerifier": ("audit.witness", "WitnessVerifier"),
    "submit_to_witness": ("audit.witness", "submit"),
    "unique_witnesses": ("audit.witness", "unique_witnesses"),
    "RequestGuard": ("audit.http_guard", "RequestGuard"),
    "DEFAULT_BODY_TIMEOUT_S": ("audit.http_guard", "DEFAULT_BODY_TIMEOUT_S"),
    "DEFAULT_MAX_REQUEST_BYTES": ("audit.http_guard", "DEFAULT_MAX_REQUEST_BYTES"),
    "RECEIVED_KEY": ("audit.http_guard", "RECEIVED_KEY"),
    "ServiceConfig": ("audit.service", "ServiceConfig"),
    "load_service_config": ("audit.service", "load_service_config"),
    "open_log_service": ("audit.service", "open_service"),
    "create_log_app": ("audit.service", "create_log_app"),
    "create_token": ("audit.service", "create_token"),
    "StoreError": ("audit.pgstore", "StoreError"),
}

__all__ = [
    "CHECKPOINT",
    "DEFAULT_BODY_TIMEOUT_S",
    "DEFAULT_LOG",
    "DEFAULT_MAX_REQUEST_BYTES",
    "LEGACY_KEY_DIR",
    "MAX_PROOF_BYTES",
    "RECEIVED_KEY",
    "AuditError",
    "AuditLog",
    "AuditSettings",
    "Checkpoint",
    "CryptographicOnly",
    "DecisionFacts",
    "Filters",
    "Identity",
    "Listed",
    "LogError",
    "MigrateError",
    "NotJSONError",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "ProofFormatError",
    "PublicKey",
    "Report",
    "RequestGuard",
    "ServiceConfig",
    "SignerError",
    "StoreError",
    "SubtreeHashes",
    "Trust",
    "TrustRootError",
    "UsageError",
    "VerifiedRecord",
    "WitnessError",
    "WitnessRefused",
    "WitnessUnreachable",
    "WitnessVerifier",
    "bundle_identity",
    "check_consistent",
    "compact_json",
    "create_log_app",
    "create_token",
    "default_key_dir",
    "detail_of",
    "envelope_of",
    "find_record",
    "iter_records",
    "key_files",
    "keygen",
    "leaf_der",
    "load_bundle",
    "load_public_key",
    "load_service_config",
    "log_subtrees",
    "migrate_log",
    "not_of_log",
    "open_checkpoint",
    "open_checkpoint_text",
    "open_log_service",
    "open_proof",
    "parse_time",
    "prove",
    "prove_in_checkpoint",
    "service_uri",
    "sha256_digest",
    "sigstore_message",
    "stored_input_bytes",
    "submit_to_witness",
    "unique_witnesses",
    "verifier_for",
    "verify_inclusion",
    "verify_log",
    "verify_record",
    "write_record",
]


def __getattr__(name: str) -> object:
    """Load an exported name from its module on first use."""
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public API."""
    return sorted(__all__)
