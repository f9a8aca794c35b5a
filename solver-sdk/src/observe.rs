//! Named observability events, so every log line the runtime emits is defined in one
//! place. Spans carry `chain_id` and `intent_id`; events inside them inherit both.

use alloy::primitives::{Address, B256, U256};
use backstop_protocol::Kind;
use tracing::{debug, info, warn, Span};

use crate::outcome::{AuctionOutcome, Shortfall};
use crate::pricing::Pricing;
use crate::strategy::Bid;

pub(crate) fn auction_span(chain_id: u64, intent_id: B256) -> Span {
    tracing::info_span!("auction", chain_id, intent_id = %intent_id)
}

pub(crate) fn chain_span(chain_id: u64) -> Span {
    tracing::info_span!("chain", chain_id)
}

pub(crate) fn started(peer_id: &libp2p::PeerId, listen: &[libp2p::Multiaddr], chains: &[u64]) {
    info!(%peer_id, ?listen, ?chains, "solver started");
}

pub(crate) fn committee_loaded(threshold: usize, attesters: usize) {
    info!(threshold, attesters, "committee loaded");
}

pub(crate) fn committee_refresh_failed(error: &str) {
    warn!(%error, "could not refresh the committee; keeping the last known one");
}

pub(crate) fn message_refused(
    kind: Kind,
    verdict: backstop_protocol::Verdict,
    rejection: &backstop_protocol::Rejection,
) {
    match verdict {
        // The delivering peer is penalised: an operator should see why.
        backstop_protocol::Verdict::Reject => warn!(
            kind = kind.name(),
            rule = rejection.label(),
            penalty = ?rejection.penalty(),
            %rejection,
            "gossip message rejected; peer penalised"
        ),
        _ => debug!(kind = kind.name(), ?verdict, rule = rejection.label(), %rejection, "gossip message refused"),
    }
}

/// What a peer's intent claimed against what the chain said, for a rejection an
/// operator should be able to check.
pub(crate) fn claims_refuted(intent: &backstop_protocol::Intent, facts: &backstop_protocol::auction::IntentFacts) {
    warn!(
        observed_block = intent.observedBlock,
        head_block = facts.head_block,
        claimed_max_repay = %intent.maxRepay,
        read_max_repay = %facts.max_repay,
        claimed_price = %intent.observedPrice,
        read_price = %facts.price,
        read_liquidatable = facts.liquidatable,
        "a peer's intent claims what the chain does not say"
    );
}

pub(crate) fn own_bid_refused(rejection: &backstop_protocol::Rejection) {
    warn!(rule = rejection.label(), %rejection, "the network would refuse our bid; not sending it (is the solver key bonded on the SolverRegistry?)");
}

pub(crate) fn intent_seen(open_time_ms: u64, commit_end_ms: u64, now_ms: u64) {
    debug!(open_time_ms, commit_end_ms, now_ms, "intent seen");
}

pub(crate) fn new_round(open_time_ms: u64) {
    info!(open_time_ms, "a new round of a failed auction opened");
}

pub(crate) fn intent_copy_adopted(intent_id: B256) {
    debug!(%intent_id, "another verified copy of the intent took precedence");
}

pub(crate) fn bid_declined() {
    debug!("strategy declined to bid");
}

pub(crate) fn bid_zero_repay() {
    warn!("strategy bid a zero repay (after clamping to max repay); not a bid, nothing sent");
}

pub(crate) fn bid_below_reserve(premium: U256, reserve: U256) {
    info!(%premium, %reserve, "bid premium is below the market's reserve; not sent");
}

pub(crate) fn bid_not_funded(shortfall: &Shortfall) {
    warn!(
        debt_asset = %shortfall.debt_asset,
        needed = %shortfall.needed,
        balance = %shortfall.balance,
        allowance = %shortfall.allowance,
        reserved = %shortfall.reserved,
        "the executor cannot fund this bid; not committing it (top up the executor's debt asset)"
    );
}

pub(crate) fn priced(pricing: &Pricing) {
    debug!(
        block = pricing.block,
        repay = %pricing.repay_amount,
        seized_value = %pricing.seized_value,
        bonus_value = %pricing.bonus_value(),
        gas_price_wei = pricing.gas_price_wei,
        settle_gas = pricing.settle_gas,
        debt_balance = %pricing.inventory.debt_balance,
        reserved = %pricing.inventory.reserved,
        "intent priced"
    );
}

pub(crate) fn head_poll_failed(error: &str) {
    warn!(%error, "could not poll the chain head; intent checks ask for it until it answers again");
}

pub(crate) fn pricing_failed(error: &str) {
    warn!(%error, "could not read the chain to price the intent; not bidding");
}

pub(crate) fn startup_approval_failed(chain_id: u64, error: &str) {
    warn!(chain_id, %error, "could not approve the settlement for a market's debt asset at start; bids on it will report NotFunded until it is");
}

pub(crate) fn settle_simulation_reverted(reason: &str) {
    warn!(%reason, "settle would revert; not sending it");
}

pub(crate) fn settle_resent(tx_hash: B256, nonce: u64, gas_price_wei: u128) {
    warn!(%tx_hash, nonce, gas_price_wei, "settle not mined yet; resent with the same nonce and a higher gas price");
}

/// `after_open_ms` and `left_ms`: how far into the commit window the bid left, the
/// figure to watch when a burst makes the solver late.
pub(crate) fn bid_committed(bid: &Bid, clamped: bool, intent: &backstop_protocol::Intent, now_ms: u64) {
    let after_open_ms = now_ms.saturating_sub(intent.openTimeMs);
    let left_ms = intent.commit_end_ms().saturating_sub(now_ms);
    info!(repay = %bid.repay_amount, premium = %bid.premium, clamped, after_open_ms, left_ms, "bid committed");
}

pub(crate) fn bid_revealed() {
    debug!("bid revealed");
}

pub(crate) fn strategy_timed_out() {
    warn!("strategy did not answer before the commit window closed");
}

pub(crate) fn publish_failed(kind: Kind, error: &str) {
    warn!(kind = kind.name(), %error, "could not publish before the window closed");
}

pub(crate) fn vote_skipped() {
    tracing::trace!("vote not about a bid of ours it could still move; not verified, not relayed");
}

pub(crate) fn award_not_ours(executor: Address, premium: U256) {
    debug!(%executor, %premium, "award reached threshold for another executor");
}

pub(crate) fn award_mismatch(award_repay: U256, award_premium: U256, our_repay: U256, our_premium: U256) {
    warn!(%award_repay, %award_premium, %our_repay, %our_premium,
        "an award names our executor with amounts we did not bid; not settling it");
}

pub(crate) fn quorum_reached(signatures: usize, deadline: U256) {
    info!(signatures, %deadline, "award for us reached threshold; settling");
}

pub(crate) fn approval_sent(token: Address, tx_hash: B256) {
    info!(%token, %tx_hash, "approved the settlement contract for the debt asset");
}

pub(crate) fn approval_failed(error: &str) {
    warn!(%error, "could not approve the settlement for the debt asset; settle will still be tried");
}

pub(crate) fn settle_sent(tx_hash: B256) {
    info!(%tx_hash, "settle sent");
}

pub(crate) fn settle_retry(error: &str, attempt: u32) {
    warn!(%error, attempt, "settle failed transiently; retrying");
}

/// One line per outcome, with its facts as fields (spans add `chain_id` and `intent_id`).
pub(crate) fn outcome(outcome: &AuctionOutcome) {
    let label = outcome.label();
    match outcome {
        AuctionOutcome::Won { tx_hash, repay_amount, premium, collateral_received, gas_used, gas_cost_wei, .. } => {
            info!(outcome = label, %tx_hash, repay = %repay_amount, %premium, ?collateral_received, gas_used,
                %gas_cost_wei, "auction outcome")
        }
        AuctionOutcome::Lost { winning_premium, .. } => {
            info!(outcome = label, winning_premium = ?winning_premium, "auction outcome")
        }
        AuctionOutcome::BelowReserve { premium, reserve, .. } => {
            info!(outcome = label, %premium, %reserve, "auction outcome")
        }
        AuctionOutcome::NotFunded { shortfall, .. } => {
            warn!(outcome = label, needed = %shortfall.needed, balance = %shortfall.balance,
                allowance = %shortfall.allowance, reserved = %shortfall.reserved, "auction outcome")
        }
        AuctionOutcome::SettleReverted { reason, sent, .. } => {
            warn!(outcome = label, %reason, sent, "auction outcome")
        }
        AuctionOutcome::Unpriced { reason, .. } | AuctionOutcome::NotAdmitted { reason, .. } => {
            warn!(outcome = label, %reason, "auction outcome")
        }
        _ => info!(outcome = label, "auction outcome"),
    }
}

pub(crate) fn solver_registered(chain_id: u64, solver: B256, bond: U256) {
    info!(chain_id, %solver, %bond, "bonded our solver key on the SolverRegistry");
}

/// An intent waited for a check slot until too little of its commit window was left.
pub(crate) fn intent_check_shed(commit_end_ms: u64, now_ms: u64) {
    let left_ms = commit_end_ms.saturating_sub(now_ms);
    info!(
        left_ms,
        "too little of the commit window left to check and price this intent; skipping it (the solver is busy)"
    );
}

pub(crate) fn chain_read_failed(error: &str) {
    warn!(%error, "could not read the chain to check an intent; ignoring it");
}

/// A ready-made strategy declined an intent, with its typed reason.
pub(crate) fn strategy_skipped(intent_id: B256, reason: &dyn std::fmt::Debug) {
    info!(%intent_id, ?reason, "strategy skips the intent");
}

/// The strategy declined to settle an award it won ([`crate::Strategy::settles`]).
pub(crate) fn walked_away() {
    tracing::warn!("strategy declined to settle an award it won: a no-show");
}
