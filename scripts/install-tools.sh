#!/usr/bin/env bash
# Install the pinned Go tools the gate's tests and engines use, into $(go env GOPATH)/bin:
# OPA (the `opa` engine, `gate policy test|check`), Regal (the Rego linter, `gate policy check`) and
# actionlint (checks the GitHub workflows and the action, tests/integrations/test_github_action.py),
# conftest (the baseline bench/compare.py measures the gate against), torchwood's litewitness
# and witnessctl (the C2SP tlog-witness the `gate audit witness` tests submit checkpoints to),
# and cosign v2 and v3 and slsa-verifier (the standard verifiers tests/audit/test_standard_verifiers.py
# runs on audit records), installed as cosign-v2, cosign-v3 and slsa-verifier and built in parallel.
# Idempotent: a tool already present at the pinned version is left alone. Prints the bin folder.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.2}"
REGAL_VERSION="${REGAL_VERSION:-v0.39.0}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
CONFTEST_VERSION="${CONFTEST_VERSION:-v0.71.1}"
# v0.6.1: later torchwood releases need a newer Go than the one CI pins.
TORCHWOOD_VERSION="${TORCHWOOD_VERSION:-v0.6.1}"
COSIGN_V2_VERSION="${COSIGN_V2_VERSION:-v2.6.5}"
COSIGN_V3_VERSION="${COSIGN_V3_VERSION:-v3.1.3}"
SLSA_VERIFIER_VERSION="${SLSA_VERIFIER_VERSION:-v2.7.1}"

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
# litewitness and witnessctl print no version: read the module version Go recorded in the binary
# (the main module's, or a dependency's after a build through the temporary module).
have_module() { # tool, module, version
  [ -x "$bin/$1" ] || return 1
  go version -m "$bin/$1" 2>/dev/null | grep -Eq "^[[:space:]]*(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}
for tool in litewitness witnessctl; do
  if ! have_module "$tool" filippo.io/torchwood "$TORCHWOOD_VERSION"; then
    install_tool "$tool" "filippo.io/torchwood/cmd/$tool" "$TORCHWOOD_VERSION"
  fi
done

install_tool_as() { # name, tool, module, version, extra go build flags...
  # Builds into a private folder and renames, so two majors of one tool (cosign v2 and v3) can sit
  # side by side in $bin and an interrupted build never leaves a half-written binary under the name.
  local name="$1" tool="$2" module="$3" version="$4" tmp start="$SECONDS"
  shift 4
  tmp="$(mktemp -d "$bin/.install-$name.XXXXXX")"
  if install_tool_into "$tmp" "$tool" "$module" "$version" "$@"; then
    mv -f "$tmp/$tool" "$bin/$name"
    echo "install-tools: $name $version built in $((SECONDS - start))s" >&2
    rm -rf "$tmp"
    return 0
  fi
  rm -rf "$tmp"
  return 1
}

install_tool_into() { # folder, tool, module, version, extra go build flags...
  local dir="$1" tool="$2" module="$3" version="$4" mod
  shift 4
  echo "install-tools: installing $tool $version" >&2
  if GOBIN="$dir" GOFLAGS=-mod=mod go install "$@" "${module}@${version}" 2>"$dir/install.log"; then
    return 0
  fi
  # The same fallback as install_tool: a throwaway module when the proxy refuses the version list.
  echo "install-tools: go install failed; building $tool $version through a temporary module" >&2
  mod="$dir/mod"
  mkdir -p "$mod"
  (
    cd "$mod"
    go mod init install-tools.local >/dev/null 2>&1
    GOFLAGS=-mod=mod go get "${module}@${version}" 2>get.log || { cat ../install.log get.log >&2; exit 1; }
    GOFLAGS=-mod=mod go build "$@" -o "$dir/$tool" "$module"
  )
}

# The release builds set the version through -ldflags; a build through the temporary module would
# otherwise print "(devel)" and this script could not tell the pinned version is installed.
release_version_flag() { echo "-X sigs.k8s.io/release-utils/version.gitVersion=$1"; }
pids=()
if ! have_version cosign-v2 "$COSIGN_V2_VERSION"; then
  install_tool_as cosign-v2 cosign github.com/sigstore/cosign/v2/cmd/cosign "$COSIGN_V2_VERSION" \
    -ldflags "$(release_version_flag "$COSIGN_V2_VERSION")" &
  pids+=("$!")
fi
if ! have_version cosign-v3 "$COSIGN_V3_VERSION"; then
  install_tool_as cosign-v3 cosign github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_V3_VERSION" \
    -ldflags "$(release_version_flag "$COSIGN_V3_VERSION")" &
  pids+=("$!")
fi
if ! have_version slsa-verifier "$SLSA_VERIFIER_VERSION"; then
  install_tool_as slsa-verifier slsa-verifier github.com/slsa-framework/slsa-verifier/v2/cli/slsa-verifier \
    "$SLSA_VERIFIER_VERSION" -ldflags "$(release_version_flag "$SLSA_VERIFIER_VERSION")" &
  pids+=("$!")
fi
failed=0
for pid in ${pids[@]+"${pids[@]}"}; do
  wait "$pid" || failed=1
done
if [ "$failed" -ne 0 ]; then
  echo "install-tools: building cosign or slsa-verifier failed (see above)" >&2
  exit 1
fi
# The tlog-tiles client test program (tests/go/tilesclient: golang.org/x/mod/sumdb/tlog and note, as
# pinned by its go.mod), which reads a log folder without govgate. Rebuilt when its source changes:
# the build records the digest of its sources, and `govgate-tilesclient -source` prints it.
tiles_src="$(cd "$(dirname "$0")/../tests/go/tilesclient" && pwd)"
tiles_digest="$(cat "$tiles_src/main.go" "$tiles_src/go.mod" "$tiles_src/go.sum" | sha256sum | cut -c1-16)"
if [ "$("$bin/govgate-tilesclient" -source 2>/dev/null || true)" != "$tiles_digest" ]; then
  echo "install-tools: building govgate-tilesclient ($tiles_digest)" >&2
  (cd "$tiles_src" && GOFLAGS=-mod=mod go build -ldflags "-X main.source=$tiles_digest" -o "$bin/govgate-tilesclient" .)
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
