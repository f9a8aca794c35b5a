//! Devnet integration tests against real anvil chains (no node processes): deployment,
//! seeding and the crash pricing.

mod deployment;
mod dex;
mod population;
