"""CycloneDX SBOMs, JSON 1.2 to 1.7 and XML 1.0 to 1.7: recognise, validate, normalise into `sboms` items.

Policies see the raw document, normalised by us, never cyclonedx-python-lib's object model
(`Bom.from_json` accepts schema-invalid documents, drops sections and invents `bom-ref`s).
The library is used only for the JSON schemas and XSDs it bundles.

JSON is validated by gate.schemas against the schema cyclonedx-python-lib bundles for the
document's `specVersion`, every format checked (`iri-reference` too: jsonschema-rs checks it in
microseconds, where cyclonedx-python-lib's Python validator takes minutes on a 1 MB BOM,
upstream CycloneDX/cyclonedx-python-lib#862).

A schema-invalid but parseable SBOM is collected with `valid: false` and the errors; only content
that is not a CycloneDX document at all raises CollectError. Components' licenses are normalised
with the SPDX license list (gate.collect.licenses) and their purls per the purl spec
(gate.collect.purls), the values as written kept beside. A vulnerability's severity is the highest
its ratings give, each by its severity word, else its CVSS score, else the base score of its CVSS
vector (the `cvss` library); `unknown` when none does, which SBOM-VULN-UNRATED reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gate import schemas
from gate.collect import cyclonedx_xml
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.licenses import Licenses, cyclonedx_licenses
from gate.collect.purls import component_fields

if TYPE_CHECKING:
    from gate.collect.parse import ParsedFile

KIND = "sbom"
SECTIONS = ("sboms",)

JSON_VERSIONS = schemas.CYCLONEDX_VERSIONS
MAX_ERRORS = 20
SEVERITIES = ("critical", "high", "medium", "low", "info", "none", "unknown")


# --------------------------------------------------------------------------- recognise / collect


def _is_cyclonedx_json(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if doc.get("bomFormat") == "CycloneDX":
        return True
    schema = doc.get("$schema")
    return (
        isinstance(schema, str)
        and "cyclonedx" in schema.lower()
        and "specVersion" in doc
        and "components" in doc
    )


def recognise(parsed: ParsedFile) -> bool:
    """Whether the file is a CycloneDX BOM: JSON with `bomFormat: CycloneDX` (or a CycloneDX
    `$schema` with `specVersion` and `components`), or XML in a `http://cyclonedx.org/schema/bom/1.x`
    namespace."""
    if parsed.syntax == "xml":
        return parsed.xml_root is not None and cyclonedx_xml.spec_version(parsed.xml_root) is not None
    return parsed.syntax == "json" and len(parsed.documents) == 1 and _is_cyclonedx_json(parsed.documents[0])


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """Normalise one CycloneDX BOM into a single `sboms` item (valid or not); CollectError if it is none."""
    if not recognise(parsed):
        raise CollectError(
            "not a CycloneDX SBOM (no `bomFormat: CycloneDX` JSON and no CycloneDX XML namespace)",
            "pass a CycloneDX JSON or XML SBOM, version 1.2 to 1.7",
            path=parsed.path,
        )
    if parsed.syntax == "xml" and parsed.xml_root is not None:
        version = cyclonedx_xml.spec_version(parsed.xml_root) or ""
        doc = cyclonedx_xml.to_json_shape(parsed.xml_root)
        errors = cyclonedx_xml.validate(parsed.data, version)
        encoding = "xml"
    else:
        doc = parsed.documents[0]
        raw = doc.get("specVersion")
        version = raw if isinstance(raw, str) else ("" if raw is None else json.dumps(raw))
        errors = validate_json(doc, version)
        encoding = "json"
    release = parsed.sole_reader or encoding == "xml"  # the XML's JSON shape is this function's own
    return {
        "sboms": [
            normalise(
                doc,
                path=parsed.path,
                sha256=parsed.sha256,
                encoding=encoding,
                version=version,
                errors=errors,
                release=release,
            )
        ]
    }


# --------------------------------------------------------------------------- normalisation


def _opt_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _component(comp: dict[str, Any], licenses_of: Callable[[Any], Licenses]) -> dict[str, Any]:
    get = comp.get
    name = get("name")
    hashes: dict[str, str] = {}
    raw_hashes = get("hashes")
    if isinstance(raw_hashes, list):
        for entry in raw_hashes:
            if isinstance(entry, dict):
                alg, content = entry.get("alg"), entry.get("content")
                if isinstance(alg, str) and isinstance(content, str):
                    hashes[alg] = content
    licenses, license_ids, invalid = licenses_of(get("licenses"))
    version, raw_purl, kind = get("version"), get("purl"), get("type")
    purl = raw_purl if isinstance(raw_purl, str) else _opt_str(raw_purl)
    out = {
        "name": name if isinstance(name, str) else "",
        "version": version if isinstance(version, str) else _opt_str(version),
        "purl": purl,
        "licenses": licenses,
        "license_ids": license_ids,
        "hashes": hashes,
        "type": kind if isinstance(kind, str) else _opt_str(kind),
        **component_fields(purl),
    }
    if invalid:
        out["invalid_licenses"] = invalid
    return out


def _license_memo() -> Callable[[Any], Licenses]:
    """cyclonedx_licenses, remembered per distinct `licenses` array of one BOM (components mostly
    share a handful); components with equal arrays share one result (the input document is never
    changed once assembled)."""
    import orjson

    seen: dict[bytes, Licenses] = {}

    def licenses_of(entries: Any) -> Licenses:
        if not entries:
            return cyclonedx_licenses(entries)
        try:
            key = orjson.dumps(entries)
        except (orjson.JSONEncodeError, TypeError):
            return cyclonedx_licenses(entries)
        found = seen.get(key)
        if found is None:
            found = seen[key] = cyclonedx_licenses(entries)
        return found

    return licenses_of


def _components(top: Any, release: bool) -> list[dict[str, Any]]:
    """All components, nested ones included, in document order (parent before its children).

    With `release`, each top-level component is dropped from the document once normalised, so
    that the memory of the raw ones goes to the normalised ones (1 GB for 1,000,000 components).
    """
    out: list[dict[str, Any]] = []
    if not isinstance(top, list):
        return out
    licenses_of = _license_memo()
    stack: list[Iterator[Any]] = [_released(top) if release else iter(top)]
    while stack:
        comp = next(stack[-1], None)
        if comp is None:
            stack.pop()
            continue
        if not isinstance(comp, dict):
            continue
        out.append(_component(comp, licenses_of))
        children = comp.get("components")
        if isinstance(children, list) and children:
            stack.append(iter(children))
    return out


def _released(items: list[Any]) -> Iterator[Any]:
    """The items of a list, each replaced by None in it as it is handed out."""
    for i in range(len(items)):
        item, items[i] = items[i], None
        yield item


# The CycloneDX rating methods whose scores fall in the CVSS v3.x / v4.0 qualitative bands (v3.1
# spec, section 5; v4.0 spec, section 6), with their CVSS versions: 0.0 none, 0.1-3.9 low, 4.0-6.9
# medium, 7.0-8.9 high, 9.0-10.0 critical. A score without a method is read as CVSS too: that is
# what scanners write when they leave it out.
_CVSS_VERSIONS = {"CVSSv3": "3.0", "CVSSv31": "3.1", "CVSSv4": "4.0"}


def _band(score: float, v2: bool) -> str | None:
    """The qualitative severity of a CVSS base score; None outside 0-10 (NaN included).

    CVSS v2 has no critical band: NVD's v2 bands are 0.0-3.9 low, 4.0-6.9 medium, 7.0-10.0 high.
    """
    if not 0.0 <= score <= 10.0:
        return None
    if v2:
        return "low" if score < 4.0 else "medium" if score < 7.0 else "high"
    if score == 0.0:
        return "none"
    return "low" if score < 4.0 else "medium" if score < 7.0 else "high" if score < 9.0 else "critical"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _vector_severity(vector: str, method: str | None) -> str | None:
    """The severity of the base score the `cvss` library computes from a CVSS vector; None when the
    vector is not one it can score. CycloneDX writes v3 vectors with or without the `CVSS:3.x/`
    prefix the library needs; the method says which version a bare one is."""
    from cvss import CVSS2, CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    text = vector.strip().removeprefix("(").removesuffix(")")
    try:
        if text.startswith("CVSS:4."):
            return _band(float(CVSS4(text).base_score), v2=False)
        if text.startswith("CVSS:3."):
            return _band(float(CVSS3(text).base_score), v2=False)
        if method == "CVSSv4":
            return _band(float(CVSS4("CVSS:4.0/" + text).base_score), v2=False)
        if method in _CVSS_VERSIONS:
            return _band(float(CVSS3(f"CVSS:{_CVSS_VERSIONS[method]}/" + text).base_score), v2=False)
        if method == "CVSSv2" or (method is None and "Au:" in text):  # Au: is a v2 metric only
            return _band(float(CVSS2(text).base_score), v2=True)
        if method is None:
            return _band(float(CVSS3("CVSS:3.1/" + text).base_score), v2=False)
    except (CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def _rating_severity(rating: dict[str, Any]) -> str | None:
    """One rating's severity: as written when it is one the spec knows (other than unknown), else
    from its CVSS score, else from its CVSS vector; None when it gives none of them."""
    severity = rating.get("severity")
    if isinstance(severity, str):
        word = severity.lower()
        if word in SEVERITIES and word != "unknown":
            return word
    method = rating.get("method")
    method = method if isinstance(method, str) else None
    if method is not None and method != "CVSSv2" and method not in _CVSS_VERSIONS:
        return None  # OWASP, SSVC and other methods score on their own scales
    score = _number(rating.get("score"))
    banded = _band(score, v2=method == "CVSSv2") if score is not None else None
    if banded is not None:
        return banded
    vector = rating.get("vector")
    return _vector_severity(vector, method) if isinstance(vector, str) and vector.strip() else None


def _severity(ratings: Any) -> str:
    """The highest severity among a vulnerability's ratings; `unknown` when none gives one."""
    best = len(SEVERITIES) - 1
    if isinstance(ratings, list):
        for rating in ratings:
            severity = _rating_severity(rating) if isinstance(rating, dict) else None
            if severity is not None:
                best = min(best, SEVERITIES.index(severity))
    return SEVERITIES[best]


def _vulnerabilities(raw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return out
    for vuln in raw:
        if not isinstance(vuln, dict):
            continue
        vid = vuln.get("id")
        analysis = vuln.get("analysis")
        state = analysis.get("state") if isinstance(analysis, dict) else None
        affects = vuln.get("affects")
        refs = [
            a["ref"]
            for a in (affects if isinstance(affects, list) else [])
            if isinstance(a, dict) and isinstance(a.get("ref"), str)
        ]
        out.append(
            {
                "id": vid if isinstance(vid, str) else "",
                "severity": _severity(vuln.get("ratings")),
                "state": state if isinstance(state, str) else None,
                "affects": refs,
            }
        )
    return out


def normalise(
    doc: dict[str, Any],
    *,
    path: str,
    sha256: str,
    encoding: str,
    version: str,
    errors: list[str],
    release: bool = False,
) -> dict[str, Any]:
    """Build the `sboms` item from a CycloneDX document in JSON shape (parsed JSON or converted XML).

    `metadata.component` describes the subject of the BOM and is not listed as a component;
    nested `components[].components[]` are. With `release`, the document's components are
    released as they are normalised (see _components): the document is left without them.
    """
    metadata = doc.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}
    timestamp = meta.get("timestamp")
    return {
        "path": path,
        "sha256": sha256,
        "format": "cyclonedx",
        "encoding": encoding,
        "spec_version": version,
        "valid": not errors,
        "errors": errors[:MAX_ERRORS],
        "has_timestamp": isinstance(timestamp, str) and bool(timestamp.strip()),
        "has_component": isinstance(meta.get("component"), dict),
        "components": _components(doc.get("components"), release),
        "vulnerabilities": _vulnerabilities(doc.get("vulnerabilities")),
    }


# --------------------------------------------------------------------------- JSON schema validation


def validate_json(doc: dict[str, Any], version: str) -> list[str]:
    """Validate a CycloneDX JSON document against the bundled schema of its `specVersion`.

    Returns at most MAX_ERRORS messages, each naming the path of the failing value; an empty
    list means valid. Versions without a JSON schema give one message saying so.
    """
    if version not in JSON_VERSIONS:
        shown = version or "(missing)"
        return [
            f"specVersion: CycloneDX JSON version {shown} is not supported (supported: 1.2 to 1.7); "
            "regenerate the SBOM as CycloneDX 1.2 or newer"
        ]
    try:
        schema = schemas.cyclonedx(version)
    except schemas.SchemaFileError as exc:
        raise CollectError(str(exc), "reinstall govgate; its schema files are incomplete") from None
    return [] if schema.is_valid(doc) else schema_errors(schema, doc)


def schema_errors(schema: schemas.Schema, instance: Any) -> list[str]:
    """Up to MAX_ERRORS messages for `instance`'s violations (the last one notes when more were cut)."""
    found = schema.errors(instance, limit=MAX_ERRORS + 1)
    messages = [str(error) for error in found[:MAX_ERRORS]]
    if len(found) > MAX_ERRORS:
        messages[-1] = "further schema errors not shown (fix these first)"
    return messages
