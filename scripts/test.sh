#!/usr/bin/env bash
# Run the whole test suite: sets up .venv, installs the pinned OPA, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k corpus).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/dev-env.sh"
gobin="$(bash "$root/scripts/install-tools.sh")"
export PATH="$gobin:$PATH"
cd "$root"
exec .venv/bin/python -m pytest -n "${GATE_TEST_WORKERS:-2}" "$@"
