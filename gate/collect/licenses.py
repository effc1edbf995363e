"""License facts shared by the SBOM collectors: license strings normalised with the SPDX license list.

An SPDX license expression (SPDX spec, Annex D) combines license ids with `AND`, `OR` and `WITH`
and groups them with parentheses; after `WITH` comes a license *exception* id
(`Classpath-exception-2.0`), which is not a license and is not reported as one. Expressions are
parsed by the `license-expression` package against the SPDX license list it ships (offline), so:

- ids are matched case-insensitively and reported in their list spelling (`mit` -> `MIT`);
- deprecated ids map to their current ids (`GPL-3.0` -> `GPL-3.0-only`, `GPL-3.0+` ->
  `GPL-3.0-or-later`, `AGPL-3.0` -> `AGPL-3.0-only`); the deprecated `<license>-with-<x>-exception`
  ids (`GPL-3.0-with-GCC-exception`) are read as `<license> WITH <exception>`, so they name
  the license (`GPL-3.0-only`);
- `LicenseRef-…` / `DocumentRef-…:LicenseRef-…` references are kept as written; when what follows
  `LicenseRef-` (or `LicenseRef-scancode-`) is itself a known license id or ScanCode key
  (`LicenseRef-GPL-3.0-only`, `LicenseRef-scancode-gpl-3.0-plus`), that license is listed too, so
  a reference cannot hide a denied license;
- a CycloneDX license *name* becomes an id where the SPDX list gives that id or that full name
  ("GNU General Public License v3.0 only" -> `GPL-3.0-only`); any other name is free text, from
  which known ids written inside it are still taken ("MIT/GPL-3.0-only" names both);
- Unicode look-alikes are folded before parsing (NFKC, dashes such as U+2011 to `-`, zero-width
  and other format characters removed); any other non-ASCII character, a control character, an
  unknown id, an exception used as a license, or an expression that does not parse makes the
  string *invalid*. An invalid string is reported (SBOM-LICENSE-INVALID) with the known ids found
  in it still listed, never passed over.

Every function works per distinct string and remembers its answer, so a 10,000-component SBOM
costs one parse per distinct license string. The licensing object is built once, on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from license_expression import Licensing

NOT_LICENSES = frozenset({"NONE", "NOASSERTION"})
MAX_EXPRESSION_CHARS = 10_000
CACHED_CHARS = 512
_CACHE_SIZE = 1 << 14
T = TypeVar("T")
_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-([A-Za-z0-9.\-]+)$", re.IGNORECASE)
_WITH_DEPRECATED = re.compile(r"^(?P<license>.+)-with-.+-exception$", re.IGNORECASE)
_ID_CHARS = re.compile(r"[^A-Za-z0-9.+\-]+")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_REASON_CHARS = 200


class Memo(Generic[T]):
    """A function of one string, remembered per distinct string of up to CACHED_CHARS characters
    (at most _CACHE_SIZE of them): longer ones are rare and would let a long-running `gate serve`
    hold on to whatever large strings its callers sent."""

    def __init__(self, func: Callable[[str], T]) -> None:
        self._func = func
        self._cached = lru_cache(maxsize=_CACHE_SIZE)(func)
        self.__doc__ = func.__doc__

    def __call__(self, raw: str) -> T:
        """func(raw), remembered when raw is short."""
        return self._cached(raw) if len(raw) <= CACHED_CHARS else self._func(raw)

    def cache_clear(self) -> None:
        """Forget every remembered answer."""
        self._cached.cache_clear()

    def cache_info(self) -> Any:
        """functools' statistics of the cache."""
        return self._cached.cache_info()


@dataclass(frozen=True)
class Parsed:
    """One license string, normalised: the license ids it names, and why it is invalid (or None)."""

    ids: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True)
class _Spdx:
    licensing: Licensing
    # lower-cased id, alias or deprecated id -> (current id, is an exception)
    known: dict[str, tuple[str, bool]]
    # normalised full name (SPDX list) -> current id
    names: dict[str, str]
    # lower-cased ScanCode license key -> current id
    scancode: dict[str, str]
    # lower-cased deprecated `<license>-with-<x>-exception` id -> its `<license>` id
    with_deprecated: dict[str, str]
    rewrite: re.Pattern[str] | None


@lru_cache(maxsize=1)
def _spdx() -> _Spdx:
    """The SPDX license list, once: license-expression's licensing, plus the ids and full names of
    the newer list that cyclonedx-python-lib bundles (its `spdx.schema.json`)."""
    from license_expression import get_license_index, get_spdx_licensing

    licensing = get_spdx_licensing()
    known: dict[str, tuple[str, bool]] = {}
    for symbol in licensing.known_symbols.values():
        for spelling in (symbol.key, *symbol.aliases):
            known.setdefault(spelling.lower(), (symbol.key, bool(symbol.is_exception)))
    scancode = {
        str(entry["license_key"]).lower(): str(entry["spdx_license_key"])
        for entry in get_license_index()
        if entry.get("license_key") and entry.get("spdx_license_key")
    }
    list_names = _bundled_list()
    for list_id in list_names:
        # ids of a newer list than license-expression's stay as the list spells them
        known.setdefault(list_id.lower(), (list_id, "exception" in list_id.lower()))
    with_deprecated: dict[str, str] = {}
    for spelling, (_current, is_exception) in known.items():
        match = _WITH_DEPRECATED.match(spelling)
        base = known.get(match.group("license")) if match and is_exception else None
        if base is not None and not base[1]:
            with_deprecated[spelling] = base[0]
    names: dict[str, str] = {}
    for list_id, full_name in list_names.items():
        current = known.get(list_id.lower())
        if list_id.lower() in with_deprecated:
            names.setdefault(_name_key(full_name), with_deprecated[list_id.lower()])
        elif current is not None and not current[1]:
            names.setdefault(_name_key(full_name), current[0])
    rewrite = None
    if with_deprecated:
        alternatives = "|".join(re.escape(k) for k in sorted(with_deprecated, key=len, reverse=True))
        rewrite = re.compile(rf"(?<![A-Za-z0-9.+\-:])(?:{alternatives})(?![A-Za-z0-9.+\-])", re.IGNORECASE)
    return _Spdx(licensing, known, names, scancode, with_deprecated, rewrite)


def _bundled_list() -> dict[str, str]:
    """SPDX id -> full name, from the list bundled with cyclonedx-python-lib ({} if it is missing)."""
    import json

    from gate.collect.base import CollectError
    from gate.collect.cyclonedx_xml import resource_dir

    try:
        doc = json.loads((resource_dir() / "spdx.SNAPSHOT.schema.json").read_text("utf-8"))
    except (CollectError, OSError, ValueError):
        return {}
    names = doc.get("meta:enum") if isinstance(doc, dict) else None
    if not isinstance(names, dict):
        return {}
    return {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str)}


def _name_key(name: str) -> str:
    return " ".join(name.lower().split())


# --------------------------------------------------------------------------- one string


def fold(text: str) -> tuple[str, str | None]:
    """`text` with Unicode look-alikes folded to ASCII, and the first character left that no
    license expression may hold (None when there is none).

    NFKC first (full-width letters, non-breaking spaces); then dashes become `-`, any white space
    a space, and format characters (zero-width spaces and joiners, soft hyphens, BOMs) go.
    """
    if text.isascii() and text.isprintable():
        return text, None
    out: list[str] = []
    for char in unicodedata.normalize("NFKC", text).translate(_DASHES):
        if char.isspace():
            out.append(" ")
        elif unicodedata.category(char) == "Cf":
            continue
        else:
            out.append(char)
    folded = "".join(out)
    for char in folded:
        if not char.isascii() or not char.isprintable():
            name = unicodedata.name(char, "a control character")
            return folded, f"U+{ord(char):04X} ({name})"
    return folded, None


def _resolve(token: str) -> str | None:
    """The current id of a license (not an exception) written as `token`, or None."""
    spdx = _spdx()
    found = spdx.known.get(token.lower())
    if found is not None:
        return None if found[1] else found[0]
    if token.lower() in spdx.with_deprecated:
        return spdx.with_deprecated[token.lower()]
    return None


def _ref_license(ref: str) -> str | None:
    """For `LicenseRef-X` (or `LicenseRef-scancode-X`): the license X names, if X is a known id or
    ScanCode key; else None."""
    match = _REF.match(ref)
    if match is None:
        return None
    inner = match.group(1)
    if inner.lower().startswith("scancode-"):
        inner = inner[len("scancode-") :]
    found = _resolve(inner)
    if found is None:
        mapped = _spdx().scancode.get(inner.lower())
        found = _resolve(mapped) if mapped else None
        if found is None and mapped and _REF.match(mapped):
            found = mapped
    return found


def _scan(text: str) -> list[str]:
    """Known license ids written anywhere in free text (or a broken expression), in order."""
    ids: list[str] = []
    for token in _ID_CHARS.split(text):
        stripped = token.rstrip(".")
        found = _resolve(token) or _resolve(stripped) or _resolve(stripped.rstrip("+"))
        if found is None and _REF.match(stripped):
            found = _ref_license(stripped)
        if found is not None and found not in ids:
            ids.append(found)
    return ids


def _short(reason: str) -> str:
    line = " ".join(reason.split())
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


def _expression(raw: str) -> Parsed:
    """Parse one SPDX license expression (or id): the current ids of the licenses it names, in
    order and once each, and the reason it is invalid (None when valid).

    `NONE` / `NOASSERTION` name no license. An invalid expression still lists the known ids
    written in it, so a policy denying one of them sees it.
    """
    text, bad_char = fold(raw.strip())
    if bad_char is not None:
        return Parsed(tuple(_scan(text)), f"contains {bad_char}")
    if not text or text.upper() in NOT_LICENSES:
        return Parsed(())
    if len(text) > MAX_EXPRESSION_CHARS:
        return Parsed(tuple(_scan(text)), f"longer than {MAX_EXPRESSION_CHARS:,} characters")
    spdx = _spdx()
    if spdx.rewrite is not None:
        text = spdx.rewrite.sub(
            lambda m: f"({spdx.with_deprecated[m.group(0).lower()]} WITH {m.group(0)})", text
        )
    ids: list[str] = []
    try:
        parsed = spdx.licensing.parse(text, validate=False, strict=False)
        symbols = (
            [] if parsed is None else spdx.licensing.license_symbols(parsed, unique=True, decompose=False)
        )
        error = None
        for symbol in symbols:
            error = error or _check_symbol(symbol, ids)
    # license-expression raises its own errors, boolean.py's ParseError, and on hostile input
    # whatever its tokenizer trips over: any failure to parse means the string is invalid
    except Exception as exc:
        error = _short(str(exc) or type(exc).__name__)
    if error is not None:
        for found in _scan(text):
            if found not in ids:
                ids.append(found)
    return Parsed(tuple(ids), error)


def _check_symbol(symbol: Any, ids: list[str]) -> str | None:
    """Add the license a parsed symbol names to `ids`; the reason it is invalid, or None."""
    exception = getattr(symbol, "exception_symbol", None)
    if exception is not None:
        symbol = symbol.license_symbol
        found = _spdx().known.get(str(exception.key).lower())
        if found is None or not found[1]:
            return f"{exception.key!r} after WITH is not a license exception of the SPDX list"
    key = str(symbol.key)
    if key.upper() in NOT_LICENSES:
        return None
    current = _resolve(key)
    if current is None and _REF.match(key):
        current = key
        implied = _ref_license(key)
        if implied is not None and implied not in ids:
            ids.append(key)
            current = implied
    if current is None:
        if key.lower() in _spdx().known:
            return f"{key!r} is a license exception, which needs `<license> WITH` before it"
        return f"unknown license id {key!r} (not in the SPDX license list, and not a LicenseRef-)"
    if current not in ids:
        ids.append(current)
    return None


def _name_ids(raw: str) -> tuple[str, ...]:
    """The license ids a CycloneDX license *name* stands for: the id whose SPDX id or full name it
    is, else the ids of the valid expression it is, else the known ids written inside it."""
    text, _ = fold(raw.strip())
    found = _resolve(text.strip())
    if found is not None:
        return (found,)
    named = _spdx().names.get(_name_key(text))
    if named is not None:
        return (named,)
    parsed = expression(text)
    if parsed.error is None:
        return parsed.ids
    return tuple(_scan(text))


expression = Memo(_expression)
name_ids = Memo(_name_ids)


def _add(target: list[str], new: Iterable[str]) -> None:
    for license_id in new:
        if license_id not in target:
            target.append(license_id)


def _invalid(raw: str, parsed: Parsed) -> dict[str, str]:
    return {"value": raw, "reason": parsed.error or ""}


# --------------------------------------------------------------------------- the collectors' shapes

Licenses = tuple[list[dict[str, str]], list[str], list[dict[str, str]]]


def cyclonedx_licenses(entries: Any) -> Licenses:
    """Normalise a CycloneDX `licenses` array (JSON shape): `licenses` items as written, the
    `license_ids` they name (current SPDX ids) and the `invalid_licenses` (value and reason).

    `{"license": {"id": X}}` gives kind `id`, `{"license": {"name": X}}` kind `name`,
    `{"expression": X}` kind `expression`. An id or expression that is not valid SPDX is listed
    in `invalid_licenses`; a name is free text and never invalid. Malformed entries (wrong types)
    are skipped; schema validation reports them.
    """
    licenses: list[dict[str, str]] = []
    ids: list[str] = []
    invalid: list[dict[str, str]] = []
    if not isinstance(entries, list):
        return licenses, ids, invalid

    def spdx(kind: str, raw: str) -> None:  # an id or an expression: parsed against the SPDX list
        licenses.append({"kind": kind, "value": raw})
        parsed = expression(raw)
        _add(ids, parsed.ids)
        if parsed.error is not None:
            invalid.append(_invalid(raw, parsed))

    for entry in entries:
        if not isinstance(entry, dict):
            continue
        value = entry.get("expression")
        if isinstance(value, str) and value.strip():
            spdx("expression", value.strip())
        lic = entry.get("license")
        if not isinstance(lic, dict):
            continue
        license_id = lic.get("id")
        name = lic.get("name")
        if isinstance(license_id, str) and license_id.strip():
            spdx("id", license_id.strip())
        elif isinstance(name, str) and name.strip():
            raw = name.strip()
            licenses.append({"kind": "name", "value": raw})
            _add(ids, name_ids(raw))
    return licenses, ids, invalid


def spdx_licenses(values: Iterable[Any]) -> Licenses:
    """Normalise SPDX 2.x license fields (`licenseConcluded`, `licenseDeclared`, …) like
    cyclonedx_licenses.

    `NOASSERTION`, `NONE` and empty values carry no license and are dropped; a single id gives
    kind `id`, anything else kind `expression`. Repeated values are listed once.
    """
    licenses: list[dict[str, str]] = []
    ids: list[str] = []
    invalid: list[dict[str, str]] = []
    seen: set[str] = set()
    for raw in values:
        if not isinstance(raw, str):
            continue
        value = raw.strip()
        if not value or value.upper() in NOT_LICENSES or value in seen:
            continue
        seen.add(value)
        kind = "expression" if re.search(r"[\s()]", value) else "id"
        licenses.append({"kind": kind, "value": value})
        parsed = expression(value)
        _add(ids, parsed.ids)
        if parsed.error is not None:
            invalid.append(_invalid(value, parsed))
    return licenses, ids, invalid


# --------------------------------------------------------------------------- the configuration


def denied_licenses(values: Iterable[Any]) -> list[str]:
    """`denied_licenses` normalised as components' ids are, for the policies.

    An entry that is one license id becomes its current id; a `-only` id denies its `-or-later`
    twin too (`GPL-3.0-or-later` lets the user take GPL-3.0, so it grants no less than
    `GPL-3.0-only` does), not the other way round. Any other entry (a custom name, an expression)
    is kept as written. Non-strings are dropped.
    """
    out: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        parsed = expression(value)
        single = parsed.error is None and len(parsed.ids) == 1 and not re.search(r"[\s()]", value.strip())
        if not single:
            _add(out, [value])
            continue
        current = parsed.ids[0]
        _add(out, [current])
        if current.endswith("-only"):
            later = _resolve(current[: -len("-only")] + "-or-later")
            if later is not None:
                _add(out, [later])
    return out
