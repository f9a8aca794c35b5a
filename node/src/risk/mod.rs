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
//! A market whose adapter the node has no model for (anything that is not a
//! `MarginEngine`) falls back to batched `accountHealth` calls: one JSON-RPC batch per
//! few hundred accounts instead of one round trip each.

pub mod book;
pub mod engine;
pub mod math;
pub mod rpc;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;
use backstop_bindings::{IMarginMarket, LiquidationSettlement, MarginEngine, OracleRouter};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy {
    pub account: Address,
    /// The model's `maxRepay` (`None` for a batched market, which does not compute it).
    pub max_repay: Option<U256>,
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
    Batched(BTreeSet<Address>),
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
            None => State::Batched(BTreeSet::new()),
        };
        Ok(Self { adapter, collateral_assets, state, quarantine: Quarantine::default() })
    }

    pub fn kind(&self) -> ModelKind {
        match self.state {
            State::Engine(_) => ModelKind::MarginEngine,
            State::Batched(_) => ModelKind::Batched,
        }
    }

    pub fn accounts(&self) -> usize {
        match &self.state {
            State::Engine(state) => state.book.len(),
            State::Batched(accounts) => accounts.len(),
        }
    }

    /// The mirrored position of `account` (holdings in listing order, debt); engine markets only.
    pub fn position(&self, account: &Address) -> Option<(Vec<U256>, U256)> {
        match &self.state {
            State::Engine(state) => state.book.position(account).map(|(units, debt)| (units.to_vec(), debt)),
            State::Batched(_) => None,
        }
    }

    /// The local model at `block` (one oracle read per collateral); `None` for a batched
    /// market. The differential test values accounts with it.
    pub async fn engine_model(&self, provider: &DynProvider, block: BlockId) -> Result<Option<EngineModel>, RiskError> {
        match &self.state {
            State::Engine(state) => Ok(Some(state.model(provider, block).await?)),
            State::Batched(_) => Ok(None),
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
                            scan.unhealthy.push(Unhealthy { account, max_repay: None })
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
            .map(|found| Unhealthy { account: found.account, max_repay: found.max_repay })
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
}

/// Confirms `unhealthy` on chain at `block`, in one batch: `isLiquidatable` and the
/// settlement's nonce of each account (and `maxRepay` where the model has none), and once
/// the adapter's price of its first collateral (the intents' `observedPrice`).
pub async fn confirm(
    provider: &DynProvider,
    settlement: Address,
    market_id: alloy::primitives::B256,
    adapter: Address,
    price_asset: Address,
    unhealthy: &[Unhealthy],
    block: BlockId,
) -> Result<Confirmation, RiskError> {
    // The price is the market's, not the account's: read once. An account whose exact
    // `maxRepay` the model computed is confirmed with `isLiquidatable` alone (the model
    // and the contract agree to the wei, see tests/e2e/risk_model.rs; peers check the
    // claim against the chain anyway).
    let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(unhealthy.len() * 3 + 1);
    calls.push((adapter, IMarginMarket::priceCall { asset: price_asset }.abi_encode().into()));
    for found in unhealthy {
        let account = found.account;
        calls.push((adapter, IMarginMarket::isLiquidatableCall { account }.abi_encode().into()));
        calls
            .push((settlement, LiquidationSettlement::noncesCall { marketId: market_id, account }.abi_encode().into()));
        if found.max_repay.is_none() {
            calls.push((adapter, IMarginMarket::maxRepayCall { account }.abi_encode().into()));
        }
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
        let max_repay = match found.max_repay {
            Some(model) => Some(model),
            None => next().and_then(|data| IMarginMarket::maxRepayCall::abi_decode_returns(data).ok()),
        };
        match (liquidatable, nonce, max_repay) {
            (Some(true), Some(nonce), Some(max_repay)) if !max_repay.is_zero() => {
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
