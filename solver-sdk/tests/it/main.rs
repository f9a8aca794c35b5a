//! Integration tests for `backstop-solver-sdk`: a real solver against a real anvil
//! chain and an in-process gossip peer (`auction`), and margin bots against a real devnet
//! with node processes (`devnet`, `recapture`).

mod auction;
mod devnet;
mod harness;
mod recapture;
