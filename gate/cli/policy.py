"""`gate policy`: Rego unit tests, static checks, digests and pushing the policies to an OPA server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gate.cli.options import fail
from gate.config import ENGINES
from gate.errors import ExitCode, GateError


@click.group()
def policy() -> None:
    """Develop policies: Rego unit tests and static checks of the shipped library and your folders."""


_POLICY_OPTION = click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Policy folder to include besides the shipped library (repeatable).",
)
_OPA_PATH_OPTION = click.option(
    "--opa-path",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The opa binary [opa on PATH, then $(go env GOPATH)/bin].",
)


@policy.command("test")
@_POLICY_OPTION
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="embedded",
    show_default=True,
    help="Run the tests on regopy, or with `opa test`.",
)
@_OPA_PATH_OPTION
@click.option("--coverage", is_flag=True, help="Print OPA's coverage of the policies (--engine opa).")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail when the coverage is below PERCENT (implies --coverage; --engine opa).",
)
def policy_test(
    policies: tuple[Path, ...],
    engine: str,
    opa_path: Path | None,
    coverage: bool,
    fail_under: float | None,
) -> None:
    """Run the Rego unit tests (`test_*` rules) of the shipped library and the --policy folders.

    \b
    Prints one line per failing test and a summary.
    Exit codes: 0 all pass, 1 a test failed or a module does not load, 2 bad usage,
    3 engine missing or broken.
    """
    from gate.policy.test import run_tests

    coverage = coverage or fail_under is not None
    if coverage and engine != "opa":
        click.echo("gate: --coverage and --fail-under need --engine opa", err=True)
        sys.exit(ExitCode.USAGE)
    try:
        run = run_tests(list(policies), engine, opa_path=opa_path, coverage=coverage)
    except GateError as exc:
        fail(exc)
        return
    click.echo("\n".join(run.report_lines()))
    ok = run.ok
    if fail_under is not None and run.coverage is not None and run.coverage < fail_under:
        click.echo(f"gate: coverage {run.coverage:.1f}% is below --fail-under {fail_under:g}%", err=True)
        ok = False
    sys.exit(ExitCode.OK if ok else ExitCode.BLOCKED)


@policy.command("check")
@_POLICY_OPTION
@_OPA_PATH_OPTION
def policy_check(policies: tuple[Path, ...], opa_path: Path | None) -> None:
    """Check the policies: `opa check --strict` over everything the gate loads, and Regal.

    \b
    Regal lints the shipped library with the project's .regal/config.yaml, and each --policy
    folder with the Regal config found from that folder upwards (Regal's defaults otherwise).
    Exit codes: 0 clean, 1 findings, 2 bad usage, 3 opa or regal missing or broken.
    """
    from gate.policy.lint import run_checks

    try:
        run = run_checks(list(policies), opa_path=opa_path)
    except GateError as exc:
        fail(exc)
        return
    click.echo("\n".join(run.report_lines()))
    for note in run.notes:
        click.echo(f"note: {note}", err=True)
    sys.exit(ExitCode.OK if run.ok else ExitCode.BLOCKED)


@policy.command("digest")
@_POLICY_OPTION
@click.option("--data", "data_files", multiple=True, type=click.Path(path_type=Path), help="Data file.")
def policy_digest(policies: tuple[Path, ...], data_files: tuple[Path, ...]) -> None:
    """Print the digest of policy folders and data files, for `gate check --policy-digest`.

    \b
    Pin the digest after reviewing the policies: `gate check` then refuses them once they change.
    Exit codes: 0 printed, 2 a folder or file is missing or unreadable.
    """
    from gate.errors import ConfigError
    from gate.trust import policy_digest as digest

    try:
        if not policies and not data_files:
            raise ConfigError(
                "nothing to digest", "name policy folders with --policy, data files with --data"
            )
        click.echo(digest(policies, data_files))
    except GateError as exc:
        fail(exc)


@policy.command("push")
@click.option("--opa-url", required=True, metavar="URL", help="The OPA server to load.")
@click.option("--opa-token", metavar="TOKEN", envvar="GATE_OPA_TOKEN", help="Bearer token [GATE_OPA_TOKEN].")
@click.option(
    "--opa-ca", type=click.Path(path_type=Path), metavar="FILE", help="CA bundle for the server's TLS."
)
@click.option("--config", type=click.Path(path_type=Path), help="Config file [./gate.yaml if present].")
@_POLICY_OPTION
@click.option("--data", "data_files", multiple=True, type=click.Path(path_type=Path), help="Extra data file.")
@click.option("--waivers", type=click.Path(path_type=Path), help="Waivers file [config `waivers:`].")
@click.option(
    "--combine",
    is_flag=True,
    help="conftest-style policies read every file at once (as `gate check --combine`).",
)
def policy_push(
    opa_url: str,
    opa_token: str | None,
    opa_ca: Path | None,
    config: Path | None,
    policies: tuple[Path, ...],
    data_files: tuple[Path, ...],
    waivers: Path | None,
    combine: bool,
) -> None:
    """Load the shipped and configured policies, the config data and the waivers into an OPA server.

    \b
    For development and tests: production servers load signed bundles instead.
    Exit codes: 0 loaded, 2 bad usage or config, 3 the server refused or failed.
    """
    from gate.pipeline import CheckOptions, prepare
    from gate.policy.push import push

    opts = CheckOptions(
        config=config, policies=policies, data=data_files, waivers=waivers, engine="embedded", combine=combine
    )
    try:
        result = push(prepare(opts).policy, opa_url, opa_token, ca=opa_ca)
    except GateError as exc:
        fail(exc)
        return
    click.echo(
        f"loaded {len(result.modules)} modules and data ({', '.join(result.data_keys)}) into {result.url}"
        f" · policy {result.digest}"
    )
