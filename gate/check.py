"""`gate check` as a library call: config -> collect -> input document -> engine -> decision."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate import input as input_doc
from gate import trust
from gate.collect.registry import collect_paths
from gate.config import DEFAULT_TIERS, GateConfig, load_config, resolve_environment
from gate.context import build_context
from gate.decision import Decision, error_decision, from_policy_result
from gate.engine.base import Engine, get_engine
from gate.engine.embedded import EmbeddedEngine
from gate.engine.limits import EvalLimits
from gate.errors import ConfigError, EngineError
from gate.policy import PolicySet, build_policy_set
from gate.waivers import load_waivers


@dataclass(frozen=True)
class CheckOptions:
    """Everything `gate check` takes from the command line; None means "from the config"."""

    paths: tuple[Path, ...] = (Path("."),)
    environment: str | None = None
    config: Path | None = None
    policies: tuple[Path, ...] = ()
    data: tuple[Path, ...] = ()
    require: tuple[str, ...] | None = None
    waivers: Path | None = None
    artifacts: tuple[Path, ...] = ()
    engine: str | None = None
    opa_path: Path | None = None
    opa_url: str | None = None
    opa_token: str | None = None
    opa_ca: Path | None = None
    opa_timeout: float = 10.0
    opa_retries: int = 2
    service: str | None = None
    # Pinned digests (`sha256:<hex>`) of a config, policy set or waivers file that lies in the
    # working tree: see gate.trust.
    config_digest: str | None = None
    policy_digest: str | None = None
    waivers_digest: str | None = None
    # What the change under review controls, where it is not the working directory and the
    # checked paths (gate.trust.untrusted_roots); None: those.
    working_tree: tuple[Path, ...] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Collect many files in forked worker processes (gate.collect.parallel): for callers that
    # run no threads of their own, such as the command line.
    parallel: bool = False


@dataclass(frozen=True)
class Prepared:
    """The parts of a check that do not depend on the inputs: config, environment, policies."""

    config: GateConfig
    environment: str
    policy: PolicySet
    engine: Engine
    context_time_ns: int | None = None
    # Where the config, policies and waivers came from (gate.trust), and warnings about them.
    sources: tuple[trust.Source, ...] = ()
    notices: tuple[str, ...] = ()

    def sources_json(self) -> tuple[dict[str, Any], ...]:
        """The sources as a decision names them (Decision.sources)."""
        return tuple(s.to_json() for s in self.sources)


def prepare(opts: CheckOptions) -> Prepared:
    """Load the config, waivers and policies; pick the environment and engine.

    A config, policy folder, data file or waivers file from the working tree must be pinned
    where the environment blocks (gate.trust); the sources are recorded in the decision.
    """
    explicit = opts.config is not None
    config = load_config(opts.config if explicit else Path("gate.yaml"), explicit=explicit)
    environment = resolve_environment(opts.environment, opts.env.get("GATE_ENV"), config)
    waivers_path = opts.waivers or config.waivers
    sources, notices = _sources(opts, config, environment, waivers_path)
    today = _today(opts.env)
    waivers = load_waivers(waivers_path, today, config.max_waiver_days) if waivers_path else []
    policy = build_policy_set(
        list(config.policies) + list(opts.policies), config.policy_data(), waivers, opts.data
    )
    engine = get_engine(
        opts.engine or config.engine,
        opa_path=opts.opa_path,
        opa_url=opts.opa_url,
        opa_token=opts.opa_token,
        opa_ca=opts.opa_ca,
        opa_timeout=opts.opa_timeout,
        opa_retries=opts.opa_retries,
        embedded_runtime=opts.env.get("GATE_EMBEDDED_RUNTIME"),
        limits=EvalLimits(config.eval_timeout_seconds, config.eval_memory_mb),
    )
    return Prepared(config, environment, policy, engine, sources=sources, notices=notices)


def _sources(
    opts: CheckOptions, config: GateConfig, environment: str, waivers: Path | None
) -> tuple[tuple[trust.Source, ...], tuple[str, ...]]:
    """Judge where the config, policies, trust root and waivers come from; refuse what the change
    under review could have written where the environment blocks."""
    roots = trust.untrusted_roots(opts.paths, opts.env, opts.working_tree)
    if config.source is None:
        if opts.config_digest is not None:
            raise ConfigError("--config-digest pins a config, but none was read", "pass --config FILE")
        sources = [trust.Source("config", None, "", trust.BUILT_IN)]
    else:
        sources = [trust.judge("config", [config.source], config.digest, opts.config_digest, roots)]
    # A config the change may have written must not decide whether its own environment blocks.
    blocks = config.blocks(environment)
    if sources[0].origin == trust.UNPINNED:
        blocks = blocks or _blocks_by_default(environment)
    notices = trust.refuse_unpinned(sources, environment, blocks)
    others: list[trust.Source] = []
    if config.trust_root not in ("production", "staging"):
        root = Path(config.trust_root)
        others.append(trust.judge("trust-root", [root], trust.file_digest(root), None, roots))
    folders = [*config.policies, *opts.policies]
    if folders or opts.data:
        digest = trust.policy_digest(folders, opts.data)
        others.append(trust.judge("policies", [*folders, *opts.data], digest, opts.policy_digest, roots))
    elif opts.policy_digest is not None:
        raise ConfigError("--policy-digest pins policies, but none were given", "pass --policy DIR")
    if waivers is not None and waivers.is_file():
        others.append(
            trust.judge("waivers", [waivers], trust.file_digest(waivers), opts.waivers_digest, roots)
        )
    elif opts.waivers_digest is not None:
        raise ConfigError("--waivers-digest pins a waivers file, but none was read", "pass --waivers FILE")
    notices += trust.refuse_unpinned(others, environment, blocks)
    return (*sources, *others), tuple(notices)


def _blocks_by_default(environment: str) -> bool:
    """Whether the built-in tiers block in `environment` (one they do not know: yes)."""
    tiers = DEFAULT_TIERS.get(environment)
    return tiers is None or "block" in tiers.values()


def _today(env: Mapping[str, str]) -> dt.date:
    from gate.context import parse_time

    ns = parse_time(env.get("GATE_TIME"))
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).date()


# Work on the input document that may run while the engine evaluates it: called with the
# document and its canonical bytes, in another thread (its errors are its own to keep).
Alongside = Callable[[dict[str, Any], bytes], None]


def evaluate(
    prepared: Prepared,
    opts: CheckOptions,
    alongside: Alongside | None = None,
    warm: Callable[[], None] | None = None,
) -> Decision:
    """Collect the inputs and decide. Input problems raise; engine failures give an error decision.

    The embedded engine evaluates in native code, where Python's other threads run on: the input
    document's schema check, its digest, and `alongside` run in a thread meanwhile (other engines
    get the document only once it passed the schema check). A document that fails the check
    raises, whatever the engine said of it. With `opts.parallel`, forked processes collect while
    this one loads the embedded engine's runtime and runs `warm` (loading what comes later).
    """
    require = opts.require if opts.require is not None else prepared.config.require
    unknown = sorted(set(require) - {"sbom", "signature", "provenance"})
    if unknown:
        raise ConfigError(
            f"unknown requirement {', '.join(unknown)}", "use --require with sbom, signature, provenance"
        )
    engine = prepared.engine
    embedded = engine if isinstance(engine, EmbeddedEngine) else None

    def load() -> None:  # before the input thread starts, not alongside it; once loaded, a no-op
        if embedded is not None:
            with contextlib.suppress(EngineError):  # raised again by evaluate: an error decision
                embedded.load(prepared.policy)

    def meanwhile() -> None:  # while forked processes collect; otherwise the input thread warms
        load()
        if warm is not None:
            warm()

    settings = prepared.config.collect_settings(opts.artifacts)
    sections = collect_paths(list(opts.paths), settings, parallel=opts.parallel, meanwhile=meanwhile)
    load()
    context = build_context(prepared.environment, opts.env, service=opts.service)
    document = input_doc.assemble(context, require, sections)
    text = input_doc.canonical_bytes(document)
    running = threading.Event()  # the thread's work starts once the engine runs in native code
    if embedded is None:
        input_doc.validate(document)
        running.set()
    side = _Thread(_input_work, document, text, embedded is not None, alongside, running)
    engine_info: dict[str, Any] = {"name": engine.name, "version": "unknown"}
    failure: EngineError | None = None
    raw: dict[str, Any] = {}
    try:
        if embedded is not None:
            raw = embedded.evaluate(prepared.policy, document, text, running=running)
        else:
            raw = engine.evaluate(prepared.policy, document, text)
        # After evaluating: the embedded engine names the runtime that decided.
        engine_info["version"] = engine.version()
    except EngineError as exc:
        failure = exc
    except BaseException:
        running.set()
        side.join()
        raise
    running.set()  # where the engine never got as far
    in_digest = side.result()
    counts = {k: len(v) for k, v in sections.items()}
    try:
        if failure is not None:
            raise failure
        server = raw.pop("_server", None)
        if isinstance(server, dict):  # opa-server: OPA's decision id and bundle revisions
            engine_info.update({k: server.get(k) for k in ("url", "decision_id", "revisions")})
        decision = from_policy_result(
            raw,
            environment=prepared.environment,
            engine=engine_info,
            policy_digest=prepared.policy.digest,
            input_digest=in_digest,
            inputs=counts,
        )
    except EngineError as exc:
        engine_info["version"] = _version_or_unknown(prepared.engine)
        decision = error_decision(
            prepared.environment, exc.one_line(), engine_info, prepared.policy.digest, in_digest
        )
    return dataclasses.replace(
        decision,
        document=document,
        document_json=text,
        sources=prepared.sources_json(),
    )


def _input_work(
    document: dict[str, Any],
    text: bytes,
    validate: bool,
    alongside: Alongside | None,
    running: threading.Event,
) -> str:
    """Once `running` is set: the schema check (when asked), the digest, then `alongside`;
    returns the digest. (Started earlier, its long calls into C, which hold the interpreter,
    would keep the engine from getting to its own native code.)"""
    running.wait()
    if validate:
        input_doc.validate(document)
    in_digest = input_doc.digest_of(text)
    if alongside is not None:
        alongside(document, text)
    return in_digest


class _Thread:
    """A function run in a thread of its own; result() waits, and raises what it raised."""

    def __init__(self, fn: Callable[..., str], *args: Any) -> None:
        self._value = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="gate-input", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., str], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def join(self) -> None:
        """Wait for the function to return."""
        self._thread.join()

    def result(self) -> str:
        """The function's value, once it returned; its exception, if it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _version_or_unknown(engine: Engine) -> str:
    try:
        return engine.version()
    except EngineError:  # an external engine may be missing
        return "unknown"


def run_check(opts: CheckOptions) -> Decision:
    """Prepare and evaluate in one call."""
    return evaluate(prepare(opts), opts)
