"""A fast first verdict on JSON Schema validity, from jsonschema-rs.

The gate's messages for schema errors come from Python's jsonschema (or fastjsonschema), whose
wording and paths the reports and tests rely on; but on a large valid document those validators
take most of the time of a check (a 10,000-component CycloneDX BOM: ~1 s). jsonschema-rs answers
"valid?" for the same schema in ~40 ms. A document it finds valid is taken as valid; a document it
rejects is validated again by the Python validator, whose verdict and messages are the ones used
(except for missing required Backstage fields, worded from jsonschema-rs's own errors the same
way: gate.collect.backstage). So a verdict can differ from the Python validator's only where jsonschema-rs accepts what it
rejects: a difference the corpus tests (tests/corpus) would show.

No reference is ever fetched: a schema's references resolve only to the `resources` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

Check = Callable[[Any], bool]


def _always(_value: str) -> bool:
    return True


def quick_validator(schema: Mapping[str, Any], **options: Any) -> Check | None:
    """A function telling whether an instance is valid against `schema`, or None if jsonschema-rs
    is missing or cannot compile the schema (the caller then uses its Python validator alone).
    `options` are rs_validator's."""
    validator = rs_validator(schema, **options)
    if validator is None:
        return None
    return lambda instance: is_valid(validator, instance)


def is_valid(validator: Any, instance: Any) -> bool:
    """jsonschema-rs's verdict; False for a value it cannot convert (the Python validator then
    judges the instance)."""
    try:
        return bool(validator.is_valid(instance))
    except (ValueError, TypeError, OverflowError):
        return False


def rs_validator(
    schema: Mapping[str, Any],
    *,
    draft: str,
    resources: Mapping[str, Any] | None = None,
    formats: bool = True,
    skip_formats: tuple[str, ...] = (),
) -> Any:
    """jsonschema-rs's validator for `schema`, or None if jsonschema-rs is missing or cannot
    compile it.

    `draft` is "7" or "2020-12"; `formats` says whether `format` is asserted (as the Python
    validator does with a format checker); `skip_formats` are formats accepted without a check.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return None
    known = dict(resources or {})

    def retrieve(uri: str) -> Any:
        if uri in known:
            return known[uri]
        raise ValueError(f"{uri} is not a bundled schema")

    cls = {"7": jsonschema_rs.Draft7Validator, "2020-12": jsonschema_rs.Draft202012Validator}[draft]
    # The retriever answers only from `resources`; without resources nothing may be retrieved.
    where: dict[str, Any] = {"retriever": retrieve} if known else {"offline": True}
    try:
        validator = cls(
            dict(schema),
            formats={name: _always for name in skip_formats} or None,
            validate_formats=formats,
            **where,
        )
    except (ValueError, TypeError, jsonschema_rs.ReferencingError):
        return None
    return validator


@cache
def shipped_schema_check(name: str, *, formats: bool) -> Check | None:
    """`quick_validator` for a schema the project ships under `schemas/` (by file name), in the
    draft its `$schema` names; `formats` as the Python validator of that schema asserts them."""
    from gate.resources import schema

    contents = schema(name)
    draft = "2020-12" if "2020-12" in str(contents.get("$schema", "")) else "7"
    return quick_validator(contents, draft=draft, formats=formats)
