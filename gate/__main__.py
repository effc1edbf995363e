"""`python -m gate` runs the CLI."""

from gate.cli.main import entry

entry()
