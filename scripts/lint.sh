#!/usr/bin/env bash
# The one lint command: ruff (style and errors) and mypy --strict (types).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/dev-env.sh"
cd "$root"
.venv/bin/ruff check gate audit tests bench
.venv/bin/ruff format --check gate audit tests bench
.venv/bin/mypy
