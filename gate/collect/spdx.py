"""SPDX 2.2 / 2.3 JSON SBOMs: recognise, validate, normalise into `sboms` items.

Every package becomes a component: name, `versionInfo`, the purl from its `PACKAGE-MANAGER`
external reference (normalised for matching by gate.collect.purls), `licenseConcluded` /
`licenseDeclared` (NOASSERTION and NONE dropped; ids normalised by gate.collect.licenses),
checksums as hashes (algorithm names in CycloneDX spelling, `SHA256` -> `SHA-256`, so policies
see one vocabulary) and `primaryPackagePurpose` as the type. SPDX 2 has no vulnerabilities.

Validation uses govgate's statement of the SPDX 2.2 / 2.3 JSON schemas (`schemas/spdx/`): no
PyPI package ships the official ones (spdx-tools validates its object model instead). SPDX 3
(JSON-LD) is recognised only to be refused with a clear message.
"""

from __future__ import annotations

import re
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
    """Whether the file is an SPDX JSON document: `spdxVersion: SPDX-2.x`, or SPDX 3 JSON-LD
    (recognised so that collect can refuse it with a clear message)."""
    if parsed.syntax != "json" or len(parsed.documents) != 1:
        return False
    doc = parsed.documents[0]
    if not isinstance(doc, dict):
        return False
    version = doc.get("spdxVersion")
    return (isinstance(version, str) and version.startswith("SPDX-2.")) or _is_spdx3(doc)


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """Normalise one SPDX 2.x JSON document into a single `sboms` item; CollectError for SPDX 3 or non-SPDX."""
    doc = parsed.documents[0] if parsed.syntax == "json" and len(parsed.documents) == 1 else None
    if _is_spdx3(doc):
        raise CollectError("SPDX 3 (JSON-LD) SBOMs are not supported", SPDX3_REMEDIATION, path=parsed.path)
    if not recognise(parsed) or not isinstance(doc, dict):
        raise CollectError(
            "not an SPDX 2.x JSON document (no `spdxVersion: SPDX-2.x`)",
            "pass an SPDX 2.2 or 2.3 JSON SBOM (tag-value, RDF and YAML SPDX are not read)",
            path=parsed.path,
        )
    raw_version = doc["spdxVersion"]
    match = _VERSION_RE.match(raw_version)
    version = match.group(1) if match else raw_version
    if version in SUPPORTED_VERSIONS:
        schema = _spdx_schema(version)
        errors = [] if schema.is_valid(doc) else schema_errors(schema, doc)
    else:
        errors = [
            f"spdxVersion: SPDX version {raw_version} is not supported as JSON (supported: SPDX-2.2, SPDX-2.3); "
            "regenerate the SBOM as SPDX 2.3 JSON"
        ]
    return {"sboms": [normalise(doc, path=parsed.path, sha256=parsed.sha256, version=version, errors=errors)]}


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


def _purl(package: dict[str, Any]) -> str | None:
    refs = package.get("externalRefs")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if (
            isinstance(ref, dict)
            and ref.get("referenceType") == "purl"
            and isinstance(ref.get("referenceLocator"), str)
        ):
            locator: str = ref["referenceLocator"]
            return locator
    return None


def _package(package: dict[str, Any]) -> dict[str, Any]:
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
    purl = _purl(package)
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
    doc: dict[str, Any], *, path: str, sha256: str, version: str, errors: list[str]
) -> dict[str, Any]:
    """Build the `sboms` item from an SPDX 2.x JSON document."""
    creation = doc.get("creationInfo")
    created = creation.get("created") if isinstance(creation, dict) else None
    packages = doc.get("packages")
    return {
        "path": path,
        "sha256": sha256,
        "format": "spdx",
        "encoding": "json",
        "spec_version": version,
        "valid": not errors,
        "errors": errors[:MAX_ERRORS],
        "has_timestamp": isinstance(created, str) and bool(created.strip()),
        "has_component": _describes_something(doc),
        "components": [_package(p) for p in packages if isinstance(p, dict)]
        if isinstance(packages, list)
        else [],
        "vulnerabilities": [],
    }
