"""The Backstage collector: recognition, items, line numbers, and validation against Backstage's rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import schemas
from gate.collect import backstage
from gate.collect.base import CollectSettings
from gate.collect.parse import ParsedFile, parse_file
from gate.resources import shipped
from gate.schemas import Schema, compile_schema

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = CollectSettings()
SCHEMA_FILES = (*backstage.SHARED_SCHEMAS, *backstage.KIND_SCHEMAS.values(), backstage.MCP_SERVER_SCHEMA)


# --- builders ---------------------------------------------------------------------------------


def entity(kind: str = "Component", name: str = "payments", **spec: Any) -> dict[str, Any]:
    """A valid entity of `kind` with default spec fields; keyword args override them, None drops one."""
    defaults: dict[str, dict[str, Any]] = {
        "Component": {"type": "service", "lifecycle": "production", "owner": "group:payments"},
        "API": {
            "type": "openapi",
            "lifecycle": "production",
            "owner": "group:payments",
            "definition": "openapi: 3.0.0",
        },
        "System": {"owner": "group:payments"},
        "Resource": {"type": "database", "owner": "group:payments"},
        "Domain": {"owner": "group:payments"},
        "Group": {"type": "team", "children": []},
        "User": {"memberOf": ["payments"]},
        "Location": {"targets": ["./a.yaml"]},
        "Template": {"type": "service", "steps": [{"action": "fetch:template"}]},
    }
    full = {**defaults.get(kind, {}), **spec}
    api = "scaffolder.backstage.io/v1beta3" if kind == "Template" else "backstage.io/v1alpha1"
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name},
        "spec": {k: v for k, v in full.items() if v is not None},
    }


def write(tmp_path: Path, text: str, name: str = "catalog-info.yaml") -> ParsedFile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return parse_file(path)


def dump(*docs: Any) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)


def line_of(text: str, start: str, nth: int = 0) -> int:
    """1-based line of the `nth` line whose stripped text starts with `start`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start)]
    return hits[nth]


def errors_of(doc: dict[str, Any]) -> list[str]:
    return backstage.validate_entity(backstage.json_safe(doc))


@pytest.fixture(scope="module")
def item_validators() -> dict[str, Schema]:
    """Validators for the input document's `template` and `catalog` items."""
    schema = json.loads((ROOT / "schemas" / "input.schema.json").read_text(encoding="utf-8"))
    return {
        section: compile_schema({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})
        for section, definition in (("templates", "template"), ("catalog", "catalog"))
    }


def check_items(out: dict[str, list[dict[str, Any]]], validators: dict[str, Schema]) -> None:
    assert set(out) == {"templates", "catalog"}
    for section, items in out.items():
        for item in items:
            problems = [str(e) for e in validators[section].errors(item)]
            assert problems == [], (section, problems)
            json.dumps(item, allow_nan=False)  # JSON-safe all the way down
            assert item["valid"] is (item["errors"] == [])


# --- schemas ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_published_schema_files_compile(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / "backstage" / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema"  # as Backstage publishes them
    backstage._published(name)  # compiles: valid against its meta-schema, every $ref resolved


def test_every_shipped_backstage_schema_is_used() -> None:
    on_disk = {p.name for p in (ROOT / "schemas" / "backstage").glob("*.json")}
    assert on_disk == set(SCHEMA_FILES)


def test_entity_policies_schema_is_draft_2020_12() -> None:
    name = backstage.ENTITY_POLICIES_SCHEMA
    schema = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + name)
    schemas.shipped(name)


def test_schemas_compile_once_from_the_package() -> None:
    assert backstage._published("Entity.schema.json") is backstage._published("Entity.schema.json")
    assert shipped("schemas").joinpath("backstage").joinpath("Entity.schema.json").is_file()


def test_pyproject_ships_the_backstage_schemas() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"backstage/*.json"' in text


# --- recognition ------------------------------------------------------------------------------


def test_recognises_backstage_and_scaffolder_api_versions(tmp_path: Path) -> None:
    assert backstage.recognise(write(tmp_path, dump(entity("Component"))))
    assert backstage.recognise(write(tmp_path, dump(entity("Template")), "template.yaml"))


@pytest.mark.parametrize(
    "doc",
    [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}},
        {"apiVersion": "backstage.io/v1alpha1", "metadata": {"name": "no-kind"}},
        {"apiVersion": "backstage.io.example.com/v1", "kind": "Component"},
        {"name": "go-web", "kind": "app", "skeletonPath": "./skeleton"},
        ["backstage.io/v1alpha1", "Component"],
    ],
)
def test_other_documents_are_not_backstage(tmp_path: Path, doc: Any) -> None:
    parsed = write(tmp_path, dump(doc, {"plain": "mapping"}))
    assert not backstage.recognise(parsed)


def test_xml_is_not_backstage(tmp_path: Path) -> None:
    assert not backstage.recognise(write(tmp_path, "<bom><components/></bom>\n", "bom.xml"))


# --- collecting -------------------------------------------------------------------------------


def test_multi_document_file_splits_templates_and_catalog(
    tmp_path: Path, item_validators: dict[str, Schema]
) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    text = "# catalog and template in one file\n" + dump(
        entity("System", "shop"), deployment, entity("Template", "new-service"), entity("API", "payments-api")
    )
    parsed = write(tmp_path, text)
    assert backstage.recognise(parsed)
    out = backstage.collect(parsed, SETTINGS)
    check_items(out, item_validators)

    assert [(i["document"], i["entity"]["kind"]) for i in out["catalog"]] == [(0, "System"), (3, "API")]
    assert [(i["document"], i["entity"]["kind"]) for i in out["templates"]] == [(2, "Template")]
    starts = [line_of(text, "apiVersion:", n) for n in range(4)]
    assert [i["line"] for i in out["catalog"]] == [starts[0], starts[3]]
    assert out["templates"][0]["line"] == starts[2]
    system = out["catalog"][0]
    assert system["path"] == parsed.path and system["sha256"] == parsed.sha256
    assert system["lines"]["/metadata/name"] == line_of(text, "name: shop")
    assert system["lines"]["/spec/owner"] == line_of(text, "owner:")
    assert all(i["valid"] for i in [*out["catalog"], *out["templates"]])


TEMPLATE_TEXT = """\
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: new-service
  description: Creates a service
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  owner: group:platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {type: string}
        owner: {type: string}
      dependencies:
        owner:
          oneOf:
            - properties:
                team_channel: {type: string}
    - title: Repository
      properties:
        repoUrl: {type: string}
        name: {type: string}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
    - id: publish
      action: publish:github
    - name: Register
      action: catalog:register
"""


def test_template_parameters_as_list_and_steps_with_lines(
    tmp_path: Path, item_validators: dict[str, Schema]
) -> None:
    parsed = write(tmp_path, TEMPLATE_TEXT, "template.yaml")
    out = backstage.collect(parsed, SETTINGS)
    check_items(out, item_validators)
    assert out["catalog"] == []
    (item,) = out["templates"]
    assert item["valid"], item["errors"]
    assert item["parameters"] == ["name", "owner", "team_channel", "repoUrl"]
    assert item["steps"] == [
        {
            "index": 0,
            "id": "fetch",
            "name": "Fetch",
            "action": "fetch:template",
            "line": line_of(TEMPLATE_TEXT, "- id: fetch"),
        },
        {
            "index": 1,
            "id": "publish",
            "name": None,
            "action": "publish:github",
            "line": line_of(TEMPLATE_TEXT, "- id: publish"),
        },
        {
            "index": 2,
            "id": None,
            "name": "Register",
            "action": "catalog:register",
            "line": line_of(TEMPLATE_TEXT, "- name: Register"),
        },
    ]
    lines = item["lines"]
    assert lines[""] == 1 and item["line"] == 1
    assert lines["/metadata/annotations"] == line_of(TEMPLATE_TEXT, "annotations:")
    assert lines["/spec/parameters"] == line_of(TEMPLATE_TEXT, "parameters:")
    assert lines["/spec/steps"] == line_of(TEMPLATE_TEXT, "steps:")
    assert lines["/spec/steps/1/action"] == line_of(TEMPLATE_TEXT, "action: publish:github")
    # trimmed to what reports need: nothing under parameters or step inputs
    assert set(lines) == {
        "",
        "/metadata",
        "/metadata/name",
        "/metadata/description",
        "/metadata/annotations",
        "/spec",
        "/spec/owner",
        "/spec/type",
        "/spec/parameters",
        "/spec/steps",
        *(f"/spec/steps/{n}" for n in range(3)),
        *(f"/spec/steps/{n}/action" for n in range(3)),
    }


def test_template_parameters_as_one_object(tmp_path: Path) -> None:
    page = {
        "title": "Only page",
        "properties": {"component_id": {"type": "string"}, "owner": {"type": "string"}},
    }
    parsed = write(tmp_path, dump(entity("Template", parameters=page)))
    (item,) = backstage.collect(parsed, SETTINGS)["templates"]
    assert item["valid"], item["errors"]
    assert item["parameters"] == ["component_id", "owner"]


def test_template_without_parameters_or_with_odd_steps(tmp_path: Path) -> None:
    doc = entity("Template", steps=[{"action": "fetch:template"}, "not-a-step", {"action": 7}])
    (item,) = backstage.collect(write(tmp_path, dump(doc)), SETTINGS)["templates"]
    assert item["parameters"] == []
    assert [s["action"] for s in item["steps"]] == ["fetch:template", None, None]
    assert not item["valid"]
    assert "spec.steps[1]: expected an object, found a string" in item["errors"]
    assert "spec.steps[2].action: expected a string, found an integer" in item["errors"]


def test_invalid_name_is_collected_as_invalid_with_a_message(tmp_path: Path) -> None:
    doc = entity("Component", "invalid component")
    (item,) = backstage.collect(write(tmp_path, dump(doc)), SETTINGS)["catalog"]
    assert item["valid"] is False
    assert item["errors"][0].startswith('metadata.name: "invalid component" fails Backstage\'s name rule')


def test_legacy_v1beta2_template_is_reported_not_raised(tmp_path: Path) -> None:
    legacy = {
        "apiVersion": "backstage.io/v1beta2",
        "kind": "Template",
        "metadata": {"name": "old-template"},
        "spec": {
            "owner": "group:web",
            "type": "website",
            "parameters": {"properties": {"name": {"type": "string"}}},
            "steps": [{"id": "fetch", "action": "fetch:template"}],
        },
    }
    parsed = write(tmp_path, dump(legacy), "template.yaml")
    assert backstage.recognise(parsed)
    out = backstage.collect(parsed, SETTINGS)
    assert out["catalog"] == []
    (item,) = out["templates"]
    assert item["valid"] is False
    (error,) = item["errors"]
    assert "retired v1beta2" in error and "migrate it to scaffolder.backstage.io/v1beta3" in error
    assert item["parameters"] == ["name"]
    assert [s["action"] for s in item["steps"]] == ["fetch:template"]


def test_entity_is_json_safe(tmp_path: Path, item_validators: dict[str, Schema]) -> None:
    text = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: dated
  annotations:
    example.com/created: 2024-01-02
    example.com/reviewed: 2024-01-02T03:04:05Z
spec:
  type: service
  lifecycle: production
  owner: group:a
  extra:
    2: two
    true: yes
    2024-05-06: a date key
    ? !!null
    : nothing
    big: .inf
    blob: !!binary aGVsbG8=
    set: !!set {b, a}
"""
    out = backstage.collect(write(tmp_path, text), SETTINGS)
    check_items(out, item_validators)
    (item,) = out["catalog"]
    annotations = item["entity"]["metadata"]["annotations"]
    assert annotations == {
        "example.com/created": "2024-01-02",
        "example.com/reviewed": "2024-01-02T03:04:05+00:00",
    }
    assert item["entity"]["spec"]["extra"] == {
        "2": "two",
        "true": True,
        "2024-05-06": "a date key",
        "null": "nothing",
        "big": ".inf",
        "blob": "aGVsbG8=",
        "set": ["a", "b"],
    }
    # the catalog reads YAML dates as strings, so annotations holding dates are valid
    assert item["valid"], item["errors"]


def test_json_file_entity_gets_a_first_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog-info.json"
    path.write_text("\n\n" + json.dumps(entity("Component")), encoding="utf-8")
    parsed = parse_file(path)
    assert backstage.recognise(parsed)
    (item,) = backstage.collect(parsed, SETTINGS)["catalog"]
    assert item["line"] == 3 and item["lines"] == {"": 3}
    assert item["valid"]


def test_non_backstage_documents_in_a_mixed_file_are_ignored(tmp_path: Path) -> None:
    text = dump({"kind": "ConfigMap", "apiVersion": "v1"}, entity("Group", "team-a"), "just a string")
    out = backstage.collect(write(tmp_path, text), SETTINGS)
    assert out["templates"] == []
    assert [(i["document"], i["entity"]["metadata"]["name"]) for i in out["catalog"]] == [(1, "team-a")]


# --- validation: field formats ----------------------------------------------------------------

NAME_63 = "a" * 63


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("payments", True),
        ("Payments_API.v2-beta", True),
        ("a", True),
        ("a--b", True),  # Backstage's rule allows repeated separators inside
        (NAME_63, True),
        (NAME_63 + "a", False),
        ("invalid component", False),
        ("-leading", False),
        ("trailing.", False),
        ("ns/name", False),
        ("", False),
        ("name\n", False),  # a block scalar leaves a newline; Python's `$` must not accept it
        ("${{ values.name }}", False),
    ],
)
def test_name_rule(name: str, ok: bool) -> None:
    errors = errors_of(entity("Component", name))
    assert (errors == []) is ok, errors
    if not ok:
        assert errors[0].startswith("metadata.name: ")


@pytest.mark.parametrize(
    ("namespace", "ok"),
    [
        ("default", True),
        ("team-a", True),
        ("Team", False),
        ("a--b", True),  # Backstage's DNS labels allow runs of -
        ("a_b", False),
        ("a" * 64, False),
    ],
)
def test_namespace_rule(namespace: str, ok: bool) -> None:
    doc = entity("Component")
    doc["metadata"]["namespace"] = namespace
    errors = errors_of(doc)
    assert (errors == []) is ok, errors
    if not ok:
        assert "Backstage's namespace rule" in errors[0]


@pytest.mark.parametrize(
    ("tag", "ok"),
    [
        ("java", True),
        ("c++", True),
        ("c#", True),
        ("k8s:prod", True),
        ("go 1.15", False),
        ("Java", False),
        ("a--b", False),
    ],
)
def test_tag_rule(tag: str, ok: bool) -> None:
    doc = entity("Component")
    doc["metadata"]["tags"] = ["ok", tag]
    errors = errors_of(doc)
    assert (errors == []) is ok, errors
    if not ok:
        assert errors == [
            f"metadata.tags[1]: {json.dumps(tag)} fails Backstage's tag rule: "
            + errors[0].split("rule: ", 1)[1]
        ]


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("backstage.io/techdocs-ref", True),
        ("github.com/project-slug", True),
        ("simple", True),
        ("a.b.c/Name_1", True),
        ("a/b/c", False),
        ("Upper.io/x", False),
        ("-a.io/x", False),
        ("a..io/x", False),
        ("example.com/", False),
        ("/x", False),
        ("with space", False),
        ("a/" + NAME_63, True),
        ("a/" + NAME_63 + "a", False),
        (".".join(["a" * 63] * 3) + "." + "a" * 61 + "/x", True),  # prefix of exactly 253 characters
        (".".join(["a" * 63] * 3) + "." + "a" * 62 + "/x", False),
        ("a" * 64 + ".io/x", False),  # a DNS label longer than 63
    ],
)
def test_annotation_and_label_key_rule(key: str, ok: bool) -> None:
    for field in ("annotations", "labels"):
        doc = entity("Component")
        doc["metadata"][field] = {key: "value"}
        errors = errors_of(doc)
        assert (errors == []) is ok, (field, errors)
        if not ok:
            assert errors[0].startswith(f"metadata.{field}: key ")
            assert "fails Backstage's key rule" in errors[0]


@pytest.mark.parametrize(
    ("value", "ok"), [("", True), ("v1.2", True), ("two words", False), ("x" * 64, False)]
)
def test_label_value_rule(value: str, ok: bool) -> None:
    doc = entity("Component")
    doc["metadata"]["labels"] = {"tier": value}
    assert (errors_of(doc) == []) is ok


def test_annotation_values_must_be_strings() -> None:
    doc = entity("Component")
    doc["metadata"]["annotations"] = {"example.com/count": 3}
    assert errors_of(doc) == [
        'metadata.annotations["example.com/count"]: expected a string, found an integer'
    ]


@pytest.mark.parametrize(
    ("api_version", "ok"),
    [
        ("backstage.io/v1alpha1", True),
        ("my-company.net/v1", True),
        ("v1", True),
        ("a/b/c", False),
        ("Acme.io/v1", False),
    ],
)
def test_api_version_rule_on_unknown_kinds(api_version: str, ok: bool) -> None:
    doc = {"apiVersion": api_version, "kind": "Widget", "metadata": {"name": "w"}}
    assert (errors_of(doc) == []) is ok


@pytest.mark.parametrize(
    ("kind", "ok"), [("Widget", True), ("Widget2", True), ("2Widget", False), ("My-Kind", False)]
)
def test_kind_rule(kind: str, ok: bool) -> None:
    doc = {"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": "w"}}
    assert (errors_of(doc) == []) is ok


def test_links_need_an_absolute_url() -> None:
    doc = entity("Component")
    doc["metadata"]["links"] = [
        {"url": "https://admin.example.com", "title": "Admin"},
        {"url": "admin"},
        {"title": "x"},
        {"url": "https://"},
        {"url": "mailto:team@example.com", "icon": "Git Hub"},  # any non-blank icon, as Backstage
    ]
    errors = errors_of(doc)
    rule = "fails Backstage's URL rule: a URL `new URL()` parses (a scheme; a host for http, https, ws, wss, ftp)"
    assert sorted(errors) == [
        f'metadata.links[1].url: "admin" {rule}',
        "metadata.links[2].url: is required",
        f'metadata.links[3].url: "https://" {rule}',
    ]


def test_foreign_root_fields_are_refused() -> None:
    doc = {**entity("Component"), "owner": "team-a"}
    (error,) = errors_of(doc)
    assert error == "owner: unexpected field"


def test_envelope_fields_are_required() -> None:
    errors = errors_of({"apiVersion": "backstage.io/v1alpha1", "kind": "Widget", "metadata": {}})
    assert errors == ["metadata.name: is required"]
    errors = errors_of({"apiVersion": "backstage.io/v1alpha1", "kind": "Widget"})
    assert errors == ["metadata: is required"]


# --- validation: kinds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "missing", "error"),
    [
        ("Component", "type", "spec.type: is required"),
        ("Component", "lifecycle", "spec.lifecycle: is required"),
        ("Component", "owner", "spec.owner: is required"),
        ("API", "definition", "spec.definition: is required"),
        ("API", "owner", "spec.owner: is required"),
        ("System", "owner", "spec.owner: is required"),
        ("Resource", "type", "spec.type: is required"),
        ("Resource", "owner", "spec.owner: is required"),
        ("Domain", "owner", "spec.owner: is required"),
        ("Group", "type", "spec.type: is required"),
        ("Group", "children", "spec.children: is required"),
        ("User", "memberOf", "spec.memberOf: is required"),
        ("Template", "steps", "spec.steps: is required"),
        ("Template", "type", "spec.type: is required"),
    ],
)
def test_kind_spec_requirements(kind: str, missing: str, error: str) -> None:
    doc = entity(kind)
    assert errors_of(doc) == []
    del doc["spec"][missing]
    assert errors_of(doc) == [error]


def test_every_known_kind_needs_a_spec() -> None:
    for kind in backstage.KIND_SCHEMAS:
        doc = entity(kind)
        del doc["spec"]
        assert errors_of(doc) == ["spec: is required"], kind


def test_type_errors_name_the_expected_type() -> None:
    assert errors_of(entity("Component", owner=5)) == ["spec.owner: expected a string, found an integer"]
    assert errors_of(entity("Component", owner="")) == ["spec.owner: must not be empty"]


def test_location_with_a_single_target_is_valid() -> None:
    assert errors_of(entity("Location", targets=None, target="./catalog-info.yaml")) == []


def test_location_with_an_empty_spec_is_valid_as_in_backstage() -> None:
    assert errors_of(entity("Location", targets=None)) == []


def test_mcp_server_api_needs_remotes_not_a_definition() -> None:
    remotes = [{"type": "streamable-http", "url": "https://mcp.example.com"}]
    assert errors_of(entity("API", type="mcp-server", definition=None, remotes=remotes)) == []
    assert errors_of(entity("API", type="mcp-server", definition=None)) == ["spec.remotes: is required"]


def test_an_object_with_an_unknown_dollar_key_is_explained() -> None:
    (error,) = errors_of(entity("API", definition={"$include": "./openapi.yaml"}))
    assert error.startswith("spec.definition: a $include object, not a string")


def test_template_parameters_must_be_object_or_list() -> None:
    (error,) = errors_of(entity("Template", parameters="name"))
    assert error == "spec.parameters: expected an object or an array, found a string"


def test_template_step_needs_an_action() -> None:
    assert errors_of(entity("Template", steps=[{"id": "x"}])) == ["spec.steps[0].action: is required"]


def test_unknown_kind_gets_envelope_rules_only() -> None:
    assert (
        errors_of({"apiVersion": "backstage.io/v1alpha1", "kind": "AiResource", "metadata": {"name": "x"}})
        == []
    )
    bad = {"apiVersion": "backstage.io/v1alpha1", "kind": "AiResource", "metadata": {"name": "x y"}}
    assert errors_of(bad)[0].startswith('metadata.name: "x y" fails')


def test_known_kind_at_another_version() -> None:
    doc = entity("Component")
    doc["apiVersion"] = "backstage.io/v2"
    (error,) = errors_of(doc)
    assert error == (
        'apiVersion: "backstage.io/v2" is not a version Backstage accepts for Component '
        "(backstage.io/v1alpha1, backstage.io/v1beta1)"
    )


def test_kind_case_typo_is_named() -> None:
    doc = entity("Component")
    doc["kind"] = "component"
    (error,) = errors_of(doc)
    assert "did you mean 'Component'" in error


def test_errors_are_capped() -> None:
    doc = entity("Component")
    doc["metadata"]["tags"] = [f"Bad Tag {n}" for n in range(30)]
    errors = errors_of(doc)
    assert len(errors) == backstage.MAX_ERRORS
    assert errors[:-1] == [
        f'metadata.tags[{n}]: "Bad Tag {n}" fails ' + errors[0].split(" fails ", 1)[1] for n in range(19)
    ]
    assert errors[-1] == "further schema errors not shown (fix these first)"


@pytest.mark.parametrize(
    ("build", "pointer"),
    [
        (lambda d: d["metadata"].update(name="x y"), "metadata.name"),
        (lambda d: d["spec"].update(owner=["a"]), "spec.owner"),
    ],
)
def test_error_messages_are_short_and_start_with_the_path(
    build: Callable[[dict[str, Any]], None], pointer: str
) -> None:
    doc = entity("Component")
    build(doc)
    (error,) = errors_of(doc)
    assert error.startswith(pointer + ": ") and len(error) <= 200
