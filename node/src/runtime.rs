//! Performs the core's effects: gossip verdicts and publishes, store writes, chain
//! checks of peers' intents and vote signing. Work that waits on the network or the
//! disk (chain reads, the durable vote flush) runs on its own task and comes back to the
//! core as an [`Input`], so message validation never waits on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use backstop_net::{GossipHandle, Inbound};
use backstop_protocol::clock::Clock;
use backstop_protocol::Penalty;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::chain::{read_intent_facts, ChainEvent};
use crate::committee::Committee;
use crate::core::{Core, Effect, Input};
use crate::metrics::{Metrics, SharedMetrics, VerdictLabels};
use crate::observe;
use crate::status::{AuctionSummary, OpenedIntent, Outcome, SharedStatus};
use crate::store::Store;

/// How often the clock drives auctions forward.
const TICK: Duration = Duration::from_millis(50);
/// Longest a chain check of a peer's intent may take; past it the intent is ignored.
const INTENT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Reads of a peer's intent before its check answers "unavailable".
const INTENT_CHECK_ATTEMPTS: usize = 2;
/// Longest a vote may take to sign and reach the disk. Past it the core hears a failure
/// and moves on to later ranks; a flush that completes afterwards only makes the
/// double-sign guard stricter, and the vote is never published unflushed.
const SIGN_TIMEOUT: Duration = Duration::from_secs(3);
/// Results of off-core work buffered before their tasks wait.
const RESULTS_BUFFER: usize = 4096;
/// How often the operator status (open auctions, peers) is refreshed.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// Gossip messages already queued that are handled before a tick (see [`Runtime::run`]);
/// bounded so that a flood cannot hold the ticks back.
const MAX_DRAINED_BEFORE_TICK: usize = 512;
/// Open auctions listed in `/status` at most.
const STATUS_AUCTIONS: usize = 256;

pub struct Runtime {
    pub core: Core,
    pub gossip: GossipHandle,
    pub store: Store,
    pub committee: Option<Committee>,
    /// Per chain, the reads of peers' intents' claims, shared between concurrent checks.
    pub reads: HashMap<u64, backstop_bindings::batch::Coalescer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: SharedMetrics,
    pub status: SharedStatus,
    /// What our own watcher confirmed at a chain's latest scanned block, to answer a
    /// peer's intent about the same account at the same block without asking the chain
    /// again (see [`Runtime::cached_facts`]).
    pub confirmed: ConfirmedFacts,
    /// Shared with the chain watchers (see [`crate::chain::ReconfirmRequests`]).
    pub reconfirm: crate::chain::ReconfirmRequests,
}

/// Our own confirmations, per chain: the latest head, and per (market, account) the block,
/// nonce, `maxRepay` and price (of the market's first collateral) confirmed there.
#[derive(Debug, Default)]
pub struct ConfirmedFacts {
    heads: HashMap<u64, u64>,
    accounts: HashMap<(u64, alloy::primitives::B256, alloy::primitives::Address), CachedFacts>,
}

#[derive(Debug, Clone, Copy)]
struct CachedFacts {
    block: u64,
    nonce: alloy::primitives::U256,
    max_repay: alloy::primitives::U256,
    price_asset: alloy::primitives::Address,
    price: alloy::primitives::U256,
}

impl Runtime {
    pub async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, mut chain_events: mpsc::Receiver<ChainEvent>) {
        let (results_tx, mut results) = mpsc::channel::<Input>(RESULTS_BUFFER);
        let mut tasks = JoinSet::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // When the core's next own intent is due (recomputed when candidates arrive or a
        // tick opens some; the pending set can be large, so not on every message).
        let mut open_due_at: Option<u64> = None;
        let mut status_tick = tokio::time::interval(STATUS_EVERY);
        status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            // Wake exactly when an intent of our own is due, not up to a tick later.
            let open_due = open_due_at.map(|due| Duration::from_millis(due.saturating_sub(self.clock.now_ms())));
            let input = tokio::select! {
                message = inbound.recv() => match message {
                    Some(message) => Input::Gossip(message),
                    None => return,
                },
                event = chain_events.recv() => match event {
                    Some(event) => Input::Chain(event),
                    None => return,
                },
                Some(result) = results.recv() => result,
                _ = tick.tick() => Input::Tick,
                _ = tokio::time::sleep(open_due.unwrap_or(TICK)), if open_due.is_some() => Input::Tick,
                _ = status_tick.tick() => {
                    self.refresh_status().await;
                    continue;
                }
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(error) = joined {
                        if error.is_panic() {
                            tracing::error!(%error, "a node task panicked");
                        }
                    }
                    continue;
                }
            };
            if matches!(input, Input::Tick) {
                // Decisions are taken on ticks: first hear what already arrived. Under a
                // burst the select picked the tick while reveals waited in the queue, and
                // the node decided "no valid bid" on a round its peers awarded (the reveal
                // was handled a moment later, and refused as after the decision).
                for _ in 0..MAX_DRAINED_BEFORE_TICK {
                    let Ok(message) = inbound.try_recv() else { break };
                    self.handle_input(Input::Gossip(message), &mut open_due_at, &results_tx, &mut tasks).await;
                }
            }
            self.handle_input(input, &mut open_due_at, &results_tx, &mut tasks).await;
        }
    }

    async fn handle_input(
        &mut self,
        input: Input,
        open_due_at: &mut Option<u64>,
        results: &mpsc::Sender<Input>,
        tasks: &mut JoinSet<()>,
    ) {
        self.observe_input(&input);
        self.remember(&input);
        let reschedule = matches!(input, Input::Tick | Input::Chain(ChainEvent::Candidate(_)));
        let effects = self.core.handle(input, self.clock.now_ms());
        if reschedule {
            *open_due_at = self.core.next_open_due_ms();
        }
        for effect in effects {
            self.perform(effect, results, tasks).await;
        }
    }

    async fn perform(&mut self, effect: Effect, results: &mpsc::Sender<Input>, tasks: &mut JoinSet<()>) {
        match effect {
            Effect::Verdict { inbound, verdict, penalty, rule } => {
                let labels = VerdictLabels {
                    kind: inbound.inbound().kind.name().to_string(),
                    verdict: format!("{verdict:?}").to_lowercase(),
                    rule: rule.to_string(),
                };
                self.metrics.gossip_verdicts.get_or_create(&labels).inc();
                self.gossip.report(inbound.inbound(), verdict).await;
                if penalty != Penalty::None {
                    // On top of gossipsub's own P4 for a Reject: the tier says how bad it was.
                    self.gossip.penalize(inbound.inbound().source, penalty).await;
                }
            }
            Effect::Publish { chain_id, kind, envelope } => {
                // The transport answers a publish once it has been sent to the mesh; the
                // core's loop must not wait for that (a burst of votes stalled it).
                let gossip = self.gossip.clone();
                tasks.spawn(async move {
                    if let Err(error) = gossip.publish(chain_id, kind, envelope).await {
                        observe::publish_failed(chain_id, kind.name(), &error.to_string());
                    }
                });
            }
            Effect::Opened { chain_id, intent_id, detected_at_ms, confirmed_at_ms } => {
                self.metrics.intents_opened.get_or_create(&Metrics::chain(chain_id)).inc();
                let elapsed = Duration::from_millis(self.clock.now_ms().saturating_sub(detected_at_ms));
                Metrics::observe(&self.metrics.block_to_intent_seconds, chain_id, elapsed);
                observe::intent_latency(chain_id, intent_id, elapsed);
                self.status.record_intent(OpenedIntent {
                    chain_id,
                    intent_id,
                    latency_ms: elapsed.as_secs_f64() * 1e3,
                    watcher_ms: confirmed_at_ms.saturating_sub(detected_at_ms) as f64,
                });
            }
            Effect::Persist { id, envelope } => {
                if let Err(error) = self.store.append_auction_message(id, &envelope) {
                    observe::store_failed("persist auction message", id, &error);
                }
            }
            Effect::ResetAuction { id } => {
                if let Err(error) = self.store.reset_auction(id) {
                    observe::store_failed("reset auction", id, &error);
                }
            }
            Effect::Reconfirm { chain_id, market_id, account } => {
                let mut requests = self.reconfirm.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // Drained every block; bounded for a watcher that cannot reach its RPC
                // while refuted intents keep arriving (a missed request only waits for
                // the periodic reconfirmation).
                if requests.len() < crate::chain::MAX_RECONFIRM_REQUESTS {
                    requests.insert((chain_id, market_id, account));
                }
            }
            Effect::SetStatus { id, status } => {
                if let Err(error) = self.store.set_status(id, status) {
                    observe::store_failed("set auction status", id, &error);
                }
            }
            Effect::CheckIntent { chain_id, adapter, origin, intent, inbound } => {
                if let Some(facts) = self.cached_facts(&intent) {
                    let inbound = inbound.inbound().clone();
                    let input = Input::IntentFacts { chain_id, origin, intent, facts: Some(facts), inbound };
                    if let Err(error) = results.try_send(input) {
                        let results = results.clone();
                        tasks.spawn(async move {
                            let _ = results.send(error.into_inner()).await;
                        });
                    }
                    return;
                }
                let Some(reads) = self.reads.get(&chain_id).cloned() else { return };
                let known_head = self.confirmed.heads.get(&chain_id).copied();
                let results = results.clone();
                let span = tracing::info_span!("intent", chain_id, intent_id = %intent.id());
                tasks.spawn(tracing::Instrument::instrument(
                    async move {
                        // A crash floods the RPC exactly when checks matter: one more try
                        // before giving up (the intent's timing is judged as of its arrival,
                        // so a late answer still joins the round).
                        let mut facts = None;
                        for _ in 0..INTENT_CHECK_ATTEMPTS {
                            let read = tokio::time::timeout(
                                INTENT_CHECK_TIMEOUT,
                                read_intent_facts(&reads, adapter, &intent, known_head),
                            );
                            match read.await {
                                Ok(Ok(read)) => {
                                    facts = Some(read);
                                    break;
                                }
                                Ok(Err(error)) => observe::rpc_error(chain_id, &error),
                                Err(_) => observe::rpc_error(
                                    chain_id,
                                    &crate::chain::ChainError::Rpc {
                                        chain_id,
                                        reason: "intent check timed out".into(),
                                    },
                                ),
                            }
                        }
                        let inbound = inbound.inbound().clone();
                        let _ = results.send(Input::IntentFacts { chain_id, origin, intent, facts, inbound }).await;
                    },
                    span,
                ));
            }
            Effect::SignVote { chain_id, settlement, award } => {
                let Some(committee) = self.committee.clone() else { return };
                let results = results.clone();
                let clock = self.clock.clone();
                let span = tracing::info_span!("intent", chain_id, intent_id = %award.intentId);
                tasks.spawn(tracing::Instrument::instrument(
                    async move {
                        let signed = committee.sign(chain_id, settlement, &award, clock.now_ms());
                        let result = match tokio::time::timeout(SIGN_TIMEOUT, signed).await {
                            Ok(result) => result.map_err(|error| error.to_string()),
                            Err(_) => Err(format!("the vote did not reach the disk within {SIGN_TIMEOUT:?}")),
                        };
                        let _ = results.send(Input::VoteSigned { chain_id, award, result }).await;
                    },
                    span,
                ));
            }
        }
    }

    /// A peer's intent about an account our watcher confirmed at the same block, while that
    /// block is still our head: the chain's answer is the one we already read (same
    /// block, same calls), so it needs no second read. Anything else goes to the chain.
    fn cached_facts(&self, intent: &backstop_protocol::Intent) -> Option<backstop_protocol::auction::IntentFacts> {
        let head = *self.confirmed.heads.get(&intent.chainId)?;
        let cached = self.confirmed.accounts.get(&(intent.chainId, intent.marketId, intent.account))?;
        if cached.block != intent.observedBlock || head != cached.block || cached.price_asset != intent.collateralAsset
        {
            return None;
        }
        Some(backstop_protocol::auction::IntentFacts {
            head_block: head,
            liquidatable: true,
            max_repay: cached.max_repay,
            price: cached.price,
            current_nonce: cached.nonce,
        })
    }

    fn remember(&mut self, input: &Input) {
        match input {
            Input::Chain(ChainEvent::Candidate(candidate)) => {
                let market = &candidate.market;
                self.confirmed.accounts.insert(
                    (market.chain_id, market.market_id, candidate.account),
                    CachedFacts {
                        block: candidate.observed_block,
                        nonce: candidate.nonce,
                        max_repay: candidate.max_repay,
                        price_asset: market.collateral_assets.first().copied().unwrap_or_default(),
                        price: candidate.observed_price,
                    },
                );
            }
            Input::Chain(ChainEvent::Head { chain_id, block }) => {
                self.confirmed.heads.insert(*chain_id, *block);
                // Only the head's confirmations are ever used.
                let (chain_id, block) = (*chain_id, *block);
                self.confirmed.accounts.retain(|(chain, _, _), cached| *chain != chain_id || cached.block >= block);
            }
            Input::Chain(ChainEvent::Reorg { chain_id, .. }) => {
                let chain_id = *chain_id;
                self.confirmed.heads.remove(&chain_id);
                self.confirmed.accounts.retain(|(chain, _, _), _| *chain != chain_id);
            }
            _ => {}
        }
    }

    /// Metrics and status of what the core is about to see.
    fn observe_input(&self, input: &Input) {
        let now_ms = self.clock.now_ms();
        match input {
            Input::Gossip(inbound) => {
                self.metrics.gossip_queue_seconds.observe(inbound.received_at.elapsed().as_secs_f64());
            }
            Input::VoteSigned { chain_id, result, .. } => {
                let family = if result.is_ok() { &self.metrics.votes_signed } else { &self.metrics.votes_refused };
                family.get_or_create(&Metrics::chain(*chain_id)).inc();
            }
            Input::Chain(ChainEvent::Settled { chain_id, intent_id, executor, premium, block }) => {
                self.metrics.auctions_settled.get_or_create(&Metrics::chain(*chain_id)).inc();
                self.status.record_outcome(Outcome {
                    chain_id: *chain_id,
                    intent_id: *intent_id,
                    outcome: "settled".into(),
                    at_ms: now_ms,
                    block: Some(*block),
                    executor: Some(*executor),
                    premium: Some(*premium),
                });
            }
            Input::Chain(ChainEvent::OpenLiquidated { chain_id, intent_id, liquidator, block }) => {
                self.status.record_outcome(Outcome {
                    chain_id: *chain_id,
                    intent_id: *intent_id,
                    outcome: "open-liquidated".into(),
                    at_ms: now_ms,
                    block: Some(*block),
                    executor: Some(*liquidator),
                    premium: None,
                });
            }
            Input::Chain(ChainEvent::Reorg { chain_id, at_block, rewound_to }) => {
                observe::reorg_seen_by_core(*chain_id, *at_block, *rewound_to);
            }
            _ => {}
        }
    }

    async fn refresh_status(&self) {
        let peers = self.gossip.peer_count().await;
        self.metrics.peers.set(peers as i64);
        self.metrics.peers_below_publish.set(self.gossip.stats().peers_below_publish as i64);
        let mut auctions = Vec::new();
        let mut open = 0;
        for chain_id in self.reads.keys() {
            let Some(book) = self.core.book(*chain_id) else { continue };
            for id in book.auction_ids() {
                let Some(round) = book.round(&id) else { continue };
                open += 1;
                if auctions.len() < STATUS_AUCTIONS {
                    let intent = round.intent();
                    auctions.push(AuctionSummary {
                        chain_id: *chain_id,
                        intent_id: id,
                        account: intent.account,
                        nonce: intent.nonce,
                        max_repay: intent.maxRepay,
                        commits: round.commit_count(),
                        reveals: round.reveal_count(),
                        decided: round.is_decided(),
                    });
                }
            }
        }
        self.metrics.open_auctions.set(open);
        self.status.update(|status| {
            status.peers = peers;
            status.open_auctions = auctions;
        });
    }
}
