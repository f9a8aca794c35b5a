//! Named observability events. Logging lives here, not sprinkled through the logic,
//! so an operator can read what the node reports in one place.

use alloy::primitives::{Address, B256, U256};

use crate::chain::{ChainError, Market};

pub fn node_started(peer_id: &str, listen: &[String], committee: Option<Address>) {
    tracing::info!(%peer_id, ?listen, committee_member = ?committee, "node started");
}

pub fn market_discovered(market: &Market) {
    tracing::info!(chain_id = market.chain_id, market_id = %market.market_id, adapter = %market.adapter, "watching market");
}

pub fn committee_changed(chain_id: u64, attesters: &[Address]) {
    tracing::info!(chain_id, members = attesters.len(), ?attesters, "settlement committee changed");
}

pub fn rpc_error(chain_id: u64, error: &ChainError) {
    tracing::warn!(chain_id, %error, "chain RPC failed; retrying with backoff");
}

pub fn reorg(chain_id: u64, at_block: u64, rewound_to: u64) {
    tracing::warn!(
        chain_id,
        at_block,
        rewound_to,
        "reorg: the cursor block is no longer canonical; re-indexing from an earlier block"
    );
}

pub fn settlement_reorged_out(chain_id: u64, intent_id: B256) {
    tracing::warn!(chain_id, %intent_id, "the settlement of this auction was reorged out (the account is liquidatable at the same nonce); reopening it");
}

pub fn max_repay_disagreement(chain_id: u64, market_id: B256, disagreements: &[(Address, U256, U256)]) {
    if let Some((account, model, chain)) = disagreements.first() {
        tracing::warn!(
            chain_id,
            %market_id,
            count = disagreements.len(),
            %account,
            %model,
            %chain,
            "the local model's maxRepay is not the chain's; the intent claims the chain's"
        );
    }
}

pub fn health_mismatch(chain_id: u64, market_id: B256, accounts: &[Address]) {
    tracing::warn!(
        chain_id,
        %market_id,
        count = accounts.len(),
        first = ?accounts.first(),
        "the local model and the chain disagree (liquidatable or maxRepay); acting on the chain's answer"
    );
}

pub fn market_not_allowed(chain_id: u64, market_id: B256, adapter: Address) {
    tracing::info!(
        chain_id,
        %market_id,
        %adapter,
        "market registered but not in watch_markets/watch_adapters: not watching it (registration is permissionless)"
    );
}

pub fn market_model(chain_id: u64, market_id: B256, model: crate::risk::ModelKind, accounts: usize) {
    tracing::info!(chain_id, %market_id, ?model, accounts, "risk model loaded");
}

pub fn market_faulty(chain_id: u64, market_id: B256, reason: &str, quarantined: bool) {
    if quarantined {
        tracing::error!(chain_id, %market_id, reason, "market adapter misbehaves: quarantined (other markets are unaffected)");
    } else {
        tracing::warn!(chain_id, %market_id, reason, "market adapter misbehaved this block");
    }
}

pub fn watcher_crashed(chain_id: u64, error: &str, backoff: std::time::Duration) {
    tracing::error!(chain_id, error, ?backoff, "chain watcher crashed; restarting it from the stored cursor");
}

pub fn intent_opened(chain_id: u64, intent_id: B256, account: Address, nonce: U256) {
    tracing::info!(chain_id, %intent_id, %account, %nonce, "opened liquidation intent");
}

pub fn intent_accepted(chain_id: u64, intent_id: B256, origin: B256) {
    tracing::debug!(chain_id, %intent_id, %origin, "accepted intent from peer");
}

pub fn message_refused(chain_id: u64, kind: &str, rejection: &backstop_protocol::Rejection) {
    let rule = rejection.label();
    match rejection.verdict() {
        backstop_protocol::Verdict::Reject => {
            tracing::warn!(chain_id, kind, rule, penalty = ?rejection.penalty(), %rejection, "rejected gossip message; peer penalised")
        }
        _ => tracing::debug!(chain_id, kind, rule, %rejection, "ignored gossip message"),
    }
}

pub fn solver_admission(chain_id: u64, solver: B256, executor: Address, admitted: bool) {
    if admitted {
        tracing::info!(chain_id, %solver, %executor, "solver bonded: its commits now count");
    } else {
        tracing::info!(chain_id, %solver, %executor, "solver bond withdrawn or exiting: no longer admitted");
    }
}

pub fn admission_open(chain_id: u64) {
    tracing::warn!(
        chain_id,
        "no solver_registry configured: every solver key may bid (fine for tests, unsafe on a public network)"
    );
}

pub fn store_failed(what: &str, intent_id: B256, error: &dyn std::fmt::Display) {
    tracing::error!(%intent_id, %error, "store write failed: {what}");
}

pub fn auction_decided(
    chain_id: u64,
    intent_id: B256,
    commits: usize,
    bids: usize,
    winner: Option<&backstop_protocol::Award>,
) {
    match winner {
        Some(award) => {
            tracing::info!(chain_id, %intent_id, commits, bids, executor = %award.executor, premium = %award.premium, "auction decided")
        }
        None => tracing::warn!(chain_id, %intent_id, commits, bids, "auction ended without a valid bid"),
    }
}

pub fn vote_signed(chain_id: u64, intent_id: B256, executor: Address, deadline: U256) {
    tracing::info!(chain_id, %intent_id, %executor, %deadline, "signed and sent award vote");
}

pub fn vote_refused(chain_id: u64, intent_id: B256, error: &dyn std::fmt::Display) {
    tracing::error!(chain_id, %intent_id, %error, "did not sign award");
}

pub fn auction_settled(chain_id: u64, intent_id: B256, executor: Address, premium: U256, block: u64) {
    tracing::info!(chain_id, %intent_id, %executor, %premium, block, "auction settled on chain");
}

pub fn auction_preempted(chain_id: u64, intent_id: B256, liquidator: Address, block: u64) {
    tracing::info!(chain_id, %intent_id, %liquidator, block, "account liquidated through the open fallback path; auction closed");
}

pub fn auction_failed(chain_id: u64, intent_id: B256, next_round_at_ms: u64) {
    tracing::warn!(chain_id, %intent_id, next_round_at_ms, "auction round ended unsettled (every award expired, or no valid bid); a new round may open at next_round_at_ms, and the on-chain fallback applies meanwhile");
}

pub fn publish_failed(chain_id: u64, kind: &str, error: &str) {
    tracing::warn!(chain_id, kind, error, "gossip publish failed");
}

pub fn restart_quiet(until_ms: u64) {
    tracing::info!(until_ms, "restarted: following peers, opening no intents of our own until the quiet period ends");
}

pub fn auctions_restored(count: usize) {
    if count > 0 {
        tracing::info!(count, "restored open auctions from the store");
    }
}

pub fn intent_latency(chain_id: u64, intent_id: B256, elapsed: std::time::Duration) {
    tracing::debug!(chain_id, %intent_id, latency_ms = elapsed.as_secs_f64() * 1e3, "intent left for gossip");
}

pub fn reorg_seen_by_core(chain_id: u64, at_block: u64, rewound_to: u64) {
    // Auctions need no action: a settlement reorged out shows as a candidate at the same
    // nonce again, which reopens its auction (see core::origination).
    tracing::debug!(chain_id, at_block, rewound_to, "reorg: auctions reopen through their candidates");
}

pub fn head_subscription(chain_id: u64, url: &str, error: Option<&str>) {
    match error {
        None => tracing::info!(chain_id, url, "subscribed to new heads"),
        Some(error) => tracing::warn!(chain_id, url, error, "new-head subscription down; polling meanwhile"),
    }
}
