#!/usr/bin/env bash
# Install the pinned Go tools the gate's tests and engines use, into $(go env GOPATH)/bin:
# OPA (the `opa` engine, `gate policy test|check`), Regal (the Rego linter, `gate policy check`) and
# actionlint (checks the GitHub workflows and the action, tests/integrations/test_github_action.py),
# and conftest (the baseline bench/compare.py measures the gate against).
# Idempotent: a tool already present at the pinned version is left alone. Prints the bin folder.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.2}"
REGAL_VERSION="${REGAL_VERSION:-v0.39.0}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
CONFTEST_VERSION="${CONFTEST_VERSION:-v0.71.1}"

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: Go is required (https://go.dev/dl/); or install OPA yourself and put it on PATH" >&2
  exit 2
fi
bin="$(go env GOPATH)/bin"
mkdir -p "$bin"

have_version() { # tool, version, [the tool's version argument; default: version]
  local out
  [ -x "$bin/$1" ] || return 1
  out="$("$bin/$1" "${3:-version}" 2>/dev/null || true)"
  case "$out" in *"${2#v}"*) return 0 ;; *) return 1 ;; esac
}

install_tool() { # tool, module, version, extra go build flags...
  local tool="$1" module="$2" version="$3" tmp
  shift 3
  echo "install-tools: installing $tool $version" >&2
  if GOFLAGS=-mod=mod go install "$@" "${module}@${version}"; then
    return 0
  fi
  # Some module proxies refuse the version list `go install` reads for deprecation notices
  # (403 on @v/list). Build the same pinned version through a throwaway module instead.
  echo "install-tools: go install failed; building $tool $version through a temporary module" >&2
  tmp="$(mktemp -d)"
  (
    cd "$tmp"
    go mod init install-tools.local >/dev/null 2>&1
    GOFLAGS=-mod=mod go get "${module}@${version}" 2>get.log || { cat get.log >&2; exit 1; }
    GOFLAGS=-mod=mod go build "$@" -o "$bin/$tool" "$module"
  ) || {
    rm -rf "$tmp"
    return 1
  }
  rm -rf "$tmp"
}

if ! have_version opa "$OPA_VERSION"; then
  install_tool opa github.com/open-policy-agent/opa "$OPA_VERSION"
fi
if ! have_version regal "$REGAL_VERSION"; then
  # Regal reads its version from -ldflags (as its release builds do); without it `regal version`
  # says "unknown" and this script could not tell the pinned version is installed.
  install_tool regal github.com/open-policy-agent/regal "$REGAL_VERSION" -tags regal_standalone \
    -ldflags "-X github.com/open-policy-agent/regal/pkg/version.Version=${REGAL_VERSION}"
fi
if ! have_version actionlint "$ACTIONLINT_VERSION" -version; then
  # The same for actionlint: a build through the temporary module would otherwise report "(devel)".
  install_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION" \
    -ldflags "-X github.com/rhysd/actionlint.version=${ACTIONLINT_VERSION}"
fi
if ! have_version conftest "$CONFTEST_VERSION" --version; then
  # conftest, too, reads its version from -ldflags; without it `conftest --version` says "dev".
  install_tool conftest github.com/open-policy-agent/conftest "$CONFTEST_VERSION" \
    -ldflags "-X github.com/open-policy-agent/conftest/internal/version.Version=${CONFTEST_VERSION#v}"
fi
# proofcheck (tests/go/proofcheck): checks the proofs `gate audit prove` writes with
# transparency-dev/merkle and golang.org/x/mod/sumdb/note, at the versions its go.mod pins (the
# proof tests build it themselves when Go is there, and use this one otherwise). Rebuilt when its
# sources change.
proofcheck_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/go/proofcheck"
if [ -d "$proofcheck_src" ]; then
  stamp="$(cat "$proofcheck_src/go.mod" "$proofcheck_src/go.sum" "$proofcheck_src"/*.go | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$bin/proofcheck" ] || [ "$(cat "$bin/.proofcheck.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "install-tools: building proofcheck (tests/go/proofcheck)" >&2
    (cd "$proofcheck_src" && go build -o "$bin/proofcheck" .)
    echo "$stamp" >"$bin/.proofcheck.stamp"
  fi
fi
echo "$bin"
