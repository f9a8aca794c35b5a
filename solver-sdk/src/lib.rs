//! Build liquidation solvers for the [Backstop](https://github.com/backstop-network/backstop)
//! network.
//!
//! A solver bids in Backstop's sealed-bid auctions for the exclusive right to liquidate
//! an under-collateralised account, and settles the award on chain. You write a
//! [`Strategy`] (how much to bid); [`SolverClient`] does the rest: it joins the gossip
//! network as a light peer, validates and relays messages, asks your strategy once per
//! intent, commits and reveals at the right times, collects the committee's award votes,
//! approves the settlement contract for the debt asset, sends `settle` from your executor
//! wallet and reports a typed [`AuctionOutcome`] for every auction you took part in.
//!
//! # Write your first solver
//!
//! ```no_run
//! use backstop_solver_sdk::{
//!     AuctionOutcome, Bid, ChainEndpoint, IntentView, SolverClient, SolverConfig, Strategy, U256,
//! };
//!
//! /// Repays as much as allowed and offers half a percent of it to the protocol.
//! struct HalfPercent;
//!
//! impl Strategy for HalfPercent {
//!     async fn bid(&self, view: &IntentView) -> Option<Bid> {
//!         let repay_amount = view.intent.maxRepay;
//!         // Check your inventory, the collateral price, gas... here: always bid.
//!         Some(Bid { repay_amount, premium: repay_amount / U256::from(200) })
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
//!     }],
//! };
//! let solver = SolverClient::start(config, HalfPercent).await?;
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
//! receives the seized collateral: fund it before bidding. A ready-made bot lives in
//! `examples/fixed_premium.rs`.

mod bidding;
mod book;
mod chain;
mod config;
mod error;
mod observe;
mod outcome;
mod runtime;
pub mod strategies;
mod strategy;
mod votes;

pub use config::{ChainEndpoint, SolverConfig};
pub use error::SolverError;
pub use outcome::AuctionOutcome;
pub use runtime::{SolverClient, SolverHandle};
pub use strategy::{Bid, IntentView, Strategy};

pub use alloy::primitives::{Address, B256, U256};
pub use backstop_protocol::{self as protocol, Intent};
pub use libp2p::{Multiaddr, PeerId};
