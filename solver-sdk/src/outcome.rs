//! How an auction we took part in ended, from this solver's point of view.

use alloy::primitives::{B256, U256};

/// A typed outcome for every intent we bid on (or wanted to bid on but could not).
///
/// Outcomes are reported as they happen. An auction normally ends with exactly one, but
/// a runner-up award can follow a `Lost` or `Expired` when the winner fails to settle, in
/// which case a `Won` (or `SettleReverted`) for the same intent comes later.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuctionOutcome {
    /// We settled the award on chain.
    Won { chain_id: u64, intent_id: B256, tx_hash: B256, repay_amount: U256, premium: U256 },
    /// Another solver was awarded the liquidation. `winning_premium` is the premium of
    /// the award (or of the best reveal we saw); `None` when unknown.
    Lost { chain_id: u64, intent_id: B256, winning_premium: Option<U256> },
    /// The strategy's premium was below the market's reserve: no bid was sent.
    BelowReserve { chain_id: u64, intent_id: B256 },
    /// The intent reached us after its commit window (or the strategy answered, or the
    /// commit could be published, only after it): no valid bid was made.
    Late { chain_id: u64, intent_id: B256 },
    /// `settle` reverted; `reason` is the decoded revert (e.g. `AccountNotLiquidatable`).
    SettleReverted { chain_id: u64, intent_id: B256, reason: String },
    /// No award for us reached the committee threshold (or could be settled) before its deadline.
    Expired { chain_id: u64, intent_id: B256 },
    /// The network does not count our bid: our key is not bonded on the chain's
    /// `SolverRegistry` (or the bond is exiting). Nothing was sent.
    NotAdmitted { chain_id: u64, intent_id: B256, reason: String },
}

impl AuctionOutcome {
    pub fn chain_id(&self) -> u64 {
        match self {
            Self::Won { chain_id, .. }
            | Self::Lost { chain_id, .. }
            | Self::BelowReserve { chain_id, .. }
            | Self::Late { chain_id, .. }
            | Self::SettleReverted { chain_id, .. }
            | Self::Expired { chain_id, .. }
            | Self::NotAdmitted { chain_id, .. } => *chain_id,
        }
    }

    pub fn intent_id(&self) -> B256 {
        match self {
            Self::Won { intent_id, .. }
            | Self::Lost { intent_id, .. }
            | Self::BelowReserve { intent_id, .. }
            | Self::Late { intent_id, .. }
            | Self::SettleReverted { intent_id, .. }
            | Self::Expired { intent_id, .. }
            | Self::NotAdmitted { intent_id, .. } => *intent_id,
        }
    }

    /// Short name for logs and metrics labels.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Won { .. } => "won",
            Self::Lost { .. } => "lost",
            Self::BelowReserve { .. } => "below_reserve",
            Self::Late { .. } => "late",
            Self::SettleReverted { .. } => "settle_reverted",
            Self::Expired { .. } => "expired",
            Self::NotAdmitted { .. } => "not_admitted",
        }
    }
}
