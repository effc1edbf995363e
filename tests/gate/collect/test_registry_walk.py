"""A folder walk skips the files that are not recognisably inputs, saying why, and stops only at
inputs that are broken; a `.rego` file is never an input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.collect.base import CollectError, CollectSettings
from gate.collect.parse import looks_like_input, looks_like_rego
from gate.collect.read import exclude_patterns
from gate.collect.registry import collect_paths, named_as_input
from tests.helpers import component_entity, cyclonedx_bom, npm_component, write_yaml

TSCONFIG = """{
  // TypeScript's own format allows comments and trailing commas
  "compilerOptions": {"strict": true, "outDir": "dist",},
}
"""

REGO = """# METADATA
# title: no latest tags
package acme.images

import rego.v1

deny contains msg if {
  input.image == "latest"
  msg := "pin the image"
}
"""


def _repo(root: Path) -> Path:
    write_yaml(root / "catalog-info.yaml", component_entity())
    (root / "bom.cdx.json").write_text(json.dumps(cyclonedx_bom([npm_component("a", "1.0.0")])))
    (root / "tsconfig.json").write_text(TSCONFIG)
    (root / "package.json").write_text('{"name": "web", "version": "1.0.0"}')
    (root / "policy").mkdir()
    (root / "policy" / "images.rego").write_text(REGO)
    (root / "chart").mkdir()
    (root / "chart" / "values.yaml").write_text("image: {{ .Values.image }}\n")
    (root / "empty.json").write_text("")
    (root / "data.json").write_bytes(b"\x00\x01binary")
    return root


def _collect(
    *paths: Path, parallel: bool = False, **kw: object
) -> tuple[dict[str, list[object]], list[tuple[str, str]]]:
    skipped: list[tuple[str, str]] = []
    sections = collect_paths(
        list(paths),
        CollectSettings(),
        parallel=parallel,
        skipped=lambda shown, reason: skipped.append((shown, reason)),
        **kw,  # type: ignore[arg-type]
    )
    return sections, skipped


@pytest.mark.parametrize("parallel", [False, True])
def test_a_walk_skips_what_is_not_an_input_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    monkeypatch.chdir(_repo(tmp_path))
    if parallel:  # enough files for the forked workers
        for i in range(70):
            (tmp_path / f"junk-{i}.json").write_text("{ not json")
    sections, skipped = _collect(Path("."), parallel=parallel)
    assert len(sections["catalog"]) == 1 and len(sections["sboms"]) == 1
    reasons = dict(skipped)
    assert reasons["tsconfig.json"].startswith("malformed JSON")
    assert reasons["package.json"] == "not a recognised input"
    assert "YAML" in reasons["chart/values.yaml"]
    assert reasons["empty.json"] == "file is empty"
    assert reasons["data.json"] == "binary content, not a text input"
    assert "policy/images.rego" not in reasons  # not a candidate: never read
    assert len(skipped) == 5 + (70 if parallel else 0)


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("catalog-info.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: [Component\n", "malformed YAML"),
        ("catalog-info.yaml", b"just: a mapping\n", "named as an input, but holds none"),
        ("sbom.cdx.json", b"<html>not a bom</html>", "named as an input, but holds none"),
        ("app.sigstore.json", b"", "file is empty"),
        # recognisable by content: the format's own required field, in a file that does not parse
        ("sbom.json", b'{"bomFormat": "CycloneDX", "specVersion": "1.6",, }', "malformed JSON"),
        ("spdx.json", b'{"spdxVersion": "SPDX-2.3", "name": }', "malformed JSON"),
        ("service.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: Component\n  bad: indent\n", "YAML"),
        ("prov.json", b'{"_type": "https://in-toto.io/Statement/v1", ', "malformed JSON"),
    ],
)
def test_an_input_by_name_or_content_that_is_broken_stops_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes, needle: str
) -> None:
    _repo(tmp_path)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / name).write_bytes(content)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CollectError, match=needle) as caught:
        _collect(Path("."))
    assert caught.value.path == f"svc/{name}"


def test_a_file_over_the_size_limit_is_skipped_unless_its_head_marks_an_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    (tmp_path / "fixtures.json").write_text(json.dumps({"rows": ["x" * 100] * 100}))
    settings = CollectSettings(max_bytes=5000)
    skipped: list[tuple[str, str]] = []
    sections = collect_paths([Path(".")], settings, skipped=lambda s, r: skipped.append((s, r)))
    assert len(sections["catalog"]) == 1
    size = (tmp_path / "fixtures.json").stat().st_size
    assert skipped == [("fixtures.json", f"file is {size} bytes, over the 5000-byte limit")]
    bom = cyclonedx_bom([npm_component(f"c{i}", "1.0.0") for i in range(100)])
    (tmp_path / "sbom.json").write_text(json.dumps(bom))
    with pytest.raises(CollectError, match="over the 5000-byte limit"):
        collect_paths([Path(".")], settings)


def test_a_named_rego_file_is_sent_to_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images.rego").write_text(REGO)
    (tmp_path / "rules.txt").write_text(REGO)  # a Rego module under another name: by its content
    for name in ("images.rego", "rules.txt"):
        with pytest.raises(CollectError) as caught:
            collect_paths([Path(name)], CollectSettings())
        assert caught.value.one_line() == (
            f"{name}: a Rego policy, not an input to check. pass policies with --policy DIR"
            " (the folder holding it), and inputs as PATHs"
        )


def test_excluded_and_gitignored_files_are_skipped_with_their_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    (tmp_path / ".gitignore").write_text("dist/\nbroken.json\n")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "bom.json").write_text("{ broken")
    (tmp_path / "broken.json").write_text('{"bomFormat": "CycloneDX", ')
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "catalog-info.yaml").write_text("kind: [\n")
    notices: list[str] = []
    sections, skipped = _collect(Path("."), exclude=exclude_patterns(["fixtures/"]), notice=notices.append)
    assert len(sections["catalog"]) == 1
    assert skipped == [
        ("broken.json", "ignored by `broken.json` in .gitignore"),
        ("dist/", "ignored by `dist/` in .gitignore"),
        ("fixtures/", "matches the exclude pattern `fixtures/`"),
    ]
    assert notices == []


def test_a_file_named_as_an_input_that_a_gitignore_leaves_out_gets_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated SBOM is often git-ignored: say that it was not checked."""
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "catalog-info.yaml", component_entity())
    (tmp_path / ".gitignore").write_text("*.cdx.json\n")
    (tmp_path / "app.cdx.json").write_text(json.dumps(cyclonedx_bom([])))
    notices: list[str] = []
    sections, skipped = _collect(Path("."), notice=notices.append)
    assert sections["sboms"] == [] and skipped == []
    assert notices == [
        "skipped app.cdx.json: ignored by `*.cdx.json` in .gitignore; name it as a PATH to check it"
    ]
    assert len(_collect(Path("."), Path("app.cdx.json"))[0]["sboms"]) == 1


def test_what_marks_an_input() -> None:
    for name in ("catalog-info.yaml", "Catalog-Info.YML", "bom.json", "x.cdx.xml", "x.spdx", "a.sigstore"):
        assert named_as_input(Path(name)), name
    for name in ("template.yaml", "package.json", "tsconfig.json", "sbom.txt", "values.yaml"):
        assert not named_as_input(Path(name)), name
    assert looks_like_input(b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">') == (
        "a CycloneDX SBOM"
    )
    assert looks_like_input(b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n") == "an SPDX SBOM"
    assert looks_like_input(b'{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template"') == (
        "a Backstage entity"
    )
    assert looks_like_input(b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"') == (
        "a sigstore bundle"
    )
    assert looks_like_input(TSCONFIG.encode()) is None
    assert looks_like_input(b"myapiVersion: backstage.io/v1\n") is None
    assert looks_like_rego(REGO.encode()) and looks_like_rego(b"package a.b")
    assert not looks_like_rego(b"packages:\n  - a\n") and not looks_like_rego(b"name: package x\n")
