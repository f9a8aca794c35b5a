//! What a scenario run achieved, read from the chains: who was liquidated, by whom, for
//! what premium, how fast. Printed for humans and written as `report.json`.

use std::fmt::Write as _;

use alloy::primitives::{Address, B256, U256};
use serde::{Serialize, Serializer};

use crate::market::WAD;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub drop_bps: u32,
    /// Steps the drop was applied in.
    pub steps: u32,
    /// Wall-clock seconds from the first step of the drop until every account under maintenance had settled.
    pub wall_seconds: f64,
    pub chains: Vec<ChainReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    pub chain_id: u64,
    /// Block that carried the first step of the price drop.
    pub crash_block: u64,
    /// Block of every step (the last carries the final prices).
    pub step_blocks: Vec<u64>,
    /// Block all figures below are read at.
    pub snapshot_block: u64,
    pub accounts_under: Vec<Address>,
    pub accounts_healthy: Vec<Address>,
    pub accounts_liquidated: usize,
    /// Under-water accounts still liquidatable at the snapshot (later rounds in flight).
    pub still_liquidatable: Vec<Address>,
    /// Must stay empty: accounts that were healthy yet have a Settled event.
    pub healthy_liquidated: Vec<Address>,
    pub settlements: Vec<SettlementRecord>,
    #[serde(serialize_with = "decimal")]
    pub premium_total: U256,
    /// Liquidation bonus the settlements handed out (seized value minus repay).
    #[serde(serialize_with = "decimal")]
    pub bonus_total: U256,
    /// Beneficiary (insurance fund) USD balance change across the run.
    #[serde(serialize_with = "decimal")]
    pub beneficiary_delta: U256,
    /// Every collateral's price, volatility and haircut before and after the crash.
    pub assets: Vec<AssetReport>,
    /// From the block an account went under to its first settlement.
    pub latency_blocks: Stats,
    /// Wall clock, from the drop's confirmation to the devnet observing the Settled log.
    pub latency_ms: Stats,
    /// The Morpho Blue market on this chain, if the devnet deployed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub morpho: Option<crate::morpho::MorphoReport>,
}

/// One collateral across the crash, read from the `OracleRouter` and the engine (all WAD).
#[derive(Debug, Clone, Serialize)]
pub struct AssetReport {
    pub symbol: String,
    #[serde(serialize_with = "decimal")]
    pub price_before: U256,
    #[serde(serialize_with = "decimal")]
    pub price_after: U256,
    /// The router's one-hour realised volatility (`router.volatility`).
    #[serde(serialize_with = "decimal")]
    pub volatility_before: U256,
    #[serde(serialize_with = "decimal")]
    pub volatility_after: U256,
    /// The engine's haircut on this collateral (`engine.haircutOf`).
    #[serde(serialize_with = "decimal")]
    pub haircut_before: U256,
    #[serde(serialize_with = "decimal")]
    pub haircut_after: U256,
    /// The router's anomaly bitmask after the last step (0 = sound).
    pub flags_after: u64,
}

impl AssetReport {
    /// "WETH 2000.00 → 1500.00 USD, volatility 1.00% → 137.21%/h, haircut 2.50% → 30.00%"
    pub fn summary(&self) -> String {
        format!(
            "{} {} → {} USD, volatility {} → {}/h, haircut {} → {}{}",
            self.symbol,
            cents(self.price_before),
            cents(self.price_after),
            percent(self.volatility_before),
            percent(self.volatility_after),
            percent(self.haircut_before),
            percent(self.haircut_after),
            if self.flags_after == 0 { String::new() } else { format!(" (anomaly flags {})", self.flags_after) }
        )
    }
}

/// A WAD amount with two decimals, rounded down.
fn cents(amount: U256) -> String {
    let hundredths = amount / U256::from(WAD / 100);
    format!("{}.{:0>2}", hundredths / U256::from(100u8), hundredths % U256::from(100u8))
}

/// A WAD fraction as a percentage with two decimals, rounded down.
fn percent(fraction: U256) -> String {
    format!("{}%", cents(fraction * U256::from(100u8)))
}

#[derive(Debug, Clone, Serialize)]
pub struct SettlementRecord {
    pub account: Address,
    pub nonce: u64,
    pub executor: Address,
    /// The devnet solver owning the executor, or "unknown".
    pub solver: String,
    #[serde(serialize_with = "decimal")]
    pub repay: U256,
    #[serde(serialize_with = "decimal")]
    pub premium: U256,
    #[serde(serialize_with = "decimal")]
    pub seized_value: U256,
    pub block: u64,
    pub intent_id: B256,
    pub transaction: Option<B256>,
}

/// min / p50 / p95 / p99 / max of a sample (nearest rank).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub count: usize,
    pub min: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Stats {
    pub fn of(mut samples: Vec<u64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let rank = |percentile: usize| samples[(samples.len() * percentile).div_ceil(100).saturating_sub(1)];
        Self {
            count: samples.len(),
            min: samples[0],
            p50: rank(50),
            p95: rank(95),
            p99: rank(99),
            max: samples[samples.len() - 1],
        }
    }
}

pub(crate) fn decimal<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

/// An 18-decimal amount as "1234.567890" (rounded down to 6 places).
pub fn units(amount: U256) -> String {
    let wad = U256::from(WAD);
    let whole = amount / wad;
    let micro = (amount % wad) / U256::from(1_000_000_000_000u64);
    format!("{whole}.{micro:0>6}")
}

fn short(address: &Address) -> String {
    let text = address.to_string();
    format!("{}…{}", &text[..6], &text[text.len() - 4..])
}

impl Report {
    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n=== {} report: collateral prices -{}.{:02}% in {} step(s) ; all accounts under maintenance settled after {:.1}s ===",
            self.scenario,
            self.drop_bps / 100,
            self.drop_bps % 100,
            self.steps,
            self.wall_seconds
        );
        for chain in &self.chains {
            let _ = writeln!(
                out,
                "\nchain {}: crash in blocks {}, snapshot at block {}",
                chain.chain_id,
                chain.step_blocks.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                chain.snapshot_block
            );
            for asset in &chain.assets {
                let _ = writeln!(out, "  {}", asset.summary());
            }
            let _ = writeln!(
                out,
                "  accounts under maintenance: {} | liquidated: {} | settlements: {} | healthy untouched: {}/{} | still liquidatable: {}",
                chain.accounts_under.len(),
                chain.accounts_liquidated,
                chain.settlements.len(),
                chain.accounts_healthy.len() - chain.healthy_liquidated.len(),
                chain.accounts_healthy.len(),
                chain.still_liquidatable.len(),
            );
            let _ = writeln!(
                out,
                "  {:<14} {:>5} {:<22} {:>14} {:>12} {:>12} {:>7}",
                "account", "nonce", "winner", "repay USD", "premium USD", "bonus USD", "block"
            );
            for settlement in &chain.settlements {
                let _ = writeln!(
                    out,
                    "  {:<14} {:>5} {:<22} {:>14} {:>12} {:>12} {:>7}",
                    short(&settlement.account),
                    settlement.nonce,
                    settlement.solver,
                    units(settlement.repay),
                    units(settlement.premium),
                    units(settlement.seized_value.saturating_sub(settlement.repay)),
                    settlement.block
                );
            }
            let share = if chain.bonus_total.is_zero() {
                0.0
            } else {
                (chain.premium_total * U256::from(10_000u32) / chain.bonus_total).to::<u64>() as f64 / 100.0
            };
            let _ = writeln!(
                out,
                "  premium paid: {} USD (= {share:.2}% of the {} USD liquidation bonus) | beneficiary balance delta: {} USD{}",
                units(chain.premium_total),
                units(chain.bonus_total),
                units(chain.beneficiary_delta),
                if chain.premium_total == chain.beneficiary_delta { " (matches)" } else { " (MISMATCH)" }
            );
            let _ = writeln!(
                out,
                "  under → settled: blocks min/p50/p95/max {}/{}/{}/{} ; ms min/p50/p95/max {}/{}/{}/{}",
                chain.latency_blocks.min,
                chain.latency_blocks.p50,
                chain.latency_blocks.p95,
                chain.latency_blocks.max,
                chain.latency_ms.min,
                chain.latency_ms.p50,
                chain.latency_ms.p95,
                chain.latency_ms.max
            );
            if let Some(morpho) = &chain.morpho {
                out.push_str(&morpho.render());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_nearest_rank() {
        let stats = Stats::of(vec![5, 1, 3, 2, 4]);
        assert_eq!((stats.count, stats.min, stats.p50, stats.p95, stats.max), (5, 1, 3, 5, 5));
        assert_eq!(Stats::of(vec![]).count, 0);
    }

    #[test]
    fn percentages_and_cents_round_down() {
        assert_eq!(percent(U256::from(25_000_000_000_000_000u128)), "2.50%");
        assert_eq!(percent(U256::from(1_372_199_000_000_000_000u128)), "137.21%");
        assert_eq!(cents(U256::from(1_500 * WAD + WAD / 3)), "1500.33");
    }

    #[test]
    fn units_round_down_to_micro() {
        assert_eq!(units(U256::from(1_500_000_000_000_000_000u128)), "1.500000");
        assert_eq!(units(U256::from(999_999_999_999u64)), "0.000000");
    }
}
