"""What the embedded engine's regopy runtime needs that the shipped Rego does not say.

The shipped library (policies/gate/) is plain Rego v1, written for OPA: it is what platform teams
read and copy. It runs unchanged on OPA, on its Wasm build, and (its unit tests, `gate policy
test`) on regopy. But when user policy folders are added, the embedded engine evaluates the whole
set on regopy (rego-cpp 1.5.2), where some plain constructs cost far more than on OPA. Here, and
only here, the shipped modules are rewritten for regopy before it compiles them, into Rego that
gives the same findings:

- **Sets built in Rego take O(n²) time on regopy** (a partial set rule or a set comprehension of
  n items: a decision of 1,000 findings took ~45 s, against ~5 s with lists). `gate.main.raw_violations` and `gate.main.findings_of`
  gather lists instead. A list may hold a finding twice (two packages reporting the same thing);
  gate.decision.ordered, which orders every engine's findings, drops exact duplicates.
- **`some sbom in input.sboms` copies each SBOM** (~0.3 s per rule for 10,000 components, on
  a dozen rules): the SBOMs are iterated by index (`input.sboms[i]`), which does not copy.
- **A check's meta is computed on every evaluation** (`lib.check_meta(...)`, ~0.3 s a decision
  over the 34 shipped checks): in the shipped checks it is replaced by its value, which
  tests/gate/engine/test_regopy_adapter.py compares with OPA's for every check.
- **regopy has no `rego.metadata.chain()` / `rego.metadata.rule()`**, which the shipped checks
  read their METADATA annotations with (`meta := lib.check_meta(rego.metadata.chain())`). OPA
  replaces these calls with the annotations when it compiles; so does `with_metadata`, in every
  module (user modules too): each call becomes the literal value OPA gives, built from the
  `# METADATA` blocks of the rule and of the package (scopes rule and package; other scopes are
  an EngineError naming --engine opa).

The first three apply only to a module whose text is exactly the shipped one (user modules and
edited copies run as written). Every rewrite keeps each line where it was, so regopy's messages
name the lines as written. A shipped module that no longer has the shape a rewrite expects is an AdapterError: the
tests (tests/gate/engine/test_regopy_adapter.py) catch it when the library changes.

What regopy lacks or does differently, for anyone writing policies for the embedded engine (the
shipped library keeps to these; one helper, lib.sorted_strings, exists for the one on sort()):

- no `net.*`, `json.match_schema`, `http.send`, `time.parse_rfc3339_ns` with `Z`, `(?i)`
  regexes (the gate names a missing builtin before evaluating);
- builtin errors are strict: guard calls that can fail on bad types (is_string, is_number);
- `with input as {...}` in tests crashes regopy when the rule under it calls a builtin: replace
  top-level keys (`with input.catalog as [...]`); `with data.x as r`, r a rule of the test
  package, does not take: bind r to a local variable first;
- a call argument may not be `x[_]` or `x[k]` with k unbound: bind it first;
- `not f(x.missing)` is true on regopy, undefined on OPA: look the value up inside f;
- `some k, v in coll` does not parse inside comprehensions: write `some k; v := coll[k]`;
- a comprehension inside another that uses the outer one's variable evaluates wrongly: call a
  function per value;
- `not` inside `every` evaluates wrongly;
- object.union is shallow;
- sort(), `<` and `>` order strings and arrays by their JSON text, quotes included (`"a b"`
  sorts before `"a"`; sort([9, 10]) is [10, 9]); `<` on numbers and on strings of one fixed
  shape (YYYY-MM-DD) is fine;
- sprintf's %s quotes some strings and prints numbers differently: build text with concat and
  format_int;
- json.unmarshal leaves control characters raw, and json.marshal of input values fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from gate.errors import EngineError


def regopy() -> Any:
    """The regopy module, imported after google-re2 (where it is installed).

    regopy carries RE2 symbols of its own: a google-re2 loaded after it aborts the process at
    its first compile (`python -c "import regopy, re2; re2.compile(b'null')"` exits 134), and the
    audit step compiles RE2 patterns after every regopy evaluation. Loaded before, each library
    keeps its own.
    """
    with contextlib.suppress(ImportError):
        import re2  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    import regopy as module

    return module


# `\tsome sbom in input.sboms` on a line of its own, in a rule body.
_SBOM_LOOP = re.compile(r"^(\t+)some (\w+) in input\.sboms$", re.MULTILINE)


class AdapterError(EngineError):
    """A shipped module no longer has the shape a rewrite for regopy expects."""


@dataclass(frozen=True)
class Rewrite:
    """One rewrite of one shipped module, by its name (`lib/gate/...`)."""

    module: str
    why: str
    apply: Callable[[str], str]


def _by_index(source: str) -> str:
    """Every `some sbom in input.sboms` as a loop over indexes, on the same line."""

    def loop(m: re.Match[str]) -> str:
        index = f"gate_regopy_i{source.count(chr(10), 0, m.start())}"
        return (
            f"{m.group(1)}some {index} in numbers.range(0, count(input.sboms) - 1); "
            f"{m.group(2)} := input.sboms[{index}]"
        )

    return _SBOM_LOOP.sub(loop, source)


def _rule_block(source: str, head: str) -> tuple[int, int]:
    """The start of the top-level rule whose first line starts with `head`, and the start of
    its closing line (a `}` in column 0)."""
    start = source.find("\n" + head)
    if start < 0:
        raise AdapterError(f"the regopy adapter found no rule {head.strip()!r} in the shipped library")
    end = source.find("\n}\n", start + 1)
    if end < 0:
        raise AdapterError(f"the regopy adapter found no end of rule {head.strip()!r}")
    return start + 1, end + 1


def _set_rule_as_list(name: str) -> Callable[[str], str]:
    """`name contains X if {BODY}` as `name := [X | BODY]`."""

    def apply(source: str) -> str:
        start, end = _rule_block(source, f"{name} contains ")
        first = source[start : source.index("\n", start)]
        if not first.endswith(" if {"):
            raise AdapterError(f"the regopy adapter expects `{name} contains ... if {{` on one line")
        term = first[len(f"{name} contains ") : -len(" if {")]
        return f"{source[:start]}{name} := [{term} |{source[source.index(chr(10), start) : end]}]{source[end + 1 :]}"

    return apply


def _set_comprehension_as_list(head: str) -> Callable[[str], str]:
    """`head {x |BODY}` (a function whose value is a set comprehension) as `head [x |BODY]`."""

    def apply(source: str) -> str:
        start, end = _rule_block(source, head)
        first = source[start : source.index("\n", start)]
        match = re.fullmatch(re.escape(head) + r"\{(\w+) \|", first)
        if match is None:
            raise AdapterError(f"the regopy adapter expects `{head}{{x |` on one line")
        return f"{source[:start]}{head}[{match.group(1)} |{source[source.index(chr(10), start) : end]}]{source[end + 1 :]}"

    return apply


def _as_json(value: Any) -> Any:
    """YAML values as OPA hands annotations over: dates and times as RFC 3339 text (OPA reads
    `2026-01-01` as 2026-01-01T00:00:00Z)."""
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() == dt.timedelta(0):
            text = value.replace(tzinfo=None).isoformat()
            return text + "Z"
        return value.isoformat()
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    return value


_METADATA_CALL = re.compile(r"\brego\.metadata\.(chain|rule)\(\)")
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^(?:default\s+)?([A-Za-z_]\w*)")
_NOT_A_HEAD = ("#", "}", "]", ")", "else", "import ", "package ")


def _annotations(lines: list[str], name: str) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]]]:
    """The package's annotations, and each rule head's (by line index), from `# METADATA` blocks."""
    package: dict[str, Any] | None = None
    rules: dict[int, dict[str, Any]] = {}
    i = 0
    while i < len(lines):
        if lines[i].rstrip() != "# METADATA":
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith("#"):
            j += 1
        text = "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in lines[i + 1 : j])
        try:
            value = _as_json(yaml.safe_load(text) or {})
        except yaml.YAMLError as exc:
            raise EngineError(
                f"policy {name}: a METADATA block is not YAML ({exc})".split("\n")[0], "fix it"
            ) from None
        if not isinstance(value, dict) or j >= len(lines):
            raise EngineError(f"policy {name}: a METADATA block is not a mapping above a rule", "fix it")
        target = "package" if lines[j].startswith("package ") else "rule"
        value.setdefault("scope", target)
        if value["scope"] != target:
            raise EngineError(
                f"policy {name} uses METADATA scope {value['scope']!r}, which the embedded engine does not read",
                "run with --engine opa for this policy",
            )
        if target == "package":
            package = value
        else:
            rules[j] = value
        i = j
    return package, rules


def _metadata_literals(name: str, source: str) -> str:
    """Each rego.metadata.chain() / rule() call in `source` as the value OPA gives it."""
    found = _PACKAGE.search(source)
    if found is None:
        return source
    path = found.group(1).split(".")
    lines = source.split("\n")
    package, rules = _annotations(lines, name)
    for index, line in enumerate(lines):
        if "rego.metadata." not in line or line.lstrip().startswith("#"):
            continue
        head = next(
            (
                k
                for k in range(index, -1, -1)
                if lines[k][:1].strip() and not lines[k].startswith(_NOT_A_HEAD)
            ),
            None,
        )
        match = _RULE_HEAD.match(lines[head]) if head is not None else None
        if head is None or match is None:
            continue
        rule = rules.get(head)
        chain: list[dict[str, Any]] = [{"path": [*path, match.group(1)]}]
        if rule is not None:
            chain[0]["annotations"] = rule
        if package is not None:
            chain.append({"annotations": package, "path": path})

        def literal(m: re.Match[str], chain: list[dict[str, Any]] = chain, rule: Any = rule) -> str:
            value = chain if m.group(1) == "chain" else (rule or {})
            return json.dumps(value, ensure_ascii=False, sort_keys=True)

        lines[index] = _METADATA_CALL.sub(literal, line)
    return "\n".join(lines)


def with_metadata(modules: Mapping[str, str]) -> dict[str, str]:
    """The modules with every rego.metadata.chain() and rego.metadata.rule() call replaced by its
    value, as OPA's compiler does (regopy has neither builtin)."""
    return {
        name: _metadata_literals(name, source) if "rego.metadata." in source else source
        for name, source in modules.items()
    }


_CHECK_META = re.compile(r"^meta := lib\.check_meta\((.*)\)$", re.MULTILINE)


def _check_meta(chain: list[dict[str, Any]]) -> dict[str, Any] | None:
    """lib.check_meta of a chain, or None where the Rego function is undefined."""
    for entry in chain:
        annotations = entry.get("annotations", {})
        if annotations.get("scope") == "package" and "title" in annotations:
            custom = annotations.get("custom", {})
            meta = {k: custom[k] for k in ("id", "severity", "remediation") if k in custom}
            meta["title"] = annotations["title"]
            if isinstance(custom.get("effective_on"), str):
                meta["effective_on"] = custom["effective_on"][:10]
            return meta
    return None


def _folded_meta(source: str) -> str:
    """`meta := lib.check_meta(<the chain's value>)` as `meta := <its value>`."""

    def fold(m: re.Match[str]) -> str:
        meta = _check_meta(json.loads(m.group(1)))
        return (
            m.group(0) if meta is None else f"meta := {json.dumps(meta, ensure_ascii=False, sort_keys=True)}"
        )

    return _CHECK_META.sub(fold, source)


MAIN = "lib/gate/main.rego"

REWRITES = (
    Rewrite(MAIN, "a set of every violation", _set_rule_as_list("raw_violations")),
    Rewrite(
        MAIN,
        "a set of the findings",
        _set_comprehension_as_list("findings_of(raws, config, waivers, ctx) := "),
    ),
)


@cache
def _shipped() -> dict[str, str]:
    from gate.policy.policy_set import shipped_modules

    return shipped_modules()[0]


@cache
def _adapted_shipped() -> dict[str, str]:
    out = {name: _folded_meta(_by_index(source)) for name, source in with_metadata(_shipped()).items()}
    for rewrite in REWRITES:
        if rewrite.module not in out:
            raise AdapterError(f"the regopy adapter expects the shipped module {rewrite.module}")
        out[rewrite.module] = rewrite.apply(out[rewrite.module])
    return out


# Where the values of conftest-style rules, computed beforehand, are handed to regopy's
# evaluation of the decision (see conftest_values).
CONFTEST_KEY = "gate_regopy_conftest"
_ADAPTER_IMPORT = re.compile(r"^import data\.([\w.]+) as src$", re.MULTILINE)
_ADAPTER_WITH = re.compile(
    r"\bsrc\.(\w+) with input as (input\.files\[i\]\.contents|_combined)$", re.MULTILINE
)


def conftest_lookups(source: str) -> str:
    """A generated conftest adapter (gate.policy.policy_set.conftest_adapter) for regopy, whose
    `with input as` around a rule that calls a builtin crashes or gives wrong values: each
    `src.<rule> with input as <the file's content>` as a look-up of the value computed beforehand,
    `input.gate_regopy_conftest[<package>].files[i].<rule>` (`.combined.<rule>` for --combine)."""
    found = _ADAPTER_IMPORT.search(source)
    if found is None:
        raise AdapterError("the regopy adapter found no `import data.<package> as src` in a conftest adapter")
    package = json.dumps(found.group(1))

    def lookup(m: re.Match[str]) -> str:
        where = "files[i]" if m.group(2) != "_combined" else "combined"
        return f"input.{CONFTEST_KEY}[{package}].{where}.{m.group(1)}"

    return _ADAPTER_WITH.sub(lookup, source)


def conftest_query(package: str, rules: tuple[str, ...]) -> str:
    """The query for the values of a conftest-style package's rules over one input: `x`, an
    object of each rule's value as a list of none (undefined) or one."""
    parts = ", ".join(f'"{rule}": [v | v := data.{package}.{rule}]' for rule in rules)
    return f"x = {{{parts}}}"


def conftest_values(found: Mapping[str, Any]) -> dict[str, Any]:
    """One input's rule values from the query's result (conftest_query): the undefined left out."""
    return {rule: values[0] for rule, values in found.items() if isinstance(values, list) and values}


def adapted(modules: Mapping[str, str]) -> dict[str, str]:
    """The modules as regopy compiles them: each shipped module, unchanged by the user, rewritten
    (see the module's docstring), every generated conftest adapter reading values computed
    beforehand, every other module as given; rego.metadata calls as values."""
    from gate.policy.policy_set import ADAPTER_PREFIX

    shipped = _shipped()
    rewritten = _adapted_shipped()
    out: dict[str, str] = {}
    for name, source in modules.items():
        if shipped.get(name) == source:
            out[name] = rewritten[name]
        elif name.startswith(ADAPTER_PREFIX):
            out[name] = conftest_lookups(source)
        else:
            out[name] = source
    return with_metadata(out)
