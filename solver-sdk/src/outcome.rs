//! How an auction ended, from this solver's point of view: one typed outcome for every
//! intent the runtime accepted, whether or not a bid was made.

use alloy::primitives::{Address, B256, U256};

/// Collateral that reached the executor in a settlement: `units` of token `asset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollateralReceived {
    /// The collateral token.
    pub asset: Address,
    /// Token units (the token's smallest unit) transferred to the executor.
    pub units: U256,
}

/// Why a bid was not committed for lack of funds: the executor could not pay
/// `needed = repay + premium` of the debt asset on top of what open bids already reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    /// The market's debt asset, which the executor pays in.
    pub debt_asset: Address,
    /// `repay + premium` of the bid that was not committed.
    pub needed: U256,
    /// The executor's debt-asset balance when the intent was priced.
    pub balance: U256,
    /// The executor's allowance to the settlement contract when the intent was priced.
    pub allowance: U256,
    /// Debt asset promised to our other bids on this chain that can still settle.
    pub reserved: U256,
}

/// A typed outcome for every intent the runtime accepted.
///
/// Outcomes are reported as they happen. An auction normally ends with exactly one, but
/// a runner-up award can follow a `Lost` or `AwardExpired` when the winner fails to
/// settle, in which case a `Won` (or `SettleReverted`) for the same intent comes later.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuctionOutcome {
    /// We settled the award on chain.
    Won {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// The mined `settle` transaction.
        tx_hash: B256,
        /// Debt repaid for the account, in debt-asset units.
        repay_amount: U256,
        /// Premium paid to the market's beneficiary, in debt-asset units.
        premium: U256,
        /// Collateral transferred to the executor by the settlement (from the receipt's
        /// ERC-20 `Transfer` logs).
        collateral_received: Vec<CollateralReceived>,
        /// Gas the settle used.
        gas_used: u64,
        /// What that gas cost the executor, in wei of the chain's native coin.
        gas_cost_wei: U256,
    },
    /// Another solver was awarded the liquidation. `winning_premium` is the premium of
    /// the award (or of the best reveal we saw); `None` when unknown.
    Lost {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// Premium of the award that beat us (or of the best reveal); `None` when unknown.
        winning_premium: Option<U256>,
    },
    /// The strategy's premium was below the market's reserve: no bid was sent.
    BelowReserve {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// The premium the strategy asked for.
        premium: U256,
        /// The market's reserve premium.
        reserve: U256,
    },
    /// The strategy chose not to bid (it returned `None`, or a zero repay).
    Declined {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
    },
    /// The executor could not fund the bid (balance or allowance, after what other open
    /// bids reserve): no bid was committed.
    NotFunded {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// What the executor lacked.
        shortfall: Shortfall,
    },
    /// The chain could not be read to price the intent (or to check the executor's funds)
    /// in time: no bid was made.
    Unpriced {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// What failed.
        reason: String,
    },
    /// The intent reached us after its commit window (or the strategy answered, or the
    /// commit could be published, only after it): no valid bid was made.
    TooLate {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
    },
    /// `settle` would revert or did. `reason` is the decoded revert (a custom error of the
    /// settlement, the market or the token, e.g. `AccountNotLiquidatable` or
    /// `InsufficientBalance(..)`). `sent` is false when the simulation caught it and no
    /// transaction was sent.
    SettleReverted {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// What failed.
        reason: String,
        /// Whether a transaction was sent (false: the simulation caught it).
        sent: bool,
    },
    /// Our award did not reach the committee threshold, or could not be mined, before its
    /// deadline.
    AwardExpired {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
    },
    /// The network does not count our bid: our key is not bonded on the chain's
    /// `SolverRegistry` (or the bond is exiting). Nothing was sent.
    NotAdmitted {
        /// The chain the auction ran on.
        chain_id: u64,
        /// The intent.
        intent_id: B256,
        /// What failed.
        reason: String,
    },
}

impl AuctionOutcome {
    /// The chain the auction ran on.
    pub fn chain_id(&self) -> u64 {
        match self {
            Self::Won { chain_id, .. }
            | Self::Lost { chain_id, .. }
            | Self::BelowReserve { chain_id, .. }
            | Self::Declined { chain_id, .. }
            | Self::NotFunded { chain_id, .. }
            | Self::Unpriced { chain_id, .. }
            | Self::TooLate { chain_id, .. }
            | Self::SettleReverted { chain_id, .. }
            | Self::AwardExpired { chain_id, .. }
            | Self::NotAdmitted { chain_id, .. } => *chain_id,
        }
    }

    /// The intent the auction was for.
    pub fn intent_id(&self) -> B256 {
        match self {
            Self::Won { intent_id, .. }
            | Self::Lost { intent_id, .. }
            | Self::BelowReserve { intent_id, .. }
            | Self::Declined { intent_id, .. }
            | Self::NotFunded { intent_id, .. }
            | Self::Unpriced { intent_id, .. }
            | Self::TooLate { intent_id, .. }
            | Self::SettleReverted { intent_id, .. }
            | Self::AwardExpired { intent_id, .. }
            | Self::NotAdmitted { intent_id, .. } => *intent_id,
        }
    }

    /// Short name for logs and metrics labels.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Won { .. } => "won",
            Self::Lost { .. } => "lost",
            Self::BelowReserve { .. } => "below_reserve",
            Self::Declined { .. } => "declined",
            Self::NotFunded { .. } => "not_funded",
            Self::Unpriced { .. } => "unpriced",
            Self::TooLate { .. } => "too_late",
            Self::SettleReverted { .. } => "settle_reverted",
            Self::AwardExpired { .. } => "award_expired",
            Self::NotAdmitted { .. } => "not_admitted",
        }
    }
}
