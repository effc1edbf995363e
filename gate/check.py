"""`gate check` as a library call: the names callers import, from the one pipeline (gate.pipeline)."""

from __future__ import annotations

from gate.pipeline import CheckOptions, Prepared, prepare, run_check

__all__ = ["CheckOptions", "Prepared", "prepare", "run_check"]
