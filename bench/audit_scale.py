"""Verification that scales: `gate audit verify --since` on large logs, and the full verify's rate.

.venv/bin/python bench/audit_scale.py                  # 1,000,000 records: bench/results/audit_scale.json,
                                                       # and the BENCHMARKS.md section
.venv/bin/python bench/audit_scale.py --quick          # 10,000 and 40,000 records, nothing written there
.venv/bin/python bench/audit_scale.py --sizes 50000 200000 --work DIR   # logs built in DIR

For each size N, a log of N signed records is built with the log's own append (`AuditLog.append_many`,
real ECDSA-signed records, a local log key), a checkpoint is saved, NEW more records are
appended, and real `gate audit verify` processes are timed: `--since` the saved checkpoint (a
consistency proof, then the NEW records only), and (up to --full-max records) the full verify of
every record, whose records/s is the full rate. Two sizes show how `--since` grows: with
O(new · log n) work its time stays nearly flat while N grows fourfold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import gate_cmd, replace_section, scenario  # noqa: E402

RESULTS = ROOT / "bench/results/audit_scale.json"
REPORT = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench/audit_scale.py: begin -->"
END = "<!-- bench/audit_scale.py: end -->"
NEW = 1_000
BATCH = 5_000
SINCE_GOAL_S = 10.0


class LogBuilder:
    """Appends signed records to a log folder fast: no stored input, one lock and flush a batch."""

    def __init__(self, folder: Path) -> None:
        from audit.keys import generate_record_key, new_log_key
        from audit.log import AuditLog
        from audit.note import NoteSigner
        from audit.signer import LocalSigner

        key = generate_record_key()
        self.pub = folder / "audit.pub"
        self.pub.write_bytes(key.public_pem())
        skey, vkey = new_log_key()
        self.log_pub = folder / "log.pub"
        self.log_pub.write_text(vkey + "\n", encoding="utf-8")
        self.signer = LocalSigner(key)
        self.log_key = NoteSigner.from_skey(skey)
        self.log = AuditLog(folder / "log")
        self.size = 0

    def append(self, count: int) -> None:
        """count more records, in batches."""
        from audit.envelope import bundle_bytes
        from audit.record import DecisionFacts, build_statement, canonical
        from tests.audit.logs import facts

        end = self.size + count
        while self.size < end:
            items: list[tuple[bytes, str, bytes | None]] = []
            for i in range(self.size, min(end, self.size + BATCH)):
                f = facts(i, record_id=f"bench-{i}")
                f = DecisionFacts(
                    f.decision,
                    f.context,
                    f.subjects,
                    f.time_ns,
                    f.gate_version,
                    None,
                    f.record_id,
                    self.log_key.name,
                    self.log_key.verifier.vkey,
                )
                items.append(
                    (bundle_bytes(self.signer.sign(canonical(build_statement(f)))), f.record_id, None)
                )
            self.log.append_many(items, self.log_key)
            self.size += len(items)


def verify_cmd(builder: LogBuilder, *extra: str | Path) -> list[str]:
    """`gate audit verify` of the builder's log with its keys."""
    return [
        *gate_cmd(),
        "audit",
        "verify",
        "--log",
        str(builder.log.path),
        "--key",
        str(builder.pub),
        "--log-key",
        str(builder.log_pub),
        *map(str, extra),
    ]


def run_size(size: int, new: int, reps: int, full_max: int, work: Path) -> dict[str, Any]:
    """Build a log of size records, then time verify --since (new records) and the full verify."""
    folder = work / f"log-{size}"
    folder.mkdir()
    builder = LogBuilder(folder)
    start = time.perf_counter()
    builder.append(size)
    built = time.perf_counter() - start
    saved = folder / "saved.checkpoint"
    saved.write_text(builder.log.checkpoint_text(), encoding="utf-8")
    builder.append(new)
    env = dict(os.environ)
    since = scenario(
        f"verify --since: {new:,} new records on {size:,}",
        verify_cmd(builder, "--since", saved),
        reps,
        SINCE_GOAL_S,
        env,
        {0},
    )
    row: dict[str, Any] = {
        "size": size,
        "new": new,
        "build_s": round(built, 1),
        "build_rate_per_s": round(size / built),
        "since": since,
        "full": None,
    }
    if size + new <= full_max:
        full = scenario(
            f"full verify: {size + new:,} records",
            verify_cmd(builder, "--expect-size", str(size + new)),
            1,
            None,
            env,
            {0},
        )
        full["records_per_s"] = round((size + new) / full["median_s"])
        row["full"] = full
    print(json.dumps(row), file=sys.stderr)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the rows."""
    lines = [
        "| log size | built in s | `verify --since` (new records) s | goal | met | full verify s | full rate records/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, f = r["since"], r["full"]
        met = "yes" if s["meets_goal"] else "**no**"
        full_s = "" if f is None else f"{f['median_s']:.1f}"
        rate = "" if f is None else f"{f['records_per_s']:,}"
        lines.append(
            f"| {r['size']:,} | {r['build_s']} | {s['median_s']:.2f} ({r['new']:,}; {s['min_s']:.2f}-{s['max_s']:.2f}) "
            f"| < {SINCE_GOAL_S:g} s | {met} | {full_s} | {rate} |"
        )
    return "\n".join(lines)


def write_section(report: dict[str, Any], path: Path) -> None:
    """Put the section between the markers into BENCHMARKS.md (appended the first time)."""
    section = "\n".join(
        [
            BEGIN,
            "## Verification that scales: `gate audit verify --since`, and the full verify's rate",
            "",
            f"Written by `.venv/bin/python bench/audit_scale.py {' '.join(report['argv'])}`".rstrip()
            + f" on {report['date']} (raw figures: `bench/results/audit_scale.json`), on the machine above "
            f"({report['cpus']} CPUs). Load average at the start {report['load_average']['start']}, at the "
            f"end {report['load_average']['end']}. Each log is built with `AuditLog.append_many` "
            "(ECDSA-signed records, no stored inputs); a checkpoint is saved, new records are appended, and "
            "real `gate audit verify` processes are timed: `--since` the saved checkpoint (median of the "
            "runs, spread in brackets), and the full verify of every record once.",
            "",
            table(report["rows"]),
            END,
        ]
    )
    replace_section(path, BEGIN, END, section)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the scenarios; write the JSON results and (full runs) the BENCHMARKS.md section."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10,000 and 40,000 records, one run each")
    ap.add_argument("--sizes", type=int, nargs="+", help="log sizes [1,000,000; quick: 10,000 40,000]")
    ap.add_argument("--new", type=int, default=NEW, help=f"records appended after the checkpoint [{NEW:,}]")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full-max", type=int, default=200_000, help="the full verify runs up to this size")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--work", type=Path, help="where to build the logs [the temporary folder]")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([10_000, 40_000] if args.quick else [1_000_000])
    reps = 1 if args.quick else args.reps
    if min(sizes) < 1 or args.new < 1 or reps < 1:
        ap.error("--sizes, --new and --reps must be at least 1")
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="govgate-audit-scale-", dir=args.work) as tmp:
        rows = [run_size(n, args.new, reps, args.full_max, Path(tmp)) for n in sizes]
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": sys.argv[1:] if argv is None else argv,
        "cpus": os.cpu_count(),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "quick": args.quick,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not args.quick:
        write_section(report, REPORT)
    print(table(rows))
    return report


if __name__ == "__main__":
    main()
