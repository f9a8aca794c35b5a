#!/usr/bin/env bash
# Installs what is missing, builds, and runs the devnet's main job: the `crash` scenario on
# three anvil chains (contracts, a Backstop market and its baseline twin, a seeded population
# of accounts, four nodes with threshold 3, three solvers, three keepers), then the report
# (table, report.json, PNG charts) under devnet-data/scenarios/crash.
# Extra arguments go to `backstop-devnet scenario` (see `backstop-devnet scenario --help`),
# e.g. `./devnet/demo.sh wick`, `./devnet/demo.sh --all`, `./devnet/demo.sh crash --accounts 1000`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source devnet/prereqs.sh

step "contracts toolchain (npm ci when needed)"
bash contracts/setup.sh

step "cargo build (first build takes a few minutes)"
cargo build --workspace --bins

step "devnet"
if [[ $# -eq 0 || "${1:-}" == -* ]]; then
  set -- crash "$@"
fi
exec "$root/target/debug/backstop-devnet" scenario "$@"
