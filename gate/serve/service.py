"""The checks behind `gate serve`: policies prepared once, each request decided like `gate check`.

The server process (`CheckService`) reads requests, keeps the pool of worker processes and writes
the audit records; a worker (`Decider`, run by gate.serve.worker) writes a request's files into a
fresh temporary folder, collects it as `gate check DIR` collects a folder and evaluates it on its
own engine. A worker that crashes, or overruns the time limit, takes only its request down: that
request's decision is an error (fail closed), and a new worker takes its place.

A request's template and entities are written beside its files as YAML files that must be
recognised inputs. Paths in the decision are the request's own (`catalog-info.yaml`, `template`,
`entities[0]`), never the temporary folder's.

The CI context comes from the request alone: the server's own GitHub or GitLab variables describe
the server, not the change, so they never reach a decision. Only `GATE_TIME` (which pins the
decision time, for tests and replays) is taken from the server's environment.
"""

from __future__ import annotations

import base64
import binascii
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate import pipeline
from gate.audit_step import AuditOptions, settings_for
from gate.collect.registry import display_path
from gate.config import LOCAL_ENGINES, resolve_environment
from gate.context import build_context
from gate.decision import Decision, Outcome
from gate.errors import ConfigError, EngineError, GateError, InputError
from gate.pipeline import CheckOptions, Prepared, prepare
from gate.serve.models import CheckRequest

log = logging.getLogger("gate.serve")

CONTEXT_ENV_KEYS = ("GATE_TIME",)
# Engines that run on this machine: compiled (or found) at start-up, so a broken one stops the server.
# Python refuses to turn longer digit strings into integers (the conversion costs the square of
# the length); a collector that meets one raises ValueError with this text.
_LONG_INTEGER = "integer string conversion"


@dataclass(frozen=True)
class Limits:
    """What one request may cost: worker processes, seconds per request, findings per decision."""

    workers: int = 2
    request_timeout: float = 30.0
    max_findings: int = 10_000


@dataclass(frozen=True)
class Checked:
    """A recorded decision, and notices for the server's log."""

    decision: Decision
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    """A request as a worker decides it: the request, its environment and its CI context."""

    request: CheckRequest
    environment: str
    context: dict[str, Any]


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


class Decider:
    """Collects and evaluates requests on one engine; one per worker process, one request at a time."""

    def __init__(self, prepared: Prepared, max_findings: int) -> None:
        self._prepared = prepared
        self._max_findings = max_findings

    def warm_up(self) -> str:
        """Evaluate an empty input once, so the engine compiles now and a broken one fails now;
        returns the engine's version."""
        prepared = self._prepared
        document = pipeline.assemble(prepared, build_context(prepared.environment, {}), {})
        decision = pipeline.decide(prepared, document)
        if decision.outcome is Outcome.ERROR:
            raise EngineError(decision.error or "the engine failed on an empty input")
        return prepared.engine.version()

    def decide(self, job: Job) -> Decision:
        """Collect the request and decide it (the audit record is the server's to write).

        Raises InputError or ConfigError for a request that cannot be checked; engine failures
        and a decision over the findings limit come back as a decision with outcome error.
        """
        prepared = self._prepared
        with tempfile.TemporaryDirectory(prefix="gate-serve-") as tmp:
            folder = write_request(job.request, Path(tmp))
            try:
                sections = pipeline.collect(prepared, folder.paths)
            except RecursionError:
                raise InputError(
                    "nested too deeply to process", "inputs this deep are not real metadata"
                ) from None
            except GateError as exc:
                raise folder.rename_error(exc) from None
            except ValueError as exc:
                if _LONG_INTEGER not in str(exc):
                    raise
                raise InputError(
                    "a number in the request's files has more than 4300 digits",
                    "send numbers of at most 4300 digits (as a string if it must be longer)",
                ) from None
            sections = folder.rename(sections)
        # Where the environment blocks, a request with nothing the gate recognises is refused as
        # `gate check` refuses it; elsewhere the decision says it judged no input.
        pipeline.no_input(prepared, sections, (), environment=job.environment, where="the request's files")
        document = pipeline.assemble(prepared, job.context, sections)
        return pipeline.decide(
            prepared, document, environment=job.environment, max_findings=self._max_findings
        )


class CheckService:
    """Decides requests in worker processes against policies prepared once; thread-safe."""

    def __init__(
        self, prepared: Prepared, audit: AuditOptions, env: Mapping[str, str], limits: Limits
    ) -> None:
        from gate.serve.pool import WorkerPool

        self._prepared = prepared
        self._audit = audit
        self._env = dict(env)
        self._context_env = {k: env[k] for k in CONTEXT_ENV_KEYS if env.get(k)}
        self._limits = limits
        self._pool = WorkerPool(prepared, limits, warm=prepared.engine.name in LOCAL_ENGINES, env=env)

    @classmethod
    def start(cls, opts: CheckOptions, audit: AuditOptions, limits: Limits) -> CheckService:
        """Load the config, waivers and policies, check the audit settings, and start the workers.

        Raises GateError when the server could not decide anything: bad config, an unknown signer,
        policies that do not compile, a missing `opa` binary (each worker readies a local engine).
        """
        prepared = prepare(opts)
        settings_for(audit, prepared.config, opts.env)
        service = cls(prepared, audit, opts.env, limits)
        service._pool.start()
        return service

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.close()

    @property
    def engine_name(self) -> str:
        """The engine's name: embedded, opa or opa-server."""
        return self._prepared.engine.name

    @property
    def environment(self) -> str:
        """The environment a request gets when it names none."""
        return self._prepared.environment

    def check(self, request: CheckRequest, received: float | None = None) -> Checked:
        """Decide the request in a worker and write its audit record, within the time limit from
        `received` (time.monotonic() when its body was in; None: now).

        Raises ConfigError for a request that names an unknown environment (nothing is recorded),
        and InputError or ConfigError for a request whose files are refused (recorded as a
        refusal, as gate.pipeline says); engine and audit failures, a worker that died and a
        request over its limits come back as a decision with outcome error (recorded too).
        """
        from gate.serve.pool import Decided, Refused

        prepared = self._prepared
        environment = self.environment
        if request.environment is not None:
            try:
                environment = resolve_environment(request.environment, None, prepared.config)
            except ConfigError as exc:
                raise ConfigError(exc.message, exc.remediation, path="environment") from None
        context = self._context(environment, request.service, request)
        job = Job(request, environment, context)
        result = self._pool.run(job, self._limits.request_timeout, received)
        notices: list[str] = []

        def notify(notice: str) -> None:
            log.warning("%s", notice)
            notices.append(notice)

        if isinstance(result, Refused):
            error = result.error()
            refused = pipeline.refusal(prepared, error, context, environment=environment)
            pipeline.record_refusal(prepared, refused, self._audit, self._env, notify)
            raise error
        if isinstance(result, Decided):
            decision, store_input = result.decision, True
        else:
            log.error("a request was not decided: %s", result.error)
            if result.trace:
                log.error("%s", result.trace)
            decision = pipeline.failure(
                prepared,
                result.error,
                context,
                environment=environment,
                engine_version=self._pool.engine_version,
            )
            store_input = False
        recorded = pipeline.record(
            prepared, decision, self._audit, self._env, notify, store_input=store_input
        )
        return Checked(recorded, tuple(notices))

    def _context(self, environment: str, service: str | None, request: CheckRequest | None) -> dict[str, Any]:
        context = build_context(environment, self._context_env, service=service)
        if request is not None and request.context is not None:
            given = request.context.model_dump(exclude_none=True)
            context.update(given)
        return context
