#!/usr/bin/env bash
# Install the pinned Node tools the report tests use, from npm, into a cache folder kept outside the
# work tree: Microsoft's SARIF Multitool (@microsoft/sarif-multitool and its platform package), which
# validates the SARIF golden files (tests/gate/report/test_golden.py) and ships the SARIF 2.1.0 schema.
# Idempotent: a folder that already holds the pinned version is left alone. Prints the folder.
# The folder: $GATE_NODE_TOOLS, else ${XDG_CACHE_HOME:-~/.cache}/govgate/node-tools.
set -euo pipefail

SARIF_MULTITOOL_VERSION="${SARIF_MULTITOOL_VERSION:-5.7.0}"
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
echo "$dir"
