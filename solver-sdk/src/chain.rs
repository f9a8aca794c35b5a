//! One chain as the solver uses it: an HTTP provider with the executor wallet, the
//! settlement contract's committee, the debt-asset approvals, and `settle` with retries.
//! Every RPC answer is untrusted input: nothing here panics on it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy::transports::http::reqwest::Url;
use alloy::transports::RpcError;
use backstop_bindings::{IMarginMarket, LiquidationSettlement, SolverRegistry};
use backstop_protocol::auction::{Admission, ChainContext, IntentFacts, MarketTerms, SolverSet};
use backstop_protocol::timing::now_ms;
use backstop_protocol::{Intent, PeerKey};

use crate::book::SettleResult;
use crate::config::ChainEndpoint;
use crate::error::SolverError;
use crate::observe;
use crate::votes::{Committee, Quorum};

alloy::sol! {
    /// The two ERC-20 calls the solver needs on a debt asset.
    #[sol(rpc)]
    interface IERC20Approval {
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// Markets whose debt asset is cached; more are simply looked up again.
const MAX_CACHED_MARKETS: usize = 1024;
/// An allowance above this counts as "approved forever" (it was set to `U256::MAX`).
const UNLIMITED_ALLOWANCE: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);
/// How often a sent transaction's receipt is polled.
const RECEIPT_POLL: Duration = Duration::from_millis(250);
/// How long to wait for an approval's receipt.
const APPROVAL_RECEIPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long past the award deadline a sent settle's receipt is still awaited.
const SETTLE_RECEIPT_GRACE: Duration = Duration::from_secs(10);
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
}

/// A connected chain.
#[derive(Debug)]
pub(crate) struct Chain {
    pub chain_id: u64,
    pub settlement: Address,
    pub executor: Address,
    pub solver_registry: Option<Address>,
    provider: DynProvider,
    context: tokio::sync::Mutex<ContextCursor>,
    /// Serialises the executor's transactions so concurrent sends never pick the same nonce.
    send_lock: tokio::sync::Mutex<()>,
    /// Held across the lookup and the approval so each asset is approved once.
    approvals: tokio::sync::Mutex<Approvals>,
}

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
        let chain = Self {
            chain_id,
            settlement: endpoint.settlement,
            executor: endpoint.executor.address(),
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
            }),
            provider,
            send_lock: tokio::sync::Mutex::new(()),
            approvals: tokio::sync::Mutex::new(Approvals::default()),
        };
        let context = chain.refresh_context().await.map_err(|reason| SolverError::Committee {
            chain_id,
            settlement: endpoint.settlement,
            reason,
        })?;
        Ok((chain, context))
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
        let _guard = self.send_lock.lock().await;
        let pending = registry
            .register(solver)
            .value(bond)
            .send()
            .await
            .map_err(|error| format!("register(): {error} (does the executor hold {bond} wei for the bond?)"))?;
        let receipt = pending.get_receipt().await.map_err(|error| format!("register() receipt: {error}"))?;
        if !receipt.status() {
            return Err(format!("register() reverted in {}", receipt.transaction_hash));
        }
        observe::solver_registered(self.chain_id, solver, bond);
        Ok(())
    }

    /// What the chain says about a peer's intent (see `backstop_bindings::read_intent_facts`).
    pub async fn intent_facts(&self, adapter: Address, intent: &Intent) -> Result<IntentFacts, String> {
        backstop_bindings::read_intent_facts(&self.provider, adapter, intent).await
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
                let _sending = self.send_lock.lock().await;
                token
                    .approve(self.settlement, U256::MAX)
                    .from(self.executor)
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

    /// Sends `settle` for a quorum award from the executor, retrying transient failures
    /// until the award's deadline.
    pub async fn settle(&self, quorum: &Quorum) -> SettleResult {
        let award = &quorum.award;
        let deadline_secs = award.deadline.saturating_to::<u64>();
        // Best effort: if the market cannot be resolved, `settle` itself reverts with the reason.
        match tokio::time::timeout(APPROVAL_BEFORE_SETTLE, self.ensure_market_approved(award.marketId)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => observe::approval_failed(&error),
            Err(_) => observe::approval_failed("timed out"),
        }
        let signatures: Vec<Bytes> = quorum.signatures.clone();
        let mut attempt: u32 = 0;
        let mut node_errors: u32 = 0;
        let mut gas_retries: u32 = 0;
        loop {
            if now_ms() / 1000 > deadline_secs {
                return SettleResult::Expired;
            }
            attempt += 1;
            let sent = {
                let _sending = self.send_lock.lock().await;
                let settlement = self.settlement();
                let call = settlement.settle(award.clone().into(), signatures.clone()).from(self.executor);
                tokio::time::timeout(RPC_TIMEOUT, async {
                    let estimate = call.estimate_gas().await?;
                    let limit = settle_gas_limit(estimate, gas_retries);
                    call.gas(limit).send().await.map(|pending| (pending, limit))
                })
                .await
            };
            let error = match sent {
                Err(_) => SendFailure::Transient(format!("settle submission timed out after {RPC_TIMEOUT:?}")),
                Ok(sent) => match sent {
                    Ok((pending, gas_limit)) => {
                        let tx_hash = *pending.tx_hash();
                        observe::settle_sent(tx_hash);
                        let wait_until = deadline_instant(deadline_secs) + SETTLE_RECEIPT_GRACE;
                        match self.wait_for_receipt(tx_hash, wait_until).await {
                            Some((true, _)) => return SettleResult::Settled { tx_hash },
                            Some((false, gas_used))
                                if looks_out_of_gas(gas_used, gas_limit) && gas_retries < MAX_GAS_RETRIES =>
                            {
                                gas_retries += 1;
                                SendFailure::Transient(format!(
                                    "transaction {tx_hash} reverted after using {gas_used} of {gas_limit} gas; retrying with more"
                                ))
                            }
                            Some((false, gas_used)) => {
                                return SettleResult::Reverted {
                                    reason: format!("transaction {tx_hash} reverted on-chain (gas used {gas_used})"),
                                }
                            }
                            // Never mined (dropped); the deadline check above ends the loop.
                            None => SendFailure::Transient(format!("transaction {tx_hash} was not mined")),
                        }
                    }
                    Err(error) => classify(&error),
                },
            };
            match error {
                SendFailure::Reverted(reason) => return SettleResult::Reverted { reason },
                SendFailure::Node(reason) => {
                    node_errors += 1;
                    if node_errors >= MAX_NODE_ERRORS {
                        return SettleResult::Reverted { reason };
                    }
                    observe::settle_retry(&reason, attempt);
                }
                SendFailure::Transient(reason) => observe::settle_retry(&reason, attempt),
            }
            tokio::time::sleep(retry_backoff(attempt)).await;
        }
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

/// Local instant corresponding to the end of unix second `deadline_secs`.
fn deadline_instant(deadline_secs: u64) -> tokio::time::Instant {
    let remaining_ms = (deadline_secs.saturating_add(1)).saturating_mul(1000).saturating_sub(now_ms());
    tokio::time::Instant::now() + Duration::from_millis(remaining_ms)
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

/// Sorts a failed send into revert (final), transport trouble (retry) or other node error.
fn classify(error: &alloy::contract::Error) -> SendFailure {
    if let Some(decoded) = error.as_decoded_interface_error::<LiquidationSettlement::LiquidationSettlementErrors>() {
        return SendFailure::Reverted(format!("{decoded:?}"));
    }
    if let Some(revert) = error.as_decoded_error::<alloy::sol_types::Revert>() {
        return SendFailure::Reverted(revert.reason);
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
    fn backoff_grows_and_is_capped() {
        assert!(retry_backoff(1) < retry_backoff(2));
        assert_eq!(retry_backoff(30), Duration::from_millis(2_000));
    }
}
