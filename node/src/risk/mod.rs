//! The risk engine between the chain and the auctions.
//!
//! Every block a node must know which accounts fell below maintenance, for every market
//! it watches, before anyone else does. Asking the chain for each account's health one
//! `eth_call` at a time does not scale (a thousand accounts no longer fit a one-second
//! block), so the node mirrors positions and prices accounts itself:
//!
//! - **Positions** are read once when they change: a market's `PositionChanged(account)`
//!   log makes the node read that account's position (`debtOf`, `collateralOf` per listed
//!   collateral) in a batched call at the indexed block. Reads are idempotent, so a reorg
//!   or a replayed range cannot double-count anything.
//! - **Prices** are read once per block per collateral (`OracleRouter.peek`, and the
//!   router's last recorded price where every feed lapsed).
//! - **Health** is computed locally with exactly the contract's arithmetic
//!   ([`engine::EngineModel`]), for every account, with a fast floating-point filter that
//!   defers every close call to the exact model ([`book::EngineBook::scan`]).
//! - **At risk**: accounts within a volatility-scaled distance of maintenance form a
//!   watchlist that is judged first on the next block, so a crash's first intents leave
//!   as early as possible.
//! - **Confirmation**: every account the model finds liquidatable is confirmed on chain
//!   (`isLiquidatable`, `maxRepay`, the settlement nonce and the price, one batch at the
//!   same block) before an intent opens; a disagreement is logged, counted and, when it
//!   persists, quarantines the market.
//!
//! A Morpho Blue market behind Backstop's `MorphoPreLiquidation` adapter is modelled too
//! ([`morpho`]): borrowers' shares, collateral and opt-in are re-read from Morpho whenever a
//! Morpho event of that market (or an authorization of the adapter) names them, the market's
//! totals with every event of the market, and each block the node reads the oracle's price
//! and the IRM's rate once, accrues interest to the block's timestamp as Morpho does, and
//! prices every borrower with Morpho's and the adapter's exact arithmetic. Its oracle
//! declares no volatility, so the watchlist widens with the price's realised volatility
//! ([`volatility`]) instead.
//!
//! A market whose adapter the node has no model for (anything that is neither a
//! `MarginEngine` nor a `MorphoPreLiquidation`) falls back to batched `accountHealth` calls
//! ([`rpc`]: a few hundred per `eth_call` of a deployless reader, not a round trip each).

pub mod book;
pub mod engine;
pub mod math;
pub mod morpho;
/// Batched reads, shared with the solver SDK.
pub use backstop_bindings::batch as rpc;
pub mod volatility;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use backstop_bindings::{
    IIrm, IMarginMarket, IMorphoOracle, LiquidationSettlement, MarginEngine, Morpho, MorphoPreLiquidation, OracleRouter,
};
use serde::Serialize;

use self::book::{EngineBook, ScanReport};
use self::engine::{AssetView, CollateralTerms, EngineModel, Quote, RiskParams};
use self::math::{to_f64, WAD};
use self::rpc::{call_many, call_raw, BatchError, CallError};
use crate::config::RiskConfig;

/// How a market is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A `MarginEngine`: positions mirrored, health computed locally.
    MarginEngine,
    /// A `MorphoPreLiquidation` adapter: Morpho positions mirrored, health computed locally.
    Morpho,
    /// Any other adapter: batched `accountHealth` calls.
    Batched,
}

/// Why a market's risk could not be computed this block.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// The RPC failed: retry.
    #[error("rpc: {0}")]
    Rpc(#[from] BatchError),
    /// The adapter (or its oracle) answered something no honest market answers.
    #[error("adapter misbehaved: {0}")]
    Adapter(String),
}

/// An account the model found liquidatable, before the chain confirms it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unhealthy {
    pub account: Address,
    /// The model's `maxRepay` (`None` for a batched market, which does not compute it).
    pub max_repay: Option<U256>,
    /// The model's estimate of the health ratio (below 1 here), for ordering only:
    /// `None` where the model does not estimate one (Morpho, batched markets).
    pub health: Option<f64>,
}

/// What a scan of one market found.
#[derive(Debug, Clone, Default)]
pub struct MarketScan {
    pub unhealthy: Vec<Unhealthy>,
    pub scanned: usize,
    pub exact: usize,
    pub unpriceable: usize,
    pub at_risk: usize,
    pub duration: Duration,
}

/// The risk state of one watched market.
#[derive(Debug)]
pub struct MarketRisk {
    pub adapter: Address,
    pub collateral_assets: Vec<Address>,
    state: State,
    quarantine: Quarantine,
}

#[derive(Debug)]
enum State {
    Engine(Box<EngineState>),
    Morpho(Box<MorphoState>),
    Batched(BTreeSet<Address>),
}

#[derive(Debug)]
struct MorphoState {
    /// Morpho Blue, as the adapter names it.
    morpho: Address,
    /// The Morpho market id (`MarketParamsLib.id`), checked against the parameters.
    morpho_market_id: alloy::primitives::B256,
    params: morpho::MarketParams,
    pre: morpho::PreLiquidationParams,
    /// The market's stored totals as of the last indexed block.
    market: morpho::MarketState,
    book: morpho::MorphoBook,
    watchlist: Vec<u32>,
    /// The oracle's realised volatility: Morpho's oracle declares none (see [`volatility`]).
    volatility: volatility::RealizedVolatility,
}

#[derive(Debug)]
struct EngineState {
    router: Address,
    risk: RiskParams,
    terms: Vec<CollateralTerms>,
    book: EngineBook,
    /// Rows judged first next block.
    watchlist: Vec<u32>,
    /// The model of the last scan, for exact valuations of what it found.
    last_model: Option<EngineModel>,
}

impl MarketRisk {
    /// Probes the adapter: one that answers the `MarginEngine` getters is modelled
    /// locally, anything else is scanned with batched `accountHealth` calls.
    pub async fn load(
        provider: &DynProvider,
        adapter: Address,
        collateral_assets: Vec<Address>,
        block: BlockId,
    ) -> Result<Self, RiskError> {
        let state = match probe_engine(provider, adapter, &collateral_assets, block).await? {
            Some(state) => State::Engine(Box::new(state)),
            None => match probe_morpho(provider, adapter, &collateral_assets, block).await? {
                Some(state) => State::Morpho(Box::new(state)),
                None => State::Batched(BTreeSet::new()),
            },
        };
        Ok(Self { adapter, collateral_assets, state, quarantine: Quarantine::default() })
    }

    pub fn kind(&self) -> ModelKind {
        match self.state {
            State::Engine(_) => ModelKind::MarginEngine,
            State::Morpho(_) => ModelKind::Morpho,
            State::Batched(_) => ModelKind::Batched,
        }
    }

    pub fn accounts(&self) -> usize {
        match &self.state {
            State::Engine(state) => state.book.len(),
            State::Morpho(state) => state.book.len(),
            State::Batched(accounts) => accounts.len(),
        }
    }

    /// The mirrored position of `account` (holdings in listing order, debt); engine markets only.
    pub fn position(&self, account: &Address) -> Option<(Vec<U256>, U256)> {
        match &self.state {
            State::Engine(state) => state.book.position(account).map(|(units, debt)| (units.to_vec(), debt)),
            State::Morpho(_) | State::Batched(_) => None,
        }
    }

    /// Morpho Blue and the Morpho market id a Morpho market's positions live in: the chain
    /// watcher indexes that contract's logs for it.
    pub fn morpho_source(&self) -> Option<(Address, alloy::primitives::B256)> {
        match &self.state {
            State::Morpho(state) => Some((state.morpho, state.morpho_market_id)),
            _ => None,
        }
    }

    /// The mirrored Morpho position of `account`; Morpho markets only.
    pub fn morpho_borrower(&self, account: &Address) -> Option<morpho::Borrower> {
        match &self.state {
            State::Morpho(state) => state.book.get(account).copied(),
            _ => None,
        }
    }

    /// The mirrored Morpho market totals (as stored on chain at the last indexed block).
    pub fn morpho_market(&self) -> Option<morpho::MarketState> {
        match &self.state {
            State::Morpho(state) => Some(state.market),
            _ => None,
        }
    }

    /// The local Morpho model at `block` (the oracle's price, the IRM's rate and the block's
    /// timestamp); `None` for other markets. The differential test values borrowers with it.
    pub async fn morpho_model(
        &self,
        provider: &DynProvider,
        block: BlockId,
    ) -> Result<Option<morpho::MorphoModel>, RiskError> {
        match &self.state {
            State::Morpho(state) => Ok(Some(state.model(provider, block).await?)),
            _ => Ok(None),
        }
    }

    /// The local model at `block` (one oracle read per collateral); `None` for a batched
    /// market. The differential test values accounts with it.
    pub async fn engine_model(&self, provider: &DynProvider, block: BlockId) -> Result<Option<EngineModel>, RiskError> {
        match &self.state {
            State::Engine(state) => Ok(Some(state.model(provider, block).await?)),
            State::Morpho(_) | State::Batched(_) => Ok(None),
        }
    }

    /// The collaterals or their terms changed (`CollateralAdded`/`CollateralUpdated`):
    /// re-read them, keeping every mirrored position.
    pub async fn refresh_terms(
        &mut self,
        provider: &DynProvider,
        collateral_assets: Vec<Address>,
        block: BlockId,
    ) -> Result<(), RiskError> {
        if let State::Engine(state) = &mut self.state {
            state.terms = read_terms(provider, self.adapter, &collateral_assets, block).await?;
            state.book.widen(state.terms.len());
            if state.terms.len() != collateral_assets.len() {
                return Err(RiskError::Adapter("collateral list shrank".into()));
            }
        }
        self.collateral_assets = collateral_assets;
        Ok(())
    }

    /// Starts tracking (or re-reads) `accounts`, whose positions changed by `block`.
    pub async fn track(
        &mut self,
        provider: &DynProvider,
        accounts: &[Address],
        block: BlockId,
    ) -> Result<(), RiskError> {
        match &mut self.state {
            State::Batched(tracked) => {
                tracked.extend(accounts.iter().copied());
                Ok(())
            }
            State::Morpho(state) => state.track(provider, self.adapter, accounts, block).await,
            State::Engine(state) => {
                let width = state.terms.len();
                let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(accounts.len() * (width + 1));
                for account in accounts {
                    calls.push((self.adapter, MarginEngine::debtOfCall { account: *account }.abi_encode().into()));
                    for terms in &state.terms {
                        let call = MarginEngine::collateralOfCall { account: *account, asset: terms.asset };
                        calls.push((self.adapter, call.abi_encode().into()));
                    }
                }
                let answers = call_raw(provider, &calls, block).await?;
                let mut values = Vec::with_capacity(width + 1);
                for (account, answers) in accounts.iter().zip(answers.chunks(width + 1)) {
                    values.clear();
                    for answer in answers {
                        // Both getters return one uint256.
                        let value = answer
                            .as_ref()
                            .ok()
                            .and_then(|data| MarginEngine::debtOfCall::abi_decode_returns(data).ok())
                            .ok_or_else(|| RiskError::Adapter(format!("reading the position of {account} failed")))?;
                        values.push(value);
                    }
                    if !state.book.set(*account, &values[1..], values[0]) {
                        return Err(RiskError::Adapter(format!(
                            "more than {} accounts: not tracking more",
                            book::MAX_ACCOUNTS
                        )));
                    }
                }
                Ok(())
            }
        }
    }

    /// Judges every tracked account at `block` (the watchlist first).
    pub async fn scan(
        &mut self,
        provider: &DynProvider,
        block: BlockId,
        config: &RiskConfig,
    ) -> Result<MarketScan, RiskError> {
        let started = Instant::now();
        let mut scan = match &mut self.state {
            State::Engine(state) => {
                let model = state.model(provider, block).await?;
                let distance = at_risk_distance(&model, config);
                let report = state.book.scan(&model, &state.watchlist, true, distance);
                state.watchlist = report.at_risk.clone();
                state.last_model = Some(model);
                from_report(report)
            }
            State::Morpho(state) => {
                let model = state.model(provider, block).await?;
                if let (Some(price), Some(number)) = (model.price, block.as_u64()) {
                    state.volatility.observe(number, model.timestamp, price);
                }
                let distance =
                    config.at_risk_distance + config.at_risk_volatility_multiple * state.volatility.one_hour();
                let report = state.book.scan(&model, &state.watchlist, distance);
                state.watchlist = report.at_risk.clone();
                MarketScan {
                    unhealthy: report
                        .liquidatable
                        .into_iter()
                        .map(|found| Unhealthy {
                            account: found.account,
                            max_repay: Some(found.max_repay),
                            health: None,
                        })
                        .collect(),
                    scanned: report.scanned,
                    exact: report.exact,
                    unpriceable: report.unpriceable,
                    at_risk: report.at_risk.len(),
                    duration: Duration::ZERO,
                }
            }
            State::Batched(accounts) => {
                let accounts: Vec<Address> = accounts.iter().copied().collect();
                let calls = accounts
                    .iter()
                    .map(|account| (self.adapter, IMarginMarket::accountHealthCall { account: *account }));
                let answers = call_many(provider, calls, block).await?;
                let mut scan = MarketScan { scanned: accounts.len(), ..MarketScan::default() };
                for (account, answer) in accounts.into_iter().zip(answers) {
                    match answer {
                        Ok(health) if !health.debtValue.is_zero() && health.collateralValue < health.requirement => {
                            scan.unhealthy.push(Unhealthy { account, max_repay: None, health: None })
                        }
                        Ok(_) => {}
                        Err(_) => scan.unpriceable += 1,
                    }
                }
                scan
            }
        };
        scan.duration = started.elapsed();
        Ok(scan)
    }

    /// The exact `maxRepay` of `account` at the last scan's quotes (engine markets), for
    /// accounts the fast filter reported without valuing them.
    pub fn exact_max_repay(&self, account: &Address) -> Option<U256> {
        let State::Engine(state) = &self.state else { return None };
        let model = state.last_model.as_ref()?;
        let valuation = state.book.value(model, account)?.ok()?;
        model.max_repay(&valuation).ok().filter(|amount| !amount.is_zero())
    }

    /// Whether the market is quarantined at `now`.
    pub fn quarantined(&self, now: Instant) -> bool {
        self.quarantine.until.is_some_and(|until| now < until)
    }

    /// A block in which the adapter misbehaved (reverting views, confirmation mismatch).
    /// Returns `true` when this fault starts a quarantine.
    pub fn fault(&mut self, now: Instant, config: &RiskConfig) -> bool {
        self.quarantine.streak += 1;
        if self.quarantine.streak >= config.quarantine_after && !self.quarantined(now) {
            self.quarantine.until = Some(now + config.quarantine_for);
            self.quarantine.streak = 0;
            return true;
        }
        false
    }

    /// A block the market was scanned and confirmed without fault.
    pub fn clean(&mut self) {
        self.quarantine.streak = 0;
    }
}

#[derive(Debug, Default)]
struct Quarantine {
    streak: u32,
    until: Option<Instant>,
}

fn from_report(report: ScanReport) -> MarketScan {
    MarketScan {
        unhealthy: report
            .liquidatable
            .into_iter()
            .map(|found| Unhealthy { account: found.account, max_repay: found.max_repay, health: Some(found.health) })
            .collect(),
        scanned: report.scanned,
        exact: report.exact,
        unpriceable: report.unpriceable,
        at_risk: report.at_risk.len(),
        duration: Duration::ZERO,
    }
}

/// `base + multiple * volatility`, the highest volatility among the market's collaterals:
/// the buffer an account needs grows with how far prices can move in a block or two.
fn at_risk_distance(model: &EngineModel, config: &RiskConfig) -> f64 {
    let volatility = model
        .assets
        .iter()
        .filter_map(|view| match view.quote {
            Quote::Priced { volatility_wad, .. } => Some(to_f64(volatility_wad) / to_f64(WAD)),
            Quote::Lapsed { .. } => None,
        })
        .fold(0.0, f64::max);
    config.at_risk_distance + config.at_risk_volatility_multiple * volatility
}

impl EngineState {
    /// One batch: `peek` per collateral, and `stateOf` for those whose feeds all lapsed.
    async fn model(&self, provider: &DynProvider, block: BlockId) -> Result<EngineModel, RiskError> {
        let peeks = self.terms.iter().map(|terms| (self.router, OracleRouter::peekCall { asset: terms.asset }));
        let answers = call_many(provider, peeks, block).await?;
        let mut assets = Vec::with_capacity(self.terms.len());
        for (terms, answer) in self.terms.iter().zip(answers) {
            let quote = match answer {
                Ok(peek) => Quote::Priced { price_wad: peek.priceWad, volatility_wad: peek.volatilityWad },
                Err(CallError::Reverted(_)) => {
                    let state =
                        call_many(provider, [(self.router, OracleRouter::stateOfCall { asset: terms.asset })], block)
                            .await?
                            .pop()
                            .and_then(Result::ok)
                            .ok_or_else(|| RiskError::Adapter(format!("router stateOf({}) failed", terms.asset)))?;
                    Quote::Lapsed { last_price_wad: U256::from(state.priceWad) }
                }
                Err(error) => return Err(RiskError::Adapter(format!("router peek({}): {error:?}", terms.asset))),
            };
            let view = AssetView::new(terms, quote)
                .ok_or_else(|| RiskError::Adapter(format!("collateral {} terms overflow", terms.asset)))?;
            assets.push(view);
        }
        Ok(EngineModel { risk: self.risk, assets })
    }
}

impl MorphoState {
    fn irm_market(&self) -> IIrm::Market {
        let market = &self.market;
        IIrm::Market {
            totalSupplyAssets: market.total_supply_assets,
            totalSupplyShares: market.total_supply_shares,
            totalBorrowAssets: market.total_borrow_assets,
            totalBorrowShares: market.total_borrow_shares,
            lastUpdate: market.last_update,
            fee: market.fee,
        }
    }

    /// One batch (the oracle's `price()` and the IRM's `borrowRateView` over the mirrored
    /// totals) and the block's header, read concurrently. A reverting oracle or IRM is not
    /// an error here: the accounts it makes unpriceable are unpriceable on chain too.
    async fn model(&self, provider: &DynProvider, block: BlockId) -> Result<morpho::MorphoModel, RiskError> {
        let params = self.params;
        let mut calls: Vec<(Address, Bytes)> = vec![(params.oracle, IMorphoOracle::priceCall {}.abi_encode().into())];
        if params.irm != Address::ZERO {
            let call = IIrm::borrowRateViewCall {
                marketParams: IIrm::MarketParams {
                    loanToken: params.loan_token,
                    collateralToken: params.collateral_token,
                    oracle: params.oracle,
                    irm: params.irm,
                    lltv: params.lltv,
                },
                market: self.irm_market(),
            };
            calls.push((params.irm, call.abi_encode().into()));
        }
        let (answers, header) = tokio::join!(call_raw(provider, &calls, block), provider.get_block(block));
        let answers = answers?;
        let header = header
            .map_err(|error| RiskError::Rpc(BatchError(error.to_string())))?
            .ok_or_else(|| RiskError::Rpc(BatchError(format!("block {block} not found"))))?;
        let price = answers[0].as_ref().ok().and_then(|data| IMorphoOracle::priceCall::abi_decode_returns(data).ok());
        let rate = answers
            .get(1)
            .and_then(|answer| answer.as_ref().ok())
            .and_then(|data| IIrm::borrowRateViewCall::abi_decode_returns(data).ok());
        Ok(morpho::MorphoModel {
            params,
            pre: self.pre,
            totals: self.market.accrued(params.irm, rate, header.header.timestamp),
            price,
            timestamp: header.header.timestamp,
        })
    }

    /// Re-reads the market's totals and, for each of `accounts`, its position and whether it
    /// authorized the adapter, all at `block` in one batch.
    async fn track(
        &mut self,
        provider: &DynProvider,
        adapter: Address,
        accounts: &[Address],
        block: BlockId,
    ) -> Result<(), RiskError> {
        let id = self.morpho_market_id;
        let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(1 + 2 * accounts.len());
        calls.push((self.morpho, Morpho::marketCall::new((id,)).abi_encode().into()));
        for account in accounts {
            calls.push((self.morpho, Morpho::positionCall::new((id, *account)).abi_encode().into()));
            calls.push((self.morpho, Morpho::isAuthorizedCall::new((*account, adapter)).abi_encode().into()));
        }
        let answers = call_raw(provider, &calls, block).await?;
        let market = answers[0]
            .as_ref()
            .ok()
            .and_then(|data| Morpho::marketCall::abi_decode_returns(data).ok())
            .ok_or_else(|| RiskError::Adapter(format!("Morpho {} market({id}) unreadable", self.morpho)))?;
        if market.lastUpdate == 0 {
            return Err(RiskError::Adapter(format!("Morpho market {id} does not exist")));
        }
        self.market = morpho::MarketState {
            total_supply_assets: market.totalSupplyAssets,
            total_supply_shares: market.totalSupplyShares,
            total_borrow_assets: market.totalBorrowAssets,
            total_borrow_shares: market.totalBorrowShares,
            last_update: market.lastUpdate,
            fee: market.fee,
        };
        for (account, answers) in accounts.iter().zip(answers[1..].chunks(2)) {
            let unreadable = || RiskError::Adapter(format!("reading the Morpho position of {account} failed"));
            let position = answers[0]
                .as_ref()
                .ok()
                .and_then(|data| Morpho::positionCall::abi_decode_returns(data).ok())
                .ok_or_else(unreadable)?;
            let authorized = answers[1]
                .as_ref()
                .ok()
                .and_then(|data| Morpho::isAuthorizedCall::abi_decode_returns(data).ok())
                .ok_or_else(unreadable)?;
            let borrower =
                morpho::Borrower { borrow_shares: position.borrowShares, collateral: position.collateral, authorized };
            if !self.book.set(*account, borrower) {
                return Err(RiskError::Adapter(format!(
                    "more than {} accounts: not tracking more",
                    morpho::MAX_ACCOUNTS
                )));
            }
        }
        Ok(())
    }
}

/// Reads the `MorphoPreLiquidation` getters; `None` when the adapter is not one. An adapter
/// that answers them but disagrees with Morpho (other parameters, a market id that is not
/// theirs, parameters outside the constructor's bounds) is refused as misbehaving.
async fn probe_morpho(
    provider: &DynProvider,
    adapter: Address,
    collateral_assets: &[Address],
    block: BlockId,
) -> Result<Option<MorphoState>, RiskError> {
    let getters: [(Address, Bytes); 4] = [
        (adapter, MorphoPreLiquidation::morphoCall {}.abi_encode().into()),
        (adapter, MorphoPreLiquidation::morphoMarketIdCall {}.abi_encode().into()),
        (adapter, MorphoPreLiquidation::marketParamsCall {}.abi_encode().into()),
        (adapter, MorphoPreLiquidation::preLiquidationParamsCall {}.abi_encode().into()),
    ];
    let answers = call_raw(provider, &getters, block).await?;
    let decoded = (|| {
        let morpho = MorphoPreLiquidation::morphoCall::abi_decode_returns(answers[0].as_ref().ok()?).ok()?;
        let id = MorphoPreLiquidation::morphoMarketIdCall::abi_decode_returns(answers[1].as_ref().ok()?).ok()?;
        let params = MorphoPreLiquidation::marketParamsCall::abi_decode_returns(answers[2].as_ref().ok()?).ok()?;
        let pre = MorphoPreLiquidation::preLiquidationParamsCall::abi_decode_returns(answers[3].as_ref().ok()?).ok()?;
        Some((morpho, id, params, pre))
    })();
    let Some((morpho_address, morpho_market_id, params, pre)) = decoded else { return Ok(None) };
    let params = morpho::MarketParams {
        loan_token: params.loanToken,
        collateral_token: params.collateralToken,
        oracle: params.oracle,
        irm: params.irm,
        lltv: params.lltv,
    };
    let pre = morpho::PreLiquidationParams {
        pre_lltv: pre.preLltv,
        pre_lcf1: pre.preLCF1,
        pre_lcf2: pre.preLCF2,
        pre_lif1: pre.preLIF1,
        pre_lif2: pre.preLIF2,
    };
    if morpho_address == adapter || morpho_address == Address::ZERO {
        return Err(RiskError::Adapter(format!("Morpho adapter names {morpho_address} as Morpho")));
    }
    if params.id() != morpho_market_id {
        return Err(RiskError::Adapter(format!(
            "Morpho adapter's market id {morpho_market_id} is not its parameters' id"
        )));
    }
    let on_morpho =
        call_many(provider, [(morpho_address, Morpho::idToMarketParamsCall::new((morpho_market_id,)))], block)
            .await?
            .pop()
            .and_then(Result::ok)
            .ok_or_else(|| RiskError::Adapter(format!("Morpho {morpho_address} idToMarketParams unreadable")))?;
    let on_morpho = morpho::MarketParams {
        loan_token: on_morpho.loanToken,
        collateral_token: on_morpho.collateralToken,
        oracle: on_morpho.oracle,
        irm: on_morpho.irm,
        lltv: on_morpho.lltv,
    };
    if on_morpho != params {
        return Err(RiskError::Adapter(format!(
            "Morpho {morpho_address} disagrees with the adapter's market parameters"
        )));
    }
    pre.check(params.lltv).map_err(|reason| RiskError::Adapter(format!("Morpho adapter: {reason}")))?;
    if collateral_assets != [params.collateral_token] {
        return Err(RiskError::Adapter("Morpho adapter's collateral list is not its market's collateral".into()));
    }
    let mut state = MorphoState {
        morpho: morpho_address,
        morpho_market_id,
        params,
        pre,
        market: morpho::MarketState::default(),
        book: morpho::MorphoBook::default(),
        watchlist: Vec::new(),
        volatility: volatility::RealizedVolatility::default(),
    };
    state.track(provider, adapter, &[], block).await?;
    Ok(Some(state))
}

/// Reads the engine getters; `None` when the adapter is not a `MarginEngine`.
async fn probe_engine(
    provider: &DynProvider,
    adapter: Address,
    collateral_assets: &[Address],
    block: BlockId,
) -> Result<Option<EngineState>, RiskError> {
    let getters: [(Address, Bytes); 5] = [
        (adapter, MarginEngine::oracleRouterCall {}.abi_encode().into()),
        (adapter, MarginEngine::maintenanceRatioWadCall {}.abi_encode().into()),
        (adapter, MarginEngine::closeFactorWadCall {}.abi_encode().into()),
        (adapter, MarginEngine::fullLiquidationHealthWadCall {}.abi_encode().into()),
        (adapter, MarginEngine::dustDebtCall {}.abi_encode().into()),
    ];
    let answers = call_raw(provider, &getters, block).await?;
    let Ok(router) = answers[0].as_ref() else { return Ok(None) };
    let Ok(router) = MarginEngine::oracleRouterCall::abi_decode_returns(router) else { return Ok(None) };
    let mut ratios = Vec::with_capacity(4);
    for answer in &answers[1..] {
        let Some(value) =
            answer.as_ref().ok().and_then(|data| MarginEngine::dustDebtCall::abi_decode_returns(data).ok())
        else {
            return Ok(None);
        };
        ratios.push(value);
    }
    let risk = RiskParams {
        maintenance_ratio_wad: ratios[0],
        close_factor_wad: ratios[1],
        full_liquidation_health_wad: ratios[2],
        dust_debt: ratios[3],
    };
    let terms = read_terms(provider, adapter, collateral_assets, block).await?;
    Ok(Some(EngineState {
        router,
        risk,
        book: EngineBook::new(terms.len()),
        terms,
        watchlist: Vec::new(),
        last_model: None,
    }))
}

/// `collateralParams` and `priceScaleOf` of every listed collateral, in listing order.
async fn read_terms(
    provider: &DynProvider,
    adapter: Address,
    collateral_assets: &[Address],
    block: BlockId,
) -> Result<Vec<CollateralTerms>, RiskError> {
    let params = call_many(
        provider,
        collateral_assets.iter().map(|asset| (adapter, MarginEngine::collateralParamsCall { asset: *asset })),
        block,
    )
    .await?;
    let scales = call_many(
        provider,
        collateral_assets.iter().map(|asset| (adapter, MarginEngine::priceScaleOfCall { asset: *asset })),
        block,
    )
    .await?;
    let mut terms = Vec::with_capacity(collateral_assets.len());
    for ((asset, params), scale) in collateral_assets.iter().zip(params).zip(scales) {
        let (Ok(params), Ok(price_scale)) = (params, scale) else {
            return Err(RiskError::Adapter(format!("collateral terms of {asset} unreadable")));
        };
        if price_scale.is_zero() {
            return Err(RiskError::Adapter(format!("collateral {asset} has a zero price scale")));
        }
        terms.push(CollateralTerms {
            asset: *asset,
            base_haircut_wad: U256::from(params.baseHaircutWad),
            volatility_multiplier_wad: U256::from(params.volatilityMultiplierWad),
            max_haircut_wad: U256::from(params.maxHaircutWad),
            liquidation_bonus_wad: U256::from(params.liquidationBonusWad),
            price_scale,
        });
    }
    Ok(terms)
}

/// An account the chain confirmed liquidatable at the scanned block, with what an
/// intent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub account: Address,
    pub nonce: U256,
    pub max_repay: U256,
    pub price: U256,
}

/// What confirming a scan's findings gave.
#[derive(Debug, Clone, Default)]
pub struct Confirmation {
    pub confirmed: Vec<Confirmed>,
    /// Found liquidatable by the model, not by the chain.
    pub mismatches: Vec<Address>,
    /// Confirmed liquidatable, but the model's `maxRepay` is not the chain's: (account,
    /// model, chain). The intent carries the chain's; the model needs a look.
    pub max_repay_disagreements: Vec<(Address, U256, U256)>,
}

/// Confirms `unhealthy` on chain at `block`, in one batch: `isLiquidatable`, `maxRepay`
/// and the settlement's nonce of each account, and once the adapter's price of its first
/// collateral (the intents' `observedPrice`). An intent claims what the chain says, never
/// only what the model says: peers read the chain to check it, and a claim off by a wei
/// is a false claim that gets its origin penalised.
pub async fn confirm(
    provider: &DynProvider,
    settlement: Address,
    market_id: alloy::primitives::B256,
    adapter: Address,
    price_asset: Address,
    unhealthy: &[Unhealthy],
    block: BlockId,
) -> Result<Confirmation, RiskError> {
    // The price is the market's, not the account's: read once.
    let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(unhealthy.len() * 3 + 1);
    calls.push((adapter, IMarginMarket::priceCall { asset: price_asset }.abi_encode().into()));
    for found in unhealthy {
        let account = found.account;
        calls.push((adapter, IMarginMarket::isLiquidatableCall { account }.abi_encode().into()));
        calls
            .push((settlement, LiquidationSettlement::noncesCall { marketId: market_id, account }.abi_encode().into()));
        calls.push((adapter, IMarginMarket::maxRepayCall { account }.abi_encode().into()));
    }
    let answers = call_raw(provider, &calls, block).await?;
    let mut confirmation = Confirmation::default();
    let price = answers[0].as_ref().ok().and_then(|data| IMarginMarket::priceCall::abi_decode_returns(data).ok());
    let Some(price) = price else {
        // Without the price no intent can be opened for this market at this block.
        confirmation.mismatches.extend(unhealthy.iter().map(|found| found.account));
        return Ok(confirmation);
    };
    let mut answers = answers[1..].iter();
    for found in unhealthy {
        let mut next = || answers.next().and_then(|answer| answer.as_ref().ok());
        let liquidatable = next().and_then(|data| IMarginMarket::isLiquidatableCall::abi_decode_returns(data).ok());
        let nonce = next().and_then(|data| LiquidationSettlement::noncesCall::abi_decode_returns(data).ok());
        let max_repay = next().and_then(|data| IMarginMarket::maxRepayCall::abi_decode_returns(data).ok());
        match (liquidatable, nonce, max_repay) {
            (Some(true), Some(nonce), Some(max_repay)) if !max_repay.is_zero() => {
                if let Some(model) = found.max_repay.filter(|model| *model != max_repay) {
                    confirmation.max_repay_disagreements.push((found.account, model, max_repay));
                }
                confirmation.confirmed.push(Confirmed { account: found.account, nonce, max_repay, price });
            }
            _ => confirmation.mismatches.push(found.account),
        }
    }
    Ok(confirmation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batched_market() -> MarketRisk {
        MarketRisk {
            adapter: Address::repeat_byte(0xad),
            collateral_assets: vec![Address::repeat_byte(1)],
            state: State::Batched(BTreeSet::new()),
            quarantine: Quarantine::default(),
        }
    }

    #[test]
    fn a_market_is_quarantined_after_consecutive_faults_and_released_after_the_period() {
        let config =
            RiskConfig { quarantine_after: 3, quarantine_for: Duration::from_secs(600), ..RiskConfig::default() };
        let mut market = batched_market();
        let now = Instant::now();
        assert!(!market.fault(now, &config));
        assert!(!market.fault(now, &config));
        market.clean();
        assert!(!market.fault(now, &config), "a clean block resets the streak");
        assert!(!market.fault(now, &config));
        assert!(!market.quarantined(now));
        assert!(market.fault(now, &config), "the third fault in a row quarantines");
        assert!(market.quarantined(now + Duration::from_secs(599)));
        assert!(!market.quarantined(now + Duration::from_secs(600)), "released after quarantine_for");
        assert_eq!(market.kind(), ModelKind::Batched);
    }

    #[test]
    fn the_at_risk_distance_grows_with_volatility() {
        let terms = CollateralTerms {
            asset: Address::repeat_byte(1),
            base_haircut_wad: U256::ZERO,
            volatility_multiplier_wad: U256::ZERO,
            max_haircut_wad: U256::ZERO,
            liquidation_bonus_wad: U256::ZERO,
            price_scale: WAD,
        };
        let model = |volatility_wad: u64| EngineModel {
            risk: RiskParams {
                maintenance_ratio_wad: WAD,
                close_factor_wad: WAD,
                full_liquidation_health_wad: WAD,
                dust_debt: U256::ZERO,
            },
            assets: vec![AssetView::new(
                &terms,
                Quote::Priced { price_wad: WAD, volatility_wad: U256::from(volatility_wad) },
            )
            .unwrap()],
        };
        let config = RiskConfig::default();
        let calm = at_risk_distance(&model(0), &config);
        let turbulent = at_risk_distance(&model(50_000_000_000_000_000), &config);
        assert_eq!(calm, config.at_risk_distance);
        assert!((turbulent - (config.at_risk_distance + config.at_risk_volatility_multiple * 0.05)).abs() < 1e-12);
    }
}
