//! Turning a strategy's answer into a bid the network will accept and the executor can
//! pay for. Pure.

use alloy::primitives::U256;
use backstop_protocol::Intent;

use crate::outcome::Shortfall;
use crate::pricing::Inventory;
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

/// What settling `bid` takes from the executor: repay plus premium (saturating).
pub(crate) fn cost(bid: &Bid) -> U256 {
    bid.repay_amount.saturating_add(bid.premium)
}

/// What the executor lacks to pay `bid` at settlement on top of the `reserved` amount its
/// other open bids may still draw (`None`: it is funded). Both the balance and the
/// settlement's allowance must cover it. A bid that is not funded is never committed:
/// winning it would only make us a no-show.
pub(crate) fn funding_shortfall(
    bid: &Bid,
    inventory: &Inventory,
    reserved: U256,
    intent: &Intent,
) -> Option<Shortfall> {
    let needed = cost(bid);
    let funded = Inventory { reserved, ..*inventory };
    if needed <= funded.available() && !(needed.is_zero() && inventory.debt_balance.is_zero()) {
        return None;
    }
    Some(Shortfall {
        debt_asset: intent.debtAsset,
        needed,
        balance: inventory.debt_balance,
        allowance: inventory.allowance,
        reserved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(balance: u64, allowance: u64) -> Inventory {
        Inventory {
            debt_balance: U256::from(balance),
            allowance: U256::from(allowance),
            reserved: U256::ZERO,
            native_balance: U256::ZERO,
            flash_financed: false,
        }
    }

    #[test]
    fn a_bid_is_funded_when_balance_and_allowance_cover_repay_plus_premium() {
        let intent = intent(1_000, 5);
        assert_eq!(funding_shortfall(&bid(1_000, 10), &inventory(1_010, 1_010), U256::ZERO, &intent), None);
    }

    #[test]
    fn one_wei_short_of_balance_is_not_funded() {
        let intent = intent(1_000, 5);
        let shortfall = funding_shortfall(&bid(1_000, 10), &inventory(1_009, u64::MAX), U256::ZERO, &intent).unwrap();
        assert_eq!(shortfall.needed, U256::from(1_010));
        assert_eq!(shortfall.balance, U256::from(1_009));
    }

    #[test]
    fn a_missing_allowance_is_not_funded() {
        let intent = intent(1_000, 5);
        assert!(funding_shortfall(&bid(1_000, 10), &inventory(5_000, 0), U256::ZERO, &intent).is_some());
    }

    #[test]
    fn open_bids_reserve_their_cost() {
        let intent = intent(1_000, 5);
        let rich = inventory(2_000, 2_000);
        assert_eq!(funding_shortfall(&bid(1_000, 10), &rich, U256::from(990), &intent), None);
        let shortfall = funding_shortfall(&bid(1_000, 10), &rich, U256::from(991), &intent).unwrap();
        assert_eq!(shortfall.reserved, U256::from(991));
    }

    #[test]
    fn an_empty_wallet_funds_nothing() {
        let intent = intent(1_000, 0);
        assert!(funding_shortfall(&bid(0, 0), &inventory(0, u64::MAX), U256::ZERO, &intent).is_some());
    }

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
