"""What the embedded engine's regopy runtime needs that the shipped Rego does not say.

The shipped library (policies/gate/) is plain Rego v1, written for OPA: it is what platform teams
read and copy. It runs unchanged on OPA, on its Wasm build, and (its unit tests, `gate policy
test`) on regopy. But when user policy folders are added, the embedded engine evaluates the whole
set on regopy (rego-cpp 1.5.2), where some plain constructs cost far more than on OPA. Here, and
only here, the shipped modules are rewritten for regopy before it compiles them, into Rego that
gives the same findings:

- **Sets built in Rego take O(n²) time on regopy** (a partial set rule or a set comprehension of
  n items: 1,000 findings took ~40 s). `gate.main.raw_violations` and `gate.main.findings_of`
  gather lists instead. A list may hold a finding twice (two packages reporting the same thing);
  gate.decision.ordered, which orders every engine's findings, drops exact duplicates.
- **`some sbom in input.sboms` copies each SBOM** (~0.03 s per rule for 10,000 components, on
  a dozen rules): the SBOMs are iterated by index (`input.sboms[i]`), which does not copy.

Rewrites apply only to a module whose text is exactly the shipped one (user modules and edited
copies run as written) and keep every line where it was, so regopy's messages name the shipped
lines. A shipped module that no longer has the shape a rewrite expects is an AdapterError: the
tests (tests/engine/test_regopy_adapter.py) catch it when the library changes.

What regopy lacks or does differently, for anyone writing policies for the embedded engine (the
shipped library keeps to these; one helper, lib.sorted_strings, exists for the last but one):

- no `rego.metadata.*`, `net.*`, `json.match_schema`, `http.send`, `time.parse_rfc3339_ns` with
  `Z`, `(?i)` regexes (the gate names a missing builtin before evaluating);
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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from gate.errors import EngineError

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
    from gate.policy import shipped_modules

    return shipped_modules()[0]


@cache
def _adapted_shipped() -> dict[str, str]:
    out = {name: _by_index(source) for name, source in _shipped().items()}
    for rewrite in REWRITES:
        if rewrite.module not in out:
            raise AdapterError(f"the regopy adapter expects the shipped module {rewrite.module}")
        out[rewrite.module] = rewrite.apply(out[rewrite.module])
    return out


def adapted(modules: Mapping[str, str]) -> dict[str, str]:
    """The modules as regopy compiles them: each shipped module, unchanged by the user, rewritten
    (see the module's docstring); every other module as given."""
    shipped = _shipped()
    rewritten = _adapted_shipped()
    return {
        name: rewritten[name] if shipped.get(name) == source else source for name, source in modules.items()
    }
