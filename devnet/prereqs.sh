# Shared by devnet/demo.sh and tests/run.sh: checks and installs prerequisites.
# Sourced, not executed.

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "error: $*" >&2; exit 1; }

if ! command -v cargo >/dev/null 2>&1; then
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    fail "cargo not found: install Rust with rustup (https://rustup.rs) and re-run"
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    step "installing Node.js and npm (needed once, for the Foundry binaries from npm)"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    fail "node and npm not found: install Node.js >= 18 (it fetches anvil/forge from the npm registry)"
  fi
fi
