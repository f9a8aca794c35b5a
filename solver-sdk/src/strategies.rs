//! Ready-made strategies, useful as they are and as starting points.
//!
//! - [`Margin`]: competes the liquidation bonus back to the protocol, keeping a margin
//!   over its gas cost. The devnet's default solvers run it.
//! - [`FixedPremium`]: a fixed share of the repay, whatever the bonus (a baseline).
//! - [`FlashSwap`]: values the seized collateral at the DEX's executable price (Uniswap V2
//!   pools, slippage and fee included) instead of the oracle's, for an executor that is a
//!   `FlashLiquidator` (no debt inventory); skips what it cannot profit from.

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

/// Bids what the seized collateral sells for on the DEX, less the repay, gas and a margin:
/// `premium = executable − repay − gas − max((executable − repay) × margin_bps / 10⁴, min_margin)`,
/// where `executable` is [`Pricing::executable_value`]: each seized collateral sold into its
/// own Uniswap V2 pool at the reserves read at [`Pricing::block`], fee and slippage included
/// (collateral without a pool counts for nothing). Run it with a
/// [`crate::ChainEndpoint::flash_liquidator`]: the flash swap then turns exactly that value
/// into the debt asset at settlement, so the bot needs no inventory, and the liquidator
/// reverts rather than settle at a loss.
///
/// ```
/// use backstop_solver_sdk::dex::Reserves;
/// use backstop_solver_sdk::strategies::{FlashDecision, FlashSwap};
/// use backstop_solver_sdk::{Address, CollateralQuote, PoolQuote, Pricing, U256};
///
/// let wad = |whole: u64| U256::from(whole) * U256::from(10u64).pow(U256::from(18));
/// let weth = Address::repeat_byte(1);
/// let pricing = Pricing {
///     repay_amount: wad(10_000),
///     seized_value: wad(10_500), // 5.25 WETH at $2000
///     collaterals: vec![CollateralQuote { asset: weth, seized_units: Some(wad(21) / U256::from(4)), ..Default::default() }],
///     // 1,000 WETH against $2M: selling 5.25 WETH costs the 0.3% fee and ~0.5% of impact.
///     pools: vec![PoolQuote { asset: weth, pair: Address::repeat_byte(2), reserves: Reserves { reserve_in: wad(1_000), reserve_out: wad(2_000_000) } }],
///     gas_price_wei: 1_000_000_000,
///     settle_gas: 500_000,
///     native_price_wad: Some(wad(2_000)), // gas: $1
///     debt_decimals: 18,
///     ..Default::default()
/// };
/// let bot = FlashSwap { margin_bps: 300, min_margin: U256::ZERO };
/// let FlashDecision::Bid(bid) = bot.evaluate(&pricing) else { panic!("profitable") };
/// assert!(bid.premium > wad(400) && bid.premium < wad(500), "the bonus less slippage, gas and margin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashSwap {
    /// Share of the executable surplus (executable value − repay) kept, in basis points (rounded up).
    pub margin_bps: u32,
    /// Smallest margin kept, in debt units.
    pub min_margin: U256,
}

/// What [`FlashSwap`] decided for one intent, and why it skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashDecision {
    /// Bid this.
    Bid(Bid),
    /// Nothing to repay.
    NothingToRepay,
    /// No collateral of the account has a pool (or no seized-units estimate): nothing to sell.
    NoPool,
    /// Gas cannot be priced in debt units (no native price asset configured).
    GasUnpriced,
    /// What the collateral sells for does not cover the repay, gas and margin.
    Unprofitable {
        /// Debt asset the seized collateral sells for on the DEX.
        executable_value: U256,
        /// Repay + gas + margin it would have to cover.
        needed: U256,
    },
}

impl FlashSwap {
    /// Prices `pricing` at the DEX and decides.
    pub fn evaluate(&self, pricing: &Pricing) -> FlashDecision {
        let repay_amount = pricing.repay_amount;
        if repay_amount.is_zero() {
            return FlashDecision::NothingToRepay;
        }
        let Some(executable_value) = pricing.executable_value() else { return FlashDecision::NoPool };
        if executable_value.is_zero() {
            return FlashDecision::NoPool;
        }
        let Some(gas_cost) = pricing.gas_cost_in_debt() else { return FlashDecision::GasUnpriced };
        let surplus = executable_value.saturating_sub(repay_amount);
        let margin = Margin { margin_bps: self.margin_bps, min_margin: self.min_margin }.margin_on(surplus);
        let needed = repay_amount.saturating_add(gas_cost).saturating_add(margin);
        match executable_value.checked_sub(needed) {
            Some(premium) if !premium.is_zero() => FlashDecision::Bid(Bid { repay_amount, premium }),
            _ => FlashDecision::Unprofitable { executable_value, needed },
        }
    }

    /// The bid for an intent priced as `pricing`; `None` when [`FlashSwap::evaluate`] skips.
    pub fn bid_for(&self, pricing: &Pricing) -> Option<Bid> {
        match self.evaluate(pricing) {
            FlashDecision::Bid(bid) => Some(bid),
            _ => None,
        }
    }
}

impl Strategy for FlashSwap {
    async fn bid(&self, view: &IntentView) -> Option<Bid> {
        let decision = self.evaluate(&view.pricing);
        if !matches!(decision, FlashDecision::Bid(_)) {
            crate::observe::strategy_skipped(view.intent_id, &decision);
        }
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

    fn flash_pricing(pool_weth: u64, pool_usd: u64) -> Pricing {
        use crate::dex::Reserves;
        use crate::pricing::{CollateralQuote, PoolQuote};
        let weth = alloy::primitives::Address::repeat_byte(1);
        Pricing {
            collaterals: vec![CollateralQuote {
                asset: weth,
                seized_units: Some(wad(21) / U256::from(4)),
                ..Default::default()
            }],
            pools: vec![PoolQuote {
                asset: weth,
                pair: alloy::primitives::Address::repeat_byte(2),
                reserves: Reserves { reserve_in: wad(pool_weth), reserve_out: wad(pool_usd) },
            }],
            ..pricing()
        }
    }

    #[test]
    fn flash_swap_bids_the_executable_surplus_less_gas_and_margin() {
        let pricing = flash_pricing(1_000, 2_000_000);
        let executable = pricing.executable_value().unwrap();
        assert!(executable < wad(10_500) && executable > wad(10_400), "fee and impact: {executable}");
        let bot = FlashSwap { margin_bps: 0, min_margin: U256::ZERO };
        let FlashDecision::Bid(bid) = bot.evaluate(&pricing) else { panic!("profitable") };
        assert_eq!(bid.premium, executable - wad(10_000) - wad(1));
        let keeps_more = FlashSwap { margin_bps: 500, min_margin: U256::ZERO }.bid_for(&pricing).unwrap();
        assert!(keeps_more.premium < bid.premium);
    }

    #[test]
    fn flash_swap_skips_a_thin_pool_it_cannot_profit_from() {
        // 10 WETH against $20k: selling 5.25 WETH moves the price by a third.
        let decision = FlashSwap { margin_bps: 0, min_margin: U256::ZERO }.evaluate(&flash_pricing(10, 20_000));
        let FlashDecision::Unprofitable { executable_value, needed } = decision else { panic!("{decision:?}") };
        assert!(executable_value < needed);
    }

    #[test]
    fn flash_swap_skips_without_a_pool_or_a_gas_price() {
        let bot = FlashSwap { margin_bps: 0, min_margin: U256::ZERO };
        assert_eq!(bot.evaluate(&pricing()), FlashDecision::NoPool, "no pools read");
        let unpriced = Pricing { native_price_wad: None, ..flash_pricing(1_000, 2_000_000) };
        assert_eq!(bot.evaluate(&unpriced), FlashDecision::GasUnpriced);
        assert_eq!(bot.evaluate(&Pricing::default()), FlashDecision::NothingToRepay);
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
