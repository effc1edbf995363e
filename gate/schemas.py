"""One JSON Schema façade, on jsonschema-rs: every schema validation of the gate goes through it.

- `shipped(name)`: a schema the project ships under `schemas/` (the input document, config,
  waivers, SPDX, Backstage); its `$ref`s resolve to the shipped schemas beside it, by `$id`.
- `cyclonedx(version)`: the CycloneDX JSON schema of a spec version, as cyclonedx-python-lib
  bundles it, with the SPDX license, JSF and cryptography schemas it references.
- `compile_schema(schema, resources)`: any other schema.

Every `format` is asserted (`iri-reference`, `date-time`, `uri`, `idn-email`, ... in jsonschema-rs's
own Rust checks, fast enough for large BOMs), a format jsonschema-rs does not know refuses the
schema (unless the caller names it as a known mistake: CycloneDX 1.2's `"format": "string"`), and nothing is
ever fetched: a reference resolves only to the resources given. Compiled validators are cached per
schema. The messages are our own, one line each, `where: what is wrong`: `where` is the dotted
path of the failing value (`components[3].hashes[0].content`, `metadata.labels["a/b"]`,
`(top level)`), `what` names the value and the rule. A subschema may state, in an `x-rule`
annotation, the rule it encodes (the Backstage schemas do); a failure inside it then names that
rule. A document jsonschema-rs cannot read (a value JSON has no type for, nesting beyond its
limit) gets one error saying so, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs

from gate.errors import EngineError

_MAX_SHOWN = 60
_MAX_OPTIONS = 12
_PLAIN_KEY = re.compile(r"[A-Za-z_$@][A-Za-z0-9_$@:-]*")
_TYPES = {
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
# cyclonedx-python-lib's bundled copies are renamed; the CycloneDX schemas refer to them by these
_CYCLONEDX_BASE = "http://cyclonedx.org/schema/"
_CYCLONEDX_REFERENCED = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
)
# Documents of up to this many values get every error listed (a 10,000-component BOM has ~140,000).
# jsonschema-rs spends up to ~10 us and ~2.5 kB per value on errors under `oneOf` (measured: 14,000
# components, each with three bad licenses and hashes), so this bounds listing to ~2 s and ~0.5 GB.
LISTED_VALUES = 200_000
CYCLONEDX_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")

Place = tuple[str | int, ...]


class SchemaFileError(EngineError):
    """A schema cannot be loaded or compiled: the installation is broken, not the user's input (exit 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "reinstall govgate; its schema files are incomplete")


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One schema violation: where in the document (`path`), and what is wrong (`problem`)."""

    path: Place
    problem: str

    @property
    def where(self) -> str:
        """The dotted path of the failing value: `spec.steps[0].action`, `(top level)` for the root."""
        return dotted(self.path)

    @property
    def pointer(self) -> str:
        """The JSON Pointer (RFC 6901) of the failing value."""
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


class SchemaInvalid(ValueError):
    """Raised by `Schema.validate`: the instance fails the schema; `error` is the first violation."""

    def __init__(self, error: SchemaError) -> None:
        super().__init__(str(error))
        self.error = error


class Schema:
    """A compiled schema: its verdict on an instance, and the instance's violations."""

    def __init__(self, validator: jsonschema_rs.Validator, sources: Mapping[str, Any]) -> None:
        self._validator = validator
        self._sources = sources  # schema documents by URI, for `x-rule` look-ups
        self._rules = any('"x-rule"' in json.dumps(s) for s in sources.values())

    def is_valid(self, instance: Any) -> bool:
        """Whether `instance` satisfies the schema (an unreadable instance does not)."""
        try:
            return self._validator.is_valid(instance)
        except ValueError:
            return False

    def errors(self, instance: Any, limit: int | None = None) -> list[SchemaError]:
        """The violations of `instance`, at most `limit` of them; an empty list when it is valid.

        jsonschema-rs builds every error (with the errors of every `oneOf` branch) before the first
        is seen, so a document of more than LISTED_VALUES values gets its first violation only, found by a
        check that stops there: time and memory stay bounded whatever the document holds.
        """
        if limit is not None and limit <= 0:
            return []
        if not _at_most(instance, LISTED_VALUES):
            first = self.first_error(instance)
            if first is None:
                return []
            note = f" (the first error; a document of over {LISTED_VALUES:,} values is not searched for more)"
            return [SchemaError(first.path, first.problem + note)]
        out: list[SchemaError] = []
        try:
            for error in self._validator.iter_errors(instance):
                for found in self._describe(error):
                    out.append(found)
                    if limit is not None and len(out) >= limit:
                        return out
        except ValueError as exc:  # the instance holds something jsonschema-rs cannot read
            return [*out, unreadable(instance, exc)][: limit or None]
        return out

    def first_error(self, instance: Any) -> SchemaError | None:
        """The first violation of `instance`, or None when it is valid; the check stops at it."""
        try:
            self._validator.validate(instance)
        except jsonschema_rs.ValidationError as error:
            return next(self._describe(error), None)
        except ValueError as exc:
            return unreadable(instance, exc)
        return None

    def validate(self, instance: Any) -> None:
        """Raise SchemaInvalid, naming the first violation, unless `instance` is valid."""
        error = self.first_error(instance)
        if error is not None:
            raise SchemaInvalid(error)

    # ---- messages

    def _describe(self, error: jsonschema_rs.ValidationError) -> Iterator[SchemaError]:
        path: Place = tuple(error.instance_path)
        kind = error.kind
        rule = self._rule(error) if self._rules else None
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            yield SchemaError((*path, kind.property), "is required")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            tail = f"; {rule}" if rule else ""
            for name in kind.unexpected:
                yield SchemaError((*path, name), f"unexpected field{tail}")
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.PropertyNames):
            inner = kind.error
            key = inner.instance
            key_rule = self._rule(inner) if self._rules else None
            because = key_rule or self._problem(inner, inner.instance)
            yield SchemaError(
                path,
                f"key {show(key)} fails {because}" if key_rule else f"key {show(key)}: {because}",
            )
        elif isinstance(
            kind, jsonschema_rs.ValidationErrorKind.AnyOf | jsonschema_rs.ValidationErrorKind.OneOfNotValid
        ):
            if rule:  # the rule says what the alternatives are for
                yield SchemaError(path, rule)
            else:
                yield self._best_branch(path, error.instance, kind.context)
        elif rule and not isinstance(kind, jsonschema_rs.ValidationErrorKind.Type):
            yield SchemaError(path, f"{show(error.instance)} fails {rule}")
        else:
            yield SchemaError(path, self._problem(error, error.instance))

    def _best_branch(
        self, path: Place, value: Any, branches: list[list[jsonschema_rs.ValidationError]]
    ) -> SchemaError:
        """For a value matching none of `anyOf`/`oneOf`: the failure of the branch it came closest to.

        A branch fails "at the door" when its first error is about the value's own type or value;
        among the others the one with the fewest errors wins; on a tie, the one whose first error
        lies deeper in the value (it matched the value's shape further: a bad `uri` inside the
        right form, not the fields another form does not have), then the earliest.
        """
        applicable = [b for b in branches if b and not _at_the_door(b[0], path)]
        if applicable:
            best = min(applicable, key=lambda b: (len(b), -len(b[0].instance_path)))
            return next(self._describe(best[0]), SchemaError(path, _clip(best[0].message)))
        expected = [
            t
            for branch in branches
            for e in branch[:1]
            if isinstance(e.kind, jsonschema_rs.ValidationErrorKind.Type)
            for t in e.kind.types
        ]
        if expected and len(expected) == len(branches):
            return SchemaError(
                path, f"expected {_types(list(dict.fromkeys(expected)))}, found {_type_of(value)}"
            )
        reasons = list(dict.fromkeys(self._problem(b[0], value) for b in branches if b))
        return SchemaError(path, _clip("fits none of the allowed forms: " + "; or ".join(reasons)))

    def _problem(self, error: jsonschema_rs.ValidationError, value: Any) -> str:
        k = jsonschema_rs.ValidationErrorKind
        kind = error.kind
        if isinstance(kind, k.Type):
            return f"expected {_types(kind.types)}, found {_type_of(value)}"
        if isinstance(kind, k.Enum):
            if len(kind.options) > _MAX_OPTIONS:
                return f"{show(value)} is not one of the {len(kind.options)} allowed values"
            return f"{show(value)} is not one of {', '.join(show(o) for o in kind.options)}"
        if isinstance(kind, k.Constant):
            return f"{show(value)} is not {show(kind.expected_value)}"
        if isinstance(kind, k.Pattern):
            return f"{show(value)} does not match the pattern {show(kind.pattern)}"
        if isinstance(kind, k.Format):
            return f"{show(value)} is not a valid {kind.format}"
        if isinstance(kind, k.MinLength):
            return (
                "must not be empty"
                if kind.limit == 1
                else f"{show(value)} is shorter than {kind.limit} characters"
            )
        if isinstance(kind, k.MaxLength):
            return f"{show(value)} is longer than {kind.limit} characters"
        if isinstance(kind, k.MinItems):
            return f"has {_count(value)} items, fewer than {kind.limit}"
        if isinstance(kind, k.MaxItems):
            return f"has {_count(value)} items, more than {kind.limit}"
        if isinstance(kind, k.MinProperties):
            return f"has {_count(value)} fields, fewer than {kind.limit}"
        if isinstance(kind, k.MaxProperties):
            return f"has {_count(value)} fields, more than {kind.limit}"
        if isinstance(kind, k.Minimum):
            return f"{show(value)} is less than the minimum of {show(kind.limit)}"
        if isinstance(kind, k.Maximum):
            return f"{show(value)} is greater than the maximum of {show(kind.limit)}"
        if isinstance(kind, k.ExclusiveMinimum):
            return f"{show(value)} must be greater than {show(kind.limit)}"
        if isinstance(kind, k.ExclusiveMaximum):
            return f"{show(value)} must be less than {show(kind.limit)}"
        if isinstance(kind, k.MultipleOf):
            return f"{show(value)} is not a multiple of {show(kind.multiple_of)}"
        if isinstance(kind, k.UniqueItems):
            return f"the {_count(value)} items are not unique"
        if isinstance(kind, k.OneOfMultipleValid):
            return f"{show(value)} matches more than one of the allowed forms (exactly one must match)"
        if isinstance(kind, k.Not):
            return f"{show(value)} matches a form that is not allowed here"
        if isinstance(kind, k.FalseSchema):
            return "is not allowed here"
        if isinstance(kind, k.Contains):
            return "has no item of the required form"
        if isinstance(kind, k.UnevaluatedProperties):
            return f"has fields that are not allowed here: {', '.join(show(n) for n in kind.unexpected[:5])}"
        if isinstance(kind, k.UnevaluatedItems | k.AdditionalItems):
            return "has more items than allowed"
        if isinstance(kind, k.BacktrackLimitExceeded | k.RegexEngineFailure):
            return f"{show(value)} could not be checked against the pattern (too costly to match)"
        return _clip(error.message)

    def _rule(self, error: jsonschema_rs.ValidationError) -> str | None:
        """The `x-rule` of the subschema holding the failing keyword, if it states one."""
        location = error.absolute_keyword_location
        if not location or "#" not in location:
            return None
        uri, _, pointer = location.partition("#")
        node: Any = self._sources.get(uri)
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        for part in parts[:-1]:  # the last part is the keyword itself
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        rule = node.get("x-rule") if isinstance(node, dict) else None
        return rule if isinstance(rule, str) else None


def _at_most(instance: Any, budget: int) -> bool:
    """Whether `instance` holds at most `budget` values (containers included); stops at the budget."""
    stack = [instance]
    while stack:
        value = stack.pop()
        budget -= 1
        if budget < 0:
            return False
        if type(value) is dict or type(value) is list:
            if len(value) > budget:
                return False
            stack.extend(value.values() if type(value) is dict else value)
    return True


def _at_the_door(error: jsonschema_rs.ValidationError, path: Place) -> bool:
    k = jsonschema_rs.ValidationErrorKind
    return tuple(error.instance_path) == path and isinstance(error.kind, k.Type | k.Enum | k.Constant)


# ---- rendering


def dotted(path: Place) -> str:
    """A dotted path: keys as `.name` (or `["odd key"]`), indexes as `[n]`; `(top level)` for the root."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out or "(top level)"


def show(value: Any) -> str:
    """A short rendering of a JSON value: scalars as JSON (long strings cut), containers by size."""
    if isinstance(value, str):
        text = json.dumps(value[: _MAX_SHOWN + 1], ensure_ascii=False)
        return text if len(value) <= _MAX_SHOWN else text[:_MAX_SHOWN] + '…"'
    if isinstance(value, dict):
        return f"an object of {len(value)} fields" if value else "an empty object"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} items" if value else "an empty array"
    try:
        return _clip(json.dumps(value))
    except (TypeError, ValueError):
        return _clip(repr(value))


def _clip(text: str) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= 200 else text[:199] + "…"


def _types(names: list[str]) -> str:
    return " or ".join(_TYPES.get(n, n) for n in names)


def _type_of(value: Any) -> str:
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
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def unreadable(instance: Any, exc: ValueError) -> SchemaError:
    """The error for an instance jsonschema-rs cannot read: the first value JSON has no type for
    (a date, a set, bytes, a non-string key), or nesting too deep; found without recursion."""
    reason = str(exc)
    if "Recursion limit" in reason:
        return SchemaError((), "is nested too deeply to be checked")
    stack: list[tuple[Place, Any]] = [((), instance)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if not isinstance(key, str):
                    return SchemaError(path, f"has a key that is not a string ({_type_of(key)} {key!r:.40})")
                stack.append(((*path, key), item))
        elif isinstance(value, list | tuple):
            stack.extend(((*path, i), item) for i, item in reversed(list(enumerate(value))))
        elif not (value is None or isinstance(value, str | int | float | bool)):
            return SchemaError(path, f"is a {type(value).__name__}, which JSON has no type for")
    return SchemaError((), f"cannot be checked: {_clip(reason)}")


# ---- compiling, cached


def _any_text(_value: str) -> bool:
    return True


def compile_schema(
    schema: Mapping[str, Any],
    resources: Mapping[str, Any] | None = None,
    *,
    not_formats: tuple[str, ...] = (),
) -> Schema:
    """Compile `schema` (its draft from `$schema`, else 2020-12), references resolving only to
    `resources` (URI -> schema document) and to itself. SchemaFileError if it does not compile,
    or names a format jsonschema-rs does not check, other than the `not_formats` (names a schema
    uses as a `format` by mistake, accepted as they are)."""
    known = dict(resources or {})
    sources = dict(known)
    own_id = schema.get("$id")
    if isinstance(own_id, str):
        sources[own_id.partition("#")[0]] = schema
    for contents in known.values():
        # a document registered under another name keeps its `$id`, which its inner references use
        other = contents.get("$id") if isinstance(contents, dict) else None
        if isinstance(other, str):
            sources.setdefault(other.partition("#")[0], contents)
    try:
        cls = jsonschema_rs.validator_cls_for(dict(schema))  # from `$schema`; 2020-12 without one
    except ValueError as exc:
        raise SchemaFileError(f"the schema names no draft jsonschema-rs knows: {_clip(str(exc))}") from None
    try:
        registry = jsonschema_rs.Registry(list(sources.items())) if sources else None
        validator = cls(
            dict(schema),
            formats=dict.fromkeys(not_formats, _any_text) or None,
            validate_formats=True,
            ignore_unknown_formats=False,
            registry=registry,
            offline=True,
        )
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        raise SchemaFileError(f"the schema does not compile: {_clip(str(exc))}") from None
    return Schema(validator, sources)


@cache
def shipped(name: str) -> Schema:
    """A schema the project ships under `schemas/` (`input.schema.json`, `backstage/component.schema.json`),
    its references resolving to the shipped schemas of the same folder."""
    from gate.resources import schema
    from gate.resources import shipped as shipped_folder

    folder = shipped_folder("schemas")
    *parents, _file = name.split("/")
    for part in parents:
        folder = folder.joinpath(part)
    try:
        contents = schema(name)
        siblings = {}
        for item in folder.iterdir():
            if item.name.endswith(".json"):
                sibling = json.loads(item.read_text(encoding="utf-8"))
                if isinstance(sibling, dict) and isinstance(sibling.get("$id"), str):
                    siblings[sibling["$id"]] = sibling
    except (OSError, ValueError) as exc:
        raise SchemaFileError(f"cannot load the shipped schema {name}: {exc}") from None
    return compile_schema(contents, siblings)


@cache
def cyclonedx(version: str) -> Schema:
    """The CycloneDX JSON schema of spec `version` (one of CYCLONEDX_VERSIONS), from cyclonedx-python-lib."""
    from gate.collect.cyclonedx_xml import resource_dir

    folder = resource_dir()
    try:
        contents = json.loads((folder / f"bom-{version}.SNAPSHOT.schema.json").read_text("utf-8"))
        referenced = {
            _CYCLONEDX_BASE + name: json.loads((folder / name).read_text("utf-8"))
            for name in _CYCLONEDX_REFERENCED
            if (folder / name).is_file()
        }
    except (OSError, ValueError) as exc:
        raise SchemaFileError(f"cannot load the CycloneDX {version} JSON schema: {exc}") from None
    # CycloneDX 1.2 writes `"format": "string"` for seven plain strings; no such format exists
    return compile_schema(contents, referenced, not_formats=("string",) if version == "1.2" else ())
