//! One chain as the solver uses it: an HTTP provider with the executor wallet, the
//! settlement contract's committee, the reads that price an intent, the debt-asset
//! approvals, and `settle` (simulated first, resent until mined or past its deadline).
//! Every RPC answer is untrusted input: nothing here panics on it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::{SolCall as _, SolEvent};
use alloy::transports::http::reqwest::Url;
use alloy::transports::RpcError;
use backstop_bindings::{
    FlashLiquidator, IMarginMarket, LiquidationSettlement, MarginEngine, SolverRegistry, TestToken, UniswapV2Factory,
    UniswapV2Pair,
};
use backstop_protocol::auction::{Admission, ChainContext, IntentFacts, MarketTerms, SolverSet};
use backstop_protocol::timing::now_ms;
use backstop_protocol::{Intent, PeerKey};

use crate::book::{Asked, Closed, SettleResult};
use crate::config::ChainEndpoint;
use crate::dex::Reserves;
use crate::error::SolverError;
use crate::observe;
use crate::outcome::CollateralReceived;
use crate::pricing::{self, CollateralQuote, Inventory, PoolQuote, Pricing};
use crate::votes::{Committee, Quorum};

alloy::sol! {
    /// The ERC-20 calls and event the solver needs on debt and collateral tokens.
    #[sol(rpc)]
    interface IERC20Approval {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
        function decimals() external view returns (uint8);
    }
}

/// Gas a settle is assumed to use before this runtime has seen one mined on the chain
/// (the devnet's settles use about 300-550k depending on how many collaterals move).
pub(crate) const DEFAULT_SETTLE_GAS: u64 = 600_000;
/// A sent settle not mined after this long is resent with the same nonce and a higher
/// gas price (a dropped or underpriced transaction), until the award's deadline.
const RESEND_AFTER: Duration = Duration::from_secs(3);

/// Markets whose debt asset is cached; more are simply looked up again.
const MAX_CACHED_MARKETS: usize = 1024;
/// An allowance above this counts as "approved forever" (it was set to `U256::MAX`).
const UNLIMITED_ALLOWANCE: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);
/// How often a sent transaction's receipt is polled.
const RECEIPT_POLL: Duration = Duration::from_millis(250);
/// How long to wait for an approval's receipt.
const APPROVAL_RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Budget for one RPC request or transaction submission: the default HTTP client has
/// no timeout, and a hung endpoint must not hold a settle past its deadline.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);
/// Budget for making sure of the approval before a settle.
const APPROVAL_BEFORE_SETTLE: Duration = Duration::from_secs(8);
/// Node errors that are neither reverts nor transport failures (e.g. "nonce too low")
/// are retried this many times before the settle is reported as failed.
const MAX_NODE_ERRORS: u32 = 3;
/// Gas estimates are made against the latest block, but `settle` runs in the next one,
/// where a price step may make the liquidation seize more assets (more transfers). An
/// inner transfer that runs out of gas makes the whole settle revert, so pad generously:
/// unused gas is refunded.
const SETTLE_GAS_PADDING_PERCENT: u64 = 50;
const SETTLE_GAS_FLOOR: u64 = 100_000;
const SETTLE_GAS_CAP: u64 = 5_000_000;
/// A reverted settle that used at least this share (percent) of its gas limit probably
/// ran out of gas, not into a rule: retry it with a larger limit while the award is valid.
const OUT_OF_GAS_USAGE_PERCENT: u64 = 95;
const MAX_GAS_RETRIES: u32 = 2;
/// Settles planned and sent for one award: the first, and retries after on-chain reverts.
const MAX_SETTLE_ATTEMPTS: u32 = 3;

/// A `FlashLiquidator` executor and the Uniswap V2 factory it trades on (read from it).
#[derive(Debug, Clone, Copy)]
struct FlashSetup {
    liquidator: Address,
    factory: Address,
}

/// Smallest profit, in debt units, a flash settle must make or revert (`minProfit`): it
/// never mines a liquidation that loses debt asset.
const FLASH_MIN_PROFIT: U256 = U256::from_limbs([1, 0, 0, 0]);

#[derive(Debug, Default)]
struct Approvals {
    debt_asset_of: HashMap<B256, Address>,
    approved: HashSet<Address>,
}

/// Largest block range asked of `eth_getLogs` at once.
const MAX_LOG_RANGE: u64 = 2_000;

/// What the solver knows of the chain's registrations, and up to which block.
#[derive(Debug)]
struct ContextCursor {
    next_block: u64,
    context: ChainContext,
    /// Auctions the chain closed since the runtime last took them.
    closed: std::collections::VecDeque<Closed>,
}

/// Closed auctions remembered between two takes; older ones are dropped beyond it (the
/// first refresh reads the settlement's whole history).
const MAX_CLOSED_PENDING: usize = 65_536;

/// A connected chain.
#[derive(Debug)]
pub(crate) struct Chain {
    pub chain_id: u64,
    pub settlement: Address,
    /// The executor reveals and awards name: the wallet, or its `FlashLiquidator`.
    pub executor: Address,
    /// The wallet that signs and pays gas for every transaction.
    sender: Address,
    /// Set when the executor is a `FlashLiquidator`.
    flash: Option<FlashSetup>,
    pub solver_registry: Option<Address>,
    provider: DynProvider,
    /// Per-intent reads (claims, nonce, what a repay seizes), shared between the intents
    /// checked and priced at once (see [`backstop_bindings::batch::Coalescer`]).
    reads: backstop_bindings::batch::Coalescer,
    context: tokio::sync::Mutex<ContextCursor>,
    /// Serialises the executor's transactions so concurrent sends never pick the same
    /// nonce, and holds the nonce of the next new one when our last send set it (`None`:
    /// ask the chain for the pending count, after a failure or a send that did not track it).
    send_lock: tokio::sync::Mutex<Option<u64>>,
    /// Held across the lookup and the approval so each asset is approved once.
    approvals: tokio::sync::Mutex<Approvals>,
    /// A collateral asset priced like the chain's native coin (to convert gas costs).
    native_price_asset: Option<Address>,
    /// Token decimals read so far (they do not change).
    decimals: std::sync::Mutex<HashMap<Address, u8>>,
    /// Uniswap V2 pairs found so far, (factory, asset, debt asset) -> (pair, token0).
    pairs: std::sync::Mutex<HashMap<PairKey, (Address, Address)>>,
    /// Largest gas a settle of ours used on this chain (0: none yet).
    settle_gas_seen: AtomicU64,
    /// What every intent of one market prices with at one block, read once per
    /// (block, adapter, debt asset) however many intents a crash brings.
    snapshots: std::sync::Mutex<HashMap<SnapshotKey, SnapshotCell>>,
    /// Recent intent chain checks, shared by the copies of one round (see `intent_facts`).
    facts: std::sync::Mutex<HashMap<FactsKey, (std::time::Instant, FactsCell)>>,
    /// The chain head as last polled (0: not yet), so an intent check need not ask for it.
    head: AtomicU64,
    /// Pricing started while an intent's claims are checked (see `speculate`).
    speculations: std::sync::Mutex<HashMap<SpeculationKey, (std::time::Instant, PricingCell)>>,
}

/// The part of [`Pricing`] that depends on the market and the block, not on the account:
/// the executor's inventory, gas, prices, bonuses and pools.
#[derive(Debug, Clone)]
struct MarketSnapshot {
    balance: U256,
    allowance: U256,
    gas_price: u128,
    native_balance: U256,
    native_price: Option<U256>,
    /// (asset, price WAD, liquidation bonus WAD, decimals), in the order asked.
    assets: Vec<(Address, U256, Option<U256>, Option<u8>)>,
    pools: Vec<PoolQuote>,
}

/// (factory, asset, debt asset) of a Uniswap V2 pair.
type PairKey = (Address, Address, Address);

/// (block, adapter, debt asset, collateral assets as the intent's market lists them).
type SnapshotKey = (u64, Address, Address, Vec<Address>);
type SnapshotCell = std::sync::Arc<tokio::sync::OnceCell<Result<MarketSnapshot, String>>>;

/// Snapshots kept: a block's are dropped once this many newer blocks have been priced.
const SNAPSHOT_BLOCKS: u64 = 2;

/// (adapter, account, collateral asset, observed block) of an intent's chain check.
type FactsKey = (Address, Address, Address, u64);
type FactsCell = std::sync::Arc<tokio::sync::OnceCell<Result<IntentFacts, String>>>;
/// How long one chain check serves further copies of the same claims.
const FACTS_REUSE: Duration = Duration::from_secs(1);
/// Chain checks remembered at once (a second's worth of a bad crash).
const MAX_CACHED_FACTS: usize = 4096;

/// (intent id, observed block, max repay): every copy of a round with these prices alike.
type SpeculationKey = (B256, u64, U256);
type PricingCell = std::sync::Arc<tokio::sync::OnceCell<Result<Pricing, String>>>;
/// How long a speculative pricing waits for its intent's claims to verify.
const SPECULATION_TTL: Duration = Duration::from_secs(3);
/// Speculative pricings in flight or waiting at once, per chain; beyond it intents are
/// priced on demand once their claims hold. Speculation runs before the claims are
/// known, so this bounds what a peer flooding false intents can make us read (a crash's
/// burst on one chain is tens of intents).
const MAX_SPECULATIONS: usize = 256;

/// How a failed `settle` send should be handled.
#[derive(Debug, PartialEq, Eq)]
enum SendFailure {
    /// The call reverts: sending again cannot help.
    Reverted(String),
    /// The RPC could not be reached or answered garbage: try again.
    Transient(String),
    /// The node refused the transaction for another reason (funds, nonce...).
    Node(String),
}

impl Chain {
    /// Connects, checks that the endpoint serves the configured chain and that the
    /// settlement contract exists, and reads the chain's context (markets, committee,
    /// admitted solvers).
    pub async fn connect(endpoint: &ChainEndpoint) -> Result<(Self, ChainContext), SolverError> {
        let chain_id = endpoint.chain_id;
        let rpc_error = |reason: String| SolverError::Rpc { chain_id, rpc_url: endpoint.rpc_url.clone(), reason };
        let url = endpoint.rpc_url.parse::<Url>().map_err(|error| SolverError::RpcUrl {
            chain_id,
            rpc_url: endpoint.rpc_url.clone(),
            reason: error.to_string(),
        })?;
        let provider =
            ProviderBuilder::new().wallet(EthereumWallet::from(endpoint.executor.clone())).connect_http(url).erased();
        let actual = provider.get_chain_id().await.map_err(|error| rpc_error(error.to_string()))?;
        if actual != chain_id {
            return Err(SolverError::ChainIdMismatch { chain_id, rpc_url: endpoint.rpc_url.clone(), actual });
        }
        let code = provider.get_code_at(endpoint.settlement).await.map_err(|error| rpc_error(error.to_string()))?;
        if code.is_empty() {
            return Err(SolverError::NoSettlementCode { chain_id, settlement: endpoint.settlement });
        }
        let sender = endpoint.executor.address();
        let flash = match endpoint.flash_liquidator {
            None => None,
            Some(liquidator) => {
                Some(Self::check_flash(&provider, chain_id, liquidator, sender, endpoint.settlement).await?)
            }
        };
        let chain = Self {
            chain_id,
            settlement: endpoint.settlement,
            executor: flash.map_or(sender, |flash| flash.liquidator),
            sender,
            flash,
            solver_registry: endpoint.solver_registry,
            context: tokio::sync::Mutex::new(ContextCursor {
                next_block: 0,
                context: ChainContext {
                    admission: match endpoint.solver_registry {
                        Some(_) => Admission::Bonded(SolverSet::default()),
                        None => Admission::Open,
                    },
                    ..ChainContext::new(chain_id, endpoint.settlement)
                },
                closed: std::collections::VecDeque::new(),
            }),
            reads: backstop_bindings::batch::Coalescer::new(provider.clone()),
            provider,
            send_lock: tokio::sync::Mutex::new(None),
            approvals: tokio::sync::Mutex::new(Approvals::default()),
            native_price_asset: endpoint.native_price_asset,
            decimals: std::sync::Mutex::new(HashMap::new()),
            pairs: std::sync::Mutex::new(HashMap::new()),
            settle_gas_seen: AtomicU64::new(0),
            snapshots: std::sync::Mutex::new(HashMap::new()),
            facts: std::sync::Mutex::new(HashMap::new()),
            head: AtomicU64::new(0),
            speculations: std::sync::Mutex::new(HashMap::new()),
        };
        let context = chain.refresh_context().await.map_err(|reason| SolverError::Committee {
            chain_id,
            settlement: endpoint.settlement,
            reason,
        })?;
        Ok((chain, context))
    }

    /// Checks that `liquidator` is a `FlashLiquidator` owned by our wallet for this
    /// settlement, and reads its factory.
    async fn check_flash(
        provider: &DynProvider,
        chain_id: u64,
        liquidator: Address,
        sender: Address,
        settlement: Address,
    ) -> Result<FlashSetup, SolverError> {
        let refuse = |reason: String| SolverError::FlashLiquidator { chain_id, liquidator, reason };
        let contract = FlashLiquidator::new(liquidator, provider.clone());
        let owner = contract.owner().call().await.map_err(|error| refuse(format!("owner(): {error}")))?;
        if owner != sender {
            return Err(refuse(format!("it is owned by {owner}, not by our executor wallet {sender}")));
        }
        let bound = contract.settlement().call().await.map_err(|error| refuse(format!("settlement(): {error}")))?;
        if bound != settlement {
            return Err(refuse(format!("it settles on {bound}, not on the configured settlement {settlement}")));
        }
        let factory = contract.factory().call().await.map_err(|error| refuse(format!("factory(): {error}")))?;
        Ok(FlashSetup { liquidator, factory })
    }

    /// Brings the chain's context up to the head: markets registered since the last
    /// call, the committee, and solver bonds. Returns the whole context.
    pub async fn refresh_context(&self) -> Result<ChainContext, String> {
        let mut cursor = self.context.lock().await;
        let head = self.provider.get_block_number().await.map_err(|error| format!("eth_blockNumber: {error}"))?;
        let mut addresses = vec![self.settlement];
        addresses.extend(self.solver_registry);
        let mut from = cursor.next_block;
        while from <= head {
            let to = head.min(from.saturating_add(MAX_LOG_RANGE - 1));
            let filter = Filter::new().address(addresses.clone()).from_block(from).to_block(to);
            let logs = self.provider.get_logs(&filter).await.map_err(|error| format!("eth_getLogs: {error}"))?;
            for log in logs {
                if let Some(closed) = self.closed_by(&log) {
                    if cursor.closed.len() >= MAX_CLOSED_PENDING {
                        cursor.closed.pop_front();
                    }
                    cursor.closed.push_back(closed);
                    continue;
                }
                self.apply_log(&mut cursor.context, &log).await?;
            }
            // A hostile RPC may claim any head: never step past u64::MAX.
            let Some(next) = to.checked_add(1) else { break };
            from = next;
        }
        cursor.next_block = head.saturating_add(1);
        let committee = self.committee().await?;
        cursor.context.committee = committee;
        Ok(cursor.context.clone())
    }

    /// The auctions the chain closed since the last call (see [`Chain::refresh_context`]).
    pub async fn take_closed(&self) -> Vec<Closed> {
        self.context.lock().await.closed.drain(..).collect()
    }

    /// A settlement log that closes an auction: `Settled`, or `OpenLiquidated` (which
    /// consumed the nonce the auction's id was made of).
    fn closed_by(&self, log: &alloy::rpc::types::Log) -> Option<Closed> {
        if log.address() != self.settlement {
            return None;
        }
        let topic = log.topic0()?;
        if *topic == LiquidationSettlement::Settled::SIGNATURE_HASH {
            let settled = log.log_decode::<LiquidationSettlement::Settled>().ok()?.inner.data;
            return Some(Closed { intent_id: settled.intentId, settled: Some((settled.executor, settled.premium)) });
        }
        if *topic == LiquidationSettlement::OpenLiquidated::SIGNATURE_HASH {
            let open = log.log_decode::<LiquidationSettlement::OpenLiquidated>().ok()?.inner.data;
            let intent_id = backstop_protocol::id::intent_id(
                self.chain_id,
                self.settlement,
                open.marketId,
                open.account,
                open.nonce,
            );
            return Some(Closed { intent_id, settled: None });
        }
        None
    }

    async fn apply_log(&self, context: &mut ChainContext, log: &alloy::rpc::types::Log) -> Result<(), String> {
        let Some(topic) = log.topic0() else { return Ok(()) };
        if log.address() == self.settlement && *topic == LiquidationSettlement::MarketRegistered::SIGNATURE_HASH {
            let Ok(event) = log.log_decode::<LiquidationSettlement::MarketRegistered>() else { return Ok(()) };
            let registered = event.inner.data;
            let registration = self
                .settlement()
                .markets(registered.marketId)
                .call()
                .await
                .map_err(|error| format!("markets(): {error}"))?;
            let adapter = IMarginMarket::new(registered.adapter, self.provider.clone());
            // The debt asset is the one fixed at registration (the only one `settle` pulls).
            let debt_asset = registration.debtAsset;
            let Ok(collateral_assets) = adapter.collateralAssets().call().await else {
                return Ok(()); // a broken adapter is simply not a market we can bid on
            };
            context.markets.insert(
                registered.marketId,
                MarketTerms {
                    market_id: registered.marketId,
                    adapter: registered.adapter,
                    debt_asset,
                    collateral_assets,
                    reserve_premium: registration.reservePremium,
                },
            );
            return Ok(());
        }
        if Some(log.address()) != self.solver_registry {
            return Ok(());
        }
        let Admission::Bonded(set) = &mut context.admission else { return Ok(()) };
        if *topic == SolverRegistry::SolverRegistered::SIGNATURE_HASH {
            if let Ok(event) = log.log_decode::<SolverRegistry::SolverRegistered>() {
                set.admit(event.inner.data.solverKey, event.inner.data.executor);
            }
        } else if *topic == SolverRegistry::SolverExitRequested::SIGNATURE_HASH {
            if let Ok(event) = log.log_decode::<SolverRegistry::SolverExitRequested>() {
                set.remove(event.inner.data.solverKey, event.inner.data.executor);
            }
        } else if *topic == SolverRegistry::SolverWithdrawn::SIGNATURE_HASH {
            if let Ok(event) = log.log_decode::<SolverRegistry::SolverWithdrawn>() {
                set.remove(event.inner.data.solverKey, event.inner.data.executor);
            }
        }
        Ok(())
    }

    /// Bonds `solver` with our executor on the chain's registry unless it already is.
    pub async fn ensure_registered(&self, solver: PeerKey) -> Result<(), String> {
        let Some(registry) = self.solver_registry else { return Ok(()) };
        let registry = SolverRegistry::new(registry, self.provider.clone());
        if registry.isAdmitted(self.executor, solver).call().await.map_err(|error| format!("isAdmitted(): {error}"))? {
            return Ok(());
        }
        let existing = registry.solverOf(self.executor).call().await.map_err(|error| format!("solverOf(): {error}"))?;
        if existing.solverKey != B256::ZERO && existing.solverKey != solver {
            return Err(format!(
                "executor {} is bonded with another solver key {}: use that key, or requestExit() and withdraw() first",
                self.executor, existing.solverKey
            ));
        }
        let bond = registry.minBond().call().await.map_err(|error| format!("minBond(): {error}"))?;
        let mut next_nonce = self.send_lock.lock().await;
        // The filler picks this one's nonce; the next send asks the chain again.
        *next_nonce = None;
        let sent = match self.flash {
            // The registry binds the key to msg.sender: the liquidator registers itself.
            Some(flash) => {
                FlashLiquidator::new(flash.liquidator, self.provider.clone())
                    .registerSolver(*registry.address(), solver)
                    .value(bond)
                    .from(self.sender)
                    .send()
                    .await
            }
            None => registry.register(solver).value(bond).send().await,
        };
        let pending =
            sent.map_err(|error| format!("register(): {error} (does the executor hold {bond} wei for the bond?)"))?;
        let receipt = pending.get_receipt().await.map_err(|error| format!("register() receipt: {error}"))?;
        if !receipt.status() {
            return Err(format!("register() reverted in {}", receipt.transaction_hash));
        }
        observe::solver_registered(self.chain_id, solver, bond);
        Ok(())
    }

    /// What the chain says about a peer's intent (see `backstop_bindings::read_intent_facts`).
    pub async fn intent_facts(&self, adapter: Address, intent: &Intent) -> Result<IntentFacts, String> {
        // Up to one copy per node of each round arrives, all claiming the same facts of the
        // same block: read them once. The head part (the nonce) may be a second old, which
        // at worst lets us bid on an auction that just settled (the settle simulation
        // refuses it); the claims at `observedBlock` are immutable.
        let key: FactsKey = (adapter, intent.account, intent.collateralAsset, intent.observedBlock);
        let cell = {
            let mut cache = self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = std::time::Instant::now();
            cache.retain(|_, (read_at, _)| now.duration_since(*read_at) < FACTS_REUSE);
            if cache.len() >= MAX_CACHED_FACTS {
                cache.clear();
            }
            cache.entry(key).or_insert_with(|| (now, std::sync::Arc::default())).1.clone()
        };
        let facts = cell
            .get_or_init(|| async {
                backstop_bindings::read_intent_facts(&self.reads, adapter, intent, self.known_head()).await
            })
            .await
            .clone();
        if let Ok(facts) = &facts {
            self.head.fetch_max(facts.head_block, Ordering::Relaxed);
        }
        // A failed read, or one from an RPC whose head has not reached the observed block
        // yet, is not reused: the next copy asks the chain again.
        if facts.as_ref().map_or(true, |facts| facts.head_block < intent.observedBlock) {
            self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&key);
        }
        facts
    }

    /// Whether the facts of `intent`'s claims are read or being read: another node's copy
    /// of the same round claims the same facts of the same block. Such a copy needs no
    /// place in the check queue, only the answer already on its way.
    pub fn facts_known(&self, adapter: Address, intent: &Intent) -> bool {
        let key: FactsKey = (adapter, intent.account, intent.collateralAsset, intent.observedBlock);
        let cache = self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(&key).is_some_and(|(read_at, _)| read_at.elapsed() < FACTS_REUSE)
    }

    /// The head as last polled or read, if any.
    pub fn known_head(&self) -> Option<u64> {
        match self.head.load(Ordering::Relaxed) {
            0 => None,
            head => Some(head),
        }
    }

    /// Asks the chain for its head and remembers it (a reorg may lower it). A failed poll
    /// forgets the head: a stale one must not stand in for the chain's.
    pub async fn poll_head(&self) -> Result<u64, String> {
        let head = tokio::time::timeout(RPC_TIMEOUT, self.provider.get_block_number())
            .await
            .map_err(|_| "eth_blockNumber timed out".to_string())
            .and_then(|read| read.map_err(|error| format!("eth_blockNumber: {error}")));
        self.head.store(*head.as_ref().unwrap_or(&0), Ordering::Relaxed);
        head
    }

    /// Starts pricing `intent` before its claims are verified, so that pricing and the
    /// chain check share one round trip's wait instead of following each other. Returns
    /// the work to drive (on a task the runtime owns), or `None` when a copy of the same
    /// round is already being priced or too many are. [`Chain::price`] picks the result
    /// up; one that is never asked for (the claims were false) is dropped after
    /// [`SPECULATION_TTL`]. It reads at the polled head (the chain check reads there too).
    pub fn speculate(
        self: &std::sync::Arc<Self>,
        intent: &Intent,
        adapter: Address,
        collateral_assets: Vec<Address>,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let key: SpeculationKey = (intent.id(), intent.observedBlock, intent.maxRepay);
        let cell = {
            let mut speculations = self.speculations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = std::time::Instant::now();
            speculations.retain(|_, (started, _)| now.duration_since(*started) < SPECULATION_TTL);
            if speculations.contains_key(&key) || speculations.len() >= MAX_SPECULATIONS {
                return None;
            }
            let cell = PricingCell::default();
            speculations.insert(key, (now, cell.clone()));
            cell
        };
        let block = self.known_head().map_or(intent.observedBlock, |head| head.max(intent.observedBlock));
        let (chain, intent) = (self.clone(), intent.clone());
        Some(async move {
            cell.get_or_init(|| chain.price_at(&intent, adapter, &collateral_assets, block)).await;
        })
    }

    fn settlement(&self) -> LiquidationSettlement::LiquidationSettlementInstance<DynProvider> {
        LiquidationSettlement::new(self.settlement, self.provider.clone())
    }

    /// The settlement contract's current attesters and threshold.
    pub async fn committee(&self) -> Result<Committee, String> {
        let settlement = self.settlement();
        let threshold = settlement.threshold().call().await.map_err(|error| format!("threshold(): {error}"))?;
        let attesters = settlement.attesters().call().await.map_err(|error| format!("attesters(): {error}"))?;
        Ok(Committee::new(attesters, threshold.saturating_to::<usize>()))
    }

    /// Makes sure the executor approved the settlement contract for the debt asset of
    /// `market_id`. The asset is read from the chain (settlement → adapter → debtAsset),
    /// never taken from gossip, so a forged intent cannot make us approve arbitrary tokens.
    pub async fn ensure_market_approved(&self, market_id: B256) -> Result<(), String> {
        if self.flash.is_some() {
            return Ok(()); // the liquidator approves the settlement itself, per settle
        }
        let mut approvals = self.approvals.lock().await;
        let asset = match approvals.debt_asset_of.get(&market_id) {
            Some(asset) => *asset,
            None => {
                let market = self
                    .settlement()
                    .markets(market_id)
                    .call()
                    .await
                    .map_err(|error| format!("markets({market_id}): {error}"))?;
                if market.adapter == Address::ZERO {
                    return Err(format!("market {market_id} is not registered on settlement {}", self.settlement));
                }
                // Fixed at registration: a hostile adapter cannot make us approve another token.
                let asset = market.debtAsset;
                if approvals.debt_asset_of.len() < MAX_CACHED_MARKETS {
                    approvals.debt_asset_of.insert(market_id, asset);
                }
                asset
            }
        };
        if approvals.approved.contains(&asset) {
            return Ok(());
        }
        let token = IERC20Approval::new(asset, self.provider.clone());
        let allowance = token
            .allowance(self.executor, self.settlement)
            .call()
            .await
            .map_err(|error| format!("allowance() of {asset}: {error}"))?;
        if allowance < UNLIMITED_ALLOWANCE {
            let pending = {
                let mut next_nonce = self.send_lock.lock().await;
                *next_nonce = None;
                token
                    .approve(self.settlement, U256::MAX)
                    .from(self.sender)
                    .send()
                    .await
                    .map_err(|error| format!("approve() on {asset}: {error}"))?
            };
            let tx_hash = *pending.tx_hash();
            let deadline = tokio::time::Instant::now() + APPROVAL_RECEIPT_TIMEOUT;
            match self.wait_for_receipt(tx_hash, deadline).await {
                Some((true, _)) => observe::approval_sent(asset, tx_hash),
                Some((false, _)) => return Err(format!("approve() on {asset} reverted (tx {tx_hash})")),
                None => {
                    return Err(format!(
                        "approve() on {asset} not mined within {APPROVAL_RECEIPT_TIMEOUT:?} (tx {tx_hash})"
                    ))
                }
            }
        }
        approvals.approved.insert(asset);
        Ok(())
    }

    /// Approves the settlement for the debt asset of every market known at start, so the
    /// first bids are funded. Best effort: a failure is logged and retried at the next bid.
    pub async fn approve_known_markets(&self, market_ids: &[B256]) {
        for market_id in market_ids {
            let approval = tokio::time::timeout(APPROVAL_RECEIPT_TIMEOUT, self.ensure_market_approved(*market_id));
            match approval.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => observe::startup_approval_failed(self.chain_id, &error),
                Err(_) => observe::startup_approval_failed(self.chain_id, "timed out"),
            }
        }
    }

    /// Decimals of `token`, cached.
    async fn decimals_of(&self, token: Address) -> Result<u8, String> {
        if let Some(decimals) = self.decimals.lock().ok().and_then(|cache| cache.get(&token).copied()) {
            return Ok(decimals);
        }
        let decimals = IERC20Approval::new(token, self.provider.clone())
            .decimals()
            .call()
            .await
            .map_err(|error| format!("decimals() of {token}: {error}"))?;
        if let Ok(mut cache) = self.decimals.lock() {
            if cache.len() < MAX_CACHED_MARKETS {
                cache.insert(token, decimals);
            }
        }
        Ok(decimals)
    }

    /// Reads everything a strategy prices `asked` with, at one block: what repaying the
    /// intent's max repay seizes, each collateral's price, bonus and holdings, the gas
    /// price, the native coin's price and the executor's inventory.
    pub async fn price(&self, asked: &Asked) -> Result<Pricing, String> {
        let intent = &asked.intent;
        let key: SpeculationKey = (asked.intent_id, intent.observedBlock, intent.maxRepay);
        let speculation = self
            .speculations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .map(|(_, cell)| cell.clone());
        // The head the intent's chain check just read: one round trip fewer in the commit window.
        let block = match asked.head_block {
            Some(block) => block,
            None => self.provider.get_block_number().await.map_err(|error| format!("eth_blockNumber: {error}"))?,
        };
        let fresh = || self.price_at(intent, asked.adapter, &asked.collateral_assets, block);
        let pricing = match speculation {
            // Started with the chain check (or, if that task was lost, started here).
            Some(cell) => match cell.get_or_init(fresh).await.clone() {
                Ok(pricing) => Ok(pricing),
                // Perhaps read before the RPC had the block: once more, at the checked head.
                Err(_) => fresh().await,
            },
            None => fresh().await,
        };
        pricing.map(|mut pricing| {
            // Copies of a round agree on what is priced; the reserve is this copy's.
            pricing.reserve_premium = intent.reservePremium;
            pricing
        })
    }

    /// Prices a repay of `intent.maxRepay` at `block` (see [`Chain::price`]).
    async fn price_at(
        &self,
        intent: &Intent,
        adapter: Address,
        collateral_assets: &[Address],
        block: u64,
    ) -> Result<Pricing, String> {
        let at = BlockId::number(block);
        let repay_amount = intent.maxRepay;

        // Per intent: what the repay seizes and the account's holdings, in one batched
        // call. Everything else is the market's at this block, shared by every intent
        // priced at it.
        let mut calls: Vec<(Address, Bytes)> = Vec::with_capacity(collateral_assets.len() + 1);
        calls.push((
            adapter,
            IMarginMarket::previewSeizeCall { account: intent.account, repayAmount: repay_amount }.abi_encode().into(),
        ));
        calls.extend(collateral_assets.iter().map(|asset| {
            (adapter, MarginEngine::collateralOfCall { account: intent.account, asset: *asset }.abi_encode().into())
        }));
        let per_intent = async {
            let answers = self.reads.call_raw(calls, at).await.map_err(|error| format!("previewSeize(): {error}"))?;
            let seized = match answers.first() {
                Some(Ok(data)) => IMarginMarket::previewSeizeCall::abi_decode_returns(data)
                    .map_err(|error| format!("previewSeize(): {error}"))?,
                other => return Err(format!("previewSeize(): {other:?}")),
            };
            // MarginEngine extras; another adapter may not have them.
            let holdings: Vec<Option<U256>> = answers[1..]
                .iter()
                .map(|answer| {
                    answer.as_ref().ok().and_then(|data| MarginEngine::collateralOfCall::abi_decode_returns(data).ok())
                })
                .collect();
            Ok::<_, String>((seized, holdings))
        };
        let debt_decimals = self.decimals_of(intent.debtAsset);
        let (per_intent, debt_decimals, snapshot) = tokio::join!(
            per_intent,
            debt_decimals,
            self.market_snapshot(adapter, intent.debtAsset, collateral_assets, block)
        );
        let (seized, mut holdings) = per_intent?;
        holdings.resize(collateral_assets.len(), None);
        let seized_value = seized;
        let debt_decimals = debt_decimals?;
        let snapshot = snapshot?;
        let total_value =
            snapshot.assets.iter().zip(&holdings).fold(U256::ZERO, |sum, ((_, price, _, decimals), units)| {
                match (units, decimals) {
                    (Some(units), Some(decimals)) => {
                        sum.saturating_add(pricing::market_value(*units, *price, *decimals, debt_decimals))
                    }
                    _ => sum,
                }
            });
        let collaterals = snapshot
            .assets
            .iter()
            .zip(holdings)
            .map(|((asset, price_wad, liquidation_bonus_wad, _), account_units)| CollateralQuote {
                asset: *asset,
                price_wad: *price_wad,
                liquidation_bonus_wad: *liquidation_bonus_wad,
                account_units,
                seized_units: account_units.map(|units| pricing::seized_units(units, seized_value, total_value)),
            })
            .collect();
        let settle_gas = match self.settle_gas_seen.load(Ordering::Relaxed) {
            0 => DEFAULT_SETTLE_GAS,
            seen => seen,
        };
        Ok(Pricing {
            block,
            debt_asset: intent.debtAsset,
            debt_decimals,
            repay_amount,
            seized_value,
            collaterals,
            reserve_premium: intent.reservePremium,
            gas_price_wei: snapshot.gas_price,
            settle_gas,
            native_price_wad: snapshot.native_price,
            inventory: Inventory {
                debt_balance: snapshot.balance,
                allowance: snapshot.allowance,
                reserved: U256::ZERO,
                native_balance: snapshot.native_balance,
                flash_financed: self.flash.is_some(),
            },
            pools: snapshot.pools,
        })
    }

    /// The market's part of the pricing at `block`, read once: concurrent callers for the
    /// same (block, adapter, debt asset) wait for the first read. A failed read is not
    /// kept beyond its block.
    async fn market_snapshot(
        &self,
        adapter: Address,
        debt_asset: Address,
        collateral_assets: &[Address],
        block: u64,
    ) -> Result<MarketSnapshot, String> {
        let key = (block, adapter, debt_asset, collateral_assets.to_vec());
        let cell = {
            let mut snapshots = self.snapshots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            snapshots.retain(|(seen, _, _, _), _| seen.saturating_add(SNAPSHOT_BLOCKS) > block);
            snapshots.entry(key).or_default().clone()
        };
        cell.get_or_init(|| self.read_market_snapshot(adapter, debt_asset, collateral_assets, block)).await.clone()
    }

    async fn read_market_snapshot(
        &self,
        adapter: Address,
        debt_asset: Address,
        collateral_assets: &[Address],
        block: u64,
    ) -> Result<MarketSnapshot, String> {
        let at = BlockId::number(block);
        let market = IMarginMarket::new(adapter, self.provider.clone());
        let engine = MarginEngine::new(adapter, self.provider.clone());
        let debt = IERC20Approval::new(debt_asset, self.provider.clone());
        let balance = async {
            debt.balanceOf(self.executor).block(at).call().await.map_err(|error| format!("balanceOf(): {error}"))
        };
        let allowance = async {
            debt.allowance(self.executor, self.settlement)
                .block(at)
                .call()
                .await
                .map_err(|error| format!("allowance(): {error}"))
        };
        let gas_price = async { self.provider.get_gas_price().await.map_err(|error| format!("eth_gasPrice: {error}")) };
        let native_balance =
            async { self.provider.get_balance(self.sender).await.map_err(|error| format!("eth_getBalance: {error}")) };
        let native_price = async {
            match self.native_price_asset {
                // Best effort: without it the strategy sees `None` and prices gas itself.
                Some(asset) => market.price(asset).block(at).call().await.ok(),
                None => None,
            }
        };
        let assets = futures::future::join_all(collateral_assets.iter().map(|asset| {
            let (market, engine) = (&market, &engine);
            async move {
                let (price, params) = (market.price(*asset).block(at), engine.collateralParams(*asset).block(at));
                let (price_wad, bonus, decimals) = tokio::join!(price.call(), params.call(), self.decimals_of(*asset));
                let price_wad = price_wad.map_err(|error| format!("price({asset}): {error}"))?;
                let (bonus, decimals) = (bonus.ok(), decimals.ok());
                Ok::<_, String>((
                    *asset,
                    price_wad,
                    bonus.map(|params| U256::from(params.liquidationBonusWad)),
                    decimals,
                ))
            }
        }));
        let pools = async {
            match self.flash {
                Some(flash) => self.read_pools(flash.factory, collateral_assets, debt_asset, at).await,
                None => Ok(Vec::new()),
            }
        };
        let (balance, allowance, gas_price, native_balance, native_price, assets, pools) =
            tokio::join!(balance, allowance, gas_price, native_balance, native_price, assets, pools);
        Ok(MarketSnapshot {
            balance: balance?,
            allowance: allowance?,
            gas_price: gas_price?,
            native_balance: native_balance?,
            native_price,
            assets: assets.into_iter().collect::<Result<Vec<_>, _>>()?,
            pools: pools?,
        })
    }

    /// Each asset's Uniswap V2 pair against `debt_asset` on `factory` and its reserves at
    /// `at`, oriented for selling the asset. Assets without a pair are left out.
    async fn read_pools(
        &self,
        factory: Address,
        assets: &[Address],
        debt_asset: Address,
        at: BlockId,
    ) -> Result<Vec<PoolQuote>, String> {
        let pools = futures::future::join_all(assets.iter().map(|asset| async move {
            let Some((pair, token0)) = self.pair_of(factory, *asset, debt_asset, at).await? else {
                return Ok(None);
            };
            let pair_contract = UniswapV2Pair::new(pair, self.provider.clone());
            let reserves = pair_contract
                .getReserves()
                .block(at)
                .call()
                .await
                .map_err(|error| format!("getReserves(): {error}"))?;
            let reserves =
                Reserves::for_sale(U256::from(reserves._reserve0), U256::from(reserves._reserve1), token0 == *asset);
            Ok::<_, String>(Some(PoolQuote { asset: *asset, pair, reserves }))
        }))
        .await;
        Ok(pools.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
    }

    /// The Uniswap V2 pair of `asset` against `debt_asset` on `factory` and its `token0`,
    /// or `None` if there is none yet. A pair's address and tokens never change once
    /// created, so they are read once; a missing pair is asked again next time.
    async fn pair_of(
        &self,
        factory: Address,
        asset: Address,
        debt_asset: Address,
        at: BlockId,
    ) -> Result<Option<(Address, Address)>, String> {
        let key = (factory, asset, debt_asset);
        if let Some(known) = self.pairs.lock().ok().and_then(|pairs| pairs.get(&key).copied()) {
            return Ok(Some(known));
        }
        let factory = UniswapV2Factory::new(factory, self.provider.clone());
        let pair = factory
            .getPair(asset, debt_asset)
            .block(at)
            .call()
            .await
            .map_err(|error| format!("getPair({asset}): {error}"))?;
        if pair == Address::ZERO {
            return Ok(None);
        }
        let token0 = UniswapV2Pair::new(pair, self.provider.clone())
            .token0()
            .block(at)
            .call()
            .await
            .map_err(|error| format!("token0(): {error}"))?;
        if let Ok(mut pairs) = self.pairs.lock() {
            if pairs.len() < MAX_CACHED_MARKETS {
                pairs.insert(key, (pair, token0));
            }
        }
        Ok(Some((pair, token0)))
    }

    /// How to flash-finance `award`: the pair to borrow from (the pool of the collateral the
    /// award seizes most of, by value at the pool) and how much debt asset to borrow (what
    /// that collateral sells for there, and at least the repay and premium), read at the head.
    async fn flash_plan(&self, flash: FlashSetup, award: &backstop_protocol::Award) -> Result<(Address, U256), String> {
        let market =
            self.settlement().markets(award.marketId).call().await.map_err(|error| format!("markets(): {error}"))?;
        if market.adapter == Address::ZERO {
            return Err(format!("market {} is not registered", award.marketId));
        }
        let adapter = IMarginMarket::new(market.adapter, self.provider.clone());
        let engine = MarginEngine::new(market.adapter, self.provider.clone());
        let assets = adapter.collateralAssets().call().await.map_err(|error| format!("collateralAssets(): {error}"))?;
        let head = self.provider.get_block_number().await.map_err(|error| format!("eth_blockNumber: {error}"))?;
        let at = BlockId::number(head);
        let seized_value = adapter
            .previewSeize(award.account, award.repayAmount)
            .block(at)
            .call()
            .await
            .map_err(|error| format!("previewSeize(): {error}"))?;
        let debt_decimals = self.decimals_of(market.debtAsset).await?;
        let mut holdings = Vec::new();
        let mut total_value = U256::ZERO;
        for asset in &assets {
            let units = engine.collateralOf(award.account, *asset).block(at).call().await.unwrap_or_default();
            let price = adapter.price(*asset).block(at).call().await.map_err(|error| format!("price(): {error}"))?;
            let decimals = self.decimals_of(*asset).await?;
            total_value = total_value.saturating_add(pricing::market_value(units, price, decimals, debt_decimals));
            holdings.push((*asset, units));
        }
        let pools = self.read_pools(flash.factory, &assets, market.debtAsset, at).await?;
        let cost = award.repayAmount.saturating_add(award.premium);
        let best = holdings
            .iter()
            .filter_map(|(asset, units)| {
                let pool = pools.iter().find(|pool| pool.asset == *asset)?;
                let seized = pricing::seized_units(*units, seized_value, total_value);
                Some((pool.pair, pool.reserves.amount_out(seized)?))
            })
            .max_by_key(|(_, proceeds)| *proceeds);
        let Some((pair, proceeds)) = best else {
            return Err(format!("no Uniswap V2 pool on factory {} for any collateral of the market", flash.factory));
        };
        Ok((pair, proceeds.max(cost)))
    }

    /// Sends `settle` for a quorum award from the executor. It is simulated (`eth_call`)
    /// before every send and never sent if it would revert; a sent transaction that is not
    /// mined within [`RESEND_AFTER`] is resent with the same nonce at a higher gas price;
    /// transport failures are retried; all of it until the award's deadline. A settle that
    /// reverts once mined (another transaction in its block moved the pool it sells into,
    /// or took the liquidation first) is planned and simulated again, up to
    /// [`MAX_SETTLE_ATTEMPTS`] times: the award is still ours until its deadline, and the
    /// simulation tells a race lost for good (nothing sent) from one the next block wins.
    pub async fn settle(&self, quorum: &Quorum) -> SettleResult {
        // Best effort: if the market cannot be resolved, the simulation names the reason.
        match tokio::time::timeout(APPROVAL_BEFORE_SETTLE, self.ensure_market_approved(quorum.award.marketId)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => observe::approval_failed(&error),
            Err(_) => observe::approval_failed("timed out"),
        }
        let mut first_revert: Option<String> = None;
        for attempt in 1..=MAX_SETTLE_ATTEMPTS {
            let result = self.settle_once(quorum).await;
            match (result, first_revert.take()) {
                // Mined and reverted: try again while the award lasts.
                (SettleResult::Reverted { reason, sent: true }, earlier) if attempt < MAX_SETTLE_ATTEMPTS => {
                    observe::settle_retry(&format!("settle reverted on-chain ({reason}); planning it again"), attempt);
                    first_revert = Some(earlier.unwrap_or(reason));
                }
                // The retry's simulation says no: the on-chain revert is the outcome.
                (SettleResult::Reverted { reason, sent: false }, Some(earlier)) => {
                    return SettleResult::Reverted { reason: format!("{earlier}; then: {reason}"), sent: true };
                }
                (SettleResult::Expired, Some(earlier)) => {
                    return SettleResult::Reverted { reason: earlier, sent: true }
                }
                (result, _) => return result,
            }
        }
        SettleResult::Reverted { reason: first_revert.unwrap_or_default(), sent: true }
    }

    /// One settle: planned (for a flash executor, the pair and the amount to borrow at the
    /// pools' current state), then sent until mined, reverted or past the deadline.
    async fn settle_once(&self, quorum: &Quorum) -> SettleResult {
        let award = &quorum.award;
        let deadline_secs = award.deadline.saturating_to::<u64>();
        let settlement = self.settlement();
        match self.flash {
            None => {
                let call = settlement.settle(award.clone().into(), quorum.signatures.clone()).from(self.sender);
                self.send_until_mined(&call, deadline_secs).await
            }
            Some(flash) => {
                let (pair, borrow_amount) = match self.flash_plan(flash, award).await {
                    Ok(plan) => plan,
                    Err(reason) => {
                        observe::settle_simulation_reverted(&reason);
                        return SettleResult::Reverted {
                            reason: format!("flash swap not possible: {reason}"),
                            sent: false,
                        };
                    }
                };
                let liquidator = FlashLiquidator::new(flash.liquidator, self.provider.clone());
                let call = liquidator
                    .liquidate(award.clone().into(), quorum.signatures.clone(), pair, borrow_amount, FLASH_MIN_PROFIT)
                    .from(self.sender);
                self.send_until_mined(&call, deadline_secs).await
            }
        }
    }

    /// Sends `call` (a settle, directly or through the flash liquidator) until mined or past
    /// `deadline_secs`: simulated before every send, resent at a higher gas price, retried
    /// on transport failures.
    async fn send_until_mined<C>(&self, call: &SolCall<'_, C>, deadline_secs: u64) -> SettleResult
    where
        C: alloy::sol_types::SolCall + Clone + Send + Sync,
    {
        // Every transaction sent for this award: one nonce, rising gas prices.
        let mut sent: Vec<(B256, u64)> = Vec::new();
        let mut nonce: Option<u64> = None;
        let mut gas_price: u128 = 0;
        let mut last_sent: Option<tokio::time::Instant> = None;
        let mut attempt: u32 = 0;
        let mut node_errors: u32 = 0;
        let mut gas_retries: u32 = 0;
        loop {
            // Anything we sent mined?
            if let Some((tx_hash, gas_limit, receipt)) = self.first_receipt(&sent).await {
                if receipt.status() {
                    return self.settled(tx_hash, &receipt);
                }
                if looks_out_of_gas(receipt.gas_used, gas_limit) && gas_retries < MAX_GAS_RETRIES {
                    // The nonce is spent; the next send takes a fresh one with more gas.
                    gas_retries += 1;
                    observe::settle_retry(
                        &format!(
                            "transaction {tx_hash} reverted after using {} of {gas_limit} gas; retrying with more",
                            receipt.gas_used
                        ),
                        attempt,
                    );
                    sent.clear();
                    nonce = None;
                    last_sent = None;
                } else {
                    let reason = self.replay_revert(call, receipt.block_number).await.unwrap_or_else(|| {
                        format!("transaction {tx_hash} reverted on-chain (gas used {})", receipt.gas_used)
                    });
                    return SettleResult::Reverted { reason, sent: true };
                }
            }
            if now_ms() / 1000 > deadline_secs {
                if !sent.is_empty() {
                    // Ours may never be mined: let the next send ask the chain for its nonce.
                    *self.send_lock.lock().await = None;
                }
                return SettleResult::Expired;
            }
            // A pending transaction gets its time before a resend.
            if let Some(at) = last_sent {
                if at.elapsed() < RESEND_AFTER {
                    tokio::time::sleep(RECEIPT_POLL).await;
                    continue;
                }
            }
            attempt += 1;
            let failure = match self.send_settle(call, &mut nonce, &mut gas_price, gas_retries).await {
                Ok((tx_hash, gas_limit)) => {
                    if sent.is_empty() {
                        observe::settle_sent(tx_hash);
                    } else {
                        observe::settle_resent(tx_hash, nonce.unwrap_or_default(), gas_price);
                    }
                    sent.push((tx_hash, gas_limit));
                    last_sent = Some(tokio::time::Instant::now());
                    continue;
                }
                Err(failure) => failure,
            };
            match failure {
                // Nothing of ours is pending: the revert is the answer, and nothing was sent.
                SendFailure::Reverted(reason) if sent.is_empty() => {
                    observe::settle_simulation_reverted(&reason);
                    return SettleResult::Reverted { reason, sent: false };
                }
                // One of ours is pending (and may be what now makes the call fail, once
                // mined): keep watching its receipt until the deadline.
                SendFailure::Reverted(reason) | SendFailure::Node(reason) if !sent.is_empty() => {
                    observe::settle_retry(&reason, attempt);
                    last_sent = Some(tokio::time::Instant::now());
                }
                SendFailure::Node(reason) => {
                    node_errors += 1;
                    if node_errors >= MAX_NODE_ERRORS {
                        return SettleResult::Reverted { reason, sent: false };
                    }
                    observe::settle_retry(&reason, attempt);
                }
                SendFailure::Reverted(reason) | SendFailure::Transient(reason) => {
                    observe::settle_retry(&reason, attempt)
                }
            }
            tokio::time::sleep(retry_backoff(attempt)).await;
        }
    }

    /// Simulates, estimates and sends one settle transaction with the award's nonce (taken
    /// on the first send) and a gas price a quarter above the last (see [`next_gas_price`]).
    async fn send_settle<C>(
        &self,
        call: &SolCall<'_, C>,
        nonce: &mut Option<u64>,
        gas_price: &mut u128,
        gas_retries: u32,
    ) -> Result<(B256, u64), SendFailure>
    where
        C: alloy::sol_types::SolCall + Clone + Send + Sync,
    {
        let timed = |what: &str| SendFailure::Transient(format!("{what} timed out after {RPC_TIMEOUT:?}"));
        // The simulation: `eth_estimateGas` executes the call and fails if it reverts, so a
        // call that would revert is never sent. The gas price is read meanwhile.
        let (estimate, current_price) = tokio::join!(
            tokio::time::timeout(RPC_TIMEOUT, call.estimate_gas()),
            tokio::time::timeout(RPC_TIMEOUT, self.provider.get_gas_price())
        );
        let estimate = match estimate {
            Err(_) => return Err(timed("settle simulation (eth_estimateGas)")),
            Ok(Err(error)) => return Err(classify(&error)),
            Ok(Ok(estimate)) => estimate,
        };
        let current_price = match current_price {
            Ok(Ok(price)) => price,
            Ok(Err(error)) => return Err(SendFailure::Transient(format!("eth_gasPrice: {error}"))),
            Err(_) => return Err(timed("eth_gasPrice")),
        };
        let gas_limit = settle_gas_limit(estimate, gas_retries);
        let price = next_gas_price(current_price, *gas_price);
        // Under the lock only the submission (and a nonce lookup when untracked): a burst
        // of won auctions settles one round trip apart, not four.
        let mut next_nonce = self.send_lock.lock().await;
        let nonce_value = match (*nonce, *next_nonce) {
            (Some(nonce), _) => nonce,
            (None, Some(next)) => next,
            (None, None) => {
                let pending = self.provider.get_transaction_count(self.sender).pending();
                match tokio::time::timeout(RPC_TIMEOUT, pending).await {
                    Ok(Ok(count)) => count,
                    Ok(Err(error)) => return Err(SendFailure::Transient(format!("eth_getTransactionCount: {error}"))),
                    Err(_) => return Err(timed("eth_getTransactionCount")),
                }
            }
        };
        let transaction = call.clone().gas(gas_limit).gas_price(price).nonce(nonce_value);
        let submitted = match tokio::time::timeout(RPC_TIMEOUT, transaction.send()).await {
            Err(_) => Err(timed("settle submission")),
            Ok(Err(error)) => Err(classify(&error)),
            Ok(Ok(pending)) => Ok(*pending.tx_hash()),
        };
        match submitted {
            Ok(tx_hash) => {
                if nonce.is_none() {
                    *next_nonce = Some(nonce_value.saturating_add(1));
                }
                *nonce = Some(nonce_value);
                *gas_price = price;
                Ok((tx_hash, gas_limit))
            }
            Err(failure) => {
                // Whatever the node made of it ("nonce too low", a timeout that went
                // through), the chain knows the next nonce better than we do.
                *next_nonce = None;
                Err(failure)
            }
        }
    }

    /// The receipt of the first mined transaction among `sent`, with its gas limit.
    async fn first_receipt(&self, sent: &[(B256, u64)]) -> Option<(B256, u64, TransactionReceipt)> {
        for (tx_hash, gas_limit) in sent {
            let polled = tokio::time::timeout(RPC_TIMEOUT, self.provider.get_transaction_receipt(*tx_hash)).await;
            if let Ok(Ok(Some(receipt))) = polled {
                return Some((*tx_hash, *gas_limit, receipt));
            }
        }
        None
    }

    /// The decoded reason a mined settle reverted, by replaying it on the block before.
    async fn replay_revert<C>(&self, call: &SolCall<'_, C>, block: Option<u64>) -> Option<String>
    where
        C: alloy::sol_types::SolCall + Clone + Send + Sync,
    {
        let before = block?.checked_sub(1)?;
        match tokio::time::timeout(RPC_TIMEOUT, call.call().block(BlockId::number(before))).await {
            Ok(Err(error)) => match classify(&error) {
                SendFailure::Reverted(reason) => Some(reason),
                _ => None,
            },
            _ => None,
        }
    }

    /// The outcome of a mined settle: the collateral the executor received (ERC-20
    /// `Transfer` logs to it; through a flash liquidator, what it forwarded to our wallet:
    /// the profit in the debt asset and any collateral returned in kind), gas used and its cost.
    fn settled(&self, tx_hash: B256, receipt: &TransactionReceipt) -> SettleResult {
        self.settle_gas_seen.fetch_max(receipt.gas_used, Ordering::Relaxed);
        let collateral_received = receipt
            .inner
            .logs()
            .iter()
            .filter_map(|log| log.log_decode::<IERC20Approval::Transfer>().ok())
            .filter(|transfer| {
                let received_by = if self.flash.is_some() { self.sender } else { self.executor };
                transfer.inner.data.to == received_by && transfer.inner.data.from != received_by
            })
            .map(|transfer| CollateralReceived { asset: transfer.inner.address, units: transfer.inner.data.value })
            .collect();
        let gas_cost_wei = U256::from(receipt.gas_used).saturating_mul(U256::from(receipt.effective_gas_price));
        SettleResult::Settled { tx_hash, collateral_received, gas_used: receipt.gas_used, gas_cost_wei }
    }

    /// Polls for a receipt: `Some((status, gas used))` once mined, `None` if `until` passes first.
    async fn wait_for_receipt(&self, tx_hash: B256, until: tokio::time::Instant) -> Option<(bool, u64)> {
        loop {
            let polled = tokio::time::timeout(RPC_TIMEOUT, self.provider.get_transaction_receipt(tx_hash)).await;
            if let Ok(Ok(Some(receipt))) = polled {
                return Some((receipt.status(), receipt.gas_used));
            }
            if tokio::time::Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(RECEIPT_POLL).await;
        }
    }
}

/// A settle transaction: `LiquidationSettlement.settle`, or `FlashLiquidator.liquidate`.
type SolCall<'a, C> = alloy::contract::SolCallBuilder<&'a DynProvider, C>;

/// The gas price of a (re)send: the chain's current price, and at least a quarter above
/// the previous send's (nodes replace a pending transaction only for a bump of 10% or more).
fn next_gas_price(current: u128, previous: u128) -> u128 {
    current.max(previous.saturating_add(previous.div_ceil(4)))
}

/// The gas limit for a settle: the estimate plus padding, doubled per out-of-gas retry.
fn settle_gas_limit(estimate: u64, gas_retries: u32) -> u64 {
    let padded = estimate.saturating_add(estimate * SETTLE_GAS_PADDING_PERCENT / 100).max(estimate + SETTLE_GAS_FLOOR);
    padded.saturating_mul(1 << gas_retries.min(4)).min(SETTLE_GAS_CAP)
}

fn looks_out_of_gas(gas_used: u64, gas_limit: u64) -> bool {
    gas_used.saturating_mul(100) >= gas_limit.saturating_mul(OUT_OF_GAS_USAGE_PERCENT)
}

fn retry_backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(4)).min(2_000))
}

/// `Name(Name { field: value })`, alloy's debug form of an error enum, as `Name { field: value }`.
fn error_name<T: std::fmt::Debug>(decoded: &T) -> String {
    let text = format!("{decoded:?}");
    match (text.find('('), text.ends_with(')')) {
        (Some(open), true) => text[open + 1..text.len() - 1].to_string(),
        _ => text,
    }
}

/// Decodes revert data as a custom error of the settlement, the MarginEngine market or
/// the token, or a `require` string or panic.
pub(crate) fn decode_revert(error: &alloy::contract::Error) -> Option<String> {
    if let Some(decoded) = error.as_decoded_interface_error::<LiquidationSettlement::LiquidationSettlementErrors>() {
        return Some(error_name(&decoded));
    }
    if let Some(decoded) = error.as_decoded_interface_error::<MarginEngine::MarginEngineErrors>() {
        return Some(error_name(&decoded));
    }
    if let Some(decoded) = error.as_decoded_interface_error::<FlashLiquidator::FlashLiquidatorErrors>() {
        return Some(error_name(&decoded));
    }
    if let Some(decoded) = error.as_decoded_interface_error::<TestToken::TestTokenErrors>() {
        return Some(error_name(&decoded));
    }
    if let Some(revert) = error.as_decoded_error::<alloy::sol_types::Revert>() {
        return Some(revert.reason);
    }
    if let Some(panic) = error.as_decoded_error::<alloy::sol_types::Panic>() {
        return Some(format!("panic {panic:?}"));
    }
    None
}

/// Sorts a failed send into revert (final), transport trouble (retry) or other node error.
fn classify(error: &alloy::contract::Error) -> SendFailure {
    if let Some(reason) = decode_revert(error) {
        return SendFailure::Reverted(reason);
    }
    if let Some(data) = error.as_revert_data() {
        return SendFailure::Reverted(format!("reverted with data {data}"));
    }
    match error {
        alloy::contract::Error::TransportError(RpcError::ErrorResp(payload)) => {
            if payload.message.to_lowercase().contains("revert") {
                SendFailure::Reverted(payload.message.to_string())
            } else {
                SendFailure::Node(payload.message.to_string())
            }
        }
        alloy::contract::Error::TransportError(other) => SendFailure::Transient(other.to_string()),
        other => SendFailure::Node(other.to_string()),
    }
}

/// Deploys a `FlashLiquidator` owned by `owner` (the solver's executor wallet, which
/// `provider` must sign for) that settles on `settlement` with flash swaps on the Uniswap V2
/// `factory`; returns its address for [`crate::ChainEndpoint::flash_liquidator`]. Deploy one
/// per chain, once: the contract holds nothing between settles, and the solver registry
/// bonds the solver key to its address.
pub async fn deploy_flash_liquidator<P: Provider>(
    provider: P,
    owner: Address,
    settlement: Address,
    factory: Address,
) -> Result<Address, alloy::contract::Error> {
    let contract = FlashLiquidator::deploy(provider, owner, settlement, factory).await?;
    Ok(*contract.address())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_allowance_threshold_is_half_of_max() {
        assert_eq!(UNLIMITED_ALLOWANCE, U256::MAX / U256::from(2) + U256::from(1));
    }

    #[test]
    fn settle_gas_is_padded_and_grows_after_out_of_gas() {
        assert_eq!(settle_gas_limit(400_000, 0), 600_000);
        assert_eq!(settle_gas_limit(100_000, 0), 200_000, "small estimates get the floor");
        assert_eq!(settle_gas_limit(400_000, 1), 1_200_000);
        assert_eq!(settle_gas_limit(4_000_000, 3), SETTLE_GAS_CAP);
    }

    #[test]
    fn only_a_revert_near_the_gas_limit_counts_as_out_of_gas() {
        // The observed failure: 550,662 used of a ~551k limit.
        assert!(looks_out_of_gas(550_662, 551_000));
        assert!(!looks_out_of_gas(120_000, 600_000), "a rule revert stops early");
    }

    #[test]
    fn a_resend_bumps_the_gas_price_enough_to_replace_the_pending_one() {
        assert_eq!(next_gas_price(1_000, 0), 1_000, "the first send pays the chain's price");
        assert_eq!(next_gas_price(1_000, 1_000), 1_250, "then at least +25%");
        assert_eq!(next_gas_price(1_000, 1), 1_000);
        assert_eq!(next_gas_price(0, 1), 2, "a bump is never zero");
        assert_eq!(next_gas_price(5_000, 1_000), 5_000, "or the chain's price if that is higher");
        assert_eq!(next_gas_price(0, u128::MAX), u128::MAX, "never overflows");
    }

    #[test]
    fn decoded_error_names_drop_alloys_enum_wrapper() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct StaleNonce {
            expected: u64,
        }
        #[derive(Debug)]
        #[allow(dead_code)]
        enum Errors {
            StaleNonce(StaleNonce),
        }
        assert_eq!(error_name(&Errors::StaleNonce(StaleNonce { expected: 3 })), "StaleNonce { expected: 3 }");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(retry_backoff(1) < retry_backoff(2));
        assert_eq!(retry_backoff(30), Duration::from_millis(2_000));
    }
}
