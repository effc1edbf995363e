"""The `gate` command line: a thin layer over gate.check; the only module that exits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from gate import __version__
from gate.errors import ExitCode, GateError

FORMAT_CHOICES = ("text", "json")


def _fail(exc: GateError) -> None:
    click.echo(f"gate: {exc.one_line()}", err=True)
    sys.exit(int(exc.exit_code))


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
@click.option(
    "--policy",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra Rego policy folder (repeatable).",
)
@click.option(
    "--data",
    "data_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra data file, JSON or YAML (repeatable).",
)
@click.option("--require", metavar="KINDS", help="Inputs that must be present: sbom,signature,provenance.")
@click.option("--waivers", type=click.Path(path_type=Path), help="Waivers file [config `waivers:`].")
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Artifact a signature bundle signs (repeatable).",
)
@click.option("--engine", type=click.Choice(["embedded"]), help="Policy engine [config, embedded].")
@click.option("--service", metavar="NAME", help="Service id recorded in the decision [GATE_SERVICE].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    default="text",
    show_default=True,
    help="Report on stdout.",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Also write a report to FILE (repeatable).",
)
def check(
    paths: tuple[Path, ...],
    environment: str | None,
    config: Path | None,
    policies: tuple[Path, ...],
    data_files: tuple[Path, ...],
    require: str | None,
    waivers: Path | None,
    artifacts: tuple[Path, ...],
    engine: str | None,
    service: str | None,
    fmt: str,
    reports: tuple[str, ...],
) -> None:
    """Check PATHS (files or folders; default .) against the policies and decide for one environment.

    \b
    Exit codes: 0 pass or warn, 1 blocked, 2 bad usage, config or input, 3 engine failure.
    Waivers (waivers.yaml): id, check, subject (glob over the finding's ref or path), owner,
    reason, expires (YYYY-MM-DD, at most 90 days out by default).
    """
    from gate.check import CheckOptions, evaluate, prepare
    from gate.report.base import get_reporter

    try:
        report_targets = _parse_reports(reports)
    except click.BadParameter as exc:
        click.echo(f"gate: --report {exc.message}", err=True)
        sys.exit(ExitCode.USAGE)
    opts = CheckOptions(
        paths=paths or (Path("."),),
        environment=environment,
        config=config,
        policies=policies,
        data=data_files,
        require=_split_require(require),
        waivers=waivers,
        artifacts=artifacts,
        engine=engine,
        service=service,
        env=dict(os.environ),
    )
    try:
        decision = evaluate(prepare(opts), opts)
    except GateError as exc:
        _fail(exc)
        return
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    click.echo(get_reporter(fmt).render(decision, color=color), nl=False)
    for rfmt, dest in report_targets:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(get_reporter(rfmt).render(decision, color=False), encoding="utf-8")
        except OSError as exc:
            click.echo(f"gate: {dest}: cannot write report: {exc.strerror}", err=True)
            sys.exit(ExitCode.USAGE)
    if decision.error:
        click.echo(f"gate: {decision.error}", err=True)
    sys.exit(decision.exit_code())
