"""`gate audit`: keys, checkpoints, verification, listing, showing, exporting and replaying decision
records."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from gate.config import LOCAL_ENGINES
from gate.errors import ExitCode

LOG_OPTION = click.option(
    "--log",
    "log_dir",
    type=click.Path(path_type=Path),
    default=Path(".gate") / "audit",
    show_default=True,
    metavar="DIR",
    help="The decision log.",
)
KEY_OPTION = click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PUB",
    help="Allowed record-signing public key, PEM (repeatable), e.g. the audit.pub of `gate audit keygen`.",
)
IDENTITY_OPTION = click.option(
    "--identity",
    "identities",
    multiple=True,
    metavar="ISSUER=SAN_REGEX",
    help="Allowed sigstore signer: OIDC issuer and a regex over the certificate SAN (repeatable).",
)
TRUST_ROOT_OPTION = click.option(
    "--trust-root",
    default="production",
    show_default=True,
    metavar="ROOT",
    help="Sigstore trust root for keyless records: production, staging or a trusted_root.json.",
)
LOG_KEY_OPTION = click.option(
    "--log-key",
    "log_key",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The log's key as you pinned it: its log.pub (or the log.key it derives from).",
)
CONFIG_OPTION = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A gate.yaml whose audit.log_key names the log key (when --log-key is not given).",
)
TRUST_FOLDER_OPTION = click.option(
    "--trust-log-key-in-folder",
    "trust_folder",
    is_flag=True,
    help="UNSAFE: verify checkpoints with the log.pub found in the log folder, which whoever can "
    "write the folder can replace.",
)
NEEDS_LOG_KEY = (
    "pass --log-key FILE: the log.pub made by `gate audit keygen`, or the log.pub beside the "
    "writer's log.key in its key folder (~/.local/share/govgate/keys by default; or --config FILE "
    "with audit.log_key); "
    "--trust-log-key-in-folder trusts the folder's own log.pub instead (unsafe)"
)
KEY_FILE_LIMIT = 64 * 1024


def _die(message: str, code: int = ExitCode.USAGE, remediation: str = "") -> None:
    from gate.report.escape import terminal_safe

    click.echo(terminal_safe(f"gate: {message}" + (f". {remediation}" if remediation else "")), err=True)
    sys.exit(code)


def _warn(message: str) -> None:
    from gate.report.escape import terminal_safe

    click.echo(terminal_safe(f"gate: warning: {message}"), err=True)


def _small_file(path: Path, what: str) -> str:
    """A small text file the auditor named (a key or a checkpoint), read within a limit."""
    try:
        with path.open("rb") as f:
            data = f.read(KEY_FILE_LIMIT + 1)
    except OSError as exc:
        _die(f"{path}: cannot read the {what} ({exc.strerror})")
        return ""
    if len(data) > KEY_FILE_LIMIT:
        _die(f"{path}: over {KEY_FILE_LIMIT} bytes, not a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _die(f"{path}: not UTF-8 text, not a {what}")
        return ""


def _trust(keys: tuple[Path, ...], identities: tuple[str, ...], trust_root: str) -> Any:
    from audit import AuditError, Identity, Trust, load_public_key

    if not keys and not identities:
        # never a key found lying in the working directory: the auditor names who may sign
        _die(
            "say who may sign records",
            remediation="pass --key PUB (the audit.pub of the signing key) and/or --identity ISSUER=SAN_REGEX",
        )
    try:
        return Trust(
            keys=tuple(load_public_key(k) for k in keys),
            identities=tuple(Identity.parse(i) for i in identities),
            trust_root=trust_root,
        )
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)


def _log_key_text(log_key: Path | None, config: Path | None) -> tuple[str, str] | None:
    """(text, where) of the pinned log key: --log-key, else the config's audit.log_key."""
    if log_key is not None:
        return _small_file(log_key, "log key"), str(log_key)
    if config is None:
        return None
    from gate.config import load_config
    from gate.errors import GateError

    try:
        conf = load_config(config, explicit=True)
    except GateError as exc:
        _die(exc.one_line(), int(exc.exit_code))
        return None
    path = conf.audit.get("log_key")
    if not isinstance(path, Path):
        _die(f"{config}: has no audit.log_key", remediation=NEEDS_LOG_KEY)
        return None
    return _small_file(path, "log key"), str(path)


def _pinned_log_key(log_key: Path | None, config: Path | None, trust_folder: bool) -> Any:
    """The log's verifier as pinned by the auditor, or None when told to trust the folder's key."""
    from audit import NoteError, NoteSigner, NoteVerifier

    found = _log_key_text(log_key, config)
    if found is None:
        if not trust_folder:
            _die("no log key pinned", remediation=NEEDS_LOG_KEY)
        return None
    text, where = found
    try:
        return NoteVerifier.from_vkey(text.strip())
    except NoteError:
        pass
    try:
        return NoteSigner.from_skey(text.strip()).verifier
    except NoteError:
        _die(
            f"{where}: not a log key",
            remediation="pass the log.pub (or log.key) of the log, as `gate audit keygen` wrote it",
        )


def _witness_keys(values: tuple[str, ...]) -> Any:
    """The witness verifier keys given as VKEY strings or files holding one."""
    from audit import AuditError, unique_witnesses

    texts = []
    for value in values:
        path = Path(value)
        texts.append(
            _small_file(path, "witness key").strip() if "+" not in value and path.is_file() else value
        )
    try:
        return unique_witnesses(texts)
    except AuditError as exc:
        _die(f"--witness: {exc}", ExitCode.USAGE, exc.remediation)


@click.group("audit")
def audit_group() -> None:
    """Signed decision records: keys, the log's checkpoint, verification, queries and replay.

    \b
    An auditor's walk-through:
      gate audit checkpoint --log DIR --log-key log.pub > saved.checkpoint      keep it
      gate audit verify --log DIR --key audit.pub --log-key log.pub --checkpoint saved.checkpoint
      gate audit witness --log DIR --url https://witness.example --witness-key VKEY
      gate audit list --log DIR --env prod --outcome block
      gate audit show --log DIR 41 --key audit.pub --log-key log.pub
      gate audit prove --log DIR 41 --out 41.tlog-proof                         give it away
      gate audit verify-proof 41.tlog-proof --log-key log.pub                   offline
      gate audit verify --log DIR --key audit.pub --log-key log.pub --since saved.checkpoint
      gate audit replay --log DIR --config new-gate.yaml
    """


@audit_group.command("keygen")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), required=True, metavar="DIR", help="Folder for the keys."
)
def keygen(out: Path) -> None:
    """Create a record-signing key (audit.key, audit.pub) and a log key (log.key, log.pub) in DIR.

    \b
    audit.key and log.key are written with mode 0600; never overwritten. In CI, keep the PEM of
    audit.key in a secret and pass it as GATE_SIGNING_KEY, and log.key's line as GATE_LOG_KEY.
    Give audit.pub and log.pub to the auditor: `gate audit verify --key audit.pub --log-key log.pub`.
    """
    from audit import AuditError
    from audit import keygen as make_keys

    try:
        paths = make_keys(out)
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    except OSError as exc:
        _die(f"{out}: cannot write keys ({exc.strerror})")
        return
    for path in paths:
        click.echo(str(path))


@audit_group.command("checkpoint")
@LOG_OPTION
@LOG_KEY_OPTION
def checkpoint(log_dir: Path, log_key: Path | None) -> None:
    """Print the log's current signed checkpoint (a C2SP signed note), for an auditor to keep.

    \b
    With --log-key, the checkpoint must verify with that key (else with the folder's log.pub).
    Exit codes: 0 printed, 1 the checkpoint does not verify with the log key, 2 no log there.
    """
    from audit import CHECKPOINT, AuditLog, LogError, open_checkpoint

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    try:
        verifier = _pinned_log_key(log_key, None, True) or log.verifier()
        text = log.checkpoint_text()
        open_checkpoint(text, verifier, str(log.file(CHECKPOINT)))
        click.echo(text, nl=False)
    except LogError as exc:
        _die(str(exc), ExitCode.BLOCKED, exc.remediation)


@audit_group.command("verify")
@LOG_OPTION
@KEY_OPTION
@IDENTITY_OPTION
@LOG_KEY_OPTION
@CONFIG_OPTION
@TRUST_FOLDER_OPTION
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A checkpoint saved earlier: the log must still contain it (repeatable).",
)
@click.option(
    "--expect-size",
    type=click.IntRange(min=0),
    metavar="N",
    help="The log must hold at least N records (a smaller log is truncated or rolled back).",
)
@click.option(
    "--witness",
    "witness_keys",
    multiple=True,
    metavar="VKEY",
    help="A witness's verifier key (<name>+<key ID>+<key>, or a file holding it) whose "
    "cosignatures must verify (repeatable).",
)
@click.option(
    "--witnesses-required",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="N of the --witness keys must have cosigned the whole log (fail closed on entries after "
    "the last checkpoint they cosigned).",
)
@click.option(
    "--since",
    "since",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A checkpoint verified earlier: prove the log still contains it and check only the "
    "records appended after it.",
)
@TRUST_ROOT_OPTION
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def verify(
    log_dir: Path,
    keys: tuple[Path, ...],
    identities: tuple[str, ...],
    log_key: Path | None,
    config: Path | None,
    trust_folder: bool,
    checkpoints: tuple[Path, ...],
    expect_size: int | None,
    witness_keys: tuple[str, ...],
    witnesses_required: int,
    since: Path | None,
    trust_root: str,
    fmt: str,
) -> None:
    """Verify the whole log offline: checkpoints, Merkle tree, every record's signature and digest.

    \b
    Checkpoints are verified with the log key you pinned (--log-key, or --config's audit.log_key);
    a log.pub in the folder that differs from it is a problem. Without --checkpoint or
    --expect-size nothing bounds the log from below, and a warning says so. Checkpoints witnesses
    cosigned (`gate audit witness`) must be prefixes of the log; with --witnesses-required N, N of
    the --witness keys must have cosigned the log up to its last entry.
    With --since FILE (a checkpoint kept from an earlier verify), a consistency proof shows the
    log still contains it and only the records appended after it are checked: O(new · log n).
    On a terminal, progress is shown on stderr.
    Exit codes: 0 intact, 1 something is wrong (each problem named by index, file and what),
    2 usage error (no log, no or unreadable key, unreadable checkpoint file).
    """
    import base64

    from audit import AuditError, verify_log
    from gate.report.escape import terminal_safe

    trust = _trust(keys, identities, trust_root)
    pinned = _pinned_log_key(log_key, config, trust_folder)
    saved = [(str(p), _small_file(p, "checkpoint")) for p in checkpoints]
    witnesses = _witness_keys(witness_keys)
    start = (str(since), _checkpoint_file(since)) if since is not None else None
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        report = verify_log(
            log_dir,
            trust,
            saved,
            log_key=pinned,
            expect_size=expect_size,
            witnesses=witnesses,
            witnesses_required=witnesses_required,
            since=start,
            progress=progress,
        )
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    finally:
        if progress is not None:
            progress.close()
    root = base64.b64encode(report.root).decode() if report.root is not None else None
    for warning in report.warnings:
        _warn(warning)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "size": report.size,
                    "root": root,
                    "log_key": "pinned" if pinned is not None else "log folder (not pinned)",
                    "since": report.since,
                    "problems": [
                        {"index": p.index, "file": p.where, "problem": p.what} for p in report.problems
                    ],
                    "notes": report.notes,
                    "warnings": report.warnings,
                },
                indent=2,
            )
        )
    else:
        for p in report.problems:
            click.echo(terminal_safe(f"FAIL {p.line()}"))
        for note in report.notes:
            click.echo(terminal_safe(f"note: {note}"))
        if report.ok and report.since is not None:
            click.echo(
                terminal_safe(
                    f"OK: {log_dir}: {report.size - report.since} new records since the checkpoint of "
                    f"size {report.since}: consistency proof, Merkle tree, the new records' signatures "
                    f"and files verified; tree size {report.size}, root {root}"
                )
            )
        elif report.ok:
            click.echo(
                terminal_safe(
                    f"OK: {log_dir}: {report.size} records, checkpoints, Merkle tree, signatures and "
                    f"files verified; tree size {report.size}, root {root}"
                )
            )
        else:
            click.echo(
                terminal_safe(f"{len(report.problems)} problem(s) in {log_dir} ({report.size} records)")
            )
    sys.exit(ExitCode.OK if report.ok else ExitCode.BLOCKED)


@audit_group.command("witness")
@LOG_OPTION
@click.option("--url", required=True, metavar="URL", help="The witness's submission prefix (http or https).")
@click.option(
    "--witness-key",
    "witness_key",
    metavar="VKEY",
    help="The witness's verifier key (or a file holding it): its cosignature must verify.",
)
@LOG_KEY_OPTION
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=300),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long each request to the witness may take.",
)
def witness(log_dir: Path, url: str, witness_key: str | None, log_key: Path | None, timeout: float) -> None:
    """Have a C2SP tlog-witness cosign the log's latest checkpoint, and keep its cosignature.

    \b
    Sends the checkpoint to URL/add-checkpoint with the consistency proof from the size the
    witness cosigned last (it answers 409 with that size when it differs; the request is sent
    once more from there). The cosignature is stored, create-only, as
    DIR/witness/<size>.<root hex>.<key ID>: the checkpoint with the witness's line added.
    With --log-key the checkpoint must verify with that key (else with the folder's log.pub).
    Exit codes: 0 cosigned and stored, 1 the checkpoint does not verify with the log key, the
    witness refused it as a rollback or a fork, or its cosignature does not verify with
    --witness-key, 2 usage error or a witness answer that is not the protocol's, 3 the witness
    did not answer.
    """
    from audit import (
        AuditError,
        AuditLog,
        LogError,
        WitnessRefused,
        WitnessUnreachable,
        submit_to_witness,
    )
    from gate.report.escape import terminal_safe

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    pinned = _witness_keys((witness_key,))[0] if witness_key is not None else None
    try:
        verifier = _pinned_log_key(log_key, None, True) or log.verifier()
        done = submit_to_witness(log, verifier, url, pinned, timeout=timeout)
    except (WitnessRefused, LogError) as exc:
        _die(str(exc), ExitCode.BLOCKED, exc.remediation)
        return
    except WitnessUnreachable as exc:
        _die(str(exc), ExitCode.ENGINE, exc.remediation)
        return
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    if not done.verified:
        _warn(
            "no --witness-key: the cosignature was not verified; `gate audit verify --witness VKEY` checks it"
        )
    cp = done.checkpoint
    for sig in done.cosignatures:
        click.echo(
            terminal_safe(
                f"cosigned: {sig.name}+{sig.key_id:08x} on {cp.origin} size {cp.size}"
                f" (consistency proof from size {done.old})"
            )
        )
    for name in done.stored:
        click.echo(terminal_safe(f"stored {log_dir / name}"))
    for name in done.kept:
        click.echo(terminal_safe(f"kept {log_dir / name} (this witness's cosignature was already there)"))


class _Progress:
    """Entries checked so far, on one line of stderr (a terminal), at most five times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        click.echo(f"\rgate: verified {done:,} of {total:,} entries", err=True, nl=False)

    def close(self) -> None:
        """Erase the line, so what verify prints next starts on a clean one."""
        if self.shown:
            click.echo("\r\x1b[K", err=True, nl=False)


@audit_group.command("list")
@LOG_OPTION
@click.option("--env", "environment", metavar="ENV", help="Only this environment.")
@click.option("--outcome", type=click.Choice(("pass", "warn", "block", "error")), help="Only this outcome.")
@click.option("--check", metavar="CHECK", help="Only records with a finding of this check.")
@click.option("--repository", metavar="GLOB", help="Only this repository (glob).")
@click.option("--service", metavar="GLOB", help="Only this service (glob).")
@click.option("--since", metavar="TIME", help="From this time (RFC 3339 or YYYY-MM-DD), inclusive.")
@click.option("--until", metavar="TIME", help="Until this time, exclusive.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def list_records(
    log_dir: Path,
    environment: str | None,
    outcome: str | None,
    check: str | None,
    repository: str | None,
    service: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
) -> None:
    """List decision records (a table, or JSON lines: one object per record).

    Records are decoded, not verified: `gate audit verify` proves them. Text from the records
    is printed with control characters escaped.
    """
    from audit import AuditError, AuditLog, Filters, iter_records, parse_time
    from gate.report.escape import terminal_safe

    times = {}
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            parsed = parse_time(value)
            if parsed is None:
                _die(f"--{name} {value!r} is not a time", remediation="use RFC 3339 or YYYY-MM-DD")
            times[name] = parsed
    filters = Filters(
        environment, outcome, check, repository, service, times.get("since"), times.get("until")
    )
    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    rows = []
    try:
        for item in iter_records(log):
            if filters.match(item):
                rows.append(item.summary_json())
    except AuditError as exc:
        _die(str(exc), ExitCode.BLOCKED, "run `gate audit verify`")
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, sort_keys=True))  # ASCII: every control character escaped
        return
    click.echo(
        f"{'index':>6}  {'time':<20}  {'env':<8}  {'outcome':<7}  {'blk':>3} {'wrn':>3}  {'service':<16}  repository"
    )

    def cell(value: Any) -> str:
        return terminal_safe(str(value))

    for r in rows:
        s = r["summary"] if isinstance(r["summary"], dict) else {}
        click.echo(
            f"{r['index']:>6}  {cell(r['time'])[:19]:<20}  {cell(r['environment']):<8}  "
            f"{cell(r['outcome']):<7}  {cell(s.get('block', 0)):>3} {cell(s.get('warn', 0)):>3}  "
            f"{cell(r['service'] or '-'):<16}  {cell(r['repository'] or '-')}"
        )
    click.echo(f"{len(rows)} record(s)")


@audit_group.command("show")
@LOG_OPTION
@click.argument("record_ref", metavar="RECORD")
@KEY_OPTION
@IDENTITY_OPTION
@LOG_KEY_OPTION
@CONFIG_OPTION
@TRUST_FOLDER_OPTION
@TRUST_ROOT_OPTION
def show(
    log_dir: Path,
    record_ref: str,
    keys: tuple[Path, ...],
    identities: tuple[str, ...],
    log_key: Path | None,
    config: Path | None,
    trust_folder: bool,
    trust_root: str,
) -> None:
    """Show one record, verified: RECORD is an index, a record digest (or prefix) or a record id.

    \b
    Prints JSON: the statement, who signed it, and the record's inclusion proof in the log's
    checkpoint, signed by the pinned log key.
    Exit codes: 0 shown and verified, 1 it does not verify, 2 usage.
    """
    from audit import (
        AuditError,
        AuditLog,
        detail_of,
        not_of_log,
        prove_in_checkpoint,
        sha256_digest,
        verify_record,
    )
    from audit import find_record as find

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    trust = _trust(keys, identities, trust_root)
    pinned = _pinned_log_key(log_key, config, trust_folder)
    try:
        item = find(log, record_ref)
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    entry = item.entry
    try:
        found = log.verifier()
        if pinned is None:
            _warn(f"the log key was taken from {log.file('log.pub')} itself (--trust-log-key-in-folder)")
        elif found.vkey != pinned.vkey:
            raise AuditError(
                f"the log's log.pub ({found.name!r}) is not the pinned log key ({pinned.name!r})"
            )
        verifier = pinned or found
        data = log.record(entry.record)
        if sha256_digest(data) != entry.record:
            raise AuditError("the record file's digest is not the entry's")
        verified = verify_record(data, trust)
        foreign = not_of_log(detail_of(verified.statement), verifier.name, verifier.vkey)
        if foreign:
            raise AuditError(foreign)
        checkpoint, inclusion = prove_in_checkpoint(log, entry, verifier)
    except AuditError as exc:
        _die(f"record {entry.index} does not verify: {exc}", ExitCode.BLOCKED, "run `gate audit verify`")
        return
    import base64

    cp_lines = checkpoint.splitlines()
    click.echo(
        json.dumps(  # ASCII: every control character in the record's strings is escaped
            {
                "index": entry.index,
                "id": entry.record_id,
                "record": entry.record,
                "input": entry.input,
                "signer": verified.signer,
                "tree": {"size": int(cp_lines[1]), "root": base64.b64decode(cp_lines[2]).hex()},
                "inclusion_proof": [p.hex() for p in inclusion],
                "checkpoint": checkpoint,
                "statement": verified.statement,
            },
            indent=2,
            ensure_ascii=True,
        )
    )


RECORD_FILE_LIMIT = 256 * 1024 * 1024


@audit_group.command("export")
@LOG_OPTION
@click.argument("record_ref", metavar="RECORD")
@click.option(
    "--envelope",
    "form",
    flag_value="envelope",
    help="Write the bare DSSE envelope (payloadType, payload, signatures), as slsa-verifier reads it.",
)
@click.option(
    "--bundle",
    "form",
    flag_value="bundle",
    default=True,
    help="Write the record's sigstore bundle as stored, as cosign reads it [default].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write to FILE instead of standard output.",
)
def export(log_dir: Path, record_ref: str, form: str, out: Path | None) -> None:
    """Write one record in a standard form for verifiers that are not govgate.

    \b
    RECORD is a record bundle file (a `records/sha256-*.json` of the log), or an index, a record
    digest (or prefix) or a record id in the --log folder. Nothing is verified here: the output is
    for cosign (`--bundle`) or slsa-verifier (`--envelope`) to verify with audit.pub.
    Exit codes: 0 written, 2 usage or a record that is not a DSSE bundle.
    """
    from audit import AuditError, AuditLog, envelope_of, sha256_digest
    from audit import find_record as find

    path = Path(record_ref)
    if path.is_file():
        where = str(path)
        try:
            with path.open("rb") as f:
                data = f.read(RECORD_FILE_LIMIT + 1)
        except OSError as exc:
            _die(f"{path}: cannot read the record ({exc.strerror})")
            return
        if len(data) > RECORD_FILE_LIMIT:
            _die(f"{path}: over {RECORD_FILE_LIMIT} bytes, not a record bundle")
    else:
        log = AuditLog(log_dir)
        if not log.exists():
            _die(
                f"{record_ref}: no such record file, and {log_dir} is not a govgate audit log",
                remediation="pass a record bundle file, or --log DIR with an index, digest or id",
            )
        try:
            entry = find(log, record_ref).entry
            data = log.record(entry.record)
            if sha256_digest(data) != entry.record:
                raise AuditError("the record file's digest is not the entry's", "run `gate audit verify`")
        except AuditError as exc:
            _die(f"{log_dir}: record {record_ref}: {exc}", ExitCode.USAGE, exc.remediation)
            return
        where = f"{log_dir}: record {entry.index}"
    try:
        envelope = envelope_of(data)  # a bundle is checked to be one, whichever form is written
    except AuditError as exc:
        _die(f"{where}: {exc}", ExitCode.USAGE, "pass a record bundle the gate wrote")
        return
    # The bundle as stored, byte for byte (its digest is the record's); the envelope as JSON.
    written = data if form == "bundle" else (json.dumps(envelope, indent=2) + "\n").encode("utf-8")
    if out is None:
        sys.stdout.buffer.write(written)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(written)
    except OSError as exc:
        _die(f"{out}: cannot write ({exc.strerror})")


@audit_group.command("migrate")
@LOG_OPTION
@click.option(
    "--to",
    "target",
    type=click.Path(path_type=Path),
    metavar="NEWDIR",
    help="Write the migrated log into this new folder and leave DIR as it is [in place].",
)
@LOG_KEY_OPTION
@TRUST_FOLDER_OPTION
def migrate_cmd(log_dir: Path, target: Path | None, log_key: Path | None, trust_folder: bool) -> None:
    """Convert a log in the layout before tiles (entries/<index>.json) into C2SP tlog-tiles.

    \b
    The old log is verified first; the new one is then proved equal to it (the same size, the same
    root read back from its hash tiles, the same entries, records and inputs). The leaves are the
    same bytes, so the signed checkpoint stays valid and is kept as it is. With --log-key log.key
    (the log's signing key), entries an interrupted append left past the checkpoint are carried
    over under a new checkpoint. Exit codes: 0 migrated, 1 the old log does not verify, 2 usage.
    """
    from audit import AuditError, MigrateError, NoteError, NoteSigner
    from audit import migrate_log as migrate

    signer = None
    if log_key is not None:
        with contextlib.suppress(NoteError):
            signer = NoteSigner.from_skey(_small_file(log_key, "log key").strip())
    pinned = _pinned_log_key(log_key, None, trust_folder)
    try:
        done = migrate(log_dir, target, pinned, signer)
    except MigrateError as exc:
        code = (
            ExitCode.USAGE
            if "not a govgate audit log" in str(exc) or "already" in str(exc)
            else ExitCode.BLOCKED
        )
        _die(str(exc), code, exc.remediation)
        return
    except AuditError as exc:
        _die(
            str(exc),
            ExitCode.BLOCKED,
            exc.remediation or "run `gate audit verify` with the version that wrote it",
        )
        return
    import base64

    kept = "the checkpoint kept as it was" if done.checkpoint_kept else "a new checkpoint signed"
    click.echo(
        f"migrated {done.path}: {done.size} records, tree size {done.size}, "
        f"root {base64.b64encode(done.root).decode()} ({kept})"
    )


@audit_group.command("replay")
@LOG_OPTION
@click.option(
    "--config", type=click.Path(path_type=Path), help="The config to replay under [./gate.yaml if present]."
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra policy folder (repeatable).",
)
@click.option("--engine", type=click.Choice(LOCAL_ENGINES), default="embedded", show_default=True)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def replay_cmd(log_dir: Path, config: Path | None, policies: tuple[Path, ...], engine: str, fmt: str) -> None:
    """Re-evaluate every stored input under other policies or config; list decisions that would change.

    \b
    Impact analysis before a check is promoted from warn to block. Exit codes: 0 no decision
    changes, 1 some would change, 2 usage or config error, 3 engine failure.
    """
    from audit import AuditError, AuditLog
    from gate.errors import GateError
    from gate.policy.replay import replay

    if not AuditLog(log_dir).exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    try:
        result = replay(log_dir, config, list(policies), engine)
    except GateError as exc:
        _die(exc.one_line(), int(exc.exit_code))
        return
    except AuditError as exc:
        _die(str(exc), ExitCode.BLOCKED, "run `gate audit verify`")
        return
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        from gate.report.escape import terminal_safe

        # findings and environments come from the stored inputs, i.e. from the changes reviewed
        for c in result.changes:
            click.echo(terminal_safe(f"index {c.index} ({c.environment}): {c.before} -> {c.after}"))
            for a in c.added:
                click.echo(terminal_safe(f"  + {a}"))
            for r in c.removed:
                click.echo(terminal_safe(f"  - {r}"))
        for s in result.skipped:
            click.echo(terminal_safe(f"skipped {s}"))
        moves = ", ".join(f"{k}: {v}" for k, v in sorted(result.transitions.items())) or "no outcome changes"
        click.echo(
            terminal_safe(
                f"{result.replayed} decisions replayed, {len(result.changes)} would change ({moves})"
            )
        )
    sys.exit(ExitCode.BLOCKED if result.changes else ExitCode.OK)


PROOF_FILE_LIMIT = 256 * 1024
RECORD_FILE_LIMIT = 1024 * 1024 * 1024


def _bounded_file(path: Path, limit: int, what: str) -> bytes:
    """A regular file the user named, read within a limit: exit 2 in one line when it cannot be
    (a FIFO or device is refused, never waited on)."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        _die(f"{path}: cannot read the {what} ({exc.strerror})")
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            _die(f"{path}: not a regular file, not a {what}")
        chunks: list[bytes] = []
        total = 0
        while total <= limit and (chunk := os.read(fd, min(1024 * 1024, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        _die(f"{path}: cannot read the {what} ({exc.strerror})")
    finally:
        os.close(fd)
    if total > limit:
        _die(f"{path}: over {limit} bytes, not a {what}")
    return b"".join(chunks)


def _checkpoint_file(path: Path) -> str:
    """A checkpoint file the user named, as text (exit 2 in one line when it is not text)."""
    try:
        return _bounded_file(path, KEY_FILE_LIMIT, "checkpoint").decode("utf-8")
    except UnicodeDecodeError:
        _die(f"{path}: not UTF-8 text, not a checkpoint")
        return ""


def _entry_for_proof(log: Any, ref: str) -> Any:
    """The entry RECORD names: an index, a record bundle file, a record digest (or prefix) or id."""
    from audit import AuditError, sha256_digest
    from audit import find_record as find

    path = Path(ref)
    try:
        if not ref.isdigit() and path.is_file():
            ref = sha256_digest(_bounded_file(path, RECORD_FILE_LIMIT, "record"))
        return find(log, ref).entry
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)


@audit_group.command("prove")
@LOG_OPTION
@click.argument("record_ref", metavar="RECORD")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A checkpoint saved earlier to prove inclusion in [the log's latest].",
)
@LOG_KEY_OPTION
@click.option(
    "--out", "out", type=click.Path(path_type=Path), metavar="FILE", help="Write the proof here [stdout]."
)
def prove_cmd(
    log_dir: Path, record_ref: str, checkpoint_file: Path | None, log_key: Path | None, out: Path | None
) -> None:
    """Write a proof that a record is in the log's signed checkpoint (a C2SP tlog-proof).

    \b
    RECORD is an index, a record bundle file, a record digest (or prefix) or a record id. The
    proof holds the entry's Merkle leaf (record id, index, record and input digests), its inclusion
    proof and the checkpoint: `gate audit verify-proof` checks it offline, with only log.pub.
    With --checkpoint, the saved checkpoint must verify with the log key and be contained in the
    log's latest. With --log-key, checkpoints must verify with that key (else with the folder's
    log.pub). Exit codes: 0 written, 1 the log does not prove it, 2 usage.
    """
    from audit import (
        CHECKPOINT,
        AuditLog,
        LogError,
        ProofError,
        ProofFormatError,
        check_consistent,
        log_subtrees,
        open_checkpoint,
        open_checkpoint_text,
        prove,
    )

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    entry = _entry_for_proof(log, record_ref)
    subtrees = log_subtrees(log)
    try:
        verifier = _pinned_log_key(log_key, None, True) or log.verifier()
        text = log.checkpoint_text()
        latest = open_checkpoint(text, verifier, str(log.file(CHECKPOINT)))
        if checkpoint_file is not None:
            text = _checkpoint_file(checkpoint_file)
            try:
                check_consistent(subtrees, open_checkpoint_text(text, verifier), latest)
            except ProofFormatError as exc:
                _die(
                    f"{checkpoint_file}: {exc}",
                    remediation="pass a checkpoint kept from `gate audit checkpoint`",
                )
            except ProofError as exc:
                raise ProofError(f"{checkpoint_file}: {exc}") from None
        proof = prove(subtrees, entry.leaf_data(), entry.index, text, verifier)
    except (ProofError, LogError) as exc:
        _die(
            f"record {entry.index} cannot be proved: {exc}",
            ExitCode.BLOCKED,
            exc.remediation or "run `gate audit verify`",
        )
        return
    if out is None:
        click.echo(proof.to_text(), nl=False)
        return
    try:
        out.write_text(proof.to_text(), encoding="utf-8")
    except OSError as exc:
        _die(f"{out}: cannot write the proof ({exc.strerror})")
    click.echo(f"{out}: proof of entry {entry.index} in the checkpoint of size {_size_of(text)}")


def _size_of(checkpoint: str) -> str:
    lines = checkpoint.split("\n")
    return lines[1] if len(lines) > 1 else "?"


@audit_group.command("verify-proof")
@click.argument("proof_file", metavar="PROOF", type=click.Path(path_type=Path))
@LOG_KEY_OPTION
@CONFIG_OPTION
@click.option(
    "--record",
    "record_file",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The record bundle the proof is about: its digest must be the one the proof's leaf names.",
)
@KEY_OPTION
@IDENTITY_OPTION
@TRUST_ROOT_OPTION
def verify_proof(
    proof_file: Path,
    log_key: Path | None,
    config: Path | None,
    record_file: Path | None,
    keys: tuple[Path, ...],
    identities: tuple[str, ...],
    trust_root: str,
) -> None:
    """Verify a proof from `gate audit prove` offline, without the log folder.

    \b
    Checks the checkpoint's signature with the log key you pinned, the leaf, and its inclusion
    proof in the checkpoint's tree. With --record, the record file's digest must be the one the
    leaf names; with --key or --identity too, the record's signature, id, stored input and log.
    Exit codes: 0 verified, 1 it does not verify, 2 usage error or a file that is not a proof.
    """
    import base64

    from audit import (
        MAX_PROOF_BYTES,
        ProofError,
        ProofFormatError,
        open_proof,
    )
    from gate.report.escape import terminal_safe

    pinned = _pinned_log_key(log_key, config, False)
    if (keys or identities) and record_file is None:
        _die(
            "--key and --identity check a record's signature",
            remediation="pass the record with --record FILE",
        )
    trust = _trust(keys, identities, trust_root) if keys or identities else None
    data = _bounded_file(proof_file, MAX_PROOF_BYTES, "proof")
    try:
        proved = open_proof(data, pinned)
    except ProofFormatError as exc:
        _die(
            f"{proof_file}: not a govgate proof: {exc}",
            remediation="pass a file written by `gate audit prove`",
        )
        return
    except ProofError as exc:
        _die(f"{proof_file}: does not verify: {exc}", ExitCode.BLOCKED)
        return
    leaf, cp = proved.leaf, proved.checkpoint
    record_line = None
    if record_file is not None:
        record_line = _check_proved_record(record_file, leaf, trust, pinned)
    root = base64.b64encode(cp.root_hash).decode()
    click.echo(
        terminal_safe(
            f"OK: {proof_file}: entry {leaf.index} (record {leaf.record_id}, {leaf.record}) is in the "
            f"checkpoint of {cp.origin} of size {cp.size}, root {root}, signed by the pinned log key"
        )
    )
    if record_line is not None:
        click.echo(terminal_safe(record_line))
    if record_file is not None and trust is None:
        _warn(f"{record_file}: its signature was not checked (pass --key or --identity)")


def _check_proved_record(record_file: Path, leaf: Any, trust: Any, log_key: Any) -> str:
    """The OK line for the record file a proof is about, once it is the proof's (exit 1 if not)."""
    from audit import AuditError, detail_of, not_of_log, sha256_digest, verify_record

    record = _bounded_file(record_file, RECORD_FILE_LIMIT, "record")
    digest = sha256_digest(record)
    if digest != leaf.record:
        _die(
            f"{record_file}: its digest {digest} is not the record {leaf.record} the proof names",
            ExitCode.BLOCKED,
        )
    if trust is None:
        return f"OK: {record_file}: its digest is the one the proof names"
    try:
        verified = verify_record(record, trust)
        detail = detail_of(verified.statement)
        if detail.get("recordId") != leaf.record_id:
            raise AuditError(
                f"its record id {detail.get('recordId')!r} is not the proof's {leaf.record_id!r}"
            )
        if detail.get("storedInput") != leaf.input:
            raise AuditError("the stored input it names is not the proof's")
        # a record from before records named their log is bound to it by the signed tree alone
        named = "log" in detail or "logKey" in detail
        foreign = not_of_log(detail, log_key.name, log_key.vkey) if named else None
        if foreign:
            raise AuditError(foreign)
    except AuditError as exc:
        _die(f"{record_file}: does not verify: {exc}", ExitCode.BLOCKED)
    return f"OK: {record_file}: its digest is the one the proof names; signed by {verified.signer}"
