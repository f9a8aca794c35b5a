//! The outcome of a scenario run, read back from the chains' own events and state:
//! per market (Backstop and its baseline twin on every chain), which accounts went under
//! and what happened to each (auction, runner-up, fallback, nothing), bad debt, latency,
//! the premium recaptured, the bonus leaked to keepers and the gas everyone paid; and a
//! per-block timeline for the charts. Printed as a table, written as JSON.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use backstop_bindings::{LiquidationSettlement, MarginEngine, TestToken};
use serde::Serialize;

use crate::keeper::{lock, KeeperTx};
use crate::report::{decimal, units, Stats};
use crate::run::RunTrace;
use crate::scan::{MarketBook, MarketKind};
use crate::{Devnet, DevnetChain, DevnetError};

const WAD_F64: f64 = 1e18;

/// How an account that went under water was dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiquidationPath {
    /// Settled through a Backstop auction by the winner.
    Auction,
    /// Settled through a Backstop auction by a runner-up after the winner failed to settle.
    RunnerUp,
    /// Liquidated through the open path: the Backstop market's fallback, or the baseline.
    Open,
    /// Still unliquidated when the run ended.
    None,
}

impl LiquidationPath {
    pub fn name(self) -> &'static str {
        match self {
            Self::Auction => "auction",
            Self::RunnerUp => "runner-up",
            Self::Open => "open",
            Self::None => "none",
        }
    }
}

/// One account that went under water.
#[derive(Debug, Clone, Serialize)]
pub struct AccountPath {
    pub chain_id: u64,
    pub market: MarketKind,
    pub account: Address,
    /// First block a scan found it under water.
    pub under_block: u64,
    pub path: LiquidationPath,
    pub first_liquidation_block: Option<u64>,
    /// Milliseconds from the keepers' scan seeing the under block to seeing the first
    /// liquidation's block.
    pub latency_ms: Option<u64>,
    pub liquidations: usize,
}

/// The figures of one market on one chain.
#[derive(Debug, Clone, Serialize)]
pub struct MarketCard {
    pub chain_id: u64,
    pub market: MarketKind,
    pub accounts: usize,
    pub went_under: usize,
    pub by_auction: usize,
    pub by_runner_up: usize,
    pub by_open_path: usize,
    pub not_liquidated: usize,
    /// Liquidation events of every path (an account may be liquidated more than once).
    pub liquidations: usize,
    /// Shortfalls realised during the run (gross bad debt), USD wei.
    #[serde(serialize_with = "decimal")]
    pub bad_debt_gross: U256,
    /// What the insurance fund could not cover (net bad debt), USD wei.
    #[serde(serialize_with = "decimal")]
    pub bad_debt_net: U256,
    #[serde(serialize_with = "decimal")]
    pub insurance_fund_before: U256,
    #[serde(serialize_with = "decimal")]
    pub insurance_fund_after: U256,
    /// From the block an account went under to its first liquidation.
    pub latency_blocks: Stats,
    pub latency_ms: Stats,
    /// Liquidation bonus handed out (seized value minus repay), all paths, USD wei.
    #[serde(serialize_with = "decimal")]
    pub bonus_total: U256,
    /// Of that, the bonus of auction settlements, and the premiums they paid the protocol.
    #[serde(serialize_with = "decimal")]
    pub auction_bonus: U256,
    #[serde(serialize_with = "decimal")]
    pub premium_total: U256,
    /// Premium as a share of the bonus of the auctions that paid it, basis points.
    pub recapture_bps: u64,
    /// Bonus that went to keepers through the open path, USD wei.
    #[serde(serialize_with = "decimal")]
    pub bonus_to_keepers: U256,
    /// Gas the keepers paid in this market (won and lost races), USD wei.
    #[serde(serialize_with = "decimal")]
    pub keeper_gas_usd: U256,
    pub keeper_transactions: usize,
    pub keeper_reverted: usize,
    /// Gas the solvers' settlements paid, USD wei.
    #[serde(serialize_with = "decimal")]
    pub solver_gas_usd: U256,
}

/// One block of one chain, for the charts.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    pub block: u64,
    /// Seconds since the run's first step (from the keepers' scan clock; None if unscanned).
    pub seconds: Option<f64>,
    /// The market price the path set for each collateral (USD), carried between steps.
    pub market_price: Vec<f64>,
    /// The engine's (oracle) price of each collateral (USD); 0 when unpriceable.
    pub oracle_price: Vec<f64>,
    /// Per market kind (Backstop, baseline): accounts under water, cumulative liquidations
    /// by auction and by open path, insurance fund (USD), net bad debt (USD).
    pub under: Vec<usize>,
    pub auctions: Vec<usize>,
    pub open_liquidations: Vec<usize>,
    pub insurance_fund: Vec<f64>,
    pub bad_debt: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainTimeline {
    pub chain_id: u64,
    pub markets: Vec<MarketKind>,
    pub collaterals: Vec<String>,
    pub points: Vec<TimelinePoint>,
}

/// The whole outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub chains: usize,
    pub steps: usize,
    pub ended: String,
    pub wall_seconds: f64,
    pub killed: Option<(String, usize)>,
    pub solvers: Vec<SolverCard>,
    pub keepers: Vec<String>,
    pub markets: Vec<MarketCard>,
    pub accounts: Vec<AccountPath>,
    pub timelines: Vec<ChainTimeline>,
    pub keeper_transactions: Vec<KeeperTx>,
    /// The Morpho Blue market protected by pre-liquidation auctions, when the devnet runs one.
    pub morpho: Option<(u64, crate::morpho::MorphoReport)>,
}

/// What one solver won and paid, over every chain's Backstop market.
#[derive(Debug, Clone, Serialize)]
pub struct SolverCard {
    pub name: String,
    /// The strategy (`margin`, `flash_swap`, `fixed_premium`) and its basis points.
    pub strategy: String,
    pub bps: u32,
    pub settlements: usize,
    /// The bonus it bought: collateral seized beyond the repay, at the engine's value when
    /// it settled, USD wei.
    #[serde(serialize_with = "decimal")]
    pub bonus: U256,
    /// Premium it paid the protocol, USD wei.
    #[serde(serialize_with = "decimal")]
    pub premium: U256,
    /// Gas its settlements paid (at the run's last WETH price), USD wei.
    #[serde(serialize_with = "decimal")]
    pub gas_usd: U256,
}

impl SolverCard {
    /// Bonus − premium − gas in USD: what the solver made, valuing the seized collateral at
    /// the oracle when it settled (a flash-swap bot sells at the pools at once, so its
    /// realised gain is after slippage; a margin bot keeps the collateral it seized).
    pub fn net_usd(&self) -> f64 {
        to_f64(self.bonus) - to_f64(self.premium) - to_f64(self.gas_usd)
    }
}

/// One market's liquidations: its kind, its auction settlements and its open-path ones.
type MarketEvents = (MarketKind, Vec<Liquidation>, Vec<Liquidation>);

struct Liquidation {
    account: Address,
    block: u64,
    repay: U256,
    seized: U256,
    premium: U256,
    /// Auction settlements: the intent, the awarded executor and the gas its settle paid
    /// (USD wei).
    intent: Option<B256>,
    executor: Option<Address>,
    gas_usd: U256,
}

impl Devnet {
    /// Reads the outcome of `trace` back from the chains. `no_show_intents` are intents a
    /// winner was awarded but never settled (a settlement of one of them is a runner-up's).
    pub async fn scorecard(&self, trace: &RunTrace, no_show_intents: &HashSet<B256>) -> Result<Scorecard, DevnetError> {
        let fleet = self.keepers.as_ref().ok_or_else(|| DevnetError::Setup("no keepers ran".into()))?;
        // The chains keep only recent state (anvil `--prune-history`) and the report reads
        // the run's last block: hold every block clock until the report is read, however long
        // that takes at 10,000 accounts a chain.
        let mut paused = Vec::with_capacity(self.chains.len());
        for chain in &self.chains {
            paused.push(chain.chain.pause_mining().await);
        }
        // Keeper transactions mined by the run's last block must be in the ledger.
        fleet.wait_collected(&trace.end_blocks).await;
        let (first_under, scans, transactions) = {
            let ledger = lock(&fleet.ledger);
            (ledger.first_under.clone(), ledger.scans.clone(), ledger.transactions.clone())
        };
        let mut markets = Vec::new();
        let mut accounts = Vec::new();
        let mut timelines = Vec::new();
        let mut settled: Vec<Settled> = Vec::new();
        for chain in &self.chains {
            let chain_id = chain.chain.chain_id;
            let from = trace.start_blocks.get(&chain_id).copied().unwrap_or_default() + 1;
            let to = trace.end_blocks.get(&chain_id).copied().unwrap_or(from);
            let provider = &chain.chain.provider;
            let error = |what: &str, error: alloy::contract::Error| chain.chain.error(what, error);
            let ether_usd = ether_price(chain, to).await?;
            // Block → when the keepers' scan saw it (ms on the run's clock).
            let seen_ms: BTreeMap<u64, u64> = scans
                .iter()
                .filter(|scan| scan.chain_id == chain_id)
                .map(|scan| (scan.block, scan.at_ms.saturating_sub(trace.scan_clock_offset_ms)))
                .collect();
            let mut timeline_events: Vec<MarketEvents> = Vec::new();
            for book in chain.books() {
                let settlement = LiquidationSettlement::new(book.settlement, provider);
                let mut auctions = Vec::new();
                if book.kind == MarketKind::Backstop {
                    for (event, log) in settlement
                        .Settled_filter()
                        .topic2(book.market_id)
                        .from_block(from)
                        .to_block(to)
                        .query()
                        .await
                        .map_err(|e| error("read Settled logs", e))?
                    {
                        let mut gas_usd = U256::ZERO;
                        if let Some(transaction) = log.transaction_hash {
                            if let Ok(Some(receipt)) = provider.get_transaction_receipt(transaction).await {
                                gas_usd = gas_to_usd(receipt.gas_used, receipt.effective_gas_price, ether_usd);
                            }
                        }
                        auctions.push(Liquidation {
                            account: event.account,
                            block: log.block_number.unwrap_or_default(),
                            repay: event.repayAmount,
                            seized: event.seizedValue,
                            premium: event.premium,
                            intent: Some(event.intentId),
                            executor: Some(event.executor),
                            gas_usd,
                        });
                    }
                }
                let mut open = Vec::new();
                for (event, log) in settlement
                    .OpenLiquidated_filter()
                    .topic1(book.market_id)
                    .from_block(from)
                    .to_block(to)
                    .query()
                    .await
                    .map_err(|e| error("read OpenLiquidated logs", e))?
                {
                    open.push(Liquidation {
                        account: event.account,
                        block: log.block_number.unwrap_or_default(),
                        repay: event.repayAmount,
                        seized: event.seizedValue,
                        premium: U256::ZERO,
                        intent: None,
                        executor: None,
                        gas_usd: U256::ZERO,
                    });
                }
                let card = market_card(
                    chain,
                    &book,
                    trace,
                    &first_under,
                    &seen_ms,
                    &auctions,
                    &open,
                    no_show_intents,
                    &transactions,
                    ether_usd,
                    to,
                    &mut accounts,
                )
                .await?;
                markets.push(card);
                settled.extend(auctions.iter().filter_map(|l| {
                    Some(Settled {
                        executor: l.executor?,
                        bonus: l.seized.saturating_sub(l.repay),
                        premium: l.premium,
                        gas_usd: l.gas_usd,
                    })
                }));
                timeline_events.push((book.kind, auctions, open));
            }
            timelines.push(timeline(chain, trace, &scans, &timeline_events, from, to).await?);
        }
        let mut morpho = None;
        for chain in &self.chains {
            if let Some(market) = &chain.morpho {
                morpho = Some((chain.chain.chain_id, market.report(&chain.chain).await?));
            }
        }
        let solvers = self.solver_cards(&settled);
        drop(paused);
        Ok(Scorecard {
            scenario: trace.kind.name().into(),
            description: trace.kind.describe().into(),
            seed: trace.seed,
            chains: self.chains.len(),
            steps: trace.path.len(),
            ended: trace.ended.clone(),
            wall_seconds: trace.wall_seconds,
            killed: trace.killed.clone(),
            solvers,
            keepers: fleet.keepers.iter().map(|keeper| keeper.spec.name.clone()).collect(),
            markets,
            accounts,
            timelines,
            keeper_transactions: transactions,
            morpho,
        })
    }
}

/// One auction settlement, for the solvers' accounts.
struct Settled {
    executor: Address,
    bonus: U256,
    premium: U256,
    gas_usd: U256,
}

impl Devnet {
    /// Every solver's settlements, premiums and gas. An award names the executor that
    /// settles it: a margin bot's wallet, or a flash-swap bot's `FlashLiquidator`.
    fn solver_cards(&self, settled: &[Settled]) -> Vec<SolverCard> {
        self.solvers
            .iter()
            .map(|solver| {
                let setup = &solver.setup;
                let executors: HashSet<Address> = std::iter::once(setup.executor.address())
                    .chain(setup.flash_liquidators.values().copied())
                    .collect();
                let mut card = SolverCard {
                    name: setup.name.clone(),
                    strategy: setup.strategy.name().to_string(),
                    bps: setup.strategy.bps(),
                    settlements: 0,
                    bonus: U256::ZERO,
                    premium: U256::ZERO,
                    gas_usd: U256::ZERO,
                };
                for settlement in settled.iter().filter(|settlement| executors.contains(&settlement.executor)) {
                    card.settlements += 1;
                    card.bonus = card.bonus.saturating_add(settlement.bonus);
                    card.premium = card.premium.saturating_add(settlement.premium);
                    card.gas_usd = card.gas_usd.saturating_add(settlement.gas_usd);
                }
                card
            })
            .collect()
    }
}

/// Gas (units at a price in wei) in USD wei, at `ether_usd` (WAD).
fn gas_to_usd(gas: u64, price: u128, ether_usd: U256) -> U256 {
    U256::from(gas).saturating_mul(U256::from(price)).saturating_mul(ether_usd) / wad()
}

/// The WETH oracle price (WAD) at `block`, to convert gas (ether) into USD.
async fn ether_price(chain: &DevnetChain, block: u64) -> Result<U256, DevnetError> {
    let Some(weth) = chain.deployment.collateral("WETH") else { return Ok(U256::from(2_000u64) * wad()) };
    let engine = MarginEngine::new(chain.deployment.engine, &chain.chain.provider);
    Ok(engine.price(weth.token).block(BlockId::number(block)).call().await.unwrap_or(U256::from(2_000u64) * wad()))
}

fn wad() -> U256 {
    U256::from(1_000_000_000_000_000_000u128)
}

#[allow(clippy::too_many_arguments)]
async fn market_card(
    chain: &DevnetChain,
    book: &MarketBook,
    trace: &RunTrace,
    first_under: &BTreeMap<(u64, MarketKind, Address), u64>,
    seen_ms: &BTreeMap<u64, u64>,
    auctions: &[Liquidation],
    open: &[Liquidation],
    no_show_intents: &HashSet<B256>,
    transactions: &[KeeperTx],
    ether_usd: U256,
    to: u64,
    paths: &mut Vec<AccountPath>,
) -> Result<MarketCard, DevnetError> {
    let chain_id = chain.chain.chain_id;
    let provider = &chain.chain.provider;
    let at = BlockId::number(to);
    let error = |what: &str, error: alloy::contract::Error| chain.chain.error(what, error);
    let engine = MarginEngine::new(book.engine, provider);
    let usd = TestToken::new(chain.deployment.usd, provider);
    let before = trace
        .before
        .iter()
        .find(|before| before.chain_id == chain_id && before.kind == book.kind)
        .ok_or_else(|| chain.chain.error("scorecard", "no starting state recorded"))?;
    let insurance_fund_after =
        usd.balanceOf(book.insurance_fund).block(at).call().await.map_err(|e| error("usd.balanceOf", e))?;
    let bad_debt = engine.badDebt().block(at).call().await.map_err(|e| error("engine.badDebt", e))?;
    let total_shortfall =
        engine.totalShortfall().block(at).call().await.map_err(|e| error("engine.totalShortfall", e))?;

    let mut latency_blocks = Vec::new();
    let mut latency_ms = Vec::new();
    let (mut by_auction, mut by_runner_up, mut by_open, mut none) = (0, 0, 0, 0);
    let under: Vec<(Address, u64)> = first_under
        .iter()
        .filter(|((chain, kind, _), _)| *chain == chain_id && *kind == book.kind)
        .map(|((_, _, account), block)| (*account, *block))
        .collect();
    for (account, under_block) in &under {
        let first_auction = auctions.iter().filter(|l| l.account == *account).min_by_key(|l| l.block);
        let first_open = open.iter().filter(|l| l.account == *account).min_by_key(|l| l.block);
        let first = match (first_auction, first_open) {
            (Some(a), Some(o)) => Some(if a.block <= o.block { a } else { o }),
            (a, o) => a.or(o),
        };
        let path = match first {
            None => LiquidationPath::None,
            Some(first) if first.intent.is_some_and(|intent| no_show_intents.contains(&intent)) => {
                LiquidationPath::RunnerUp
            }
            Some(first) if first.intent.is_some() => LiquidationPath::Auction,
            Some(_) => LiquidationPath::Open,
        };
        match path {
            LiquidationPath::Auction => by_auction += 1,
            LiquidationPath::RunnerUp => by_runner_up += 1,
            LiquidationPath::Open => by_open += 1,
            LiquidationPath::None => none += 1,
        }
        let mut account_ms = None;
        if let Some(first) = first {
            latency_blocks.push(first.block.saturating_sub(*under_block));
            if let (Some(start), Some(end)) = (seen_at(seen_ms, *under_block), seen_at(seen_ms, first.block)) {
                account_ms = Some(end.saturating_sub(start));
                latency_ms.push(end.saturating_sub(start));
            }
        }
        paths.push(AccountPath {
            chain_id,
            market: book.kind,
            account: *account,
            under_block: *under_block,
            path,
            first_liquidation_block: first.map(|first| first.block),
            latency_ms: account_ms,
            liquidations: auctions.iter().chain(open).filter(|l| l.account == *account).count(),
        });
    }

    let bonus = |liquidations: &[Liquidation]| {
        liquidations.iter().fold(U256::ZERO, |sum, l| sum.saturating_add(l.seized.saturating_sub(l.repay)))
    };
    let auction_bonus = bonus(auctions);
    let bonus_to_keepers = bonus(open);
    let premium_total = auctions.iter().fold(U256::ZERO, |sum, l| sum.saturating_add(l.premium));
    let recapture_bps = if auction_bonus.is_zero() {
        0
    } else {
        (premium_total.saturating_mul(U256::from(10_000u32)) / auction_bonus).saturating_to::<u64>()
    };
    let keeper_txs: Vec<&KeeperTx> =
        transactions.iter().filter(|tx| tx.chain_id == chain_id && tx.market == book.kind).collect();
    let keeper_gas_usd = keeper_txs
        .iter()
        .fold(U256::ZERO, |sum, tx| sum.saturating_add(gas_to_usd(tx.gas_used, tx.gas_price, ether_usd)));
    let solver_gas_usd = auctions.iter().fold(U256::ZERO, |sum, l| sum.saturating_add(l.gas_usd));
    Ok(MarketCard {
        chain_id,
        market: book.kind,
        accounts: book.accounts.len(),
        went_under: under.len(),
        by_auction,
        by_runner_up,
        by_open_path: by_open,
        not_liquidated: none,
        liquidations: auctions.len() + open.len(),
        bad_debt_gross: total_shortfall.saturating_sub(before.total_shortfall),
        bad_debt_net: bad_debt.saturating_sub(before.bad_debt),
        insurance_fund_before: before.insurance_fund,
        insurance_fund_after,
        latency_blocks: Stats::of(latency_blocks),
        latency_ms: Stats::of(latency_ms),
        bonus_total: auction_bonus.saturating_add(bonus_to_keepers),
        auction_bonus,
        premium_total,
        recapture_bps,
        bonus_to_keepers,
        keeper_gas_usd,
        keeper_transactions: keeper_txs.len(),
        keeper_reverted: keeper_txs.iter().filter(|tx| !tx.success).count(),
        solver_gas_usd,
    })
}

/// When the keepers' scan saw `block`, or the first scanned block after it.
fn seen_at(seen_ms: &BTreeMap<u64, u64>, block: u64) -> Option<u64> {
    seen_ms.range(block..).next().map(|(_, ms)| *ms)
}

async fn timeline(
    chain: &DevnetChain,
    trace: &RunTrace,
    scans: &[crate::keeper::ScanRecord],
    events: &[MarketEvents],
    from: u64,
    to: u64,
) -> Result<ChainTimeline, DevnetError> {
    let chain_id = chain.chain.chain_id;
    let books = chain.books();
    let steps: BTreeMap<u64, &crate::prices::PathStep> =
        trace.steps.iter().filter(|step| step.chain_id == chain_id).map(|step| (step.block, &step.step)).collect();
    let scanned: BTreeMap<u64, &crate::keeper::ScanRecord> =
        scans.iter().filter(|scan| scan.chain_id == chain_id).map(|scan| (scan.block, scan)).collect();
    // Before the first step the market trades at the oracle price.
    let mut market_price: Vec<f64> = Vec::new();
    let mut under: Vec<usize> = vec![0; books.len()];
    let mut points = Vec::new();
    // A run is minutes long; the cap only bounds what a misbehaving RPC's heads could cost.
    const MAX_TIMELINE_BLOCKS: u64 = 10_000;
    let start = from.saturating_sub(1).max(to.saturating_sub(MAX_TIMELINE_BLOCKS));
    for block in start..=to {
        // The chain keeps only recent state, so the books come from the keepers' scans, read
        // live: the latest scan at or before the block (the scan skips blocks it fell behind on).
        let Some((_, scan)) = scanned.range(..=block).next_back() else { continue };
        let oracle_price: Vec<f64> = scan.oracle_prices.iter().map(|price| to_f64(*price)).collect();
        if let Some(step) = steps.get(&block) {
            market_price = step.market.iter().map(|price| *price as f64 / 1e8).collect();
        } else if market_price.is_empty() {
            market_price = oracle_price.clone();
        }
        let per_book = |values: &[(MarketKind, U256)]| -> Vec<f64> {
            books
                .iter()
                .map(|book| values.iter().find(|(kind, _)| *kind == book.kind).map_or(0.0, |(_, value)| to_f64(*value)))
                .collect()
        };
        under = books
            .iter()
            .map(|book| scan.under.iter().find(|(kind, _)| *kind == book.kind).map_or(0, |(_, count)| *count))
            .collect();
        let count = |pick: fn(&MarketEvents) -> &Vec<Liquidation>| {
            books
                .iter()
                .map(|book| {
                    events
                        .iter()
                        .find(|(kind, _, _)| *kind == book.kind)
                        .map_or(0, |entry| pick(entry).iter().filter(|l| l.block <= block).count())
                })
                .collect::<Vec<_>>()
        };
        points.push(TimelinePoint {
            block,
            seconds: scanned
                .get(&block)
                .map(|scan| scan.at_ms.saturating_sub(trace.scan_clock_offset_ms) as f64 / 1_000.0),
            market_price: market_price.clone(),
            oracle_price,
            under: under.clone(),
            auctions: count(|entry| &entry.1),
            open_liquidations: count(|entry| &entry.2),
            insurance_fund: per_book(&scan.insurance_fund),
            bad_debt: per_book(&scan.bad_debt),
        });
    }
    Ok(ChainTimeline {
        chain_id,
        markets: books.iter().map(|book| book.kind).collect(),
        collaterals: chain.deployment.collaterals.iter().map(|collateral| collateral.symbol.clone()).collect(),
        points,
    })
}

fn to_f64(wad_amount: U256) -> f64 {
    let whole: u128 = (wad_amount / wad()).saturating_to();
    let fraction: u128 = (wad_amount % wad()).to();
    whole as f64 + fraction as f64 / WAD_F64
}

/// The same figures summed over every chain, per market kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindTotals {
    pub accounts: usize,
    pub went_under: usize,
    pub by_auction: usize,
    pub by_runner_up: usize,
    pub by_open_path: usize,
    pub not_liquidated: usize,
    pub bad_debt_gross: f64,
    pub bad_debt_net: f64,
    pub bonus_total: f64,
    pub premium_total: f64,
    pub auction_bonus: f64,
    pub bonus_to_keepers: f64,
    pub keeper_gas_usd: f64,
    pub solver_gas_usd: f64,
    pub keeper_transactions: usize,
    pub keeper_reverted: usize,
    /// Every account's latency, pooled across chains.
    pub latency_blocks: Stats,
    pub latency_ms: Stats,
}

impl Scorecard {
    /// Per market kind, every chain together.
    pub fn totals(&self, kind: MarketKind) -> KindTotals {
        let mut totals = KindTotals::default();
        for card in self.markets.iter().filter(|card| card.market == kind) {
            totals.accounts += card.accounts;
            totals.went_under += card.went_under;
            totals.by_auction += card.by_auction;
            totals.by_runner_up += card.by_runner_up;
            totals.by_open_path += card.by_open_path;
            totals.not_liquidated += card.not_liquidated;
            totals.bad_debt_gross += to_f64(card.bad_debt_gross);
            totals.bad_debt_net += to_f64(card.bad_debt_net);
            totals.bonus_total += to_f64(card.bonus_total);
            totals.premium_total += to_f64(card.premium_total);
            totals.auction_bonus += to_f64(card.auction_bonus);
            totals.bonus_to_keepers += to_f64(card.bonus_to_keepers);
            totals.keeper_gas_usd += to_f64(card.keeper_gas_usd);
            totals.solver_gas_usd += to_f64(card.solver_gas_usd);
            totals.keeper_transactions += card.keeper_transactions;
            totals.keeper_reverted += card.keeper_reverted;
        }
        let (mut blocks, mut ms) = (Vec::new(), Vec::new());
        for path in self.accounts.iter().filter(|path| path.market == kind) {
            if let Some(first) = path.first_liquidation_block {
                blocks.push(first.saturating_sub(path.under_block));
            }
            ms.extend(path.latency_ms);
        }
        totals.latency_blocks = Stats::of(blocks);
        totals.latency_ms = Stats::of(ms);
        totals
    }

    /// The human-readable report: both markets side by side, then per chain.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n=== scenario {} (seed {}): {} ===\n{} chain(s), {} step(s), ended {} after {:.1}s{}",
            self.scenario,
            self.seed,
            self.description,
            self.chains,
            self.steps,
            self.ended,
            self.wall_seconds,
            self.killed
                .as_ref()
                .map(|(node, step)| format!("; {node} killed at step {}", step + 1))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "solvers: {} | keepers: {}",
            self.solvers
                .iter()
                .map(|solver| format!("{} ({} {} bps)", solver.name, solver.strategy, solver.bps))
                .collect::<Vec<_>>()
                .join(", "),
            self.keepers.join(", ")
        );
        let backstop = self.totals(MarketKind::Backstop);
        let baseline = self.totals(MarketKind::Baseline);
        let has_baseline = self.markets.iter().any(|card| card.market == MarketKind::Baseline);
        let row = |out: &mut String, label: &str, a: String, b: String| {
            let _ = writeln!(
                out,
                "  {label:<44} {a:>18} {}",
                if has_baseline { format!("{b:>18}") } else { String::new() }
            );
        };
        let _ = writeln!(out);
        row(&mut out, "", "Backstop".into(), "baseline (keepers)".into());
        let int = |value: usize| value.to_string();
        let usd = |value: f64| format!("{value:.2}");
        row(&mut out, "accounts", int(backstop.accounts), int(baseline.accounts));
        row(&mut out, "went under water", int(backstop.went_under), int(baseline.went_under));
        row(&mut out, "liquidated through the auction", int(backstop.by_auction), "-".into());
        row(&mut out, "  of which by a runner-up", int(backstop.by_runner_up), "-".into());
        row(&mut out, "liquidated through the open path", int(backstop.by_open_path), int(baseline.by_open_path));
        row(&mut out, "not liquidated", int(backstop.not_liquidated), int(baseline.not_liquidated));
        row(&mut out, "bad debt, gross (USD)", usd(backstop.bad_debt_gross), usd(baseline.bad_debt_gross));
        row(
            &mut out,
            "bad debt, net of the insurance fund (USD)",
            usd(backstop.bad_debt_net),
            usd(baseline.bad_debt_net),
        );
        let stats = |stats: &Stats| format!("{}/{}/{}", stats.p50, stats.p95, stats.p99);
        row(
            &mut out,
            "under → liquidated, blocks p50/p95/p99",
            stats(&backstop.latency_blocks),
            stats(&baseline.latency_blocks),
        );
        row(&mut out, "under → liquidated, ms p50/p95/p99", stats(&backstop.latency_ms), stats(&baseline.latency_ms));
        row(&mut out, "liquidation bonus handed out (USD)", usd(backstop.bonus_total), usd(baseline.bonus_total));
        row(&mut out, "premium paid to the protocol (USD)", usd(backstop.premium_total), usd(0.0));
        let share =
            |part: f64, whole: f64| if whole > 0.0 { format!("{:.1}%", 100.0 * part / whole) } else { "-".into() };
        row(
            &mut out,
            "recaptured share of the bonus (all paths)",
            share(backstop.premium_total, backstop.bonus_total),
            share(0.0, baseline.bonus_total),
        );
        row(
            &mut out,
            "recaptured share of auctioned bonus",
            share(backstop.premium_total, backstop.auction_bonus),
            "-".into(),
        );
        row(&mut out, "bonus leaked to keepers (USD)", usd(backstop.bonus_to_keepers), usd(baseline.bonus_to_keepers));
        row(&mut out, "gas paid by keepers (USD)", usd(backstop.keeper_gas_usd), usd(baseline.keeper_gas_usd));
        row(
            &mut out,
            "keeper transactions (reverted)",
            format!("{} ({})", backstop.keeper_transactions, backstop.keeper_reverted),
            format!("{} ({})", baseline.keeper_transactions, baseline.keeper_reverted),
        );
        row(&mut out, "gas paid by solvers (USD)", usd(backstop.solver_gas_usd), "-".into());
        if !self.solvers.is_empty() {
            let _ = writeln!(
                out,
                "\nsolvers (USD; the bonus at the oracle value when each settled, net = bonus - premium - gas):"
            );
            let _ = writeln!(
                out,
                "  {:<28} {:>18} {:>11} {:>14} {:>14} {:>10} {:>12}",
                "solver", "strategy", "settlements", "bonus", "premium", "gas", "net"
            );
            for solver in &self.solvers {
                let _ = writeln!(
                    out,
                    "  {:<28} {:>18} {:>11} {:>14.2} {:>14.2} {:>10.2} {:>12.2}",
                    solver.name,
                    format!("{} {} bps", solver.strategy, solver.bps),
                    solver.settlements,
                    to_f64(solver.bonus),
                    to_f64(solver.premium),
                    to_f64(solver.gas_usd),
                    solver.net_usd()
                );
            }
        }

        for card in &self.markets {
            let _ = writeln!(
                out,
                "\nchain {} {}: {} accounts, {} under; auction {} (runner-up {}), open {}, none {}; bad debt {} gross / {} net; \
                 insurance fund {} → {}; latency blocks p50/p95/p99 {}/{}/{}; premium {} of {} auctioned bonus ({:.1}%)",
                card.chain_id,
                card.market.name(),
                card.accounts,
                card.went_under,
                card.by_auction,
                card.by_runner_up,
                card.by_open_path,
                card.not_liquidated,
                units(card.bad_debt_gross),
                units(card.bad_debt_net),
                units(card.insurance_fund_before),
                units(card.insurance_fund_after),
                card.latency_blocks.p50,
                card.latency_blocks.p95,
                card.latency_blocks.p99,
                units(card.premium_total),
                units(card.auction_bonus),
                card.recapture_bps as f64 / 100.0
            );
        }
        if let Some((chain_id, morpho)) = &self.morpho {
            let _ = write!(out, "\nchain {chain_id} Morpho Blue:\n{}", morpho.render());
        }
        let worse = self.worse_points();
        if !worse.is_empty() {
            let _ = writeln!(out, "\nwhere Backstop did worse than the baseline:");
            for line in worse {
                let _ = writeln!(out, "  - {line}");
            }
        }
        out
    }

    /// Plain statements of every figure where the Backstop market came out behind.
    pub fn worse_points(&self) -> Vec<String> {
        if !self.markets.iter().any(|card| card.market == MarketKind::Baseline) {
            return Vec::new();
        }
        let backstop = self.totals(MarketKind::Backstop);
        let baseline = self.totals(MarketKind::Baseline);
        let mut worse = Vec::new();
        if backstop.latency_blocks.p50 > baseline.latency_blocks.p50 {
            worse.push(format!(
                "median latency: {} blocks against the keepers' {}",
                backstop.latency_blocks.p50, baseline.latency_blocks.p50
            ));
        }
        if backstop.latency_blocks.p99 > baseline.latency_blocks.p99 {
            worse.push(format!(
                "p99 latency: {} blocks against the keepers' {}",
                backstop.latency_blocks.p99, baseline.latency_blocks.p99
            ));
        }
        if backstop.not_liquidated > baseline.not_liquidated {
            worse.push(format!(
                "{} account(s) left unliquidated against {}",
                backstop.not_liquidated, baseline.not_liquidated
            ));
        }
        if backstop.bad_debt_net > baseline.bad_debt_net + 0.01 {
            worse.push(format!("net bad debt {:.2} USD against {:.2}", backstop.bad_debt_net, baseline.bad_debt_net));
        }
        for solver in self.solvers.iter().filter(|solver| solver.net_usd() < 0.0) {
            worse.push(format!(
                "solver {} lost {:.2} USD on its {} settlement(s): auctions that cost their bidders money will thin out",
                solver.name,
                -solver.net_usd(),
                solver.settlements
            ));
        }
        worse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(chain_id: u64, market: MarketKind, under: usize, by_auction: usize, by_open: usize) -> MarketCard {
        MarketCard {
            chain_id,
            market,
            accounts: 10,
            went_under: under,
            by_auction,
            by_runner_up: 0,
            by_open_path: by_open,
            not_liquidated: under - by_auction - by_open,
            liquidations: by_auction + by_open,
            bad_debt_gross: U256::ZERO,
            bad_debt_net: U256::ZERO,
            insurance_fund_before: U256::ZERO,
            insurance_fund_after: U256::ZERO,
            latency_blocks: Stats::default(),
            latency_ms: Stats::default(),
            bonus_total: wad() * U256::from(100u8),
            auction_bonus: wad() * U256::from(100u8),
            premium_total: wad() * U256::from(90u8),
            recapture_bps: 9_000,
            bonus_to_keepers: U256::ZERO,
            keeper_gas_usd: U256::ZERO,
            keeper_transactions: 0,
            keeper_reverted: 0,
            solver_gas_usd: U256::ZERO,
        }
    }

    fn path(chain_id: u64, market: MarketKind, under: u64, liquidated: Option<u64>) -> AccountPath {
        AccountPath {
            chain_id,
            market,
            account: Address::repeat_byte(under as u8),
            under_block: under,
            path: if liquidated.is_some() { LiquidationPath::Open } else { LiquidationPath::None },
            first_liquidation_block: liquidated,
            latency_ms: liquidated.map(|block| (block - under) * 1_000),
            liquidations: usize::from(liquidated.is_some()),
        }
    }

    #[test]
    fn totals_pool_every_chain_and_the_report_says_where_backstop_is_worse() {
        let scorecard = Scorecard {
            scenario: "crash".into(),
            description: String::new(),
            seed: 1,
            chains: 2,
            steps: 30,
            ended: "settled".into(),
            wall_seconds: 1.0,
            killed: None,
            solvers: vec![
                SolverCard {
                    name: "solver-a".into(),
                    strategy: "margin".into(),
                    bps: 200,
                    settlements: 3,
                    bonus: U256::from(100u8) * wad(),
                    premium: U256::from(95u8) * wad(),
                    gas_usd: U256::from(2u8) * wad(),
                },
                SolverCard {
                    name: "solver-b".into(),
                    strategy: "margin".into(),
                    bps: 500,
                    settlements: 1,
                    bonus: U256::from(10u8) * wad(),
                    premium: U256::from(10u8) * wad(),
                    gas_usd: U256::from(1u8) * wad(),
                },
            ],
            keepers: Vec::new(),
            markets: vec![
                card(1, MarketKind::Backstop, 3, 3, 0),
                card(1, MarketKind::Baseline, 3, 0, 3),
                card(2, MarketKind::Backstop, 2, 1, 0),
                card(2, MarketKind::Baseline, 2, 0, 2),
            ],
            accounts: vec![
                path(1, MarketKind::Backstop, 10, Some(13)),
                path(1, MarketKind::Backstop, 11, Some(13)),
                path(2, MarketKind::Backstop, 12, None),
                path(1, MarketKind::Baseline, 10, Some(11)),
                path(2, MarketKind::Baseline, 12, Some(13)),
            ],
            timelines: Vec::new(),
            keeper_transactions: Vec::new(),
            morpho: None,
        };
        let backstop = scorecard.totals(MarketKind::Backstop);
        assert_eq!((backstop.went_under, backstop.by_auction, backstop.not_liquidated), (5, 4, 1));
        assert_eq!(
            (backstop.latency_blocks.count, backstop.latency_blocks.p50, backstop.latency_blocks.max),
            (2, 2, 3)
        );
        assert_eq!(backstop.latency_ms.max, 3_000);
        assert!((backstop.premium_total - 180.0).abs() < 1e-9);
        let baseline = scorecard.totals(MarketKind::Baseline);
        assert_eq!((baseline.by_open_path, baseline.latency_blocks.p50), (5, 1));
        let worse = scorecard.worse_points();
        assert!(worse.iter().any(|line| line.starts_with("median latency: 2 blocks")), "{worse:?}");
        assert!(worse.iter().any(|line| line.contains("1 account(s) left unliquidated against 0")), "{worse:?}");
        assert!((scorecard.solvers[0].net_usd() - 3.0).abs() < 1e-9);
        assert!(worse.iter().any(|line| line.starts_with("solver solver-b lost 1.00 USD")), "{worse:?}");
        assert!(!worse.iter().any(|line| line.starts_with("solver solver-a")), "{worse:?}");
        let text = scorecard.render();
        assert!(text.contains("where Backstop did worse than the baseline"), "{text}");
        assert!(text.contains("solver-a") && text.contains("margin 200 bps"), "{text}");
    }
}
