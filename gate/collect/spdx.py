"""SPDX 2.2 / 2.3 SBOMs, JSON and tag-value: recognise, validate, normalise into `sboms` items.

Every package becomes a component: name, `versionInfo`, the purl from its `PACKAGE-MANAGER`
external reference (normalised for matching by gate.collect.purls), `licenseConcluded` /
`licenseDeclared` (NOASSERTION and NONE dropped; ids normalised by gate.collect.licenses),
checksums as hashes (algorithm names in CycloneDX spelling, `SHA256` -> `SHA-256`, so policies
see one vocabulary) and `primaryPackagePurpose` as the type. SPDX 2 has no vulnerability section:
a package's `SECURITY` reference of type `advisory` is a vulnerability of that package, with no
rating and no VEX state.

A tag-value file is read by spdx-tools' tag-value parser and converted by its JSON writer's
converter into the SPDX JSON shape; from there both encodings take one path. Validation uses
govgate's statement of the SPDX 2.2 / 2.3 JSON schemas (`schemas/spdx/`): no PyPI package ships
the official ones (spdx-tools validates its object model instead). SPDX 3 (JSON-LD) is
recognised only to be refused with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from gate import schemas
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.cyclonedx import MAX_ERRORS, schema_errors
from gate.collect.licenses import spdx_licenses
from gate.collect.purls import component_fields

if TYPE_CHECKING:
    from gate.collect.parse import ParsedFile

KIND = "sbom"
SECTIONS = ("sboms",)

SUPPORTED_VERSIONS = ("2.2", "2.3")
_VERSION_RE = re.compile(r"^SPDX-(\d+\.\d+)$")
_SHA_RE = re.compile(r"^SHA(\d+)$")
_PURPOSES = {
    "APPLICATION": "application",
    "FRAMEWORK": "framework",
    "LIBRARY": "library",
    "CONTAINER": "container",
    "OPERATING_SYSTEM": "operating-system",
    "DEVICE": "device",
    "FIRMWARE": "firmware",
    "FILE": "file",
}
# SPDX 2.3 annex F: a SECURITY reference of type `advisory` points at an advisory about the package;
# `vulnerability` is not in the annex but written by some tools for the same
_ADVISORY_TYPES = ("advisory", "vulnerability")
_ADVISORY_ID_RE = re.compile(r"\bCVE-\d{4}-\d{4,}\b|\bGHSA(?:-[23456789cfghjmpqrvwx]{4}){3}\b", re.IGNORECASE)
SPDX3_REMEDIATION = (
    "export the SBOM as SPDX 2.3 JSON or as CycloneDX JSON/XML 1.2 to 1.7 "
    "(for example `syft -o spdx-json` or `syft -o cyclonedx-json`)"
)


def _is_spdx3(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if any(isinstance(c, str) and "spdx.org/rdf/3" in c for c in contexts):
        return True
    version = doc.get("spdxVersion")
    return isinstance(version, str) and version.startswith("SPDX-3")


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file is an SPDX document: JSON with `spdxVersion: SPDX-2.x`, SPDX 3 JSON-LD
    (recognised so that collect can refuse it with a clear message), or tag-value (gate.collect.parse
    sniffs its first tag, `SPDXVersion:`)."""
    if parsed.syntax == "spdx-tag-value":
        return True
    if parsed.syntax != "json" or len(parsed.documents) != 1:
        return False
    doc = parsed.documents[0]
    if not isinstance(doc, dict):
        return False
    version = doc.get("spdxVersion")
    return (isinstance(version, str) and version.startswith("SPDX-2.")) or _is_spdx3(doc)


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """Normalise one SPDX 2.x document, JSON or tag-value, into a single `sboms` item; CollectError
    for SPDX 3, a tag-value file spdx-tools cannot parse, or non-SPDX."""
    if parsed.syntax == "spdx-tag-value":
        doc: Any = from_tag_value(parsed.text, parsed.path)
        encoding = "tag-value"
    else:
        doc = parsed.documents[0] if parsed.syntax == "json" and len(parsed.documents) == 1 else None
        encoding = "json"
        if _is_spdx3(doc):
            raise CollectError(
                "SPDX 3 (JSON-LD) SBOMs are not supported", SPDX3_REMEDIATION, path=parsed.path
            )
        if not recognise(parsed) or not isinstance(doc, dict):
            raise CollectError(
                "not an SPDX 2.x JSON document (no `spdxVersion: SPDX-2.x`)",
                "pass an SPDX 2.2 or 2.3 JSON or tag-value SBOM (RDF and YAML SPDX are not read)",
                path=parsed.path,
            )
    raw_version = doc.get("spdxVersion")
    raw_version = raw_version if isinstance(raw_version, str) else ""
    match = _VERSION_RE.match(raw_version)
    version = match.group(1) if match else raw_version
    if version in SUPPORTED_VERSIONS:
        schema = _spdx_schema(version)
        errors = [] if schema.is_valid(doc) else schema_errors(schema, doc)
    else:
        errors = [
            f"spdxVersion: SPDX version {raw_version or '(missing)'} is not supported "
            "(supported: SPDX-2.2, SPDX-2.3); regenerate the SBOM as SPDX 2.3"
        ]
    item = normalise(
        doc, path=parsed.path, sha256=parsed.sha256, version=version, errors=errors, encoding=encoding
    )
    return {"sboms": [item]}


def from_tag_value(text: str, path: str) -> dict[str, Any]:
    """An SPDX tag-value document in the SPDX JSON shape: parsed by spdx-tools' tag-value parser
    and converted by its JSON writer's converter, so that the JSON schema and normaliser serve
    both. CollectError, with spdx-tools' first complaint, when the text does not parse."""
    from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
    from spdx_tools.spdx.parser.error import SPDXParsingError

    remediation = (
        "fix the tag-value file (`pyspdxtools -i FILE` lists every problem), or export the SBOM "
        "as SPDX 2.3 JSON"
    )
    try:
        document = _tag_value_parser()().parse(text)
        converted: Any = DocumentConverter().convert(document)
    except SPDXParsingError as exc:
        messages = _flatten(exc.get_messages())
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        first = messages[0] if messages else "no document in it"
        raise CollectError(
            f"not readable as SPDX tag-value: {_one_line(first)}{more}", remediation, path=path
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise CollectError(
            f"not readable as SPDX tag-value: {_one_line(str(exc)) or type(exc).__name__}",
            remediation,
            path=path,
        ) from None
    if not isinstance(converted, dict):
        raise CollectError("not readable as SPDX tag-value: no document in it", remediation, path=path)
    # the converter writes the categories' Python names (PACKAGE_MANAGER); the JSON spelling, the
    # only one SPDX 2.2 has, is PACKAGE-MANAGER
    for package in converted.get("packages") or ():
        refs = package.get("externalRefs") if isinstance(package, dict) else None
        for ref in refs if isinstance(refs, list) else ():
            category = ref.get("referenceCategory") if isinstance(ref, dict) else None
            if isinstance(category, str):
                ref["referenceCategory"] = category.replace("_", "-")
    return converted


@cache
def _tag_value_parser() -> Callable[[], Any]:
    """A new spdx-tools tag-value parser for each file (it keeps the file's state), made with one
    SPDX licensing for them all: spdx-tools' own parser loads the license list anew for each
    license line, a tenth of a second each (15 minutes for 10,000 packages)."""
    from license_expression import ExpressionError, get_spdx_licensing
    from ply import yacc
    from spdx_tools.spdx.parser.tagvalue.parser import Parser

    licensing = get_spdx_licensing()

    class SharedLicensingParser(Parser):  # type: ignore[misc]  # spdx-tools is read as Any
        def p_license(self, p: Any) -> None:
            """license_or_no_assertion_or_none : LINE"""  # ply reads the rule from the docstring
            try:
                p[0] = licensing.parse(p[1])
            except ExpressionError as exc:
                self.current_element["logger"].append(
                    f"Error while parsing license expression: {p[1]}: {exc}"
                )

    def make() -> Any:
        # no tables written into the installed package, no grammar warnings on stderr
        return SharedLicensingParser(write_tables=False, debug=False, errorlog=yacc.NullLogger())

    return make


def _flatten(messages: Any) -> list[str]:
    """spdx-tools nests the messages of an element inside its parent's list."""
    out: list[str] = []
    stack = [messages]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(reversed(item))
        else:
            out.append(str(item))
    return out


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _spdx_schema(version: str) -> schemas.Schema:
    name = f"spdx/spdx-{version}.schema.json"
    try:
        return schemas.shipped(name)
    except schemas.SchemaFileError as exc:
        raise CollectError(str(exc), "reinstall govgate; its schema files are incomplete") from None


# --------------------------------------------------------------------------- normalisation


def _hash_alg(name: str) -> str:
    match = _SHA_RE.match(name)
    return f"SHA-{match.group(1)}" if match else name


def _references(package: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The package's purl (its first `purl` reference) and the locators of its security advisory
    references (category SECURITY, type `advisory` or `vulnerability`), in one pass over `externalRefs`."""
    refs = package.get("externalRefs")
    purl: str | None = None
    advisories: list[str] = []
    if not isinstance(refs, list):
        return purl, advisories
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        kind, locator = ref.get("referenceType"), ref.get("referenceLocator")
        if not isinstance(locator, str):
            continue
        if kind == "purl":
            if purl is None:
                purl = locator
        elif isinstance(kind, str) and kind.lower() in _ADVISORY_TYPES:
            category = ref.get("referenceCategory")
            if isinstance(category, str) and category.upper().replace("_", "-") == "SECURITY":
                advisories.append(locator)
    return purl, advisories


def _advisory_id(locator: str) -> str:
    """The vulnerability an advisory reference names: its CVE or GHSA id, else the locator itself."""
    match = _ADVISORY_ID_RE.search(locator)
    if match is None:
        return locator.strip()
    found = match.group()
    # each id in the case its database writes it: CVE-2021-44228, GHSA-jfh8-c2jp-5v3q
    return found.upper() if found[:3].upper() == "CVE" else "GHSA" + found[4:].lower()


def _package(package: dict[str, Any], advisories: dict[str, dict[str, None]]) -> dict[str, Any]:
    """One package as a component; the ids of its advisory references are added to `advisories`
    (vulnerability id -> the components it affects, in order, each once)."""
    name = package.get("name")
    version = package.get("versionInfo")
    hashes: dict[str, str] = {}
    checksums = package.get("checksums")
    if isinstance(checksums, list):
        for checksum in checksums:
            if isinstance(checksum, dict):
                alg, value = checksum.get("algorithm"), checksum.get("checksumValue")
                if isinstance(alg, str) and isinstance(value, str):
                    hashes[_hash_alg(alg)] = value
    licenses, license_ids, invalid = spdx_licenses(
        [package.get("licenseConcluded"), package.get("licenseDeclared")]
    )
    purpose = package.get("primaryPackagePurpose")
    ptype = _PURPOSES.get(purpose, purpose.lower()) if isinstance(purpose, str) else None
    purl, advisory_refs = _references(package)
    out = {
        "name": name if isinstance(name, str) else "",
        "version": version if isinstance(version, str) else None,
        "purl": purl,
        "licenses": licenses,
        "license_ids": license_ids,
        "hashes": hashes,
        "type": ptype,
        **component_fields(purl),
    }
    if invalid:
        out["invalid_licenses"] = invalid
    if advisory_refs:
        shown = name if isinstance(name, str) else ""
        label = purl or (f"{shown}@{version}" if isinstance(version, str) and version else shown)
        for locator in advisory_refs:
            advisories.setdefault(_advisory_id(locator), {})[label] = None
    return out


def _describes_something(doc: dict[str, Any]) -> bool:
    described = doc.get("documentDescribes")
    if isinstance(described, list) and any(isinstance(d, str) and d for d in described):
        return True
    doc_id = doc.get("SPDXID") if isinstance(doc.get("SPDXID"), str) else "SPDXRef-DOCUMENT"
    relationships = doc.get("relationships")
    if not isinstance(relationships, list):
        return False
    for rel in relationships:
        if not isinstance(rel, dict):
            continue
        kind = rel.get("relationshipType")
        if kind == "DESCRIBES" and rel.get("spdxElementId") == doc_id:
            return True
        if kind == "DESCRIBED_BY" and rel.get("relatedSpdxElement") == doc_id:
            return True
    return False


def normalise(
    doc: dict[str, Any], *, path: str, sha256: str, version: str, errors: list[str], encoding: str = "json"
) -> dict[str, Any]:
    """Build the `sboms` item from an SPDX 2.x document in the JSON shape (`encoding` says how it
    was written: `json`, or `tag-value` converted by from_tag_value)."""
    creation = doc.get("creationInfo")
    created = creation.get("created") if isinstance(creation, dict) else None
    packages = doc.get("packages")
    advisories: dict[str, dict[str, None]] = {}
    components = (
        [_package(p, advisories) for p in packages if isinstance(p, dict)]
        if isinstance(packages, list)
        else []
    )
    return {
        "path": path,
        "sha256": sha256,
        "format": "spdx",
        "encoding": encoding,
        "spec_version": version,
        "valid": not errors,
        "errors": errors[:MAX_ERRORS],
        "has_timestamp": isinstance(created, str) and bool(created.strip()),
        "has_component": _describes_something(doc),
        "components": components,
        # an advisory reference gives no severity and SPDX 2 has no VEX: unrated and open
        "vulnerabilities": [
            {"id": vid, "severity": "unknown", "state": None, "affects": list(affects)}
            for vid, affects in advisories.items()
        ],
    }
