"""Recognise each file's kind by content and hand it to its collectors."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

from gate.collect.base import CollectError, CollectorModule, CollectSettings, Sections
from gate.collect.files import file_entries
from gate.collect.parallel import collect_files, job_costs, workers_for
from gate.collect.parse import ParsedFile, parse_file
from gate.collect.read import walk_paths, warn_on_stderr

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


def collectors() -> list[CollectorModule]:
    """The collector modules, in recognition order; each keeps the one protocol (gate.collect.base)."""
    return [cast(CollectorModule, importlib.import_module(name)) for name in COLLECTOR_MODULES]


def _is_candidate(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(INPUT_SUFFIXES) or ".sigstore" in name or ".intoto" in name


def collect_file(parsed: ParsedFile, settings: CollectSettings, mods: Iterable[CollectorModule]) -> Sections:
    """Run every collector that recognises the file; returns items by section (empty if none did)."""
    out: dict[str, list[Any]] = {}
    readers = [mod for mod in mods if mod.recognise(parsed)]
    if len(readers) == 1 and not settings.keep_files:
        parsed = dataclasses.replace(parsed, sole_reader=True)
    for mod in readers:
        for section, items in mod.collect(parsed, settings).items():
            out.setdefault(section, []).extend(items)
    if settings.keep_files and any(out.values()):
        out["files"] = file_entries(parsed)
    return out


def display_path(
    path: Path, base: Path, *, base_resolved: bool = False, resolve: PathResolver | None = None
) -> str:
    """The path as reports show it: relative to the working directory when inside it, POSIX style.

    `base_resolved` says `base` is resolved already, and `resolve` resolves paths (a
    PathResolver saves look-ups in a large walk).
    """
    resolver = resolve if resolve is not None else Path.resolve
    try:
        try:
            resolved = resolver(path)
        except (RuntimeError, OSError):  # a symbolic link loop: shown where the link lies
            resolved = resolver(path.parent) / path.name
        return resolved.relative_to(base if base_resolved else base.resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):  # outside `base`
        return path.as_posix()


class PathResolver:
    """Path.resolve for the many files of a walk, with each folder resolved once: a file that is
    not a symbolic link resolves to its name in its resolved folder (one look-up instead of one per
    component of its path)."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}

    def __call__(self, path: Path) -> Path:
        """`path.resolve()`."""
        if path.name in ("", "..") or path.is_symlink():
            return path.resolve()
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = self(path.parent)
        return folder / path.name


def collect_paths(
    paths: list[Path],
    settings: CollectSettings,
    *,
    parallel: bool = False,
    notice: Callable[[str], None] = warn_on_stderr,
) -> dict[str, list[Any]]:
    """Collect every input under `paths` into the input document's sections.

    Files named explicitly must be recognised inputs; files met in a directory walk are inputs only
    when their name suggests structured data and their content is recognised. With `parallel`,
    many files are collected in forked processes on every core (gate.collect.parallel), with
    the same result.
    What a walk skips (links out of its folder, FIFOs, devices, skeleton files) is told to `notice`,
    one line each (on stderr by default). A walk leaves out the folders its templates'
    fetch:template steps copy from (gate.collect.backstage.template_source_folders).
    """
    from gate.collect.backstage import (
        Unrendered,
        checked_roots,
        inside_any,
        template_source_folders,
        walk_templates,
    )

    settings = dataclasses.replace(settings, roots=checked_roots(paths))
    sections: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    mods = collectors()
    cwd = Path.cwd().resolve()
    resolve = PathResolver()
    walked = walk_paths(paths, _is_candidate, notice)
    # What a template's fetch:template step copies is skeleton source, not catalog files.
    sources = template_source_folders(walk_templates([p for p, explicit in walked if not explicit], settings))
    jobs = [
        (path, explicit, display_path(path, cwd, base_resolved=True, resolve=resolve))
        for path, explicit in walked
        if explicit or not inside_any(path, sources)
    ]

    def work(path: Path, explicit: bool, shown: str) -> dict[str, list[Any]]:
        try:
            parsed = parse_file(path, settings.max_bytes, shown)
            found = collect_file(parsed, settings, mods)
        except Unrendered as exc:  # a skeleton file: refused when named, not an input in a walk
            if explicit:
                raise
            notice(f"skipped {exc.path}: {exc.message}")
            return {}
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
    if workers > 1:
        results = collect_files(jobs, work, workers, job_costs(jobs))
    else:
        results = [work(*job) for job in jobs]
    for found in results:
        for section, items in found.items():
            sections.setdefault(section, []).extend(items)
    for collected in sections.values():
        collected.sort(key=lambda item: (item.get("path", ""), item.get("document", item.get("index", 0))))
    return sections
