//! What the node is doing, for the operator: the chain watchers and the runtime write
//! it, the API serves it as `/status` and `/health`, and `backstop status` prints it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// Outcomes kept for `/status`.
const RECENT_OUTCOMES: usize = 64;
/// Intents of our own kept for `/status` (with their block-to-intent latency).
const RECENT_INTENTS: usize = 4096;
/// A chain is caught up when its last indexed block is at most this far behind the head.
pub const CAUGHT_UP_LAG: u64 = 2;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeStatus {
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    pub committee_member: Option<Address>,
    pub peers: usize,
    pub chains: BTreeMap<u64, ChainStatus>,
    pub open_auctions: Vec<AuctionSummary>,
    pub recent_outcomes: VecDeque<Outcome>,
    /// The latest intents this node opened, oldest first.
    #[serde(default)]
    pub recent_intents: VecDeque<OpenedIntent>,
}

/// An intent this node opened, and how long after the node first saw the block that made
/// the account liquidatable it left for gossip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenedIntent {
    pub chain_id: u64,
    pub intent_id: B256,
    /// Block first seen -> intent on gossip.
    pub latency_ms: f64,
    /// The watcher's share: block first seen -> confirmed on chain (the rest is the core:
    /// the open jitter and the next tick).
    #[serde(default)]
    pub watcher_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChainStatus {
    pub chain_id: u64,
    /// Latest block the RPC reported.
    pub head: Option<u64>,
    /// Last block indexed.
    pub indexed: Option<u64>,
    pub lag: Option<u64>,
    pub caught_up: bool,
    /// The last RPC error, cleared by the next successful poll.
    pub last_error: Option<String>,
    pub watcher_restarts: u64,
    pub markets: Vec<MarketStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarketStatus {
    pub market_id: B256,
    pub adapter: Address,
    /// `margin-engine` (local model) or `batched` (batched `accountHealth` calls).
    pub model: String,
    pub accounts: usize,
    pub at_risk: usize,
    pub liquidatable: usize,
    pub quarantined: bool,
    /// Duration of the last scan, ms.
    pub last_scan_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuctionSummary {
    pub chain_id: u64,
    pub intent_id: B256,
    pub account: Address,
    pub nonce: U256,
    pub max_repay: U256,
    pub commits: usize,
    pub reveals: usize,
    pub decided: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub chain_id: u64,
    pub intent_id: B256,
    /// `settled`, `open-liquidated` or `failed`.
    pub outcome: String,
    pub at_ms: u64,
    pub block: Option<u64>,
    pub executor: Option<Address>,
    pub premium: Option<U256>,
}

/// The shared status.
#[derive(Debug, Clone, Default)]
pub struct SharedStatus(Arc<RwLock<NodeStatus>>);

impl SharedStatus {
    pub fn snapshot(&self) -> NodeStatus {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn update(&self, change: impl FnOnce(&mut NodeStatus)) {
        change(&mut self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()));
    }

    pub fn chain(&self, chain_id: u64, change: impl FnOnce(&mut ChainStatus)) {
        self.update(|status| {
            let chain = status.chains.entry(chain_id).or_insert_with(|| ChainStatus { chain_id, ..Default::default() });
            change(chain);
        });
    }

    pub fn record_outcome(&self, outcome: Outcome) {
        self.update(|status| {
            if status.recent_outcomes.len() == RECENT_OUTCOMES {
                status.recent_outcomes.pop_front();
            }
            status.recent_outcomes.push_back(outcome);
        });
    }

    pub fn record_intent(&self, intent: OpenedIntent) {
        self.update(|status| {
            if status.recent_intents.len() == RECENT_INTENTS {
                status.recent_intents.pop_front();
            }
            status.recent_intents.push_back(intent);
        });
    }

    /// Ready: every configured chain indexed to within [`CAUGHT_UP_LAG`] of its head.
    pub fn ready(&self) -> bool {
        let status = self.snapshot();
        !status.chains.is_empty() && status.chains.values().all(|chain| chain.caught_up)
    }
}
