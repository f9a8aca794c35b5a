//! Prometheus metrics, served at `/metrics` by the [`crate::api`]. Every metric is
//! defined (and documented) here; components get the [`Metrics`] handle and bump them.
//! One registry per node, so several nodes in one process (tests) never mix figures.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChainLabels {
    pub chain_id: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MarketLabels {
    pub chain_id: u64,
    pub market_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// Message kind: intent, commit, reveal, vote.
    pub kind: String,
    /// accept, ignore or reject.
    pub verdict: String,
    /// The rule that decided (`Rejection::label`), `ok` for an accepted message.
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub chain_id: u64,
    /// `true` for errors worth retrying (transport, rate limits), `false` for errors
    /// that need the operator (wrong chain, no contract at the configured address).
    pub retryable: bool,
}

type Seconds = Family<ChainLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~3.7 s in steps of 25%, fine enough to read a p99 against a 100 ms target.
    Histogram::new(exponential_buckets(0.0005, 1.25, 40))
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Blocks indexed (logs read, positions updated), per chain.
    pub blocks_processed: Family<ChainLabels, Counter>,
    /// Latest block the chain reports.
    pub chain_head: Family<ChainLabels, Gauge>,
    /// Blocks between the chain's head and the last block indexed.
    pub head_lag_blocks: Family<ChainLabels, Gauge>,
    /// Accounts the risk engine tracks, per market.
    pub accounts_indexed: Family<MarketLabels, Gauge>,
    /// Accounts within the at-risk distance of maintenance, per market (last scan).
    pub at_risk_accounts: Family<MarketLabels, Gauge>,
    /// Liquidatable accounts left for a later block by `risk.confirm_per_block`, per
    /// market (last scan).
    pub confirmations_deferred: Family<MarketLabels, Gauge>,
    /// Time to judge every account of a chain's markets at one block (prices read included).
    pub health_scan_seconds: Seconds,
    /// Accounts the model found liquidatable that the chain did not confirm.
    pub confirmation_mismatches: Family<MarketLabels, Counter>,
    /// Confirmed accounts whose `maxRepay` from the model differed from the chain's (the
    /// intent claims the chain's).
    pub max_repay_disagreements: Family<MarketLabels, Counter>,
    /// Markets currently quarantined for misbehaving adapters, per chain.
    pub markets_quarantined: Family<ChainLabels, Gauge>,
    /// Candidates confirmed on chain and handed to the auction core.
    pub candidates: Family<ChainLabels, Counter>,
    /// From the node first seeing a block to the confirmed candidates of that block.
    pub block_to_candidate_seconds: Seconds,
    /// From the node first seeing a block to the intent it made liquidatable leaving on gossip.
    pub block_to_intent_seconds: Seconds,
    /// Intents this node opened.
    pub intents_opened: Family<ChainLabels, Counter>,
    /// Award votes signed (after the double-sign guard and the disk flush).
    pub votes_signed: Family<ChainLabels, Counter>,
    /// Award votes the guard refused or that could not be made durable.
    pub votes_refused: Family<ChainLabels, Counter>,
    /// How long gossip messages waited between the transport and the auction core: a
    /// node whose core falls behind judges commits and reveals late (and refuses them
    /// as outside their windows) and decides rounds on a partial view.
    pub gossip_queue_seconds: Histogram,
    /// Gossip verdicts by message kind, verdict and rule.
    pub gossip_verdicts: Family<VerdictLabels, Counter>,
    /// Chain RPC errors.
    pub rpc_errors: Family<RpcLabels, Counter>,
    /// Chain watchers restarted by their supervisor after a crash.
    pub watcher_restarts: Family<ChainLabels, Counter>,
    /// Connected gossip peers.
    pub peers: Gauge,
    /// Connected peers whose gossipsub score is below the publish threshold: not banned,
    /// but we neither publish to them nor keep them in a mesh.
    pub peers_below_publish: Gauge,
    /// Auctions this node follows that have not ended.
    pub open_auctions: Gauge,
    /// Auctions seen settled on chain.
    pub auctions_settled: Family<ChainLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("backstop");
        let metrics = Self {
            blocks_processed: Family::default(),
            chain_head: Family::default(),
            head_lag_blocks: Family::default(),
            accounts_indexed: Family::default(),
            at_risk_accounts: Family::default(),
            confirmations_deferred: Family::default(),
            health_scan_seconds: Family::new_with_constructor(latency_histogram),
            confirmation_mismatches: Family::default(),
            max_repay_disagreements: Family::default(),
            markets_quarantined: Family::default(),
            candidates: Family::default(),
            block_to_candidate_seconds: Family::new_with_constructor(latency_histogram),
            block_to_intent_seconds: Family::new_with_constructor(latency_histogram),
            intents_opened: Family::default(),
            votes_signed: Family::default(),
            votes_refused: Family::default(),
            gossip_queue_seconds: latency_histogram(),
            gossip_verdicts: Family::default(),
            rpc_errors: Family::default(),
            watcher_restarts: Family::default(),
            peers: Gauge::default(),
            peers_below_publish: Gauge::default(),
            open_auctions: Gauge::default(),
            auctions_settled: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("chain_blocks_processed", "Blocks indexed per chain", metrics.blocks_processed.clone());
        r.register("chain_head", "Latest block the chain's RPC reports", metrics.chain_head.clone());
        r.register(
            "chain_head_lag_blocks",
            "Blocks between the head and the last block indexed",
            metrics.head_lag_blocks.clone(),
        );
        r.register("risk_accounts_indexed", "Accounts tracked per market", metrics.accounts_indexed.clone());
        r.register(
            "risk_at_risk_accounts",
            "Accounts near maintenance per market (last scan)",
            metrics.at_risk_accounts.clone(),
        );
        r.register(
            "risk_health_scan_seconds",
            "Time to judge every account of a chain at one block",
            metrics.health_scan_seconds.clone(),
        );
        r.register(
            "risk_confirmation_mismatches",
            "Model found liquidatable, chain did not confirm",
            metrics.confirmation_mismatches.clone(),
        );
        r.register(
            "risk_confirmations_deferred",
            "Liquidatable accounts left for a later block by the per-block confirmation cap",
            metrics.confirmations_deferred.clone(),
        );
        r.register(
            "risk_max_repay_disagreements",
            "Confirmed accounts whose model maxRepay differed from the chain's",
            metrics.max_repay_disagreements.clone(),
        );
        r.register(
            "risk_markets_quarantined",
            "Markets quarantined for misbehaving adapters",
            metrics.markets_quarantined.clone(),
        );
        r.register("risk_candidates", "Liquidatable accounts confirmed on chain", metrics.candidates.clone());
        r.register(
            "risk_block_to_candidate_seconds",
            "Block first seen to its confirmed candidates",
            metrics.block_to_candidate_seconds.clone(),
        );
        r.register(
            "block_to_intent_seconds",
            "Block first seen to the intent it made liquidatable on gossip",
            metrics.block_to_intent_seconds.clone(),
        );
        r.register("intents_opened", "Intents this node opened", metrics.intents_opened.clone());
        r.register("votes_signed", "Award votes signed", metrics.votes_signed.clone());
        r.register(
            "votes_refused",
            "Award votes refused by the double-sign guard or not made durable",
            metrics.votes_refused.clone(),
        );
        r.register(
            "gossip_queue_seconds",
            "Time gossip messages waited between the transport and the auction core",
            metrics.gossip_queue_seconds.clone(),
        );
        r.register("gossip_verdicts", "Gossip verdicts by kind, verdict and rule", metrics.gossip_verdicts.clone());
        r.register("rpc_errors", "Chain RPC errors", metrics.rpc_errors.clone());
        r.register(
            "chain_watcher_restarts",
            "Chain watchers restarted after a crash",
            metrics.watcher_restarts.clone(),
        );
        r.register("peers", "Connected gossip peers", metrics.peers.clone());
        r.register(
            "peers_below_publish",
            "Connected peers scored below the publish threshold (not banned, but neither published to nor meshed)",
            metrics.peers_below_publish.clone(),
        );
        r.register("open_auctions", "Auctions followed that have not ended", metrics.open_auctions.clone());
        r.register("auctions_settled", "Auctions seen settled on chain", metrics.auctions_settled.clone());
        Self { registry, ..metrics }
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }

    pub fn chain(chain_id: u64) -> ChainLabels {
        ChainLabels { chain_id }
    }

    pub fn market(chain_id: u64, market_id: alloy::primitives::B256) -> MarketLabels {
        MarketLabels { chain_id, market_id: market_id.to_string() }
    }

    pub fn observe(histogram: &Seconds, chain_id: u64, elapsed: Duration) {
        histogram.get_or_create(&Self::chain(chain_id)).observe(elapsed.as_secs_f64());
    }
}

pub type SharedMetrics = Arc<Metrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_with_its_labels() {
        let metrics = Metrics::new();
        metrics.blocks_processed.get_or_create(&Metrics::chain(7)).inc();
        Metrics::observe(&metrics.block_to_intent_seconds, 7, Duration::from_millis(12));
        metrics
            .gossip_verdicts
            .get_or_create(&VerdictLabels {
                kind: "commit".into(),
                verdict: "reject".into(),
                rule: "bad-signature".into(),
            })
            .inc();
        let text = metrics.encode();
        assert!(text.contains("backstop_chain_blocks_processed_total{chain_id=\"7\"} 1"), "{text}");
        assert!(text.contains("backstop_block_to_intent_seconds_count{chain_id=\"7\"} 1"), "{text}");
        assert!(text.contains("rule=\"bad-signature\""), "{text}");
        assert!(text.contains("# HELP backstop_peers Connected gossip peers"), "{text}");
        assert!(text.contains("# TYPE backstop_peers_below_publish gauge"), "{text}");
    }
}
