"""CycloneDX XML: convert to the CycloneDX JSON shape, and validate against the bundled XSDs.

Only what the normalised SBOM item needs is converted: metadata timestamp and component,
components (recursively) with type, name, version, purl, hashes and licenses, and
vulnerabilities with ratings (severity, score, method, vector), VEX analysis state and affected
refs. The result has the same keys and nesting as a CycloneDX JSON document, so one normaliser
serves both encodings.

Validation re-parses the bytes with lxml (no network, no DTD, no entity expansion: gate.collect.xml has
already refused DTDs) and checks them against cyclonedx-python-lib's bundled XSD for the
document's version (1.0 to 1.7). Each XSD is compiled once per process.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from gate.collect.base import CollectError

if TYPE_CHECKING:
    from lxml import etree

NAMESPACE_RE = re.compile(r"^\{http://cyclonedx\.org/schema/bom/(\d+\.\d+)\}bom$")
XSD_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
MAX_ERRORS = 20
_MESSAGE_LIMIT = 240
_RATING_FIELDS = ("severity", "score", "method", "vector")


def spec_version(root: Element) -> str | None:
    """The CycloneDX version named by the root element's namespace, or None if it is not a BOM."""
    tag: object = root.tag  # a comment or processing instruction has a function for a tag
    match = NAMESPACE_RE.match(tag) if isinstance(tag, str) else None
    return match.group(1) if match else None


def _text(parent: Element, tag: str) -> str | None:
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _licenses(element: Element, ns: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for child in element:
        if child.tag == f"{ns}license":
            lic: dict[str, Any] = {}
            license_id = _text(child, f"{ns}id")
            name = _text(child, f"{ns}name")
            if license_id is not None:
                lic["id"] = license_id
            if name is not None:
                lic["name"] = name
            out.append({"license": lic})
        elif child.tag == f"{ns}expression" and child.text is not None and child.text.strip():
            out.append({"expression": child.text.strip()})
    return out


def _component(element: Element, ns: str) -> dict[str, Any]:
    """One <component> without its children components (the caller links those)."""
    comp: dict[str, Any] = {}
    ctype = element.get("type")
    if ctype is not None:
        comp["type"] = ctype
    for key in ("name", "version", "purl"):
        value = _text(element, f"{ns}{key}")
        if value is not None:
            comp[key] = value
    hashes = element.find(f"{ns}hashes")
    if hashes is not None:
        comp["hashes"] = [
            {"alg": h.get("alg"), "content": (h.text or "").strip()} for h in hashes.findall(f"{ns}hash")
        ]
    licenses = element.find(f"{ns}licenses")
    if licenses is not None:
        comp["licenses"] = _licenses(licenses, ns)
    return comp


def _components(container: Element, ns: str) -> list[dict[str, Any]]:
    """Convert <components> and every nested <components>, iteratively (no recursion limit)."""
    top: list[dict[str, Any]] = []
    stack: list[tuple[Element, list[dict[str, Any]]]] = [(container, top)]
    while stack:
        parent, out = stack.pop()
        for child in parent.findall(f"{ns}component"):
            comp = _component(child, ns)
            out.append(comp)
            nested = child.find(f"{ns}components")
            if nested is not None:
                comp["components"] = []
                stack.append((nested, comp["components"]))
    return top


def _vulnerabilities(container: Element, ns: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for vuln in container.findall(f"{ns}vulnerability"):
        item: dict[str, Any] = {}
        vid = _text(vuln, f"{ns}id")
        if vid is not None:
            item["id"] = vid
        ratings = vuln.find(f"{ns}ratings")
        if ratings is not None:
            item["ratings"] = []
            for rating in ratings.findall(f"{ns}rating"):
                # the score stays text: the normaliser reads numbers written either way
                item["ratings"].append(
                    {
                        key: value
                        for key in _RATING_FIELDS
                        if (value := _text(rating, f"{ns}{key}")) is not None
                    }
                )
        analysis = vuln.find(f"{ns}analysis")
        if analysis is not None:
            state = _text(analysis, f"{ns}state")
            item["analysis"] = {"state": state} if state is not None else {}
        affects = vuln.find(f"{ns}affects")
        if affects is not None:
            item["affects"] = []
            for target in affects.findall(f"{ns}target"):
                ref = _text(target, f"{ns}ref")
                item["affects"].append({"ref": ref} if ref is not None else {})
        out.append(item)
    return out


def to_json_shape(root: Element) -> dict[str, Any]:
    """Convert a CycloneDX XML document into the subset of the CycloneDX JSON shape we normalise."""
    version = spec_version(root)
    if version is None:
        raise ValueError("not a CycloneDX XML root element")
    ns = root.tag[: root.tag.index("}") + 1]
    doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": version}
    metadata = root.find(f"{ns}metadata")
    if metadata is not None:
        meta: dict[str, Any] = {}
        timestamp = _text(metadata, f"{ns}timestamp")
        if timestamp is not None:
            meta["timestamp"] = timestamp
        component = metadata.find(f"{ns}component")
        if component is not None:
            meta["component"] = _component(component, ns)
        doc["metadata"] = meta
    components = root.find(f"{ns}components")
    if components is not None:
        doc["components"] = _components(components, ns)
    vulnerabilities = root.find(f"{ns}vulnerabilities")
    if vulnerabilities is not None:
        doc["vulnerabilities"] = _vulnerabilities(vulnerabilities, ns)
    return doc


@lru_cache(maxsize=1)
def resource_dir() -> Path:
    """cyclonedx-python-lib's bundled schema folder (XSDs and JSON schemas), found without importing it."""
    from importlib.util import find_spec

    spec = find_spec("cyclonedx")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "schema" / "_res"
        if candidate.is_dir():
            return candidate
    raise CollectError(
        "cyclonedx-python-lib's bundled CycloneDX schemas were not found",
        "reinstall govgate so that its dependency cyclonedx-python-lib is installed",
    )


@lru_cache(maxsize=len(XSD_VERSIONS))
def _xml_schema(version: str) -> etree.XMLSchema:
    """Compile the bundled XSD for one version; imports (spdx.xsd) resolve beside it, never online."""
    from lxml import etree

    path = resource_dir() / f"bom-{version}.SNAPSHOT.xsd"
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def _element_path(element: Any) -> str:
    """A readable path like /bom/components/component[3] (1-based among same-named siblings)."""
    parts: list[str] = []
    node = element
    while node is not None:
        tag = node.tag if isinstance(node.tag, str) else "?"
        local = tag.rsplit("}", 1)[-1]
        parent = node.getparent()
        if parent is not None:
            same = [s for s in parent if s.tag == node.tag]
            if len(same) > 1:
                local = f"{local}[{same.index(node) + 1}]"
        parts.append(local)
        node = parent
    return "/" + "/".join(reversed(parts))


_NS_IN_MESSAGE = re.compile(r"\{http://cyclonedx\.org/schema/[^}]*\}")
_LONG_SET = re.compile(r"\{[^{}]{60,}\}")


def _short_message(message: str) -> str:
    text = _NS_IN_MESSAGE.sub("", message)
    text = _LONG_SET.sub("{…}", text)
    text = text.replace("[facet 'enumeration'] ", "")
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def validate(data: bytes, version: str) -> list[str]:
    """Validate CycloneDX XML bytes against the bundled XSD; return at most MAX_ERRORS messages.

    An empty list means valid. A version without a bundled XSD yields one message saying so.
    """
    if version not in XSD_VERSIONS:
        return [
            f"CycloneDX XML version {version} is not supported (supported: 1.0 to 1.7); "
            "regenerate the SBOM as CycloneDX 1.2 or newer"
        ]
    from lxml import etree

    schema = _xml_schema(version)
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        document = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:  # gate.collect.xml parsed it already; lxml may still be stricter
        return [f"XML syntax: {exc}"[:_MESSAGE_LIMIT]]
    if schema.validate(document):
        return []
    tree = document.getroottree()
    errors: list[str] = []
    for entry in schema.error_log:
        if len(errors) >= MAX_ERRORS:
            break
        where = entry.path or "/"
        try:
            found = tree.xpath(entry.path) if entry.path else []
        except etree.XPathError:
            found = []
        if isinstance(found, list) and len(found) == 1 and isinstance(found[0], etree._Element):
            where = _element_path(found[0])
        errors.append(f"{where} (line {entry.line}): {_short_message(entry.message)}")
    return errors or ["document does not match the CycloneDX XML schema"]
