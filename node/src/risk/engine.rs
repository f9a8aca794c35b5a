//! A local model of `contracts/src/MarginEngine.sol`: the same valuation, liquidatability
//! rule, `maxRepay` and `previewSeize`, in the same `U256` arithmetic with the same
//! rounding, so the node can price every account itself from one oracle read per asset
//! per block. The differential test (`tests/e2e/risk_model.rs`) holds it to the
//! contract's own views on random accounts, actions and prices.
//!
//! Where the contract reverts (a lapsed price on more than dust, an overflow) the model
//! returns [`Unpriceable`]: the account can be neither judged nor liquidated until the
//! price returns, exactly as on chain.

use alloy::primitives::{Address, U256};

use super::math::{mul_div_down, mul_div_up, mul_wad_down, mul_wad_up, WAD};

/// `MarginEngine.PARTIAL_CLOSE_MARGIN_WAD`.
pub const PARTIAL_CLOSE_MARGIN_WAD: U256 = U256::from_limbs([1_000_000_000_000, 0, 0, 0]);
/// `MarginEngine.MAX_COLLATERALS`: positions are at most this wide.
pub const MAX_COLLATERALS: usize = 8;

/// The engine's immutable ratios (`MarginEngine.RiskParams`, minus the initial margin the
/// node never needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskParams {
    pub maintenance_ratio_wad: U256,
    pub close_factor_wad: U256,
    pub full_liquidation_health_wad: U256,
    pub dust_debt: U256,
}

/// One listed collateral's terms (`collateralParams`, `priceScaleOf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollateralTerms {
    pub asset: Address,
    pub base_haircut_wad: U256,
    pub volatility_multiplier_wad: U256,
    pub max_haircut_wad: U256,
    pub liquidation_bonus_wad: U256,
    /// 10^(collateralDecimals + 18 - debtDecimals).
    pub price_scale: U256,
}

/// What the oracle router said about an asset at a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// `peek` answered.
    Priced { price_wad: U256, volatility_wad: U256 },
    /// `peek` reverted (every feed lapsed); the router's last recorded price decides what
    /// counts as dust.
    Lapsed { last_price_wad: U256 },
}

/// A collateral's terms and quote folded into what valuing a holding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetView {
    pub quote: Quote,
    pub price_scale: U256,
    /// `WAD - haircut` at the quote's volatility.
    pub keep_wad: U256,
    /// `WAD + liquidationBonus`.
    pub bonus_denominator: U256,
    /// The haircut, WAD (reported, and used by the at-risk distance).
    pub haircut_wad: U256,
}

impl AssetView {
    /// `_haircut` and the per-asset constants of `_position`. `None` where the contract
    /// would revert.
    pub fn new(terms: &CollateralTerms, quote: Quote) -> Option<Self> {
        let volatility = match quote {
            Quote::Priced { volatility_wad, .. } => volatility_wad,
            Quote::Lapsed { .. } => U256::ZERO,
        };
        let haircut = terms
            .base_haircut_wad
            .checked_add(mul_wad_up(terms.volatility_multiplier_wad, volatility)?)?
            .min(terms.max_haircut_wad);
        Some(Self {
            quote,
            price_scale: terms.price_scale,
            keep_wad: WAD.checked_sub(haircut)?,
            bonus_denominator: WAD.checked_add(terms.liquidation_bonus_wad)?,
            haircut_wad: haircut,
        })
    }

    pub fn price_wad(&self) -> Option<U256> {
        match self.quote {
            Quote::Priced { price_wad, .. } => Some(price_wad),
            Quote::Lapsed { .. } => None,
        }
    }
}

/// Why an account cannot be valued (the contract's views revert for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unpriceable {
    #[error("collateral {0} has no price and the holding is more than dust")]
    Lapsed(usize),
    #[error("the valuation overflows")]
    Overflow,
}

/// `MarginEngine.Position`: an account's valuation at one set of quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Valuation {
    /// Risk-adjusted collateral value (after haircuts), debt units.
    pub collateral_value: U256,
    pub market_value: U256,
    pub repay_to_seize_all: U256,
    pub debt: U256,
    pub requirement: U256,
}

impl Valuation {
    /// `_isLiquidatable`.
    pub fn is_liquidatable(&self) -> bool {
        !self.debt.is_zero() && self.collateral_value < self.requirement
    }
}

/// The model of one engine: its ratios and, per listed collateral (listing order), the
/// view at the current quotes.
#[derive(Debug, Clone)]
pub struct EngineModel {
    pub risk: RiskParams,
    pub assets: Vec<AssetView>,
}

impl EngineModel {
    /// `_position(_peekHoldings(account), debt)`; `units[i]` is the holding of the i-th
    /// listed collateral (zero when not held).
    pub fn value(&self, units: &[U256], debt: U256) -> Result<Valuation, Unpriceable> {
        let mut valuation = Valuation::default();
        for (index, (view, units)) in self.assets.iter().zip(units).enumerate() {
            if units.is_zero() {
                continue;
            }
            let price_wad = match view.quote {
                Quote::Priced { price_wad, .. } => price_wad,
                Quote::Lapsed { last_price_wad } => {
                    // `_requireDust`: skipped only if worth at most dustDebt at the last price.
                    let worth = mul_div_up(*units, last_price_wad, view.price_scale).ok_or(Unpriceable::Overflow)?;
                    if worth > self.risk.dust_debt {
                        return Err(Unpriceable::Lapsed(index));
                    }
                    continue;
                }
            };
            let market_value = mul_div_down(*units, price_wad, view.price_scale).ok_or(Unpriceable::Overflow)?;
            valuation.market_value = valuation.market_value.checked_add(market_value).ok_or(Unpriceable::Overflow)?;
            let kept = mul_wad_down(market_value, view.keep_wad).ok_or(Unpriceable::Overflow)?;
            valuation.collateral_value = valuation.collateral_value.checked_add(kept).ok_or(Unpriceable::Overflow)?;
            let seize = mul_div_up(market_value, WAD, view.bonus_denominator).ok_or(Unpriceable::Overflow)?;
            valuation.repay_to_seize_all =
                valuation.repay_to_seize_all.checked_add(seize).ok_or(Unpriceable::Overflow)?;
        }
        if valuation.repay_to_seize_all < debt && debt <= valuation.market_value {
            valuation.repay_to_seize_all = debt;
        }
        valuation.debt = debt;
        valuation.requirement = mul_wad_up(debt, self.risk.maintenance_ratio_wad).ok_or(Unpriceable::Overflow)?;
        Ok(valuation)
    }

    /// `_maxRepay`: zero exactly when the account is not liquidatable.
    pub fn max_repay(&self, valuation: &Valuation) -> Result<U256, Unpriceable> {
        if !valuation.is_liquidatable() {
            return Ok(U256::ZERO);
        }
        let overflow = || Unpriceable::Overflow;
        let debt = valuation.debt;
        let mut amount = mul_wad_down(debt, self.risk.close_factor_wad).ok_or(Unpriceable::Overflow)?;
        // The contract's plain checked `*` (they revert on overflow, as `None` here).
        let health_lhs = valuation.collateral_value.checked_mul(WAD).ok_or_else(overflow)?;
        let health_rhs =
            self.risk.full_liquidation_health_wad.checked_mul(valuation.requirement).ok_or_else(overflow)?;
        let seize_lhs = valuation.repay_to_seize_all.checked_mul(WAD).ok_or_else(overflow)?;
        let seize_rhs = debt.checked_mul(WAD + PARTIAL_CLOSE_MARGIN_WAD).ok_or_else(overflow)?;
        // An adapter reporting a close factor above 1 would make this underflow; the contract
        // reverts there too (its checked `-`), so the model refuses rather than panics.
        let remainder = debt.checked_sub(amount).ok_or(Unpriceable::Overflow)?;
        if amount.is_zero() || remainder < self.risk.dust_debt || health_lhs < health_rhs || seize_lhs < seize_rhs {
            amount = debt;
        }
        let cap = if valuation.repay_to_seize_all.is_zero() { U256::from(1u8) } else { valuation.repay_to_seize_all };
        Ok(amount.min(cap))
    }

    /// `previewSeize`: collateral value (debt units, bonus included) a repay would take.
    pub fn preview_seize(&self, units: &[U256], debt: U256, repay: U256) -> Result<U256, Unpriceable> {
        let valuation = self.value(units, debt)?;
        let seize_all = repay >= valuation.repay_to_seize_all;
        let mut seized = U256::ZERO;
        for (view, units) in self.assets.iter().zip(units) {
            let (false, Some(price_wad)) = (units.is_zero(), view.price_wad()) else { continue };
            let market_value = mul_div_down(*units, price_wad, view.price_scale).ok_or(Unpriceable::Overflow)?;
            let value = if seize_all {
                market_value
            } else {
                mul_div_down(market_value, repay, valuation.repay_to_seize_all).ok_or(Unpriceable::Overflow)?
            };
            seized = seized.checked_add(value).ok_or(Unpriceable::Overflow)?;
        }
        Ok(seized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(milli: u64) -> U256 {
        U256::from(milli) * U256::from(1_000_000_000_000_000u64)
    }

    fn model(price_usd: u64, volatility_milli: u64) -> EngineModel {
        let terms = CollateralTerms {
            asset: Address::repeat_byte(1),
            base_haircut_wad: wad(20),
            volatility_multiplier_wad: wad(2_500),
            max_haircut_wad: wad(300),
            liquidation_bonus_wad: wad(50),
            price_scale: WAD,
        };
        let quote = Quote::Priced { price_wad: wad(price_usd * 1_000), volatility_wad: wad(volatility_milli) };
        EngineModel {
            risk: RiskParams {
                maintenance_ratio_wad: wad(1_100),
                close_factor_wad: wad(500),
                full_liquidation_health_wad: wad(900),
                dust_debt: wad(10_000),
            },
            assets: vec![AssetView::new(&terms, quote).unwrap()],
        }
    }

    #[test]
    fn haircut_grows_with_volatility_up_to_its_cap() {
        assert_eq!(model(2_000, 10).assets[0].haircut_wad, wad(45), "2% + 2.5 x 1%");
        assert_eq!(model(2_000, 1_000).assets[0].haircut_wad, wad(300), "capped");
    }

    #[test]
    fn an_account_crosses_maintenance_where_the_formula_says() {
        // 1 WETH at $2000, 4.5% haircut: collateral value 1910; requirement = 1.1 x debt.
        let model = model(2_000, 10);
        let units = [WAD];
        let healthy = model.value(&units, wad(1_736_000)).unwrap();
        assert_eq!(healthy.collateral_value, wad(1_910_000));
        assert!(!healthy.is_liquidatable(), "1910 >= 1909.6");
        let under = model.value(&units, wad(1_737_000)).unwrap();
        assert!(under.is_liquidatable(), "1910 < 1910.7");
        assert_eq!(model.max_repay(&healthy).unwrap(), U256::ZERO);
        assert_eq!(model.max_repay(&under).unwrap(), wad(868_500), "half the debt");
    }

    #[test]
    fn a_close_factor_above_one_is_refused_not_a_panic() {
        let mut model = model(2_000, 10);
        model.risk.close_factor_wad = wad(2_000);
        let under = model.value(&[WAD], wad(1_737_000)).unwrap();
        assert_eq!(model.max_repay(&under), Err(Unpriceable::Overflow));
    }

    #[test]
    fn lapsed_dust_is_ignored_and_a_lapsed_holding_is_unpriceable() {
        let mut model = model(2_000, 10);
        model.assets[0].quote = Quote::Lapsed { last_price_wad: wad(2_000_000) };
        let dust = model.value(&[U256::from(5_000_000_000_000_000u64)], wad(1_000)).unwrap();
        assert_eq!(dust.collateral_value, U256::ZERO, "0.005 WETH = $10 is dust");
        assert!(dust.is_liquidatable());
        assert_eq!(model.value(&[WAD], wad(1_000)), Err(Unpriceable::Lapsed(0)));
    }
}
