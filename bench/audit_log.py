"""Audit-log benchmarks: append throughput of one writer, and verification of a large log.

Appends go through the same path as `gate check` (statement, RFC 8785, ECDSA signature, masking,
the log's lock, fsync'd files, a signed checkpoint per entry). The large log is built with
`AuditLog.append_many` (one lock, one flush) from real signed records, then verified by a real
`gate audit verify` process.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.timing import gate_cmd, scenario

APPEND_GOAL_PER_S = 200.0
VERIFY_GOAL_S = 20.0
BUILD_BATCH = 2000


def _keys(folder: Path) -> tuple[Any, str, Path]:
    from audit.keys import generate_record_key, new_log_key

    key = generate_record_key()
    pub = folder / "audit.pub"
    pub.write_bytes(key.public_pem())
    skey, vkey = new_log_key()
    (folder / "log.pub").write_text(vkey + "\n", encoding="utf-8")  # what the auditor pins
    return key, skey, pub


def _facts(n: int) -> Any:
    from tests.audit.logs import facts

    return facts(n, record_id=f"bench-{n}")


def append_rate(count: int, reps: int) -> dict[str, Any]:
    """Appends per second of one writer, through audit.writer.write_record."""
    from audit.keys import record_key_pem
    from audit.writer import AuditSettings, write_record
    from tests.audit.logs import document

    rates: list[float] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            key, skey, _ = _keys(Path(tmp))
            settings = AuditSettings(
                log=Path(tmp) / "log", key_pem=record_key_pem(key).decode(), log_key_text=skey
            )
            os.sync()  # start from clean disk buffers: the previous run's files are deleted by now
            start = time.perf_counter()
            for i in range(count):
                write_record(settings, _facts(i), document(i))
            rates.append(count / (time.perf_counter() - start))
    med = statistics.median(rates)
    return {
        "name": f"audit: appends by one writer ({count} records)",
        "command": "audit.writer.write_record",
        "runs": reps,
        "rate_per_s": round(med, 1),
        "min_rate": round(min(rates), 1),
        "max_rate": round(max(rates), 1),
        "goal_rate_per_s": APPEND_GOAL_PER_S,
        "meets_goal": med >= APPEND_GOAL_PER_S,
    }


def build_log(folder: Path, count: int) -> Path:
    """A log of count signed records in folder/log; returns the public key file."""
    from audit.envelope import bundle_bytes
    from audit.log import AuditLog, sha256_digest
    from audit.note import NoteSigner
    from audit.record import DecisionFacts, build_statement, canonical
    from audit.signer import LocalSigner
    from audit.writer import stored_input_bytes
    from tests.audit.logs import document

    key, skey, pub = _keys(folder)
    signer = LocalSigner(key)
    log = AuditLog(folder / "log")
    log_key = NoteSigner.from_skey(skey)
    for start in range(0, count, BUILD_BATCH):
        items = []
        for i in range(start, min(count, start + BUILD_BATCH)):
            stored = stored_input_bytes(document(i % 50))
            facts = _facts(i)

            facts = DecisionFacts(
                facts.decision,
                facts.context,
                facts.subjects,
                facts.time_ns,
                facts.gate_version,
                sha256_digest(stored),
                facts.record_id,
                log_key.name,
                log_key.verifier.vkey,
            )
            items.append(
                (bundle_bytes(signer.sign(canonical(build_statement(facts)))), facts.record_id, stored)
            )
        log.append_many(items, log_key)
    return pub


def verify_time(count: int, reps: int) -> dict[str, Any]:
    """Wall time and peak memory of `gate audit verify` on a log of count records."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        pub = build_log(folder, count)
        built = time.perf_counter() - start
        cmd = [
            *gate_cmd(),
            "audit",
            "verify",
            "--log",
            str(folder / "log"),
            "--key",
            str(pub),
            "--log-key",
            str(folder / "log.pub"),
            "--expect-size",
            str(count),
        ]
        result = scenario(
            f"audit: gate audit verify, {count:,} records",
            cmd,
            reps,
            VERIFY_GOAL_S if count >= 100_000 else None,
            dict(os.environ),
            {0},
        )
    result["command"] = (
        f"gate audit verify --log LOG --key audit.pub --log-key log.pub ({count:,} records, "
        f"built in {built:.0f} s)"
    )
    return result


def run_audit(quick: bool, reps: int) -> list[dict[str, Any]]:
    """The audit scenarios: a small run in quick mode, the goal sizes otherwise."""
    if quick:
        return [append_rate(100, 1), verify_time(2_000, 1)]
    return [append_rate(1_000, max(1, reps)), verify_time(100_000, max(1, min(reps, 3)))]


def audit_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the audit results."""
    rows = ["| scenario | result | spread | peak MB | goal | met |", "|---|---|---|---|---|---|"]
    for r in results:
        met = "" if r.get("meets_goal") is None else ("yes" if r["meets_goal"] else "**no**")
        if "rate_per_s" in r:
            rows.append(
                f"| {r['name']} | {r['rate_per_s']:.0f} appends/s | {r['min_rate']:.0f}-{r['max_rate']:.0f} | | "
                f">= {r['goal_rate_per_s']:.0f}/s | {met} |"
            )
        else:
            goal = "" if r["goal_s"] is None else f"<= {r['goal_s']:.0f} s"
            rows.append(
                f"| {r['name']} | {r['median_s']:.2f} s | {r['min_s']:.2f}-{r['max_s']:.2f} s | {r['peak_rss_mb']} | {goal} | {met} |"
            )
    return "\n".join(rows)
