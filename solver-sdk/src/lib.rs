//! Build liquidation solvers for the [Backstop](https://github.com/backstop-network/backstop)
//! network.
//!
//! A solver bids in Backstop's sealed-bid auctions for the exclusive right to liquidate
//! an under-collateralised account, and settles the award on chain. You write a
//! [`Strategy`] (how much to bid); [`SolverClient`] does the rest: it joins the gossip
//! network as a light peer, bonds your key on each chain's `SolverRegistry`, validates and
//! relays messages, prices every intent from the chain ([`Pricing`]: what the repay would
//! seize, collateral prices and bonuses, the reserve, gas, your executor's inventory), asks
//! your strategy once per intent, never commits a bid the executor cannot fund, commits and
//! reveals at the right times, collects the committee's award votes to the chain's
//! threshold, approves the settlement for the debt asset, simulates `settle` (never sending
//! one that would revert), estimates its gas, resends it until mined or past the award's
//! deadline, and reports a typed [`AuctionOutcome`] for every intent it accepted.
//!
//! The guide from nothing to a bot bidding on the devnet is `solver-sdk/README.md`.
//!
//! # Write your first solver
//!
//! ```no_run
//! use backstop_solver_sdk::{
//!     AuctionOutcome, Bid, ChainEndpoint, IntentView, SolverClient, SolverConfig, Strategy, U256,
//! };
//!
//! /// Offers the protocol 80% of the liquidation bonus, if that covers gas.
//! struct EightyPercent;
//!
//! impl Strategy for EightyPercent {
//!     async fn bid(&self, view: &IntentView) -> Option<Bid> {
//!         let pricing = &view.pricing;
//!         let bonus = pricing.bonus_value(); // previewSeize(repay) - repay, in debt units
//!         let premium = bonus * U256::from(8) / U256::from(10);
//!         let gas = pricing.gas_cost_in_debt()?; // no native price configured: no bid
//!         (bonus > premium + gas).then_some(Bid { repay_amount: pricing.repay_amount, premium })
//!     }
//!
//!     fn on_outcome(&self, outcome: &AuctionOutcome) {
//!         println!("{outcome:?}");
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SolverConfig {
//!     peer_secret_key: [7u8; 32],
//!     listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
//!     bootstrap: vec!["/ip4/127.0.0.1/tcp/9000".parse()?],
//!     chains: vec![ChainEndpoint {
//!         chain_id: 31337,
//!         rpc_url: "http://127.0.0.1:8545".into(),
//!         settlement: "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse()?,
//!         executor: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse()?,
//!         // The chain's SolverRegistry: the client bonds our key on it at start.
//!         solver_registry: Some("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".parse()?),
//!         // WETH: prices gas (paid in ETH) in debt units.
//!         native_price_asset: Some("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0".parse()?),
//!         // Settle from our own inventory (Some(liquidator): finance each settle with a flash swap).
//!         flash_liquidator: None,
//!     }],
//! };
//! let solver = SolverClient::start(config, EightyPercent).await?;
//! let mut outcomes = solver.outcomes();
//! while let Ok(outcome) = outcomes.recv().await {
//!     if let AuctionOutcome::Won { tx_hash, premium, .. } = outcome {
//!         println!("settled in {tx_hash}, paid {premium}");
//!     }
//! }
//! solver.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The executor pays `repay_amount + premium` of the market's debt asset at settlement and
//! receives the seized collateral: fund it before bidding (a bid it cannot fund is reported
//! as [`AuctionOutcome::NotFunded`] and never sent). Ready-made strategies live in
//! [`strategies`]; real bots in `examples/` (`margin_bot.rs`, `fixed_premium.rs`).

#![warn(missing_docs)]

mod bidding;
mod book;
mod chain;
mod checks;
mod config;
pub mod dex;
mod error;
mod observe;
mod outcome;
mod pricing;
mod runtime;
pub mod strategies;
mod strategy;
mod votes;

/// The guide's Rust examples compile as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use chain::deploy_flash_liquidator;
pub use config::{ChainEndpoint, SolverConfig};
pub use error::SolverError;
pub use outcome::{AuctionOutcome, CollateralReceived, Shortfall};
pub use pricing::{wei_to_debt_units, CollateralQuote, Inventory, PoolQuote, Pricing};
pub use runtime::{SolverClient, SolverHandle};
pub use strategy::{Bid, IntentView, Strategy};

pub use alloy::primitives::{Address, B256, U256};
pub use backstop_net::{KindStats, NetStats};
pub use backstop_protocol::{self as protocol, Intent};
pub use libp2p::{Multiaddr, PeerId};
