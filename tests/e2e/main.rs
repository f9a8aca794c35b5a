//! End-to-end tests across crates: real anvil chains, real `backstop` node processes and
//! real solver processes (`backstop-devnet solver`), driven through the devnet library.
//! Build the binaries first: `cargo build --bins && cargo test -p backstop-e2e`.

mod batch_reads;
mod chain_truth;
mod crash;
mod hostile;
mod morpho;
mod morpho_model;
mod node_log;
mod operator;
mod outcome;
mod restart;
mod risk_model;
mod scenario;
