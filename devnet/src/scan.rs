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
    /// The market's books at the block: its insurance fund's debt-asset balance and the
    /// engine's `badDebt` (zero when unreadable). Read live because the chains keep only
    /// recent state (anvil `--prune-history`), so the report cannot read them afterwards.
    pub insurance_fund: U256,
    pub bad_debt: U256,
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

/// An account is read when its health, bounded from below at today's prices, is under this
/// (WAD): what a keeper that watches its RPC bill does. 1.3 leaves room for a 20% move that
/// the bound does not see (a position the account changed itself).
const NEAR_HEALTH_WAD: u128 = 1_300_000_000_000_000_000;
/// Every account is also read once every this many blocks (a fixed slice each block), so a
/// position its owner changed is seen within that many blocks whatever the prices did.
pub const REFRESH_BLOCKS: u64 = 16;

/// What one account's last read said: its health, and the value factor of each collateral
/// (`price × (1 − haircut)`, listing order) when it was read.
#[derive(Debug, Clone)]
struct Reading {
    health: U256,
    factors: std::sync::Arc<[U256]>,
}

/// A scanner with memory: every account's last health, so accounts far from the line are
/// not read every block.
///
/// An account's health is `Σ units_i × price_i × (1 − haircut_i) / requirement`, with its
/// requirement fixed by its debt. So while its position stands still, its health now is at
/// least its last health times the smallest `factor_now_i / factor_then_i` over the
/// collaterals: a bound the scanner computes from two reads per collateral and a block, for
/// every account at once. Only accounts whose bound is under [`NEAR_HEALTH_WAD`] are read,
/// with a rotating slice of the rest ([`REFRESH_BLOCKS`]): at 10,000 accounts a chain,
/// reading them all on every large move saturated a 2-core machine.
#[derive(Debug, Default)]
pub struct Scanner {
    /// (market index, account) → its last reading.
    last: std::collections::HashMap<(usize, Address), Reading>,
}

impl Scanner {
    /// Reads every market's health at `block` (the accounts near the line, and this block's
    /// slice of the rest). `collaterals` in listing order.
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
        let factors = prices.factors;
        let selected: Vec<Vec<Address>> = markets
            .iter()
            .enumerate()
            .map(|(index, market)| {
                market
                    .accounts
                    .iter()
                    .enumerate()
                    .filter(|(position, account)| {
                        due(*position, block)
                            || self
                                .last
                                .get(&(index, **account))
                                .is_none_or(|reading| factors.get(index).is_none_or(|now| near(reading, now)))
                    })
                    .map(|(_, account)| *account)
                    .collect()
            })
            .collect();
        let (mut scan, read) =
            scan_accounts(provider, block, markets, &selected, collaterals, (prices.prices_wad, prices.scales)).await?;
        scan.pools = reserves;
        for (index, healths) in read.into_iter().enumerate() {
            for (account, health) in healths {
                let Some(factors) = factors.get(index) else { continue };
                self.last.insert((index, account), Reading { health, factors: factors.clone() });
            }
        }
        Ok(scan)
    }
}

/// Whether the account at `position` of its market's list is in `block`'s refresh slice.
fn due(position: usize, block: u64) -> bool {
    u64::try_from(position).is_ok_and(|position| position % REFRESH_BLOCKS == block % REFRESH_BLOCKS)
}

/// Whether the lower bound on the account's health at today's factors is under the line:
/// `health × factor_now_i < NEAR × factor_then_i` for some collateral priced at the read. A
/// collateral priced now at zero (a lapsed feed) puts every account near.
fn near(reading: &Reading, now: &[U256]) -> bool {
    let line = U256::from(NEAR_HEALTH_WAD);
    reading.health < line
        || reading.factors.len() != now.len()
        || reading
            .factors
            .iter()
            .zip(now)
            .any(|(then, now)| !then.is_zero() && reading.health.saturating_mul(*now) < line.saturating_mul(*then))
}

/// The market's insurance-fund balance and bad debt at `at`, in one batch.
async fn read_books(provider: &DynProvider, at: BlockId, market: &MarketBook) -> Result<(U256, U256), String> {
    let fund = call_many(
        provider,
        std::iter::once((market.debt_asset, backstop_bindings::TestToken::balanceOfCall(market.insurance_fund))),
        at,
    );
    let bad_debt = call_many(provider, std::iter::once((market.engine, MarginEngine::badDebtCall {})), at);
    let (fund, bad_debt) = tokio::try_join!(fund, bad_debt).map_err(|error| format!("market books: {error}"))?;
    let first = |read: Vec<Result<U256, _>>| read.into_iter().next().and_then(Result::ok).unwrap_or_default();
    Ok((first(fund), first(bad_debt)))
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

/// One block's collateral prices, as the engine values them.
struct Prices {
    /// The engine's `price`, WAD (zero: unknown).
    prices_wad: Vec<U256>,
    /// The engine's `priceScaleOf`.
    scales: Vec<U256>,
    /// Per market, `price × (1 − haircutOf)` of each collateral, WAD: what a unit of it counts
    /// for health, up to its scale (zero: unknown).
    factors: Vec<std::sync::Arc<[U256]>>,
}

async fn read_prices(
    provider: &DynProvider,
    block: u64,
    markets: &[MarketBook],
    collaterals: &[Address],
) -> Result<Prices, String> {
    let at = BlockId::number(block);
    let error = |what: &str, error: backstop_node::risk::rpc::BatchError| format!("{what}: {error}");
    let Some(first) = markets.first() else {
        return Ok(Prices { prices_wad: Vec::new(), scales: Vec::new(), factors: Vec::new() });
    };
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
    let mut factors = Vec::with_capacity(markets.len());
    for market in markets {
        let haircuts = call_many(
            provider,
            collaterals.iter().map(|asset| (market.engine, MarginEngine::haircutOfCall { asset: *asset })),
            at,
        )
        .await
        .map_err(|e| error("engine.haircutOf", e))?;
        factors.push(
            prices_wad
                .iter()
                .zip(haircuts)
                .map(|(price, haircut)| {
                    // An unreadable haircut leaves the factor unknown (zero).
                    let kept = haircut.map_or(U256::ZERO, |haircut| WAD.saturating_sub(haircut));
                    price.saturating_mul(kept) / WAD
                })
                .collect(),
        );
    }
    Ok(Prices { prices_wad, scales, factors })
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
        let (insurance_fund, bad_debt) = read_books(provider, at, market).await?;
        scans.push(MarketScan { kind: market.kind, under, open, insurance_fund, bad_debt });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(value: u64) -> U256 {
        U256::from(value) * WAD
    }

    fn reading(health_pct: u64, factors: &[U256]) -> Reading {
        Reading { health: wad(health_pct) / U256::from(100u64), factors: factors.to_vec().into() }
    }

    #[test]
    fn a_healthy_account_stays_unread_until_its_bound_crosses_the_line() {
        let then = [wad(2_000), wad(1)];
        // Health 2.0: a fall of either collateral's factor to 65% of its read puts the bound at 1.3.
        let account = reading(200, &then);
        assert!(!near(&account, &then), "unchanged prices: nothing to read");
        assert!(!near(&account, &[wad(1_400), wad(1)]), "bound 1.4");
        assert!(near(&account, &[wad(1_200), wad(1)]), "bound 1.2");
        assert!(near(&account, &[wad(2_000), U256::ZERO]), "a collateral now unpriced");
        // A rise does not hide another collateral's fall.
        assert!(near(&account, &[wad(4_000), wad(1) * U256::from(6u64) / U256::from(10u64)]));
    }

    #[test]
    fn accounts_near_the_line_or_without_a_usable_read_are_always_read() {
        let then = [wad(2_000)];
        assert!(near(&reading(125, &then), &then), "under 1.3 already");
        assert!(near(&reading(200, &then), &[wad(2_000), wad(1)]), "a listing changed under it");
        // A collateral unpriced at the read tells nothing about now; a debt-free account (max
        // health) is not near at any price.
        assert!(!near(&reading(200, &[U256::ZERO]), &[wad(5)]));
        let free = Reading { health: U256::MAX, factors: then.to_vec().into() };
        assert!(!near(&free, &[wad(1)]));
    }

    #[test]
    fn every_account_is_due_once_per_refresh_period() {
        let accounts = 100usize;
        let mut reads = vec![0u32; accounts];
        for block in 1_000..1_000 + REFRESH_BLOCKS {
            for (position, count) in reads.iter_mut().enumerate() {
                if due(position, block) {
                    *count += 1;
                }
            }
        }
        assert!(reads.iter().all(|count| *count == 1), "{reads:?}");
    }
}
