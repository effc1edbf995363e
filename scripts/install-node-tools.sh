#!/usr/bin/env bash
# Install the pinned Node tools and packages the tests use, from npm, into a cache folder kept outside
# the work tree: Microsoft's SARIF Multitool (@microsoft/sarif-multitool and its platform package), which
# validates the SARIF golden files (tests/gate/report/test_golden.py) and ships the SARIF 2.1.0 schema;
# and Backstage's published packages, unpacked only (no dependencies, no scripts) under
# packages/<name>@<version>/ for the tests that read their source: @backstage/plugin-scaffolder-backend
# (the actions it registers, tests/gate/test_scaffolder_actions.py), @backstage/catalog-model and
# @backstage/plugin-scaffolder-common (the JSON schemas, tests/gate/collect/test_backstage_published.py).
# Idempotent: a folder that already holds the pinned version is left alone. Prints the folder.
# The folder: $GATE_NODE_TOOLS, else ${XDG_CACHE_HOME:-~/.cache}/govgate/node-tools.
set -euo pipefail

SARIF_MULTITOOL_VERSION="${SARIF_MULTITOOL_VERSION:-5.7.0}"
# Backstage's packages, each pinned (the tests name the same versions).
BACKSTAGE_PACKAGES=(
  "@backstage/plugin-scaffolder-backend@4.3.0"
  "@backstage/catalog-model@1.10.3"
  "@backstage/plugin-scaffolder-common@2.4.0"
)
dir="${GATE_NODE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/govgate/node-tools}"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install-node-tools: Node.js and npm are required (https://nodejs.org/)" >&2
  exit 2
fi
platform="$(node -p process.platform)"
case "$platform" in
  linux | darwin | win32) ;;
  *)
    echo "install-node-tools: the SARIF Multitool has no build for $platform" >&2
    exit 2
    ;;
esac
pkg="@microsoft/sarif-multitool-$platform"
manifest="$dir/node_modules/$pkg/package.json"

installed_version() {
  [ -f "$manifest" ] || return 0
  node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null || true
}

mkdir -p "$dir"
if [ "$(installed_version)" != "$SARIF_MULTITOOL_VERSION" ]; then
  echo "install-node-tools: installing @microsoft/sarif-multitool $SARIF_MULTITOOL_VERSION into $dir" >&2
  [ -f "$dir/package.json" ] || echo '{"private": true, "description": "govgate test tools"}' >"$dir/package.json"
  # Both packages pinned: the wrapper's optional dependency on the platform package is a ^ range.
  # --ignore-scripts: the only install script marks the binary executable, done below instead.
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
    "@microsoft/sarif-multitool@$SARIF_MULTITOOL_VERSION" "$pkg@$SARIF_MULTITOOL_VERSION" >&2
  if [ "$(installed_version)" != "$SARIF_MULTITOOL_VERSION" ]; then
    echo "install-node-tools: $pkg $SARIF_MULTITOOL_VERSION did not install into $dir" >&2
    exit 1
  fi
fi
for exe in "$dir/node_modules/$pkg/Sarif.Multitool" "$dir/node_modules/$pkg/Sarif.Multitool.exe"; do
  [ -f "$exe" ] && chmod u+x "$exe"
done

# `npm pack` fetches the published tarball (checked against the registry's integrity hash); it is
# unpacked into a temporary folder first and moved into place whole, so a broken run leaves nothing.
for spec in "${BACKSTAGE_PACKAGES[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  dest="$dir/packages/$name@$version"
  if [ -f "$dest/package.json" ] &&
    [ "$(node -p "require(process.argv[1]).version" "$dest/package.json" 2>/dev/null || true)" = "$version" ]; then
    continue
  fi
  echo "install-node-tools: unpacking $spec into $dest" >&2
  tmp="$(mktemp -d "$dir/.pack.XXXXXX")"
  tarball="$(cd "$tmp" && npm pack --silent --loglevel=error "$spec" | tail -n 1)"
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/$tarball" -C "$tmp/unpacked"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/unpacked/package" "$dest"
  rm -rf "$tmp"
done
echo "$dir"
