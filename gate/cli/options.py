"""What the commands share: policy-input and engine options, and the one-line failure exit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gate.config import ENGINES
from gate.errors import GateError
from gate.report.escape import terminal_safe

F = TypeVar("F", bound=Callable[..., Any])


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(fn: F) -> F:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def policy_input_options(fn: F) -> F:
    """--policy, --data, --require and --waivers."""
    return _stack(
        click.option(
            "--policy",
            "policies",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Extra Rego policy folder (repeatable).",
        ),
        click.option(
            "--data",
            "data_files",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Extra data file, JSON or YAML (repeatable).",
        ),
        click.option(
            "--require", metavar="KINDS", help="Inputs that must be present: sbom,signature,provenance."
        ),
        click.option("--waivers", type=click.Path(path_type=Path), help="Waivers file [config `waivers:`]."),
    )(fn)


def engine_options(fn: F) -> F:
    """--engine and the options of the opa and opa-server engines."""
    return _stack(
        click.option("--engine", type=click.Choice(ENGINES), help="Policy engine [config, embedded]."),
        click.option(
            "--opa-path",
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="The opa binary for --engine opa [opa on PATH, then $(go env GOPATH)/bin].",
        ),
        click.option("--opa-url", metavar="URL", help="The OPA server for --engine opa-server."),
        click.option(
            "--opa-token",
            metavar="TOKEN",
            envvar="GATE_OPA_TOKEN",
            help="Bearer token for the OPA server [GATE_OPA_TOKEN].",
        ),
        click.option(
            "--opa-ca",
            type=click.Path(path_type=Path),
            metavar="FILE",
            help="CA bundle for the OPA server's TLS.",
        ),
        click.option(
            "--opa-timeout",
            type=float,
            default=10.0,
            show_default=True,
            help="Seconds to wait for the OPA server.",
        ),
        click.option(
            "--opa-retries",
            type=int,
            default=2,
            show_default=True,
            help="Retries when the OPA server is unreachable.",
        ),
    )(fn)


def fail(exc: GateError) -> None:
    """Exit with the error's code and its one line on stderr."""
    click.echo(f"gate: {terminal_safe(exc.one_line())}", err=True)
    sys.exit(int(exc.exit_code))
