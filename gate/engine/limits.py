"""Bounds on one policy evaluation, on every engine: wall time and memory.

A policy the change under review can steer (a user policy folder, a huge input) must not hold the
gate or the machine: over a bound, the engine raises an EngineError (exit 3, an error decision).
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.errors import EngineError

DEFAULT_EVAL_TIMEOUT_SECONDS = 300.0
DEFAULT_EVAL_MEMORY_MB = 4096
MIB = 1024 * 1024


@dataclass(frozen=True)
class EvalLimits:
    """How long one evaluation may run (seconds) and how much memory it may take (MiB)."""

    timeout_seconds: float = DEFAULT_EVAL_TIMEOUT_SECONDS
    memory_mb: int = DEFAULT_EVAL_MEMORY_MB

    @property
    def memory_bytes(self) -> int:
        """The memory bound in bytes."""
        return self.memory_mb * MIB

    def time_exceeded(self, detail: str) -> EngineError:
        """The error for an evaluation stopped at the time bound."""
        return EngineError(
            f"policy evaluation exceeded {self.timeout_seconds:g} s: {detail}",
            "check the policies for unbounded iteration, or raise limits.eval_timeout_seconds",
        )

    def memory_exceeded(self, detail: str) -> EngineError:
        """The error for an evaluation stopped at the memory bound."""
        return EngineError(
            f"policy evaluation exceeded {self.memory_mb} MB: {detail}",
            "check the policies for unbounded comprehensions, or raise limits.eval_memory_mb",
        )
