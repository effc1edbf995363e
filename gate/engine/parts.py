"""A very large input evaluated in parts: the SBOM components spread over several evaluations.

OPA's values for an input take about fifteen times the input's JSON text in the Wasm module's
memory: 2.5 GB for an SBOM of 1,000,000 components. An input of more than `PARTS_ABOVE`
components, evaluated in parts of `COMPONENTS_PER_PART` components, needs what one part needs, and the decision is the same, because the
shipped library's checks over SBOM components are component-local: a finding about a component
depends on that component, its SBOM's other fields, the config and the waivers, never on the
other components, except for whether there are any (SBOM-NOT-EMPTY). So:

- every part carries the whole document but a slice of the components, at most
  `COMPONENTS_PER_PART` over all SBOMs; an SBOM whose components all lie in other parts keeps its
  first one, so that no part shows an SBOM with components as empty;
- the decision is the union of the parts' findings, each once (a finding about the document, an
  SBOM's metadata or a repeated first component comes from several parts), its summary counted
  again, its outcome the most severe of theirs; any other field must be the same in every part,
  or the evaluation fails (a field computed over all components could not be merged).

tests/gate/engine/test_parts.py holds the parity: the decision in parts equals the whole evaluation's
for inputs where every shipped check reports, with parts of a few components.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gate.errors import EngineError

# Inputs of up to PARTS_ABOVE components are evaluated whole (~250 MB of the module's memory at
# most, and the document around the components, which every part evaluates again, once); larger
# ones in parts of COMPONENTS_PER_PART, small enough that a part's values take ~50 MB.
PARTS_ABOVE = 100_000
COMPONENTS_PER_PART = 20_000

_OUTCOME_RANK = {"pass": 0, "warn": 1, "block": 2, "error": 3}


def component_count(document: dict[str, Any]) -> int:
    """How many components the document's SBOMs list in all."""
    sboms = document.get("sboms")
    return sum(len(c) for c in _component_lists(sboms)) if isinstance(sboms, list) else 0


def _component_lists(sboms: list[Any]) -> list[list[Any]]:
    """Each SBOM's components ([] for an item that is not an SBOM with a list of them)."""
    lists = [s.get("components") if isinstance(s, dict) else None for s in sboms]
    return [c if isinstance(c, list) else [] for c in lists]


def split(document: dict[str, Any], per_part: int = COMPONENTS_PER_PART) -> Iterator[dict[str, Any]]:
    """The parts of the document, each with at most `per_part` components of all its SBOMs (plus
    the first component of every other SBOM that has some). Shallow copies: the parts share the
    document's values, which no evaluation changes."""
    sboms = document.get("sboms")
    if not isinstance(sboms, list):
        yield document
        return
    lists = _component_lists(sboms)
    for low in range(0, max(sum(map(len, lists)), 1), per_part):
        high = low + per_part
        part_sboms: list[Any] = []
        start = 0
        for sbom, components in zip(sboms, lists, strict=True):
            if not components:  # nothing to share out: the SBOM (or what stands in its place) as it is
                part_sboms.append(sbom)
                continue
            piece = components[max(low - start, 0) : max(high - start, 0)]
            start += len(components)
            part_sboms.append({**sbom, "components": piece or components[:1]})
        yield {**document, "sboms": part_sboms}


def merge(decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """One decision from the parts' decisions (see the module's docstring)."""
    import orjson

    first = decisions[0]
    for other in decisions[1:]:
        for key in first.keys() | other.keys():
            if key not in ("findings", "summary", "outcome") and first.get(key) != other.get(key):
                raise EngineError(
                    f"the decision's {key!r} differs between parts of the input",
                    "a field computed over all SBOM components cannot be evaluated in parts; "
                    "report this with the policy set",
                )
    seen: set[bytes] = set()
    findings: list[Any] = []
    for decision in decisions:
        for finding in decision.get("findings") or ():
            identity = orjson.dumps(finding, option=orjson.OPT_SORT_KEYS)
            if identity not in seen:
                seen.add(identity)
                findings.append(finding)
    outcomes = [d.get("outcome") for d in decisions]
    if not all(isinstance(o, str) and o in _OUTCOME_RANK for o in outcomes):
        raise EngineError(f"a part of the input has no known outcome ({outcomes})", "check package gate.main")
    actions = [f.get("action") for f in findings if isinstance(f, dict)]
    return {
        **first,
        "outcome": max(outcomes, key=lambda o: _OUTCOME_RANK[str(o)]),
        "findings": findings,
        "summary": {a: actions.count(a) for a in ("block", "warn", "waived")},
    }
