//! Turning a strategy's answer into a bid the network will accept. Pure.

use alloy::primitives::U256;
use backstop_protocol::Intent;

use crate::strategy::Bid;

/// What to do with a strategy's bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BidDecision {
    /// Commit this bid (the repay possibly clamped to the intent's max repay).
    Place(Bid),
    /// The premium is under the market's reserve: nodes would discard it, so it is not sent.
    BelowReserve { premium: U256, reserve: U256 },
    /// A zero repay is not a bid (nodes discard it); nothing is sent.
    ZeroRepay,
}

/// Applies the protocol's bid rules to `bid` for `intent`.
pub(crate) fn decide(intent: &Intent, bid: Bid) -> BidDecision {
    if bid.premium < intent.reservePremium {
        return BidDecision::BelowReserve { premium: bid.premium, reserve: intent.reservePremium };
    }
    let repay_amount = bid.repay_amount.min(intent.maxRepay);
    if repay_amount.is_zero() {
        return BidDecision::ZeroRepay;
    }
    BidDecision::Place(Bid { repay_amount, premium: bid.premium })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(max_repay: u64, reserve: u64) -> Intent {
        Intent { maxRepay: U256::from(max_repay), reservePremium: U256::from(reserve), ..Default::default() }
    }

    fn bid(repay: u64, premium: u64) -> Bid {
        Bid { repay_amount: U256::from(repay), premium: U256::from(premium) }
    }

    #[test]
    fn repay_above_max_is_clamped_to_max_repay() {
        assert_eq!(decide(&intent(1_000, 5), bid(5_000, 7)), BidDecision::Place(bid(1_000, 7)));
    }

    #[test]
    fn repay_within_max_is_kept() {
        assert_eq!(decide(&intent(1_000, 5), bid(400, 5)), BidDecision::Place(bid(400, 5)));
    }

    #[test]
    fn premium_below_reserve_is_refused_even_by_one_wei() {
        assert_eq!(
            decide(&intent(1_000, 5), bid(1_000, 4)),
            BidDecision::BelowReserve { premium: U256::from(4), reserve: U256::from(5) }
        );
    }

    #[test]
    fn zero_repay_is_not_a_bid() {
        assert_eq!(decide(&intent(1_000, 0), bid(0, 3)), BidDecision::ZeroRepay);
        assert_eq!(decide(&intent(0, 0), bid(10, 3)), BidDecision::ZeroRepay);
    }
}
