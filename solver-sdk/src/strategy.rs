//! The one thing a solver author writes: how much to bid for an intent.

use std::future::Future;

use alloy::primitives::{Address, B256, U256};
use backstop_protocol::{Intent, PeerKey};

use crate::outcome::AuctionOutcome;
use crate::pricing::Pricing;

/// A sealed bid: repay this much of the account's debt and pay this premium to the
/// protocol, both in the market's debt asset (`intent.debtAsset`), in its smallest unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bid {
    /// Debt to repay for the account; at most `intent.maxRepay` (larger is clamped).
    pub repay_amount: U256,
    /// Paid to the market's beneficiary on top of the repay; at least the reserve.
    pub premium: U256,
}

/// An open auction as the strategy sees it: the verified intent and what the runtime read
/// from the chain to price it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentView {
    /// The chain the account lives on.
    pub chain_id: u64,
    /// `keccak256(chainId, settlement, marketId, account, nonce)`.
    pub intent_id: B256,
    /// The canonical copy of the intent when the strategy was asked.
    pub intent: Intent,
    /// Our executor on this chain: it pays the repay and premium and receives the collateral.
    pub executor: Address,
    /// The node (ed25519 key) whose copy of the intent this is.
    pub origin: PeerKey,
    /// When this solver first saw the intent (unix ms, local clock).
    pub received_at_ms: u64,
    /// Seized value, collateral prices and bonuses, reserve, gas and our inventory, read
    /// at [`Pricing::block`] just before the strategy was asked.
    pub pricing: Pricing,
}

impl IntentView {
    /// The bid must be committed before this instant (unix ms, origin's clock).
    pub fn commit_end_ms(&self) -> u64 {
        self.intent.commit_end_ms()
    }

    /// Milliseconds left to answer at `now_ms`; zero once the commit window closed.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.commit_end_ms().saturating_sub(now_ms)
    }
}

/// A bidding strategy. The runtime calls [`Strategy::bid`] once per intent during its
/// commit window and does everything else: the funding check, commit, reveal, vote
/// collection, approval, settle simulation and settlement.
pub trait Strategy: Send + Sync + 'static {
    /// Called once per intent during its commit window; `None` = do not bid.
    ///
    /// Answer quickly: an answer after the commit window closes is dropped and reported as
    /// [`AuctionOutcome::TooLate`]. A repay above `intent.maxRepay` is clamped to it; a
    /// premium below `intent.reservePremium` is not sent ([`AuctionOutcome::BelowReserve`]);
    /// a bid the executor cannot fund is not sent ([`AuctionOutcome::NotFunded`]).
    fn bid(&self, intent: &IntentView) -> impl Future<Output = Option<Bid>> + Send;

    /// Every outcome, as it happens. Runs on the runtime's task: do not block.
    fn on_outcome(&self, _outcome: &AuctionOutcome) {}

    /// Whether to settle an award this solver won, asked once its votes reach the
    /// threshold. The default (and what a solver should do) is `true`. `false` walks away:
    /// nothing is sent, the committee awards the runner-up once the award window has
    /// passed, and every peer counts a no-show against this solver (two in 30 minutes
    /// rank its bids last). Meant for testing the network's runner-up path.
    fn settles(&self, _award: &backstop_protocol::Award) -> bool {
        true
    }
}
