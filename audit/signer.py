"""Record signers: a local ECDSA P-256 key, or sigstore keyless with the CI's ambient OIDC token.

Both sign the record's canonical statement bytes as a DSSE envelope and give a sigstore bundle
v0.3. A signer that cannot sign raises SignerError; the gate fails closed on it wherever the
environment blocks.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from audit.envelope import key_bundle, pae
from audit.errors import AuditError
from audit.keys import (
    RECORD_KEY,
    RECORD_PUB,
    RecordKey,
    generate_record_key,
    load_record_key,
    record_key_pem,
    write_private,
)
from audit.record import PAYLOAD_TYPE

SIGNERS = ("local", "sigstore")
# Where keys were made on first use before they left the working tree: found there, they are
# named in the message that says where they go now.
LEGACY_KEY_DIR = Path(".gate") / "keys"
NO_TOKEN_HINT = (
    "in GitHub Actions grant `permissions: id-token: write`; in GitLab declare "
    "`id_tokens: SIGSTORE_ID_TOKEN: {aud: sigstore}`; or use `--signer local`"
)


class SignerError(AuditError):
    """The configured signer cannot sign."""


def default_key_dir(env: Mapping[str, str]) -> Path:
    """The folder where the local signing key and the log key are made on first use.

    Never under the checkout, where `git add -A` would commit them and where the change under
    review could swap them: `$RUNNER_TEMP/govgate/keys` in GitHub Actions (a folder of the job,
    removed after it), `$TMPDIR/govgate-job-$CI_JOB_ID/keys` in GitLab CI (GitLab names no
    per-job folder outside the project; in a container it goes with the job), else the user's
    data folder, `$XDG_DATA_HOME/govgate/keys` (`~/.local/share/govgate/keys`).
    """
    if env.get("GITHUB_ACTIONS") == "true" and os.path.isabs(env.get("RUNNER_TEMP") or ""):
        return Path(env["RUNNER_TEMP"]) / "govgate" / "keys"
    job = env.get("CI_JOB_ID") or ""
    if env.get("GITLAB_CI") == "true" and job.isdigit():
        tmp = env.get("TMPDIR") or ""
        return Path(tmp if os.path.isabs(tmp) else tempfile.gettempdir()) / f"govgate-job-{job}" / "keys"
    data = env.get("XDG_DATA_HOME") or ""
    if not os.path.isabs(data):  # the XDG spec: a relative value is ignored
        home = env.get("HOME") or ""
        data = str((Path(home) if os.path.isabs(home) else Path.home()) / ".local" / "share")
    return Path(data) / "govgate" / "keys"


def make_key_dir(folder: Path) -> None:
    """Create the key folder (and its parent) private to this user, or refuse one that is not:
    in a shared temporary folder another user could have made it first, to read or plant keys."""
    try:
        folder.parent.parent.mkdir(parents=True, exist_ok=True)
        for part in (folder.parent, folder):
            part.mkdir(mode=0o700, exist_ok=True)
            info = part.lstat()
            if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                raise SignerError(
                    f"{part}: not a folder of this user, so it cannot hold the gate's keys",
                    "remove it, or configure the keys (GATE_SIGNING_KEY and GATE_LOG_KEY)",
                )
            if info.st_mode & 0o022:
                raise SignerError(
                    f"{part}: others may write to it, so it cannot hold the gate's keys",
                    f"make it private (chmod 700 {part}), or configure the keys",
                )
    except OSError as exc:
        raise SignerError(f"{folder}: cannot create the key folder ({exc.strerror})") from None


class RecordSigner(Protocol):
    """Signs a record's statement bytes into a bundle."""

    @property
    def kind(self) -> str:
        """`local` or `sigstore`."""
        ...

    def sign(self, payload: bytes) -> dict[str, Any]:
        """The sigstore bundle v0.3 (as a JSON object) of a DSSE envelope over payload."""
        ...


@dataclass(frozen=True)
class LocalSigner:
    """Signs with a local ECDSA P-256 key."""

    key: RecordKey
    kind: str = "local"

    def sign(self, payload: bytes) -> dict[str, Any]:
        """A DSSE envelope over payload, signed with the key, in a bundle with the key's id."""
        signature = self.key.sign(pae(PAYLOAD_TYPE, payload))
        return key_bundle(PAYLOAD_TYPE, payload, signature, self.key.keyid, self.key.hint)


@dataclass(frozen=True)
class SigstoreSigner:
    """Sigstore keyless: a Fulcio certificate for the CI's OIDC identity, logged in Rekor."""

    token: str | None = None
    staging: bool = False
    kind: str = "sigstore"

    def sign(self, payload: bytes) -> dict[str, Any]:
        """Sign through the public-good sigstore instance (or staging) with the ambient token."""
        import json

        token = self.token or _ambient_token()
        if not token:
            raise SignerError("sigstore signing needs an OIDC token and none was found", NO_TOKEN_HINT)
        try:
            from sigstore.dsse import Statement
            from sigstore.models import ClientTrustConfig
            from sigstore.oidc import IdentityToken
            from sigstore.sign import SigningContext

            trust = ClientTrustConfig.staging() if self.staging else ClientTrustConfig.production()
            context = SigningContext.from_trust_config(trust)
            with context.signer(IdentityToken(token)) as signer:
                bundle = signer.sign_dsse(Statement(payload))
        except Exception as exc:  # network, token, Fulcio or Rekor: any failure means "not signed"
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise SignerError(f"sigstore signing failed: {text}", NO_TOKEN_HINT) from None
        doc = json.loads(bundle.to_json())
        if not isinstance(doc, dict):
            raise SignerError("sigstore returned a bundle that is not a JSON object")
        return doc


def _ambient_token() -> str | None:
    env = os.environ.get("SIGSTORE_ID_TOKEN")
    if env:
        return env
    try:
        from sigstore.oidc import detect_credential

        return detect_credential()
    except Exception:  # detection errors mean no ambient credential here
        return None


@dataclass(frozen=True)
class KeyChoice:
    """Where the local key comes from: --signing-key, GATE_SIGNING_KEY, the config, or the
    default file in `key_dir` (default_key_dir of the process's environment when None)."""

    key_file: Path | None
    env_pem: str | None
    key_dir: Path | None = None

    def load(self, notices: list[str]) -> RecordKey:
        """Load the key; the default file is created on first use (with a notice)."""
        if self.env_pem:
            return load_record_key(self.env_pem.encode(), "GATE_SIGNING_KEY")
        path = self.key_file or (self.key_dir or default_key_dir(os.environ)) / RECORD_KEY
        if self.key_file is None:
            make_key_dir(path.parent)  # a key in a folder someone else made is not this gate's
        if path.exists():
            return _read_key(path)
        if self.key_file is not None:
            raise SignerError(
                f"{path}: signing key not found", "create one with `gate audit keygen --out DIR`"
            )
        key = generate_record_key()
        try:
            write_private(path, record_key_pem(key))
            (path.parent / RECORD_PUB).write_bytes(key.public_pem())
        except FileExistsError:
            return _read_key(path)  # another process created it first
        except OSError as exc:
            raise SignerError(f"{path}: cannot create a signing key ({exc.strerror})") from None
        notices.append(
            f"created a signing key for audit records at {path} (public key {path.parent / RECORD_PUB}); "
            "keep it safe, or configure one with --signing-key or GATE_SIGNING_KEY"
        )
        return key


def _read_key(path: Path) -> RecordKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignerError(f"{path}: cannot read the signing key ({exc.strerror})") from None
    return load_record_key(data, str(path))


def make_signer(kind: str, keys: KeyChoice, env: Mapping[str, str], notices: list[str]) -> RecordSigner:
    """The signer named by kind (`local` or `sigstore`)."""
    if kind == "local":
        return LocalSigner(keys.load(notices))
    if kind == "sigstore":
        return SigstoreSigner(token=env.get("SIGSTORE_ID_TOKEN") or None)
    raise SignerError(f"unknown signer {kind!r}", f"use one of {', '.join(SIGNERS)}")
