"""Package URLs normalised per the purl spec (gate.collect.purls), through the real collectors from
fixtures built here: every spelling of event-stream that could slip past a plain match of
`denied_packages: ["pkg:npm/event-stream@*"]` gets the same `purl_normalised`,
and a purl that does not parse gets `purl_error`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gate.collect import cyclonedx, spdx
from gate.collect.base import CollectSettings
from gate.collect.parse import parse_file
from gate.config import from_mapping
from gate.schemas import compile_schema
from tests.helpers import ROOT, cyclonedx_bom, spdx_document

SCHEMA = json.loads((ROOT / "schemas" / "input.schema.json").read_text())
ITEM = compile_schema({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/sbom"})

SPELLINGS = [
    ("pkg:npm/event-stream", "pkg:npm/event-stream"),
    ("pkg:npm/event-stream@3.3.6", "pkg:npm/event-stream@3.3.6"),
    ("pkg:NPM/event-stream@3.3.6", "pkg:npm/event-stream@3.3.6"),
    ("pkg:npm/%65vent-stream@1", "pkg:npm/event-stream@1"),
    ("pkg:npm/Event-Stream@3.3.6", "pkg:npm/event-stream@3.3.6"),
    ("PKG:npm/event-stream@3.3.6", "pkg:npm/event-stream@3.3.6"),
    ("pkg:npm/event-stream@3.3.6?arch=x64#lib", "pkg:npm/event-stream@3.3.6"),
    ("pkg:npm/event\u2011stream@3.3.6", "pkg:npm/event-stream@3.3.6"),
    ("pkg:npm/event-stream%E2%80%8B@3.3.6", "pkg:npm/event-stream@3.3.6"),
]


def _cdx(tmp_path: Path, purl: str) -> dict[str, Any]:
    comp = {"type": "library", "name": "event-stream", "version": "3.3.6", "purl": purl}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(cyclonedx_bom([comp])), encoding="utf-8")
    item = cyclonedx.collect(parse_file(path, shown="bom.json"), CollectSettings())["sboms"][0]
    assert not ITEM.errors(item)
    component: dict[str, Any] = item["components"][0]
    return component


def _spdx(tmp_path: Path, purl: str) -> dict[str, Any]:
    package = {
        "SPDXID": "SPDXRef-x",
        "name": "event-stream",
        "versionInfo": "3.3.6",
        "downloadLocation": "NOASSERTION",
        "externalRefs": [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
        ],
    }
    doc = spdx_document(package)
    path = tmp_path / "sbom.spdx.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    item = spdx.collect(parse_file(path, shown="sbom.spdx.json"), CollectSettings())["sboms"][0]
    assert not ITEM.errors(item)
    component: dict[str, Any] = item["components"][0]
    return component


@pytest.mark.parametrize(("purl", "key"), SPELLINGS)
@pytest.mark.parametrize("collector", [_cdx, _spdx])
def test_every_spelling_gets_one_key(tmp_path: Path, collector: Any, purl: str, key: str) -> None:
    component = collector(tmp_path, purl)
    assert component["purl"] == purl  # kept as written, for display
    assert component["purl_normalised"] == key
    assert "purl_error" not in component


@pytest.mark.parametrize(
    ("purl", "key"),
    [
        ("pkg:pypi/Django_REST.framework@3.0RC1", "pkg:pypi/django-rest-framework@3.0rc1"),
        ("pkg:github/Package-URL/Purl-Spec@v1", "pkg:github/package-url/purl-spec@v1"),
        ("pkg:npm/%40Angular/Core@12.0.0", "pkg:npm/%40angular/core@12.0.0"),
        ("pkg:deb/Debian/Curl@7.50", "pkg:deb/debian/curl@7.50"),
        # maven is case-sensitive per the purl spec: left alone
        ("pkg:maven/org.Apache/Commons@1.0", "pkg:maven/org.Apache/Commons@1.0"),
    ],
)
def test_type_specific_rules(purl: str, key: str) -> None:
    from gate.collect.purls import normalise

    assert normalise(purl) == (key, None)


@pytest.mark.parametrize("purl", ["npm/event-stream@3.3.6", "pkg:npm/", "pkg:", "event-stream"])
@pytest.mark.parametrize("collector", [_cdx, _spdx])
def test_a_purl_that_does_not_parse_is_an_error_not_a_missing_purl(
    tmp_path: Path, collector: Any, purl: str
) -> None:
    component = collector(tmp_path, purl)
    assert component["purl"] == purl
    assert component["purl_normalised"] is None
    assert component["purl_error"] and purl not in component["purl_error"]


def test_no_purl_has_no_error(tmp_path: Path) -> None:
    doc = cyclonedx_bom([{"type": "library", "name": "x", "version": "1"}])
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    component = cyclonedx.collect(parse_file(path, shown="bom.json"), CollectSettings())["sboms"][0][
        "components"
    ][0]
    assert component["purl"] is None and component["purl_normalised"] is None
    assert "purl_error" not in component


def test_denied_patterns_are_normalised() -> None:
    from gate.collect.purls import denied_packages

    assert denied_packages(["pkg:npm/event-stream@*"]) == ["pkg:npm/event-stream@*", "pkg:npm/event-stream"]
    assert denied_packages(["pkg:NPM/Event-Stream"]) == ["pkg:npm/event-stream", "pkg:npm/event-stream@*"]
    assert denied_packages(["pkg:npm/%65vent-stream@3.3.6?x=1"]) == ["pkg:npm/event-stream@3.3.6"]
    assert denied_packages(["pkg:pypi/Foo_Bar@1.*"]) == ["pkg:pypi/foo-bar@1.*"]
    assert denied_packages(["pkg:npm/%40acme/*"]) == ["pkg:npm/%40acme/*", "pkg:npm/%40acme/*@*"]
    # not a purl: kept as written; non-strings dropped
    assert denied_packages(["pkg:*/x@*", 7]) == ["pkg:*/x@*"]


def test_the_policies_get_the_normalised_lists() -> None:
    """config.policy_data() is what the engines read under data.gate.config."""
    config = from_mapping(
        {"data": {"denied_licenses": ["GPL-3.0"], "denied_packages": ["pkg:NPM/Event-Stream@*"]}}, None
    )
    data = config.policy_data()
    assert data["denied_licenses"] == ["GPL-3.0-only", "GPL-3.0-or-later"]
    assert data["denied_packages"] == ["pkg:npm/event-stream@*", "pkg:npm/event-stream"]
    assert config.data["denied_packages"] == ["pkg:NPM/Event-Stream@*"]  # the config itself as written


def test_the_fast_path_agrees_with_packageurl_python() -> None:
    """Purls already in canonical form skip the parser; for every purl of a generated space (and
    the corpus's) both paths give the same key."""
    import itertools
    import random

    from gate.collect import purls
    from tests.conftest import CORPUS

    types = ["npm", "pypi", "maven", "golang", "github", "huggingface", "oci", "cpan", "pub", "hackage"]
    types += ["vscode-extension", "deb", "generic", "mlflow", "cargo", "Npm"]
    types += ["docker", "nuget", "composer", "rpm", "apk", "swift"]
    namespaces = ["", "acme/", "%40acme/", "%40Acme/", "Acme/", "a.b/c-d/", "%65x/", "@acme/", "a_b/"]
    names = ["x", "left-pad", "Left-Pad", "foo_bar", "foo.bar", "foo--bar", "a~b", "%65vent", "x+y", "-x"]
    versions = ["", "@1.0.0", "@1.0.0-RC1", "@v1.2.3", "@1.0+build", "@ABC", "@1%2B2", "@1%2b2", "@"]
    tails = [
        "",
        "?type=jar",
        "?Arch=x&distro=d-1",
        "?a=",
        "?1a=b",
        "?a=b&a=c",
        "?a=%zz",
        "#sub/p",
        "?a=b#x/./y",
        "#",
    ]
    seen = 0
    for i, (ptype, ns, name, version) in enumerate(itertools.product(types, namespaces, names, versions)):
        raw = f"pkg:{ptype}/{ns}{name}{version}{tails[i % len(tails)]}"
        assert purls.normalise(raw) == purls.slow_normalise(raw), raw
        seen += purls._fast_key(raw) is not None
    assert seen > 2_000  # the fast path is taken for a good share of them
    rng = random.Random(12)
    alphabet = "abcXYZ019._-~%40+@/:?#=&"
    for _ in range(5_000):
        raw = (
            "pkg:"
            + rng.choice(types)
            + "/"
            + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        )
        assert purls.normalise(raw) == purls.slow_normalise(raw), raw
    checked = 0
    for path in sorted(p for d in ("cyclonedx", "spdx") for p in (CORPUS / d).rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        for raw in set(re.findall(r"pkg:[^\"'<>\\\s]{1,300}", text)):
            assert purls.normalise(raw) == purls.slow_normalise(raw), (path.name, raw)
            checked += 1
    assert checked > 0 or not CORPUS.is_dir()
