"""XML: parsed with defusedxml, so DTDs, entities and external references are refused."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from gate.collect.base import CollectError


def parse_xml(data: bytes, name: str) -> Element:
    """Parse XML with defusedxml: DTDs, entities and external references are refused, never resolved."""
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    try:
        return safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CollectError(
            f"XML declares a DTD or entities ({type(exc).__name__}); refused, nothing was resolved",
            "remove the DOCTYPE declaration: CycloneDX XML never needs one",
            path=name,
        ) from None
    except Exception as exc:  # xml.etree.ElementTree.ParseError and expat errors
        raise CollectError(f"malformed XML: {exc}", "fix the XML syntax", path=name) from None
