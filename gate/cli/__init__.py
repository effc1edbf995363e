"""The `gate` command line (click): thin over the library, and the only place that exits.

`main` (gate.cli.main) is the group and `gate check`; `policy`, `audit` and `serve` hold their
command groups; `options` the options several commands share. The console script is
gate.cli.main:entry.
"""
