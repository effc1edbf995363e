"""Package URLs normalised for matching: components' purls and the `denied_packages` patterns.

A purl is parsed with `packageurl-python`, which applies the purl spec's rules: the type is
lower-cased, percent-encoding is decoded and re-encoded canonically (`%65vent-stream` is
`event-stream`), and the type-specific rules it knows are applied (npm, pypi, github, bitbucket,
composer, hex, … names lower-cased; pypi `_` -> `-`). On top of those, for matching only:

- the parts the purl spec's type definitions call case-insensitive are lower-cased (`_FOLD`);
  npm scopes are too (the npm registry takes no new upper-case names), and pypi names get
  PEP 503's normalisation (runs of `-`, `_`, `.` are one `-`);
- Unicode look-alikes in the parts are folded as in license strings (dashes such as U+2011 to `-`,
  zero-width characters removed);
- qualifiers and subpath are left out: `pkg:npm/event-stream@3.3.6?foo=bar` is still
  event-stream 3.3.6, so a denial cannot be dodged by adding a qualifier.

The key is `pkg:type/namespace/name@version` in canonical encoding. A purl that does not parse
has no key (the collector reports it: SBOM-PURL-INVALID). Answers are remembered per distinct
string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gate.collect.licenses import Memo, fold

_REASON_CHARS = 200
_PEP503 = re.compile(r"[-_.]+")
_QUOTED_TAIL = re.compile(r":\s*'.*'\.?$")

# The parts of each type that the purl spec's type definitions (types/*-definition.json) mark
# `case_sensitive: false`, beyond what packageurl-python already lower-cases; npm's scope is
# lower-cased as its name is (see the module docstring).
_FOLD: dict[str, frozenset[str]] = {
    "alpm": frozenset({"namespace", "name"}),
    "apk": frozenset({"namespace", "name"}),
    "bitbucket": frozenset({"namespace", "name"}),
    "bitnami": frozenset({"name"}),
    "brew": frozenset({"namespace", "name"}),
    "chrome-extension": frozenset({"name"}),
    "composer": frozenset({"namespace", "name"}),
    "deb": frozenset({"namespace", "name"}),
    "github": frozenset({"namespace", "name"}),
    "hex": frozenset({"namespace", "name"}),
    "huggingface": frozenset({"version"}),
    "luarocks": frozenset({"namespace", "name"}),
    "npm": frozenset({"namespace", "name"}),
    "oci": frozenset({"name", "version"}),
    "otp": frozenset({"name"}),
    "pypi": frozenset({"name", "version"}),
    "qpkg": frozenset({"namespace"}),
    "rpm": frozenset({"namespace"}),
    "vscode-extension": frozenset({"namespace", "name", "version"}),
    "yocto": frozenset({"namespace"}),
}


def _fold_part(ptype: str, part: str, value: str | None) -> str | None:
    if value is None:
        return None
    folded, _ = fold(value)
    if part in _FOLD.get(ptype, frozenset()):
        folded = folded.lower()
    if ptype == "pypi" and part == "name":
        folded = _PEP503.sub("-", folded)
    return folded


def _parse(raw: str) -> Any:
    """packageurl-python's PackageURL of `raw` (the `pkg:` scheme matched in any case); ValueError
    when it is not a purl."""
    from packageurl import PackageURL

    text = raw.strip()
    if text[:4].lower() == "pkg:":
        text = "pkg:" + text[4:]
    return PackageURL.from_string(text)


def _key(purl: Any) -> str:
    """`pkg:type/namespace/name@version` of a parsed purl, with the extra folding applied."""
    from packageurl import PackageURL

    ptype = str(purl.type)
    namespace = _fold_part(ptype, "namespace", purl.namespace)
    name = _fold_part(ptype, "name", purl.name)
    version = _fold_part(ptype, "version", purl.version)
    if (namespace, name, version) == (purl.namespace, purl.name, purl.version):
        # nothing to fold (the common case): the parsed parts are normalised already
        bare = purl._replace(qualifiers={}, subpath=None)
    else:
        bare = PackageURL(type=ptype, namespace=namespace, name=name, version=version)
    return str(bare.to_string())


# A purl already in the form the slow path gives is its own key, up to its qualifiers and subpath:
# a lower-case type; namespace segments and name of unreserved characters (an npm-style `%40`
# scope allowed), upper-case letters only for types that keep case (`_CASE_KEPT`); a version of
# unreserved characters (and `%2B`); well-formed qualifiers. The types whose rules still change
# such a purl are left to the parser. Most generators write purls so, and parsing one takes
# ~20 µs, which was most of the collection time of a 10,000-component SBOM.
# tests/gate/collect/test_purls.py checks that both paths agree.
_CANONICAL = re.compile(
    r"pkg:(?P<type>[a-z][a-z0-9.\-]*)/(?P<path>(?:(?:%40)?[A-Za-z0-9._~\-]+/)*[A-Za-z0-9._~\-]+)"
    r"(?:@(?P<version>(?:[A-Za-z0-9._~\-]|%2B)+))?"
    r"(?P<tail>(?:\?[A-Za-z][A-Za-z0-9._\-]*=[^&#?\s]+(?:&[A-Za-z][A-Za-z0-9._\-]*=[^&#?\s]+)*)?"
    r"(?:#[A-Za-z0-9._~\-/]*)?)"
)
_CASE_KEPT = frozenset(
    {
        "cargo",
        "cocoapods",
        "conan",
        "conda",
        "cran",
        "docker",
        "gem",
        "generic",
        "golang",
        "maven",
        "nuget",
        "swift",
    }
)
_NOT_CANONICAL_TYPES = frozenset({"cpan", "hackage", "mlflow", "pub"})
_VERSION_FOLD = frozenset(t for t, parts in _FOLD.items() if "version" in parts)
_PYPI_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _fast_key(raw: str) -> str | None:
    """The key of a purl already in canonical form (see above), or None to ask the parser."""
    match = _CANONICAL.fullmatch(raw)
    if match is None:
        return None
    ptype, path, version = match["type"], match["path"], match["version"]
    if ptype in _NOT_CANONICAL_TYPES or (ptype not in _CASE_KEPT and path != path.lower()):
        return None
    if version is not None and ptype in _VERSION_FOLD and version != version.lower():
        return None
    if ptype == "pypi" and _PYPI_NAME.fullmatch(path) is None:
        return None
    return raw[: match.start("tail")]


def _normalise(raw: str) -> tuple[str | None, str | None]:
    """The matching key of a component's purl and, when it does not parse, why (key None)."""
    key = _fast_key(raw)
    return (key, None) if key is not None else slow_normalise(raw)


normalise = Memo(_normalise)


def slow_normalise(raw: str) -> tuple[str | None, str | None]:
    """normalise() through packageurl-python always (the reference the fast path is tested against)."""
    try:
        return _key(_parse(raw)), None
    # packageurl-python raises ValueError for a malformed purl; anything else it trips over on
    # hostile input means the same: this is not a purl
    except Exception as exc:
        line = " ".join((str(exc) or type(exc).__name__).split())
        line = _QUOTED_TAIL.sub("", line)  # the purl itself, which the finding shows already
        return None, line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


def component_fields(raw: Any) -> dict[str, str | None]:
    """The collector's fields for a component's purl: `purl_normalised` (None without a purl or
    when it does not parse) and, for a purl that does not parse, `purl_error`."""
    if not isinstance(raw, str) or not raw.strip():
        return {"purl_normalised": None}
    key, error = normalise(raw)
    if error is not None:
        return {"purl_normalised": None, "purl_error": error}
    return {"purl_normalised": key}


def denied_packages(values: Iterable[Any]) -> list[str]:
    """`denied_packages` normalised as components' purls are, for the policies.

    `*` stays a glob (it spans any characters). A pattern without a version (`pkg:npm/x`) denies
    every version, and a pattern whose version is `*` also matches the purl written without one.
    Qualifiers and subpath of a pattern are left out (a denial is never narrower than written). A
    pattern that is not a purl (`pkg:*/x@*`) is kept as written. Non-strings are dropped.
    """
    out: list[str] = []

    def add(pattern: str) -> None:
        if pattern not in out:
            out.append(pattern)

    for value in values:
        if not isinstance(value, str):
            continue
        try:
            purl = _parse(value)
            key = re.sub("%2[Aa]", "*", _key(purl))
        except ValueError:
            add(value)
            continue
        if purl.version is None:
            add(key)
            add(key + "@*")
        elif purl.version == "*":
            add(key)
            add(key[: -len("@*")])
        else:
            add(key)
    return out
