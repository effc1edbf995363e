"""The input document's canonical bytes (gate.input.canonical_bytes) on large SBOMs.

.venv/bin/python bench/canonical.py                  # 100,000 components
.venv/bin/python bench/canonical.py --components 1000000

The document is collected and assembled as `gate check` does it, from a CycloneDX SBOM written
by bench/scale.py, in two shapes: every component with a purl (the document's `null`s are all in
its small top: the context, the SBOM's own fields), and no component with a purl (a `null` in
every component, so audit.compact walks the components to make sure none is a NaN). Each is timed
beside one orjson.dumps of the whole document (what audit.compact wrote before it refused NaN),
best of several runs, in the same process. Prints JSON; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import write_clean_bom  # noqa: E402


def best(run: Callable[[], Any], repeat: int) -> float:
    """The shortest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return round(min(times), 4)


def document(bom: Path, config: Path) -> dict[str, Any]:
    """The input document `gate check` assembles from the SBOM."""
    from gate import input as input_doc
    from gate.collect.registry import collect_paths
    from gate.context import build_context
    from gate.pipeline import CheckOptions, prepare

    prepared = prepare(CheckOptions(paths=(bom,), environment="prod", engine="embedded", config=config))
    sections = collect_paths([bom], prepared.config.collect_settings(()))
    context = build_context("prod", {"GATE_TIME": "2026-12-01T00:00:00Z"})
    return input_doc.assemble(context, prepared.config.require, sections)


def main() -> None:
    """Time both shapes and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import orjson

    from gate import input as input_doc

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "gate.yaml"
        config.write_text("limits:\n  max_file_bytes: 4000000000\n", encoding="utf-8")
        bom = write_clean_bom(folder / "bom.cdx.json", args.components)
        doc = document(bom, config)
        for shape in ("purls", "no purls"):
            if shape == "no purls":
                for component in doc["sboms"][0]["components"]:
                    component["purl"] = None
            text = input_doc.canonical_bytes(doc)
            rows.append(
                {
                    "shape": shape,
                    "mb": round(len(text) / 1e6, 1),
                    "canonical_bytes_s": best(lambda: input_doc.canonical_bytes(doc), args.repeat),
                    "orjson_dumps_s": best(
                        lambda: orjson.dumps(doc, option=orjson.OPT_SORT_KEYS), args.repeat
                    ),
                }
            )
    for row in rows:
        row["ratio"] = round(row["canonical_bytes_s"] / row["orjson_dumps_s"], 2)
    print(json.dumps({"components": args.components, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
