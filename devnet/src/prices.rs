//! Price paths: what every scenario does to the world, one step per block. A step says
//! what each oracle feed publishes (or that it stays silent), where arbitrage pushes each
//! DEX pool, how much DEX depth is withdrawn and what the base fee is pushed to. Paths are
//! pure functions of the scenario and its seed, so a run is reproducible and the paths
//! are tested here without a chain.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// One block's worth of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    /// Per collateral (listing order), per feed: the answer to publish (8 decimals), or
    /// `None` when that feed stays silent this block (a stale or lagging oracle).
    pub feeds: Vec<Vec<Option<u128>>>,
    /// Per collateral: the price the rest of the market trades at (8 decimals). Arbitrage
    /// moves each DEX pool towards it.
    pub market: Vec<u128>,
    /// Share of the gap between pool and market price that arbitrage closes this block.
    pub arbitrage_bps: u32,
    /// Share of the DEX liquidity the liquidity providers withdraw this block.
    pub drain_bps: u32,
    /// Base fee the next block is pushed to (wei), when the scenario congests the chain.
    pub base_fee_wei: Option<u128>,
}

/// The built-in scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// A 40% fall over 30 blocks, accelerating, so volatility rises as it goes.
    Crash,
    /// A sharp 30% drop and a recovery within a few blocks.
    Wick,
    /// One feed of the first collateral goes silent while the market falls, then jumps.
    OracleLag,
    /// The crash under a base fee pushed up twentyfold.
    Congestion,
    /// The crash while liquidity providers drain the DEX pools.
    ThinLiquidity,
    /// The crash, with one committee node killed a third of the way in.
    NodeLoss,
    /// The crash, with the best-bidding solver never settling what it wins.
    SolverNoShow,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 7] = [
        Self::Crash,
        Self::Wick,
        Self::OracleLag,
        Self::Congestion,
        Self::ThinLiquidity,
        Self::NodeLoss,
        Self::SolverNoShow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Crash => "crash",
            Self::Wick => "wick",
            Self::OracleLag => "oracle-lag",
            Self::Congestion => "congestion",
            Self::ThinLiquidity => "thin-liquidity",
            Self::NodeLoss => "node-loss",
            Self::SolverNoShow => "solver-no-show",
        }
    }

    /// One line for `--help` and the report.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Crash => "every collateral falls 40% over 30 blocks, accelerating (volatility rises)",
            Self::Wick => "a 30% drop in 3 blocks, recovered within 3 more",
            Self::OracleLag => "one feed of the first collateral is silent while the market falls 30%, then jumps",
            Self::Congestion => "the crash while the base fee is pushed up twentyfold",
            Self::ThinLiquidity => "the crash while liquidity providers withdraw most of the DEX depth",
            Self::NodeLoss => "the crash with one committee node killed a third of the way in",
            Self::SolverNoShow => "the crash with the best-bidding solver never settling",
        }
    }

    /// The kill of `node-loss`: (step index, node index).
    pub fn node_kill(self, steps: usize) -> Option<(usize, usize)> {
        (self == Self::NodeLoss).then_some((steps / 3, 0))
    }

    /// The price path of this scenario for collaterals starting at `initial` (8 decimals,
    /// one per listed collateral, each with `feeds` feeds).
    pub fn path(self, initial: &[u128], feeds: &[usize], seed: u64) -> Vec<PathStep> {
        let mut rng = StdRng::seed_from_u64(seed);
        match self {
            Self::Crash | Self::NodeLoss | Self::SolverNoShow => crash(initial, feeds, &mut rng, |_| None, |_| 0),
            Self::Congestion => crash(
                initial,
                feeds,
                &mut rng,
                // 2 gwei rising to 40 gwei: twentyfold.
                |step| Some(2_000_000_000 + 38_000_000_000 * step as u128 / (CRASH_STEPS as u128 - 1)),
                |_| 0,
            ),
            // Each step withdraws 10% of what is left: about 4% of the depth remains at the end.
            Self::ThinLiquidity => crash(initial, feeds, &mut rng, |_| None, |_| 1_000),
            Self::Wick => wick(initial, feeds),
            Self::OracleLag => oracle_lag(initial, feeds, &mut rng),
        }
    }
}

/// Blocks the crash takes, and how far it falls.
pub const CRASH_STEPS: usize = 30;
pub const CRASH_DROP_BPS: u32 = 4_000;

/// Per-step noise of the crash's returns, in basis points of the price (either way).
const NOISE_BPS: i64 = 25;

/// `initial` falling by `CRASH_DROP_BPS` over `CRASH_STEPS`, each step's fall growing
/// linearly (so realised volatility rises), plus seeded noise that leaves the end point exact.
fn crash(
    initial: &[u128],
    feeds: &[usize],
    rng: &mut StdRng,
    base_fee: impl Fn(usize) -> Option<u128>,
    drain_bps: impl Fn(usize) -> u32,
) -> Vec<PathStep> {
    // Step k falls by weight (k + 1): the cumulative share after step k is (k+1)(k+2) / (n(n+1)).
    let n = CRASH_STEPS as u128;
    let total = n * (n + 1);
    let noise: Vec<Vec<i64>> = (0..CRASH_STEPS)
        .map(|step| {
            initial
                .iter()
                .map(|_| if step + 1 == CRASH_STEPS { 0 } else { rng.gen_range(-NOISE_BPS..=NOISE_BPS) })
                .collect()
        })
        .collect();
    (0..CRASH_STEPS)
        .map(|step| {
            let k = step as u128 + 1;
            let fallen_bps = u128::from(CRASH_DROP_BPS) * k * (k + 1) / total;
            let prices: Vec<u128> = initial
                .iter()
                .zip(&noise[step])
                .map(|(&start, &noise)| with_noise(scale(start, 10_000 - fallen_bps), noise))
                .collect();
            PathStep {
                feeds: all_feeds(&prices, feeds),
                market: prices,
                arbitrage_bps: 10_000,
                drain_bps: drain_bps(step),
                base_fee_wei: base_fee(step),
            }
        })
        .collect()
}

/// Down 10% a block for three blocks, one block at the bottom, back up to 95% of the
/// start in three, then five calm blocks.
fn wick(initial: &[u128], feeds: &[usize]) -> Vec<PathStep> {
    let levels_bps: [u128; 12] = [9_000, 8_000, 7_000, 7_000, 7_800, 8_700, 9_500, 9_500, 9_500, 9_500, 9_500, 9_500];
    levels_bps
        .iter()
        .map(|&level| {
            let prices: Vec<u128> = initial.iter().map(|&start| scale(start, level)).collect();
            PathStep {
                feeds: all_feeds(&prices, feeds),
                market: prices,
                arbitrage_bps: 10_000,
                drain_bps: 0,
                base_fee_wei: None,
            }
        })
        .collect()
}

/// The market falls 30% over 10 blocks; the first feed of the first collateral stays at
/// the starting price for the first 8 (the router sees two feeds that disagree), then
/// jumps to the market. Every other feed follows the market; the DEX follows the market.
fn oracle_lag(initial: &[u128], feeds: &[usize], rng: &mut StdRng) -> Vec<PathStep> {
    const STEPS: usize = 14;
    const FALL_STEPS: u128 = 10;
    const SILENT_STEPS: usize = 8;
    (0..STEPS)
        .map(|step| {
            let k = (step as u128 + 1).min(FALL_STEPS);
            let noise = if step + 1 >= FALL_STEPS as usize { 0 } else { rng.gen_range(-NOISE_BPS..=NOISE_BPS) };
            let prices: Vec<u128> =
                initial.iter().map(|&start| with_noise(scale(start, 10_000 - 3_000 * k / FALL_STEPS), noise)).collect();
            let mut published = all_feeds(&prices, feeds);
            if step < SILENT_STEPS {
                if let Some(first) = published.first_mut().and_then(|feeds| feeds.first_mut()) {
                    *first = None;
                }
            }
            PathStep { feeds: published, market: prices, arbitrage_bps: 10_000, drain_bps: 0, base_fee_wei: None }
        })
        .collect()
}

fn all_feeds(prices: &[u128], feeds: &[usize]) -> Vec<Vec<Option<u128>>> {
    prices.iter().zip(feeds).map(|(&price, &count)| vec![Some(price); count]).collect()
}

fn scale(price: u128, bps: u128) -> u128 {
    price * bps / 10_000
}

fn with_noise(price: u128, noise_bps: i64) -> u128 {
    let moved = price / 10_000 * u128::from(noise_bps.unsigned_abs());
    if noise_bps >= 0 {
        price + moved
    } else {
        price - moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: [u128; 2] = [2_000 * 100_000_000, 60_000 * 100_000_000];
    const FEEDS: [usize; 2] = [2, 2];

    #[test]
    fn the_crash_ends_forty_percent_down_with_rising_steps_and_is_reproducible() {
        let path = ScenarioKind::Crash.path(&START, &FEEDS, 7);
        assert_eq!(path.len(), CRASH_STEPS);
        assert_eq!(path, ScenarioKind::Crash.path(&START, &FEEDS, 7));
        assert_ne!(path, ScenarioKind::Crash.path(&START, &FEEDS, 8));
        let last = path.last().unwrap();
        assert_eq!(last.market, vec![1_200 * 100_000_000, 36_000 * 100_000_000]);
        // Later steps fall further than early ones (beyond the noise).
        let fall = |step: usize| path[step - 1].market[0] as i128 - path[step].market[0] as i128;
        assert!(fall(CRASH_STEPS - 1) > 3 * fall(1), "{} vs {}", fall(CRASH_STEPS - 1), fall(1));
        for step in &path {
            assert_eq!(step.feeds, vec![vec![Some(step.market[0]); 2], vec![Some(step.market[1]); 2]]);
            assert_eq!((step.drain_bps, step.base_fee_wei), (0, None));
        }
    }

    #[test]
    fn congestion_pushes_the_base_fee_up_twentyfold_and_thin_liquidity_drains() {
        let congested = ScenarioKind::Congestion.path(&START, &FEEDS, 1);
        let first = congested[0].base_fee_wei.unwrap();
        let last = congested.last().unwrap().base_fee_wei.unwrap();
        assert_eq!(last, 20 * first);
        assert_eq!(
            congested.iter().map(|step| &step.market).collect::<Vec<_>>(),
            ScenarioKind::Crash.path(&START, &FEEDS, 1).iter().map(|step| &step.market).collect::<Vec<_>>()
        );
        assert!(ScenarioKind::ThinLiquidity.path(&START, &FEEDS, 1).iter().all(|step| step.drain_bps == 1_000));
    }

    #[test]
    fn the_wick_recovers_and_the_lagging_feed_is_silent_then_jumps() {
        let wick = ScenarioKind::Wick.path(&START, &FEEDS, 1);
        let lowest = wick.iter().map(|step| step.market[0]).min().unwrap();
        assert_eq!(lowest, 1_400 * 100_000_000);
        assert_eq!(wick.last().unwrap().market[0], 1_900 * 100_000_000);

        let lag = ScenarioKind::OracleLag.path(&START, &FEEDS, 3);
        let silent: Vec<bool> = lag.iter().map(|step| step.feeds[0][0].is_none()).collect();
        assert!(silent[..8].iter().all(|&s| s) && silent[8..].iter().all(|&s| !s), "{silent:?}");
        assert!(lag.iter().all(|step| step.feeds[0][1].is_some() && step.feeds[1].iter().all(Option::is_some)));
        assert_eq!(lag[8].feeds[0][0], Some(lag[8].market[0]));
        assert_eq!(lag.last().unwrap().market[0], 1_400 * 100_000_000);
    }

    #[test]
    fn node_loss_kills_a_node_a_third_of_the_way_in() {
        assert_eq!(ScenarioKind::NodeLoss.node_kill(30), Some((10, 0)));
        assert_eq!(ScenarioKind::Crash.node_kill(30), None);
        assert_eq!(ScenarioKind::ALL.len(), 7);
        assert_eq!(ScenarioKind::ALL.map(ScenarioKind::name).into_iter().collect::<Vec<_>>().len(), 7);
    }
}
