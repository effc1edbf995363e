"""The check pipeline, the one every caller runs: prepare -> collect -> decide -> record.

`gate check` (gate.cli.main), `gate serve` (gate.serve.service: its workers collect and decide, the
server records), `gate audit replay` (gate.policy.replay: prepare and decide) and the benchmarks call
these stages; none decides on its own.

- `prepare`: config, environment, requirements, waivers, policies, engine, where each came from.
- `collect` and `assemble`: the input files into the input document (gate.input).
- `decide`: the document's canonical bytes and schema check, the engine, the decision.
- `record`: the signed audit record (gate.audit_step), failing closed where the environment blocks.

Which failure leaves which record (one rule, for the command line and the server alike):

- before the policies are prepared (bad usage, config, pins, an unknown engine or requirement):
  no record, since no trusted config says where to write one; exit 2 (the server does not start);
- an input refused while it is collected or encoded (InputError, ConfigError): a refusal record,
  outcome error with the one-line reason and no stored input; exit 2 (HTTP 400);
- everything once the input document is assembled (a document that fails its schema, an engine
  that fails, a decision over the server's findings limit, a server worker that dies): an error
  decision, recorded with its input; exit 3 (HTTP 503);
- every other decision: recorded; a record that cannot be written turns the decision into an
  error where the environment blocks (exit 3), and is a warning elsewhere.

A check that finds no input at all (`no_input`) is refused where the environment blocks, as an
input is (the refusal record says "nothing to check"); elsewhere it is decided and recorded as
any other, with every count of the decision's `inputs` zero, and a warning says so. With
`--allow-empty` (`allow_empty: true`) it is decided everywhere, without the warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate import audit_step, trust
from gate import input as input_doc
from gate.collect.read import exclude_patterns, shown_path
from gate.collect.registry import Skipped, collect_paths
from gate.config import (
    DEFAULT_TIERS,
    REQUIREMENTS,
    TRUST_ROOTS,
    GateConfig,
    load_config,
    resolve_environment,
)
from gate.context import build_context
from gate.decision import Decision, Outcome, error_decision, from_policy_result
from gate.engine import Engine, get_engine
from gate.engine.limits import EvalLimits
from gate.errors import ConfigError, EngineError, GateError, InputError
from gate.policy.policy_set import PolicySet, build_policy_set
from gate.waivers import load_waivers

# The input document's sections of collected files, counted in a decision's `inputs`.
SECTIONS = ("templates", "catalog", "sboms", "signatures", "attestations")
# Where notices for the user go (stderr for the command line, the log for the server).
Notify = Callable[[str], None]
# Work on the input document and its canonical bytes beside the engine (see decide).
Beside = Callable[[dict[str, Any], bytes], bytes]


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
    # conftest-style packages read every file at once (conftest's --combine).
    combine: bool = False
    # Gitignore-style patterns a folder walk leaves out, besides the config's `exclude:`.
    exclude: tuple[str, ...] = ()
    # Decide a check that finds no input even where the environment blocks (None: the config's
    # `allow_empty:`).
    allow_empty: bool | None = None
    # Tell `notify` each file a walk skipped, and why.
    verbose: bool = False


@dataclass(frozen=True)
class Prepared:
    """The parts of a check that do not depend on the inputs: config, environment, policies."""

    config: GateConfig
    environment: str
    policy: PolicySet
    engine: Engine
    # What the input document requires (`--require`, else the config's `require:`).
    require: tuple[str, ...] = ()
    # Where the config, policies and waivers came from (gate.trust), and warnings about them.
    sources: tuple[trust.Source, ...] = ()
    notices: tuple[str, ...] = ()
    # What a folder walk leaves out (the config's `exclude:` and `--exclude`), and whether a
    # check that finds no input is decided where the environment blocks.
    exclude: tuple[str, ...] = ()
    allow_empty: bool = False

    def sources_json(self) -> tuple[dict[str, Any], ...]:
        """The sources as a decision names them (Decision.sources)."""
        return tuple(s.to_json() for s in self.sources)


def prepare(opts: CheckOptions) -> Prepared:
    """Load the config, waivers and policies; pick the environment, the requirements and the engine.

    A config, policy folder, data file or waivers file from the working tree must be pinned
    where the environment blocks (gate.trust); the sources are recorded in the decision.
    Raises GateError (exit 2): nothing is recorded, since no trusted config says where.
    """
    explicit = opts.config is not None
    config = load_config(opts.config if explicit else Path("gate.yaml"), explicit=explicit)
    environment = resolve_environment(opts.environment, opts.env.get("GATE_ENV"), config)
    require = tuple(opts.require if opts.require is not None else config.require)
    unknown = sorted(set(require) - set(REQUIREMENTS))
    if unknown:
        raise ConfigError(
            f"unknown requirement {', '.join(unknown)}", "use --require with sbom, signature, provenance"
        )
    waivers_path = opts.waivers or config.waivers
    sources, notices = _sources(opts, config, environment, waivers_path)
    today = _today(opts.env)
    waivers = load_waivers(waivers_path, today, config.max_waiver_days) if waivers_path else []
    policy = build_policy_set(
        list(config.policies) + list(opts.policies),
        config.policy_data(),
        waivers,
        opts.data,
        combine=opts.combine,
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
    exclude = (*config.exclude, *opts.exclude)
    exclude_patterns(exclude)  # a pattern that cannot be read is refused now, before any record
    allow_empty = config.allow_empty if opts.allow_empty is None else opts.allow_empty
    return Prepared(
        config,
        environment,
        policy,
        engine,
        require,
        sources=sources,
        notices=notices,
        exclude=exclude,
        allow_empty=allow_empty,
    )


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
    if config.trust_root not in TRUST_ROOTS:
        root = Path(config.trust_root)
        others.append(trust.judge("trust-root", [root], trust.file_digest(root), None, roots))
    # A public key the change could replace would verify whatever the change signs.
    for key in config.keys:
        if key.is_file():
            others.append(trust.judge("signature-key", [key], trust.file_digest(key), None, roots))
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


# --------------------------------------------------------------------------- collect


def collect(
    prepared: Prepared,
    paths: Sequence[Path],
    *,
    artifacts: Sequence[Path] = (),
    parallel: bool = False,
    skipped: Skipped | None = None,
) -> dict[str, list[Any]]:
    """The input document's sections from the files under `paths` (raises InputError for a file
    the gate refuses). With `parallel`, many files are collected in forked processes: only for a
    caller that runs no threads of its own (the command line). Each file a folder walk skips
    (not an input, excluded, ignored by a .gitignore) is told to `skipped` with the reason."""
    settings = prepared.config.collect_settings(tuple(artifacts))
    if prepared.policy.reads_files:
        settings = dataclasses.replace(settings, keep_files=True)
    return collect_paths(
        list(paths),
        settings,
        parallel=parallel,
        exclude=exclude_patterns(prepared.exclude),
        skipped=skipped,
    )


def no_input(
    prepared: Prepared,
    sections: Mapping[str, Sequence[Any]],
    paths: Sequence[Path],
    skipped: int = 0,
    *,
    environment: str | None = None,
    where: str | None = None,
) -> str | None:
    """The rule for a check that found no input: None when something was found or `allow_empty`
    says finding nothing is expected; else, where the environment (default: the prepared one)
    blocks, an InputError (a refusal: nothing checked must never read as a pass), and elsewhere
    the warning to give. `skipped` is how many files the walks skipped; `where` names what was
    searched (default: the paths)."""
    if prepared.allow_empty or any(sections.get(section) for section in (*SECTIONS, "files")):
        return None
    where = where or ", ".join(shown_path(p) for p in paths) or "."
    seen = f" ({skipped} other file{'s' if skipped != 1 else ''} skipped; -v lists them)" if skipped else ""
    message = (
        f"nothing to check: no Backstage entity or template, SBOM, signature or attestation in {where}{seen}"
    )
    if prepared.config.blocks(environment or prepared.environment):
        raise InputError(
            message,
            "pass the files or folders that hold the inputs, or --allow-empty (gate.yaml"
            " `allow_empty: true`) where a change with none is expected",
        )
    return f"{message}; the decision judged no input (--allow-empty where that is expected)"


def assemble(prepared: Prepared, context: dict[str, Any], sections: dict[str, list[Any]]) -> dict[str, Any]:
    """The input document: the CI context, the requirements and the collected sections (and,
    for conftest-style policies, every file's parsed content: `files`, empty when none)."""
    if prepared.policy.reads_files and "files" not in sections:
        sections = {**sections, "files": []}
    return input_doc.assemble(context, prepared.require, sections)


# --------------------------------------------------------------------------- decide


def decide(
    prepared: Prepared,
    document: dict[str, Any],
    *,
    environment: str | None = None,
    max_findings: int | None = None,
    beside: Beside | None = None,
) -> Decision:
    """Decide the input document in `environment` (default: the prepared one).

    A document that cannot be encoded as JSON raises InputError (a refusal). Every failure after
    that is an error decision (exit 3), recorded like any other: a document that fails its
    schema (a collector bug; the engine never sees it), an engine failure, a decision with more
    than `max_findings` findings.

    `beside`, when given, is work on the document and its canonical bytes that does not depend
    on the decision (the record step's: its imports and the stored form of the input), run in a
    thread while the engine evaluates: the engines evaluate in native code or in another process,
    where this one's threads run on. It is done when decide returns, what it raises is raised,
    and the bytes it returns are the decision's `stored_json`.
    """
    environment = environment or prepared.environment
    text = input_doc.canonical_bytes(document)
    in_digest = input_doc.digest_of(text)
    engine = prepared.engine
    info: dict[str, Any] = {"name": engine.name, "version": "not run"}
    counts = {k: len(document.get(k) or []) for k in SECTIONS}
    made: list[bytes] = []
    try:
        input_doc.validate(document)
        info["version"] = "unknown"
        with _alongside(beside, document, text, made):
            result = engine.evaluate(prepared.policy, document, text)
        # After evaluating: the embedded engine names the runtime that decided.
        info["version"] = engine.version()
        info.update(result.meta)
        _within(result.decision, max_findings)
        decision = from_policy_result(
            result.decision,
            environment=environment,
            engine=info,
            policy_digest=prepared.policy.digest,
            input_digest=in_digest,
            inputs=counts,
        )
    except EngineError as exc:
        if info["version"] == "unknown":
            info["version"] = _version_or_unknown(engine)
        decision = error_decision(environment, exc.one_line(), info, prepared.policy.digest, in_digest)
    return dataclasses.replace(
        decision,
        document=document,
        document_json=text,
        stored_json=made[0] if made else None,
        sources=prepared.sources_json(),
    )


@contextlib.contextmanager
def _alongside(
    work: Beside | None, document: dict[str, Any], text: bytes, made: list[bytes]
) -> Iterator[None]:
    """Run `work` in a thread while the body runs, appending what it returns to `made`; wait
    for it after, and raise what it raised (unless the body raised first)."""
    if work is None:
        yield
        return
    failed: list[BaseException] = []

    def target() -> None:
        try:
            made.append(work(document, text))
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    thread = threading.Thread(target=target, name="gate-beside-engine", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _within(raw: dict[str, Any], max_findings: int | None) -> None:
    found = raw.get("findings")
    if max_findings is not None and isinstance(found, list) and len(found) > max_findings:
        raise EngineError(
            f"the policies found {len(found)} findings, over the server's limit of {max_findings}",
            "split the change into smaller ones, or start the server with a larger --max-findings",
        )


def _version_or_unknown(engine: Engine) -> str:
    try:
        return engine.version()
    except EngineError:  # an external engine may be missing
        return "unknown"


def refusal(
    prepared: Prepared, exc: GateError, context: dict[str, Any], *, environment: str | None = None
) -> Decision:
    """The decision for an input the gate refused: outcome error, the one-line reason, the CI
    context, no input document (nothing is stored for it)."""
    return failure(prepared, exc.one_line(), context, environment=environment)


def failure(
    prepared: Prepared,
    message: str,
    context: dict[str, Any],
    *,
    environment: str | None = None,
    engine_version: str = "not run",
) -> Decision:
    """An error decision made without a decided input document (a refused input, a server worker
    that died): outcome error, `message`, the CI context."""
    engine = {"name": prepared.engine.name, "version": engine_version}
    decision = error_decision(
        environment or prepared.environment, message, engine, prepared.policy.digest, ""
    )
    return dataclasses.replace(decision, document={"context": context}, sources=prepared.sources_json())


# --------------------------------------------------------------------------- record


def record(
    prepared: Prepared,
    decision: Decision,
    audit: audit_step.AuditOptions,
    env: Mapping[str, str],
    notify: Notify,
    *,
    store_input: bool = True,
) -> Decision:
    """Write the decision's audit record (gate.audit_step): the decision with its `audit` field,
    or, where the environment blocks and the record cannot be written, an error decision. The
    input document is stored beside the record unless `store_input` is false."""
    result = audit_step.record(decision, audit, prepared.config, env, store_input=store_input)
    for notice in result.notices:
        notify(notice)
    return result.decision


def record_refusal(
    prepared: Prepared,
    decision: Decision,
    audit: audit_step.AuditOptions,
    env: Mapping[str, str],
    notify: Notify,
) -> dict[str, object]:
    """Record a refusal (see `refusal`) and return the record's audit facts (empty when none was
    written). The gate refuses anyway, so a record that cannot be written is only a warning."""
    written = record(prepared, decision, audit, env, notify, store_input=False)
    if written.outcome is Outcome.ERROR and written.error != decision.error:
        notify(f"warning: {written.error}")
        return {}
    return dict(written.audit or {})


# --------------------------------------------------------------------------- the whole check


def run(prepared: Prepared, opts: CheckOptions, audit: audit_step.AuditOptions, notify: Notify) -> Decision:
    """collect -> decide -> record for `gate check`: the recorded decision.

    An input the gate refuses raises its InputError or ConfigError once the refusal is recorded.
    """
    context = build_context(prepared.environment, opts.env, service=opts.service)
    skipped: list[tuple[str, str]] = []
    try:
        sections = collect(
            prepared,
            opts.paths,
            artifacts=opts.artifacts,
            parallel=opts.parallel,
            skipped=lambda shown, reason: skipped.append((shown, reason)),
        )
        if opts.verbose:
            _tell_skipped(skipped, notify)
        empty = no_input(prepared, sections, opts.paths, len(skipped))
        if empty is not None:
            notify(f"warning: {empty}")
        stored = None if audit.disabled else audit_step.stored_form
        decision = decide(prepared, assemble(prepared, context, sections), beside=stored)
    except (InputError, ConfigError) as exc:
        # The refused file, read again, is the refusal record's subject (its real sha256).
        refused = refusal(prepared, exc, context)
        if not audit.disabled:
            refused = audit_step.refused_file(refused, exc.path, prepared.config.max_file_bytes)
        exc.audit = record_refusal(prepared, refused, audit, opts.env, notify)
        raise
    return record(prepared, decision, audit, opts.env, notify)


def _tell_skipped(skipped: Sequence[tuple[str, str]], notify: Notify) -> None:
    """One line per file a walk skipped, then how many (`gate check -v`)."""
    for shown, reason in skipped:
        notify(f"skipped {shown_path(shown)}: {reason}")
    notify(
        f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped in the walk (not inputs,"
        " excluded or ignored)"
    )


def run_check(opts: CheckOptions) -> Decision:
    """Prepare, collect and decide in one call, without an audit record (a library call: it leaves
    the process as it found it)."""
    prepared = prepare(opts)
    context = build_context(prepared.environment, opts.env, service=opts.service)
    skipped: list[str] = []
    sections = collect(
        prepared,
        opts.paths,
        artifacts=opts.artifacts,
        parallel=opts.parallel,
        skipped=lambda shown, _reason: skipped.append(shown),
    )
    no_input(prepared, sections, opts.paths, len(skipped))
    return decide(prepared, assemble(prepared, context, sections))
