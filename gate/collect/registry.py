"""Recognise each file's kind by content and hand it to its collectors."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from gate.collect.base import CollectError, CollectSettings
from gate.collect.files import ParsedFile, parse_file, walk_paths
from gate.collect.parallel import collect_files, workers_for

COLLECTOR_MODULES = (
    "gate.collect.backstage",
    "gate.collect.cyclonedx",
    "gate.collect.spdx",
    "gate.collect.sigstore_bundle",
    "gate.collect.cosign",
    "gate.collect.attestation",
)
SECTIONS = ("templates", "catalog", "sboms", "signatures", "attestations")
INPUT_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".xml", ".sigstore", ".cdx", ".spdx", ".slsa")


def collectors() -> list[ModuleType]:
    """The collector modules, in recognition order."""
    return [importlib.import_module(name) for name in COLLECTOR_MODULES]


def _is_candidate(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(INPUT_SUFFIXES) or ".sigstore" in name or ".intoto" in name


def collect_file(
    parsed: ParsedFile, settings: CollectSettings, mods: Iterable[ModuleType]
) -> dict[str, list[Any]]:
    """Run every collector that recognises the file; returns items by section (empty if none did)."""
    out: dict[str, list[Any]] = {}
    for mod in mods:
        if not mod.recognise(parsed):
            continue
        result = mod.collect(parsed, settings)
        if isinstance(result, dict):
            for section, items in result.items():
                out.setdefault(section, []).extend(items)
        else:
            out.setdefault(mod.SECTION, []).extend(result)
    return out


def display_path(path: Path, base: Path, *, base_resolved: bool = False) -> str:
    """The path as reports show it: relative to the working directory when inside it, POSIX style.

    `base_resolved` says `base` is resolved already (saves a look-up per file in a large walk).
    """
    try:
        return path.resolve().relative_to(base if base_resolved else base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def collect_paths(
    paths: list[Path], settings: CollectSettings, *, parallel: bool = False
) -> dict[str, list[Any]]:
    """Collect every input under `paths` into the input document's sections.

    Files named explicitly must be recognised inputs; files met in a directory walk are inputs only
    when their name suggests structured data and their content is recognised. With `parallel`,
    many files are collected on every core (gate.collect.parallel), with the same result.
    """
    sections: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    mods = collectors()
    cwd = Path.cwd().resolve()
    jobs = [
        (path, explicit, display_path(path, cwd, base_resolved=True))
        for path, explicit in walk_paths(paths)
        if explicit or _is_candidate(path)
    ]

    def work(path: Path, explicit: bool, shown: str) -> dict[str, list[Any]]:
        try:
            parsed = parse_file(path, settings.max_bytes, shown)
            found = collect_file(parsed, settings, mods)
        except RecursionError:
            raise CollectError(
                "nested too deeply to process", "inputs this deep are not real metadata", path=shown
            ) from None
        if not any(found.values()) and explicit:
            raise CollectError(
                "not a recognised input (Backstage entity or template, CycloneDX or SPDX SBOM, "
                "sigstore bundle, cosign verify output, in-toto/SLSA attestation)",
                "pass only governance inputs; leave other files out of the paths",
                path=shown,
            )
        return found

    workers = workers_for(len(jobs)) if parallel else 1
    results = collect_files(jobs, work, workers) if workers > 1 else [work(*job) for job in jobs]
    for found in results:
        for section, items in found.items():
            sections.setdefault(section, []).extend(items)
    for collected in sections.values():
        collected.sort(key=lambda item: (item.get("path", ""), item.get("document", item.get("index", 0))))
    return sections
