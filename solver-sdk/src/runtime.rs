//! The solver runtime: one task owns the [`Book`] and turns gossip, strategy answers,
//! settle results and the clock into book calls, then performs the actions the book
//! returns (asking the strategy, publishing, approving, settling, reporting) on
//! separate tasks so a slow RPC or strategy never stalls message validation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use backstop_net::{self as net, GossipConfig, GossipHandle, Inbound, NetStats, PublishError, Verdict};
use backstop_protocol::auction::{ChainContext, IntentFacts};
use backstop_protocol::envelope::peer_key;
use backstop_protocol::timing::now_ms;
use backstop_protocol::{Award, Envelope, Intent, Kind, Message, PeerKey, Rejection};
use ed25519_dalek::SigningKey;
use libp2p::{Multiaddr, PeerId};
use rand::RngCore;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use crate::book::{Action, Book, ChainParams, Closed, Handled, SettleResult};
use crate::chain::Chain;
use crate::checks::{self, CheckQueue, Next};
use crate::config::SolverConfig;
use crate::error::SolverError;
use crate::observe;
use crate::outcome::AuctionOutcome;
use crate::pricing::Inventory;
use crate::strategy::{Bid, Strategy};
use crate::votes::Committee;

/// Granularity of time-driven work (reveals, deadlines). Reveals go out at most this late.
const TICK: Duration = Duration::from_millis(20);
/// Gossipsub heartbeat, matching the nodes': auctions last about a second.
const GOSSIP_HEARTBEAT: Duration = Duration::from_millis(200);
/// Pause between publish attempts while no peer subscribes to the topic yet.
const PUBLISH_RETRY: Duration = Duration::from_millis(50);
/// How often each chain's context (markets, committee, solver bonds) is brought up to
/// the head: a market registered or a solver bonded a block ago must be judged as the
/// nodes judge it.
const CONTEXT_REFRESH: Duration = Duration::from_secs(1);
/// How often each chain's head is polled (a fifth of a devnet block).
const HEAD_POLL: Duration = Duration::from_millis(200);
/// Longest a chain check of an intent may take; past it the intent is ignored (an
/// auction's commit window is shorter than this anyway).
const INTENT_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Intents whose gossip verdict waits on a chain check.
const MAX_HELD_INTENTS: usize = 1024;
/// Outcomes buffered for slow `outcomes()` receivers before they lag.
const OUTCOME_BUFFER: usize = 1024;
/// Internal events buffered before their senders wait.
const EVENT_BUFFER: usize = 1024;

/// Entry point: joins the network and drives auctions for a [`Strategy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SolverClient;

impl SolverClient {
    /// Connects to every chain (checking chain id, settlement code and committee), joins
    /// gossip on their topics and starts the runtime. Returns once it listens.
    pub async fn start<S: Strategy>(config: SolverConfig, strategy: S) -> Result<SolverHandle, SolverError> {
        config.validate()?;
        let signing_key = SigningKey::from_bytes(&config.peer_secret_key);
        let our_key = peer_key(&signing_key);

        let mut chains = HashMap::new();
        let mut params = Vec::new();
        let mut committees = HashMap::new();
        for endpoint in &config.chains {
            let span = observe::chain_span(endpoint.chain_id);
            let (chain, first_context) = Chain::connect(endpoint).instrument(span.clone()).await?;
            let committee = first_context.committee.clone();
            span.in_scope(|| observe::committee_loaded(committee.threshold, committee.attesters.len()));
            chain
                .ensure_registered(our_key)
                .instrument(span.clone())
                .await
                .map_err(|reason| SolverError::Registration { chain_id: endpoint.chain_id, reason })?;
            // Read the context again so it includes our own bond: we judge our bids as nodes will.
            let context = chain.refresh_context().instrument(span.clone()).await.map_err(|reason| {
                SolverError::Committee { chain_id: endpoint.chain_id, settlement: endpoint.settlement, reason }
            })?;
            // Approve every known market's debt asset now, so the first bids are funded.
            let market_ids: Vec<B256> = context.markets.keys().copied().collect();
            chain.approve_known_markets(&market_ids).instrument(span.clone()).await;
            params.push(ChainParams {
                chain_id: endpoint.chain_id,
                settlement: endpoint.settlement,
                executor: chain.executor,
                context,
            });
            committees.insert(endpoint.chain_id, committee);
            chains.insert(endpoint.chain_id, Arc::new(chain));
        }

        let chain_ids: Vec<u64> = config.chains.iter().map(|chain| chain.chain_id).collect();
        let (gossip, inbound) = net::spawn(GossipConfig {
            listen: config.listen.clone(),
            bootstrap: config.bootstrap.clone(),
            chains: chain_ids.clone(),
            heartbeat: GOSSIP_HEARTBEAT,
            ..GossipConfig::new(config.peer_secret_key)
        })
        .await?;
        observe::started(&gossip.peer_id(), gossip.listen_addrs(), &chain_ids);

        let (outcomes, _) = broadcast::channel(OUTCOME_BUFFER);
        let (events_tx, events_rx) = mpsc::channel(EVENT_BUFFER);
        let (stop_tx, stop_rx) = oneshot::channel();
        let runtime = Runtime {
            strategy: Arc::new(strategy),
            book: Book::new(our_key, params),
            chains,
            committees,
            gossip: gossip.clone(),
            signing_key,
            outcomes: outcomes.clone(),
            events: events_tx,
            tasks: JoinSet::new(),
            held_intents: HashMap::new(),
            checks: CheckQueue::new(),
        };
        let task = tokio::spawn(runtime.run(inbound, events_rx, stop_rx));
        Ok(SolverHandle { gossip, our_key, outcomes, stop: Some(stop_tx), task: Some(task) })
    }
}

/// A running solver. Dropping it stops the solver; prefer [`SolverHandle::shutdown`].
#[must_use = "dropping the handle stops the solver"]
#[derive(Debug)]
pub struct SolverHandle {
    gossip: GossipHandle,
    our_key: B256,
    outcomes: broadcast::Sender<AuctionOutcome>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SolverHandle {
    /// The addresses the solver listens on (port 0 resolved).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        self.gossip.listen_addrs()
    }

    /// Our libp2p peer id (derived from the ed25519 key).
    pub fn peer_id(&self) -> PeerId {
        self.gossip.peer_id()
    }

    /// The ed25519 key that signs our commits and reveals (the `solver` in commitments).
    pub fn peer_key(&self) -> B256 {
        self.our_key
    }

    /// Outcomes from now on. Each receiver sees every outcome; a receiver more than
    /// 1024 outcomes behind gets `RecvError::Lagged`.
    pub fn outcomes(&self) -> broadcast::Receiver<AuctionOutcome> {
        self.outcomes.subscribe()
    }

    /// The gossip transport's counters: messages received, accepted and dropped per kind
    /// (over a peer's budget, or because the runtime fell behind), peers and penalties.
    pub fn network_stats(&self) -> NetStats {
        self.gossip.stats()
    }

    /// Connected gossip peers.
    pub async fn peer_count(&self) -> usize {
        self.gossip.peer_count().await
    }

    /// Stops the runtime and waits for it. In-flight settles are abandoned.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SolverHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Results of work done off the main task.
enum Event {
    Bid { chain_id: u64, intent_id: B256, bid: Option<Bid>, inventory: Inventory },
    Unpriced { chain_id: u64, intent_id: B256, reason: String },
    StrategyTimedOut { chain_id: u64, intent_id: B256 },
    PublishFailed { chain_id: u64, intent_id: B256 },
    Settled { chain_id: u64, intent_id: B256, award: Box<Award>, result: SettleResult },
    Context { chain_id: u64, context: Box<ChainContext>, closed: Vec<Closed> },
    IntentFacts { chain_id: u64, origin: PeerKey, intent: Box<Intent>, facts: Option<IntentFacts> },
}

/// An intent waiting for its chain check.
struct CheckJob {
    chain_id: u64,
    chain: Arc<Chain>,
    adapter: Address,
    collateral_assets: Vec<Address>,
    origin: PeerKey,
    intent: Intent,
}

/// One of the workers of the check queue (see [`crate::checks`]).
async fn check_intents(queue: Arc<CheckQueue<CheckJob>>, events: mpsc::Sender<Event>) {
    loop {
        match queue.next(now_ms).await {
            Next::Shed(jobs) => {
                for job in jobs {
                    shed(job, &events).await;
                }
            }
            Next::Check(job) => check_intent(job, &events).await,
        }
    }
}

/// Reads the chain's facts for an intent's claims, pricing it meanwhile (the commit
/// window is short), and hands the facts to the book.
async fn check_intent(job: CheckJob, events: &mpsc::Sender<Event>) {
    let CheckJob { chain_id, chain, adapter, collateral_assets, origin, intent } = job;
    let span = observe::auction_span(chain_id, intent.id());
    let pricing = chain.speculate(&intent, adapter, collateral_assets);
    let check = async {
        let read = tokio::time::timeout(INTENT_CHECK_TIMEOUT, chain.intent_facts(adapter, &intent));
        let facts = match read.await {
            Ok(Ok(facts)) => Some(facts),
            Ok(Err(error)) => {
                observe::chain_read_failed(&error);
                None
            }
            Err(_) => {
                observe::chain_read_failed("timed out");
                None
            }
        };
        let intent = Box::new(intent.clone());
        let _ = events.send(Event::IntentFacts { chain_id, origin, intent, facts }).await;
    };
    match pricing {
        Some(pricing) => {
            tokio::join!(pricing.instrument(span), check);
        }
        None => check.await,
    }
}

/// An intent dropped from the check queue: the book learns it went unchecked.
async fn shed(job: CheckJob, events: &mpsc::Sender<Event>) {
    let CheckJob { chain_id, origin, intent, .. } = job;
    observe::auction_span(chain_id, intent.id())
        .in_scope(|| observe::intent_check_shed(intent.commit_end_ms(), now_ms()));
    let intent = Box::new(intent);
    let _ = events.send(Event::IntentFacts { chain_id, origin, intent, facts: None }).await;
}

struct Runtime<S> {
    strategy: Arc<S>,
    book: Book,
    chains: HashMap<u64, Arc<Chain>>,
    committees: HashMap<u64, Committee>,
    gossip: GossipHandle,
    signing_key: SigningKey,
    outcomes: broadcast::Sender<AuctionOutcome>,
    events: mpsc::Sender<Event>,
    /// Every task the runtime spawned; dropped (aborted) when it stops.
    tasks: JoinSet<()>,
    /// Intents whose verdict waits on their chain check, by payload hash.
    held_intents: HashMap<B256, Inbound>,
    /// Intents waiting for their chain check, taken by [`checks::WORKERS`] workers.
    checks: Arc<CheckQueue<CheckJob>>,
}

impl<S: Strategy> Runtime<S> {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut events: mpsc::Receiver<Event>,
        mut stop: oneshot::Receiver<()>,
    ) {
        for chain in self.chains.values() {
            self.tasks.spawn(refresh_context(chain.clone(), self.events.clone()));
            self.tasks.spawn(follow_head(chain.clone()));
        }
        for _ in 0..checks::WORKERS {
            self.tasks.spawn(check_intents(self.checks.clone(), self.events.clone()));
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                message = inbound.recv() => match message {
                    Some(message) => self.on_inbound(message).await,
                    None => break,
                },
                Some(event) = events.recv() => self.on_event(event),
                _ = tick.tick() => {
                    let actions = self.book.tick(now_ms());
                    self.perform(actions);
                }
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Err(error) = joined {
                        if error.is_panic() {
                            tracing::error!(%error, "a solver task panicked (strategy or runtime bug)");
                        }
                    }
                }
            }
        }
    }

    async fn on_inbound(&mut self, inbound: Inbound) {
        let handled = match Envelope::open(&inbound.data) {
            Ok(verified) => self.book.on_message(inbound.chain_id, inbound.kind, verified, now_ms()),
            Err(error) => {
                let rejection = Rejection::Envelope(error);
                observe::message_refused(inbound.kind, rejection.verdict(), &rejection);
                Handled { verdict: Some(rejection.verdict()), actions: Vec::new() }
            }
        };
        match handled.verdict {
            Some(verdict) => self.gossip.report(&inbound, verdict).await,
            None => {
                // An intent waiting on its chain check: report once the facts are in.
                let pending = handled.actions.iter().find_map(|action| match action {
                    Action::CheckIntent { intent, .. } => Some(intent.payload_hash()),
                    _ => None,
                });
                match pending {
                    Some(hash) if self.held_intents.len() < MAX_HELD_INTENTS => {
                        self.held_intents.insert(hash, inbound);
                    }
                    _ => self.gossip.report(&inbound, Verdict::Ignore).await,
                }
            }
        }
        self.perform(handled.actions);
    }

    fn on_event(&mut self, event: Event) {
        let actions = match event {
            Event::Bid { chain_id, intent_id, bid, inventory } => {
                let salt = random_salt();
                self.book.on_bid(chain_id, intent_id, bid, &inventory, salt, now_ms())
            }
            Event::Unpriced { chain_id, intent_id, reason } => self.book.on_unpriced(chain_id, intent_id, reason),
            Event::StrategyTimedOut { chain_id, intent_id } => self.book.on_strategy_timeout(chain_id, intent_id),
            Event::PublishFailed { chain_id, intent_id } => self.book.on_publish_failed(chain_id, intent_id),
            Event::Settled { chain_id, intent_id, award, result } => {
                self.book.on_settled(chain_id, intent_id, &award, result)
            }
            Event::Context { chain_id, context, closed } => {
                let committee = context.committee.clone();
                if self.committees.get(&chain_id) != Some(&committee) {
                    observe::chain_span(chain_id)
                        .in_scope(|| observe::committee_loaded(committee.threshold, committee.attesters.len()));
                    self.committees.insert(chain_id, committee);
                }
                let mut actions = self.book.on_closed(chain_id, &closed);
                actions.extend(self.book.set_context(chain_id, *context));
                actions
            }
            Event::IntentFacts { chain_id, origin, intent, facts } => {
                let held = self.held_intents.remove(&intent.payload_hash());
                let (verdict, actions) = self.book.on_intent_facts(chain_id, origin, *intent, facts.as_ref(), now_ms());
                if let Some(inbound) = held {
                    let gossip = self.gossip.clone();
                    self.tasks.spawn(async move { gossip.report(&inbound, verdict).await });
                }
                actions
            }
        };
        self.perform(actions);
    }

    fn perform(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::AskStrategy(asked) => {
                    let span = observe::auction_span(asked.chain_id, asked.intent_id);
                    let Some(chain) = self.chains.get(&asked.chain_id).cloned() else {
                        continue;
                    };
                    let strategy = self.strategy.clone();
                    let events = self.events.clone();
                    self.tasks.spawn(
                        async move {
                            let (chain_id, intent_id) = (asked.chain_id, asked.intent_id);
                            // One millisecond past commit end, so an answer at the edge is judged by the book.
                            let budget = Duration::from_millis(asked.remaining_ms(now_ms()) + 1);
                            let event = match tokio::time::timeout(budget, chain.price(&asked)).await {
                                Err(_) => Event::StrategyTimedOut { chain_id, intent_id },
                                Ok(Err(reason)) => {
                                    observe::pricing_failed(&reason);
                                    Event::Unpriced { chain_id, intent_id, reason }
                                }
                                Ok(Ok(pricing)) => {
                                    observe::priced(&pricing);
                                    let view = asked.into_view(pricing);
                                    let inventory = view.pricing.inventory;
                                    let budget = Duration::from_millis(view.remaining_ms(now_ms()) + 1);
                                    match tokio::time::timeout(budget, strategy.bid(&view)).await {
                                        Ok(bid) => Event::Bid { chain_id, intent_id, bid, inventory },
                                        Err(_) => Event::StrategyTimedOut { chain_id, intent_id },
                                    }
                                }
                            };
                            let _ = events.send(event).await;
                        }
                        .instrument(span),
                    );
                }
                Action::CheckIntent { chain_id, adapter, collateral_assets, origin, intent } => {
                    let Some(chain) = self.chains.get(&chain_id).cloned() else {
                        continue;
                    };
                    let commit_end_ms = intent.commit_end_ms();
                    let known = chain.facts_known(adapter, &intent);
                    let job = CheckJob { chain_id, chain, adapter, collateral_assets, origin, intent };
                    if known {
                        // A copy of a round whose facts are read or on their way: it costs
                        // no RPC, so it does not wait for (or hold) a worker.
                        let events = self.events.clone();
                        self.tasks.spawn(async move { check_intent(job, &events).await });
                    } else if let Some(displaced) = self.checks.push(commit_end_ms, job) {
                        let events = self.events.clone();
                        self.tasks.spawn(async move { shed(displaced, &events).await });
                    }
                }
                Action::PublishCommit { chain_id, intent_id, commit, until_ms } => {
                    self.publish(chain_id, intent_id, Message::Commit(commit), until_ms);
                }
                Action::PublishReveal { chain_id, intent_id, reveal, until_ms } => {
                    self.publish(chain_id, intent_id, Message::Reveal(reveal), until_ms);
                }
                Action::Approve { chain_id, market_id } => {
                    let Some(chain) = self.chains.get(&chain_id).cloned() else {
                        continue;
                    };
                    self.tasks.spawn(
                        async move {
                            if let Err(error) = chain.ensure_market_approved(market_id).await {
                                observe::approval_failed(&error);
                            }
                        }
                        .instrument(observe::chain_span(chain_id)),
                    );
                }
                Action::Settle { chain_id, intent_id, quorum } => {
                    let Some(chain) = self.chains.get(&chain_id).cloned() else {
                        continue;
                    };
                    if !self.strategy.settles(&quorum.award) {
                        observe::auction_span(chain_id, intent_id).in_scope(observe::walked_away);
                        continue;
                    }
                    let events = self.events.clone();
                    self.tasks.spawn(
                        async move {
                            let result = chain.settle(&quorum).await;
                            let award = Box::new(quorum.award);
                            let _ = events.send(Event::Settled { chain_id, intent_id, award, result }).await;
                        }
                        .instrument(observe::auction_span(chain_id, intent_id)),
                    );
                }
                Action::Report(outcome) => {
                    observe::auction_span(outcome.chain_id(), outcome.intent_id())
                        .in_scope(|| observe::outcome(&outcome));
                    self.strategy.on_outcome(&outcome);
                    // No receiver is fine: outcomes are also logged and given to the strategy.
                    let _ = self.outcomes.send(outcome);
                }
            }
        }
    }

    /// Publishes on a spawned task, retrying while no peer subscribes yet (right after
    /// start), until `until_ms`; then tells the book our message did not go out.
    fn publish(&mut self, chain_id: u64, intent_id: B256, message: Message, until_ms: u64) {
        let kind = message.kind();
        let envelope = Envelope::seal(&self.signing_key, &message);
        let gossip = self.gossip.clone();
        let events = self.events.clone();
        self.tasks.spawn(
            async move {
                if let Err(error) = publish_until(&gossip, chain_id, kind, envelope.0, until_ms).await {
                    observe::publish_failed(kind, &error);
                    let _ = events.send(Event::PublishFailed { chain_id, intent_id }).await;
                }
            }
            .instrument(observe::auction_span(chain_id, intent_id)),
        );
    }
}

async fn publish_until(
    gossip: &GossipHandle,
    chain_id: u64,
    kind: Kind,
    data: Vec<u8>,
    until_ms: u64,
) -> Result<(), String> {
    loop {
        match gossip.publish(chain_id, kind, data.clone()).await {
            Ok(()) => return Ok(()),
            // Already published (a retry raced a success): it is out.
            Err(PublishError::Duplicate) => return Ok(()),
            Err(error) => {
                if now_ms().saturating_add(PUBLISH_RETRY.as_millis() as u64) > until_ms {
                    return Err(error.to_string());
                }
                tokio::time::sleep(PUBLISH_RETRY).await;
            }
        }
    }
}

async fn refresh_context(chain: Arc<Chain>, events: mpsc::Sender<Event>) {
    let span = observe::chain_span(chain.chain_id);
    loop {
        tokio::time::sleep(CONTEXT_REFRESH).await;
        match chain.refresh_context().instrument(span.clone()).await {
            Ok(context) => {
                let context = Box::new(context);
                let closed = chain.take_closed().await;
                if events.send(Event::Context { chain_id: chain.chain_id, context, closed }).await.is_err() {
                    return;
                }
            }
            Err(error) => span.in_scope(|| observe::committee_refresh_failed(&error)),
        }
    }
}

/// Keeps the chain's head fresh, so an intent's check reads its claims without asking
/// for the head first. A failed poll only costs that round trip back.
async fn follow_head(chain: Arc<Chain>) {
    let span = observe::chain_span(chain.chain_id);
    let mut failing = false;
    loop {
        match chain.poll_head().await {
            Ok(_) => failing = false,
            Err(error) if !failing => {
                failing = true;
                span.in_scope(|| observe::head_poll_failed(&error));
            }
            Err(_) => {}
        }
        tokio::time::sleep(HEAD_POLL).await;
    }
}

fn random_salt() -> B256 {
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    B256::from(salt)
}
