#!/usr/bin/env bash
# Install the pinned Go tools the gate's tests and engines use, into $(go env GOPATH)/bin.
# Idempotent: a tool already present at the pinned version is left alone.
set -euo pipefail

OPA_VERSION="${OPA_VERSION:-v1.22.2}"

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: Go is required (https://go.dev/dl/); or install OPA yourself and put it on PATH" >&2
  exit 2
fi
bin="$(go env GOPATH)/bin"
mkdir -p "$bin"

have_version() { # tool, version
  local out
  [ -x "$bin/$1" ] || return 1
  out="$("$bin/$1" version 2>/dev/null || true)"
  case "$out" in *"${2#v}"*) return 0 ;; *) return 1 ;; esac
}

if ! have_version opa "$OPA_VERSION"; then
  echo "install-tools: installing opa $OPA_VERSION" >&2
  GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@${OPA_VERSION}"
fi
echo "$bin"
