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
use backstop_protocol::bindings::{IMarginMarket, LiquidationSettlement};
use tokio::sync::mpsc;

use crate::config::ChainConfig;
use crate::observe;
use crate::store::Store;

/// Largest block range asked of `eth_getLogs` at once.
const MAX_LOG_RANGE: u64 = 2_000;
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
            debt_asset: engine.debtAsset().call().await.map_err(rpc(chain_id))?,
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
        let head = self.provider.get_block_number().await.map_err(transport(chain_id))?;
        let cursor = match self.store.cursor(chain_id)? {
            Some(cursor) => cursor,
            None => self.config.start_block.saturating_sub(1),
        };
        if head <= cursor && self.store.cursor(chain_id)?.is_some() {
            return Ok(true);
        }
        let from = if self.store.cursor(chain_id)?.is_some() { cursor + 1 } else { self.config.start_block };
        let to = head.min(from + MAX_LOG_RANGE - 1);
        self.index_range(from, to).await?;
        self.store.set_cursor(chain_id, to)?;
        let _ = self.events.send(ChainEvent::Head { chain_id, block: to }).await;
        if to < head {
            return Ok(false);
        }
        self.scan_health(to).await?;
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
        let adapters: Vec<Address> = self.markets.values().map(|market| market.adapter).collect();
        if !adapters.is_empty() {
            self.index_accounts(adapters, from, to).await?;
        }
        Ok(())
    }

    async fn index_accounts(&self, adapters: Vec<Address>, from: u64, to: u64) -> Result<(), ChainError> {
        let mut start = from;
        while start <= to {
            let end = to.min(start + MAX_LOG_RANGE - 1);
            for log in self.logs(adapters.clone(), start, end).await? {
                if log.topic0() != Some(&IMarginMarket::PositionChanged::SIGNATURE_HASH) {
                    continue;
                }
                if let Ok(event) = log.log_decode::<IMarginMarket::PositionChanged>() {
                    self.store.add_account(self.config.chain_id, log.address(), event.inner.data.account)?;
                }
            }
            start = end + 1;
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
