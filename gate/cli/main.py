"""The `gate` command line: a thin layer over gate.pipeline; the only module that exits."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from gate import __version__
from gate.cli.options import engine_options, fail, policy_input_options
from gate.config import SIGNERS
from gate.errors import ExitCode, GateError
from gate.report.base import FORMATS
from gate.report.escape import terminal_safe

FORMAT_CHOICES = FORMATS


def _split_require(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _parse_reports(values: tuple[str, ...]) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for v in values:
        fmt, sep, dest = v.partition("=")
        if not sep or fmt not in FORMAT_CHOICES or not dest:
            raise click.BadParameter(
                f"{v!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMAT_CHOICES)}"
            )
        out.append((fmt, Path(dest)))
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="govgate")
def main() -> None:
    """govgate: decide whether a change may ship, from Backstage metadata, SBOMs, signatures and provenance."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="Environment whose tier table applies [GATE_ENV, config, dev].",
)
@click.option("--config", type=click.Path(path_type=Path), help="Config file [./gate.yaml if present].")
@policy_input_options
@click.option(
    "--config-digest",
    metavar="sha256:HEX",
    envvar="GATE_CONFIG_DIGEST",
    help="Pinned digest of a config from the working tree (`sha256sum`) [GATE_CONFIG_DIGEST].",
)
@click.option(
    "--policy-digest",
    metavar="sha256:HEX",
    envvar="GATE_POLICY_DIGEST",
    help="Pinned digest of policy folders and data files from the working tree (`gate policy digest`)"
    " [GATE_POLICY_DIGEST].",
)
@click.option(
    "--waivers-digest",
    metavar="sha256:HEX",
    envvar="GATE_WAIVERS_DIGEST",
    help="Pinned digest of a waivers file from the working tree (`sha256sum`) [GATE_WAIVERS_DIGEST].",
)
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Artifact a signature bundle signs (repeatable).",
)
@click.option(
    "--combine",
    is_flag=True,
    help="conftest-style policies read every file at once, as `conftest test --combine` does.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Leave out of folder walks what the .gitignore-style GLOB matches, relative to each walked"
    " folder, e.g. 'tests/fixtures/' (repeatable; added to config `exclude:`).",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Decide a check that finds no input even where the environment blocks (exit 2 there"
    " otherwise) [config `allow_empty:`].",
)
@click.option("-v", "--verbose", is_flag=True, help="List the files a walk skipped, and why, on stderr.")
@engine_options
@click.option("--service", metavar="NAME", help="Service id recorded in the decision [GATE_SERVICE].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    default="text",
    show_default=True,
    help="Report on stdout: text, json (the decision), sarif (code scanning), junit (test reports),"
    " github (workflow annotations), gitlab (Code Quality).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Also write a report in FORMAT (any --format) to FILE, from the same decision (repeatable),"
    " e.g. --report sarif=govgate.sarif.",
)
@click.option(
    "--warn-exit-code",
    type=click.IntRange(0, 255),
    default=0,
    show_default=True,
    metavar="N",
    help="Exit code when the outcome is warn (e.g. for GitLab `allow_failure: exit_codes`).",
)
@click.option(
    "--audit-log",
    metavar="DIR|URL",
    help="Decision log for the signed record: a folder, or a central log's URL (gate audit serve)"
    " [GATE_AUDIT_LOG, config, .gate/audit].",
)
@click.option("--no-audit", is_flag=True, help="Write no record (refused where the environment blocks).")
@click.option(
    "--signer",
    type=click.Choice(SIGNERS),
    help="Who signs the record: a local key, or sigstore keyless [GATE_SIGNER, config, local].",
)
@click.option(
    "--signing-key",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Local signing key (PEM), outside the checkout [GATE_SIGNING_KEY holding the PEM, config,"
    " ~/.local/share/govgate/keys/audit.key].",
)
def check(
    paths: tuple[Path, ...],
    environment: str | None,
    config: Path | None,
    policies: tuple[Path, ...],
    data_files: tuple[Path, ...],
    require: str | None,
    waivers: Path | None,
    config_digest: str | None,
    policy_digest: str | None,
    waivers_digest: str | None,
    artifacts: tuple[Path, ...],
    combine: bool,
    excludes: tuple[str, ...],
    allow_empty: bool,
    verbose: bool,
    engine: str | None,
    opa_path: Path | None,
    opa_url: str | None,
    opa_token: str | None,
    opa_ca: Path | None,
    opa_timeout: float,
    opa_retries: int,
    service: str | None,
    fmt: str,
    reports: tuple[str, ...],
    warn_exit_code: int,
    audit_log: str | None,
    no_audit: bool,
    signer: str | None,
    signing_key: Path | None,
) -> None:
    """Check PATHS (files or folders; default .; - reads one input from stdin) against the policies
    and decide for one environment.

    \b
    Exit codes: 0 pass or warn, 1 blocked, 2 bad usage, config or input, 3 engine or audit failure.
    With --warn-exit-code N, a warn outcome exits N instead of 0.
    With the github format (stdout or --report), the job summary goes to $GITHUB_STEP_SUMMARY and
    outcome= and record= to $GITHUB_OUTPUT.
    Every decision is signed and appended to the audit log (see `gate audit`).
    Where the environment blocks, a config, policy folder, data file or waivers file that lies in
    the working tree (the change under review) is refused unless pinned with --config-digest,
    --policy-digest or --waivers-digest; the decision names each source and its digest.
    Waivers (waivers.yaml): id, check, subject (glob over the finding's ref or path), owner,
    reason, expires (YYYY-MM-DD, at most 90 days out by default).
    """
    if _CONSOLE:
        import gc

        # One short-lived decision, in a process of its own that ends in `_finish`: reference
        # counting frees what it can, and the cyclic collector would only rescan the growing heap
        # of parsed inputs, over and over. Only from the console script: a library call (click's
        # test runner, an embedding program) leaves the process as it found it.
        gc.disable()
    from gate import pipeline
    from gate.audit_step import AuditOptions, check_disable, check_keys, is_log_url
    from gate.report.base import get_reporter
    from gate.trust import untrusted_roots

    try:
        report_targets = _parse_reports(reports)
    except click.BadParameter as exc:
        click.echo(f"gate: --report {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
    opts = pipeline.CheckOptions(
        paths=paths or (Path("."),),
        environment=environment,
        config=config,
        policies=policies,
        data=data_files,
        require=_split_require(require),
        waivers=waivers,
        artifacts=artifacts,
        engine=engine,
        opa_path=opa_path,
        opa_url=opa_url,
        opa_token=opa_token,
        opa_ca=opa_ca,
        opa_timeout=opa_timeout,
        opa_retries=opa_retries,
        service=service,
        config_digest=config_digest,
        policy_digest=policy_digest,
        waivers_digest=waivers_digest,
        env=dict(os.environ),
        parallel=True,
        combine=combine,
        exclude=excludes,
        allow_empty=True if allow_empty else None,  # unset: the config's `allow_empty:`
        verbose=verbose,
    )
    audit_opts = AuditOptions(
        audit_log if audit_log is None or is_log_url(audit_log) else Path(audit_log),
        no_audit,
        signer,
        signing_key,
    )

    def notify(notice: str) -> None:
        click.echo(f"gate: {terminal_safe(notice)}", err=True)

    prepared: pipeline.Prepared | None = None
    try:
        prepared = pipeline.prepare(opts)
        for notice in prepared.notices:
            notify(notice)
        check_disable(audit_opts, prepared.config, prepared.environment)
        check_keys(audit_opts, prepared.config, opts.env, untrusted_roots(opts.paths, opts.env))
        decision = pipeline.run(prepared, opts, audit_opts, notify)
    except GateError as exc:
        # Until the check is prepared no environment is settled (the one asked for may be what is wrong).
        _refused(exc, prepared.environment if prepared else None, fmt, report_targets)
        return
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    try:
        click.echo(get_reporter(fmt).render(decision, color=color), nl=False)
        sys.stdout.flush()
    except OSError as exc:
        # The record is written; a decision nobody can read must still not pass.
        _stdout_failed(exc)
    for rfmt, dest in report_targets:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(get_reporter(rfmt).render(decision, color=False), encoding="utf-8")
        except OSError as exc:
            click.echo(f"gate: {dest}: cannot write report: {exc.strerror}", err=True)
            sys.exit(ExitCode.USAGE)
    if "github" in {fmt, *(rfmt for rfmt, _ in report_targets)}:
        from gate.report.github import publish

        for problem in publish(decision, os.environ):
            click.echo(f"gate: warning: {terminal_safe(problem)}", err=True)
    if decision.error:
        click.echo(f"gate: {terminal_safe(decision.error)}", err=True)
    _finish(decision.exit_code(warn_exit_code), prepared.engine)


# Formats whose report of a refusal is the one line on stderr: nothing more goes to stdout.
_LINE_ONLY = ("text", "json")


def _refused(exc: GateError, environment: str | None, fmt: str, reports: list[tuple[str, Path]]) -> None:
    """End a check that could not decide: its report in every format asked for (on stdout for
    the CI formats, and in every --report file, so the job shows why), then the one line and the
    error's exit code."""
    from gate.report.base import Refusal, get_reporter

    refusal = Refusal.of(exc, environment)
    if fmt not in _LINE_ONLY:
        with contextlib.suppress(OSError):
            click.echo(get_reporter(fmt).render_refusal(refusal), nl=False)
            sys.stdout.flush()
    for rfmt, dest in reports:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(get_reporter(rfmt).render_refusal(refusal), encoding="utf-8")
        except OSError as err:
            click.echo(
                f"gate: warning: {terminal_safe(str(dest))}: cannot write report: {err.strerror}", err=True
            )
    if "github" in {fmt, *(rfmt for rfmt, _ in reports)}:
        from gate.report.github import publish_refusal

        for problem in publish_refusal(refusal, os.environ):
            click.echo(f"gate: warning: {terminal_safe(problem)}", err=True)
    fail(exc)


def _stdout_failed(exc: OSError) -> None:
    """Exit 3 with one line when the report cannot be written to stdout (a full disk, a closed
    pipe): the record is written, but no one saw the decision."""
    with contextlib.suppress(OSError, ValueError):
        # Nothing more must reach the broken stream, not even the interpreter's final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    reason = exc.strerror or type(exc).__name__
    click.echo(
        f"gate: cannot write the report to stdout: {reason}; the audit record is written."
        " Free space or write the report with --report FORMAT=FILE",
        err=True,
    )
    sys.exit(ExitCode.ENGINE)


# Set by the console script (`entry`): the process is the gate's own, so `gate check` may turn
# the cyclic garbage collector off and end without the interpreter's teardown.
_CONSOLE = False


def entry() -> None:
    """The `gate` console script: the CLI, where a finished `gate check` skips the teardown."""
    global _CONSOLE
    _CONSOLE = True
    main()


def _finish(code: int, engine: object) -> None:
    """Exit with `code`. From the console script, once the engine is closed and the streams are
    flushed, without freeing every object of the decision one by one (~0.15 s on a large SBOM):
    every file the check writes is closed by now."""
    if not _CONSOLE:
        sys.exit(code)
    close = getattr(engine, "close", None)
    if callable(close):
        close()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or ExitCode.ENGINE
    os._exit(code)


def _register() -> None:
    """Add the command groups that live in their own modules."""
    from gate.cli import log_service  # noqa: F401  (adds `gate audit serve` and `gate audit token`)
    from gate.cli.audit import audit_group
    from gate.cli.policy import policy
    from gate.cli.serve import serve_command

    main.add_command(policy)
    main.add_command(audit_group)
    main.add_command(serve_command)


_register()
