#!/usr/bin/env bash
# The policy steps of CI over the shipped library: strict compile and Regal, the Rego unit tests on
# the embedded engine and on OPA, and OPA's coverage report at or above 90%.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/dev-env.sh"
gobin="$(bash "$root/scripts/install-tools.sh")"
export PATH="$gobin:$PATH"
cd "$root"
.venv/bin/gate policy check
.venv/bin/gate policy test
.venv/bin/gate policy test --engine opa --fail-under "${GATE_MIN_COVERAGE:-90}"
