"""Backstage entities: scaffolder Templates and catalog entities, validated against Backstage's own rules.

A file is Backstage when any of its documents is a mapping whose `apiVersion` starts with
`backstage.io/` or `scaffolder.backstage.io/` and that has a `kind`. `Template` documents become
items of the input document's `templates` section, every other Backstage kind goes to `catalog`;
documents of other formats in the same file are ignored.

Validation applies the JSON Schemas in `schemas/backstage/` (shipped as `gate.schemas`): the
envelope and field-format rules every entity obeys, plus the spec rules of the kind when Backstage
knows the kind and the apiVersion. Unknown kinds get the envelope rules only; the retired
`backstage.io/v1beta2` Template format is reported as such. An invalid entity is still collected
(`valid: false` with short `errors`), so policies can decide what it means.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from gate.collect.base import CollectError, CollectSettings
from gate.collect.files import ParsedFile
from gate.resources import shipped
from gate.schema_check import is_valid, rs_validator

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

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

_JSON_TYPES = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$:-]*")
_MAX_SHOWN = 60
_MAX_MESSAGE = 200
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


def collect(parsed: ParsedFile, settings: CollectSettings) -> dict[str, list[dict[str, Any]]]:
    """Normalise the file's Backstage documents into `templates` and `catalog` items.

    Each item carries the file's path and sha256, the document's index and first line, the lines
    of the nodes reports point at, the entity (JSON-safe), and Backstage's verdict on it (`valid`,
    `errors`). Templates also list their parameter names and steps. `settings` is not needed:
    nothing here depends on the configuration.
    """
    del settings
    out: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
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
    dates), sets become lists, binary becomes base64 text, and non-finite floats their YAML
    spelling (`.nan`, `.inf`, `-.inf`). The parser bounds nesting depth, so recursion is safe.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _yaml_float(value)
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
                f"apiVersion: {_show(api_version)} is not a version Backstage accepts for {kind} ({accepted})"
            )
    if not first:
        quick = _quick_validators().get(schema)
        if quick is not None:
            if is_valid(quick, entity):
                return []
            missing = _required_messages(quick, entity)
            if missing is not None:
                return _cap(missing)
    found = sorted(_validators()[schema].iter_errors(entity), key=_error_order)
    messages: list[str] = []
    for error in found:
        messages.extend(_messages(error))
    return _cap(list(dict.fromkeys([*first, *messages])))


def _accepted_versions(schema_name: str) -> tuple[str, ...]:
    schema = _schema_contents()[schema_name]
    versions = schema["properties"]["apiVersion"]["enum"] if isinstance(schema, dict) else []
    return tuple(str(v) for v in versions)


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
    kept = errors[: MAX_ERRORS - 1]
    return [*kept, f"... and {len(errors) - len(kept)} more errors"]


def _error_order(error: ValidationError) -> tuple[tuple[int, int, str], ...]:
    return _path_order(error.absolute_path)


def _path_order(path: Iterable[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path)


def _required_messages(validator: Any, entity: Mapping[str, Any]) -> list[str] | None:
    """The messages `_messages` gives an entity whose only faults are missing required fields,
    from jsonschema-rs's errors: one `required` list per place, its missing names in its order,
    places in path order. None for any other fault, or two `required` lists failing at one place
    (the Python validator orders those by the schema), when its messages are made instead."""
    from jsonschema_rs import ValidationErrorKind

    missing: dict[tuple[str | int, ...], list[str]] = {}
    source: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    try:
        errors = list(validator.iter_errors(entity))
    except (ValueError, TypeError, OverflowError):
        return None
    for error in errors:
        if not isinstance(error.kind, ValidationErrorKind.Required):
            return None
        place, rule = tuple(error.instance_path), tuple(error.evaluation_path)
        if source.setdefault(place, rule) != rule:
            return None
        missing.setdefault(place, []).append(str(error.kind.property))
    messages = [
        f"{_json_path([*place, name])}: is required"
        for place in sorted(missing, key=_path_order)
        for name in missing[place]
    ]
    return list(dict.fromkeys(messages)) or None


def _messages(error: ValidationError) -> list[str]:
    """Turn one schema error into short `path: problem` messages naming the Backstage rule broken."""
    parts: list[str | int] = list(error.absolute_path)
    where = _json_path(parts)
    schema = error.schema if isinstance(error.schema, dict) else {}
    rule = schema.get("x-rule")
    keyword = error.validator
    value = error.instance
    if "propertyNames" in error.absolute_schema_path:
        return [f"{where}: key {_show(value)} fails {rule or 'the key rule'}{_unrendered(value)}"]
    if keyword == "required" and isinstance(value, dict):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        return [f"{_json_path([*parts, str(name)])}: is required" for name in required if name not in value]
    if keyword == "additionalProperties" and isinstance(value, dict):
        declared = schema.get("properties", {})
        extras = [k for k in value if k not in declared]
        tail = f"; {rule}" if rule else ""
        return [f"{_json_path([*parts, str(k)])}: unexpected field{tail}" for k in extras]
    if keyword == "type":
        expected = _expected_types(error.validator_value)
        placeholder = _placeholder(value)
        if placeholder:
            return [
                f"{where}: a {placeholder} placeholder, not {expected}; the catalog substitutes it "
                "when it reads the file, the gate checks the file as written"
            ]
        return [f"{where}: expected {expected}, found {_json_type(value)}"]
    if keyword in {"pattern", "minLength", "maxLength"} and rule:
        return [f"{where}: {_show(value)} fails {rule}{_unrendered(value)}"]
    if keyword in {"oneOf", "anyOf"} and rule:
        return [f"{where}: {rule}"]
    if keyword == "minLength":
        return [f"{where}: must not be empty"]
    if keyword in {"enum", "const"}:
        allowed: object = error.validator_value
        options = allowed if keyword == "enum" and isinstance(allowed, list) else [allowed]
        shown = ", ".join(_show(v) for v in options)
        return [f"{where}: {_show(value)} is not one of {shown}"]
    return [_clip(f"{where}: {error.message}")]


def _json_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(entity)"


def _expected_types(value: object) -> str:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    return " or ".join(_JSON_TYPES.get(str(n), str(n)) for n in names)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _placeholder(value: Any) -> str | None:
    """The key of a Backstage placeholder (`$text`, `$json`, `$yaml`, ...) standing for a value."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if isinstance(key, str) and key.startswith("$") and len(key) > 1:
            return key
    return None


def _unrendered(value: Any) -> str:
    if isinstance(value, str) and ("${{" in value or "{{" in value or "{%" in value):
        return " (an unrendered template expression: check the rendered file)"
    return ""


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 3] + "..."


def _clip(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


# --- schemas ----------------------------------------------------------------------------------


def _schema_folder() -> Traversable:
    """The shipped `schemas/backstage` folder."""
    return shipped("schemas").joinpath("backstage")


@functools.cache
def _quick_validators() -> dict[str, Any]:
    """jsonschema-rs's validators for the Backstage schemas (gate.schema_check); the names it
    cannot compile are left out, and their entities go to the Python validator alone."""
    contents = _schema_contents()
    by_id = {schema["$id"]: schema for schema in contents.values()}
    out: dict[str, Any] = {}
    for name, schema in contents.items():
        validator = rs_validator(schema, draft="2020-12", resources=by_id, formats=False)
        if validator is not None:
            out[name] = validator
    return out


@functools.cache
def _validators() -> dict[str, Draft202012Validator]:
    """Load and compile the Backstage schemas once per process."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    contents = _schema_contents()
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in contents.values()
    )
    return {name: Draft202012Validator(schema, registry=registry) for name, schema in contents.items()}


@functools.cache
def _schema_contents() -> dict[str, dict[str, Any]]:
    """The shipped Backstage schemas by file name, parsed once per process."""
    folder = _schema_folder()
    contents: dict[str, dict[str, Any]] = {}
    for name in (ENTITY_SCHEMA, *KIND_SCHEMAS.values()):
        try:
            loaded = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CollectError(
                f"cannot load the Backstage schema {name}: {exc}", "reinstall govgate"
            ) from None
        contents[name] = loaded
    return contents


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
    if isinstance(key, float) and not math.isfinite(key):
        return _yaml_float(key)
    if isinstance(key, bytes):
        return base64.b64encode(key).decode("ascii")
    return str(key)


def _yaml_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    return ".inf" if value > 0 else "-.inf"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
