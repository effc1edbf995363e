"""The gate's error hierarchy: every error carries a remediation line and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, as documented for `gate check`."""

    OK = 0
    BLOCKED = 1
    USAGE = 2
    ENGINE = 3


class GateError(Exception):
    """Base error: a one-line message, what to do about it, and the exit code it maps to."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, remediation: str = "", *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remediation = remediation
        self.path = path
        # The audit facts (record digest, log index, signer) of the record that logged this
        # refusal, once one is written; the reports of the refusal name it.
        self.audit: dict[str, object] = {}

    def one_line(self) -> str:
        """Render as a single line: `path: message (remediation)`."""
        head = f"{self.path}: {self.message}" if self.path else self.message
        return f"{head}. {self.remediation}" if self.remediation else head


class InputError(GateError):
    """A file given to the gate cannot be read or understood."""


class ConfigError(GateError):
    """The configuration, waivers or command-line usage are wrong."""


class EngineError(GateError):
    """A policy engine failed to compile or evaluate the policies."""

    exit_code = ExitCode.ENGINE
