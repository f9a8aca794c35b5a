#!/usr/bin/env bash
# Installs what is missing, then runs every test: forge (unit, fuzz, invariant, gas
# snapshot), the artifact freshness check, and the Rust workspace (unit, property,
# integration and end-to-end tests on real anvil chains and real node processes).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source devnet/prereqs.sh
started=$(date +%s)

step "contracts toolchain (npm ci when needed)"
bash contracts/setup.sh

step "forge build + test"
(cd contracts && ./forge.sh build --quiet && ./forge.sh test)
(cd contracts && ./forge.sh snapshot --check >/dev/null) || fail "gas snapshot differs: run (cd contracts && ./forge.sh snapshot) and commit it"

step "committed bindings match a fresh forge build"
bash contracts/export-artifacts.sh --check

step "cargo build (binaries the end-to-end tests start)"
cargo build --workspace --bins --examples

step "rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --failure-output immediate-final
else
  echo "cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --no-fail-fast
fi

echo "all tests passed in $(( $(date +%s) - started ))s"
