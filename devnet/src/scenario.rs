//! Price scenarios run against a started devnet, and the report they end with.
//! The crash: every chain's feed drops at once; the devnet records which accounts went
//! under in which block, waits until each has been liquidated through `settle`, and then
//! reads the outcome back from the chains.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use backstop_protocol::bindings::{LiquidationSettlement, MarginEngine, MockPriceFeed, TestToken};
use futures::future::try_join_all;

use crate::market::{dropped_price, feed_answer};
use crate::report::{ChainReport, Report, SettlementRecord, Stats};
use crate::{Devnet, DevnetChain, DevnetError};

/// How often progress is printed while waiting.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// A price drop applied to every chain.
#[derive(Debug, Clone)]
pub struct Crash {
    pub drop_bps: u32,
    pub price: u128,
    pub started: Instant,
    pub chains: Vec<ChainCrash>,
}

#[derive(Debug, Clone)]
pub struct ChainCrash {
    pub chain_id: u64,
    /// The block that carried the new price: under-water accounts went under here.
    pub block: u64,
    /// When the devnet saw that block's receipt.
    pub confirmed_at: Instant,
    /// Accounts liquidatable at `block`.
    pub under: Vec<Address>,
    pub healthy: Vec<Address>,
    /// Beneficiary USD balance just before the drop.
    pub beneficiary_before: U256,
}

/// First settlement the devnet observed for each under-water account.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// (chain id, account) → (block of the first Settled event, ms after the drop).
    pub first_settlement: HashMap<(u64, Address), (u64, u64)>,
    pub finished_after: Duration,
}

impl Devnet {
    /// Drops the collateral price by `drop_bps` on every chain at once.
    pub async fn crash(&self, drop_bps: u32) -> Result<Crash, DevnetError> {
        let price = dropped_price(self.parameters.initial_price, drop_bps);
        eprintln!(
            "[devnet] crash: WETH {} → {} USD on {} chain(s)",
            self.parameters.initial_price / 100_000_000,
            price / 100_000_000,
            self.chains.len()
        );
        let started = Instant::now();
        let chains = try_join_all(self.chains.iter().map(|chain| crash_chain(chain, price))).await?;
        for chain in &chains {
            eprintln!(
                "[devnet]   chain {}: price set in block {}; {} account(s) under maintenance, {} healthy",
                chain.chain_id,
                chain.block,
                chain.under.len(),
                chain.healthy.len()
            );
        }
        Ok(Crash { drop_bps, price, started, chains })
    }

    /// Re-publishes every feed's current answer: MarginEngine treats rounds older than an
    /// hour as broken, so a long-running devnet must keep its feeds fresh.
    pub async fn refresh_feeds(&self) -> Result<(), DevnetError> {
        for chain in &self.chains {
            let feed = MockPriceFeed::new(chain.deployment.feed, &chain.chain.provider);
            let answer = feed.answer().call().await.map_err(|error| chain.chain.error("feed.answer", error))?;
            chain.chain.confirm("feed.setPrice (refresh)", feed.setPrice(answer).gas(200_000).send().await).await?;
        }
        Ok(())
    }

    /// Waits until every account the crash put under has been settled at least once.
    pub async fn await_settlement(&self, crash: &Crash, timeout: Duration) -> Result<Observed, DevnetError> {
        let mut observed = Observed::default();
        let mut next_block: HashMap<u64, u64> = crash.chains.iter().map(|chain| (chain.chain_id, chain.block)).collect();
        let mut last_progress = Instant::now();
        loop {
            for (chain, chain_crash) in self.chains.iter().zip(&crash.chains) {
                let head = chain.chain.provider.get_block_number().await.map_err(|error| chain.chain.error("read head", error))?;
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
                let elapsed_ms = u64::try_from(chain_crash.confirmed_at.elapsed().as_millis()).unwrap_or(u64::MAX);
                for (event, log) in logs {
                    let block = log.block_number.unwrap_or(head);
                    observed.first_settlement.entry((chain.chain.chain_id, event.account)).or_insert((block, elapsed_ms));
                }
                next_block.insert(chain.chain.chain_id, head + 1);
            }

            // A dead node or solver will not settle anything: say so now, not at the timeout.
            self.check_processes()?;
            let pending = pending_accounts(crash, &observed);
            if pending.is_empty() {
                observed.finished_after = crash.started.elapsed();
                eprintln!("[devnet] every under-water account settled after {:.1}s", observed.finished_after.as_secs_f64());
                return Ok(observed);
            }
            if crash.started.elapsed() > timeout {
                return Err(DevnetError::Timeout {
                    what: "every under-water account to be settled".into(),
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
                eprintln!(
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
                eprintln!("[devnet] every liquidated account is back above maintenance after {:.1}s", crash.started.elapsed().as_secs_f64());
                return Ok(true);
            }
            if started.elapsed() > timeout {
                eprintln!("[devnet] still liquidatable after {timeout:?} more: {}", unhealthy.join(", "));
                return Ok(false);
            }
            if last_progress.elapsed() >= PROGRESS_INTERVAL {
                last_progress = Instant::now();
                eprintln!("[devnet] waiting for follow-up rounds: still liquidatable {}", unhealthy.join(", "));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn settlement_progress(&self, crash: &Crash, observed: &Observed) -> String {
        crash
            .chains
            .iter()
            .map(|chain| {
                let settled =
                    chain.under.iter().filter(|account| observed.first_settlement.contains_key(&(chain.chain_id, **account))).count();
                let pending: Vec<String> = chain
                    .under
                    .iter()
                    .filter(|account| !observed.first_settlement.contains_key(&(chain.chain_id, **account)))
                    .map(|account| account.to_string()[..10].to_string())
                    .collect();
                format!("chain {} {settled}/{} settled{}", chain.chain_id, chain.under.len(), if pending.is_empty() {
                    String::new()
                } else {
                    format!(" (pending {})", pending.join(", "))
                })
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Reads the outcome back from the chains at their current heads.
    pub async fn report(&self, crash: &Crash, observed: &Observed) -> Result<Report, DevnetError> {
        let solvers: HashMap<Address, String> =
            self.solvers.iter().map(|solver| (solver.setup.executor.address(), solver.setup.name.clone())).collect();
        let mut chains = Vec::new();
        for (chain, chain_crash) in self.chains.iter().zip(&crash.chains) {
            chains.push(chain_report(chain, chain_crash, observed, &solvers).await?);
        }
        Ok(Report {
            scenario: "crash".into(),
            drop_bps: crash.drop_bps,
            wall_seconds: observed.finished_after.as_secs_f64(),
            chains,
        })
    }
}

async fn crash_chain(chain: &DevnetChain, price: u128) -> Result<ChainCrash, DevnetError> {
    let provider = &chain.chain.provider;
    let feed = MockPriceFeed::new(chain.deployment.feed, provider);
    let engine = MarginEngine::new(chain.deployment.engine, provider);
    let usd = TestToken::new(chain.deployment.usd, provider);
    // A fixed gas limit: anvil estimates against the latest block, whose timestamp may equal
    // the feed's `updatedAt`, which makes that store look free and the estimate too low.
    let receipt =
        chain.chain.confirm("feed.setPrice", feed.setPrice(feed_answer(price)).gas(200_000).send().await).await?;
    let confirmed_at = Instant::now();
    let block = receipt.block_number.ok_or_else(|| chain.chain.error("feed.setPrice", "receipt without a block number"))?;

    let mut under = Vec::new();
    let mut healthy = Vec::new();
    for position in &chain.positions {
        let liquidatable = engine
            .isLiquidatable(position.address())
            .block(BlockId::number(block))
            .call()
            .await
            .map_err(|error| chain.chain.error("engine.isLiquidatable", error))?;
        if liquidatable {
            under.push(position.address());
        } else {
            healthy.push(position.address());
        }
    }
    let beneficiary_before = usd
        .balanceOf(chain.deployment.beneficiary)
        .block(BlockId::number(block.saturating_sub(1)))
        .call()
        .await
        .map_err(|error| chain.chain.error("usd.balanceOf(beneficiary)", error))?;
    Ok(ChainCrash { chain_id: chain.chain.chain_id, block, confirmed_at, under, healthy, beneficiary_before })
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
            let block = crash.chains.iter().find(|chain| chain.chain_id == *chain_id).map(|chain| chain.block).unwrap_or_default();
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
    let bonus_total =
        settlements.iter().fold(U256::ZERO, |sum, settlement| sum + settlement.seized_value.saturating_sub(settlement.repay));
    let beneficiary_after =
        usd.balanceOf(chain.deployment.beneficiary).block(at_snapshot).call().await.map_err(|e| error("usd.balanceOf", e))?;

    let mut still_liquidatable = Vec::new();
    for account in &crash.under {
        if engine.isLiquidatable(*account).block(at_snapshot).call().await.map_err(|e| error("engine.isLiquidatable", e))? {
            still_liquidatable.push(*account);
        }
    }
    let healthy_liquidated = crash.healthy.iter().filter(|account| liquidated.contains_key(*account)).copied().collect();

    // Blocks come from the logs themselves; milliseconds only from what the devnet observed.
    let first_blocks: Vec<u64> = crash
        .under
        .iter()
        .filter_map(|account| settlements.iter().find(|settlement| settlement.account == *account))
        .map(|settlement| settlement.block.saturating_sub(crash.block))
        .collect();
    let first_ms: Vec<u64> = crash
        .under
        .iter()
        .filter_map(|account| observed.first_settlement.get(&(crash.chain_id, *account)).map(|(_, ms)| *ms))
        .collect();
    Ok(ChainReport {
        chain_id: crash.chain_id,
        crash_block: crash.block,
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
    })
}
