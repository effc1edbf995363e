"""CycloneDX SBOMs, JSON 1.2 to 1.7 and XML 1.0 to 1.7: recognise, validate, normalise into `sboms` items.

Policies see the raw document, normalised by us, never cyclonedx-python-lib's object model
(`Bom.from_json` accepts schema-invalid documents, drops sections and invents `bom-ref`s).
The library is used only for the JSON schemas and XSDs it bundles.

Schema validation uses jsonschema with the bundled schema for the document's `specVersion`:
- without the `iri`/`iri-reference` format checks, which take minutes on a 1 MB BOM
  (upstream CycloneDX/cyclonedx-python-lib#862);
- with `$ref`s resolved once, locally, through a `referencing` registry (no retrieval: nothing
  is ever fetched) and inlined, so validation does no reference lookups;
- with faster `uniqueItems`, `enum`, `properties` and `items` keywords: non-recursive
  subschemas are compiled once into exact predicates, and jsonschema descends only into values
  a predicate rejects, so the verdicts are jsonschema's and so are the error messages (shortened
  for long enums and arrays).
Compiled validators are cached per version. The 2 MB keycloak BOM validates in ~0.1 s, where
plain jsonschema takes seconds and cyclonedx-python-lib's validator minutes.

A schema-invalid but parseable SBOM is collected with `valid: false` and the errors; only content
that is not a CycloneDX document at all raises CollectError. Components' licenses are normalised
with the SPDX license list (gate.collect.licenses) and their purls per the purl spec
(gate.collect.purls), the values as written kept beside.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from gate.collect import cyclonedx_xml
from gate.collect.base import CollectError, CollectSettings
from gate.collect.licenses import Licenses, cyclonedx_licenses
from gate.collect.purls import component_fields
from gate.schema_check import Check, quick_validator

if TYPE_CHECKING:
    from jsonschema import FormatChecker
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry

    from gate.collect.files import ParsedFile

KIND = "sbom"
SECTION = "sboms"

JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
MAX_ERRORS = 20
SEVERITIES = ("critical", "high", "medium", "low", "info", "none", "unknown")
SKIPPED_FORMATS = frozenset({"iri", "iri-reference"})
_EXTERNAL_SCHEMAS = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
)
_SCHEMA_BASE = "http://cyclonedx.org/schema/"
_MESSAGE_LIMIT = 240
_REPR_LIMIT = 60


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


def collect(parsed: ParsedFile, settings: CollectSettings) -> list[dict[str, Any]]:
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
    return [
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


# --------------------------------------------------------------------------- normalisation


def _opt_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _component(comp: dict[str, Any], licenses_of: Callable[[Any], Licenses], same: _Same) -> dict[str, Any]:
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
    fields = component_fields(purl)
    if fields["purl_normalised"] == purl:
        fields["purl_normalised"] = purl  # one string, not two equal ones
    out = {
        "name": name if isinstance(name, str) else "",
        "version": same(version if isinstance(version, str) else _opt_str(version)),
        "purl": purl,
        "licenses": licenses,
        "license_ids": license_ids,
        "hashes": hashes or same.no_hashes,
        "type": same(kind if isinstance(kind, str) else _opt_str(kind)),
        **fields,
    }
    if invalid:
        out["invalid_licenses"] = invalid
    return out


class _Same:
    """One object for equal values that many components of a BOM share (versions, types, no
    hashes), instead of one each: the input document is never changed once assembled, and a BOM
    of 1,000,000 components is then ~100 MB smaller."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self.no_hashes: dict[str, str] = {}

    def __call__(self, value: str | None) -> str | None:
        return value if value is None else self._seen.setdefault(value, value)


def _license_memo() -> Callable[[Any], Licenses]:
    """cyclonedx_licenses, remembered per distinct `licenses` array of one BOM (components mostly
    share a handful); components with equal arrays share one result (see _Same)."""
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
    same = _Same()
    stack: list[Iterator[Any]] = [_released(top) if release else iter(top)]
    while stack:
        comp = next(stack[-1], None)
        if comp is None:
            stack.pop()
            continue
        if not isinstance(comp, dict):
            continue
        out.append(_component(comp, licenses_of, same))
        children = comp.get("components")
        if isinstance(children, list) and children:
            stack.append(iter(children))
    return out


def _released(items: list[Any]) -> Iterator[Any]:
    """The items of a list, each replaced by None in it as it is handed out."""
    for i in range(len(items)):
        item, items[i] = items[i], None
        yield item


def _severity(ratings: Any) -> str:
    best = len(SEVERITIES) - 1
    if isinstance(ratings, list):
        for rating in ratings:
            severity = rating.get("severity") if isinstance(rating, dict) else None
            if isinstance(severity, str) and severity.lower() in SEVERITIES:
                best = min(best, SEVERITIES.index(severity.lower()))
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

    Returns at most MAX_ERRORS messages, each naming the JSON path of the failing node; an
    empty list means valid. Versions without a JSON schema give one message saying so.
    """
    if version not in JSON_VERSIONS:
        shown = version or "(missing)"
        return [
            f"$.specVersion: CycloneDX JSON version {shown} is not supported (supported: 1.2 to 1.7); "
            "regenerate the SBOM as CycloneDX 1.2 or newer"
        ]
    quick = _quick_validator(version)
    if quick is not None and quick(doc):
        return []
    return schema_errors(_cyclonedx_validator(version), doc)


@lru_cache(maxsize=len(JSON_VERSIONS))
def _bundled_schema(version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bundled schema of a version and the schemas it references, by URI."""
    folder = cyclonedx_xml.resource_dir()
    schema = json.loads((folder / f"bom-{version}.SNAPSHOT.schema.json").read_text("utf-8"))
    resources = {
        _SCHEMA_BASE + name: json.loads((folder / name).read_text("utf-8"))
        for name in _EXTERNAL_SCHEMAS
        if (folder / name).is_file()
    }
    return schema, resources


@lru_cache(maxsize=len(JSON_VERSIONS))
def _quick_validator(version: str) -> Check | None:
    schema, resources = _bundled_schema(version)
    return quick_validator(schema, draft="7", resources=resources, skip_formats=tuple(SKIPPED_FORMATS))


@lru_cache(maxsize=len(JSON_VERSIONS))
def _cyclonedx_validator(version: str) -> Validator:
    schema, resources = _bundled_schema(version)
    return compile_validator(schema, resources)


def compile_validator(schema: dict[str, Any], resources: dict[str, Any]) -> Validator:
    """A draft-07 validator for `schema`, its `$ref`s resolved against `resources` (URI -> schema)
    and inlined; format checks on, except `iri` / `iri-reference`. Nothing is fetched.
    """
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    pairs: list[tuple[str, Any]] = []
    for uri, contents in resources.items():
        resource = DRAFT7.create_resource(contents)
        pairs.append((uri, resource))
        # the bundled files are renamed (`*.SNAPSHOT.schema.json`) but keep their original `$id`,
        # which relative references inside them resolve against: register both names
        own_id = contents.get("$id") if isinstance(contents, dict) else None
        if isinstance(own_id, str) and own_id != uri:
            pairs.append((own_id, resource))
    registry: Registry[Any] = Registry().with_resources(pairs)
    own_root_id = schema.get("$id")
    base = own_root_id if isinstance(own_root_id, str) else "urn:govgate:schema"
    registry = registry.with_resource(base, DRAFT7.create_resource(schema))
    inlined = _inline_refs(schema, registry, base)
    validator_class = _fast_validator_class()
    validator: Validator = validator_class(inlined, registry=registry, format_checker=_format_checker())
    return validator


@lru_cache(maxsize=1)
def _format_checker() -> FormatChecker:
    """Draft 7's format checks (those whose libraries are installed), less `iri` and `iri-reference`."""
    from jsonschema import Draft7Validator, FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = {
        name: check
        for name, check in Draft7Validator.FORMAT_CHECKER.checkers.items()
        if name not in SKIPPED_FORMATS
    }
    return checker


_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
_SCHEMA_ONE = (
    "additionalProperties",
    "additionalItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


def _inline_refs(root: dict[str, Any], registry: Registry[Any], base: str) -> dict[str, Any]:
    """A copy of `root` in which every `{"$ref": …}` subschema is replaced by the schema it points to.

    The copy is a graph (recursive definitions become cycles). References are looked up in the
    untouched originals, each against the document it was written in. In draft 7 a `$ref` makes
    its sibling keywords ignored, so the replacement is exact. Nested `$id` / `$schema` keywords
    are left out: they would make jsonschema switch base URI or validator class at every node,
    and every reference is resolved already.
    """
    from referencing.exceptions import Unresolvable

    copies: dict[int, dict[str, Any]] = {}
    work: list[tuple[dict[str, Any], Any, dict[str, Any]]] = []

    def copy_of(node: Any, resolver: Any) -> Any:
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                resolved = resolver.lookup(node["$ref"])
            except Unresolvable as exc:
                raise CollectError(
                    f"bundled schema has an unresolvable $ref {node['$ref']!r} ({type(exc).__name__})",
                    "reinstall govgate; its schema files are incomplete",
                ) from None
            node, resolver = resolved.contents, resolved.resolver
            hops += 1
            if hops > 64:
                raise CollectError("bundled schema has a $ref loop", "reinstall govgate")
        if not isinstance(node, dict):
            return node
        copy = copies.get(id(node))
        if copy is None:
            copy = copies[id(node)] = {}
            work.append((node, resolver, copy))
        return copy

    new_root: dict[str, Any] = copy_of(root, registry.resolver(base_uri=base))
    while work:
        node, resolver, copy = work.pop()
        for key, value in node.items():
            if key in ("$id", "$schema") and node is not root:
                continue
            if (key in _SCHEMA_MAPS or key == "dependencies") and isinstance(value, dict):
                # `dependencies` values may be arrays of names: copy_of passes those through
                copy[key] = {name: copy_of(sub, resolver) for name, sub in value.items()}
            elif key in _SCHEMA_ONE or (key == "items" and isinstance(value, dict)):
                copy[key] = copy_of(value, resolver)
            elif (key in _SCHEMA_LISTS or key == "items") and isinstance(value, list):
                copy[key] = [copy_of(sub, resolver) for sub in value]
            else:
                copy[key] = value
    return new_root


# ---- faster keywords: the same verdicts and messages as jsonschema's, with less work
#
# jsonschema creates a validator object for every (subschema, instance) pair it descends into;
# on a 10,000-component BOM that is most of the time. Non-recursive subschemas (a hash, a license
# choice, an external reference, a dependency …) are therefore compiled once into exact
# predicates for the keywords below; `properties` and `items` skip descending into a value the
# predicate accepts. A value it rejects, and every schema using a keyword outside this set or
# reaching back to itself (a component, which nests components), goes through jsonschema, which
# alone reports errors. tests/collect/test_cyclonedx.py checks the verdicts against plain jsonschema.

_Predicate = Callable[[Any], bool]
_UNSUPPORTED = object()
_predicate_cache: dict[int, tuple[Any, Any]] = {}
_enum_cache: dict[int, tuple[Any, frozenset[str]]] = {}


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPE_TESTS: dict[str, _Predicate] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "integer": _is_integer,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _predicate(schema: Any) -> _Predicate | None:
    """An exact validity test for `schema`, or None when jsonschema must decide (see above)."""
    cached = _predicate_cache.get(id(schema))
    if cached is not None and cached[0] is schema:
        return None if cached[1] is _UNSUPPORTED else cast("_Predicate", cached[1])
    return _compile(schema, set())


def _compile(schema: Any, active: set[int]) -> _Predicate | None:
    cached = _predicate_cache.get(id(schema))
    if cached is not None and cached[0] is schema:
        return None if cached[1] is _UNSUPPORTED else cast("_Predicate", cached[1])
    if id(schema) in active:  # recursive schema: leave it to jsonschema
        return None
    active.add(id(schema))
    try:
        result = _compile_node(schema, active)
    finally:
        active.discard(id(schema))
    _predicate_cache[id(schema)] = (schema, _UNSUPPORTED if result is None else result)
    return result


def _compile_node(schema: Any, active: set[int]) -> _Predicate | None:
    from jsonschema import Draft7Validator

    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict):
        return None
    checks: list[_Predicate] = []
    keywords = Draft7Validator.VALIDATORS
    for key, arg in schema.items():
        if key not in keywords:
            continue  # annotations and unknown keywords: ignored by jsonschema too
        check = _compile_keyword(key, arg, schema, active)
        if check is None:
            return None
        checks.append(check)
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    bundle = tuple(checks)

    def all_of(value: Any) -> bool:
        for check in bundle:  # noqa: SIM110 - a plain loop: no generator per call on a hot path
            if not check(value):
                return False
        return True

    return all_of


def _compile_keyword(key: str, arg: Any, schema: dict[str, Any], active: set[int]) -> _Predicate | None:
    if key == "type":
        names = [arg] if isinstance(arg, str) else arg
        if not isinstance(names, list) or not all(isinstance(n, str) and n in _TYPE_TESTS for n in names):
            return None
        tests = tuple(_TYPE_TESTS[n] for n in names)
        return tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))
    if key == "enum":
        if not isinstance(arg, list):
            return None
        if all(isinstance(e, str) for e in arg):
            strings = frozenset(arg)
            return lambda v: isinstance(v, str) and v in strings
        frozen = frozenset(_freeze(e) for e in arg)
        return lambda v: _freeze(v) in frozen
    if key == "const":
        target = _freeze(arg)
        return lambda v: _freeze(v) == target
    if key == "pattern" and isinstance(arg, str):
        regex = re.compile(arg)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None
    if key == "format" and isinstance(arg, str):
        checker = _format_checker()
        return lambda v: checker.conforms(v, arg)
    if key in ("minLength", "maxLength") and isinstance(arg, int):
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= arg
        return lambda v: not isinstance(v, str) or len(v) <= arg
    if key in ("minItems", "maxItems") and isinstance(arg, int):
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= arg
        return lambda v: not isinstance(v, list) or len(v) <= arg
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if not isinstance(arg, int | float) or isinstance(arg, bool):
            return None
        compare: Callable[[Any], bool] = {
            "minimum": lambda v: v >= arg,
            "maximum": lambda v: v <= arg,
            "exclusiveMinimum": lambda v: v > arg,
            "exclusiveMaximum": lambda v: v < arg,
        }[key]
        return lambda v: isinstance(v, bool) or not isinstance(v, int | float) or compare(v)
    if key == "required" and isinstance(arg, list):
        names_required = tuple(arg)
        return lambda v: not isinstance(v, dict) or all(n in v for n in names_required)
    if key == "uniqueItems":
        if not arg:
            return lambda v: True
        return lambda v: not isinstance(v, list) or len({_freeze(i) for i in v}) == len(v)
    if key == "items" and isinstance(arg, dict | bool):
        item = _compile(arg, active)
        if item is None:
            return None
        return lambda v: not isinstance(v, list) or all(item(i) for i in v)
    if key == "items" and isinstance(arg, list):  # tuple form, with `additionalItems` for the rest
        compiled = [_compile(sub, active) for sub in arg]
        rest = _compile(schema.get("additionalItems", True), active)
        if rest is None or any(sub is None for sub in compiled):
            return None
        heads = tuple(cast("_Predicate", sub) for sub in compiled)
        return lambda v: (
            not isinstance(v, list)
            or (
                all(test(i) for test, i in zip(heads, v, strict=False))
                and all(rest(i) for i in v[len(heads) :])
            )
        )
    if key == "additionalItems":
        return lambda v: True  # checked with a tuple `items`; without one, draft 7 ignores it
    if key in ("allOf", "anyOf", "oneOf") and isinstance(arg, list):
        subs = [_compile(sub, active) for sub in arg]
        if any(sub is None for sub in subs):
            return None
        parts = tuple(cast("_Predicate", sub) for sub in subs)
        if key == "allOf":
            return lambda v: all(p(v) for p in parts)
        if key == "anyOf":
            return lambda v: any(p(v) for p in parts)
        return lambda v: sum(1 for p in parts if p(v)) == 1
    if key == "not":
        inner = _compile(arg, active)
        return None if inner is None else (lambda v: not inner(v))
    if key in ("properties", "patternProperties", "additionalProperties"):
        return _compile_object(key, schema, active)
    return None


def _compile_object(key: str, schema: dict[str, Any], active: set[int]) -> _Predicate | None:
    """`properties`, `patternProperties` and `additionalProperties` together, compiled once (on `properties`)."""
    if key != "properties" and "properties" in schema:
        return lambda v: True  # handled with `properties`
    if key == "additionalProperties" and "patternProperties" in schema:
        return lambda v: True  # handled with `patternProperties`
    props_raw = schema.get("properties", {})
    patterns_raw = schema.get("patternProperties", {})
    extra_raw = schema.get("additionalProperties", True)
    if not isinstance(props_raw, dict) or not isinstance(patterns_raw, dict):
        return None
    props: dict[str, _Predicate] = {}
    for name, sub in props_raw.items():
        compiled = _compile(sub, active)
        if compiled is None:
            return None
        props[name] = compiled
    patterns: list[tuple[re.Pattern[str], _Predicate]] = []
    for pattern, sub in patterns_raw.items():
        compiled = _compile(sub, active)
        if compiled is None:
            return None
        patterns.append((re.compile(pattern), compiled))
    extra = _compile(extra_raw, active)
    if extra is None:
        return None

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            known = props.get(name)
            if known is not None and not known(item):
                return False
            matched = False
            for regex, test in patterns:
                if regex.search(name):
                    matched = True
                    if not test(item):
                        return False
            if known is None and not matched and not extra(item):
                return False
        return True

    return check


def _properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    for name, subschema in properties.items():
        if name in instance:
            value = instance[name]
            test = _predicate(subschema)
            if test is not None and test(value):
                continue
            yield from validator.descend(value, subschema, path=name, schema_path=name)


def _items(validator: Any, items: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    from jsonschema import Draft7Validator

    if isinstance(items, dict) and isinstance(instance, list):
        test = _predicate(items)
        for index, value in enumerate(instance):
            if test is not None and test(value):
                continue
            yield from validator.descend(value, items, path=index)
        return
    yield from Draft7Validator.VALIDATORS["items"](validator, items, instance, schema)


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import ValidationError

    if isinstance(instance, str) and isinstance(enums, list):
        cached = _enum_cache.get(id(enums))
        if cached is None or cached[0] is not enums:
            cached = (enums, frozenset(e for e in enums if isinstance(e, str)))
            _enum_cache[id(enums)] = cached
        if instance in cached[1]:
            return
        if len(enums) > 12:
            yield ValidationError(f"{instance!r} is not one of the {len(enums)} allowed values")
            return
    yield from Draft7Validator.VALIDATORS["enum"](validator, enums, instance, schema)


def _freeze(value: Any) -> Any:
    """A hashable form with JSON equality: 1 == 1.0, but true != 1 and key order does not matter.

    Objects become frozensets of (key, value) pairs, arrays tuples, booleans `(bool, b)` pairs
    (a pair starting with a type object cannot come from JSON); strings, numbers and null stay.
    """
    kind = type(value)
    if kind is dict:
        return frozenset([(k, _freeze(v)) for k, v in value.items()])
    if kind is list:
        return tuple([_freeze(v) for v in value])
    if kind is bool:
        return (bool, value)
    return value


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    from jsonschema.exceptions import ValidationError

    if not unique or not isinstance(instance, list):
        return
    seen: set[Any] = set()
    for value in instance:
        frozen = _freeze(value)
        if frozen in seen:
            yield ValidationError(f"array of {len(instance)} items has non-unique elements")
            return
        seen.add(frozen)


@lru_cache(maxsize=1)
def _fast_validator_class() -> Any:
    from jsonschema import Draft7Validator, validators

    return validators.extend(  # type: ignore[no-untyped-call]
        Draft7Validator,
        validators={"properties": _properties, "items": _items, "enum": _enum, "uniqueItems": _unique_items},
    )


# ---- error messages


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 1] + "…"


def describe_error(error: ValidationError) -> str:
    """One short line for a schema error: the JSON path of the failing node, then what is wrong.

    For a failed `oneOf`/`anyOf` the most relevant sub-error is shown; long values are elided.
    """
    from jsonschema.exceptions import best_match

    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = best_match(error.context)
        if deepest is not None:
            error = deepest
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        full = repr(error.instance)
        if full in message:
            message = message.replace(full, _short_repr(error.instance))
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return f"{error.json_path}: {message}"


def schema_errors(validator: Validator, instance: Any) -> list[str]:
    """Up to MAX_ERRORS described errors of `instance` (the last one notes when more were cut)."""
    errors: list[str] = []
    for error in validator.iter_errors(instance):
        if len(errors) == MAX_ERRORS:
            errors[-1] = "further schema errors not shown (fix these first)"
            break
        errors.append(describe_error(error))
    return errors
