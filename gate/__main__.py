"""`python -m gate` runs the CLI."""

from gate.cli import entry

entry()
