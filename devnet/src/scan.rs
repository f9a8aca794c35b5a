//! The devnet's view of every market's health, read from the chain once per block in
//! JSON-RPC batches: which accounts are under maintenance, and which of those the open
//! (first-come) path accepts right now, priced as a keeper would price them. The keepers
//! act on it and the scenario's timeline records it. One scan per chain per block, shared
//! by the three keepers: they get the same, fast information, which flatters the baseline
//! rather than handicapping it.

use std::collections::BTreeMap;

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use backstop_bindings::{LiquidationSettlement, MarginEngine};
use backstop_node::risk::rpc::call_many;
use serde::Serialize;

use crate::market::Deployment;

/// Which of a chain's two markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarketKind {
    /// Protected by Backstop's auctions, with the on-chain fallback behind them.
    Backstop,
    /// The twin protected only by open, first-come liquidation.
    Baseline,
}

impl MarketKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Backstop => "backstop",
            Self::Baseline => "baseline",
        }
    }
}

/// A market and the accounts the devnet opened on it.
#[derive(Debug, Clone)]
pub struct MarketBook {
    pub kind: MarketKind,
    pub market_id: B256,
    pub engine: Address,
    pub settlement: Address,
    pub insurance_fund: Address,
    /// The debt asset (every market of a devnet chain lends the same USD token).
    pub debt_asset: Address,
    pub accounts: Vec<Address>,
}

impl MarketBook {
    pub fn new(kind: MarketKind, deployment: &Deployment, accounts: Vec<Address>) -> Self {
        Self {
            kind,
            market_id: deployment.market_id,
            engine: deployment.engine,
            settlement: deployment.settlement,
            insurance_fund: deployment.insurance_fund,
            debt_asset: deployment.usd,
            accounts,
        }
    }
}

/// An account the open path accepts now, with what a keeper needs to price it.
#[derive(Debug, Clone)]
pub struct OpenLiquidation {
    pub kind: MarketKind,
    pub market_id: B256,
    pub settlement: Address,
    pub account: Address,
    /// The engine's `maxRepay`, USD wei.
    pub max_repay: U256,
    /// `previewSeize(max_repay)`: what the repay buys at the oracle's prices, USD wei.
    pub seized_value: U256,
    /// Units the repay seizes of each collateral (listing order): the account's holdings
    /// times `seized_value / market value` (the engine seizes the same share of each).
    pub seized_units: Vec<U256>,
}

/// One block's scan of one market.
#[derive(Debug, Clone)]
pub struct MarketScan {
    pub kind: MarketKind,
    /// Accounts below maintenance (`healthOf < 1`), with their health (WAD).
    pub under: BTreeMap<Address, U256>,
    pub open: Vec<OpenLiquidation>,
}

/// One block's scan of every market of a chain.
#[derive(Debug, Clone)]
pub struct Scan {
    pub block: u64,
    pub markets: Vec<MarketScan>,
    /// WAD price of each collateral (the engine's `price`), listing order.
    pub prices_wad: Vec<U256>,
    /// The engine's `priceScaleOf` each collateral: market value = units × price / scale.
    pub scales: Vec<U256>,
    /// Each collateral's DEX pool against the debt asset, oriented for selling the
    /// collateral (None: no pool, or unreadable).
    pub pools: Vec<Option<backstop_solver_sdk::dex::Reserves>>,
}

/// A collateral's DEX pool: the pair, and whether the collateral is its `token0`.
#[derive(Debug, Clone, Copy)]
pub struct PoolRef {
    pub pair: Address,
    pub collateral_is_token0: bool,
}

const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// Accounts at or above this health (WAD) are read only every [`FAR_RESCAN_BLOCKS`] blocks,
/// unless a collateral price moved by more than [`FULL_SCAN_MOVE_BPS`] since the last full
/// read: what a keeper that watches its RPC bill does. 1.3 leaves room for a 20% move
/// between two full reads.
const NEAR_HEALTH_WAD: u128 = 1_300_000_000_000_000_000;
pub const FAR_RESCAN_BLOCKS: u64 = 4;
const FULL_SCAN_MOVE_BPS: u128 = 500;

/// A scanner with memory: every account's last health, so accounts far from the line are
/// not read every block.
#[derive(Debug, Default)]
pub struct Scanner {
    /// (market index, account) → (health, block it was read at).
    last: std::collections::HashMap<(usize, Address), (U256, u64)>,
    /// Prices at the last full read, and its block.
    full: Option<(Vec<U256>, u64)>,
}

impl Scanner {
    /// Reads every market's health at `block` (the accounts near the line, or all of them
    /// when due). `collaterals` in listing order.
    pub async fn scan(
        &mut self,
        provider: &DynProvider,
        block: u64,
        markets: &[MarketBook],
        collaterals: &[Address],
        pools: &[Option<PoolRef>],
    ) -> Result<Scan, String> {
        let prices = read_prices(provider, block, markets, collaterals).await?;
        let reserves = read_pools(provider, block, pools).await?;
        let full = match &self.full {
            None => true,
            Some((prices_then, then)) => {
                block >= then.saturating_add(FAR_RESCAN_BLOCKS)
                    || prices
                        .0
                        .iter()
                        .zip(prices_then)
                        .any(|(now, then)| moved_more_than(*now, *then, FULL_SCAN_MOVE_BPS))
            }
        };
        if full {
            self.full = Some((prices.0.clone(), block));
        }
        let near = U256::from(NEAR_HEALTH_WAD);
        let selected: Vec<Vec<Address>> = markets
            .iter()
            .enumerate()
            .map(|(index, market)| {
                market
                    .accounts
                    .iter()
                    .filter(|account| {
                        full || self.last.get(&(index, **account)).is_none_or(|(health, _)| *health < near)
                    })
                    .copied()
                    .collect()
            })
            .collect();
        let (mut scan, read) = scan_accounts(provider, block, markets, &selected, collaterals, prices).await?;
        scan.pools = reserves;
        for (index, healths) in read.iter().enumerate() {
            for (account, health) in healths {
                self.last.insert((index, *account), (*health, block));
            }
        }
        Ok(scan)
    }
}

/// Every pool's reserves at `block`, oriented for selling the collateral.
async fn read_pools(
    provider: &DynProvider,
    block: u64,
    pools: &[Option<PoolRef>],
) -> Result<Vec<Option<backstop_solver_sdk::dex::Reserves>>, String> {
    let listed: Vec<PoolRef> = pools.iter().flatten().copied().collect();
    let read = call_many(
        provider,
        listed.iter().map(|pool| (pool.pair, backstop_bindings::UniswapV2Pair::getReservesCall {})),
        BlockId::number(block),
    )
    .await
    .map_err(|error| format!("pair.getReserves: {error}"))?;
    let mut read = listed.iter().zip(read).map(|(pool, reserves)| {
        reserves.ok().map(|reserves| {
            backstop_solver_sdk::dex::Reserves::for_sale(
                U256::from(reserves._reserve0),
                U256::from(reserves._reserve1),
                pool.collateral_is_token0,
            )
        })
    });
    Ok(pools.iter().map(|pool| pool.and_then(|_| read.next().flatten())).collect())
}

fn moved_more_than(now: U256, then: U256, bps: u128) -> bool {
    let gap = if now > then { now - then } else { then - now };
    gap.saturating_mul(U256::from(10_000u32)) > then.saturating_mul(U256::from(bps))
}

async fn read_prices(
    provider: &DynProvider,
    block: u64,
    markets: &[MarketBook],
    collaterals: &[Address],
) -> Result<(Vec<U256>, Vec<U256>), String> {
    let at = BlockId::number(block);
    let error = |what: &str, error: backstop_node::risk::rpc::BatchError| format!("{what}: {error}");
    let Some(first) = markets.first() else { return Ok((Vec::new(), Vec::new())) };
    let prices = call_many(
        provider,
        collaterals.iter().map(|asset| (first.engine, MarginEngine::priceCall { asset: *asset })),
        at,
    )
    .await
    .map_err(|e| error("engine.price", e))?;
    let scales = call_many(
        provider,
        collaterals.iter().map(|asset| (first.engine, MarginEngine::priceScaleOfCall { asset: *asset })),
        at,
    )
    .await
    .map_err(|e| error("engine.priceScaleOf", e))?;
    // A lapsed or broken feed leaves its price unknown (zero): nothing of it is counted.
    let prices_wad: Vec<U256> = prices.into_iter().map(|price| price.unwrap_or_default()).collect();
    let scales: Vec<U256> = scales.into_iter().map(|scale| scale.unwrap_or_default()).collect();
    Ok((prices_wad, scales))
}

/// Every market's health at `block` over `selected[market]`; also returns each health read.
async fn scan_accounts(
    provider: &DynProvider,
    block: u64,
    markets: &[MarketBook],
    selected: &[Vec<Address>],
    collaterals: &[Address],
    (prices_wad, scales): (Vec<U256>, Vec<U256>),
) -> Result<(Scan, Vec<Vec<(Address, U256)>>), String> {
    let at = BlockId::number(block);
    let error = |what: &str, error: backstop_node::risk::rpc::BatchError| format!("{what}: {error}");
    let mut scans = Vec::with_capacity(markets.len());
    let mut read = Vec::with_capacity(markets.len());
    for (market, accounts) in markets.iter().zip(selected) {
        let health = call_many(
            provider,
            accounts.iter().map(|account| (market.engine, MarginEngine::healthOfCall { account: *account })),
            at,
        )
        .await
        .map_err(|e| error("engine.healthOf", e))?;
        // A reverting valuation (no sane price) is not under: nothing can liquidate it either;
        // recorded as health 0, it is read again next block.
        read.push(
            accounts
                .iter()
                .zip(&health)
                .map(|(account, health)| (*account, health.clone().unwrap_or_default()))
                .collect(),
        );
        let under: BTreeMap<Address, U256> = accounts
            .iter()
            .zip(health)
            .filter_map(|(account, health)| match health {
                Ok(health) if health < WAD => Some((*account, health)),
                _ => None,
            })
            .collect();
        let candidates: Vec<Address> = under.keys().copied().collect();
        let open_now = call_many(
            provider,
            candidates.iter().map(|account| {
                (
                    market.settlement,
                    LiquidationSettlement::isOpenLiquidatableCall { marketId: market.market_id, account: *account },
                )
            }),
            at,
        )
        .await
        .map_err(|e| error("settlement.isOpenLiquidatable", e))?;
        let open_accounts: Vec<Address> = candidates
            .iter()
            .zip(open_now)
            .filter_map(|(account, open)| matches!(open, Ok(true)).then_some(*account))
            .collect();
        let open = price_open(provider, at, market, &open_accounts, collaterals, &prices_wad, &scales).await?;
        scans.push(MarketScan { kind: market.kind, under, open });
    }
    Ok((Scan { block, markets: scans, prices_wad, scales, pools: Vec::new() }, read))
}

async fn price_open(
    provider: &DynProvider,
    at: BlockId,
    market: &MarketBook,
    accounts: &[Address],
    collaterals: &[Address],
    prices_wad: &[U256],
    scales: &[U256],
) -> Result<Vec<OpenLiquidation>, String> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let error = |what: &str, error: backstop_node::risk::rpc::BatchError| format!("{what}: {error}");
    let max_repays = call_many(
        provider,
        accounts.iter().map(|account| (market.engine, MarginEngine::maxRepayCall { account: *account })),
        at,
    )
    .await
    .map_err(|e| error("engine.maxRepay", e))?;
    let max_repays: Vec<U256> = max_repays.into_iter().map(|repay| repay.unwrap_or_default()).collect();
    let seized = call_many(
        provider,
        accounts.iter().zip(&max_repays).map(|(account, repay)| {
            (market.engine, MarginEngine::previewSeizeCall { account: *account, repayAmount: *repay })
        }),
        at,
    )
    .await
    .map_err(|e| error("engine.previewSeize", e))?;
    let holding_calls: Vec<(Address, MarginEngine::collateralOfCall)> = accounts
        .iter()
        .flat_map(|account| {
            collaterals
                .iter()
                .map(|asset| (market.engine, MarginEngine::collateralOfCall { account: *account, asset: *asset }))
        })
        .collect();
    let holdings = call_many(provider, holding_calls, at).await.map_err(|e| error("engine.collateralOf", e))?;
    let holdings: Vec<U256> = holdings.into_iter().map(|units| units.unwrap_or_default()).collect();

    let mut open = Vec::new();
    for (index, ((account, max_repay), seized)) in accounts.iter().zip(max_repays).zip(seized).enumerate() {
        let Ok(seized_value) = seized else { continue };
        if max_repay.is_zero() {
            continue;
        }
        let units = &holdings[index * collaterals.len()..(index + 1) * collaterals.len()];
        let values: Vec<U256> = units
            .iter()
            .zip(prices_wad.iter().zip(scales))
            .map(
                |(units, (price, scale))| {
                    if scale.is_zero() {
                        U256::ZERO
                    } else {
                        units.saturating_mul(*price) / *scale
                    }
                },
            )
            .collect();
        let market_value = values.iter().fold(U256::ZERO, |sum, value| sum.saturating_add(*value));
        let seized_units = units
            .iter()
            .zip(&values)
            .map(|(units, value)| {
                if market_value.is_zero() || value.is_zero() {
                    U256::ZERO
                } else {
                    units.saturating_mul(seized_value.min(market_value)) / market_value
                }
            })
            .collect();
        open.push(OpenLiquidation {
            kind: market.kind,
            market_id: market.market_id,
            settlement: market.settlement,
            account: *account,
            max_repay,
            seized_value,
            seized_units,
        });
    }
    Ok(open)
}
