"""Backstage entities: scaffolder Templates and catalog entities, validated against Backstage's own rules.

A file is Backstage when any of its documents is a mapping whose `apiVersion` starts with
`backstage.io/` or `scaffolder.backstage.io/` and that has a `kind`. `Template` documents become
items of the input document's `templates` section, every other Backstage kind goes to `catalog`;
documents of other formats in the same file are ignored.

Validation applies the JSON Schemas in `schemas/backstage/` (through gate.schemas): the
envelope and field-format rules every entity obeys, plus the spec rules of the kind when Backstage
knows the kind and the apiVersion. Unknown kinds get the envelope rules only; the retired
`backstage.io/v1beta2` Template format is reported as such. An invalid entity is still collected
(`valid: false` with short `errors`), so policies can decide what it means.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections import deque
from collections.abc import Mapping
from typing import Any

from gate import resources, schemas
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.parse import ParsedFile

KIND = "backstage"
SECTIONS: tuple[str, ...] = ("templates", "catalog")
"""The input-document sections `collect` fills (unlike other collectors, it returns both)."""

API_PREFIXES: tuple[str, ...] = ("backstage.io/", "scaffolder.backstage.io/")
MAX_ERRORS = 20

LEGACY_TEMPLATE_API = "backstage.io/v1beta2"
TEMPLATE_MIGRATION_URL = (
    "https://backstage.io/docs/features/software-templates/migrating-from-v1beta2-to-v1beta3"
)

ENTITY_SCHEMA = "entity.schema.json"
KIND_SCHEMAS: Mapping[str, str] = {
    "API": "api.schema.json",
    "Component": "component.schema.json",
    "Domain": "domain.schema.json",
    "Group": "group.schema.json",
    "Location": "location.schema.json",
    "Resource": "resource.schema.json",
    "System": "system.schema.json",
    "Template": "template-v1beta3.schema.json",
    "User": "user.schema.json",
}

# Pointers into an entity that reports point at; the rest of the parser's line map is dropped.
REPORT_POINTERS = frozenset(
    {
        "",
        "/metadata",
        "/metadata/name",
        "/metadata/annotations",
        "/metadata/description",
        "/spec",
        "/spec/owner",
        "/spec/lifecycle",
        "/spec/system",
        "/spec/type",
        "/spec/steps",
        "/spec/parameters",
    }
)
_STEP_POINTER = re.compile(r"/spec/steps/\d+(?:/action)?")

_MAX_SCHEMA_NODES = 10_000


# --- recognising ------------------------------------------------------------------------------


def is_backstage_document(document: Any) -> bool:
    """Whether a parsed document is a Backstage entity: a mapping with a Backstage apiVersion and a kind."""
    if not isinstance(document, dict):
        return False
    api_version = document.get("apiVersion")
    return (
        isinstance(api_version, str)
        and api_version.startswith(API_PREFIXES)
        and document.get("kind") is not None
    )


def recognise(parsed: ParsedFile) -> bool:
    """Whether any document of the file is a Backstage entity."""
    return any(is_backstage_document(doc) for doc in parsed.documents)


# --- collecting -------------------------------------------------------------------------------


def collect(parsed: ParsedFile, settings: CollectSettings) -> Sections:
    """Normalise the file's Backstage documents into `templates` and `catalog` items.

    Each item carries the file's path and sha256, the document's index and first line, the lines
    of the nodes reports point at, the entity (JSON-safe), and Backstage's verdict on it (`valid`,
    `errors`). Templates also list their parameter names and steps. `settings` is not needed:
    nothing here depends on the configuration.
    """
    del settings
    out: Sections = {section: [] for section in SECTIONS}
    first_lines = _document_lines(parsed)
    for index, document in enumerate(parsed.documents):
        if not is_backstage_document(document):
            continue
        entity: dict[str, Any] = json_safe(document)
        first = first_lines[index]
        line_map = parsed.lines[index] if index < len(parsed.lines) else {"": first}
        errors = validate_entity(entity)
        item: dict[str, Any] = {
            "path": parsed.path,
            "sha256": parsed.sha256,
            "document": index,
            "line": first,
            "lines": report_lines(line_map),
            "entity": entity,
        }
        if entity.get("kind") == "Template":
            spec = entity.get("spec")
            spec = spec if isinstance(spec, dict) else {}
            item["parameters"] = parameter_names(spec.get("parameters"))
            item["steps"] = template_steps(spec.get("steps"), line_map, first)
            section = "templates"
        else:
            section = "catalog"
        item["valid"] = not errors
        item["errors"] = errors
        out[section].append(item)
    return out


def report_lines(lines: Mapping[str, int]) -> dict[str, int]:
    """Keep the JSON Pointers reports need (entity, metadata, spec fields, steps), ordered by line."""
    kept = [(n, p) for p, n in lines.items() if p in REPORT_POINTERS or _STEP_POINTER.fullmatch(p)]
    return {p: n for n, p in sorted(kept)}


def parameter_names(parameters: Any) -> list[str]:
    """Names of the properties a Template's `spec.parameters` asks for, in order, without repeats.

    `parameters` is one form page (an object) or a list of pages. A page's fields are its
    `properties`, plus those that appear conditionally (`dependencies`, `allOf`/`anyOf`/`oneOf`,
    `if`/`then`/`else`); properties nested inside an object-typed field are not parameters.
    """
    pages = parameters if isinstance(parameters, list) else [parameters]
    names: dict[str, None] = {}
    budget = _MAX_SCHEMA_NODES
    for page in pages:
        queue: deque[Any] = deque([page])
        while queue and budget > 0:
            node = queue.popleft()
            budget -= 1
            if not isinstance(node, dict):
                continue
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update((str(key), None) for key in properties)
            for key in ("allOf", "anyOf", "oneOf"):
                branches = node.get(key)
                if isinstance(branches, list):
                    queue.extend(branches)
            queue.extend(node.get(key) for key in ("if", "then", "else"))
            dependencies = node.get("dependencies")
            if isinstance(dependencies, dict):
                queue.extend(dependencies.values())
    return list(names)


def template_steps(steps: Any, lines: Mapping[str, int], first_line: int) -> list[dict[str, Any]]:
    """The steps of a Template: index, id, name, action (strings or None) and the step's line."""
    if not isinstance(steps, list):
        return []
    out: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        fields = step if isinstance(step, dict) else {}
        line = lines.get(f"/spec/steps/{index}", lines.get("/spec/steps", first_line))
        out.append(
            {
                "index": index,
                "id": _str_or_none(fields.get("id")),
                "name": _str_or_none(fields.get("name")),
                "action": _str_or_none(fields.get("action")),
                "line": line,
            }
        )
    return out


def json_safe(value: Any) -> Any:
    """A copy of a parsed YAML value that JSON (and Rego) can carry unchanged.

    Dates and datetimes become ISO 8601 strings, keys become strings (`true`, `null`, `1`, ISO
    dates), sets become lists and binary becomes base64 text (the parser already spells NaN and
    the infinities as strings). The parser bounds nesting depth, so recursion is safe.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[_json_key(key)] = json_safe(item)
        return out
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for item in value:
            items.append(json_safe(item))
        return items
    if isinstance(value, set | frozenset):
        return sorted(_json_key(item) for item in value)
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


# --- validating -------------------------------------------------------------------------------


def validate_entity(entity: Mapping[str, Any]) -> list[str]:
    """Check a JSON-safe entity against Backstage's rules; return at most MAX_ERRORS short messages.

    An empty list means valid. Known kinds at a version Backstage accepts get their kind schema;
    unknown kinds get the envelope rules only; a known kind at another version, and the retired
    v1beta2 Template, get the envelope rules and an error naming the problem.
    """
    first: list[str] = []
    schema = ENTITY_SCHEMA
    kind = entity.get("kind")
    api_version = entity.get("apiVersion")
    if isinstance(kind, str):
        kind_schema = KIND_SCHEMAS.get(kind)
        if kind_schema is None:
            first.extend(_kind_case_hint(kind))
        elif api_version in _accepted_versions(kind_schema):
            schema = kind_schema
        elif kind == "Template" and api_version == LEGACY_TEMPLATE_API:
            first.append(
                f"apiVersion: {LEGACY_TEMPLATE_API} is the retired v1beta2 Template format; "
                f"migrate it to scaffolder.backstage.io/v1beta3 ({TEMPLATE_MIGRATION_URL})"
            )
        elif isinstance(api_version, str):  # a non-string apiVersion fails the envelope rules
            accepted = ", ".join(_accepted_versions(kind_schema))
            first.append(
                f"apiVersion: {schemas.show(api_version)} is not a version Backstage accepts for {kind} ({accepted})"
            )
    found = [] if first else _schema(schema).errors(entity, limit=MAX_ERRORS + 1)
    messages = [_explained(entity, error) for error in found]
    return _cap(list(dict.fromkeys([*first, *messages])))


def _kind_case_hint(kind: str) -> list[str]:
    for known in KIND_SCHEMAS:
        if known.lower() == kind.lower():
            return [
                f"kind: {kind!r} is not a Backstage kind (kinds are case-sensitive); did you mean {known!r}?"
            ]
    return []


def _cap(errors: list[str]) -> list[str]:
    if len(errors) <= MAX_ERRORS:
        return errors
    return [*errors[: MAX_ERRORS - 1], "further schema errors not shown (fix these first)"]


def _explained(entity: Mapping[str, Any], error: schemas.SchemaError) -> str:
    """The error's line, with what Backstage files often hold instead of a value: a placeholder
    (`$text: ./api.yaml`) the catalog substitutes when it reads the file, or a template
    expression (`${{ values.name }}`) of a skeleton file that is checked unrendered."""
    value: Any = entity
    for part in error.path:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            value = None
            break
    if isinstance(value, dict) and len(value) == 1 and error.problem.startswith("expected "):
        (key,) = value
        if isinstance(key, str) and key.startswith("$") and len(key) > 1:
            expected = error.problem.removeprefix("expected ").split(",")[0]
            return (
                f"{error.where}: a {key} placeholder, not {expected}; the catalog substitutes it "
                "when it reads the file, the gate checks the file as written"
            )
    if isinstance(value, str) and ("${{" in value or "{{" in value or "{%" in value):
        return f"{error} (an unrendered template expression: check the rendered file)"
    return str(error)


# --- schemas ----------------------------------------------------------------------------------


def _schema(name: str) -> schemas.Schema:
    """The compiled Backstage schema `name` (gate.schemas caches it)."""
    try:
        return schemas.shipped(f"backstage/{name}")
    except schemas.SchemaFileError as exc:
        raise CollectError(str(exc), "reinstall govgate") from None


def _accepted_versions(schema_name: str) -> tuple[str, ...]:
    try:
        schema = resources.schema(f"backstage/{schema_name}")
    except (OSError, ValueError) as exc:
        raise CollectError(
            f"cannot load the Backstage schema {schema_name}: {exc}", "reinstall govgate"
        ) from None
    versions = schema["properties"]["apiVersion"]["enum"] if isinstance(schema, dict) else []
    return tuple(str(v) for v in versions)


# --- small helpers ----------------------------------------------------------------------------


def _document_lines(parsed: ParsedFile) -> list[int]:
    """The first line of each document; computed for JSON and JSON Lines, which have no line map."""
    count = len(parsed.documents)
    if len(parsed.doc_lines) == count:
        return list(parsed.doc_lines)
    text = parsed.text
    if parsed.syntax == "jsonl":
        starts = [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(starts) == count:
            return starts
    leading = text[: len(text) - len(text.lstrip())]
    return [leading.count("\n") + 1] * count


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, dt.date):
        return key.isoformat()
    if isinstance(key, bytes):
        return base64.b64encode(key).decode("ascii")
    return str(key)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
