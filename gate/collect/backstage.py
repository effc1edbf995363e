"""Backstage entities: scaffolder Templates and catalog entities, validated against Backstage's own rules.

A file is Backstage when any of its documents is a mapping whose `apiVersion` starts with
`backstage.io/` or `scaffolder.backstage.io/` and that has a `kind`. `Template` documents become
items of the input document's `templates` section, every other Backstage kind goes to `catalog`;
documents of other formats in the same file are ignored.

Before judging an entity, its placeholders are substituted as Backstage's catalog does
(PlaceholderProcessor): a mapping whose one key is `$text`, `$json`, `$yaml`, `$openapi` or
`$asyncapi` becomes the file it names, read relative to the entity's file (`$text`, `$openapi` and
`$asyncapi` give the text, `$json` and `$yaml` the parsed value). Only files inside the checked
folder are read (the folder named on the command line; for a file named, its own folder), through
no link out of it, at most MAX_PLACEHOLDERS per file and no more bytes in all than the file-size
limit; a URL is never fetched.
A placeholder that cannot be resolved is left as written, the rules are not applied to it, and the
item's `placeholders` list says why (CATALOG-PLACEHOLDER-UNCHECKED reports it).

Validation applies Backstage's own JSON Schemas, as @backstage/catalog-model and
@backstage/plugin-scaffolder-common publish them (`schemas/backstage/`), and the field-format rules
the catalog enforces besides (`schemas/backstage-entity-policies.schema.json`). Known kinds get their
kind schema; unknown kinds get the Entity schema only; the retired `backstage.io/v1beta2` Template
format is reported as such. An invalid entity is still collected (`valid: false` with short
`errors`), so policies can decide what it means.

A non-Template entity holding an unrendered template expression (`${{ values.name }}`, `{% if %}`)
is a scaffolder skeleton file, not a catalog file: it is refused (Unrendered), even where the
expression happens to be valid YAML. Templates name the folders their `fetch:template` steps copy
(`template_source_folders`), which a folder walk leaves out.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gate import resources, schemas
from gate.collect.base import CollectError, CollectSettings, Sections
from gate.collect.parse import ParsedFile, parse_bytes
from gate.collect.read import decode_text, read_bytes

KIND = "backstage"
SECTIONS: tuple[str, ...] = ("templates", "catalog")
"""The input-document sections `collect` fills (unlike other collectors, it returns both)."""

API_PREFIXES: tuple[str, ...] = ("backstage.io/", "scaffolder.backstage.io/")
MAX_ERRORS = 20

LEGACY_TEMPLATE_API = "backstage.io/v1beta2"
TEMPLATE_MIGRATION_URL = (
    "https://backstage.io/docs/features/software-templates/migrating-from-v1beta2-to-v1beta3"
)

# Backstage's published schemas (schemas/backstage/, file names as in the packages), draft-07 with
# relative `$id`s ("Entity", "common#relation") that resolve against this base.
PUBLISHED_BASE = "json-schema:///"
SHARED_SCHEMAS = (
    "Entity.schema.json",
    "EntityEnvelope.schema.json",
    "EntityMeta.schema.json",
    "common.schema.json",
)
ENTITY_SCHEMA = "Entity.schema.json"
KIND_SCHEMAS: Mapping[str, str] = {
    "API": "API.v1alpha1.schema.json",
    "Component": "Component.v1alpha1.schema.json",
    "Domain": "Domain.v1alpha1.schema.json",
    "Group": "Group.v1alpha1.schema.json",
    "Location": "Location.v1alpha1.schema.json",
    "Resource": "Resource.v1alpha1.schema.json",
    "System": "System.v1alpha1.schema.json",
    "Template": "Template.v1beta3.schema.json",
    "User": "User.v1alpha1.schema.json",
}
# An API of `type: mcp-server` may instead satisfy this published schema (remotes, no definition).
MCP_SERVER_SCHEMA = "API.v1alpha1.mcp-server.schema.json"
# The catalog's FieldFormatEntityPolicy, which Backstage writes as code, stated as a schema.
ENTITY_POLICIES_SCHEMA = "backstage-entity-policies.schema.json"

# Placeholders Backstage's catalog resolves ($text, $json, $yaml built in; $openapi and $asyncapi
# with the OpenAPI module), and the bounds of resolving them.
PLACEHOLDERS = ("text", "json", "yaml", "openapi", "asyncapi")
MAX_PLACEHOLDERS = 100
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
# A template expression of a skeleton file: Nunjucks output `${{ }}` or a tag `{% %}`.
_UNRENDERED = re.compile(r"\$\{\{.*?\}\}|\{%.*?%\}", re.S)
# The actions that copy a folder (`url`) into the workspace: what they copy is template source.
SOURCE_ACTIONS = ("fetch:template", "fetch:plain")
# Only YAML files up to this size are read ahead of a walk to find its templates.
MAX_TEMPLATE_BYTES = 1024 * 1024

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
    of the nodes reports point at, the entity (JSON-safe, placeholders substituted), its
    placeholders, and Backstage's verdict on it (`valid`, `errors`). Templates also list their
    parameter names and steps. `settings.max_bytes` bounds what placeholders read. Raises
    Unrendered for a skeleton file.
    """
    out: Sections = {section: [] for section in SECTIONS}
    first_lines = _document_lines(parsed)
    reader = PlaceholderReader.for_file(parsed.path, settings)
    for index, document in enumerate(parsed.documents):
        if not is_backstage_document(document):
            continue
        written: dict[str, Any] = json_safe(document)
        first = first_lines[index]
        line_map = parsed.lines[index] if index < len(parsed.lines) else {"": first}
        unrendered = unrendered_expression(written)
        if unrendered is not None:
            where, expression = unrendered
            raise Unrendered(
                f"holds the unrendered template expression {schemas.show(expression)} at {where}: "
                "this looks like a template skeleton (Nunjucks `${{ }}`/`{% %}`), which the scaffolder renders",
                "check the rendered file instead, or leave skeleton folders out of the paths",
                path=parsed.path,
            )
        entity, placeholders = reader.substitute(written, line_map, first)
        unchecked = [p["pointer"] for p in placeholders if not p["resolved"]]
        errors = validate_entity(entity, unchecked)
        item: dict[str, Any] = {
            "path": parsed.path,
            "sha256": parsed.sha256,
            "document": index,
            "line": first,
            "lines": report_lines(line_map),
            "entity": entity,
            "placeholders": placeholders,
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
    """The steps of a Template: index, id, name, action (strings or None) and the step's line; a
    step that is still a placeholder (one the gate did not resolve) also names it (`placeholder`)."""
    if not isinstance(steps, list):
        return []
    out: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        fields = step if isinstance(step, dict) else {}
        line = lines.get(f"/spec/steps/{index}", lines.get("/spec/steps", first_line))
        found: dict[str, Any] = {
            "index": index,
            "id": _str_or_none(fields.get("id")),
            "name": _str_or_none(fields.get("name")),
            "action": _str_or_none(fields.get("action")),
            "line": line,
        }
        key = placeholder_key(fields)
        if key is not None:
            found["placeholder"] = "$" + key
        out.append(found)
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


def validate_entity(entity: Mapping[str, Any], unchecked: Iterable[str] = ()) -> list[str]:
    """Check a JSON-safe entity against Backstage's rules; return at most MAX_ERRORS short messages.

    An empty list means valid. Known kinds at a version Backstage accepts get their published kind
    schema, unknown kinds the Entity schema, and both the catalog's field-format rules; a known
    kind at another version, the retired v1beta2 Template and a kind in the wrong case get one
    error naming the problem. Nothing at or under an `unchecked` JSON Pointer (a
    placeholder the gate did not resolve) is judged.
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
        elif isinstance(api_version, str):  # a non-string apiVersion fails the Entity schema
            accepted = ", ".join(_accepted_versions(kind_schema))
            first.append(
                f"apiVersion: {schemas.show(api_version)} is not a version Backstage accepts for {kind} ({accepted})"
            )
    if first:  # the kind and version say what is wrong; the rules of another version would not help
        return _cap(first)
    skipped = [tuple(_pointer_parts(p)) for p in unchecked]
    found = _judged(_published(schema).errors(entity, limit=MAX_ERRORS + 1), skipped)
    if found and schema == KIND_SCHEMAS["API"] and _spec_type(entity) == "mcp-server":
        mcp = _judged(_published(MCP_SERVER_SCHEMA).errors(entity, limit=MAX_ERRORS + 1), skipped)
        found = mcp if len(mcp) <= len(found) else found
    failing = {error.path for error in found}
    for error in _judged(_entity_policies().errors(entity, limit=MAX_ERRORS + 1), skipped):
        if error.path not in failing:  # the schema's own error on the same value says enough
            found.append(error)
    messages = [_explained(entity, error) for error in found]
    return _cap(list(dict.fromkeys(messages)))


def _judged(errors: list[schemas.SchemaError], skipped: list[tuple[str, ...]]) -> list[schemas.SchemaError]:
    """The errors outside the skipped places (a place and everything under it)."""
    if not skipped:
        return errors
    out = []
    for error in errors:
        path = tuple(str(part) for part in error.path)
        if not any(path[: len(place)] == place for place in skipped):
            out.append(error)
    return out


def _spec_type(entity: Mapping[str, Any]) -> Any:
    spec = entity.get("spec")
    return spec.get("type") if isinstance(spec, dict) else None


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
    """The error's line, with what Backstage files often hold instead of a value: a mapping with one
    `$` key that is not a placeholder the catalog resolves, or a template expression of a Template's
    own parameters (`${{ parameters.name }}`)."""
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
                f"{error.where}: a {key} object, not {expected}; the catalog resolves only the "
                "placeholders $text, $json, $yaml, $openapi and $asyncapi"
            )
    if isinstance(value, str) and ("${{" in value or "{{" in value or "{%" in value):
        return f"{error} (an unrendered template expression: check the rendered file)"
    return str(error)


# --- schemas ----------------------------------------------------------------------------------


def _load(name: str) -> Any:
    try:
        return resources.schema(name)
    except (OSError, ValueError) as exc:
        raise CollectError(f"cannot load the Backstage schema {name}: {exc}", "reinstall govgate") from None


@cache
def _published(name: str) -> schemas.Schema:
    """Backstage's published schema `name` (schemas/backstage/), its references resolving to the
    shared schemas (Entity, EntityEnvelope, EntityMeta, common) as Backstage's validator adds them."""
    shared = {}
    for other in SHARED_SCHEMAS:
        document = _load(f"backstage/{other}")
        shared[PUBLISHED_BASE + str(document["$id"])] = document
    try:
        return schemas.compile_schema(_load(f"backstage/{name}"), shared)
    except schemas.SchemaFileError as exc:
        raise CollectError(str(exc), "reinstall govgate") from None


def _entity_policies() -> schemas.Schema:
    try:
        return schemas.shipped(ENTITY_POLICIES_SCHEMA)
    except schemas.SchemaFileError as exc:
        raise CollectError(str(exc), "reinstall govgate") from None


def _accepted_versions(schema_name: str) -> tuple[str, ...]:
    """The apiVersions a published kind schema accepts (its `allOf` entry that states the kind)."""
    schema = _load(f"backstage/{schema_name}")
    for part in schema.get("allOf", []) if isinstance(schema, dict) else []:
        versions = part.get("properties", {}).get("apiVersion", {}).get("enum")
        if isinstance(versions, list):
            return tuple(str(v) for v in versions)
    return ()


# --- placeholders -----------------------------------------------------------------------------


def placeholder_key(value: Any) -> str | None:
    """The resolver a value names when it is a placeholder Backstage resolves (`{"$text": ...}`:
    a mapping whose one key is `$` and a known resolver), else None."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if isinstance(key, str) and key.startswith("$") and key[1:] in PLACEHOLDERS:
            return key[1:]
    return None


@dataclass
class PlaceholderReader:
    """Resolves the placeholders of one file's entities: relative paths against the file's folder,
    inside `root`, each file read once, at most MAX_PLACEHOLDERS and `budget` bytes in all."""

    folder: Path | None
    root: Path | None
    budget: int
    count: int = 0
    _read: dict[str, tuple[bool, Any]] = field(default_factory=dict)

    @classmethod
    def for_file(cls, path: str, settings: CollectSettings) -> PlaceholderReader:
        """A reader for the file read as `path`: its root is the innermost of `settings.roots`
        that holds the file (the file's own folder when none is set), so a change under review
        cannot make the gate read files outside what it was asked to check."""
        location = os.path.realpath(path)
        if not os.path.isfile(location):
            return cls(None, None, settings.max_bytes)
        roots = settings.roots or (os.path.dirname(location),)
        holding = [r for r in roots if location.startswith(r.rstrip(os.sep) + os.sep)]
        root = Path(max(holding, key=len)) if holding else None
        return cls(Path(os.path.abspath(path)).parent, root, settings.max_bytes)

    def substitute(
        self, entity: dict[str, Any], lines: Mapping[str, int], first_line: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The entity with its placeholders substituted, and a record of each one: where (JSON
        Pointer and line), which placeholder, its target, whether it was resolved and why not."""
        found: list[dict[str, Any]] = []
        substituted = self._walk(entity, (), found)
        for record in found:
            record["line"] = _nearest_line(lines, record["pointer"], first_line)
        return (substituted if isinstance(substituted, dict) else entity), found

    def _walk(self, value: Any, path: tuple[str | int, ...], found: list[dict[str, Any]]) -> Any:
        # As Backstage's PlaceholderProcessor: a mapping with `$` keys is a placeholder only when it
        # has one key, a known resolver; what a placeholder gives is not searched again.
        if isinstance(value, list):
            return [self._walk(item, (*path, n), found) for n, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if not any(isinstance(k, str) and k.startswith("$") for k in value):
            return {k: self._walk(v, (*path, k), found) for k, v in value.items()}
        key = placeholder_key(value)
        if key is None:
            return value
        target = value["$" + key]
        record: dict[str, Any] = {
            "pointer": "".join(f"/{_token(part)}" for part in path),
            "where": schemas.dotted(path),
            "placeholder": "$" + key,
            "target": target if isinstance(target, str) else schemas.show(target),
            "resolved": False,
            "reason": None,
        }
        found.append(record)
        ok, result = self._resolve(key, target)
        if not ok:
            record["reason"] = result
            return value
        record["resolved"] = True
        return result

    def _resolve(self, key: str, target: Any) -> tuple[bool, Any]:
        """(True, the value) or (False, why it was not resolved, in words)."""
        if not isinstance(target, str) or not target.strip():
            return False, "its value is not a URL or a relative path"
        if _URL_SCHEME.match(target):
            return False, "it names a URL, and the gate fetches nothing"
        if self.folder is None:
            return False, "the file it is relative to is not known"
        if self.root is None:
            return False, "its file lies outside the checked folders"
        if os.path.isabs(target):
            return False, "it names an absolute path, outside the checked folder"
        self.count += 1
        if self.count > MAX_PLACEHOLDERS:
            return False, f"the file has more than {MAX_PLACEHOLDERS} placeholders"
        real = Path(os.path.realpath(self.folder / target))
        if not real.is_relative_to(self.root):
            return False, "it leads outside the checked folder"
        cache_key = f"{key}:{real}"
        if cache_key not in self._read:
            self._read[cache_key] = self._parse(key, real, target)
        return self._read[cache_key]

    def _parse(self, key: str, real: Path, target: str) -> tuple[bool, Any]:
        if not real.exists():
            return False, "the file it names does not exist"
        try:
            data = read_bytes(real, max(self.budget, 0), target)
            self.budget -= len(data)
            if key == "json":
                from gate.collect.json import parse_json

                return True, json_safe(parse_json(data, target))
            if key == "yaml":
                documents = parse_bytes(data, target, max(self.budget, 0)).documents
                if len(documents) != 1:
                    return (
                        False,
                        f"the file holds {len(documents)} documents, and Backstage reads exactly one",
                    )
                return True, json_safe(documents[0])
            return True, decode_text(data, target)
        except CollectError as exc:
            return False, exc.message
        except RecursionError:
            return False, "the file it names is nested too deeply"


def _nearest_line(lines: Mapping[str, int], pointer: str, first_line: int) -> int:
    while pointer:
        if pointer in lines:
            return lines[pointer]
        pointer = pointer.rpartition("/")[0]
    return lines.get("", first_line)


def _token(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]] if pointer else []


# --- skeletons and template sources -----------------------------------------------------------


class Unrendered(CollectError):
    """A Backstage file holding unrendered template expressions: a scaffolder skeleton file."""


def unrendered_expression(entity: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where a skeleton's entity holds an unrendered expression, and the expression; None if none.

    A Template's own steps, output and parameters hold expressions the scaffolder evaluates when it
    runs, so only its envelope and metadata are searched; every other kind is searched whole."""
    places: list[tuple[tuple[str | int, ...], Any]]
    if entity.get("kind") == "Template":
        places = [((k,), v) for k, v in reversed(list(entity.items())) if k != "spec"]
    else:
        places = [((), entity)]
    while places:
        path, value = places.pop()
        if isinstance(value, str):
            match = _UNRENDERED.search(value)
            if match is not None:
                return schemas.dotted(path), match.group()
        elif isinstance(value, dict):  # pushed last first, so that the first found is the first written
            for k, v in reversed(list(value.items())):
                places.append(((*path, str(k)), v))
                if _UNRENDERED.search(str(k)):
                    places.append(((*path, str(k)), str(k)))
        elif isinstance(value, list):
            places.extend(((*path, n), v) for n, v in reversed(list(enumerate(value))))
    return None


def template_source_folders(templates: Iterable[Mapping[str, Any]]) -> set[str]:
    """The folders the templates' fetch:template (and fetch:plain) steps copy from: absolute paths,
    not resolved through links. A `url` is relative to the template's file; a URL elsewhere, a
    path cut where a template expression starts, and the template's own folder and those above it
    (a `url: .`) are not sources.
    """
    out: set[str] = set()
    for item in templates:
        entity = item.get("entity")
        spec = entity.get("spec") if isinstance(entity, dict) else None
        steps = spec.get("steps") if isinstance(spec, dict) else None
        if not isinstance(steps, list) or not isinstance(item.get("path"), str):
            continue
        home = os.path.dirname(os.path.abspath(item["path"]))
        for step in steps:
            if not isinstance(step, dict) or step.get("action") not in SOURCE_ACTIONS:
                continue
            inputs = step.get("input")
            url = inputs.get("url") if isinstance(inputs, dict) else None
            if not isinstance(url, str) or _URL_SCHEME.match(url) or os.path.isabs(url):
                continue
            parts = []
            for part in url.replace("\\", "/").split("/"):
                if "${{" in part or "{%" in part:
                    break
                parts.append(part)
            folder = os.path.normpath(os.path.join(home, *parts)) if parts else home
            if os.path.commonpath([folder, home]) != folder:  # not the template's folder or above
                out.add(folder)
    return out


def walk_templates(files: Iterable[Path], settings: CollectSettings) -> list[dict[str, Any]]:
    """The Template items of the YAML files of a walk that hold one (files up to
    MAX_TEMPLATE_BYTES; a file that cannot be read here is left to the walk, which says why)."""
    out: list[dict[str, Any]] = []
    for path in files:
        if not path.name.lower().endswith((".yaml", ".yml")):
            continue
        try:
            if path.stat().st_size > MAX_TEMPLATE_BYTES:
                continue
            data = read_bytes(path, MAX_TEMPLATE_BYTES, str(path))
            if b"scaffolder.backstage.io/" not in data or b"Template" not in data:
                continue
            out.extend(collect(parse_bytes(data, str(path), settings.max_bytes), settings)["templates"])
        except (OSError, CollectError, RecursionError):
            continue
    return out


def checked_roots(paths: Iterable[Path]) -> tuple[str, ...]:
    """The folders placeholders may read from, for the paths named on the command line: each
    folder, and the folder of each file, resolved."""
    out: dict[str, None] = {}
    for path in paths:
        real = os.path.realpath(path)
        out[real if os.path.isdir(real) else os.path.dirname(real)] = None
    return tuple(out)


def inside_any(path: Path, folders: set[str]) -> bool:
    """Whether `path` (not resolved through links) lies inside one of `folders`."""
    if not folders:
        return False
    here = os.path.abspath(path)
    return any(here.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


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
