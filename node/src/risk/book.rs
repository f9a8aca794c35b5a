//! The positions of one engine market, mirrored in memory, and the scan that judges all
//! of them against one block's quotes.
//!
//! Layout: accounts are rows in flat arrays (struct of arrays), the exact `U256`
//! holdings in one and an `f64` shadow in another, so a scan streams through memory.
//! The scan decides each account in floating point when the answer is far from the
//! line, and with the exact model ([`EngineModel`]) when it is close: an `f64` health
//! carries a relative error below 1e-14 and the contract's rounding moves a value by at
//! most two units per holding, so a margin of 1e-9 relative plus `2n + 2` units can
//! never misjudge an account. An account far below the line needs no exact valuation to
//! be reported (the on-chain confirmation reads its `maxRepay`), so a crash that puts a
//! tenth of a book under costs no more to scan than a calm block.

use std::collections::HashMap;

use alloy::primitives::{Address, U256};

use super::engine::{EngineModel, Quote, Unpriceable, Valuation};
use super::math::{to_f64, WAD};

/// Most accounts one market may track. Positions come from an adapter's logs, and even an
/// allowed adapter must not be able to grow the node without bound.
pub const MAX_ACCOUNTS: usize = 20_000_000;

/// Relative margin inside which the fast filter defers to the exact model.
const RELATIVE_TOLERANCE: f64 = 1e-9;

/// An account the scan found below maintenance. Accounts far below the line are decided
/// by the fast filter alone (the chain's confirmation supplies `maxRepay`); those near it
/// carry their exact valuation and the model's `maxRepay`.
#[derive(Debug, Clone, PartialEq)]
pub struct Liquidatable {
    pub account: Address,
    pub valuation: Option<Valuation>,
    pub max_repay: Option<U256>,
    /// The f64 estimate of risk-adjusted collateral over requirement (below 1 when
    /// liquidatable; unpriced assets count as nothing): the order in which a crash's
    /// casualties are confirmed, worst first. Never used to decide.
    pub health: f64,
}

/// What one scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// In the order scanned (the watchlist first when it is given).
    pub liquidatable: Vec<Liquidatable>,
    /// Accounts with debt scanned.
    pub scanned: usize,
    /// Accounts the exact model had to decide (close to the line, or holding an unpriced asset).
    pub exact: usize,
    /// Accounts whose valuation reverts on chain (lapsed price on more than dust).
    pub unpriceable: usize,
    /// Rows within the at-risk distance of maintenance (liquidatable ones included).
    pub at_risk: Vec<u32>,
}

/// One market's positions.
#[derive(Debug, Clone, Default)]
pub struct EngineBook {
    width: usize,
    index: HashMap<Address, u32>,
    addresses: Vec<Address>,
    debts: Vec<U256>,
    /// `width` holdings per row, in listing order.
    units: Vec<U256>,
    /// `width + 1` per row: debt, then the holdings, as f64.
    shadow: Vec<f64>,
}

impl EngineBook {
    /// A book for a market listing `width` collaterals.
    pub fn new(width: usize) -> Self {
        Self { width, ..Self::default() }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    pub fn accounts(&self) -> &[Address] {
        &self.addresses
    }

    /// Rows with debt (the ones a scan looks at).
    pub fn with_debt(&self) -> usize {
        self.debts.iter().filter(|debt| !debt.is_zero()).count()
    }

    /// The stored position of `account`: (holdings in listing order, debt).
    pub fn position(&self, account: &Address) -> Option<(&[U256], U256)> {
        let row = *self.index.get(account)? as usize;
        Some((&self.units[row * self.width..(row + 1) * self.width], self.debts[row]))
    }

    /// A market that lists another collateral: every row grows by one (zero) holding.
    pub fn widen(&mut self, width: usize) {
        if width <= self.width {
            return;
        }
        let rows = self.len();
        let mut units = vec![U256::ZERO; rows * width];
        let mut shadow = vec![0.0; rows * (width + 1)];
        for row in 0..rows {
            units[row * width..row * width + self.width]
                .copy_from_slice(&self.units[row * self.width..(row + 1) * self.width]);
            shadow[row * (width + 1)..row * (width + 1) + self.width + 1]
                .copy_from_slice(&self.shadow[row * (self.width + 1)..(row + 1) * (self.width + 1)]);
        }
        self.units = units;
        self.shadow = shadow;
        self.width = width;
    }

    /// Records `account`'s position as read from the chain. `holdings` has one entry per
    /// listed collateral (shorter is padded with zeros, longer is an error of the caller).
    /// Returns `false`, recording nothing, for a new account beyond [`MAX_ACCOUNTS`].
    pub fn set(&mut self, account: Address, holdings: &[U256], debt: U256) -> bool {
        assert!(holdings.len() <= self.width, "position wider than the market's listing");
        let row = match self.index.get(&account) {
            Some(row) => *row as usize,
            None => {
                let row = self.addresses.len();
                // MAX_ACCOUNTS < 2^32, so the row always fits.
                let Some(slot) = u32::try_from(row).ok().filter(|_| row < MAX_ACCOUNTS) else { return false };
                self.index.insert(account, slot);
                self.addresses.push(account);
                self.debts.push(U256::ZERO);
                self.units.extend(std::iter::repeat_n(U256::ZERO, self.width));
                self.shadow.extend(std::iter::repeat_n(0.0, self.width + 1));
                row
            }
        };
        self.debts[row] = debt;
        let units = &mut self.units[row * self.width..(row + 1) * self.width];
        units.fill(U256::ZERO);
        units[..holdings.len()].copy_from_slice(holdings);
        let shadow = &mut self.shadow[row * (self.width + 1)..(row + 1) * (self.width + 1)];
        shadow[0] = to_f64(debt);
        for (slot, units) in shadow[1..].iter_mut().zip(units.iter()) {
            *slot = to_f64(*units);
        }
        true
    }

    /// Values `account` exactly.
    pub fn value(&self, model: &EngineModel, account: &Address) -> Option<Result<Valuation, Unpriceable>> {
        let (units, debt) = self.position(account)?;
        Some(model.value(units, debt))
    }

    /// Judges the rows in `watchlist` first (in that order), then, if `everything`, every
    /// other row. `at_risk_distance` is the health-ratio margin above 1 within which a
    /// row is reported at risk.
    pub fn scan(&self, model: &EngineModel, watchlist: &[u32], everything: bool, at_risk_distance: f64) -> ScanReport {
        assert_eq!(model.assets.len(), self.width, "model and book list the same collaterals");
        let filter = FastFilter::new(model, self.width);
        let mut report = ScanReport::default();
        let mut seen = if everything && !watchlist.is_empty() { vec![false; self.len()] } else { Vec::new() };
        for &row in watchlist {
            let row = row as usize;
            if row >= self.len() {
                continue;
            }
            if let Some(seen) = seen.get_mut(row) {
                *seen = true;
            }
            self.judge(model, &filter, row, at_risk_distance, &mut report);
        }
        if everything {
            for row in 0..self.len() {
                if seen.get(row).copied().unwrap_or(false) {
                    continue;
                }
                self.judge(model, &filter, row, at_risk_distance, &mut report);
            }
        }
        report
    }

    /// Exact valuation of every row with debt, no filter: the reference the fast scan is
    /// measured against (benchmarks, tests).
    pub fn scan_exact(&self, model: &EngineModel) -> Vec<Address> {
        (0..self.len())
            .filter(|&row| !self.debts[row].is_zero())
            .filter(|&row| {
                let units = &self.units[row * self.width..(row + 1) * self.width];
                matches!(model.value(units, self.debts[row]), Ok(valuation) if valuation.is_liquidatable())
            })
            .map(|row| self.addresses[row])
            .collect()
    }

    #[inline]
    fn judge(&self, model: &EngineModel, filter: &FastFilter, row: usize, at_risk: f64, report: &mut ScanReport) {
        let shadow = &self.shadow[row * (self.width + 1)..(row + 1) * (self.width + 1)];
        let debt = shadow[0];
        if debt == 0.0 {
            return;
        }
        report.scanned += 1;
        let mut collateral = 0.0;
        let mut unpriced = false;
        for (units, factor) in shadow[1..].iter().zip(&filter.value_factors) {
            if *units == 0.0 {
                continue;
            }
            match factor {
                Some(factor) => collateral += units * factor,
                None => unpriced = true,
            }
        }
        let requirement = debt * filter.requirement_factor;
        let tolerance = RELATIVE_TOLERANCE * collateral.max(requirement) + filter.absolute_tolerance;
        let health = if requirement > 0.0 { collateral / requirement } else { f64::INFINITY };
        if !unpriced && collateral - requirement > tolerance {
            if collateral < requirement * (1.0 + at_risk) {
                report.at_risk.push(row as u32);
            }
            return;
        }
        if !unpriced && requirement - collateral > tolerance {
            report.at_risk.push(row as u32);
            report.liquidatable.push(Liquidatable {
                account: self.addresses[row],
                valuation: None,
                max_repay: None,
                health,
            });
            return;
        }
        report.exact += 1;
        let units = &self.units[row * self.width..(row + 1) * self.width];
        match model.value(units, self.debts[row]) {
            Err(_) => report.unpriceable += 1,
            Ok(valuation) => {
                if valuation.is_liquidatable() || collateral < requirement * (1.0 + at_risk) {
                    report.at_risk.push(row as u32);
                }
                if valuation.is_liquidatable() {
                    match model.max_repay(&valuation) {
                        Ok(max_repay) => report.liquidatable.push(Liquidatable {
                            account: self.addresses[row],
                            valuation: Some(valuation),
                            max_repay: Some(max_repay),
                            health,
                        }),
                        Err(_) => report.unpriceable += 1,
                    }
                }
            }
        }
    }
}

/// Per-asset constants of one scan, in f64.
struct FastFilter {
    /// Risk-adjusted value of one unit of the asset, debt units; `None` when unpriced.
    value_factors: Vec<Option<f64>>,
    requirement_factor: f64,
    absolute_tolerance: f64,
}

impl FastFilter {
    fn new(model: &EngineModel, width: usize) -> Self {
        let wad = to_f64(WAD);
        let value_factors = model
            .assets
            .iter()
            .map(|view| match view.quote {
                Quote::Priced { price_wad, .. } => {
                    Some(to_f64(price_wad) / to_f64(view.price_scale) * (to_f64(view.keep_wad) / wad))
                }
                Quote::Lapsed { .. } => None,
            })
            .collect();
        Self {
            value_factors,
            requirement_factor: to_f64(model.risk.maintenance_ratio_wad) / wad,
            absolute_tolerance: (2 * width + 2) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::engine::{AssetView, CollateralTerms, RiskParams};
    use super::*;
    use proptest::prelude::*;

    fn wad(milli: u64) -> U256 {
        U256::from(milli) * U256::from(1_000_000_000_000_000u64)
    }

    fn model(prices_milli: &[u64], volatility_milli: u64) -> EngineModel {
        let assets = prices_milli
            .iter()
            .enumerate()
            .map(|(index, price)| {
                let terms = CollateralTerms {
                    asset: Address::repeat_byte(index as u8 + 1),
                    base_haircut_wad: wad(20 + 30 * index as u64),
                    volatility_multiplier_wad: wad(2_500),
                    max_haircut_wad: wad(300),
                    liquidation_bonus_wad: wad(50 + 10 * index as u64),
                    // 8-decimal collateral against an 18-decimal debt for the second asset.
                    price_scale: if index == 1 { U256::from(100_000_000u64) } else { WAD },
                };
                let quote = Quote::Priced { price_wad: wad(*price), volatility_wad: wad(volatility_milli) };
                AssetView::new(&terms, quote).unwrap()
            })
            .collect();
        EngineModel {
            risk: RiskParams {
                maintenance_ratio_wad: wad(1_100),
                close_factor_wad: wad(500),
                full_liquidation_health_wad: wad(900),
                dust_debt: wad(10_000),
            },
            assets,
        }
    }

    #[test]
    fn accounts_on_the_line_are_judged_exactly() {
        let model = model(&[2_000_000], 10);
        let mut book = EngineBook::new(1);
        // 1 WETH: risk-adjusted value 1910; liquidatable iff 1.1 x debt > 1910, debt > 1736.36...
        let line = U256::from(1_736_363_636_363_636_363_637u128);
        book.set(Address::repeat_byte(0xa1), &[WAD], line - U256::from(1u8));
        book.set(Address::repeat_byte(0xa2), &[WAD], line);
        book.set(Address::repeat_byte(0xa3), &[WAD], wad(1_000_000));
        book.set(Address::repeat_byte(0xa4), &[WAD], U256::ZERO);
        let report = book.scan(&model, &[], true, 0.05);
        assert_eq!(report.scanned, 3, "no-debt rows are skipped");
        assert_eq!(report.exact, 2, "the two on the line go to the exact model");
        let found: Vec<Address> = report.liquidatable.iter().map(|found| found.account).collect();
        assert_eq!(found, vec![Address::repeat_byte(0xa2)]);
        assert_eq!(found, book.scan_exact(&model));
        assert_eq!(report.at_risk, vec![0, 1], "within 5% of the line");
    }

    #[test]
    fn the_watchlist_is_judged_first_and_once() {
        let model = model(&[2_000_000], 10);
        let mut book = EngineBook::new(1);
        for byte in 1..=4u8 {
            book.set(Address::repeat_byte(byte), &[WAD], wad(1_800_000));
        }
        let report = book.scan(&model, &[3, 1], true, 0.05);
        let found: Vec<Address> = report.liquidatable.iter().map(|found| found.account).collect();
        let expected = [4u8, 2, 1, 3].map(Address::repeat_byte).to_vec();
        assert_eq!(found, expected);
        let only_watchlist = book.scan(&model, &[3], false, 0.05);
        assert_eq!(only_watchlist.liquidatable.len(), 1);
    }

    #[test]
    fn a_market_that_lists_a_new_collateral_keeps_every_position() {
        let mut book = EngineBook::new(1);
        book.set(Address::repeat_byte(1), &[WAD], wad(5));
        book.set(Address::repeat_byte(2), &[wad(2_000)], wad(7));
        book.widen(2);
        assert_eq!(book.position(&Address::repeat_byte(2)), Some((&[wad(2_000), U256::ZERO][..], wad(7))));
        book.set(Address::repeat_byte(1), &[WAD, U256::from(3u8)], wad(5));
        assert_eq!(book.position(&Address::repeat_byte(1)), Some((&[WAD, U256::from(3u8)][..], wad(5))));
        assert_eq!(book.len(), 2);
    }

    proptest! {
        /// The fast filter never disagrees with the exact model, including right at the line.
        #[test]
        fn the_fast_scan_finds_exactly_what_the_exact_model_finds(
            rows in proptest::collection::vec((0u64..5_000_000, 0u64..2_000_000, 1u64..60_000_000, -3i64..=3), 1..64),
            weth_price in 100_000u64..5_000_000, wbtc_price in 1_000_000u64..100_000_000, volatility in 0u64..200,
        ) {
            let model = model(&[weth_price, wbtc_price], volatility);
            let mut book = EngineBook::new(2);
            for (index, (weth_milli, wbtc_micro, debt_milli, nudge)) in rows.into_iter().enumerate() {
                let units = [wad(weth_milli) / U256::from(1_000u32), U256::from(wbtc_micro) * U256::from(100u8)];
                let mut debt = wad(debt_milli) / U256::from(1_000u32);
                // Put some rows within a few wei of their line.
                if index % 3 == 0 {
                    if let Ok(valuation) = model.value(&units, U256::ZERO) {
                        let line = super::super::math::mul_div_down(valuation.collateral_value, WAD, model.risk.maintenance_ratio_wad).unwrap();
                        debt = if nudge >= 0 { line + U256::from(nudge as u64) } else { line.saturating_sub(U256::from(nudge.unsigned_abs())) };
                    }
                }
                book.set(Address::from_word(alloy::primitives::B256::from(U256::from(index + 1))), &units, debt);
            }
            let report = book.scan(&model, &[], true, 0.05);
            let fast: Vec<Address> = report.liquidatable.iter().map(|found| found.account).collect();
            prop_assert_eq!(fast, book.scan_exact(&model));
        }
    }
}
