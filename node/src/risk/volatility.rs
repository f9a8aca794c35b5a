//! Realised volatility for markets whose oracle declares none.
//!
//! The `MarginEngine`'s oracle router reports each collateral's one-hour volatility, and
//! the node widens the at-risk watchlist by a multiple of it. Morpho Blue's oracle reports
//! a price and nothing else, so the node measures how the price moves: an exponentially
//! weighted mean of squared log returns per second of chain time (RiskMetrics' decay,
//! λ = 0.94 per observation), scaled to one hour so that
//! [`crate::config::RiskConfig::at_risk_volatility_multiple`] means the same for both
//! kinds of market. Prices come from a stranger's contract: a zero, a non-finite ratio or
//! a block that does not move forward is skipped, never a panic.

use alloy::primitives::U256;

use super::math::to_f64;

/// Weight of the previous estimate at each new observation.
pub const DECAY: f64 = 0.94;
/// The horizon the estimate is scaled to, seconds (the engine's oracle reports one hour).
pub const HORIZON_SECS: f64 = 3_600.0;
/// Upper bound of the reported one-hour volatility (1000%): an oracle that jumps by
/// orders of magnitude widens the watchlist to everything, not to infinity.
pub const MAX_VOLATILITY: f64 = 10.0;

/// The estimate and the last observation it was updated from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RealizedVolatility {
    /// (block, timestamp, price) of the last observation.
    last: Option<(u64, u64, f64)>,
    /// Exponentially weighted variance of log returns per second.
    variance_per_sec: f64,
}

impl RealizedVolatility {
    /// Takes the price at `block` (with the block's `timestamp`). The same block twice
    /// changes nothing; a lower block (a reorg) restarts from it without a return.
    pub fn observe(&mut self, block: u64, timestamp: u64, price: U256) {
        let price = to_f64(price);
        if !(price.is_finite() && price > 0.0) {
            return;
        }
        match self.last {
            Some((last_block, last_time, last_price)) if block > last_block => {
                // Anvil and real chains can share a timestamp between blocks: count a second.
                let elapsed = timestamp.saturating_sub(last_time).max(1) as f64;
                let ret = (price / last_price).ln();
                if ret.is_finite() {
                    let sample = ret * ret / elapsed;
                    self.variance_per_sec = DECAY * self.variance_per_sec + (1.0 - DECAY) * sample;
                }
            }
            Some((last_block, _, _)) if block == last_block => return,
            _ => {}
        }
        self.last = Some((block, timestamp, price));
    }

    /// One-hour volatility (a fraction: 0.04 is 4%), at most [`MAX_VOLATILITY`].
    pub fn one_hour(&self) -> f64 {
        let volatility = (self.variance_per_sec * HORIZON_SECS).sqrt();
        if volatility.is_finite() {
            volatility.min(MAX_VOLATILITY)
        } else {
            MAX_VOLATILITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(units: f64) -> U256 {
        U256::from((units * 1e6) as u128) * U256::from(1_000_000_000_000u64)
    }

    #[test]
    fn a_steady_price_has_no_volatility_and_a_falling_one_does() {
        let mut steady = RealizedVolatility::default();
        for block in 0..50 {
            steady.observe(block, 1_000 + block, price(2_000.0));
        }
        assert_eq!(steady.one_hour(), 0.0);

        // 1.3% down a block (the devnet crash): per-second variance 0.013² ≈ 1.7e-4 after
        // enough blocks, so sqrt(1.7e-4 × 3600) ≈ 0.78 an hour.
        let mut crash = RealizedVolatility::default();
        let mut p = 2_000.0;
        for block in 0..200 {
            crash.observe(block, 1_000 + block, price(p));
            p *= 0.987;
        }
        let expected = ((0.987f64).ln().powi(2) * HORIZON_SECS).sqrt();
        assert!((crash.one_hour() - expected).abs() < 1e-3 * expected, "{} vs {expected}", crash.one_hour());
    }

    #[test]
    fn recent_moves_weigh_more_and_the_estimate_decays_when_calm() {
        let mut vol = RealizedVolatility::default();
        vol.observe(1, 1, price(100.0));
        vol.observe(2, 2, price(90.0));
        let after_drop = vol.one_hour();
        assert!(after_drop > 0.0);
        for block in 3..40 {
            vol.observe(block, block, price(90.0));
        }
        assert!(vol.one_hour() < after_drop * 0.5, "calm blocks decay the estimate");
    }

    #[test]
    fn repeated_blocks_reorgs_and_hostile_prices_do_not_count_or_panic() {
        let mut vol = RealizedVolatility::default();
        vol.observe(10, 100, price(100.0));
        vol.observe(10, 100, price(50.0));
        assert_eq!(vol.one_hour(), 0.0, "the same block twice is one observation");
        vol.observe(11, 100, U256::ZERO);
        vol.observe(11, 100, U256::MAX);
        assert!(vol.one_hour().is_finite());
        assert!(vol.one_hour() <= MAX_VOLATILITY);
        // A reorg back to block 5 restarts from there without a return.
        let before = vol.clone();
        vol.observe(5, 50, price(1.0));
        assert_eq!(vol.variance_per_sec, before.variance_per_sec);
        // Same timestamp on consecutive blocks counts one second, not a division by zero.
        vol.observe(6, 50, price(2.0));
        assert!(vol.one_hour().is_finite() && vol.one_hour() > 0.0);
    }
}
