#!/usr/bin/env bash
# Run the whole test suite: sets up .venv, installs the pinned Go tools (OPA, Regal, actionlint)
# and Node tools (SARIF Multitool), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k corpus).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/dev-env.sh"
gobin="$(bash "$root/scripts/install-tools.sh")"
# On a laptop without Node the tests that need these tools skip; in CI they are required.
bash "$root/scripts/install-node-tools.sh" >/dev/null || [ "${CI:-}" != "true" ]
export PATH="$gobin:$root/.venv/bin:$PATH"
cd "$root"
exec .venv/bin/python -m pytest -n "${GATE_TEST_WORKERS:-2}" "$@"
