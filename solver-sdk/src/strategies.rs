//! Ready-made strategies, useful as they are and as starting points.
//!
//! - [`Margin`]: competes the liquidation bonus back to the protocol, keeping a margin
//!   over its gas cost. The devnet's default solvers run it.
//! - [`FixedPremium`]: a fixed share of the repay, whatever the bonus (a baseline).

use alloy::primitives::U256;
use backstop_protocol::Intent;

use crate::pricing::Pricing;
use crate::strategy::{Bid, IntentView, Strategy};

/// One basis point is 1/10_000.
const BPS_DENOMINATOR: u64 = 10_000;

/// Bids max_repay and a premium of `bps` basis points of the repay (rounded down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPremium {
    /// Premium in basis points of the repay.
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

/// Bids the liquidation bonus the repay earns, less the settle's gas cost and a margin
/// it keeps: `premium = bonus value − gas cost − max(bonus × margin_bps / 10⁴, min_margin)`,
/// all in debt units, for the intent's max repay.
///
/// The bonus value is what `previewSeize` says the repay seizes minus the repay; the gas
/// cost is [`Pricing::gas_cost_in_debt`]. It does not bid when the premium would not be
/// positive, or when gas cannot be priced (no [`crate::ChainEndpoint::native_price_asset`]):
/// it never pays to liquidate. With several margin bots competing, the tightest margin
/// wins and the protocol recaptures the bonus minus that margin and gas.
///
/// ```
/// use backstop_solver_sdk::strategies::Margin;
/// use backstop_solver_sdk::{Pricing, U256};
///
/// let wad = |whole: u64| U256::from(whole) * U256::from(10u64).pow(U256::from(18));
/// let pricing = Pricing {
///     repay_amount: wad(10_000),
///     seized_value: wad(10_500), // a 5% bonus: $500
///     gas_price_wei: 1_000_000_000,
///     settle_gas: 500_000,
///     native_price_wad: Some(wad(2_000)), // gas: $1
///     debt_decimals: 18,
///     ..Default::default()
/// };
/// let bot = Margin { margin_bps: 300, min_margin: U256::ZERO }; // keep 3% of the bonus
/// let bid = bot.bid_for(&pricing).unwrap();
/// assert_eq!(bid.repay_amount, wad(10_000));
/// assert_eq!(bid.premium, wad(500 - 1 - 15));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margin {
    /// Share of the bonus value kept, in basis points (rounded up).
    pub margin_bps: u32,
    /// Smallest margin kept, in debt units, whatever the bonus.
    pub min_margin: U256,
}

impl Margin {
    /// The margin kept on `bonus`: the larger of its `margin_bps` share (rounded up) and
    /// `min_margin`.
    pub fn margin_on(&self, bonus: U256) -> U256 {
        let share = bonus.saturating_mul(U256::from(self.margin_bps)).div_ceil(U256::from(BPS_DENOMINATOR));
        share.max(self.min_margin)
    }

    /// The bid for an intent priced as `pricing`; `None` when it would not pay.
    pub fn bid_for(&self, pricing: &Pricing) -> Option<Bid> {
        let repay_amount = pricing.repay_amount;
        if repay_amount.is_zero() {
            return None;
        }
        let bonus = pricing.bonus_value();
        let gas_cost = pricing.gas_cost_in_debt()?;
        let premium = bonus.checked_sub(gas_cost)?.checked_sub(self.margin_on(bonus))?;
        if premium.is_zero() {
            return None;
        }
        Some(Bid { repay_amount, premium })
    }
}

impl Strategy for Margin {
    async fn bid(&self, view: &IntentView) -> Option<Bid> {
        self.bid_for(&view.pricing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(whole: u64) -> U256 {
        U256::from(whole) * U256::from(1_000_000_000_000_000_000u64)
    }

    /// $10,000 repay seizing $10,500 (bonus $500), gas $1.
    fn pricing() -> Pricing {
        Pricing {
            repay_amount: wad(10_000),
            seized_value: wad(10_500),
            gas_price_wei: 1_000_000_000,
            settle_gas: 500_000,
            native_price_wad: Some(wad(2_000)),
            debt_decimals: 18,
            ..Default::default()
        }
    }

    #[test]
    fn margin_bid_is_bonus_minus_gas_minus_its_share() {
        let bid = Margin { margin_bps: 200, min_margin: U256::ZERO }.bid_for(&pricing()).unwrap();
        assert_eq!(bid, Bid { repay_amount: wad(10_000), premium: wad(500 - 1 - 10) });
    }

    #[test]
    fn an_absolute_margin_applies_when_larger_than_the_share() {
        let bot = Margin { margin_bps: 100, min_margin: wad(50) };
        assert_eq!(bot.bid_for(&pricing()).unwrap().premium, wad(500 - 1 - 50));
        assert_eq!(bot.margin_on(wad(100_000)), wad(1_000), "the share when it is larger");
    }

    #[test]
    fn the_share_is_rounded_up_so_the_margin_is_never_short() {
        let bot = Margin { margin_bps: 1, min_margin: U256::ZERO };
        assert_eq!(bot.margin_on(U256::from(1)), U256::from(1));
    }

    #[test]
    fn margin_bot_skips_when_gas_and_margin_eat_the_bonus() {
        let bot = Margin { margin_bps: 0, min_margin: wad(499) };
        assert_eq!(bot.bid_for(&pricing()), None, "exactly zero left: no bid");
        let expensive_gas = Pricing { gas_price_wei: 1_000_000_000_000, ..pricing() }; // $1000 of gas
        assert_eq!(Margin { margin_bps: 0, min_margin: U256::ZERO }.bid_for(&expensive_gas), None);
        let under_water = Pricing { seized_value: wad(9_000), ..pricing() };
        assert_eq!(Margin { margin_bps: 0, min_margin: U256::ZERO }.bid_for(&under_water), None);
    }

    #[test]
    fn margin_bot_does_not_bid_blind_without_a_gas_price_in_debt_units() {
        let unpriced_gas = Pricing { native_price_wad: None, ..pricing() };
        assert_eq!(Margin { margin_bps: 100, min_margin: U256::ZERO }.bid_for(&unpriced_gas), None);
        assert_eq!(Margin { margin_bps: 100, min_margin: U256::ZERO }.bid_for(&Pricing::default()), None);
    }

    #[test]
    fn a_tighter_margin_bids_more() {
        let tight = Margin { margin_bps: 100, min_margin: U256::ZERO }.bid_for(&pricing()).unwrap();
        let loose = Margin { margin_bps: 800, min_margin: U256::ZERO }.bid_for(&pricing()).unwrap();
        assert!(tight.premium > loose.premium);
    }

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
