#!/usr/bin/env bash
# Builds the contracts and writes the trimmed artifacts the Rust crates bind to (protocol/abi/*.json:
# abi, bytecode, deployedBytecode). `--check` rebuilds into a temp dir and fails if the committed
# files differ, so CI catches a contract change whose bindings were not regenerated.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
abi_dir="$(cd "$here/.." && pwd)/protocol/abi"
contracts=(LiquidationSettlement MarginEngine OracleRouter InsuranceFund MockPriceFeed TestToken IMarginMarket SolverRegistry
  PositionFactory MorphoPreLiquidation MorphoOracleMock FixedRateIrm FlashLiquidator BatchReader)
# Built outside forge with Morpho's own compiler (tools/build-morpho.js, run by forge.sh), already trimmed.
morpho_artifacts=(Morpho)
# Uniswap V2 as published on npm (@uniswap/v2-core 1.0.1): trimmed, never recompiled.
uniswap_artifacts=(UniswapV2Factory UniswapV2Pair)

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: contracts/export-artifacts.sh [--check]" >&2; exit 2 ;;
esac

"$here/forge.sh" build --quiet >&2

export_to() {
  node "$here/tools/export-artifacts.js" "$here/out" "$1" "${contracts[@]}"
  for name in "${morpho_artifacts[@]}"; do
    cp "$here/out-morpho/$name.json" "$1/$name.json"
  done
  node "$here/tools/export-uniswap.js" "$1" "${uniswap_artifacts[@]}"
}

if [[ "$check" == 0 ]]; then
  export_to "$abi_dir"
  echo "wrote $(( ${#contracts[@]} + ${#morpho_artifacts[@]} + ${#uniswap_artifacts[@]} )) artifacts to protocol/abi"
  exit 0
fi

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
export_to "$fresh"
stale=0
for name in "${contracts[@]}" "${morpho_artifacts[@]}" "${uniswap_artifacts[@]}"; do
  if ! cmp -s "$fresh/$name.json" "$abi_dir/$name.json"; then
    echo "protocol/abi/$name.json differs from the contracts' build output" >&2
    stale=1
  fi
done
if [[ "$stale" == 1 ]]; then
  echo "protocol/abi is stale: run contracts/export-artifacts.sh" >&2
  exit 1
fi
echo "protocol/abi is up to date"
