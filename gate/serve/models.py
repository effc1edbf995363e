"""The bodies `gate serve` reads and writes, as pydantic models; they are also its OpenAPI schema."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
_DRIVE = re.compile(r"[A-Za-z]:/")


def check_path(path: str) -> str:
    """A request file path: relative, POSIX, normalised, and never leaving the request's folder."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ValueError("control characters are not allowed in a path")
    if "\\" in path:
        raise ValueError("use / to separate folders, not \\")
    if path.startswith("/") or _DRIVE.match(path):
        raise ValueError(f"{path!r} is absolute; give a path relative to the repository root")
    parts = path.split("/")
    if ".." in parts:
        raise ValueError(f"{path!r} leaves the repository (..)")
    if any(part in ("", ".") for part in parts):
        raise ValueError(f"{path!r} is not a normalised path (empty or . component)")
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in parts):
        raise ValueError(f"a name in {path!r} is longer than {MAX_NAME_BYTES} bytes")
    return path


def lone_surrogate(value: Any) -> str | None:
    """Where a string (or key) in a JSON value holds a lone surrogate, which UTF-8 cannot encode."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return where or "(request)"
        elif isinstance(node, dict):
            for key, item in node.items():
                stack.append((key, where or "(key)"))
                stack.append((item, f"{where}.{key}" if where else str(key)))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
    return None


def _yaml_or_object(value: Any) -> Any:
    if not isinstance(value, str | dict):
        raise ValueError("expected YAML text (a string) or an entity (a JSON object)")
    return value


YamlOrObject = Annotated[
    str | dict[str, Any],
    BeforeValidator(_yaml_or_object),
    Field(description="YAML text (several documents allowed) or one entity as a JSON object."),
]


class FileIn(BaseModel):
    """One file of the change, placed at `path` in the folder the request is checked in."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: str = Field(
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="Relative POSIX path, e.g. `catalog-info.yaml`; no `..`, no leading `/`, no duplicates.",
        examples=["catalog-info.yaml"],
    )
    content: str = Field(description="The file's content, as `encoding` says.")
    encoding: Literal["utf-8", "base64"] = Field(
        default="utf-8", description="`utf-8`: content is the text; `base64`: content is base64 of the bytes."
    )

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        return check_path(value)


class RequestContext(BaseModel):
    """Where the change comes from; recorded in the decision's input and its audit record."""

    model_config = ConfigDict(extra="forbid", strict=True)

    repository: str | None = Field(default=None, description="Repository URL.")
    commit: str | None = Field(default=None, description="Commit SHA.")
    ref: str | None = Field(default=None, description="Git ref, e.g. `refs/heads/main`.")
    actor: str | None = Field(default=None, description="Who asked, e.g. the Backstage user.")
    change_id: str | None = Field(default=None, description="Pull or merge request number.")
    run_id: str | None = Field(default=None, description="Scaffolder task or pipeline id.")


_COMPONENT = (
    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments-api\n"
    "  description: Takes payments\nspec:\n  type: service\n  lifecycle: production\n"
    "  owner: group:payments\n  system: storefront\n"
)
_TEMPLATE: dict[str, Any] = {
    "apiVersion": "scaffolder.backstage.io/v1beta3",
    "kind": "Template",
    "metadata": {"name": "nodejs-service"},
    "spec": {
        "owner": "group:platform",
        "type": "service",
        "steps": [
            {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
            {
                "id": "publish",
                "action": "publish:github",
                "input": {"repoUrl": "github.com?repo=x&owner=acme"},
            },
            {
                "id": "register",
                "action": "catalog:register",
                "input": {"catalogInfoPath": "/catalog-info.yaml"},
            },
        ],
    },
}
REQUEST_EXAMPLES: list[Any] = [
    {
        "environment": "prod",
        "service": "payments-api",
        "files": [{"path": "catalog-info.yaml", "content": _COMPONENT}],
        "context": {"repository": "https://github.com/acme/payments-api", "actor": "user:default/jdoe"},
    },
    {"environment": "dev", "template": _TEMPLATE, "entities": [_COMPONENT], "context": {"run_id": "task-42"}},
]


class CheckRequest(BaseModel):
    """A pre-publish check: the change's files and/or a scaffolder template and rendered entities."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": REQUEST_EXAMPLES})

    environment: str | None = Field(
        default=None,
        min_length=1,
        description="Environment whose tier table applies [the server's --env, then the config's].",
    )
    service: str | None = Field(default=None, description="Service id recorded in the decision.")
    files: list[FileIn] = Field(
        default_factory=list,
        description="Files checked as `gate check DIR` checks a folder: recognised by content; "
        "hidden files and skeleton, vendor and node_modules folders are skipped.",
    )
    template: YamlOrObject | None = Field(
        default=None, description="The scaffolder template; reported as `template`."
    )
    entities: list[YamlOrObject] = Field(
        default_factory=list,
        description="Rendered catalog entities; reported as `entities[N]`. Each must be a recognised input.",
    )
    context: RequestContext | None = None

    @model_validator(mode="before")
    @classmethod
    def _unicode_only(cls, data: Any) -> Any:
        where = lone_surrogate(data)
        if where is not None:
            raise ValueError(f"{where}: not valid Unicode (a lone surrogate \\uD800-\\uDFFF escape)")
        return data

    @model_validator(mode="after")
    def _has_inputs_and_distinct_paths(self) -> CheckRequest:
        if not self.files and self.template is None and not self.entities:
            raise ValueError("the request has no files, template or entities; send at least one")
        seen: dict[str, int] = {}
        for index, item in enumerate(self.files):
            if item.path in seen:
                raise ValueError(
                    f"files[{index}].path: {item.path!r} is given twice (also files[{seen[item.path]}])"
                )
            seen[item.path] = index
        for index, item in enumerate(self.files):
            for parent in PurePosixPath(item.path).parents:
                if str(parent) in seen:
                    raise ValueError(
                        f"files[{index}].path: {item.path!r} is inside {str(parent)!r}, which is a file"
                    )
        return self


class ErrorOut(BaseModel):
    """A refused request: what is wrong, and what to do about it."""

    error: str = Field(description="One line: which file or field, and what is wrong.")
    remediation: str = Field(default="", description="What to do about it.")


class HealthOut(BaseModel):
    """The server is up and has its policies ready."""

    status: Literal["ok"]
    version: str = Field(description="The govgate version.")
    engine: str = Field(description="The policy engine: embedded, opa or opa-server.")


class SubjectOut(BaseModel):
    """What a finding is about."""

    kind: str
    path: str | None
    ref: str | None
    line: int | None


class FindingOut(BaseModel):
    """One violation of one check, with the action the environment gives it."""

    check: str
    title: str
    severity: str
    action: Literal["block", "warn", "waived"]
    message: str
    subject: SubjectOut
    remediation: str
    waiver: dict[str, Any] | None


class SummaryOut(BaseModel):
    """Counts of findings by action."""

    block: int
    warn: int
    waived: int


class EngineOut(BaseModel):
    """The engine that decided (opa-server adds its URL, decision id and bundle revisions)."""

    name: str
    version: str


class DigestOut(BaseModel):
    """A content digest."""

    digest: str


class AuditOut(BaseModel):
    """Where the decision's signed record went."""

    record: str = Field(description="sha256 of the record.")
    index: int = Field(description="The record's index in the log.")


class DecisionOut(BaseModel):
    """The decision, as `gate check --format json` prints it."""

    outcome: Literal["pass", "warn", "block", "error"]
    environment: str
    findings: list[FindingOut]
    summary: SummaryOut
    inputs: dict[str, int] = Field(description="Number of inputs by section (empty for an error).")
    engine: EngineOut
    policy: DigestOut
    input: DigestOut
    audit: AuditOut | None = Field(description="The record, or null when none could be written.")
    error: str | None = Field(default=None, description="Why the gate could not decide (outcome error).")
