"""`gate audit`: keys, checkpoints, verification, listing, showing and replaying decision records."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

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
    help="Allowed record-signing public key, PEM (repeatable) [.gate/keys/audit.pub if present].",
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


def _die(message: str, code: int = ExitCode.USAGE, remediation: str = "") -> None:
    click.echo(f"gate: {message}" + (f". {remediation}" if remediation else ""), err=True)
    sys.exit(code)


def _trust(keys: tuple[Path, ...], identities: tuple[str, ...], trust_root: str) -> Any:
    from audit.keys import RECORD_PUB, load_public_key
    from audit.signer import DEFAULT_KEY_DIR
    from audit.verify import Identity, Trust

    if not keys and not identities and (DEFAULT_KEY_DIR / RECORD_PUB).exists():
        keys = (DEFAULT_KEY_DIR / RECORD_PUB,)
    if not keys and not identities:
        raise click.UsageError("say who may sign records: --key PUB and/or --identity ISSUER=SAN_REGEX")
    return Trust(
        keys=tuple(load_public_key(k) for k in keys),
        identities=tuple(Identity.parse(i) for i in identities),
        trust_root=trust_root,
    )


@click.group("audit")
def audit_group() -> None:
    """Signed decision records: keys, the log's checkpoint, verification, queries and replay.

    \b
    An auditor's walk-through:
      gate audit checkpoint --log DIR > saved.checkpoint      keep it
      gate audit verify --log DIR --key audit.pub --checkpoint saved.checkpoint
      gate audit list --log DIR --env prod --outcome block
      gate audit show --log DIR 41
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
    """
    from audit.errors import AuditError
    from audit.keys import keygen as make_keys

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
def checkpoint(log_dir: Path) -> None:
    """Print the log's current signed checkpoint (a C2SP signed note), for an auditor to keep.

    Exit codes: 0 printed, 1 the checkpoint does not verify with the log key, 2 no log there.
    """
    from audit.log import AuditLog, LogError

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    try:
        log.checkpoint(log.verifier())
        click.echo(log.checkpoint_text(), nl=False)
    except LogError as exc:
        _die(str(exc), ExitCode.BLOCKED, exc.remediation)


@audit_group.command("verify")
@LOG_OPTION
@KEY_OPTION
@IDENTITY_OPTION
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A checkpoint saved earlier: the log must still contain it (repeatable).",
)
@TRUST_ROOT_OPTION
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def verify(
    log_dir: Path,
    keys: tuple[Path, ...],
    identities: tuple[str, ...],
    checkpoints: tuple[Path, ...],
    trust_root: str,
    fmt: str,
) -> None:
    """Verify the whole log offline: checkpoints, Merkle tree, every record's signature and digest.

    \b
    Exit codes: 0 intact, 1 something is wrong (each problem named by index, file and what),
    2 usage error (no log, unreadable key or checkpoint file).
    """
    from audit.errors import AuditError
    from audit.verify import UsageError, verify_log

    try:
        trust = _trust(keys, identities, trust_root)
        saved = [(str(p), p.read_text(encoding="utf-8")) for p in checkpoints]
        report = verify_log(log_dir, trust, saved)
    except UsageError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    except (OSError, UnicodeDecodeError) as exc:
        _die(f"cannot read a --checkpoint file: {exc}")
        return
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "size": report.size,
                    "problems": [
                        {"index": p.index, "file": p.where, "problem": p.what} for p in report.problems
                    ],
                    "notes": report.notes,
                },
                indent=2,
            )
        )
    else:
        for p in report.problems:
            click.echo(f"FAIL {p.line()}")
        for note in report.notes:
            click.echo(f"note: {note}")
        if report.ok:
            click.echo(
                f"OK: {log_dir}: {report.size} records, checkpoints, Merkle tree, signatures and files verified"
            )
        else:
            click.echo(f"{len(report.problems)} problem(s) in {log_dir} ({report.size} records)")
    sys.exit(ExitCode.OK if report.ok else ExitCode.BLOCKED)


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

    Records are decoded, not verified: `gate audit verify` proves them.
    """
    from audit.errors import AuditError
    from audit.log import AuditLog
    from audit.query import Filters, iter_records, parse_time

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
            click.echo(json.dumps(row, sort_keys=True))
        return
    click.echo(
        f"{'index':>6}  {'time':<20}  {'env':<8}  {'outcome':<7}  {'blk':>3} {'wrn':>3}  {'service':<16}  repository"
    )
    for r in rows:
        s = r["summary"] or {}
        click.echo(
            f"{r['index']:>6}  {str(r['time'])[:19]:<20}  {r['environment']!s:<8}  {r['outcome']!s:<7}  "
            f"{s.get('block', 0):>3} {s.get('warn', 0):>3}  {r['service'] or '-'!s:<16}  {r['repository'] or '-'}"
        )
    click.echo(f"{len(rows)} record(s)")


@audit_group.command("show")
@LOG_OPTION
@click.argument("record_ref", metavar="RECORD")
@KEY_OPTION
@IDENTITY_OPTION
@TRUST_ROOT_OPTION
def show(
    log_dir: Path, record_ref: str, keys: tuple[Path, ...], identities: tuple[str, ...], trust_root: str
) -> None:
    """Show one record, verified: RECORD is an index, a record digest (or prefix) or a record id.

    \b
    Prints JSON: the statement, who signed it, the record's inclusion proof in the tree it ended,
    and the proof that this tree is contained in the log's signed checkpoint.
    Exit codes: 0 shown and verified, 1 it does not verify, 2 usage.
    """
    from audit.errors import AuditError
    from audit.log import AuditLog, sha256_digest
    from audit.merkle import verify_inclusion
    from audit.query import find, prove_in_checkpoint
    from audit.verify import verify_record

    log = AuditLog(log_dir)
    if not log.exists():
        _die(
            f"{log_dir}: not a govgate audit log",
            remediation="pass the folder given to `gate check --audit-log`",
        )
    trust = _trust(keys, identities, trust_root)
    try:
        item = find(log, record_ref)
    except AuditError as exc:
        _die(str(exc), ExitCode.USAGE, exc.remediation)
        return
    entry = item.entry
    try:
        data = log.record(entry.record)
        if sha256_digest(data) != entry.record:
            raise AuditError("the record file's digest is not the entry's")
        verified = verify_record(data, trust)
        if not verify_inclusion(
            entry.leaf_hash(), entry.index, entry.index + 1, list(entry.proof), entry.root
        ):
            raise AuditError("its inclusion proof does not verify")
        checkpoint, consistency = prove_in_checkpoint(log, entry)
    except AuditError as exc:
        _die(f"record {entry.index} does not verify: {exc}", ExitCode.BLOCKED, "run `gate audit verify`")
        return
    click.echo(
        json.dumps(
            {
                "index": entry.index,
                "id": entry.record_id,
                "record": entry.record,
                "input": entry.input,
                "signer": verified.signer,
                "tree": {"size": entry.index + 1, "root": entry.root.hex()},
                "inclusion_proof": [p.hex() for p in entry.proof],
                "checkpoint": checkpoint,
                "consistency_proof": [p.hex() for p in consistency],
                "statement": verified.statement,
            },
            indent=2,
        )
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
@click.option("--engine", type=click.Choice(("embedded", "opa")), default="embedded", show_default=True)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def replay_cmd(log_dir: Path, config: Path | None, policies: tuple[Path, ...], engine: str, fmt: str) -> None:
    """Re-evaluate every stored input under other policies or config; list decisions that would change.

    \b
    Impact analysis before a check is promoted from warn to block. Exit codes: 0 no decision
    changes, 1 some would change, 2 usage or config error, 3 engine failure.
    """
    from audit.errors import AuditError
    from audit.log import AuditLog
    from gate.errors import GateError
    from gate.replay import replay

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
        for c in result.changes:
            click.echo(f"index {c.index} ({c.environment}): {c.before} -> {c.after}")
            for a in c.added:
                click.echo(f"  + {a}")
            for r in c.removed:
                click.echo(f"  - {r}")
        for s in result.skipped:
            click.echo(f"skipped {s}")
        moves = ", ".join(f"{k}: {v}" for k, v in sorted(result.transitions.items())) or "no outcome changes"
        click.echo(f"{result.replayed} decisions replayed, {len(result.changes)} would change ({moves})")
    sys.exit(ExitCode.BLOCKED if result.changes else ExitCode.OK)
