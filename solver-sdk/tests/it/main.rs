//! Integration tests for `backstop-solver-sdk`: a real solver against a real anvil
//! chain and an in-process gossip peer (`auction`), and margin bots against a real devnet
//! with node processes (`devnet`, `recapture`), and the flash-swap bot settling through the
//! devnet's Uniswap V2 pools (`flash`).

mod auction;
mod devnet;
mod flash;
mod harness;
mod recapture;
