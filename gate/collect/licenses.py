"""License facts shared by the SBOM collectors: SPDX ids named by ids and license expressions.

An SPDX license expression (SPDX spec, Annex D) combines license ids with `AND`, `OR` and `WITH`
and groups them with parentheses. After `WITH` comes a license *exception* id
(`Classpath-exception-2.0`), which is not a license and is not reported as one. A trailing `+`
("or later") is an operator on the id before it, so `GPL-2.0+` names `GPL-2.0`.
`LicenseRef-…` / `DocumentRef-…:LicenseRef-…` references are kept: policies may match them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_TOKEN = re.compile(r"[()]|[^\s()]+")
_OPERATORS = frozenset({"AND", "OR"})
_NOT_LICENSES = frozenset({"NONE", "NOASSERTION"})


def expression_ids(expression: str) -> list[str]:
    """Every license id named in an SPDX license expression, in order, without duplicates.

    Operators are matched case-insensitively; the exception id after `WITH` is skipped, and
    `NONE` / `NOASSERTION` are not license ids.
    """
    ids: list[str] = []
    skip_next = False
    for token in _TOKEN.findall(expression):
        if token in ("(", ")"):
            continue
        upper = token.upper()
        if upper in _OPERATORS:
            skip_next = False
            continue
        if upper == "WITH":
            skip_next = True
            continue
        if skip_next:
            skip_next = False
            continue
        license_id = token.rstrip("+")
        if license_id and license_id not in _NOT_LICENSES and license_id not in ids:
            ids.append(license_id)
    return ids


def is_simple_id(value: str) -> bool:
    """Whether a license value is one id (no operator, parenthesis or space), not an expression."""
    return bool(value) and len(_TOKEN.findall(value)) == 1 and value not in ("(", ")")


def _add_ids(target: list[str], new: Iterable[str]) -> None:
    for license_id in new:
        if license_id not in target:
            target.append(license_id)


def cyclonedx_licenses(entries: Any) -> tuple[list[dict[str, str]], list[str]]:
    """Normalise a CycloneDX `licenses` array (JSON shape) into `licenses` items and `license_ids`.

    `{"license": {"id": X}}` gives kind `id`, `{"license": {"name": X}}` kind `name` (no id: a
    name is free text), `{"expression": X}` kind `expression` with the ids inside it.
    Malformed entries (wrong types) are skipped; schema validation reports them.
    """
    licenses: list[dict[str, str]] = []
    ids: list[str] = []
    if not isinstance(entries, list):
        return licenses, ids
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        expression = entry.get("expression")
        if isinstance(expression, str) and expression.strip():
            value = expression.strip()
            licenses.append({"kind": "expression", "value": value})
            _add_ids(ids, expression_ids(value))
        lic = entry.get("license")
        if not isinstance(lic, dict):
            continue
        license_id = lic.get("id")
        name = lic.get("name")
        if isinstance(license_id, str) and license_id.strip():
            licenses.append({"kind": "id", "value": license_id.strip()})
            _add_ids(ids, [license_id.strip()])
        elif isinstance(name, str) and name.strip():
            licenses.append({"kind": "name", "value": name.strip()})
    return licenses, ids


def spdx_licenses(values: Iterable[Any]) -> tuple[list[dict[str, str]], list[str]]:
    """Normalise SPDX 2.x license fields (`licenseConcluded`, `licenseDeclared`, …).

    `NOASSERTION`, `NONE` and empty values carry no license and are dropped; a single id gives
    kind `id`, anything else kind `expression`. Repeated values are listed once.
    """
    licenses: list[dict[str, str]] = []
    ids: list[str] = []
    seen: set[str] = set()
    for raw in values:
        if not isinstance(raw, str):
            continue
        value = raw.strip()
        if not value or value in _NOT_LICENSES or value in seen:
            continue
        seen.add(value)
        kind = "id" if is_simple_id(value) else "expression"
        licenses.append({"kind": kind, "value": value})
        _add_ids(ids, expression_ids(value))
    return licenses, ids
