#!/usr/bin/env bash
# The one lint command: ruff (style and errors), mypy --strict (types), and the documentation site
# built with `mkdocs build --strict` (a broken link, anchor or include fails it) into build/site/,
# which git ignores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/dev-env.sh"
cd "$root"
.venv/bin/ruff check gate audit tests bench
.venv/bin/ruff format --check gate audit tests bench
.venv/bin/mypy
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict
