"""The checks behind `gate serve`: policies prepared once per process, each request decided like `gate check`.

A request's files are written into a fresh temporary folder and collected as `gate check DIR`
collects a folder; its template and entities are written beside them as YAML files that must be
recognised inputs. Paths in the decision are the request's own (`catalog-info.yaml`, `template`,
`entities[0]`), never the temporary folder's.

The CI context comes from the request alone: the server's own GitHub or GitLab variables describe
the server, not the change, so they never reach a decision. Only `GATE_TIME` (which pins the
decision time, for tests and replays) is taken from the server's environment.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate import input as input_doc
from gate.audit_step import AuditOptions, record, settings_for
from gate.check import CheckOptions, Prepared, prepare
from gate.collect.registry import collect_paths, display_path
from gate.config import resolve_environment
from gate.context import build_context
from gate.decision import Decision, error_decision, from_policy_result
from gate.engine.base import Engine
from gate.errors import ConfigError, EngineError, GateError, InputError
from gate.policy import PolicySet
from gate.serve.models import CheckRequest

log = logging.getLogger("gate.serve")

CONTEXT_ENV_KEYS = ("GATE_TIME",)
# Engines that run on this machine: compiled (or found) at start-up, so a broken one stops the server.
LOCAL_ENGINES = ("embedded", "opa")
KNOWN_REQUIREMENTS = frozenset({"sbom", "signature", "provenance"})


class SerialEngine:
    """An engine whose calls run one at a time.

    regopy is not thread-safe, and every engine sets itself up lazily on first use; the server
    decides requests in a thread pool, so each call holds the engine's lock.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self.name = engine.name

    def version(self) -> str:
        """The wrapped engine's version."""
        with self._lock:
            return self._engine.version()

    def evaluate(
        self, policy: PolicySet, document: dict[str, Any], text: bytes | None = None
    ) -> dict[str, Any]:
        """Evaluate on the wrapped engine, alone."""
        with self._lock:
            return self._engine.evaluate(policy, document, text)


@dataclass(frozen=True)
class Checked:
    """A recorded decision, and notices for the server's log."""

    decision: Decision
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestFolder:
    """A request written to disk: what to collect, and how its on-disk names read to the client."""

    paths: tuple[Path, ...]
    names: tuple[tuple[str, str], ...]

    def rename(self, value: Any) -> Any:
        """`value` with every on-disk name replaced by the request's name for it."""
        if isinstance(value, str):
            for disk, shown in self.names:
                value = value.replace(disk, shown)
            return value
        if isinstance(value, list):
            return [self.rename(v) for v in value]
        if isinstance(value, dict):
            return {k: self.rename(v) for k, v in value.items()}
        return value

    def rename_error(self, exc: GateError) -> GateError:
        """The same error, naming the request's file instead of the temporary one."""
        path = self.rename(exc.path) if exc.path is not None else None
        return type(exc)(self.rename(exc.message), self.rename(exc.remediation), path=path)


def _file_bytes(content: str, encoding: str, where: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(
                "content is not valid base64", "encode the file with standard base64 (RFC 4648)", path=where
            ) from None
    return content.encode("utf-8")


def _yaml_bytes(value: str | dict[str, Any], where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    try:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True).encode("utf-8")
    except RecursionError:
        raise InputError(
            "nested too deeply to process", "entities this deep are not real metadata", path=where
        ) from None


def _write(dest: Path, data: bytes, where: str) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("xb") as fh:
            fh.write(data)
    except OSError as exc:
        raise InputError(
            f"cannot be written as a file ({exc.strerror})", "give a plain relative file path", path=where
        ) from None


def write_request(request: CheckRequest, root: Path) -> RequestFolder:
    """Write the request's files, template and entities under `root` (an empty folder)."""
    cwd = Path.cwd()
    files_dir = root / "files"
    files_dir.mkdir()
    for index, item in enumerate(request.files):
        data = _file_bytes(item.content, item.encoding, f"files[{index}].content")
        dest = files_dir.joinpath(*item.path.split("/"))
        _write(dest, data, item.path)
    # Collectors show a path relative to the working directory when it is inside it, and some
    # messages quote the path as given: both spellings are renamed, the longer first.
    names = [(f"{files_dir}/", ""), (display_path(files_dir, cwd) + "/", "")]
    paths = [files_dir]
    labelled: list[tuple[str, str | dict[str, Any]]] = []
    if request.template is not None:
        labelled.append(("template", request.template))
    labelled.extend((f"entities[{i}]", entity) for i, entity in enumerate(request.entities))
    if labelled:
        request_dir = root / "request"
        request_dir.mkdir()
        for number, (label, value) in enumerate(labelled):
            dest = request_dir / f"{number}.yaml"
            _write(dest, _yaml_bytes(value, label), label)
            names += [(str(dest), label), (display_path(dest, cwd), label)]
            paths.append(dest)
    return RequestFolder(tuple(paths), tuple(names))


class CheckService:
    """Decides requests against policies prepared once; thread-safe."""

    def __init__(self, prepared: Prepared, audit: AuditOptions, env: Mapping[str, str]) -> None:
        self._prepared = dataclasses.replace(prepared, engine=SerialEngine(prepared.engine))
        self._audit = audit
        self._env = dict(env)
        self._context_env = {k: env[k] for k in CONTEXT_ENV_KEYS if env.get(k)}

    @classmethod
    def start(cls, opts: CheckOptions, audit: AuditOptions) -> CheckService:
        """Load the config, waivers and policies, check the audit settings, and ready a local engine.

        Raises GateError when the server could not decide anything: bad config, an unknown signer,
        policies that do not compile, a missing `opa` binary.
        """
        prepared = prepare(opts)
        if opts.require is not None:
            prepared = dataclasses.replace(
                prepared, config=dataclasses.replace(prepared.config, require=opts.require)
            )
        unknown = sorted(set(prepared.config.require) - KNOWN_REQUIREMENTS)
        if unknown:
            raise ConfigError(
                f"unknown requirement {', '.join(unknown)}", "use --require with sbom, signature, provenance"
            )
        settings_for(audit, prepared.config, opts.env)
        service = cls(prepared, audit, opts.env)
        if prepared.engine.name in LOCAL_ENGINES:
            service.warm_up()
        return service

    @property
    def engine_name(self) -> str:
        """The engine's name: embedded, opa or opa-server."""
        return self._prepared.engine.name

    @property
    def environment(self) -> str:
        """The environment a request gets when it names none."""
        return self._prepared.environment

    def warm_up(self) -> None:
        """Evaluate an empty input once, so the engine compiles now and a broken one fails now."""
        document = self._document(self._context(self.environment, None, None), {})
        input_doc.validate(document)
        self._prepared.engine.version()
        self._prepared.engine.evaluate(self._prepared.policy, document)

    def check(self, request: CheckRequest) -> Checked:
        """Decide the request and write its audit record.

        Raises InputError or ConfigError for a request that cannot be checked (nothing is recorded);
        engine and audit failures come back as a decision with outcome error.
        """
        config = self._prepared.config
        environment = self.environment
        if request.environment is not None:
            try:
                environment = resolve_environment(request.environment, None, config)
            except ConfigError as exc:
                raise ConfigError(exc.message, exc.remediation, path="environment") from None
        with tempfile.TemporaryDirectory(prefix="gate-serve-") as tmp:
            folder = write_request(request, Path(tmp))
            try:
                sections = collect_paths(list(folder.paths), config.collect_settings())
            except RecursionError:
                raise InputError(
                    "nested too deeply to process", "inputs this deep are not real metadata"
                ) from None
            except GateError as exc:
                raise folder.rename_error(exc) from None
            sections = folder.rename(sections)
        context = self._context(environment, request.service, request)
        decision = self._decide(environment, self._document(context, sections))
        recorded = record(decision, self._audit, config, self._env)
        for notice in recorded.notices:
            log.warning("%s", notice)
        return Checked(recorded.decision, recorded.notices)

    def _context(self, environment: str, service: str | None, request: CheckRequest | None) -> dict[str, Any]:
        context = build_context(environment, self._context_env, service=service)
        if request is not None and request.context is not None:
            given = request.context.model_dump(exclude_none=True)
            context.update(given)
        return context

    def _document(self, context: dict[str, Any], sections: dict[str, list[Any]]) -> dict[str, Any]:
        return input_doc.assemble(context, self._prepared.config.require, sections)

    def _decide(self, environment: str, document: dict[str, Any]) -> Decision:
        """As gate.check.evaluate decides, over a document this module assembled."""
        prepared = self._prepared
        text = input_doc.canonical_bytes(document)
        in_digest = input_doc.digest_of(text)
        engine_info: dict[str, Any] = {"name": prepared.engine.name, "version": "unknown"}
        counts = {
            k: len(v)
            for k, v in document.items()
            if k in ("templates", "catalog", "sboms", "signatures", "attestations")
        }
        try:
            input_doc.validate(document)
            raw = prepared.engine.evaluate(prepared.policy, document, text)
            engine_info["version"] = prepared.engine.version()
            server = raw.pop("_server", None)
            if isinstance(server, dict):
                engine_info.update({k: server.get(k) for k in ("url", "decision_id", "revisions")})
            decision = from_policy_result(
                raw,
                environment=environment,
                engine=engine_info,
                policy_digest=prepared.policy.digest,
                input_digest=in_digest,
                inputs=counts,
            )
        except EngineError as exc:
            decision = error_decision(
                environment, exc.one_line(), engine_info, prepared.policy.digest, in_digest
            )
        return dataclasses.replace(decision, document=document, document_json=text)
