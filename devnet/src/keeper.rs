//! Keeper bots: the open, first-come liquidators most margin protocols rely on today.
//! Three of them race on every chain, for the baseline market and for the Backstop
//! market's fallback path once its ladder opens. Each prices every liquidation the open
//! path accepts (the collateral it would seize, valued at what the DEX pays for it, minus
//! the repay and the gas) and, when that is worth its while, sends `liquidateOpen` with a
//! priority fee worth a share of the profit: the priority gas auction through which the
//! liquidation bonus leaks to block producers. Losers of a race pay for reverted
//! transactions. Every transaction and its gas is recorded for the report.
//!
//! Keepers run as tasks of the devnet process with their own keys and connections, and
//! send real transactions; they have the same capital as the solvers.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use backstop_bindings::{LiquidationSettlement, TestToken};
use futures::future::join_all;
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::chain::LocalChain;
use crate::keys::EvmKey;
use crate::scan::{MarketBook, MarketKind, OpenLiquidation, PoolRef, Scan, Scanner};
use crate::DevnetError;

/// Gas a keeper budgets for one `liquidateOpen` when pricing it, and the limit it sends with.
pub const LIQUIDATE_GAS_ESTIMATE: u64 = 450_000;
const LIQUIDATE_GAS_LIMIT: u64 = 1_500_000;
/// How often a keeper looks for a new block.
const POLL: Duration = Duration::from_millis(100);

/// How one keeper plays the race.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperSpec {
    pub name: String,
    /// Share of the expected profit it bids away as priority fee, basis points.
    pub tip_share_bps: u32,
    /// Smallest profit (after gas) it acts on, whole USD.
    pub min_profit_usd: u64,
}

/// Three keepers, from aggressive to cautious.
pub fn default_keepers() -> Vec<KeeperSpec> {
    [(90, 9_000, 5), (60, 6_000, 10), (30, 3_000, 20)]
        .into_iter()
        .map(|(label, tip_share_bps, min_profit_usd)| KeeperSpec {
            name: format!("keeper-tip{label}"),
            tip_share_bps,
            min_profit_usd,
        })
        .collect()
}

/// A keeper with its key.
#[derive(Clone)]
pub struct Keeper {
    pub spec: KeeperSpec,
    pub key: EvmKey,
}

impl Keeper {
    pub fn address(&self) -> Address {
        self.key.address()
    }
}

/// One transaction a keeper sent, with its fate.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperTx {
    pub keeper: String,
    pub chain_id: u64,
    pub market: MarketKind,
    pub account: Address,
    pub transaction: B256,
    /// The block whose scan prompted it.
    pub seen_block: u64,
    /// The block it landed in (None: never mined before the run ended).
    pub block: Option<u64>,
    pub success: bool,
    pub gas_used: u64,
    /// Effective gas price paid, wei.
    pub gas_price: u128,
    /// Priority fee it bid, wei per gas.
    pub tip: u128,
    #[serde(serialize_with = "crate::report::decimal")]
    pub repay: U256,
    /// Profit it expected after gas, USD wei.
    #[serde(serialize_with = "crate::report::decimal")]
    pub expected_profit: U256,
}

/// One scan's figures, kept for the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRecord {
    pub chain_id: u64,
    pub block: u64,
    /// Milliseconds after the fleet started that the scan of this block finished.
    pub at_ms: u64,
    /// Under-water accounts per market kind, in [`MarketKind`] order of the chain's books.
    pub under: Vec<(MarketKind, usize)>,
    pub open: Vec<(MarketKind, usize)>,
    /// The engine's price of each collateral (WAD, listing order; zero: unknown).
    pub oracle_prices: Vec<U256>,
    /// Per market: its insurance fund's balance and its bad debt at the block.
    pub insurance_fund: Vec<(MarketKind, U256)>,
    pub bad_debt: Vec<(MarketKind, U256)>,
}

/// What the keepers of every chain share with the scenario.
#[derive(Debug, Default)]
pub struct Ledger {
    pub transactions: Vec<KeeperTx>,
    pub scans: Vec<ScanRecord>,
    /// (chain, market, account) → the first block a scan found the account under water.
    pub first_under: BTreeMap<(u64, MarketKind, Address), u64>,
    /// Scan errors (RPC trouble), counted rather than fatal.
    pub errors: Vec<String>,
    /// Per chain: the last block whose receipts have been collected.
    pub collected: BTreeMap<u64, u64>,
}

/// How a keeper values seized collateral: debt-asset units the market pays for `units`
/// of collateral `index`.
pub type ExitPricer = Arc<dyn Fn(usize, U256, &Scan) -> U256 + Send + Sync>;

/// What the collateral's DEX pool pays for it at the scanned block (Uniswap V2's formula:
/// fee and price impact); nothing without a pool.
pub fn dex_exit() -> ExitPricer {
    Arc::new(|index, units, scan| {
        scan.pools.get(index).copied().flatten().and_then(|pool| pool.amount_out(units)).unwrap_or(U256::ZERO)
    })
}

/// The oracle value less a 0.3% fee, from the scan's prices and each asset's price scale.
pub fn oracle_exit() -> ExitPricer {
    Arc::new(move |index, units, scan| {
        let (Some(price), Some(scale)) = (scan.prices_wad.get(index), scan.scales.get(index)) else {
            return U256::ZERO;
        };
        if scale.is_zero() {
            return U256::ZERO;
        }
        units.saturating_mul(*price) / *scale * U256::from(997u32) / U256::from(1_000u32)
    })
}

/// Everything one chain's keepers need.
pub struct ChainKeepers {
    pub chain_id: u64,
    pub rpc_url: String,
    /// The scanning connection (the devnet's own).
    pub provider: DynProvider,
    pub books: Vec<MarketBook>,
    pub collaterals: Vec<Address>,
    /// Listing index of the collateral whose price converts gas (ether) to USD.
    pub ether_index: Option<usize>,
    /// Each collateral's DEX pool (listing order): keepers price with it and sell into it.
    pub pools: Vec<Option<PoolRef>>,
    pub exit: ExitPricer,
}

/// The running keepers of every chain. Dropping it stops them.
pub struct KeeperFleet {
    pub keepers: Vec<Keeper>,
    pub ledger: Arc<Mutex<Ledger>>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Drop for KeeperFleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl KeeperFleet {
    /// Gives every keeper gas money and `float` of the debt asset on `chain`, and approves
    /// every settlement of `books` to pull it.
    pub async fn fund(
        chain: &LocalChain,
        keepers: &[Keeper],
        usd: Address,
        float: U256,
        books: &[MarketBook],
    ) -> Result<(), DevnetError> {
        let token = TestToken::new(usd, &chain.provider);
        for keeper in keepers {
            chain.fund_gas(keeper.address()).await?;
            chain.confirm("mint keeper float", token.mint(keeper.address(), float).send().await).await?;
            let provider = keeper_provider(&chain.rpc_url, &keeper.key)?;
            let token = TestToken::new(usd, &provider);
            for book in books {
                chain
                    .confirm("keeper approves settlement", token.approve(book.settlement, U256::MAX).send().await)
                    .await?;
            }
        }
        Ok(())
    }

    /// Starts the keepers on every chain.
    pub fn start(keepers: Vec<Keeper>, chains: Vec<ChainKeepers>) -> Result<Self, DevnetError> {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for chain in chains {
            let players: Vec<(Keeper, DynProvider)> = keepers
                .iter()
                .map(|keeper| Ok((keeper.clone(), keeper_provider(&chain.rpc_url, &keeper.key)?)))
                .collect::<Result<_, DevnetError>>()?;
            tasks.push(tokio::spawn(run_chain(chain, players, ledger.clone(), started)));
        }
        Ok(Self { keepers, ledger, tasks, started })
    }

    /// Waits (up to 10 s) until every chain's receipts are collected up to its block in `heads`.
    pub async fn wait_collected(&self, heads: &BTreeMap<u64, u64>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let done = {
                let ledger = lock(&self.ledger);
                heads.iter().all(|(chain, head)| ledger.collected.get(chain).is_some_and(|collected| collected >= head))
            };
            if done {
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Milliseconds since the fleet started: the clock of [`ScanRecord::at_ms`].
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Under-water counts of every market in the latest scan of each chain (chain order as
    /// scanned), and the oldest of those latest blocks; `None` until every chain of
    /// `chains` has been scanned once.
    pub fn latest_under(&self, chains: usize) -> (Vec<usize>, Option<u64>) {
        let ledger = lock(&self.ledger);
        let mut latest: BTreeMap<u64, &ScanRecord> = BTreeMap::new();
        for record in &ledger.scans {
            latest.insert(record.chain_id, record);
        }
        let counts = latest.values().flat_map(|record| record.under.iter().map(|(_, count)| *count)).collect();
        let oldest = (latest.len() >= chains).then(|| latest.values().map(|record| record.block).min()).flatten();
        (counts, oldest)
    }

    /// "chain 31337 backstop 3/baseline 5 under | ..." from the latest scans.
    pub fn describe_latest(&self) -> String {
        let ledger = lock(&self.ledger);
        let mut latest: BTreeMap<u64, &ScanRecord> = BTreeMap::new();
        for record in &ledger.scans {
            latest.insert(record.chain_id, record);
        }
        latest
            .values()
            .map(|record| {
                let markets: Vec<String> =
                    record.under.iter().map(|(kind, count)| format!("{} {count}", kind.name())).collect();
                format!("chain {}: {} under", record.chain_id, markets.join("/"))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    pub fn addresses(&self) -> Vec<(String, Address)> {
        self.keepers.iter().map(|keeper| (keeper.spec.name.clone(), keeper.address())).collect()
    }
}

fn keeper_provider(rpc_url: &str, key: &EvmKey) -> Result<DynProvider, DevnetError> {
    let url = rpc_url.parse().map_err(|error| DevnetError::Setup(format!("rpc url {rpc_url}: {error}")))?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(key.signer.clone())).connect_http(url).erased();
    provider.client().set_poll_interval(Duration::from_millis(50));
    Ok(provider)
}

type InFlight = Arc<Mutex<HashSet<(Address, MarketKind, Address)>>>;
/// Sent and not yet seen in a block: hash → (record, in-flight key).
type Unmined = Arc<Mutex<std::collections::HashMap<B256, (KeeperTx, (Address, MarketKind, Address))>>>;
/// A transaction not mined this many blocks after it was sent is given up on.
const GIVE_UP_BLOCKS: u64 = 30;

/// Transactions a keeper has outstanding on a chain at most, as a bot with one nonce queue
/// runs: past this it waits for some to land. Without a cap, each keeper queued ~400
/// liquidations in a 10,000-account crash. 64 does not bind at the default population (at
/// 16, the keepers' p95 went from 5 blocks to 36).
const MAX_IN_FLIGHT: usize = 64;

/// Whether `sender` may send another liquidation under [`MAX_IN_FLIGHT`].
fn has_room(in_flight: &HashSet<(Address, MarketKind, Address)>, sender: Address) -> bool {
    in_flight.iter().filter(|(from, _, _)| *from == sender).count() < MAX_IN_FLIGHT
}

/// Settles the fate of every unmined transaction from the receipts of blocks `from..=to`
/// (one `eth_getBlockReceipts` per block instead of polling each transaction).
async fn collect_receipts(
    chain: &ChainKeepers,
    from: u64,
    to: u64,
    unmined: &Unmined,
    in_flight: &InFlight,
    ledger: &Arc<Mutex<Ledger>>,
) {
    if lock(unmined).is_empty() {
        return;
    }
    for block in from..=to {
        let receipts = match chain.provider.get_block_receipts(BlockId::number(block)).await {
            Ok(Some(receipts)) => receipts,
            Ok(None) => continue,
            Err(error) => {
                lock(ledger).errors.push(format!("chain {} block {block} receipts: {error}", chain.chain_id));
                continue;
            }
        };
        for receipt in receipts {
            let Some((mut record, key)) = lock(unmined).remove(&receipt.transaction_hash) else { continue };
            record.block = receipt.block_number;
            record.success = receipt.status();
            record.gas_used = receipt.gas_used;
            record.gas_price = receipt.effective_gas_price;
            lock(in_flight).remove(&key);
            lock(ledger).transactions.push(record);
        }
    }
    let stale: Vec<B256> = lock(unmined)
        .iter()
        .filter(|(_, (record, _))| record.seen_block.saturating_add(GIVE_UP_BLOCKS) < to)
        .map(|(hash, _)| *hash)
        .collect();
    for hash in stale {
        if let Some((record, key)) = lock(unmined).remove(&hash) {
            lock(in_flight).remove(&key);
            lock(ledger).transactions.push(record);
        }
    }
}

async fn run_chain(
    chain: ChainKeepers,
    players: Vec<(Keeper, DynProvider)>,
    ledger: Arc<Mutex<Ledger>>,
    started: Instant,
) {
    let in_flight: InFlight = Arc::default();
    let unmined: Unmined = Arc::default();
    let mut scanner = Scanner::default();
    let mut last = None;
    loop {
        tokio::time::sleep(POLL).await;
        let head = match chain.provider.get_block_number().await {
            Ok(head) => head,
            Err(error) => {
                lock(&ledger).errors.push(format!("chain {}: head: {error}", chain.chain_id));
                continue;
            }
        };
        if last.is_some_and(|last| head <= last) {
            continue;
        }
        // At most the last 64 blocks: an RPC that jumps its head far ahead costs no more.
        let from = last.map_or(head, |last| last + 1).max(head.saturating_sub(64));
        last = Some(head);
        collect_receipts(&chain, from, head, &unmined, &in_flight, &ledger).await;
        lock(&ledger).collected.insert(chain.chain_id, head);
        let scanned = match scanner.scan(&chain.provider, head, &chain.books, &chain.collaterals, &chain.pools).await {
            Ok(scanned) => scanned,
            Err(error) => {
                lock(&ledger).errors.push(format!("chain {} block {head}: {error}", chain.chain_id));
                continue;
            }
        };
        let base_fee = match chain.provider.get_block_by_number(head.into()).await {
            Ok(Some(block)) => u128::from(block.header.base_fee_per_gas.unwrap_or(0)),
            _ => 0,
        };
        {
            let mut ledger = lock(&ledger);
            for market in &scanned.markets {
                for account in market.under.keys() {
                    ledger.first_under.entry((chain.chain_id, market.kind, *account)).or_insert(head);
                }
            }
        }
        lock(&ledger).scans.push(ScanRecord {
            chain_id: chain.chain_id,
            block: head,
            at_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            under: scanned.markets.iter().map(|market| (market.kind, market.under.len())).collect(),
            open: scanned.markets.iter().map(|market| (market.kind, market.open.len())).collect(),
            oracle_prices: scanned.prices_wad.clone(),
            insurance_fund: scanned.markets.iter().map(|market| (market.kind, market.insurance_fund)).collect(),
            bad_debt: scanned.markets.iter().map(|market| (market.kind, market.bad_debt)).collect(),
        });
        let opportunities: Vec<&OpenLiquidation> = scanned.markets.iter().flat_map(|market| &market.open).collect();
        if opportunities.is_empty() {
            continue;
        }
        let ether_usd_wad = chain
            .ether_index
            .and_then(|index| scanned.prices_wad.get(index).copied())
            .filter(|price| !price.is_zero())
            .unwrap_or(U256::from(2_000u64) * WAD);
        join_all(players.iter().map(|(keeper, provider)| {
            race(
                &chain,
                keeper,
                provider,
                &scanned,
                &opportunities,
                base_fee,
                ether_usd_wad,
                in_flight.clone(),
                unmined.clone(),
                ledger.clone(),
            )
        }))
        .await;
    }
}

const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// One keeper's turn at one block: prices each opportunity and sends what pays.
#[allow(clippy::too_many_arguments)]
async fn race(
    chain: &ChainKeepers,
    keeper: &Keeper,
    provider: &DynProvider,
    scanned: &Scan,
    opportunities: &[&OpenLiquidation],
    base_fee: u128,
    ether_usd_wad: U256,
    in_flight: InFlight,
    unmined: Unmined,
    ledger: Arc<Mutex<Ledger>>,
) {
    let Ok(mut balance) = TestToken::new(chain_usd(chain), provider).balanceOf(keeper.address()).call().await else {
        return;
    };
    for opportunity in opportunities {
        let key = (keeper.address(), opportunity.kind, opportunity.account);
        {
            let in_flight = lock(&in_flight);
            if in_flight.contains(&key) {
                continue;
            }
            if !has_room(&in_flight, keeper.address()) {
                break;
            }
        }
        let repay = opportunity.max_repay.min(balance);
        if repay.is_zero() {
            continue;
        }
        let Some(decision) = price(keeper, chain, scanned, opportunity, repay, base_fee, ether_usd_wad) else {
            continue;
        };
        let settlement = LiquidationSettlement::new(opportunity.settlement, provider);
        let sent = settlement
            .liquidateOpen(opportunity.market_id, opportunity.account, repay)
            .gas(LIQUIDATE_GAS_LIMIT)
            .max_priority_fee_per_gas(decision.tip)
            .max_fee_per_gas(base_fee.saturating_mul(2).saturating_add(decision.tip).max(1))
            .send()
            .await;
        let pending = match sent {
            Ok(pending) => pending,
            Err(error) => {
                lock(&ledger).errors.push(format!("{} send: {error}", keeper.spec.name));
                continue;
            }
        };
        balance = balance.saturating_sub(repay);
        lock(&in_flight).insert(key);
        let transaction = *pending.tx_hash();
        let record = KeeperTx {
            keeper: keeper.spec.name.clone(),
            chain_id: chain.chain_id,
            market: opportunity.kind,
            account: opportunity.account,
            transaction,
            seen_block: scanned.block,
            block: None,
            success: false,
            gas_used: 0,
            gas_price: 0,
            tip: decision.tip,
            repay,
            expected_profit: decision.profit,
        };
        lock(&unmined).insert(transaction, (record, key));
    }
}

fn chain_usd(chain: &ChainKeepers) -> Address {
    chain.books.first().map(|book| book.debt_asset).unwrap_or_default()
}

struct Decision {
    tip: u128,
    profit: U256,
}

/// What `keeper` would make on `opportunity` repaying `repay`, and the tip it bids.
fn price(
    keeper: &Keeper,
    chain: &ChainKeepers,
    scanned: &Scan,
    opportunity: &OpenLiquidation,
    repay: U256,
    base_fee: u128,
    ether_usd_wad: U256,
) -> Option<Decision> {
    // A partial repay (short of capital) seizes the same share less.
    let share = |units: U256| {
        if opportunity.max_repay.is_zero() {
            U256::ZERO
        } else {
            units.saturating_mul(repay) / opportunity.max_repay
        }
    };
    let exit = opportunity
        .seized_units
        .iter()
        .enumerate()
        .fold(U256::ZERO, |sum, (index, units)| sum.saturating_add((chain.exit)(index, share(*units), scanned)));
    let gross = exit.checked_sub(repay)?;
    let gas = U256::from(LIQUIDATE_GAS_ESTIMATE);
    let base_cost_usd = gas.saturating_mul(U256::from(base_fee)).saturating_mul(ether_usd_wad) / WAD;
    let net = gross.checked_sub(base_cost_usd)?;
    let minimum = U256::from(keeper.spec.min_profit_usd).saturating_mul(WAD);
    if net <= minimum {
        return None;
    }
    // Tip: a share of the profit, in wei per gas.
    let tip_usd = net.saturating_mul(U256::from(keeper.spec.tip_share_bps)) / U256::from(10_000u32);
    let tip_wei_total = tip_usd.saturating_mul(WAD) / ether_usd_wad.max(U256::from(1u8));
    let tip = (tip_wei_total / gas).saturating_to::<u128>().max(1);
    Some(Decision { tip, profit: net.saturating_sub(tip_usd) })
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keeper_stops_sending_at_its_in_flight_cap_and_others_are_not_counted() {
        let me = Address::repeat_byte(1);
        let rival = Address::repeat_byte(2);
        let mut in_flight = HashSet::new();
        for index in 0..MAX_IN_FLIGHT {
            assert!(has_room(&in_flight, me), "room at {index}");
            in_flight.insert((me, MarketKind::Baseline, Address::with_last_byte(index as u8)));
            in_flight.insert((rival, MarketKind::Baseline, Address::with_last_byte(index as u8)));
        }
        assert_eq!(in_flight.len(), 2 * MAX_IN_FLIGHT);
        assert!(!has_room(&in_flight, me), "full at the cap");
        in_flight.remove(&(me, MarketKind::Baseline, Address::with_last_byte(0)));
        assert!(has_room(&in_flight, me), "a landed transaction frees a slot");
        assert!(!has_room(&in_flight, rival), "the rival's own count is its own");
    }
}
