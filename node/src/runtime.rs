//! Performs the core's effects: gossip verdicts and publishes, store writes, chain
//! checks of peers' intents and vote signing. Work that waits on the network or the
//! disk (chain reads, the durable vote flush) runs on its own task and comes back to the
//! core as an [`Input`], so message validation never waits on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::providers::DynProvider;
use backstop_net::{GossipHandle, Inbound};
use backstop_protocol::clock::Clock;
use backstop_protocol::Penalty;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::chain::{read_intent_facts, ChainEvent};
use crate::committee::Committee;
use crate::core::{Core, Effect, Input};
use crate::observe;
use crate::store::Store;

/// How often the clock drives auctions forward.
const TICK: Duration = Duration::from_millis(50);
/// Longest a chain check of a peer's intent may take; past it the intent is ignored.
const INTENT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Results of off-core work buffered before their tasks wait.
const RESULTS_BUFFER: usize = 4096;

pub struct Runtime {
    pub core: Core,
    pub gossip: GossipHandle,
    pub store: Store,
    pub committee: Option<Committee>,
    pub providers: HashMap<u64, DynProvider>,
    pub clock: Arc<dyn Clock>,
}

impl Runtime {
    pub async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, mut chain_events: mpsc::Receiver<ChainEvent>) {
        let (results_tx, mut results) = mpsc::channel::<Input>(RESULTS_BUFFER);
        let mut tasks = JoinSet::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
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
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(error) = joined {
                        if error.is_panic() {
                            tracing::error!(%error, "a node task panicked");
                        }
                    }
                    continue;
                }
            };
            let effects = self.core.handle(input, self.clock.now_ms());
            for effect in effects {
                self.perform(effect, &results_tx, &mut tasks).await;
            }
        }
    }

    async fn perform(&mut self, effect: Effect, results: &mpsc::Sender<Input>, tasks: &mut JoinSet<()>) {
        match effect {
            Effect::Verdict { inbound, verdict, penalty } => {
                self.gossip.report(inbound.inbound(), verdict).await;
                if penalty != Penalty::None {
                    // On top of gossipsub's own P4 for a Reject: the tier says how bad it was.
                    self.gossip.penalize(inbound.inbound().source, penalty).await;
                }
            }
            Effect::Publish { chain_id, kind, envelope } => {
                if let Err(error) = self.gossip.publish(chain_id, kind, envelope).await {
                    observe::publish_failed(chain_id, kind.name(), &error.to_string());
                }
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
            Effect::SetStatus { id, status } => {
                if let Err(error) = self.store.set_status(id, status) {
                    observe::store_failed("set auction status", id, &error);
                }
            }
            Effect::CheckIntent { chain_id, adapter, origin, intent, inbound } => {
                let Some(provider) = self.providers.get(&chain_id).cloned() else { return };
                let results = results.clone();
                tasks.spawn(async move {
                    let read =
                        tokio::time::timeout(INTENT_CHECK_TIMEOUT, read_intent_facts(&provider, adapter, &intent));
                    let facts = match read.await {
                        Ok(Ok(facts)) => Some(facts),
                        Ok(Err(error)) => {
                            observe::rpc_error(chain_id, &error);
                            None
                        }
                        Err(_) => {
                            observe::rpc_error(
                                chain_id,
                                &crate::chain::ChainError::Rpc { chain_id, reason: "intent check timed out".into() },
                            );
                            None
                        }
                    };
                    let inbound = inbound.inbound().clone();
                    let _ = results.send(Input::IntentFacts { chain_id, origin, intent, facts, inbound }).await;
                });
            }
            Effect::SignVote { chain_id, settlement, award } => {
                let Some(committee) = self.committee.clone() else { return };
                let results = results.clone();
                let clock = self.clock.clone();
                tasks.spawn(async move {
                    let result = committee
                        .sign(chain_id, settlement, &award, clock.now_ms())
                        .await
                        .map_err(|error| error.to_string());
                    let _ = results.send(Input::VoteSigned { chain_id, award, result }).await;
                });
            }
        }
    }
}
