"""Parse one input file into a ParsedFile: its bytes, digest and documents, the syntax sniffed from
the content (JSON, JSON Lines, YAML, XML or SPDX tag-value) and handed to that syntax's module."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element

from gate.collect.json import parse_json
from gate.collect.read import DEFAULT_MAX_BYTES, decode_text, read_bytes
from gate.collect.xml import parse_xml
from gate.collect.yaml import parse_yaml

Syntax = Literal["json", "jsonl", "yaml", "xml", "spdx-tag-value"]


@dataclass(frozen=True)
class ParsedFile:
    """One input file, read once: raw bytes, digest and its parsed documents.

    `documents` holds one item for JSON and XML, one per YAML document, one per JSON Lines line,
    none for SPDX tag-value (its collector reads `text` with spdx-tools).
    `lines` (YAML only) maps JSON Pointers inside each document to 1-based source lines.
    `xml_root` is the parsed XML element tree for XML files.
    `sole_reader` says that one collector alone reads the documents: it may release the parts
    it has read as it goes (a large SBOM's components), so that the raw and the normalised
    components are not held at once.
    """

    path: str
    sha256: str
    data: bytes
    syntax: Syntax
    documents: tuple[Any, ...]
    lines: tuple[dict[str, int], ...] = ()
    doc_lines: tuple[int, ...] = ()
    xml_root: Element | None = field(default=None, compare=False)
    sole_reader: bool = field(default=False, compare=False)

    @property
    def text(self) -> str:
        """The file's text (it was checked to be UTF-8 when read)."""
        return self.data.decode("utf-8-sig")


_SIGNIFICANT = re.compile(r"\S")
# SPDX tag-value: `SPDXVersion:` is the first tag (after blank and `#` comment lines); it is no
# YAML (a tag repeats for each package), so it must not reach the YAML parser
_SPDX_TAG_VALUE = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*SPDXVersion:")


def sniff(text: str) -> Syntax:
    """Guess the syntax of a text from its first significant character (and, for JSON Lines, the
    first one after the first line). Reads around those characters only: no copy of the text."""
    first = _SIGNIFICANT.search(text)
    if first is None:
        return "yaml"
    head = text[first.start() : first.start() + 2]
    if head.startswith("<"):
        return "xml"
    if head.startswith(("{%", "{{", "{#")):
        return "yaml"  # a Nunjucks/Jinja skeleton, reported as such by the YAML parser
    if head.startswith(("{", "[")):
        newline = text.find("\n", first.start())
        after = _SIGNIFICANT.search(text, newline) if newline >= 0 else None
        if after and after.group() == "{" and text[:newline].rstrip().endswith("}"):
            return "jsonl"
        return "json"
    if head.startswith(("S", "#")) and _SPDX_TAG_VALUE.match(text):
        return "spdx-tag-value"
    return "yaml"


# What marks a file's bytes as one of the inputs even when they do not parse: the field or
# namespace each format requires, written as the format writes it. Read in a file's first MiB.
_INPUT_MARKS = (
    ("a CycloneDX SBOM", re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')),
    ("a CycloneDX SBOM", re.compile(rb"""xmlns(?::[\w.-]+)?\s*=\s*["']http://cyclonedx\.org/schema/bom/""")),
    ("an SPDX SBOM", re.compile(rb'"spdxVersion"\s*:\s*"SPDX-')),
    ("an SPDX SBOM", re.compile(rb"(?m)^SPDXVersion:[ \t]*SPDX-")),
    ("an SPDX SBOM", re.compile(rb'"@context"\s*:\s*"https://spdx\.org/rdf/3')),
    (
        "a Backstage entity",
        re.compile(rb"""(?<![\w.-])["']?apiVersion["']?\s*:\s*["']?(?:scaffolder\.)?backstage\.io/"""),
    ),
    ("a sigstore bundle", re.compile(rb'"mediaType"\s*:\s*"application/vnd\.dev\.sigstore\.bundle')),
    ("an in-toto attestation", re.compile(rb'"_type"\s*:\s*"https://in-toto\.io/Statement/')),
    ("an in-toto attestation", re.compile(rb'"payloadType"\s*:\s*"application/vnd\.in-toto')),
    ("cosign verify output", re.compile(rb'"docker-manifest-digest"\s*:')),
)
_SNIFF_BYTES = 1024 * 1024
# A Rego module starts with its package line, after comments and blank lines.
_REGO_PACKAGE = re.compile(
    rb"\A(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*package[ \t]+[A-Za-z_][\w.]*[ \t]*(?:#[^\n]*)?\r?(?:\n|\Z)"
)


def looks_like_input(data: bytes) -> str | None:
    """Which input the bytes are recognisably meant to be ("a CycloneDX SBOM", ...), by the marks
    in their first MiB (_INPUT_MARKS), or None. For files that do not parse: parsed files are
    recognised by their structure (each collector's `recognise`)."""
    head = data[:_SNIFF_BYTES]
    return next((kind for kind, mark in _INPUT_MARKS if mark.search(head)), None)


def looks_like_rego(data: bytes) -> bool:
    """Whether the bytes are a Rego module (a `package` line first, after comments)."""
    return _REGO_PACKAGE.match(data[:_SNIFF_BYTES]) is not None


def parse_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, shown: str | None = None) -> ParsedFile:
    """Read and parse one file into a ParsedFile, or raise CollectError naming what is wrong."""
    name = shown if shown is not None else str(path)
    data = read_bytes(path, max_bytes, name)
    return parse_bytes(data, name, max_bytes)


def parse_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse bytes that were read under `name` (used in messages and the input document).

    `max_bytes` (the file-size limit) also bounds the text YAML aliases expand to."""
    text = decode_text(data, name)
    digest = hashlib.sha256(data).hexdigest()
    syntax = sniff(text)
    if syntax == "xml":
        root = parse_xml(data, name)
        return ParsedFile(name, digest, data, "xml", (None,), xml_root=root)
    if syntax == "json":
        del text  # parsed from the bytes: the text would be a second copy of the file beside the tree
        body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        return ParsedFile(name, digest, data, "json", (parse_json(body, name),))
    if syntax == "spdx-tag-value":
        return ParsedFile(name, digest, data, "spdx-tag-value", ())
    if syntax == "jsonl":
        docs = tuple(
            parse_json(line, f"{name}:{n}") for n, line in enumerate(text.splitlines(), 1) if line.strip()
        )
        return ParsedFile(name, digest, data, "jsonl", docs)
    docs_, lines, starts = parse_yaml(text, name, max_bytes)
    return ParsedFile(name, digest, data, "yaml", tuple(docs_), tuple(lines), tuple(starts))
