//! Chain watching: one task per chain polls for new blocks, backfills logs from the
//! stored cursor (so a restart or a dead RPC never skips a block), discovers markets
//! from the settlement contract's registrations, indexes accounts from the markets'
//! `PositionChanged` logs, and scans account health at the head.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use backstop_bindings::{IMarginMarket, LiquidationSettlement, SolverRegistry};
use backstop_protocol::auction::IntentFacts;
use backstop_protocol::message::Intent;
use tokio::sync::mpsc;

use crate::config::ChainConfig;
use crate::observe;
use crate::store::Store;

/// Largest block range asked of `eth_getLogs` at once.
const MAX_LOG_RANGE: u64 = 2_000;
/// How far back the watcher re-indexes after detecting a reorg. Re-indexing is
/// idempotent, so a generous depth only costs RPC calls.
const REORG_REWIND: u64 = 64;
/// Backoff cap after RPC failures.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A market registered on a chain's settlement contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub chain_id: u64,
    pub settlement: Address,
    pub market_id: B256,
    pub adapter: Address,
    pub debt_asset: Address,
    pub collateral_assets: Vec<Address>,
    pub reserve_premium: U256,
}

/// An account confirmed liquidatable on-chain at `observed_block`.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub market: Market,
    pub account: Address,
    pub nonce: U256,
    pub max_repay: U256,
    pub observed_block: u64,
    pub observed_price: U256,
}

/// What a chain watcher tells the node.
#[derive(Debug, Clone)]
pub enum ChainEvent {
    Market(Market),
    Candidate(Candidate),
    Settled {
        chain_id: u64,
        intent_id: B256,
        executor: Address,
        premium: U256,
        block: u64,
    },
    /// The account was liquidated through the settlement's open (fallback) path: the
    /// auction for that nonce can no longer settle.
    OpenLiquidated {
        chain_id: u64,
        intent_id: B256,
        liquidator: Address,
        block: u64,
    },
    /// The settlement's committee changed; the new attester set.
    Committee {
        chain_id: u64,
        attesters: Vec<Address>,
    },
    /// A solver key's bond by `executor` started (`admitted`) or stopped backing it.
    Solver {
        chain_id: u64,
        solver: B256,
        executor: Address,
        admitted: bool,
    },
    /// The block at the cursor is no longer canonical; indexing restarts further back.
    Reorg {
        chain_id: u64,
        at_block: u64,
        rewound_to: u64,
    },
    Head {
        chain_id: u64,
        block: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("invalid rpc_url {url} for chain {chain_id}: {reason}")]
    Url { chain_id: u64, url: String, reason: String },
    #[error("rpc error on chain {chain_id}: {reason}")]
    Rpc { chain_id: u64, reason: String },
    #[error(
        "settlement contract {settlement} on chain {chain_id} has no code: is the config (or devnet manifest) stale?"
    )]
    NoCode { chain_id: u64, settlement: Address },
    #[error("chain {chain_id}: the RPC reports chain id {actual}; check rpc_url")]
    WrongChain { chain_id: u64, actual: u64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn rpc(chain_id: u64) -> impl Fn(alloy::contract::Error) -> ChainError {
    move |error| ChainError::Rpc { chain_id, reason: error.to_string() }
}

fn transport(chain_id: u64) -> impl Fn(alloy::transports::TransportError) -> ChainError {
    move |error| ChainError::Rpc { chain_id, reason: error.to_string() }
}

pub fn provider(config: &ChainConfig) -> Result<DynProvider, ChainError> {
    let url: alloy::transports::http::reqwest::Url = config.rpc_url.parse().map_err(|error| ChainError::Url {
        chain_id: config.chain_id,
        url: config.rpc_url.clone(),
        reason: format!("{error}"),
    })?;
    Ok(ProviderBuilder::new().connect_http(url).erased())
}

/// Reads the committee of a settlement contract.
pub async fn attesters(provider: &DynProvider, chain_id: u64, settlement: Address) -> Result<Vec<Address>, ChainError> {
    let code = provider.get_code_at(settlement).await.map_err(transport(chain_id))?;
    if code.is_empty() {
        return Err(ChainError::NoCode { chain_id, settlement });
    }
    let actual = provider.get_chain_id().await.map_err(transport(chain_id))?;
    if actual != chain_id {
        return Err(ChainError::WrongChain { chain_id, actual });
    }
    LiquidationSettlement::new(settlement, provider.clone()).attesters().call().await.map_err(rpc(chain_id))
}

/// Reads what the chain says about a peer's intent (see `backstop_bindings::read_intent_facts`).
pub async fn read_intent_facts(
    provider: &DynProvider,
    adapter: Address,
    intent: &Intent,
) -> Result<IntentFacts, ChainError> {
    backstop_bindings::read_intent_facts(provider, adapter, intent)
        .await
        .map_err(|reason| ChainError::Rpc { chain_id: intent.chainId, reason })
}

pub struct ChainWatcher {
    config: ChainConfig,
    provider: DynProvider,
    store: Store,
    events: mpsc::Sender<ChainEvent>,
    markets: BTreeMap<B256, Market>,
}

impl ChainWatcher {
    pub fn new(config: ChainConfig, provider: DynProvider, store: Store, events: mpsc::Sender<ChainEvent>) -> Self {
        Self { config, provider, store, events, markets: BTreeMap::new() }
    }

    /// Runs until the node shuts down. RPC failures are logged and retried with capped
    /// exponential backoff; they never end the task.
    pub async fn run(mut self) {
        let chain_id = self.config.chain_id;
        let mut backoff = self.config.poll_interval;
        loop {
            match self.restore_markets().await {
                Ok(()) => break,
                Err(error) => {
                    observe::rpc_error(chain_id, &error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        loop {
            match self.poll().await {
                Ok(caught_up) => {
                    backoff = self.config.poll_interval;
                    if caught_up {
                        tokio::time::sleep(self.config.poll_interval).await;
                    }
                }
                Err(error) => {
                    observe::rpc_error(chain_id, &error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if self.events.is_closed() {
                return;
            }
        }
    }

    /// Markets discovered before a restart are reloaded from the store.
    async fn restore_markets(&mut self) -> Result<(), ChainError> {
        for (market_id, adapter) in self.store.markets(self.config.chain_id)? {
            self.load_market(market_id, adapter).await?;
        }
        // Registrations are few: replay the registry's whole history up to the cursor,
        // so admission survives a restart without a store of its own.
        if let Some(cursor) = self.store.cursor(self.config.chain_id)? {
            let mut start = self.config.start_block;
            while start <= cursor {
                let end = cursor.min(start.saturating_add(MAX_LOG_RANGE - 1));
                self.index_solvers(start, end).await?;
                let Some(next) = end.checked_add(1) else { break };
                start = next;
            }
        }
        Ok(())
    }

    /// Emits a [`ChainEvent::Solver`] for every registry event in the range.
    async fn index_solvers(&self, from: u64, to: u64) -> Result<(), ChainError> {
        let Some(registry) = self.config.solver_registry else { return Ok(()) };
        let chain_id = self.config.chain_id;
        for log in self.logs(vec![registry], from, to).await? {
            let event = match log.topic0() {
                Some(topic) if *topic == SolverRegistry::SolverRegistered::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<SolverRegistry::SolverRegistered>() else { continue };
                    let data = event.inner.data;
                    ChainEvent::Solver { chain_id, solver: data.solverKey, executor: data.executor, admitted: true }
                }
                Some(topic) if *topic == SolverRegistry::SolverExitRequested::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<SolverRegistry::SolverExitRequested>() else { continue };
                    let data = event.inner.data;
                    ChainEvent::Solver { chain_id, solver: data.solverKey, executor: data.executor, admitted: false }
                }
                Some(topic) if *topic == SolverRegistry::SolverWithdrawn::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<SolverRegistry::SolverWithdrawn>() else { continue };
                    let data = event.inner.data;
                    ChainEvent::Solver { chain_id, solver: data.solverKey, executor: data.executor, admitted: false }
                }
                _ => continue,
            };
            let _ = self.events.send(event).await;
        }
        Ok(())
    }

    async fn load_market(&mut self, market_id: B256, adapter: Address) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let settlement = LiquidationSettlement::new(self.config.settlement, self.provider.clone());
        let registration = settlement.markets(market_id).call().await.map_err(rpc(chain_id))?;
        let engine = IMarginMarket::new(adapter, self.provider.clone());
        let market = Market {
            chain_id,
            settlement: self.config.settlement,
            market_id,
            adapter,
            // Fixed at registration: the only asset `settle` ever pulls, whatever the adapter says later.
            debt_asset: registration.debtAsset,
            collateral_assets: engine.collateralAssets().call().await.map_err(rpc(chain_id))?,
            reserve_premium: registration.reservePremium,
        };
        observe::market_discovered(&market);
        self.markets.insert(market_id, market.clone());
        let _ = self.events.send(ChainEvent::Market(market)).await;
        Ok(())
    }

    /// One step: index the next range of blocks; at the head, scan health.
    /// Returns whether the watcher is caught up with the chain head.
    async fn poll(&mut self) -> Result<bool, ChainError> {
        let chain_id = self.config.chain_id;
        if self.rewind_on_reorg().await? {
            return Ok(false);
        }
        let head = self.provider.get_block_number().await.map_err(transport(chain_id))?;
        let cursor = match self.store.cursor(chain_id)? {
            Some(cursor) => cursor,
            None => self.config.start_block.saturating_sub(1),
        };
        if head <= cursor && self.store.cursor(chain_id)?.is_some() {
            return Ok(true);
        }
        let from = if self.store.cursor(chain_id)?.is_some() { cursor + 1 } else { self.config.start_block };
        let to = head.min(from.saturating_add(MAX_LOG_RANGE - 1));
        // The hash is read before the logs: if the block is replaced meanwhile, the next
        // poll sees the mismatch and re-indexes.
        let to_hash = self.block_hash(to).await?;
        self.index_range(from, to).await?;
        match to_hash {
            Some(hash) => self.store.set_cursor_with_hash(chain_id, to, hash)?,
            None => self.store.set_cursor(chain_id, to)?,
        }
        let _ = self.events.send(ChainEvent::Head { chain_id, block: to }).await;
        if to < head {
            return Ok(false);
        }
        self.scan_health(to).await?;
        Ok(true)
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(number))
            .await
            .map_err(transport(self.config.chain_id))?;
        Ok(block.map(|block| block.header.hash))
    }

    /// Detects a reorg below the cursor by comparing the stored hash of the cursor block
    /// with the chain's; on a mismatch, rewinds the cursor so the range is re-indexed.
    async fn rewind_on_reorg(&mut self) -> Result<bool, ChainError> {
        let chain_id = self.config.chain_id;
        let (Some(cursor), Some(expected)) = (self.store.cursor(chain_id)?, self.store.cursor_hash(chain_id)?) else {
            return Ok(false);
        };
        if self.block_hash(cursor).await? == Some(expected) {
            return Ok(false);
        }
        let rewound_to = cursor.saturating_sub(REORG_REWIND).max(self.config.start_block);
        if rewound_to <= self.config.start_block {
            self.store.clear_cursor(chain_id)?;
        } else {
            let previous = rewound_to - 1;
            match self.block_hash(previous).await? {
                Some(hash) => self.store.set_cursor_with_hash(chain_id, previous, hash)?,
                None => self.store.set_cursor(chain_id, previous)?,
            }
        }
        observe::reorg(chain_id, cursor, rewound_to);
        let _ = self.events.send(ChainEvent::Reorg { chain_id, at_block: cursor, rewound_to }).await;
        Ok(true)
    }

    async fn logs(&self, addresses: Vec<Address>, from: u64, to: u64) -> Result<Vec<Log>, ChainError> {
        let filter = Filter::new().address(addresses).from_block(from).to_block(to);
        self.provider.get_logs(&filter).await.map_err(transport(self.config.chain_id))
    }

    async fn index_range(&mut self, from: u64, to: u64) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let mut committee_changed = false;
        for log in self.logs(vec![self.config.settlement], from, to).await? {
            match log.topic0() {
                Some(topic)
                    if *topic == LiquidationSettlement::AttesterAdded::SIGNATURE_HASH
                        || *topic == LiquidationSettlement::AttesterRemoved::SIGNATURE_HASH =>
                {
                    committee_changed = true;
                }
                Some(topic) if *topic == LiquidationSettlement::MarketRegistered::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<LiquidationSettlement::MarketRegistered>() else { continue };
                    let registered = event.inner.data;
                    self.store.add_market(chain_id, registered.marketId, registered.adapter)?;
                    self.load_market(registered.marketId, registered.adapter).await?;
                    // Positions may predate the registration: backfill the adapter's history.
                    self.index_accounts(vec![registered.adapter], self.config.start_block, to).await?;
                }
                Some(topic) if *topic == LiquidationSettlement::Settled::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<LiquidationSettlement::Settled>() else { continue };
                    let settled = event.inner.data;
                    let _ = self
                        .events
                        .send(ChainEvent::Settled {
                            chain_id,
                            intent_id: settled.intentId,
                            executor: settled.executor,
                            premium: settled.premium,
                            block: log.block_number.unwrap_or(to),
                        })
                        .await;
                }
                Some(topic) if *topic == LiquidationSettlement::OpenLiquidated::SIGNATURE_HASH => {
                    let Ok(event) = log.log_decode::<LiquidationSettlement::OpenLiquidated>() else { continue };
                    let open = event.inner.data;
                    let intent_id = backstop_protocol::id::intent_id(
                        chain_id,
                        self.config.settlement,
                        open.marketId,
                        open.account,
                        open.nonce,
                    );
                    let _ = self
                        .events
                        .send(ChainEvent::OpenLiquidated {
                            chain_id,
                            intent_id,
                            liquidator: open.liquidator,
                            block: log.block_number.unwrap_or(to),
                        })
                        .await;
                }
                _ => {}
            }
        }
        if committee_changed {
            // Read the set as of `to`, so a later change in the same range is not missed.
            let settlement = LiquidationSettlement::new(self.config.settlement, self.provider.clone());
            let attesters = settlement.attesters().block(BlockId::number(to)).call().await.map_err(rpc(chain_id))?;
            observe::committee_changed(chain_id, &attesters);
            let _ = self.events.send(ChainEvent::Committee { chain_id, attesters }).await;
        }
        self.index_solvers(from, to).await?;
        let adapters: Vec<Address> = self.markets.values().map(|market| market.adapter).collect();
        if !adapters.is_empty() {
            self.index_accounts(adapters, from, to).await?;
        }
        Ok(())
    }

    async fn index_accounts(&self, adapters: Vec<Address>, from: u64, to: u64) -> Result<(), ChainError> {
        let mut start = from;
        while start <= to {
            let end = to.min(start.saturating_add(MAX_LOG_RANGE - 1));
            for log in self.logs(adapters.clone(), start, end).await? {
                if log.topic0() != Some(&IMarginMarket::PositionChanged::SIGNATURE_HASH) {
                    continue;
                }
                if let Ok(event) = log.log_decode::<IMarginMarket::PositionChanged>() {
                    self.store.add_account(self.config.chain_id, log.address(), event.inner.data.account)?;
                }
            }
            let Some(next) = end.checked_add(1) else { break };
            start = next;
        }
        Ok(())
    }

    /// Computes every indexed account's health at `block`; confirms unhealthy ones with
    /// `isLiquidatable` and reports them as candidates.
    async fn scan_health(&self, block: u64) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let at = BlockId::number(block);
        let settlement = LiquidationSettlement::new(self.config.settlement, self.provider.clone());
        for market in self.markets.values() {
            let engine = IMarginMarket::new(market.adapter, self.provider.clone());
            for account in self.store.accounts(chain_id, market.adapter)? {
                let health = engine.accountHealth(account).block(at).call().await.map_err(rpc(chain_id))?;
                let unhealthy = !health.debtValue.is_zero() && health.collateralValue < health.requirement;
                if !unhealthy {
                    continue;
                }
                if !engine.isLiquidatable(account).block(at).call().await.map_err(rpc(chain_id))? {
                    observe::health_mismatch(chain_id, account);
                    continue;
                }
                let nonce =
                    settlement.nonces(market.market_id, account).block(at).call().await.map_err(rpc(chain_id))?;
                let max_repay = engine.maxRepay(account).block(at).call().await.map_err(rpc(chain_id))?;
                let collateral = market.collateral_assets.first().copied().unwrap_or_default();
                let observed_price = engine.price(collateral).block(at).call().await.map_err(rpc(chain_id))?;
                let candidate = Candidate {
                    market: market.clone(),
                    account,
                    nonce,
                    max_repay,
                    observed_block: block,
                    observed_price,
                };
                let _ = self.events.send(ChainEvent::Candidate(candidate)).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::node_bindings::Anvil;

    fn anvil_path() -> std::path::PathBuf {
        std::env::var_os("BACKSTOP_ANVIL").map(Into::into).unwrap_or_else(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
            assert!(path.exists(), "anvil not installed: run `bash contracts/setup.sh` (or set BACKSTOP_ANVIL)");
            path
        })
    }

    fn drain(events: &mut mpsc::Receiver<ChainEvent>) -> Vec<ChainEvent> {
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    #[tokio::test]
    async fn a_reorg_below_the_cursor_is_detected_and_the_range_reindexed() {
        let anvil = Anvil::new().path(anvil_path()).try_spawn().expect("anvil starts");
        let config = ChainConfig {
            chain_id: anvil.chain_id(),
            rpc_url: anvil.endpoint(),
            settlement: Address::repeat_byte(0x5e),
            solver_registry: None,
            start_block: 0,
            poll_interval: Duration::from_millis(100),
        };
        let provider = provider(&config).unwrap();
        provider.raw_request::<_, ()>("anvil_mine".into(), (10u64,)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (events_tx, mut events) = mpsc::channel(64);
        let mut watcher = ChainWatcher::new(config.clone(), provider.clone(), store.clone(), events_tx);

        assert!(watcher.poll().await.unwrap(), "caught up with the head");
        assert_eq!(store.cursor(config.chain_id).unwrap(), Some(10));
        let indexed_hash = store.cursor_hash(config.chain_id).unwrap().expect("hash recorded");
        assert!(watcher.poll().await.unwrap());
        assert!(!drain(&mut events).iter().any(|event| matches!(event, ChainEvent::Reorg { .. })), "no false alarm");

        // Replace the last three blocks: same height, different hashes.
        provider.raw_request::<_, ()>("anvil_reorg".into(), (3u64, Vec::<()>::new())).await.unwrap();
        assert!(!watcher.poll().await.unwrap(), "the reorg poll rewinds instead of scanning");
        let reorgs: Vec<_> =
            drain(&mut events).into_iter().filter(|event| matches!(event, ChainEvent::Reorg { .. })).collect();
        assert!(matches!(reorgs.as_slice(), [ChainEvent::Reorg { at_block: 10, rewound_to: 0, .. }]), "{reorgs:?}");
        assert_eq!(store.cursor(config.chain_id).unwrap(), None, "rewound to the start block");

        assert!(watcher.poll().await.unwrap());
        assert_eq!(store.cursor(config.chain_id).unwrap(), Some(10));
        assert_ne!(store.cursor_hash(config.chain_id).unwrap(), Some(indexed_hash), "the new branch was indexed");
    }
}
