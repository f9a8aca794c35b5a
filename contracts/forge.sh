#!/usr/bin/env bash
# Runs the npm-pinned forge offline with the solcjs wrapper, e.g. `./forge.sh build`,
# `./forge.sh test -vv`, `./forge.sh snapshot`. Installs the toolchain on first use and builds Morpho Blue
# (tools/build-morpho.js) when its artifact is missing or stale.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
cd "$here"
# Morpho Blue needs solc 0.8.19 exactly; forge runs one compiler, so Morpho.sol is built beside it
# (out-morpho/Morpho.json, skipped when up to date) for the tests' vm.deployCode and for protocol/abi.
node "$here/tools/build-morpho.js"
export FOUNDRY_OFFLINE=true
export FOUNDRY_SOLC="$here/tools/solc"
exec "$here/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" "$@"
