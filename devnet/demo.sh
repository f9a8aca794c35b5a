#!/usr/bin/env bash
# Installs what is missing, builds, and runs the devnet demo: two anvil chains, the
# contracts, three nodes (threshold 2), three margin-bot solvers, a price crash and a report.
# Extra arguments go to `backstop-devnet up` (see `backstop-devnet up --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source devnet/prereqs.sh

step "contracts toolchain (npm ci when needed)"
bash contracts/setup.sh

step "cargo build (first build takes a few minutes)"
cargo build --workspace --bins

step "devnet"
exec "$root/target/debug/backstop-devnet" up "$@"
