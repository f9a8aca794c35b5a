//! Running a scenario end to end on a started devnet: each step of its price path goes
//! into one block on every chain at once (feeds, router, DEX, base fee), the scenario's
//! events happen at their step (a node killed), and then the run waits until the markets
//! have settled down: nothing under water any more, or nothing changing for a while, or
//! the timeout. What happened is then read back from the chains ([`crate::scorecard`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_bindings::{MarginEngine, MockPriceFeed, OracleRouter, TestToken};
use futures::future::try_join_all;
use serde::Serialize;

use crate::market::feed_answer;
use crate::prices::{PathStep, ScenarioKind};
use crate::scan::MarketKind;
use crate::{Devnet, DevnetChain, DevnetError};

/// Fixed gas limits: anvil estimates against the latest block, whose timestamp may equal a
/// feed's `updatedAt` (making that store look free), and estimates `router.update` before
/// the new rounds exist (when it records nothing). Both estimates come out too low.
const SET_PRICE_GAS: u64 = 200_000;
const ROUTER_UPDATE_GAS: u64 = 400_000;
/// The devnet's price transactions must land in their block whatever the scenario does to
/// the base fee: they pay up to this much per gas, with a small tip (they are the market,
/// not a bidder).
const DEVNET_MAX_FEE: u128 = 2_000_000_000_000;
const DEVNET_TIP: u128 = 1_000_000_000;

/// How a run is driven.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub kind: ScenarioKind,
    pub seed: u64,
    /// Time between steps (one block each).
    pub step_interval: Duration,
    /// Longest wait after the last step for the markets to settle down.
    pub settle_timeout: Duration,
    /// The run ends early once no market's under-water count changed for this many blocks.
    pub quiet_blocks: u64,
}

impl RunSettings {
    pub fn new(kind: ScenarioKind, seed: u64) -> Self {
        Self {
            kind,
            seed,
            step_interval: Duration::from_secs(1),
            settle_timeout: Duration::from_secs(90),
            quiet_blocks: 30,
        }
    }
}

/// One step as it landed on one chain.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub chain_id: u64,
    pub index: usize,
    pub block: u64,
    /// Milliseconds after the run started that the devnet saw the step's block.
    pub at_ms: u64,
    pub step: PathStep,
}

/// A market's books before the run, to report changes against.
#[derive(Debug, Clone, Serialize)]
pub struct MarketBefore {
    pub chain_id: u64,
    pub kind: MarketKind,
    #[serde(serialize_with = "crate::report::decimal")]
    pub insurance_fund: U256,
    #[serde(serialize_with = "crate::report::decimal")]
    pub bad_debt: U256,
    #[serde(serialize_with = "crate::report::decimal")]
    pub total_shortfall: U256,
}

/// What a run did, for [`Devnet::scorecard`] to read the outcome against.
#[derive(Debug, Clone, Serialize)]
pub struct RunTrace {
    pub kind: ScenarioKind,
    pub seed: u64,
    pub path: Vec<PathStep>,
    /// Per chain: the last block before the first step.
    pub start_blocks: BTreeMap<u64, u64>,
    /// Per chain: the head when the run ended.
    pub end_blocks: BTreeMap<u64, u64>,
    pub steps: Vec<StepRecord>,
    pub before: Vec<MarketBefore>,
    /// The node the scenario killed, and the step it died at.
    pub killed: Option<(String, usize)>,
    /// Why the run stopped waiting: "settled", "quiet" or "timeout".
    pub ended: String,
    pub wall_seconds: f64,
    /// Milliseconds after the keepers started (their scans' clock) that the run started.
    pub scan_clock_offset_ms: u64,
}

impl Devnet {
    /// Runs `settings.kind` on every chain; see the module docs.
    pub async fn run(&self, settings: &RunSettings) -> Result<RunTrace, DevnetError> {
        let Some(fleet) = &self.keepers else {
            return Err(DevnetError::Setup(
                "a scenario run needs the keepers (DevnetBuilder::keepers) to watch the markets".into(),
            ));
        };
        let initial: Vec<u128> = self.parameters.collaterals.iter().map(|spec| spec.initial_price).collect();
        let feeds: Vec<usize> = self.parameters.collaterals.iter().map(|spec| spec.feeds).collect();
        let path = settings.kind.path(&initial, &feeds, settings.seed);
        let kill = settings.kind.node_kill(path.len());
        crate::say!(
            "[devnet] scenario {} (seed {}): {}; {} step(s) on {} chain(s)",
            settings.kind.name(),
            settings.seed,
            settings.kind.describe(),
            path.len(),
            self.chains.len()
        );

        let mut start_blocks = BTreeMap::new();
        let mut before = Vec::new();
        for chain in &self.chains {
            crate::scenario::wait_past_last_observation(chain).await?;
            let head = chain.chain.provider.get_block_number().await.map_err(|e| chain.chain.error("read head", e))?;
            start_blocks.insert(chain.chain.chain_id, head);
            for book in chain.books() {
                before.push(market_state(chain, book.kind, book.engine, book.insurance_fund, head).await?);
            }
        }
        let started = Instant::now();
        let scan_clock_offset_ms = fleet.elapsed_ms();
        let progress = crate::progress::bar(path.len() as u64, "price path");
        let mut steps = Vec::new();
        let mut killed = None;
        for (index, step) in path.iter().enumerate() {
            let step_started = Instant::now();
            let fraction_bps = u32::try_from(
                u64::from(step.arbitrage_bps) * u64::from(self.parameters.dex.arbitrage_fraction_bps) / 10_000,
            )
            .unwrap_or(10_000);
            let landed = try_join_all(self.chains.iter().map(|chain| async move {
                // The market moves first and the oracle follows: the arbitrageur trades the pools
                // to the step's market prices (in `oracle-lag` the pools lead the silent feed),
                // then the feeds publish. One after the other: an arbitrage racing the step's
                // block was refused by the pairs, and a pool behind the oracle is one a
                // flash-swap bot would overpay on.
                crate::dex::follow_oracle(chain, &step.market, fraction_bps).await?;
                let block = apply_step(chain, step).await?;
                if step.drain_bps > 0 {
                    let dex = chain.dex()?;
                    for pool in &chain.dex.pools {
                        dex.drain(pool.asset, step.drain_bps).await?;
                    }
                }
                Ok::<_, DevnetError>(block)
            }))
            .await?;
            // The Morpho market (if any) follows WETH's market price; its keeper sweeps after.
            if let Some(drop_bps) = weth_drop_bps(&self.parameters, step) {
                for chain in &self.chains {
                    if let Some(morpho) = &chain.morpho {
                        morpho.crash_step(&chain.chain, drop_bps).await?;
                    }
                }
            }
            for (chain, block) in self.chains.iter().zip(landed) {
                steps.push(StepRecord {
                    chain_id: chain.chain.chain_id,
                    index,
                    block,
                    at_ms: elapsed_ms(started),
                    step: step.clone(),
                });
            }
            if let Some((at, node)) = kill {
                if at == index {
                    if let Some(process) = self.nodes.get(node) {
                        process.kill()?;
                        progress.println(format!("[devnet] step {}: killed {}", index + 1, process.name()));
                        killed = Some((process.name().to_string(), index));
                    }
                }
            }
            progress.set_message(self.under_summary(fleet));
            progress.inc(1);
            if index + 1 < path.len() {
                tokio::time::sleep(settings.step_interval.saturating_sub(step_started.elapsed())).await;
            }
        }
        progress.finish_and_clear();

        let ended = self.settle_down(fleet, settings, killed.is_some()).await?;
        for chain in &self.chains {
            if let Some(morpho) = &chain.morpho {
                morpho.sweep(&chain.chain).await?;
            }
        }
        let mut end_blocks = BTreeMap::new();
        for chain in &self.chains {
            let head = chain.chain.provider.get_block_number().await.map_err(|e| chain.chain.error("read head", e))?;
            end_blocks.insert(chain.chain.chain_id, head);
        }
        Ok(RunTrace {
            kind: settings.kind,
            seed: settings.seed,
            path,
            start_blocks,
            end_blocks,
            steps,
            before,
            killed,
            ended,
            wall_seconds: started.elapsed().as_secs_f64(),
            scan_clock_offset_ms,
        })
    }

    /// Waits after the path: until no market has an account under water, or the counts have
    /// not changed for `quiet_blocks`, or the timeout. A dead process other than the node the
    /// scenario killed is an error.
    async fn settle_down(
        &self,
        fleet: &crate::keeper::KeeperFleet,
        settings: &RunSettings,
        node_killed: bool,
    ) -> Result<String, DevnetError> {
        let started = Instant::now();
        let spinner = crate::progress::spinner("waiting for the markets to settle down");
        let mut last_counts: Option<Vec<usize>> = None;
        let mut unchanged_since: Option<u64> = None;
        loop {
            if !node_killed {
                self.check_processes()?;
            } else {
                for solver in &self.solvers {
                    solver.process.check_alive()?;
                }
            }
            let (counts, newest) = fleet.latest_under(self.chains.len());
            spinner.set_message(self.under_summary(fleet));
            if newest.is_some() && counts.iter().all(|count| *count == 0) {
                spinner.finish_and_clear();
                return Ok("settled".into());
            }
            if let Some(newest) = newest {
                if last_counts.as_ref() != Some(&counts) {
                    last_counts = Some(counts);
                    unchanged_since = Some(newest);
                } else if unchanged_since.is_some_and(|since| newest >= since + settings.quiet_blocks) {
                    spinner.finish_and_clear();
                    return Ok("quiet".into());
                }
            }
            if started.elapsed() > settings.settle_timeout {
                spinner.finish_and_clear();
                return Ok("timeout".into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// "chain 31337: backstop 3 under, baseline 5 under | ..." from the keepers' last scans.
    fn under_summary(&self, fleet: &crate::keeper::KeeperFleet) -> String {
        fleet.describe_latest()
    }
}

/// How far below its starting price the step puts WETH, basis points (None without WETH).
fn weth_drop_bps(parameters: &crate::market::MarketParameters, step: &PathStep) -> Option<u32> {
    let index = parameters.collaterals.iter().position(|spec| spec.symbol == "WETH")?;
    let initial = parameters.collaterals[index].initial_price;
    let now = *step.market.get(index)?;
    if initial == 0 {
        return None;
    }
    let kept_bps = now.saturating_mul(10_000) / initial;
    Some(u32::try_from(10_000u128.saturating_sub(kept_bps)).unwrap_or(10_000))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

async fn market_state(
    chain: &DevnetChain,
    kind: MarketKind,
    engine: Address,
    insurance_fund: Address,
    block: u64,
) -> Result<MarketBefore, DevnetError> {
    let provider = &chain.chain.provider;
    let at = BlockId::number(block);
    let engine = MarginEngine::new(engine, provider);
    let usd = TestToken::new(chain.deployment.usd, provider);
    let error = |what: &str, error: alloy::contract::Error| chain.chain.error(what, error);
    Ok(MarketBefore {
        chain_id: chain.chain.chain_id,
        kind,
        insurance_fund: usd.balanceOf(insurance_fund).block(at).call().await.map_err(|e| error("usd.balanceOf", e))?,
        bad_debt: engine.badDebt().block(at).call().await.map_err(|e| error("engine.badDebt", e))?,
        total_shortfall: engine
            .totalShortfall()
            .block(at)
            .call()
            .await
            .map_err(|e| error("engine.totalShortfall", e))?,
    })
}

/// Puts one step into one block of `chain`: the feeds that speak publish, the router
/// records every asset one of whose feeds spoke, and the base fee is pushed if the step says
/// so. The block clock is held while the transactions go in and the block is mined.
/// Returns the step's block.
pub async fn apply_step(chain: &DevnetChain, step: &PathStep) -> Result<u64, DevnetError> {
    let local = &chain.chain;
    let paused = local.pause_mining().await;
    let sent = send_step(chain, step).await;
    let pushed = match step.base_fee_wei {
        Some(fee) => local
            .provider
            .raw_request::<_, serde_json::Value>("anvil_setNextBlockBaseFeePerGas".into(), (U256::from(fee),))
            .await
            .map(|_| ())
            .map_err(|error| local.error("set the next base fee", error)),
        None => Ok(()),
    };
    let mined = local.mine_block().await;
    drop(paused);
    let pending = sent?;
    pushed?;
    mined?;
    let mut block = None;
    for (what, pending) in pending {
        let receipt = local.confirm(&what, Ok(pending)).await?;
        let landed = receipt.block_number.ok_or_else(|| local.error(&what, "receipt without a block number"))?;
        match block {
            None => block = Some(landed),
            Some(first) if first != landed => {
                return Err(local.error(&what, format!("landed in block {landed}, not with the rest in {first}")))
            }
            Some(_) => {}
        }
    }
    match block {
        Some(block) => Ok(block),
        // A step where nothing speaks still takes its block.
        None => local.provider.get_block_number().await.map_err(|error| local.error("read head", error)),
    }
}

type PendingTx = alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>;

async fn send_step(chain: &DevnetChain, step: &PathStep) -> Result<Vec<(String, PendingTx)>, DevnetError> {
    let provider = &chain.chain.provider;
    let router = OracleRouter::new(chain.deployment.oracle_router, provider);
    let mut pending = Vec::new();
    for (collateral, answers) in chain.deployment.collaterals.iter().zip(&step.feeds) {
        let mut spoke = false;
        for (index, (feed, answer)) in collateral.feeds.iter().zip(answers).enumerate() {
            let Some(answer) = answer else { continue };
            spoke = true;
            let what = format!("{} feed {index} setPrice", collateral.symbol);
            let tx = MockPriceFeed::new(*feed, provider)
                .setPrice(feed_answer(*answer))
                .gas(SET_PRICE_GAS)
                .max_fee_per_gas(DEVNET_MAX_FEE)
                .max_priority_fee_per_gas(DEVNET_TIP)
                .send()
                .await
                .map_err(|error| chain.chain.error(&what, error))?;
            pending.push((what, tx));
        }
        if spoke {
            let what = format!("router.update({})", collateral.symbol);
            let tx = router
                .update(collateral.token)
                .gas(ROUTER_UPDATE_GAS)
                .max_fee_per_gas(DEVNET_MAX_FEE)
                .max_priority_fee_per_gas(DEVNET_TIP)
                .send()
                .await
                .map_err(|error| chain.chain.error(&what, error))?;
            pending.push((what, tx));
        }
    }
    Ok(pending)
}
