//! A local model of one Morpho Blue market as `contracts/src/morpho/MorphoPreLiquidation.sol`
//! sees it: Morpho's own arithmetic (MathLib's checked `mulDivDown`/`mulDivUp`,
//! SharesMathLib's virtual shares and assets, MorphoBalancesLib's virtual interest accrual
//! with `wTaylorCompounded`), then the adapter's band, close factor, incentive factor,
//! `accountHealth`, `isLiquidatable`, `maxRepay` and `previewSeize`, to the wei.
//!
//! Where the contract's views revert (an oracle or IRM that reverts, a checked operation
//! that overflows) the model returns [`Unpriceable`]. The differential test
//! (`tests/e2e/morpho_model.rs`) holds it to the adapter and Morpho on real anvil.
//!
//! The book ([`MorphoBook`]) mirrors each borrower's shares, collateral and opt-in; its scan
//! decides accounts far from the band's edges in floating point and leaves every close call
//! and every account inside the band to the exact model.

use std::collections::HashMap;

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;

use super::math::{to_f64, WAD};

/// `ConstantsLib.ORACLE_PRICE_SCALE`: 1e36.
pub const ORACLE_PRICE_SCALE: U256 = U256::from_limbs([12_919_594_847_110_692_864, 54_210_108_624_275_221, 0, 0]);
/// `SharesMathLib.VIRTUAL_SHARES`.
pub const VIRTUAL_SHARES: U256 = U256::from_limbs([1_000_000, 0, 0, 0]);
/// `SharesMathLib.VIRTUAL_ASSETS`.
pub const VIRTUAL_ASSETS: U256 = U256::from_limbs([1, 0, 0, 0]);

/// Why a Morpho position cannot be valued: the adapter's views revert for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unpriceable {
    #[error("the market oracle's price() reverts")]
    Oracle,
    #[error("the interest rate model's borrowRateView reverts")]
    Irm,
    #[error("a checked operation overflows (the view reverts)")]
    Overflow,
}

/// Morpho's `MathLib` and `SharesMathLib`, `None` exactly where Solidity 0.8 reverts.
pub mod math {
    use super::{U256, VIRTUAL_ASSETS, VIRTUAL_SHARES, WAD};

    /// `(x * y) / d`, the product checked in 256 bits (unlike WadMath, MathLib does not widen).
    #[inline]
    pub fn mul_div_down(x: U256, y: U256, d: U256) -> Option<U256> {
        x.checked_mul(y)?.checked_div(d)
    }

    /// `(x * y + (d - 1)) / d`.
    #[inline]
    pub fn mul_div_up(x: U256, y: U256, d: U256) -> Option<U256> {
        x.checked_mul(y)?.checked_add(d.checked_sub(U256::from(1u8))?)?.checked_div(d)
    }

    #[inline]
    pub fn w_mul_down(x: U256, y: U256) -> Option<U256> {
        mul_div_down(x, y, WAD)
    }

    #[inline]
    pub fn w_div_down(x: U256, y: U256) -> Option<U256> {
        mul_div_down(x, WAD, y)
    }

    #[inline]
    pub fn w_div_up(x: U256, y: U256) -> Option<U256> {
        mul_div_up(x, WAD, y)
    }

    /// `e^(x n) - 1` by its third-order Taylor expansion, as Morpho compounds interest.
    pub fn w_taylor_compounded(x: U256, n: U256) -> Option<U256> {
        let first = x.checked_mul(n)?;
        let second = mul_div_down(first, first, WAD * U256::from(2u8))?;
        let third = mul_div_down(second, first, WAD * U256::from(3u8))?;
        first.checked_add(second)?.checked_add(third)
    }

    pub fn to_shares_down(assets: U256, total_assets: U256, total_shares: U256) -> Option<U256> {
        mul_div_down(assets, total_shares.checked_add(VIRTUAL_SHARES)?, total_assets.checked_add(VIRTUAL_ASSETS)?)
    }

    pub fn to_assets_down(shares: U256, total_assets: U256, total_shares: U256) -> Option<U256> {
        mul_div_down(shares, total_assets.checked_add(VIRTUAL_ASSETS)?, total_shares.checked_add(VIRTUAL_SHARES)?)
    }

    pub fn to_assets_up(shares: U256, total_assets: U256, total_shares: U256) -> Option<U256> {
        mul_div_up(shares, total_assets.checked_add(VIRTUAL_ASSETS)?, total_shares.checked_add(VIRTUAL_SHARES)?)
    }
}

use self::math::{
    mul_div_down, to_assets_down, to_assets_up, to_shares_down, w_div_down, w_div_up, w_mul_down, w_taylor_compounded,
};

/// Morpho's `MarketParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketParams {
    pub loan_token: Address,
    pub collateral_token: Address,
    pub oracle: Address,
    pub irm: Address,
    pub lltv: U256,
}

impl MarketParams {
    /// `MarketParamsLib.id`: keccak256 of the five ABI words.
    pub fn id(&self) -> B256 {
        keccak256((self.loan_token, self.collateral_token, self.oracle, self.irm, self.lltv).abi_encode())
    }
}

/// The adapter's immutable pre-liquidation parameters (WAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreLiquidationParams {
    pub pre_lltv: U256,
    pub pre_lcf1: U256,
    pub pre_lcf2: U256,
    pub pre_lif1: U256,
    pub pre_lif2: U256,
}

impl PreLiquidationParams {
    /// The adapter constructor's bounds. An adapter reporting parameters outside them is
    /// not the contract it claims to be.
    pub fn check(&self, lltv: U256) -> Result<(), String> {
        let max_lif = w_div_down(WAD, lltv).ok_or("LLTV is zero")?;
        if self.pre_lltv.is_zero() || self.pre_lltv >= lltv {
            return Err(format!("preLltv {} outside (0, LLTV {lltv})", self.pre_lltv));
        }
        if self.pre_lcf1 > self.pre_lcf2 || self.pre_lcf1 > WAD || self.pre_lcf2.is_zero() {
            return Err(format!("preLCF {}..{} out of bounds", self.pre_lcf1, self.pre_lcf2));
        }
        if self.pre_lif1 < WAD || self.pre_lif1 > self.pre_lif2 || self.pre_lif2 > max_lif {
            return Err(format!("preLIF {}..{} outside [1, 1/LLTV]", self.pre_lif1, self.pre_lif2));
        }
        Ok(())
    }
}

/// Morpho's `Market` (its fields are `uint128` on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarketState {
    pub total_supply_assets: u128,
    pub total_supply_shares: u128,
    pub total_borrow_assets: u128,
    pub total_borrow_shares: u128,
    pub last_update: u128,
    pub fee: u128,
}

impl MarketState {
    /// `MorphoBalancesLib.expectedMarketBalances`: the totals with interest accrued virtually
    /// to `timestamp` at `borrow_rate` (`None`: the IRM's `borrowRateView` reverted).
    pub fn accrued(&self, irm: Address, borrow_rate: Option<U256>, timestamp: u64) -> Result<Self, Unpriceable> {
        let overflow = || Unpriceable::Overflow;
        let elapsed = U256::from(timestamp).checked_sub(U256::from(self.last_update)).ok_or_else(overflow)?;
        let mut market = *self;
        if elapsed.is_zero() || market.total_borrow_assets == 0 || irm == Address::ZERO {
            return Ok(market);
        }
        let rate = borrow_rate.ok_or(Unpriceable::Irm)?;
        let compounded = w_taylor_compounded(rate, elapsed).ok_or_else(overflow)?;
        let interest = w_mul_down(U256::from(market.total_borrow_assets), compounded).ok_or_else(overflow)?;
        let interest_128 = u128::try_from(interest).map_err(|_| overflow())?;
        market.total_borrow_assets = market.total_borrow_assets.checked_add(interest_128).ok_or_else(overflow)?;
        market.total_supply_assets = market.total_supply_assets.checked_add(interest_128).ok_or_else(overflow)?;
        if market.fee != 0 {
            let fee_amount = w_mul_down(interest, U256::from(market.fee)).ok_or_else(overflow)?;
            let supply_before = U256::from(market.total_supply_assets).checked_sub(fee_amount).ok_or_else(overflow)?;
            let fee_shares = to_shares_down(fee_amount, supply_before, U256::from(market.total_supply_shares))
                .ok_or_else(overflow)?;
            let fee_shares = u128::try_from(fee_shares).map_err(|_| overflow())?;
            market.total_supply_shares = market.total_supply_shares.checked_add(fee_shares).ok_or_else(overflow)?;
        }
        Ok(market)
    }
}

/// One borrower's position on the market and whether they authorized the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Borrower {
    pub borrow_shares: u128,
    pub collateral: u128,
    pub authorized: bool,
}

/// `MorphoPreLiquidation.Band`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    NoDebt,
    Healthy,
    PreLiquidation,
    MorphoLiquidation,
}

/// `MorphoPreLiquidation.Snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub borrow_shares: U256,
    pub collateral: U256,
    pub total_borrow_assets: U256,
    pub total_borrow_shares: U256,
    /// Zero when the position holds no collateral (the adapter does not read the oracle then).
    pub collateral_price: U256,
    pub collateral_value: U256,
    pub borrowed: U256,
}

/// `accountHealth`'s three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Health {
    pub collateral_value: U256,
    pub debt_value: U256,
    pub requirement: U256,
}

/// The market at one block: parameters, totals accrued to the block's timestamp, the
/// oracle's price.
#[derive(Debug, Clone)]
pub struct MorphoModel {
    pub params: MarketParams,
    pub pre: PreLiquidationParams,
    /// `expectedMarketBalances` at the block, or why it reverts.
    pub totals: Result<MarketState, Unpriceable>,
    /// `oracle.price()` at the block (`None`: it reverted).
    pub price: Option<U256>,
    /// The block's timestamp (interest is accrued to it).
    pub timestamp: u64,
}

impl MorphoModel {
    /// `_snapshot`.
    pub fn snapshot(&self, borrower: &Borrower) -> Result<Snapshot, Unpriceable> {
        let totals = self.totals?;
        let mut snapshot = Snapshot {
            borrow_shares: U256::from(borrower.borrow_shares),
            collateral: U256::from(borrower.collateral),
            total_borrow_assets: U256::from(totals.total_borrow_assets),
            total_borrow_shares: U256::from(totals.total_borrow_shares),
            ..Snapshot::default()
        };
        snapshot.borrowed =
            to_assets_up(snapshot.borrow_shares, snapshot.total_borrow_assets, snapshot.total_borrow_shares)
                .ok_or(Unpriceable::Overflow)?;
        if snapshot.collateral.is_zero() {
            return Ok(snapshot);
        }
        snapshot.collateral_price = self.price.ok_or(Unpriceable::Oracle)?;
        snapshot.collateral_value = mul_div_down(snapshot.collateral, snapshot.collateral_price, ORACLE_PRICE_SCALE)
            .ok_or(Unpriceable::Overflow)?;
        Ok(snapshot)
    }

    /// `_band`: Morpho's `_isHealthy` comparison at LLTV, then at preLltv.
    pub fn band(&self, snapshot: &Snapshot) -> Result<Band, Unpriceable> {
        if snapshot.borrow_shares.is_zero() {
            return Ok(Band::NoDebt);
        }
        let at_lltv = w_mul_down(snapshot.collateral_value, self.params.lltv).ok_or(Unpriceable::Overflow)?;
        if snapshot.borrowed > at_lltv {
            return Ok(Band::MorphoLiquidation);
        }
        let at_pre = w_mul_down(snapshot.collateral_value, self.pre.pre_lltv).ok_or(Unpriceable::Overflow)?;
        Ok(if snapshot.borrowed > at_pre { Band::PreLiquidation } else { Band::Healthy })
    }

    /// `_factors`: (close factor, incentive factor), interpolated over the band.
    pub fn factors(&self, snapshot: &Snapshot) -> Result<(U256, U256), Unpriceable> {
        let pre = &self.pre;
        let ltv = w_div_up(snapshot.borrowed, snapshot.collateral_value).ok_or(Unpriceable::Overflow)?;
        let quotient = w_div_down(
            ltv.checked_sub(pre.pre_lltv).ok_or(Unpriceable::Overflow)?,
            self.params.lltv.checked_sub(pre.pre_lltv).ok_or(Unpriceable::Overflow)?,
        )
        .ok_or(Unpriceable::Overflow)?;
        let interpolate = |low: U256, high: U256| {
            w_mul_down(quotient, high.checked_sub(low)?)?.checked_add(low).ok_or(Unpriceable::Overflow).ok()
        };
        let close_factor = interpolate(pre.pre_lcf1, pre.pre_lcf2).ok_or(Unpriceable::Overflow)?;
        let incentive_factor = interpolate(pre.pre_lif1, pre.pre_lif2).ok_or(Unpriceable::Overflow)?;
        Ok((close_factor, incentive_factor))
    }

    /// `_maxRepay`: the close factor caps the repaid shares.
    fn max_repay_at(&self, snapshot: &Snapshot, close_factor: U256) -> Result<U256, Unpriceable> {
        let repayable_shares = w_mul_down(snapshot.borrow_shares, close_factor).ok_or(Unpriceable::Overflow)?;
        if repayable_shares >= snapshot.borrow_shares {
            return Ok(snapshot.borrowed);
        }
        to_assets_down(repayable_shares, snapshot.total_borrow_assets, snapshot.total_borrow_shares)
            .ok_or(Unpriceable::Overflow)
    }

    /// `_maxRepayNow`, for a position in the band.
    fn max_repay_now(&self, borrower: &Borrower, snapshot: &Snapshot) -> Result<U256, Unpriceable> {
        if !borrower.authorized {
            return Ok(U256::ZERO);
        }
        let (close_factor, _) = self.factors(snapshot)?;
        self.max_repay_at(snapshot, close_factor)
    }

    fn max_repay_if_liquidatable(&self, borrower: &Borrower, snapshot: &Snapshot) -> Result<U256, Unpriceable> {
        if self.band(snapshot)? != Band::PreLiquidation {
            return Ok(U256::ZERO);
        }
        self.max_repay_now(borrower, snapshot)
    }

    /// `accountHealth`: the requirement is `debt / preLltv` where the adapter can act or
    /// the position is healthy, zero where it cannot (not opted in, beyond LLTV, dust).
    pub fn account_health(&self, borrower: &Borrower) -> Result<Health, Unpriceable> {
        let snapshot = self.snapshot(borrower)?;
        let band = self.band(&snapshot)?;
        let mut health = Health {
            collateral_value: snapshot.collateral_value,
            debt_value: snapshot.borrowed,
            requirement: U256::ZERO,
        };
        let actionable = match band {
            Band::Healthy => true,
            Band::PreLiquidation => !self.max_repay_now(borrower, &snapshot)?.is_zero(),
            Band::NoDebt | Band::MorphoLiquidation => false,
        };
        if actionable {
            health.requirement = w_div_up(snapshot.borrowed, self.pre.pre_lltv).ok_or(Unpriceable::Overflow)?;
        }
        Ok(health)
    }

    /// The position's band (as `status(account).band`).
    pub fn band_of(&self, borrower: &Borrower) -> Result<Band, Unpriceable> {
        self.band(&self.snapshot(borrower)?)
    }

    /// `maxRepay`: zero unless liquidatable through the adapter.
    pub fn max_repay(&self, borrower: &Borrower) -> Result<U256, Unpriceable> {
        let snapshot = self.snapshot(borrower)?;
        self.max_repay_if_liquidatable(borrower, &snapshot)
    }

    /// `isLiquidatable`.
    pub fn is_liquidatable(&self, borrower: &Borrower) -> Result<bool, Unpriceable> {
        Ok(!self.max_repay(borrower)?.is_zero())
    }

    /// `previewSeize`: collateral value (loan units) a repay of `repay` takes.
    pub fn preview_seize(&self, borrower: &Borrower, repay: U256) -> Result<U256, Unpriceable> {
        let snapshot = self.snapshot(borrower)?;
        if self.max_repay_if_liquidatable(borrower, &snapshot)?.is_zero() || repay.is_zero() {
            return Ok(U256::ZERO);
        }
        let (_, incentive_factor) = self.factors(&snapshot)?;
        let seized = self.quote(&snapshot, repay, incentive_factor)?;
        mul_div_down(seized, snapshot.collateral_price, ORACLE_PRICE_SCALE).ok_or(Unpriceable::Overflow)
    }

    /// `_quote`'s seized collateral (token units).
    fn quote(&self, snapshot: &Snapshot, repay: U256, incentive_factor: U256) -> Result<U256, Unpriceable> {
        let overflow = || Unpriceable::Overflow;
        let (assets, shares) = (snapshot.total_borrow_assets, snapshot.total_borrow_shares);
        let repaid_shares = to_shares_down(repay, assets, shares).ok_or_else(overflow)?.min(snapshot.borrow_shares);
        let repaid_assets = to_assets_down(repaid_shares, assets, shares).ok_or_else(overflow)?;
        let with_incentive = w_mul_down(repaid_assets, incentive_factor).ok_or_else(overflow)?;
        mul_div_down(with_incentive, ORACLE_PRICE_SCALE, snapshot.collateral_price).ok_or_else(overflow)
    }
}

/// Most borrowers one market may track (as for the engine's book).
pub const MAX_ACCOUNTS: usize = super::book::MAX_ACCOUNTS;

/// Relative margin inside which the fast filter defers to the exact model.
const RELATIVE_TOLERANCE: f64 = 1e-9;
/// Absolute margin (loan-token units): each rounding moves a value by at most one unit.
const ABSOLUTE_TOLERANCE: f64 = 8.0;

/// A borrower the scan found pre-liquidatable, with the exact `maxRepay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreLiquidatable {
    pub account: Address,
    pub max_repay: U256,
}

/// What one scan found.
#[derive(Debug, Clone, Default)]
pub struct MorphoScan {
    /// In scan order (the watchlist first).
    pub liquidatable: Vec<PreLiquidatable>,
    /// Borrowers with debt scanned.
    pub scanned: usize,
    /// Borrowers the exact model decided (in the band or close to an edge).
    pub exact: usize,
    /// Borrowers whose valuation reverts on chain.
    pub unpriceable: usize,
    /// Opted-in rows within the at-risk distance of preLltv (liquidatable ones included).
    pub at_risk: Vec<u32>,
    /// Rows beyond LLTV: Morpho's own liquidation is open for them.
    pub beyond_lltv: usize,
}

/// One Morpho market's borrowers, as rows.
#[derive(Debug, Clone, Default)]
pub struct MorphoBook {
    index: HashMap<Address, u32>,
    addresses: Vec<Address>,
    rows: Vec<Borrower>,
    /// Borrow shares and collateral as f64.
    shadow: Vec<[f64; 2]>,
}

impl MorphoBook {
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn accounts(&self) -> &[Address] {
        &self.addresses
    }

    pub fn get(&self, account: &Address) -> Option<&Borrower> {
        self.index.get(account).map(|row| &self.rows[*row as usize])
    }

    /// Records a position as read from Morpho. `false` (nothing recorded) for a new account
    /// beyond [`MAX_ACCOUNTS`].
    pub fn set(&mut self, account: Address, borrower: Borrower) -> bool {
        let row = match self.index.get(&account) {
            Some(row) => *row as usize,
            None => {
                let row = self.addresses.len();
                let Some(slot) = u32::try_from(row).ok().filter(|_| row < MAX_ACCOUNTS) else { return false };
                self.index.insert(account, slot);
                self.addresses.push(account);
                self.rows.push(Borrower::default());
                self.shadow.push([0.0; 2]);
                row
            }
        };
        self.rows[row] = borrower;
        self.shadow[row] = [borrower.borrow_shares as f64, borrower.collateral as f64];
        true
    }

    /// Judges the watchlist rows first, then every other row. `at_risk_distance` is the
    /// health margin (`preLltv / LTV - 1`) within which an opted-in row is reported at risk.
    pub fn scan(&self, model: &MorphoModel, watchlist: &[u32], at_risk_distance: f64) -> MorphoScan {
        let filter = FastFilter::new(model);
        let mut report = MorphoScan::default();
        let mut seen = if watchlist.is_empty() { Vec::new() } else { vec![false; self.len()] };
        for &row in watchlist {
            let row = row as usize;
            if row >= self.len() || seen[row] {
                continue;
            }
            seen[row] = true;
            self.judge(model, filter.as_ref(), row, at_risk_distance, &mut report);
        }
        for row in 0..self.len() {
            if seen.get(row).copied().unwrap_or(false) {
                continue;
            }
            self.judge(model, filter.as_ref(), row, at_risk_distance, &mut report);
        }
        report
    }

    /// Every row the exact model finds liquidatable, no filter (tests, benchmarks).
    pub fn scan_exact(&self, model: &MorphoModel) -> Vec<Address> {
        (0..self.len())
            .filter(|&row| matches!(model.max_repay(&self.rows[row]), Ok(amount) if !amount.is_zero()))
            .map(|row| self.addresses[row])
            .collect()
    }

    #[inline]
    fn judge(
        &self,
        model: &MorphoModel,
        filter: Option<&FastFilter>,
        row: usize,
        at_risk: f64,
        report: &mut MorphoScan,
    ) {
        let borrower = &self.rows[row];
        if borrower.borrow_shares == 0 {
            return;
        }
        report.scanned += 1;
        if let (Some(filter), Some(price)) = (filter, filter.and_then(|filter| filter.price)) {
            let [shares, collateral] = self.shadow[row];
            let borrowed = shares * filter.assets_per_share;
            let value = collateral * price;
            let tolerance = RELATIVE_TOLERANCE * borrowed.max(value) + ABSOLUTE_TOLERANCE;
            if borrowed > value * filter.lltv + tolerance {
                report.beyond_lltv += 1;
                return;
            }
            if !borrower.authorized {
                // Never liquidatable through the adapter, whatever its LTV below LLTV.
                return;
            }
            if borrowed + tolerance < value * filter.pre_lltv {
                if borrowed * (1.0 + at_risk) > value * filter.pre_lltv {
                    report.at_risk.push(row as u32);
                }
                return;
            }
        }
        report.exact += 1;
        let snapshot = match model.snapshot(borrower) {
            Ok(snapshot) => snapshot,
            Err(_) => {
                report.unpriceable += 1;
                return;
            }
        };
        match model.band(&snapshot) {
            Err(_) => report.unpriceable += 1,
            Ok(Band::MorphoLiquidation) => report.beyond_lltv += 1,
            Ok(Band::NoDebt) => {}
            Ok(Band::Healthy) => {
                if borrower.authorized {
                    report.at_risk.push(row as u32);
                }
            }
            Ok(Band::PreLiquidation) => {
                if !borrower.authorized {
                    return;
                }
                report.at_risk.push(row as u32);
                match model.max_repay_now(borrower, &snapshot) {
                    Ok(max_repay) if !max_repay.is_zero() => {
                        report.liquidatable.push(PreLiquidatable { account: self.addresses[row], max_repay })
                    }
                    Ok(_) => {}
                    Err(_) => report.unpriceable += 1,
                }
            }
        }
    }
}

/// One scan's constants in f64; `None` when the totals revert (everything goes exact, and
/// is unpriceable there).
struct FastFilter {
    assets_per_share: f64,
    /// Loan units per collateral unit; `None` when the oracle reverted.
    price: Option<f64>,
    lltv: f64,
    pre_lltv: f64,
}

impl FastFilter {
    fn new(model: &MorphoModel) -> Option<Self> {
        let totals = model.totals.ok()?;
        let wad = to_f64(WAD);
        Some(Self {
            assets_per_share: (totals.total_borrow_assets as f64 + 1.0) / (totals.total_borrow_shares as f64 + 1e6),
            price: model.price.map(|price| to_f64(price) / to_f64(ORACLE_PRICE_SCALE)),
            lltv: to_f64(model.params.lltv) / wad,
            pre_lltv: to_f64(model.pre.pre_lltv) / wad,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const E18: u128 = 1_000_000_000_000_000_000;

    fn wad(milli: u64) -> U256 {
        U256::from(milli) * U256::from(1_000_000_000_000_000u64)
    }

    /// The forge tests' market: LLTV 80%, preLltv 70%, LCF 0.2..0.8, LIF 1.02..1.05.
    fn model(price_units: u64, totals: MarketState) -> MorphoModel {
        MorphoModel {
            params: MarketParams {
                loan_token: Address::repeat_byte(1),
                collateral_token: Address::repeat_byte(2),
                oracle: Address::repeat_byte(3),
                irm: Address::repeat_byte(4),
                lltv: wad(800),
            },
            pre: PreLiquidationParams {
                pre_lltv: wad(700),
                pre_lcf1: wad(200),
                pre_lcf2: wad(800),
                pre_lif1: wad(1_020),
                pre_lif2: wad(1_050),
            },
            totals: Ok(totals),
            price: Some(U256::from(price_units) * ORACLE_PRICE_SCALE),
            timestamp: 1_700_000_000,
        }
    }

    fn one_borrower(debt: u128) -> MarketState {
        MarketState {
            total_supply_assets: 1_000_000 * E18,
            total_supply_shares: 1_000_000 * E18 * 1_000_000,
            total_borrow_assets: debt,
            total_borrow_shares: debt * 1_000_000,
            last_update: 1_700_000_000,
            fee: 0,
        }
    }

    #[test]
    fn the_band_and_factors_match_the_forge_fixture() {
        // 10 collateral, 14,000 borrowed: LTV 70% at 2,000 (healthy), 73.68% at 1,900.
        let debt = 14_000 * E18;
        let borrower = Borrower { borrow_shares: debt * 1_000_000, collateral: 10 * E18, authorized: true };
        let healthy = model(2_000, one_borrower(debt));
        assert_eq!(healthy.band_of(&borrower), Ok(Band::Healthy));
        assert_eq!(healthy.max_repay(&borrower), Ok(U256::ZERO));
        let health = healthy.account_health(&borrower).unwrap();
        assert_eq!(health.collateral_value, U256::from(20_000 * E18));
        assert!(health.requirement >= health.collateral_value - U256::from(1u8), "LTV = preLltv: on the line");

        let band = model(1_900, one_borrower(debt));
        assert_eq!(band.band_of(&borrower), Ok(Band::PreLiquidation));
        let max_repay = band.max_repay(&borrower).unwrap();
        assert!(!max_repay.is_zero());
        // Close factor at LTV 0.7368: 0.2 + 0.6 * 0.368 = 0.4210..., of 14,000.
        assert!(max_repay > U256::from(5_890 * E18) && max_repay < U256::from(5_900 * E18), "{max_repay}");
        let health = band.account_health(&borrower).unwrap();
        assert!(health.collateral_value < health.requirement, "liquidatable by the IMarginMarket rule");

        let not_opted_in = Borrower { authorized: false, ..borrower };
        assert_eq!(band.max_repay(&not_opted_in), Ok(U256::ZERO));
        assert_eq!(band.account_health(&not_opted_in).unwrap().requirement, U256::ZERO);

        let beyond = model(1_700, one_borrower(debt));
        assert_eq!(beyond.band_of(&borrower), Ok(Band::MorphoLiquidation));
        assert_eq!(beyond.max_repay(&borrower), Ok(U256::ZERO));
        assert_eq!(beyond.preview_seize(&borrower, U256::from(E18)), Ok(U256::ZERO));
    }

    #[test]
    fn interest_accrues_as_morpho_compounds_it() {
        let debt = 14_000 * E18;
        let rate = U256::from(E18 / 10 / (365 * 86_400)); // 10% a year
        let market = one_borrower(debt);
        let year = market.accrued(Address::repeat_byte(4), Some(rate), 1_700_000_000 + 365 * 86_400).unwrap();
        // e^0.1 - 1 = 0.10517..., the third-order expansion gives 0.105166...
        let grown = year.total_borrow_assets - debt;
        assert!(grown > 1_472 * E18 && grown < 1_473 * E18, "{grown}");
        assert_eq!(year.total_supply_assets - market.total_supply_assets, grown);
        assert_eq!(year.total_borrow_shares, market.total_borrow_shares, "shares do not move");
        assert_eq!(market.accrued(Address::repeat_byte(4), None, 1_700_000_000), Ok(market), "no time, no IRM call");
        assert_eq!(market.accrued(Address::repeat_byte(4), None, 1_700_000_001), Err(Unpriceable::Irm));
        assert_eq!(market.accrued(Address::ZERO, None, 1_700_000_001), Ok(market), "no IRM, no interest");
        assert_eq!(market.accrued(Address::repeat_byte(4), Some(rate), 1_699_999_999), Err(Unpriceable::Overflow));
        let hostile = market.accrued(Address::repeat_byte(4), Some(U256::MAX), 1_700_000_001);
        assert_eq!(hostile, Err(Unpriceable::Overflow), "a lying IRM reverts the view, it does not panic");
    }

    #[test]
    fn a_fee_mints_supply_shares_only() {
        let mut market = one_borrower(14_000 * E18);
        market.fee = E18 / 10;
        let rate = U256::from(E18 / 10 / (365 * 86_400));
        let accrued = market.accrued(Address::repeat_byte(4), Some(rate), 1_700_086_400).unwrap();
        assert!(accrued.total_supply_shares > market.total_supply_shares);
        assert_eq!(accrued.total_borrow_shares, market.total_borrow_shares);
    }

    #[test]
    fn morpho_math_reverts_where_solidity_does() {
        assert_eq!(math::mul_div_up(U256::from(1u8), U256::from(1u8), U256::ZERO), None);
        assert_eq!(math::mul_div_down(U256::MAX, U256::from(2u8), U256::MAX), None, "MathLib does not widen");
        assert_eq!(math::mul_div_up(U256::from(10u8), U256::from(1u8), U256::from(3u8)), Some(U256::from(4u8)));
        assert_eq!(MarketParams { lltv: U256::ZERO, ..model(1, MarketState::default()).params }.id().len(), 32);
    }

    #[test]
    fn pre_liquidation_parameters_outside_the_constructor_bounds_are_refused() {
        let good = model(1, MarketState::default()).pre;
        assert!(good.check(wad(800)).is_ok());
        assert!(PreLiquidationParams { pre_lltv: wad(800), ..good }.check(wad(800)).is_err());
        assert!(PreLiquidationParams { pre_lif2: wad(1_300), ..good }.check(wad(800)).is_err(), "above 1/LLTV");
        assert!(PreLiquidationParams { pre_lcf1: wad(900), ..good }.check(wad(800)).is_err());
        assert!(good.check(U256::ZERO).is_err());
    }

    proptest! {
        /// The fast scan finds exactly what the exact model finds, including on the edges.
        #[test]
        fn the_fast_scan_finds_exactly_what_the_exact_model_finds(
            rows in proptest::collection::vec((1u64..1_000_000, 0u64..100_000, any::<bool>(), -3i64..=3, 0u8..3), 1..64),
            price in 500u64..4_000, borrowed_extra in 0u64..1_000_000,
        ) {
            let total_borrow = 10_000_000 * E18 + u128::from(borrowed_extra) * E18;
            let market = MarketState { total_borrow_shares: 10_000_000 * E18 * 1_000_000, ..one_borrower(total_borrow) };
            let model = model(price, market);
            let mut book = MorphoBook::default();
            for (index, (shares_milli, collateral_milli, authorized, nudge, edge)) in rows.into_iter().enumerate() {
                let collateral = u128::from(collateral_milli) * E18 / 1_000;
                let mut shares = u128::from(shares_milli) * E18;
                if edge > 0 && collateral > 0 {
                    // Put the borrowed assets within a few wei of an edge of the band.
                    let ratio = if edge == 1 { model.pre.pre_lltv } else { model.params.lltv };
                    let value = U256::from(collateral) * model.price.unwrap() / ORACLE_PRICE_SCALE;
                    let line = w_mul_down(value, ratio).unwrap();
                    let line = if nudge >= 0 { line + U256::from(nudge as u64) } else { line.saturating_sub(U256::from(nudge.unsigned_abs())) };
                    let line_shares = math::to_shares_down(line, U256::from(market.total_borrow_assets), U256::from(market.total_borrow_shares)).unwrap();
                    shares = u128::try_from(line_shares).unwrap();
                }
                let account = Address::from_word(B256::from(U256::from(index + 1)));
                book.set(account, Borrower { borrow_shares: shares, collateral, authorized });
            }
            let report = book.scan(&model, &[], 0.05);
            let fast: Vec<Address> = report.liquidatable.iter().map(|found| found.account).collect();
            prop_assert_eq!(fast, book.scan_exact(&model));
            for found in &report.liquidatable {
                prop_assert_eq!(Ok(found.max_repay), model.max_repay(book.get(&found.account).unwrap()));
            }
        }
    }
}
