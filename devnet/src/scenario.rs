//! Price scenarios run against a started devnet, and the report they end with.
//! The crash: every collateral's feeds drop together, in a few steps, on every chain at
//! once; after each step the devnet records the new observation in the `OracleRouter`, so
//! its volatility estimate (and with it every haircut) rises as the market falls. The
//! devnet asks the chain which accounts each step put under maintenance, waits until each
//! has been liquidated through `settle`, and then reads the outcome back from the chains.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, MarginEngine, MockPriceFeed, OracleRouter, TestToken};
use futures::future::try_join_all;

use crate::market::{dropped_price, step_prices};
use crate::report::{AssetReport, ChainReport, Report, SettlementRecord, Stats};
use crate::{Devnet, DevnetChain, DevnetError};

/// How often progress is printed while waiting.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);
/// Steps a crash takes by default, and the time between them.
pub const DEFAULT_CRASH_STEPS: u32 = 3;
pub const DEFAULT_STEP_INTERVAL: Duration = Duration::from_secs(1);

/// A price drop applied to every chain.
#[derive(Debug, Clone)]
pub struct Crash {
    pub drop_bps: u32,
    pub steps: u32,
    pub started: Instant,
    /// (symbol, feed price before, feed price after), 8 decimals.
    pub prices: Vec<(String, u128, u128)>,
    pub chains: Vec<ChainCrash>,
}

#[derive(Debug, Clone)]
pub struct ChainCrash {
    pub chain_id: u64,
    /// The block that carried the first step: settlements are looked for from here.
    pub block: u64,
    /// The block of every step (the last carries the final prices).
    pub step_blocks: Vec<u64>,
    /// When the devnet saw the first step's receipt.
    pub confirmed_at: Instant,
    /// Accounts liquidatable at some step's block, in opening order.
    pub under: Vec<Address>,
    /// For each account in `under`: the step block it was first liquidatable at, and when
    /// the devnet saw that block.
    pub under_since: HashMap<Address, (u64, Instant)>,
    /// Accounts liquidatable at no step.
    pub healthy: Vec<Address>,
    /// Beneficiary (insurance fund) USD balance just before the first step.
    pub beneficiary_before: U256,
    /// Price, volatility and haircut of every collateral before and after the crash.
    pub assets: Vec<AssetReport>,
}

/// A step of a crash that has just been mined, as [`Devnet::crash_in_steps_with`] reports it.
#[derive(Debug, Clone)]
pub struct CrashStep {
    /// 0 for the first step.
    pub index: usize,
    /// (chain id, block that carried the step) for every chain.
    pub blocks: Vec<(u64, u64)>,
}

/// First settlement the devnet observed for each account under maintenance.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// (chain id, account) → (block of the first Settled event, ms after the account went under).
    pub first_settlement: HashMap<(u64, Address), (u64, u64)>,
    pub finished_after: Duration,
}

impl Devnet {
    /// Drops every collateral price by `drop_bps` on every chain, in
    /// [`DEFAULT_CRASH_STEPS`] steps [`DEFAULT_STEP_INTERVAL`] apart.
    pub async fn crash(&self, drop_bps: u32) -> Result<Crash, DevnetError> {
        self.crash_in_steps(drop_bps, DEFAULT_CRASH_STEPS, DEFAULT_STEP_INTERVAL).await
    }

    /// Drops every collateral price by `drop_bps` on every chain, in `steps` equal steps
    /// `interval` apart. Each step moves all feeds of all assets in one block, with
    /// `router.update` for each asset in the same block (feeds of an asset never disagree,
    /// and each step is one volatility observation).
    pub async fn crash_in_steps(&self, drop_bps: u32, steps: u32, interval: Duration) -> Result<Crash, DevnetError> {
        self.crash_in_steps_with(drop_bps, steps, interval, |_| {}).await
    }

    /// [`Devnet::crash_in_steps`], calling `after_step` as soon as each step has been
    /// mined on every chain (before the pause to the next): a test can kill a node right
    /// then, in the middle of the auctions the step started.
    pub async fn crash_in_steps_with(
        &self,
        drop_bps: u32,
        steps: u32,
        interval: Duration,
        mut after_step: impl FnMut(&CrashStep),
    ) -> Result<Crash, DevnetError> {
        let steps = steps.max(1);
        let prices: Vec<(String, u128, u128)> = self
            .parameters
            .collaterals
            .iter()
            .map(|spec| (spec.symbol.clone(), spec.initial_price, dropped_price(spec.initial_price, drop_bps)))
            .collect();
        let schedule: Vec<Vec<u128>> = {
            let per_asset: Vec<Vec<u128>> = self
                .parameters
                .collaterals
                .iter()
                .map(|spec| step_prices(spec.initial_price, drop_bps, steps))
                .collect();
            (0..steps as usize).map(|step| per_asset.iter().map(|prices| prices[step]).collect()).collect()
        };
        crate::say!(
            "[devnet] crash: {} (-{}.{:02}%) in {steps} step(s) {}ms apart on {} chain(s)",
            prices
                .iter()
                .map(|(symbol, before, after)| format!("{symbol} {} → {}", before / 100_000_000, after / 100_000_000))
                .collect::<Vec<_>>()
                .join(", "),
            drop_bps / 100,
            drop_bps % 100,
            interval.as_millis(),
            self.chains.len()
        );

        let mut progress: Vec<ChainProgress> = try_join_all(self.chains.iter().map(before_crash)).await?;
        let started = Instant::now();
        for (index, step_prices) in schedule.iter().enumerate() {
            let step_started = Instant::now();
            try_join_all(self.chains.iter().zip(progress.iter_mut()).map(|(chain, progress)| async move {
                // The market moves first, the oracle follows: the arbitrageur trades the pools to
                // the step's prices, then the feeds publish them.
                crate::dex::follow_oracle(chain, step_prices, self.parameters.dex.arbitrage_fraction_bps).await?;
                let (block, at) = apply_prices(chain, step_prices, "crash").await?;
                progress.record_step(chain, block, at).await?;
                // The Morpho market's oracle follows the same drop; its keeper takes what crossed LLTV.
                if let Some(morpho) = &chain.morpho {
                    morpho.crash_step(&chain.chain, drop_bps.min(10_000) * (index as u32 + 1) / steps).await?;
                }
                Ok::<_, DevnetError>(())
            }))
            .await?;
            after_step(&CrashStep {
                index,
                blocks: self
                    .chains
                    .iter()
                    .zip(&progress)
                    .map(|(chain, progress)| {
                        (chain.chain.chain_id, progress.step_blocks.last().copied().unwrap_or_default())
                    })
                    .collect(),
            });
            for (chain, progress) in self.chains.iter().zip(&progress) {
                crate::say!(
                    "[devnet]   chain {}: step {}/{steps} in block {}; {} account(s) under maintenance so far",
                    chain.chain.chain_id,
                    index + 1,
                    progress.step_blocks.last().copied().unwrap_or_default(),
                    progress.under_since.len()
                );
            }
            if index + 1 < schedule.len() {
                tokio::time::sleep(interval.saturating_sub(step_started.elapsed())).await;
            }
        }

        let chains =
            try_join_all(self.chains.iter().zip(progress).map(|(chain, progress)| progress.finish(chain))).await?;
        for chain in &chains {
            crate::say!(
                "[devnet]   chain {}: {} account(s) under maintenance, {} healthy; {}",
                chain.chain_id,
                chain.under.len(),
                chain.healthy.len(),
                chain.assets.iter().map(AssetReport::summary).collect::<Vec<_>>().join(" ; ")
            );
        }
        Ok(Crash { drop_bps, steps, started, prices, chains })
    }

    /// Re-publishes every feed's current answer and records it in the router: the router
    /// treats rounds older than an hour as stale, so a long-running devnet must keep its
    /// feeds fresh. (A refresh is a zero return: it adds nothing to the volatility estimate,
    /// which decays with time alone.)
    pub async fn refresh_feeds(&self) -> Result<(), DevnetError> {
        for chain in &self.chains {
            let mut answers = Vec::new();
            for collateral in &chain.deployment.collaterals {
                let feed = MockPriceFeed::new(collateral.feeds[0], &chain.chain.provider);
                let answer = feed.answer().call().await.map_err(|error| chain.chain.error("feed.answer", error))?;
                answers.push(answer.into_raw().saturating_to::<u128>());
            }
            apply_prices(chain, &answers, "refresh").await?;
        }
        Ok(())
    }

    /// Waits until every account the crash put under has been settled at least once.
    pub async fn await_settlement(&self, crash: &Crash, timeout: Duration) -> Result<Observed, DevnetError> {
        let mut observed = Observed::default();
        let mut next_block: HashMap<u64, u64> =
            crash.chains.iter().map(|chain| (chain.chain_id, chain.block)).collect();
        let mut last_progress = Instant::now();
        loop {
            for (chain, chain_crash) in self.chains.iter().zip(&crash.chains) {
                let head = chain
                    .chain
                    .provider
                    .get_block_number()
                    .await
                    .map_err(|error| chain.chain.error("read head", error))?;
                let from = next_block[&chain.chain.chain_id];
                if head < from {
                    continue;
                }
                let settlement = LiquidationSettlement::new(chain.deployment.settlement, &chain.chain.provider);
                let logs = settlement
                    .Settled_filter()
                    .from_block(from)
                    .to_block(head)
                    .query()
                    .await
                    .map_err(|error| chain.chain.error("read Settled logs", error))?;
                for (event, log) in logs {
                    let block = log.block_number.unwrap_or(head);
                    let since = chain_crash
                        .under_since
                        .get(&event.account)
                        .map(|(_, at)| *at)
                        .unwrap_or(chain_crash.confirmed_at);
                    let elapsed_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
                    observed
                        .first_settlement
                        .entry((chain.chain.chain_id, event.account))
                        .or_insert((block, elapsed_ms));
                }
                next_block.insert(chain.chain.chain_id, head + 1);
            }

            // A dead node or solver will not settle anything: say so now, not at the timeout.
            self.check_processes()?;
            let pending = pending_accounts(crash, &observed);
            if pending.is_empty() {
                observed.finished_after = crash.started.elapsed();
                crate::say!(
                    "[devnet] every account under maintenance settled after {:.1}s",
                    observed.finished_after.as_secs_f64()
                );
                return Ok(observed);
            }
            if crash.started.elapsed() > timeout {
                return Err(DevnetError::Timeout {
                    what: "every account under maintenance to be settled".into(),
                    timeout,
                    pending: format!(
                        "{}; see the node logs ({}/nodes/node-*/node.log) and solver logs ({}/solvers/solver-*/solver.log)",
                        describe_pending(&pending, crash),
                        self.dir.display(),
                        self.dir.display()
                    ),
                });
            }
            if last_progress.elapsed() >= PROGRESS_INTERVAL {
                last_progress = Instant::now();
                crate::say!(
                    "[devnet] waiting for settlement ({:.0}s): {}",
                    crash.started.elapsed().as_secs_f64(),
                    self.settlement_progress(crash, &observed)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// After [`Devnet::await_settlement`]: waits until no account the crash put under is
    /// still liquidatable (later auction rounds with the next nonce). `Ok(false)` if some
    /// still are at the timeout; that is worth reporting, not failing over.
    pub async fn await_healthy(&self, crash: &Crash, timeout: Duration) -> Result<bool, DevnetError> {
        let started = Instant::now();
        let mut last_progress = Instant::now();
        loop {
            self.check_processes()?;
            let mut unhealthy = Vec::new();
            for (chain, chain_crash) in self.chains.iter().zip(&crash.chains) {
                let engine = MarginEngine::new(chain.deployment.engine, &chain.chain.provider);
                for account in &chain_crash.under {
                    let liquidatable = engine
                        .isLiquidatable(*account)
                        .call()
                        .await
                        .map_err(|error| chain.chain.error("engine.isLiquidatable", error))?;
                    if liquidatable {
                        unhealthy.push(format!("{} on chain {}", &account.to_string()[..10], chain_crash.chain_id));
                    }
                }
            }
            if unhealthy.is_empty() {
                crate::say!(
                    "[devnet] every liquidated account is back above maintenance after {:.1}s",
                    crash.started.elapsed().as_secs_f64()
                );
                return Ok(true);
            }
            if started.elapsed() > timeout {
                crate::say!("[devnet] still liquidatable after {timeout:?} more: {}", unhealthy.join(", "));
                return Ok(false);
            }
            if last_progress.elapsed() >= PROGRESS_INTERVAL {
                last_progress = Instant::now();
                crate::say!("[devnet] waiting for follow-up rounds: still liquidatable {}", unhealthy.join(", "));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn settlement_progress(&self, crash: &Crash, observed: &Observed) -> String {
        crash
            .chains
            .iter()
            .map(|chain| {
                let settled = chain
                    .under
                    .iter()
                    .filter(|account| observed.first_settlement.contains_key(&(chain.chain_id, **account)))
                    .count();
                let pending: Vec<String> = chain
                    .under
                    .iter()
                    .filter(|account| !observed.first_settlement.contains_key(&(chain.chain_id, **account)))
                    .map(|account| account.to_string()[..10].to_string())
                    .collect();
                format!(
                    "chain {} {settled}/{} settled{}",
                    chain.chain_id,
                    chain.under.len(),
                    if pending.is_empty() { String::new() } else { format!(" (pending {})", pending.join(", ")) }
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Reads the outcome back from the chains at their current heads.
    pub async fn report(&self, crash: &Crash, observed: &Observed) -> Result<Report, DevnetError> {
        // A flash-swap solver's awards name its FlashLiquidator contracts (issue #15).
        let solvers: HashMap<Address, String> = self
            .solvers
            .iter()
            .flat_map(|solver| {
                let name = solver.setup.name.clone();
                std::iter::once(solver.setup.executor.address())
                    .chain(solver.setup.flash_liquidators.values().copied())
                    .map(move |executor| (executor, name.clone()))
            })
            .collect();
        let mut chains = Vec::new();
        for (chain, chain_crash) in self.chains.iter().zip(&crash.chains) {
            chains.push(chain_report(chain, chain_crash, observed, &solvers).await?);
        }
        Ok(Report {
            scenario: "crash".into(),
            drop_bps: crash.drop_bps,
            steps: crash.steps,
            wall_seconds: observed.finished_after.as_secs_f64(),
            chains,
        })
    }
}

/// What the devnet tracks on one chain while a crash is under way.
struct ChainProgress {
    beneficiary_before: U256,
    before: Vec<AssetReading>,
    step_blocks: Vec<u64>,
    first_confirmed: Option<Instant>,
    under_since: HashMap<Address, (u64, Instant)>,
}

/// An asset's price (WAD), volatility and haircut (WAD) and anomaly flags at one block.
#[derive(Debug, Clone, Copy)]
struct AssetReading {
    price_wad: U256,
    volatility_wad: U256,
    haircut_wad: U256,
    flags: U256,
}

async fn before_crash(chain: &DevnetChain) -> Result<ChainProgress, DevnetError> {
    let provider = &chain.chain.provider;
    wait_past_last_observation(chain).await?;
    let head = provider.get_block_number().await.map_err(|error| chain.chain.error("read head", error))?;
    let usd = TestToken::new(chain.deployment.usd, provider);
    let beneficiary_before = usd
        .balanceOf(chain.deployment.beneficiary)
        .block(BlockId::number(head))
        .call()
        .await
        .map_err(|error| chain.chain.error("usd.balanceOf(beneficiary)", error))?;
    let before = read_assets(chain, head).await?;
    Ok(ChainProgress {
        beneficiary_before,
        before,
        step_blocks: Vec::new(),
        first_confirmed: None,
        under_since: HashMap::new(),
    })
}

/// The router records a round only if it is newer than its last observation (by timestamp).
/// Right after deployment the chain may still be in the second of the last observation;
/// waits for a later block so the first step counts as an observation too.
pub(crate) async fn wait_past_last_observation(chain: &DevnetChain) -> Result<(), DevnetError> {
    let provider = &chain.chain.provider;
    let router = OracleRouter::new(chain.deployment.oracle_router, provider);
    let mut last_observation = 0u64;
    for collateral in &chain.deployment.collaterals {
        let state = router
            .stateOf(collateral.token)
            .call()
            .await
            .map_err(|error| chain.chain.error("router.stateOf", error))?;
        last_observation = last_observation.max(state.observedAt.to::<u64>());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let head = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|error| chain.chain.error("read head block", error))?
            .ok_or_else(|| chain.chain.error("read head block", "no latest block"))?;
        if head.header.timestamp > last_observation || Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl ChainProgress {
    /// Notes the step's block and which accounts it put under maintenance (asked of the engine).
    async fn record_step(&mut self, chain: &DevnetChain, block: u64, at: Instant) -> Result<(), DevnetError> {
        self.step_blocks.push(block);
        self.first_confirmed.get_or_insert(at);
        let engine = MarginEngine::new(chain.deployment.engine, &chain.chain.provider);
        for position in &chain.positions {
            let account = position.address();
            if self.under_since.contains_key(&account) {
                continue;
            }
            let liquidatable = engine
                .isLiquidatable(account)
                .block(BlockId::number(block))
                .call()
                .await
                .map_err(|error| chain.chain.error("engine.isLiquidatable", error))?;
            if liquidatable {
                self.under_since.insert(account, (block, at));
            }
        }
        Ok(())
    }

    async fn finish(self, chain: &DevnetChain) -> Result<ChainCrash, DevnetError> {
        let last = *self.step_blocks.last().ok_or_else(|| chain.chain.error("crash", "no step was applied"))?;
        let after = read_assets(chain, last).await?;
        let assets = chain
            .deployment
            .collaterals
            .iter()
            .zip(self.before.iter().zip(after))
            .map(|(collateral, (before, after))| AssetReport {
                symbol: collateral.symbol.clone(),
                price_before: before.price_wad,
                price_after: after.price_wad,
                volatility_before: before.volatility_wad,
                volatility_after: after.volatility_wad,
                haircut_before: before.haircut_wad,
                haircut_after: after.haircut_wad,
                flags_after: after.flags.saturating_to(),
            })
            .collect();
        let (under, healthy): (Vec<Address>, Vec<Address>) = chain
            .positions
            .iter()
            .map(|position| position.address())
            .partition(|account| self.under_since.contains_key(account));
        Ok(ChainCrash {
            chain_id: chain.chain.chain_id,
            block: self.step_blocks[0],
            step_blocks: self.step_blocks,
            confirmed_at: self.first_confirmed.unwrap_or_else(Instant::now),
            under,
            under_since: self.under_since,
            healthy,
            beneficiary_before: self.beneficiary_before,
            assets,
        })
    }
}

async fn read_assets(chain: &DevnetChain, block: u64) -> Result<Vec<AssetReading>, DevnetError> {
    let provider = &chain.chain.provider;
    let router = OracleRouter::new(chain.deployment.oracle_router, provider);
    let engine = MarginEngine::new(chain.deployment.engine, provider);
    let at = BlockId::number(block);
    let mut readings = Vec::new();
    for collateral in &chain.deployment.collaterals {
        let peek = router
            .peek(collateral.token)
            .block(at)
            .call()
            .await
            .map_err(|error| chain.chain.error(&format!("router.peek({})", collateral.symbol), error))?;
        let haircut_wad = engine
            .haircutOf(collateral.token)
            .block(at)
            .call()
            .await
            .map_err(|error| chain.chain.error(&format!("engine.haircutOf({})", collateral.symbol), error))?;
        readings.push(AssetReading {
            price_wad: peek.priceWad,
            volatility_wad: peek.volatilityWad,
            haircut_wad,
            flags: peek.flags,
        });
    }
    Ok(readings)
}

/// Publishes `prices` (8 decimals, one per collateral in deployment order) on every feed of
/// each collateral and records each asset in the router, all in one block
/// ([`crate::run::apply_step`]). Returns the block and when the devnet saw it.
async fn apply_prices(chain: &DevnetChain, prices: &[u128], _what: &str) -> Result<(u64, Instant), DevnetError> {
    let step = crate::prices::PathStep {
        feeds: chain
            .deployment
            .collaterals
            .iter()
            .zip(prices)
            .map(|(collateral, price)| vec![Some(*price); collateral.feeds.len()])
            .collect(),
        market: prices.to_vec(),
        arbitrage_bps: 0,
        drain_bps: 0,
        base_fee_wei: None,
    };
    let block = crate::run::apply_step(chain, &step).await?;
    Ok((block, Instant::now()))
}

fn pending_accounts(crash: &Crash, observed: &Observed) -> Vec<(u64, Address)> {
    crash
        .chains
        .iter()
        .flat_map(|chain| chain.under.iter().map(move |account| (chain.chain_id, *account)))
        .filter(|key| !observed.first_settlement.contains_key(key))
        .collect()
}

fn describe_pending(pending: &[(u64, Address)], crash: &Crash) -> String {
    pending
        .iter()
        .map(|(chain_id, account)| {
            let block = crash
                .chains
                .iter()
                .find(|chain| chain.chain_id == *chain_id)
                .map(|chain| chain.under_since.get(account).map(|(block, _)| *block).unwrap_or(chain.block))
                .unwrap_or_default();
            format!("{account} on chain {chain_id} (under since block {block})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn chain_report(
    chain: &DevnetChain,
    crash: &ChainCrash,
    observed: &Observed,
    solvers: &HashMap<Address, String>,
) -> Result<ChainReport, DevnetError> {
    let provider = &chain.chain.provider;
    let error = |step: &str, error: alloy::contract::Error| chain.chain.error(step, error);
    let snapshot_block = provider.get_block_number().await.map_err(|error| chain.chain.error("read head", error))?;
    let at_snapshot = BlockId::number(snapshot_block);
    let settlement = LiquidationSettlement::new(chain.deployment.settlement, provider);
    let engine = MarginEngine::new(chain.deployment.engine, provider);
    let usd = TestToken::new(chain.deployment.usd, provider);

    let logs = settlement
        .Settled_filter()
        .from_block(crash.block)
        .to_block(snapshot_block)
        .query()
        .await
        .map_err(|e| error("read Settled logs", e))?;
    let mut settlements = Vec::new();
    let mut liquidated: BTreeMap<Address, usize> = BTreeMap::new();
    for (event, log) in logs {
        if event.marketId != chain.deployment.market_id {
            continue; // another market on this settlement (Morpho's is reported on its own)
        }
        *liquidated.entry(event.account).or_default() += 1;
        settlements.push(SettlementRecord {
            account: event.account,
            nonce: event.nonce.saturating_to(),
            executor: event.executor,
            solver: solvers.get(&event.executor).cloned().unwrap_or_else(|| "unknown".into()),
            repay: event.repayAmount,
            premium: event.premium,
            seized_value: event.seizedValue,
            block: log.block_number.unwrap_or_default(),
            intent_id: event.intentId,
            transaction: log.transaction_hash,
        });
    }
    let premium_total = settlements.iter().fold(U256::ZERO, |sum, settlement| sum + settlement.premium);
    let bonus_total = settlements
        .iter()
        .fold(U256::ZERO, |sum, settlement| sum + settlement.seized_value.saturating_sub(settlement.repay));
    let beneficiary_after = usd
        .balanceOf(chain.deployment.beneficiary)
        .block(at_snapshot)
        .call()
        .await
        .map_err(|e| error("usd.balanceOf", e))?;

    let mut still_liquidatable = Vec::new();
    for account in &crash.under {
        if engine
            .isLiquidatable(*account)
            .block(at_snapshot)
            .call()
            .await
            .map_err(|e| error("engine.isLiquidatable", e))?
        {
            still_liquidatable.push(*account);
        }
    }
    let healthy_liquidated =
        crash.healthy.iter().filter(|account| liquidated.contains_key(*account)).copied().collect();

    // From the step block that put each account under. Blocks come from the logs
    // themselves; milliseconds only from what the devnet observed.
    let first_blocks: Vec<u64> = crash
        .under
        .iter()
        .filter_map(|account| {
            let since = crash.under_since.get(account).map(|(block, _)| *block).unwrap_or(crash.block);
            settlements
                .iter()
                .find(|settlement| settlement.account == *account)
                .map(|settlement| settlement.block.saturating_sub(since))
        })
        .collect();
    let first_ms: Vec<u64> = crash
        .under
        .iter()
        .filter_map(|account| observed.first_settlement.get(&(crash.chain_id, *account)).map(|(_, ms)| *ms))
        .collect();
    Ok(ChainReport {
        chain_id: crash.chain_id,
        crash_block: crash.block,
        step_blocks: crash.step_blocks.clone(),
        snapshot_block,
        accounts_under: crash.under.clone(),
        accounts_healthy: crash.healthy.clone(),
        accounts_liquidated: crash.under.iter().filter(|account| liquidated.contains_key(*account)).count(),
        still_liquidatable,
        healthy_liquidated,
        settlements,
        premium_total,
        bonus_total,
        beneficiary_delta: beneficiary_after.saturating_sub(crash.beneficiary_before),
        latency_blocks: Stats::of(first_blocks),
        latency_ms: Stats::of(first_ms),
        assets: crash.assets.clone(),
        morpho: match &chain.morpho {
            Some(morpho) => Some(morpho.report(&chain.chain).await?),
            None => None,
        },
    })
}
