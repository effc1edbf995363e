"""Schema validation on large documents, in this interpreter: `python -m bench.schemas`.

Times gate.schemas on what a check validates when it is big:
- every error of an invalid 10,000-component CycloneDX 1.6 BOM (`Schema.errors`, no limit), for
  three kinds of fault: one bad component, every component's `type` wrong, and every component's
  license and hash wrong (20,000 errors, most of them under a `oneOf`); and the at most 20 the
  collector reports (gate.collect.cyclonedx.validate_json);
- the verdict on a valid 1,000,000-component BOM (bench/scale.py's `write_clean_bom`), as
  gate.collect.cyclonedx.validate_json gives it;
- the verdict on the input document assembled from that BOM (gate.input.validate).

Each figure is the best of `--repeat` runs (after one warm-up that compiles the schemas), and is
written to bench/results/schemas.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen import bom  # noqa: E402
from bench.scale import write_clean_bom  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "schemas.json"


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `repeat` runs of `work` in seconds, and the last run's result."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def invalid_boms(n: int) -> dict[str, dict[str, Any]]:
    """Invalid n-component BOMs, by the fault they hold."""
    one = bom(n)
    one["components"][n // 2]["type"] = "librar"
    every_type = bom(n)
    for comp in every_type["components"]:
        comp["type"] = "librar"
    every_license = bom(n)
    for comp in every_license["components"]:
        comp["licenses"] = [{"license": {"name": 5}}]
        comp["hashes"] = [{"alg": "SHA-256", "content": "zz"}]
    return {
        "one component invalid": one,
        "every component's type invalid": every_type,
        "every component's license and hash invalid": every_license,
    }


def run(repeat: int, components: int, work_dir: Path) -> list[dict[str, Any]]:
    """Measure every scenario; one row each."""
    import orjson

    from gate import input as input_doc
    from gate import schemas
    from gate.collect import cyclonedx
    from gate.collect.registry import collect_paths
    from gate.config import from_mapping
    from gate.context import build_context

    rows: list[dict[str, Any]] = []
    schema = schemas.cyclonedx("1.6")
    for name, doc in invalid_boms(10_000).items():
        seconds, errors = best_of(repeat, partial(schema.errors, doc))
        rows.append(
            {"scenario": f"all errors, 10,000 components, {name}", "seconds": seconds, "errors": len(errors)}
        )
        seconds, errors = best_of(repeat, partial(cyclonedx.validate_json, doc, "1.6"))
        rows.append(
            {
                "scenario": f"the collector's list, 10,000 components, {name}",
                "seconds": seconds,
                "errors": len(errors),
            }
        )
    path = write_clean_bom(work_dir / "clean.json", components)
    clean = orjson.loads(path.read_bytes())
    seconds, errors = best_of(repeat, partial(cyclonedx.validate_json, clean, "1.6"))
    rows.append(
        {
            "scenario": f"validity, valid BOM of {components:,} components",
            "seconds": seconds,
            "errors": len(errors),
        }
    )
    clean.clear()  # its memory, before the input document is built
    config = from_mapping({"limits": {"max_file_bytes": 1024**3}}, None)
    sections = collect_paths([path], config.collect_settings(()))
    context = build_context("prod", {"GATE_TIME": "2026-12-01T00:00:00Z"})
    document = input_doc.assemble(context, config.require, sections)
    input_doc.validate(document)
    seconds, _ = best_of(repeat, lambda: input_doc.validate(document))
    rows.append(
        {
            "scenario": f"validity, input document of {components:,} components",
            "seconds": seconds,
            "errors": 0,
        }
    )
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the measurements, print a table and write bench/results/schemas.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--components", type=int, default=1_000_000, help="size of the valid BOM")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-schemas-") as tmp:
        rows = run(args.repeat, args.components, Path(tmp))
    for row in rows:
        print(f"{row['seconds']:8.3f} s  {row['errors']:>6} errors  {row['scenario']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
