#!/usr/bin/env bash
# Runs the npm-pinned forge offline with the solcjs wrapper, e.g. `./forge.sh build`,
# `./forge.sh test -vv`, `./forge.sh snapshot`. Installs the toolchain on first use.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/setup.sh"
cd "$here"
export FOUNDRY_OFFLINE=true
export FOUNDRY_SOLC="$here/tools/solc"
exec "$here/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" "$@"
