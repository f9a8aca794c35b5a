//! Ready-made strategies, useful as they are and as starting points.

use alloy::primitives::U256;
use backstop_protocol::Intent;

use crate::strategy::{Bid, IntentView, Strategy};

/// One basis point is 1/10_000.
const BPS_DENOMINATOR: u64 = 10_000;

/// Bids max_repay and a premium of `bps` basis points of the repay (rounded down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPremium {
    pub bps: u32,
}

impl FixedPremium {
    /// The bid for `intent`; `None` when there is nothing to repay.
    pub fn bid_for(&self, intent: &Intent) -> Option<Bid> {
        let repay_amount = intent.maxRepay;
        if repay_amount.is_zero() {
            return None;
        }
        // Rounded down: the premium never exceeds the advertised share.
        let premium = repay_amount.saturating_mul(U256::from(self.bps)) / U256::from(BPS_DENOMINATOR);
        Some(Bid { repay_amount, premium })
    }
}

impl Strategy for FixedPremium {
    async fn bid(&self, intent: &IntentView) -> Option<Bid> {
        self.bid_for(&intent.intent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premium_is_bps_of_max_repay_rounded_down() {
        let intent = Intent { maxRepay: U256::from(10_001u64), ..Default::default() };
        let bid = FixedPremium { bps: 50 }.bid_for(&intent).unwrap();
        assert_eq!(bid.repay_amount, U256::from(10_001u64));
        // 10_001 * 50 / 10_000 = 50.005 -> 50
        assert_eq!(bid.premium, U256::from(50u64));
    }

    #[test]
    fn nothing_to_repay_means_no_bid() {
        assert_eq!(FixedPremium { bps: 50 }.bid_for(&Intent::default()), None);
    }
}
