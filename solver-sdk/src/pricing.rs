//! What a strategy prices an intent with, read from the chain by the runtime just before
//! it asks: what a repay would seize, the collateral prices and bonuses, the reserve, gas,
//! and the executor's inventory. Plain data plus the arithmetic every strategy needs
//! (bonus value, gas cost in debt units), with explicit rounding.

use alloy::primitives::{Address, U256};

/// 10^18: prices and bonuses are WAD fixed point.
const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// One collateral asset of the account being liquidated, as the market reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollateralQuote {
    /// The collateral token.
    pub asset: Address,
    /// Oracle price of one whole token in units of account, WAD (`IMarginMarket.price`).
    pub price_wad: U256,
    /// Extra value a liquidator seizes per unit repaid from this collateral, WAD
    /// (`MarginEngine.collateralParams(asset).liquidationBonusWad`, e.g. 0.05e18); `None`
    /// when the market does not expose it.
    pub liquidation_bonus_wad: Option<U256>,
    /// Token units the account holds (`MarginEngine.collateralOf`); `None` when unknown.
    pub account_units: Option<U256>,
    /// Token units a liquidation repaying [`Pricing::repay_amount`] would transfer to the
    /// executor, estimated pro rata from [`Pricing::seized_value`] (rounded down); `None`
    /// when the holdings are unknown. A DEX-pricing strategy sells these.
    pub seized_units: Option<U256>,
}

/// The executor's funds on this chain, in the market's debt asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inventory {
    /// `balanceOf(executor)` of the debt asset.
    pub debt_balance: U256,
    /// `allowance(executor, settlement)` of the debt asset.
    pub allowance: U256,
    /// Debt asset promised to our other open bids on this chain (repay + premium each).
    /// The runtime commits a bid only if balance and allowance cover it on top of this.
    pub reserved: U256,
    /// The executor's native-coin balance (wei), which pays gas.
    pub native_balance: U256,
    /// The executor is a `FlashLiquidator`: a flash swap pays the repay and premium, so
    /// no debt inventory is needed and the funding check does not apply.
    pub flash_financed: bool,
}

impl Inventory {
    /// Debt asset the executor can still commit: balance and allowance, less what open
    /// bids reserve (saturating at zero).
    /// A flash-financed executor can commit any amount (the pool decides at settlement).
    pub fn available(&self) -> U256 {
        if self.flash_financed {
            return U256::MAX;
        }
        self.debt_balance.min(self.allowance).saturating_sub(self.reserved)
    }
}

/// Everything the runtime read to price one intent, at [`Pricing::block`].
///
/// Amounts are in the debt asset's smallest unit unless named otherwise. The quote is for
/// repaying [`Pricing::repay_amount`] (the intent's `maxRepay`); the seized value scales
/// linearly with the repay below it ([`Pricing::seized_value_for`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pricing {
    /// The block all reads were made at.
    pub block: u64,
    /// The market's debt asset: what the executor repays and pays the premium in.
    pub debt_asset: Address,
    /// `decimals()` of the debt asset.
    pub debt_decimals: u8,
    /// The repay this quote is for: the intent's `maxRepay`.
    pub repay_amount: U256,
    /// `previewSeize(account, repay_amount)`: market value of the collateral a liquidation
    /// repaying `repay_amount` seizes, bonus included, in debt units.
    pub seized_value: U256,
    /// The account's collateral assets (every asset the market lists).
    pub collaterals: Vec<CollateralQuote>,
    /// Smallest premium the network counts (the market's reserve).
    pub reserve_premium: U256,
    /// The chain's gas price (`eth_gasPrice`), wei per gas.
    pub gas_price_wei: u128,
    /// Gas a `settle` is expected to use: the largest the runtime saw on this chain, or a
    /// conservative default before the first.
    pub settle_gas: u64,
    /// Price of one whole native coin (10^18 wei) in units of account, WAD, read through
    /// the market's oracle for [`crate::ChainEndpoint::native_price_asset`]; `None` when
    /// not configured.
    pub native_price_wad: Option<U256>,
    /// The executor's funds.
    pub inventory: Inventory,
    /// The Uniswap V2 pool of each collateral against the debt asset, read at [`Pricing::block`]
    /// from the flash liquidator's factory; empty without a
    /// [`crate::ChainEndpoint::flash_liquidator`]. A collateral without a pool is absent.
    pub pools: Vec<PoolQuote>,
}

/// A collateral's Uniswap V2 pool against the debt asset, as the chain reported it (the
/// reserves are untrusted input: [`crate::dex::Reserves`] math is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolQuote {
    /// The collateral token.
    pub asset: Address,
    /// The pair contract.
    pub pair: Address,
    /// Reserves oriented for selling the collateral: `reserve_in` of it, `reserve_out` of debt.
    pub reserves: crate::dex::Reserves,
}

impl Pricing {
    /// Debt asset the collateral a repay of [`Pricing::repay_amount`] seizes sells for at
    /// the pools' executable prices (fee and slippage included, each collateral sold into
    /// its own pool), rounded down. A collateral without a pool or without a seized-units
    /// estimate counts for nothing (it would come back in kind); `None` on overflow.
    pub fn executable_value(&self) -> Option<U256> {
        let mut total = U256::ZERO;
        for collateral in &self.collaterals {
            let Some(units) = collateral.seized_units else { continue };
            let Some(pool) = self.pools.iter().find(|pool| pool.asset == collateral.asset) else { continue };
            total = total.checked_add(pool.reserves.amount_out(units)?)?;
        }
        Some(total)
    }
}

impl Pricing {
    /// The liquidation bonus a repay of [`Pricing::repay_amount`] earns: seized value minus
    /// repay, in debt units (zero if the collateral is worth less than the repay).
    pub fn bonus_value(&self) -> U256 {
        self.seized_value.saturating_sub(self.repay_amount)
    }

    /// Seized value for a smaller `repay`, pro rata (rounded down); `repay` above
    /// [`Pricing::repay_amount`] is priced at `repay_amount`.
    pub fn seized_value_for(&self, repay: U256) -> U256 {
        if self.repay_amount.is_zero() {
            return U256::ZERO;
        }
        let repay = repay.min(self.repay_amount);
        self.seized_value.saturating_mul(repay) / self.repay_amount
    }

    /// Expected gas cost of the settle in wei: `settle_gas × gas_price_wei`.
    pub fn gas_cost_wei(&self) -> U256 {
        U256::from(self.settle_gas).saturating_mul(U256::from(self.gas_price_wei))
    }

    /// Expected gas cost of the settle in debt units (rounded up: a cost is never
    /// underestimated); `None` without a native price.
    pub fn gas_cost_in_debt(&self) -> Option<U256> {
        let native_price_wad = self.native_price_wad?;
        Some(wei_to_debt_units(self.gas_cost_wei(), native_price_wad, self.debt_decimals))
    }
}

/// Converts `wei` of the native coin to debt units at `native_price_wad` (units of
/// account per whole coin, WAD; the debt asset is worth one unit of account), rounded up.
pub fn wei_to_debt_units(wei: U256, native_price_wad: U256, debt_decimals: u8) -> U256 {
    let debt_scale = U256::from(10u8).pow(U256::from(debt_decimals));
    let numerator = wei.saturating_mul(native_price_wad).saturating_mul(debt_scale);
    let denominator = WAD * WAD;
    numerator.div_ceil(denominator)
}

/// Pro-rata units of each collateral seized for `seized_value` out of holdings whose total
/// market value is `total_value` (rounded down).
pub(crate) fn seized_units(account_units: U256, seized_value: U256, total_value: U256) -> U256 {
    if total_value.is_zero() {
        return U256::ZERO;
    }
    account_units.saturating_mul(seized_value.min(total_value)) / total_value
}

/// Market value of `units` of a token at `price_wad`, with `token_decimals`, in debt
/// units (rounded down).
pub(crate) fn market_value(units: U256, price_wad: U256, token_decimals: u8, debt_decimals: u8) -> U256 {
    let token_scale = U256::from(10u8).pow(U256::from(token_decimals));
    let debt_scale = U256::from(10u8).pow(U256::from(debt_decimals));
    units.saturating_mul(price_wad).saturating_mul(debt_scale) / (token_scale * WAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(whole: u64) -> U256 {
        U256::from(whole) * WAD
    }

    #[test]
    fn bonus_is_seized_value_minus_repay_and_never_negative() {
        let pricing = Pricing { repay_amount: wad(1_000), seized_value: wad(1_050), ..Default::default() };
        assert_eq!(pricing.bonus_value(), wad(50));
        let under_water = Pricing { repay_amount: wad(1_000), seized_value: wad(900), ..Default::default() };
        assert_eq!(under_water.bonus_value(), U256::ZERO);
    }

    #[test]
    fn seized_value_scales_pro_rata_and_caps_at_the_quoted_repay() {
        let pricing = Pricing { repay_amount: wad(1_000), seized_value: wad(1_050), ..Default::default() };
        assert_eq!(pricing.seized_value_for(wad(500)), wad(525));
        assert_eq!(pricing.seized_value_for(wad(5_000)), wad(1_050));
        assert_eq!(Pricing::default().seized_value_for(wad(1)), U256::ZERO);
    }

    #[test]
    fn gas_cost_converts_at_the_native_price_and_rounds_up() {
        let pricing = Pricing {
            gas_price_wei: 1_000_000_000, // 1 gwei
            settle_gas: 500_000,
            native_price_wad: Some(wad(2_000)),
            debt_decimals: 18,
            ..Default::default()
        };
        // 5e14 wei = 0.0005 ETH at $2000 = $1.
        assert_eq!(pricing.gas_cost_wei(), U256::from(500_000_000_000_000u64));
        assert_eq!(pricing.gas_cost_in_debt(), Some(wad(1)));
        // A 6-decimal debt asset (USDC-like): $1 = 1e6.
        let usdc = Pricing { debt_decimals: 6, ..pricing.clone() };
        assert_eq!(usdc.gas_cost_in_debt(), Some(U256::from(1_000_000u64)));
        // One wei of gas cost is still a cost.
        assert_eq!(wei_to_debt_units(U256::from(1), wad(1), 6), U256::from(1));
        assert_eq!(Pricing { native_price_wad: None, ..pricing }.gas_cost_in_debt(), None);
    }

    #[test]
    fn available_inventory_is_the_smaller_of_balance_and_allowance_less_reservations() {
        let inventory =
            Inventory { debt_balance: wad(100), allowance: wad(80), reserved: wad(30), ..Default::default() };
        assert_eq!(inventory.available(), wad(50));
        assert_eq!(Inventory { reserved: wad(500), ..inventory }.available(), U256::ZERO);
        assert_eq!(Inventory { flash_financed: true, ..Default::default() }.available(), U256::MAX, "a pool funds it");
    }

    #[test]
    fn seized_units_are_pro_rata_and_market_value_respects_decimals() {
        // Half the value seized: half the units.
        assert_eq!(seized_units(U256::from(4_000), wad(10), wad(20)), U256::from(2_000));
        assert_eq!(seized_units(U256::from(4_000), wad(30), wad(20)), U256::from(4_000), "never more than held");
        assert_eq!(seized_units(U256::from(4_000), wad(1), U256::ZERO), U256::ZERO);
        // 2 WBTC (8 decimals) at $60,000 in an 18-decimal debt: $120,000.
        assert_eq!(market_value(U256::from(200_000_000u64), wad(60_000), 8, 18), wad(120_000));
    }
}
