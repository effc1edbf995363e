"""Recognise each file's kind by content and hand it to its collectors."""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

from gate.collect.base import CollectError, CollectorModule, CollectSettings, Sections
from gate.collect.files import file_entries
from gate.collect.parallel import collect_files, job_costs, workers_for
from gate.collect.parse import ParsedFile, looks_like_input, looks_like_rego, parse_bytes
from gate.collect.read import (
    STDIN,
    Ignores,
    read_bytes,
    read_head,
    read_stdin,
    shown_path,
    walk_paths,
    warn_on_stderr,
)

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


# The file names the formats' own specifications give their files. A file met in a walk is
# recognisably an input when its name is one of these, or when its content says so (see
# gate.collect.parse.looks_like_input): then it must be read, or the walk stops with its error.
INPUT_NAMES = (
    "catalog-info.yaml",
    "catalog-info.yml",
    "bom.json",
    "bom.xml",
    "*.cdx.json",
    "*.cdx.xml",
    "*.spdx.json",
    "*.spdx",
    "*.sigstore.json",
    "*.sigstore",
    "*.intoto.json",
    "*.intoto.jsonl",
)
# How standard input is named in messages and findings.
STDIN_NAME = "stdin"
# Called with a file's shown path and why a walk skipped it (`gate check -v` lists them).
Skipped = Callable[[str, str], None]


def _is_candidate(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(INPUT_SUFFIXES) or ".sigstore" in name or ".intoto" in name


def named_as_input(path: Path) -> bool:
    """Whether the file's name is one the input formats give their files (INPUT_NAMES)."""
    name = path.name.lower()
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in INPUT_NAMES)


def _rego_refused(shown: str) -> CollectError:
    return CollectError(
        "a Rego policy, not an input to check",
        "pass policies with --policy DIR (the folder holding it), and inputs as PATHs",
        path=shown,
    )


def collect_file(parsed: ParsedFile, settings: CollectSettings, mods: Iterable[CollectorModule]) -> Sections:
    """Run every collector that recognises the file; returns items by section (empty if none did).
    With `keep_files` (conftest-style policies), every JSON, JSON Lines or YAML file is handed to
    them as `files`, recognised by a collector or not, as `conftest test` reads every file."""
    out: dict[str, list[Any]] = {}
    readers = [mod for mod in mods if mod.recognise(parsed)]
    if len(readers) == 1 and not settings.keep_files:
        parsed = dataclasses.replace(parsed, sole_reader=True)
    for mod in readers:
        for section, items in mod.collect(parsed, settings).items():
            out.setdefault(section, []).extend(items)
    if settings.keep_files:
        entries = file_entries(parsed)
        if entries:
            out["files"] = entries
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
    exclude: Ignores | None = None,
    skipped: Skipped | None = None,
) -> dict[str, list[Any]]:
    """Collect every input under `paths` into the input document's sections.

    Files named explicitly (and `-`, standard input, read once and bounded by the file-size
    limit) must be recognised inputs. In a directory walk (gate.collect.read.walk_paths, which
    leaves out what `exclude` and the `.gitignore` files match), a file whose name suggests
    structured data is read; one that is recognisably an input (by its name, INPUT_NAMES, or by
    its content, gate.collect.parse.looks_like_input) must be a readable input, and any other
    file that cannot be read or parsed, or that no collector recognises, is skipped, told to
    `skipped` with the reason. With `parallel`, many files are collected in forked processes on
    every core (gate.collect.parallel), with the same result.
    What a walk skips for safety (links out of its folder, FIFOs, devices), and an input by its
    name that a .gitignore leaves out, is told to `notice`, one line each (on stderr by default).
    A walk leaves out the folders its templates' fetch:template steps copy from
    (gate.collect.backstage.template_source_folders), and skips skeleton files, told to `notice`.
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
    tell: Skipped = skipped if skipped is not None else (lambda _shown, _reason: None)

    def ignored(path: Path, reason: str, folder: bool) -> None:
        shown = display_path(path, cwd, base_resolved=True, resolve=resolve)
        if folder:
            tell(shown + "/", reason)
        elif named_as_input(path) and not reason.startswith("matches the exclude"):
            notice(f"skipped {shown_path(shown)}: {reason}; name it as a PATH to check it")
        else:
            tell(shown, reason)

    found_paths = walk_paths(paths, _is_candidate, notice, exclude=exclude, ignored=ignored)
    stdin = _stdin_once(found_paths, settings.max_bytes)
    # What a template's fetch:template step copies is skeleton source, not catalog files.
    walked = [path for path, explicit in found_paths if not explicit]
    sources = template_source_folders(walk_templates(walked, settings))
    jobs = [
        (
            path,
            explicit,
            STDIN_NAME
            if stdin is not None and str(path) == STDIN
            else display_path(path, cwd, base_resolved=True, resolve=resolve),
        )
        for path, explicit in found_paths
        if explicit or not inside_any(path, sources)
    ]

    def work(path: Path, explicit: bool, shown: str) -> dict[str, list[Any]] | str:
        data: bytes | None = None
        try:
            try:
                if stdin is not None and explicit and str(path) == STDIN:
                    data = stdin
                else:
                    data = read_bytes(path, settings.max_bytes, shown)
                if explicit and (path.suffix.lower() == ".rego" or looks_like_rego(data)):
                    raise _rego_refused(shown)
                parsed = parse_bytes(data, shown, settings.max_bytes)
            except RecursionError:
                raise CollectError(
                    "nested too deeply to process", "inputs this deep are not real metadata", path=shown
                ) from None
        except CollectError as exc:
            if explicit or _recognisable(path, data):
                raise
            return exc.message
        try:
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
        if not any(found.values()):
            if explicit:
                raise CollectError(
                    "not a recognised input (Backstage entity or template, CycloneDX or SPDX SBOM, "
                    "sigstore bundle, cosign verify output, in-toto/SLSA attestation)",
                    "pass only governance inputs; leave other files out of the paths",
                    path=shown,
                )
            if named_as_input(path):
                raise CollectError(
                    "named as an input, but holds none (no Backstage entity, SBOM, signature or attestation)",
                    "fix the file, or leave it out with --exclude",
                    path=shown,
                )
            return "not a recognised input"
        return found

    workers = workers_for(len(jobs)) if parallel else 1
    if workers > 1:
        results = collect_files(jobs, work, workers, job_costs(jobs))
    else:
        results = [work(*job) for job in jobs]
    for (_, _, shown), found in zip(jobs, results, strict=True):
        if isinstance(found, str):
            tell(shown, found)
            continue
        for section, items in found.items():
            sections.setdefault(section, []).extend(items)
    for collected in sections.values():
        collected.sort(key=lambda item: (item.get("path", ""), item.get("document", item.get("index", 0))))
    return sections


def _recognisable(path: Path, data: bytes | None) -> bool:
    """Whether a file met in a walk that could not be read or parsed is recognisably an input: by
    its name, or by what its first bytes hold (read again, bounded, where reading it failed, as
    for a file over the size limit)."""
    if named_as_input(path):
        return True
    head = data if data is not None else read_head(path)
    return head is not None and looks_like_input(head) is not None


def _stdin_once(paths: list[tuple[Path, bool]], max_bytes: int) -> bytes | None:
    """Standard input's bytes when `-` is among the paths (read once), else None."""
    named = sum(1 for path, explicit in paths if explicit and str(path) == STDIN)
    if not named:
        return None
    if named > 1:
        raise CollectError(
            "named more than once", "standard input holds one input: pass `-` once", path=STDIN_NAME
        )
    return read_stdin(sys.stdin.buffer, max_bytes, STDIN_NAME)
