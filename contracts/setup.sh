#!/usr/bin/env bash
# Installs the pinned contracts toolchain (forge, anvil, cast, solcjs 0.8.28 and, for Morpho Blue, 0.8.19)
# Morpho Blue's source (@morpho-org/morpho-blue) and Uniswap V2's compiled artifacts (@uniswap/v2-core) from npm into contracts/node_modules.
# Idempotent and quiet when already in sync with package-lock.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "contracts/setup.sh: '$tool' not found; install Node.js >= 18 with npm (e.g. apt-get install nodejs npm)" >&2
    exit 1
  fi
done

# The install is current when node_modules was made from this exact lockfile (hash recorded
# after a successful npm ci) and every pinned binary is present.
stamp="node_modules/.backstop-lock.sha256"
binaries=(
  node_modules/@foundry-rs/forge-linux-amd64/bin/forge
  node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
  node_modules/@foundry-rs/cast-linux-amd64/bin/cast
  node_modules/solc/solc.js
  node_modules/solc-0.8.19/soljson.js
  node_modules/@morpho-org/morpho-blue/src/Morpho.sol
  node_modules/@uniswap/v2-core/build/UniswapV2Pair.json
)
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
current=1
[[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]] || current=0
for binary in "${binaries[@]}"; do
  [[ -e "$binary" ]] || current=0
done

if [[ "$current" == 0 ]]; then
  echo "contracts/setup.sh: installing pinned toolchain (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" >"$stamp"
fi
chmod +x node_modules/@foundry-rs/*/bin/* 2>/dev/null || true
