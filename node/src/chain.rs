//! Chain watching: one task per chain (restarted by a supervisor if it ever dies) polls
//! for new blocks, backfills logs from the stored cursor (so a restart or a dead RPC
//! never skips a block), discovers markets from the settlement contract's registrations
//! (watching only those the configuration allows), keeps the [`crate::risk`] engine's
//! positions current from the markets' `PositionChanged` logs (and, for a Morpho Blue
//! market, from Morpho's own events for that market), and at the head judges every
//! account locally and confirms the liquidatable ones on chain.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use backstop_bindings::{IMarginMarket, LiquidationSettlement, MarginEngine, MorphoEvents, SolverRegistry};
use backstop_protocol::auction::IntentFacts;
use backstop_protocol::message::Intent;
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::config::{ChainConfig, RiskConfig};
use crate::metrics::{Metrics, RpcLabels, SharedMetrics};
use crate::observe;
use crate::risk::{self, MarketRisk, RiskError};
use crate::status::{MarketStatus, SharedStatus, CAUGHT_UP_LAG};
use crate::store::Store;

/// Largest block range asked of `eth_getLogs` at once.
const MAX_LOG_RANGE: u64 = 2_000;
/// How far back the watcher re-indexes after detecting a reorg. Re-indexing is
/// idempotent, so a generous depth only costs RPC calls.
const REORG_REWIND: u64 = 64;
/// Backoff cap after RPC failures.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// An account confirmed liquidatable is confirmed (and handed to the core) again only
/// after this many blocks, unless its position changes: its auction is running, and a
/// crash's new casualties should not wait behind thousands of known ones.
const RECONFIRM_AFTER_BLOCKS: u64 = 4;
/// Accounts confirmed per batch: each batch's candidates go to the core before the next
/// batch is read.
const CONFIRM_CHUNK: usize = 64;
/// Confirmation batches in flight at once.
const CONFIRM_IN_FLIGHT: usize = 4;

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
    /// Unix ms at which the watcher first saw `observed_block`.
    pub detected_at_ms: u64,
    /// Unix ms at which the chain confirmed it (the watcher's share of the latency ends here).
    pub confirmed_at_ms: u64,
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

impl ChainError {
    /// Whether waiting and trying again can help. The others need the operator: the
    /// configuration points at the wrong chain or contract, or the disk failed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Rpc { .. })
    }
}

impl From<(u64, RiskError)> for ChainError {
    fn from((chain_id, error): (u64, RiskError)) -> Self {
        Self::Rpc { chain_id, reason: error.to_string() }
    }
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
    reads: &backstop_bindings::batch::Coalescer,
    adapter: Address,
    intent: &Intent,
    known_head: Option<u64>,
) -> Result<IntentFacts, ChainError> {
    backstop_bindings::read_intent_facts(reads, adapter, intent, known_head)
        .await
        .map_err(|reason| ChainError::Rpc { chain_id: intent.chainId, reason })
}

/// Reconfirmation requests waiting at once, across chains.
pub const MAX_RECONFIRM_REQUESTS: usize = 16_384;

/// Accounts the core wants confirmed again at the next block, without waiting out
/// [`RECONFIRM_AFTER_BLOCKS`]: (chain id, market id, account) of an auction whose round
/// ended unsettled, so its next round can open as soon as the protocol allows.
pub type ReconfirmRequests = std::sync::Arc<std::sync::Mutex<std::collections::HashSet<(u64, B256, Address)>>>;

/// Everything a watcher is handed by the node.
#[derive(Clone)]
pub struct WatcherContext {
    pub config: ChainConfig,
    pub risk: RiskConfig,
    pub provider: DynProvider,
    pub store: Store,
    pub events: mpsc::Sender<ChainEvent>,
    pub metrics: SharedMetrics,
    pub status: SharedStatus,
    pub reconfirm: ReconfirmRequests,
}

pub struct ChainWatcher {
    config: ChainConfig,
    risk_config: RiskConfig,
    provider: DynProvider,
    store: Store,
    events: mpsc::Sender<ChainEvent>,
    metrics: SharedMetrics,
    status: SharedStatus,
    markets: BTreeMap<B256, Market>,
    risk: BTreeMap<B256, MarketRisk>,
    /// After a reorg every position is re-read (a reverted change emits no new log).
    resync_positions: bool,
    /// A head block whose scan failed and must be retried before waiting for the next.
    pending_scan: Option<(u64, u64)>,
    /// Accounts handed to the core as candidates, and the block of that confirmation.
    emitted: HashMap<(B256, Address), u64>,
    reconfirm: ReconfirmRequests,
}

/// Unix ms now.
fn now_ms() -> u64 {
    backstop_protocol::timing::now_ms()
}

impl ChainWatcher {
    pub fn new(context: WatcherContext) -> Self {
        Self {
            config: context.config,
            risk_config: context.risk,
            provider: context.provider,
            store: context.store,
            events: context.events,
            metrics: context.metrics,
            status: context.status,
            markets: BTreeMap::new(),
            risk: BTreeMap::new(),
            resync_positions: false,
            pending_scan: None,
            emitted: HashMap::new(),
            reconfirm: context.reconfirm,
        }
    }

    /// Runs until the node shuts down. RPC failures are logged and retried with capped
    /// exponential backoff; they never end the task.
    pub async fn run(mut self) {
        let chain_id = self.config.chain_id;
        let mut backoff = self.config.poll_interval;
        // New heads by WebSocket when configured; polling stays the fallback (and the
        // only source while the subscription is down).
        let heads = std::sync::Arc::new(tokio::sync::Notify::new());
        let subscription =
            self.config.ws_url.clone().map(|url| tokio::spawn(subscribe_heads(chain_id, url, heads.clone())));
        let _guard = AbortOnDrop(subscription);
        loop {
            match self.restore_markets().await {
                Ok(()) => break,
                Err(error) => {
                    self.failed(&error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if self.events.is_closed() {
                return;
            }
        }
        loop {
            match self.poll().await {
                Ok(caught_up) => {
                    backoff = self.config.poll_interval;
                    self.status.chain(chain_id, |chain| chain.last_error = None);
                    if caught_up {
                        tokio::select! {
                            _ = heads.notified() => {}
                            _ = tokio::time::sleep(self.config.poll_interval) => {}
                        }
                    }
                }
                Err(error) => {
                    self.failed(&error);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            if self.events.is_closed() {
                return;
            }
        }
    }

    fn failed(&self, error: &ChainError) {
        let chain_id = self.config.chain_id;
        observe::rpc_error(chain_id, error);
        self.metrics.rpc_errors.get_or_create(&RpcLabels { chain_id, retryable: error.is_retryable() }).inc();
        let reason = error.to_string();
        self.status.chain(chain_id, |chain| chain.last_error = Some(reason));
    }

    /// Markets discovered before a restart are reloaded from the store, with their
    /// accounts' positions read afresh at the cursor.
    pub async fn restore_markets(&mut self) -> Result<(), ChainError> {
        let cursor = self.store.cursor(self.config.chain_id)?;
        let at = cursor.map_or(BlockId::latest(), BlockId::number);
        for (market_id, adapter) in self.store.markets(self.config.chain_id)? {
            if !self.config.watches(market_id, adapter) {
                observe::market_not_allowed(self.config.chain_id, market_id, adapter);
                continue;
            }
            if self.risk.contains_key(&market_id) {
                continue;
            }
            let accounts = self.store.accounts(self.config.chain_id, adapter)?;
            self.watch_market(market_id, adapter, &accounts, at).await?;
        }
        // Registrations are few: replay the registry's whole history up to the cursor,
        // so admission survives a restart without a store of its own.
        if let (Some(cursor), Some(registry)) = (cursor, self.config.solver_registry) {
            let mut start = self.config.start_block;
            while start <= cursor {
                let end = cursor.min(start.saturating_add(MAX_LOG_RANGE - 1));
                for log in self.logs(vec![registry], start, end).await? {
                    if let Some(event) = self.solver_event(&log) {
                        let _ = self.events.send(event).await;
                    }
                }
                let Some(next) = end.checked_add(1) else { break };
                start = next;
            }
        }
        self.publish_market_status();
        Ok(())
    }

    /// A registry event as a [`ChainEvent::Solver`].
    fn solver_event(&self, log: &Log) -> Option<ChainEvent> {
        let chain_id = self.config.chain_id;
        let (solver, executor, admitted) = match log.topic0() {
            Some(topic) if *topic == SolverRegistry::SolverRegistered::SIGNATURE_HASH => {
                let data = log.log_decode::<SolverRegistry::SolverRegistered>().ok()?.inner.data;
                (data.solverKey, data.executor, true)
            }
            Some(topic) if *topic == SolverRegistry::SolverExitRequested::SIGNATURE_HASH => {
                let data = log.log_decode::<SolverRegistry::SolverExitRequested>().ok()?.inner.data;
                (data.solverKey, data.executor, false)
            }
            Some(topic) if *topic == SolverRegistry::SolverWithdrawn::SIGNATURE_HASH => {
                let data = log.log_decode::<SolverRegistry::SolverWithdrawn>().ok()?.inner.data;
                (data.solverKey, data.executor, false)
            }
            _ => return None,
        };
        Some(ChainEvent::Solver { chain_id, solver, executor, admitted })
    }

    /// Reads a registration and announces the market to the core.
    async fn load_market(&mut self, market_id: B256, adapter: Address) -> Result<Market, ChainError> {
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
        let _ = self.events.send(ChainEvent::Market(market.clone())).await;
        Ok(market)
    }

    /// Starts watching a market: its registration, its risk model, and the positions of
    /// `accounts` at `at`. An adapter that misbehaves while loading is quarantined (not
    /// watched, logged) without holding up the chain.
    async fn watch_market(
        &mut self,
        market_id: B256,
        adapter: Address,
        accounts: &[Address],
        at: BlockId,
    ) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let market = self.load_market(market_id, adapter).await?;
        let loaded = async {
            let mut risk = MarketRisk::load(&self.provider, adapter, market.collateral_assets.clone(), at).await?;
            risk.track(&self.provider, accounts, at).await?;
            Ok::<_, RiskError>(risk)
        };
        match loaded.await {
            Ok(risk) => {
                observe::market_model(chain_id, market_id, risk.kind(), risk.accounts());
                self.risk.insert(market_id, risk);
                Ok(())
            }
            Err(RiskError::Rpc(error)) => Err(ChainError::Rpc { chain_id, reason: error.to_string() }),
            Err(RiskError::Adapter(reason)) => {
                observe::market_faulty(chain_id, market_id, &reason, true);
                self.markets.remove(&market_id);
                Ok(())
            }
        }
    }

    /// One step: index the next range of blocks; at the head, judge every account.
    /// Returns whether the watcher is caught up with the chain head. [`Self::run`] calls
    /// it in a loop; tests and tools may drive a watcher step by step.
    pub async fn poll(&mut self) -> Result<bool, ChainError> {
        let chain_id = self.config.chain_id;
        // The reorg check and the head in one round trip's time.
        let stored = self.store.cursor(chain_id)?;
        let cursor_hash = async {
            match stored {
                Some(cursor) => self.block_hash(cursor).await.map(Some),
                None => Ok(None),
            }
        };
        let (cursor_hash, head) = tokio::join!(cursor_hash, self.provider.get_block_number());
        if self.rewind_on_reorg(cursor_hash?).await? {
            return Ok(false);
        }
        let head = head.map_err(transport(chain_id))?;
        let seen_at_ms = now_ms();
        self.metrics.chain_head.get_or_create(&Metrics::chain(chain_id)).set(i64::try_from(head).unwrap_or(i64::MAX));
        let stored = self.store.cursor(chain_id)?;
        let cursor = stored.unwrap_or(self.config.start_block.saturating_sub(1));
        if head <= cursor && stored.is_some() {
            self.record_progress(head, cursor);
            if let Some((block, seen_at_ms)) = self.pending_scan {
                self.scan(block, seen_at_ms).await?;
            }
            return Ok(true);
        }
        let from = if stored.is_some() { cursor + 1 } else { self.config.start_block };
        let to = head.min(from.saturating_add(MAX_LOG_RANGE - 1));
        if to < from {
            // A fresh database whose start_block the chain has not reached yet.
            self.record_progress(head, head);
            return Ok(true);
        }
        // The hash is read with the logs: if the block is replaced meanwhile, the next
        // poll sees the mismatch and re-indexes.
        let (to_hash, logs) = tokio::join!(self.block_hash(to), self.logs(self.index_addresses(), from, to));
        let to_hash = to_hash?;
        self.index_range(logs?, from, to).await?;
        match to_hash {
            Some(hash) => self.store.set_cursor_with_hash(chain_id, to, hash)?,
            None => self.store.set_cursor(chain_id, to)?,
        }
        self.metrics.blocks_processed.get_or_create(&Metrics::chain(chain_id)).inc_by(to - from + 1);
        self.record_progress(head, to);
        let _ = self.events.send(ChainEvent::Head { chain_id, block: to }).await;
        if to < head {
            return Ok(false);
        }
        self.scan(to, seen_at_ms).await?;
        Ok(true)
    }

    fn record_progress(&self, head: u64, indexed: u64) {
        let chain_id = self.config.chain_id;
        let lag = head.saturating_sub(indexed);
        self.metrics
            .head_lag_blocks
            .get_or_create(&Metrics::chain(chain_id))
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
        self.status.chain(chain_id, |chain| {
            chain.head = Some(head);
            chain.indexed = Some(indexed);
            chain.lag = Some(lag);
            chain.caught_up = lag <= CAUGHT_UP_LAG;
        });
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
    /// with the chain's; on a mismatch, rewinds the cursor so the range is re-indexed
    /// and every position is read again.
    /// `observed` is the chain's hash of the cursor block (`None` without a cursor).
    async fn rewind_on_reorg(&mut self, observed: Option<Option<B256>>) -> Result<bool, ChainError> {
        let chain_id = self.config.chain_id;
        let (Some(cursor), Some(expected)) = (self.store.cursor(chain_id)?, self.store.cursor_hash(chain_id)?) else {
            return Ok(false);
        };
        let observed = match observed {
            Some(observed) => observed,
            None => self.block_hash(cursor).await?,
        };
        if observed == Some(expected) {
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
        self.resync_positions = true;
        self.pending_scan = None;
        observe::reorg(chain_id, cursor, rewound_to);
        let _ = self.events.send(ChainEvent::Reorg { chain_id, at_block: cursor, rewound_to }).await;
        Ok(true)
    }

    async fn logs(&self, addresses: Vec<Address>, from: u64, to: u64) -> Result<Vec<Log>, ChainError> {
        let filter = Filter::new().address(addresses).from_block(from).to_block(to);
        self.provider.get_logs(&filter).await.map_err(transport(self.config.chain_id))
    }

    /// The settlement, the registry, every watched adapter and the Morpho Blue contracts
    /// behind watched Morpho markets: what one `eth_getLogs` covers. (Morpho's logs of other
    /// markets come along and are dropped by market id.)
    fn index_addresses(&self) -> Vec<Address> {
        let mut addresses = vec![self.config.settlement];
        addresses.extend(self.config.solver_registry);
        addresses.extend(self.risk.keys().filter_map(|id| self.markets.get(id).map(|market| market.adapter)));
        for (morpho, _) in self.risk.values().filter_map(MarketRisk::morpho_source) {
            if !addresses.contains(&morpho) {
                addresses.push(morpho);
            }
        }
        addresses
    }

    /// Watched Morpho markets by Morpho contract: (Backstop market id, Morpho market id, adapter).
    fn morpho_markets(&self) -> BTreeMap<Address, Vec<(B256, B256, Address)>> {
        let mut sources: BTreeMap<Address, Vec<(B256, B256, Address)>> = BTreeMap::new();
        for (market_id, risk) in &self.risk {
            let (Some((morpho, morpho_market_id)), Some(market)) = (risk.morpho_source(), self.markets.get(market_id))
            else {
                continue;
            };
            sources.entry(morpho).or_default().push((*market_id, morpho_market_id, market.adapter));
        }
        sources
    }

    /// Indexes `from..=to` from its logs (over [`Self::index_addresses`]), then re-reads
    /// the positions that changed at `to`.
    async fn index_range(&mut self, logs: Vec<Log>, from: u64, to: u64) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let at = BlockId::number(to);
        debug_assert!(from <= to);
        let adapters: BTreeMap<Address, B256> =
            self.risk.keys().filter_map(|id| self.markets.get(id).map(|market| (market.adapter, *id))).collect();
        let morpho_markets = self.morpho_markets();
        let mut committee_changed = false;
        let mut changed: BTreeMap<B256, BTreeSet<Address>> = BTreeMap::new();
        let mut terms_changed: BTreeSet<B256> = BTreeSet::new();
        let mut registered = Vec::new();
        for log in logs {
            let address = log.address();
            if address == self.config.settlement {
                match log.topic0() {
                    Some(topic)
                        if *topic == LiquidationSettlement::AttesterAdded::SIGNATURE_HASH
                            || *topic == LiquidationSettlement::AttesterRemoved::SIGNATURE_HASH =>
                    {
                        committee_changed = true;
                    }
                    Some(topic) if *topic == LiquidationSettlement::MarketRegistered::SIGNATURE_HASH => {
                        let Ok(event) = log.log_decode::<LiquidationSettlement::MarketRegistered>() else { continue };
                        registered.push((event.inner.data.marketId, event.inner.data.adapter));
                    }
                    Some(topic) if *topic == LiquidationSettlement::Settled::SIGNATURE_HASH => {
                        let Ok(event) = log.log_decode::<LiquidationSettlement::Settled>() else { continue };
                        let settled = event.inner.data;
                        let block = log.block_number.unwrap_or(to);
                        let (intent_id, executor, premium) = (settled.intentId, settled.executor, settled.premium);
                        let _ = self
                            .events
                            .send(ChainEvent::Settled { chain_id, intent_id, executor, premium, block })
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
                        let block = log.block_number.unwrap_or(to);
                        let liquidator = open.liquidator;
                        let _ = self
                            .events
                            .send(ChainEvent::OpenLiquidated { chain_id, intent_id, liquidator, block })
                            .await;
                    }
                    _ => {}
                }
            } else if Some(address) == self.config.solver_registry {
                if let Some(event) = self.solver_event(&log) {
                    let _ = self.events.send(event).await;
                }
            } else if let Some(markets) = morpho_markets.get(&address) {
                // A Morpho event: the market's totals changed, and perhaps a borrower's position
                // or opt-in; both are re-read at `to`.
                for (market_id, morpho_market_id, adapter) in markets {
                    let Some(touch) = morpho_touch(&log, *morpho_market_id, *adapter) else { continue };
                    let accounts = changed.entry(*market_id).or_default();
                    if let Some(account) = touch {
                        self.store.add_account(chain_id, *adapter, account)?;
                        accounts.insert(account);
                    }
                }
            } else if let Some(market_id) = adapters.get(&address) {
                match log.topic0() {
                    Some(topic) if *topic == IMarginMarket::PositionChanged::SIGNATURE_HASH => {
                        let Ok(event) = log.log_decode::<IMarginMarket::PositionChanged>() else { continue };
                        let account = event.inner.data.account;
                        self.store.add_account(chain_id, address, account)?;
                        changed.entry(*market_id).or_default().insert(account);
                    }
                    Some(topic)
                        if *topic == MarginEngine::CollateralAdded::SIGNATURE_HASH
                            || *topic == MarginEngine::CollateralUpdated::SIGNATURE_HASH =>
                    {
                        terms_changed.insert(*market_id);
                    }
                    _ => {}
                }
            }
        }
        if committee_changed {
            // Read the set as of `to`, so a later change in the same range is not missed.
            let settlement = LiquidationSettlement::new(self.config.settlement, self.provider.clone());
            let attesters = settlement.attesters().block(at).call().await.map_err(rpc(chain_id))?;
            observe::committee_changed(chain_id, &attesters);
            let _ = self.events.send(ChainEvent::Committee { chain_id, attesters }).await;
        }
        for (market_id, adapter) in registered {
            if !self.config.watches(market_id, adapter) {
                observe::market_not_allowed(chain_id, market_id, adapter);
                continue;
            }
            self.store.add_market(chain_id, market_id, adapter)?;
            // Positions may predate the registration: backfill the adapter's history.
            let accounts = self.backfill_accounts(adapter, to).await?;
            self.watch_market(market_id, adapter, &accounts, at).await?;
            // A Morpho market's borrowers are in Morpho's history, not the adapter's.
            let source = self.risk.get(&market_id).and_then(MarketRisk::morpho_source);
            if let Some((morpho, morpho_market_id)) = source {
                let borrowers = self.backfill_morpho_borrowers(morpho, morpho_market_id, adapter, to).await?;
                if let Some(risk) = self.risk.get_mut(&market_id) {
                    if let Err(error) = risk.track(&self.provider, &borrowers, at).await {
                        self.risk_failed(market_id, error)?;
                    }
                }
            }
        }
        for market_id in terms_changed {
            let (Some(market), Some(risk)) = (self.markets.get(&market_id), self.risk.get_mut(&market_id)) else {
                continue;
            };
            let engine = IMarginMarket::new(market.adapter, self.provider.clone());
            let assets = engine.collateralAssets().block(at).call().await.map_err(rpc(chain_id))?;
            if let Err(error) = risk.refresh_terms(&self.provider, assets.clone(), at).await {
                self.risk_failed(market_id, error)?;
            }
            if let Some(market) = self.markets.get_mut(&market_id) {
                market.collateral_assets = assets;
                let _ = self.events.send(ChainEvent::Market(market.clone())).await;
            }
        }
        if std::mem::take(&mut self.resync_positions) {
            for (market_id, risk) in &self.risk {
                let Some(market) = self.markets.get(market_id) else { continue };
                let accounts = self.store.accounts(chain_id, market.adapter)?;
                changed.entry(*market_id).or_default().extend(accounts);
                let _ = risk;
            }
        }
        for (market_id, accounts) in changed {
            let Some(risk) = self.risk.get_mut(&market_id) else { continue };
            let accounts: Vec<Address> = accounts.into_iter().collect();
            for account in &accounts {
                self.emitted.remove(&(market_id, *account));
            }
            if let Err(error) = risk.track(&self.provider, &accounts, at).await {
                self.risk_failed(market_id, error)?;
            }
        }
        Ok(())
    }

    /// A risk read failed: an RPC failure is retried (the range is indexed again); an
    /// adapter fault counts towards the market's quarantine.
    fn risk_failed(&mut self, market_id: B256, error: RiskError) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        match error {
            RiskError::Rpc(error) => Err(ChainError::Rpc { chain_id, reason: error.to_string() }),
            RiskError::Adapter(reason) => {
                if let Some(risk) = self.risk.get_mut(&market_id) {
                    let quarantined = risk.fault(Instant::now(), &self.risk_config);
                    observe::market_faulty(chain_id, market_id, &reason, quarantined);
                }
                Ok(())
            }
        }
    }

    /// Every account that ever emitted `PositionChanged` on `adapter`, up to `to`.
    async fn backfill_accounts(&self, adapter: Address, to: u64) -> Result<Vec<Address>, ChainError> {
        let mut start = self.config.start_block;
        let mut accounts = BTreeSet::new();
        while start <= to {
            let end = to.min(start.saturating_add(MAX_LOG_RANGE - 1));
            for log in self.logs(vec![adapter], start, end).await? {
                if log.topic0() != Some(&IMarginMarket::PositionChanged::SIGNATURE_HASH) {
                    continue;
                }
                if let Ok(event) = log.log_decode::<IMarginMarket::PositionChanged>() {
                    self.store.add_account(self.config.chain_id, adapter, event.inner.data.account)?;
                    accounts.insert(event.inner.data.account);
                }
            }
            let Some(next) = end.checked_add(1) else { break };
            start = next;
        }
        Ok(accounts.into_iter().collect())
    }

    /// Every account Morpho's events for `morpho_market_id` name as a borrower, up to `to`.
    async fn backfill_morpho_borrowers(
        &self,
        morpho: Address,
        morpho_market_id: B256,
        adapter: Address,
        to: u64,
    ) -> Result<Vec<Address>, ChainError> {
        let chain_id = self.config.chain_id;
        let mut start = self.config.start_block;
        let mut accounts = BTreeSet::new();
        while start <= to {
            let end = to.min(start.saturating_add(MAX_LOG_RANGE - 1));
            let filter = Filter::new().address(morpho).topic1(morpho_market_id).from_block(start).to_block(end);
            let logs = self.provider.get_logs(&filter).await.map_err(transport(chain_id))?;
            for log in logs {
                if let Some(Some(account)) = morpho_touch(&log, morpho_market_id, adapter) {
                    self.store.add_account(chain_id, adapter, account)?;
                    accounts.insert(account);
                }
            }
            let Some(next) = end.checked_add(1) else { break };
            start = next;
        }
        Ok(accounts.into_iter().collect())
    }

    /// Judges every account of every watched market at `block`, confirms the
    /// liquidatable ones on chain (one batch per market) and hands them to the core.
    async fn scan(&mut self, block: u64, seen_at_ms: u64) -> Result<(), ChainError> {
        let chain_id = self.config.chain_id;
        let at = BlockId::number(block);
        let started = Instant::now();
        self.pending_scan = Some((block, seen_at_ms));
        let now = Instant::now();
        {
            let mut requests = self.reconfirm.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            requests.retain(|(chain, market, account)| {
                if *chain != chain_id {
                    return true;
                }
                self.emitted.remove(&(*market, *account));
                false
            });
        }
        let ids: Vec<B256> = self.risk.keys().copied().collect();
        let mut quarantined = 0;
        for market_id in ids {
            let Some(market) = self.markets.get(&market_id).cloned() else { continue };
            let Some(risk) = self.risk.get_mut(&market_id) else { continue };
            if risk.quarantined(now) {
                quarantined += 1;
                continue;
            }
            let scan = match risk.scan(&self.provider, at, &self.risk_config).await {
                Ok(scan) => scan,
                Err(error) => {
                    self.risk_failed(market_id, error)?;
                    continue;
                }
            };
            let labels = Metrics::market(chain_id, market_id);
            self.metrics.accounts_indexed.get_or_create(&labels).set(risk.accounts() as i64);
            self.metrics.at_risk_accounts.get_or_create(&labels).set(scan.at_risk as i64);
            let liquidatable_now = scan.unhealthy.len();
            // Forget accounts that recovered; skip those confirmed a moment ago.
            let unhealthy_now: BTreeSet<Address> = scan.unhealthy.iter().map(|found| found.account).collect();
            self.emitted.retain(|(market, account), _| *market != market_id || unhealthy_now.contains(account));
            let (due, deferred) =
                due_confirmations(&scan.unhealthy, &self.emitted, market_id, block, self.risk_config.confirm_per_block);
            self.metrics.confirmations_deferred.get_or_create(&labels).set(deferred as i64);
            if !due.is_empty() {
                // Exact maxRepay from the model where the filter skipped it; the most
                // endangered first, in chunks, so the first intents of a crash leave
                // before the last account is confirmed.
                let due: Vec<risk::Unhealthy> = due
                    .into_iter()
                    .map(|found| risk::Unhealthy {
                        max_repay: found.max_repay.or_else(|| risk.exact_max_repay(&found.account)),
                        ..found
                    })
                    .collect();
                let price_asset = market.collateral_assets.first().copied().unwrap_or_default();
                let mut mismatched = false;
                // A few batches in flight; results are taken in order, so the most
                // endangered accounts' candidates still go first.
                let provider = self.provider.clone();
                let settlement = self.config.settlement;
                let adapter = market.adapter;
                let chunks: Vec<Vec<risk::Unhealthy>> = due.chunks(CONFIRM_CHUNK).map(<[_]>::to_vec).collect();
                let mut confirmations =
                    futures::stream::iter(chunks.into_iter().map(|chunk| {
                        let provider = provider.clone();
                        async move {
                            risk::confirm(&provider, settlement, market_id, adapter, price_asset, &chunk, at).await
                        }
                    }))
                    .buffered(CONFIRM_IN_FLIGHT);
                while let Some(confirmation) = futures::StreamExt::next(&mut confirmations).await {
                    let confirmation = confirmation.map_err(|error| ChainError::from((chain_id, error)))?;
                    if !confirmation.mismatches.is_empty() {
                        self.metrics
                            .confirmation_mismatches
                            .get_or_create(&labels)
                            .inc_by(confirmation.mismatches.len() as u64);
                        observe::health_mismatch(chain_id, market_id, &confirmation.mismatches);
                        mismatched = true;
                    }
                    if !confirmation.max_repay_disagreements.is_empty() {
                        self.metrics
                            .max_repay_disagreements
                            .get_or_create(&labels)
                            .inc_by(confirmation.max_repay_disagreements.len() as u64);
                        observe::max_repay_disagreement(chain_id, market_id, &confirmation.max_repay_disagreements);
                    }
                    self.metrics
                        .candidates
                        .get_or_create(&Metrics::chain(chain_id))
                        .inc_by(confirmation.confirmed.len() as u64);
                    let confirmed_at_ms = now_ms();
                    for confirmed in confirmation.confirmed {
                        self.emitted.insert((market_id, confirmed.account), block);
                        let candidate = Candidate {
                            market: market.clone(),
                            account: confirmed.account,
                            nonce: confirmed.nonce,
                            max_repay: confirmed.max_repay,
                            observed_block: block,
                            observed_price: confirmed.price,
                            detected_at_ms: seen_at_ms,
                            confirmed_at_ms,
                        };
                        let _ = self.events.send(ChainEvent::Candidate(candidate)).await;
                    }
                    let elapsed = Duration::from_millis(now_ms().saturating_sub(seen_at_ms));
                    Metrics::observe(&self.metrics.block_to_candidate_seconds, chain_id, elapsed);
                }
                if mismatched {
                    if risk.fault(now, &self.risk_config) {
                        observe::market_faulty(chain_id, market_id, "model and chain disagree", true);
                    }
                } else {
                    risk.clean();
                }
            } else {
                risk.clean();
            }
            let status = MarketStatus {
                market_id,
                adapter: market.adapter,
                model: format!("{:?}", risk.kind()),
                accounts: risk.accounts(),
                at_risk: scan.at_risk,
                liquidatable: liquidatable_now,
                quarantined: false,
                last_scan_ms: scan.duration.as_secs_f64() * 1e3,
            };
            self.status.chain(chain_id, |chain| {
                match chain.markets.iter_mut().find(|entry| entry.market_id == market_id) {
                    Some(entry) => *entry = status,
                    None => chain.markets.push(status),
                }
            });
        }
        self.metrics.markets_quarantined.get_or_create(&Metrics::chain(chain_id)).set(quarantined);
        Metrics::observe(&self.metrics.health_scan_seconds, chain_id, started.elapsed());
        self.pending_scan = None;
        Ok(())
    }

    fn publish_market_status(&self) {
        let chain_id = self.config.chain_id;
        let markets: Vec<MarketStatus> = self
            .risk
            .iter()
            .filter_map(|(id, risk)| {
                let market = self.markets.get(id)?;
                Some(MarketStatus {
                    market_id: *id,
                    adapter: market.adapter,
                    model: format!("{:?}", risk.kind()),
                    accounts: risk.accounts(),
                    at_risk: 0,
                    liquidatable: 0,
                    quarantined: risk.quarantined(Instant::now()),
                    last_scan_ms: 0.0,
                })
            })
            .collect();
        self.status.chain(chain_id, |chain| chain.markets = markets);
    }

    /// The risk state of a watched market (tests).
    pub fn market_risk(&self, market_id: &B256) -> Option<&MarketRisk> {
        self.risk.get(market_id)
    }
}

/// What a Morpho Blue log means for one of its markets: `None` when it does not concern
/// `morpho_market_id` (or the adapter's authorizations); `Some(None)` when only the
/// market's totals changed (a lender's supply or withdrawal, interest, the fee);
/// `Some(Some(borrower))` when a borrower's position or opt-in changed too.
pub fn morpho_touch(log: &Log, morpho_market_id: B256, adapter: Address) -> Option<Option<Address>> {
    let topic = *log.topic0()?;
    if topic == MorphoEvents::SetAuthorization::SIGNATURE_HASH {
        let event = log.log_decode::<MorphoEvents::SetAuthorization>().ok()?.inner.data;
        return (event.authorized == adapter).then_some(Some(event.authorizer));
    }
    if log.topics().get(1) != Some(&morpho_market_id) {
        return None;
    }
    let borrower = if topic == MorphoEvents::Borrow::SIGNATURE_HASH {
        log.log_decode::<MorphoEvents::Borrow>().ok()?.inner.data.onBehalf
    } else if topic == MorphoEvents::Repay::SIGNATURE_HASH {
        log.log_decode::<MorphoEvents::Repay>().ok()?.inner.data.onBehalf
    } else if topic == MorphoEvents::SupplyCollateral::SIGNATURE_HASH {
        log.log_decode::<MorphoEvents::SupplyCollateral>().ok()?.inner.data.onBehalf
    } else if topic == MorphoEvents::WithdrawCollateral::SIGNATURE_HASH {
        log.log_decode::<MorphoEvents::WithdrawCollateral>().ok()?.inner.data.onBehalf
    } else if topic == MorphoEvents::Liquidate::SIGNATURE_HASH {
        log.log_decode::<MorphoEvents::Liquidate>().ok()?.inner.data.borrower
    } else {
        // Supply, Withdraw, AccrueInterest, SetFee, CreateMarket: totals only.
        return Some(None);
    };
    Some(Some(borrower))
}

/// Stops a task when dropped (the head subscription ends with its watcher).
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Subscribes to `newHeads` on `url` and wakes the watcher on every head. Reconnects
/// with backoff; while it is down the watcher's polling carries on alone.
async fn subscribe_heads(chain_id: u64, url: String, heads: std::sync::Arc<tokio::sync::Notify>) {
    use futures::StreamExt;
    let mut backoff = Duration::from_millis(500);
    loop {
        let connected = async {
            let provider = ProviderBuilder::new().connect_ws(alloy::providers::WsConnect::new(url.clone())).await?;
            let subscription = provider.subscribe_blocks().await?;
            Ok::<_, alloy::transports::TransportError>((provider, subscription))
        };
        match connected.await {
            Ok((_provider, subscription)) => {
                observe::head_subscription(chain_id, &url, None);
                backoff = Duration::from_millis(500);
                let mut stream = subscription.into_stream();
                while stream.next().await.is_some() {
                    heads.notify_one();
                }
                observe::head_subscription(chain_id, &url, Some("the subscription ended"));
            }
            Err(error) => observe::head_subscription(chain_id, &url, Some(&error.to_string())),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Runs a chain's watcher under supervision: a watcher that panics is restarted (with
/// backoff, from the stored cursor), counted and logged, never silently lost.
pub async fn supervise(context: WatcherContext) {
    let chain_id = context.config.chain_id;
    let mut backoff = Duration::from_millis(500);
    loop {
        let started = Instant::now();
        let watcher = ChainWatcher::new(context.clone());
        // Every line a watcher logs carries its chain.
        let span = tracing::info_span!("chain", chain_id);
        match tokio::spawn(tracing::Instrument::instrument(watcher.run(), span)).await {
            Ok(()) => return, // the node is shutting down
            Err(error) => {
                if context.events.is_closed() {
                    return;
                }
                context.metrics.watcher_restarts.get_or_create(&Metrics::chain(chain_id)).inc();
                context.status.chain(chain_id, |chain| chain.watcher_restarts += 1);
                observe::watcher_crashed(chain_id, &error.to_string(), backoff);
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_millis(500);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The accounts of `market_id` to confirm at `block`, and how many liquidatable ones wait
/// for a later block. Due are the accounts never confirmed (or whose position changed)
/// and those confirmed at least [`RECONFIRM_AFTER_BLOCKS`] ago; the first lead, and within
/// each group the worst estimated health (then scan order, the watchlist first). At most
/// `cap` are taken.
fn due_confirmations(
    unhealthy: &[risk::Unhealthy],
    emitted: &HashMap<(B256, Address), u64>,
    market_id: B256,
    block: u64,
    cap: usize,
) -> (Vec<risk::Unhealthy>, usize) {
    let mut due: Vec<(bool, &risk::Unhealthy)> = unhealthy
        .iter()
        .filter_map(|found| match emitted.get(&(market_id, found.account)) {
            None => Some((false, found)),
            Some(at) if block.saturating_sub(*at) >= RECONFIRM_AFTER_BLOCKS => Some((true, found)),
            Some(_) => None,
        })
        .collect();
    // Stable: equal keys keep scan order. `None` (no estimate) sorts after every estimate.
    due.sort_by(|(again_a, a), (again_b, b)| {
        again_a.cmp(again_b).then_with(|| {
            let key = |found: &risk::Unhealthy| found.health.unwrap_or(f64::INFINITY);
            key(a).total_cmp(&key(b))
        })
    });
    let deferred = due.len().saturating_sub(cap);
    (due.into_iter().take(cap).map(|(_, found)| found.clone()).collect(), deferred)
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

    #[test]
    fn confirmations_per_block_are_capped_new_accounts_and_the_worst_health_first() {
        let market = B256::repeat_byte(0x01);
        let other_market = B256::repeat_byte(0x02);
        let account = |n: u8| Address::repeat_byte(n);
        let found = |n: u8, health: Option<f64>| risk::Unhealthy { account: account(n), max_repay: None, health };
        // Scan order: 1..=6.
        let unhealthy = vec![
            found(1, Some(0.99)),
            found(2, Some(0.80)),
            found(3, Some(0.95)),
            found(4, Some(0.50)),
            found(5, None),
            found(6, Some(0.70)),
        ];
        let block = 100;
        let emitted = HashMap::from([
            // Confirmed long enough ago: due again, after every new account.
            ((market, account(4)), block - RECONFIRM_AFTER_BLOCKS),
            // Confirmed a moment ago: not due.
            ((market, account(6)), block - 1),
            // Another market's record does not hold this one's account back.
            ((other_market, account(3)), block),
        ]);

        let (due, deferred) = due_confirmations(&unhealthy, &emitted, market, block, usize::MAX);
        let order: Vec<Address> = due.iter().map(|found| found.account).collect();
        assert_eq!(order, vec![account(2), account(3), account(1), account(5), account(4)]);
        assert_eq!(deferred, 0);

        let (due, deferred) = due_confirmations(&unhealthy, &emitted, market, block, 2);
        let order: Vec<Address> = due.iter().map(|found| found.account).collect();
        assert_eq!(order, vec![account(2), account(3)]);
        assert_eq!(deferred, 3);

        // Once the worst are emitted, the next block takes the ones that waited.
        let mut emitted = emitted;
        for confirmed in &order {
            emitted.insert((market, *confirmed), block);
        }
        let (due, deferred) = due_confirmations(&unhealthy, &emitted, market, block + 1, 2);
        let order: Vec<Address> = due.iter().map(|found| found.account).collect();
        assert_eq!(order, vec![account(1), account(5)]);
        assert_eq!(deferred, 1);
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
            ws_url: None,
            watch_all: true,
            watch_markets: Vec::new(),
            watch_adapters: Vec::new(),
        };
        let provider = provider(&config).unwrap();
        provider.raw_request::<_, ()>("anvil_mine".into(), (10u64,)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (events_tx, mut events) = mpsc::channel(64);
        let mut watcher = ChainWatcher::new(WatcherContext {
            config: config.clone(),
            risk: RiskConfig::default(),
            provider: provider.clone(),
            store: store.clone(),
            events: events_tx,
            metrics: Default::default(),
            status: SharedStatus::default(),
            reconfirm: Default::default(),
        });

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

    #[tokio::test]
    async fn a_new_head_by_websocket_wakes_the_watcher_long_before_its_next_poll() {
        let anvil = Anvil::new().path(anvil_path()).try_spawn().expect("anvil starts");
        let config = ChainConfig {
            chain_id: anvil.chain_id(),
            rpc_url: anvil.endpoint(),
            ws_url: Some(anvil.ws_endpoint()),
            settlement: Address::repeat_byte(0x5e),
            solver_registry: None,
            start_block: 0,
            // Far longer than the test waits: only the subscription can wake the watcher.
            poll_interval: Duration::from_secs(60),
            watch_all: true,
            watch_markets: Vec::new(),
            watch_adapters: Vec::new(),
        };
        let provider = provider(&config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (events, mut events_rx) = mpsc::channel(64);
        let watcher = ChainWatcher::new(WatcherContext {
            config: config.clone(),
            risk: RiskConfig::default(),
            provider: provider.clone(),
            store: store.clone(),
            events,
            metrics: Default::default(),
            status: SharedStatus::default(),
            reconfirm: Default::default(),
        });
        let task = tokio::spawn(watcher.run());
        let head_at = |block: u64| {
            let store = store.clone();
            let chain_id = config.chain_id;
            async move {
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    if store.cursor(chain_id).unwrap() == Some(block) {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                false
            }
        };
        assert!(head_at(0).await, "the first poll indexes the genesis block");
        // Give the subscription a moment to be established, then mine.
        tokio::time::sleep(Duration::from_millis(500)).await;
        provider.raw_request::<_, ()>("anvil_mine".into(), (1u64,)).await.unwrap();
        assert!(head_at(1).await, "the new head was indexed at once, not after the 60 s poll");
        while events_rx.try_recv().is_ok() {}
        task.abort();
    }
}
