//! The node's core, sans I/O: [`Input`]s go in (gossip, chain events, the clock, the
//! results of work done elsewhere), [`Effect`]s come out, and the [`crate::runtime`]
//! performs them. Auctions and message verdicts come from the shared auction core
//! (`backstop_protocol::auction`), so nodes and solvers judge every message alike.
//!
//! Split by concept: [`registry`] keeps each chain's context current from chain events,
//! [`origination`] turns candidates into intents of our own, [`voting`] signs the award
//! schedule as a committee member, [`recovery`] rebuilds state after a restart.

pub mod origination;
pub mod recovery;
pub mod registry;
pub mod voting;

use std::collections::HashMap;

use alloy::primitives::{Address, B256};
use backstop_net::Inbound;
use backstop_protocol::auction::{Accepted, ChainBook, ChainContext, IntentFacts, Judged, Progress};
use backstop_protocol::envelope::{Envelope, PeerKey};
use backstop_protocol::message::{Intent, Message};
use backstop_protocol::{Award, Kind, Penalty, Rejection, Verdict};
use ed25519_dalek::SigningKey;

use crate::chain::ChainEvent;
use crate::config::AuctionConfig;
use crate::observe;
use crate::store::AuctionStatus;

/// Votes held per auction until the local decision.
const MAX_HELD_VOTES: usize = backstop_protocol::auction::MAX_EARLY_VOTES;

/// What the core reacts to.
#[derive(Debug)]
pub enum Input {
    Gossip(Inbound),
    Chain(ChainEvent),
    Tick,
    /// The chain check of a peer's intent came back (`None`: the chain could not be read).
    IntentFacts {
        chain_id: u64,
        origin: PeerKey,
        intent: Intent,
        facts: Option<IntentFacts>,
        inbound: Inbound,
    },
    /// A vote was signed and flushed to disk (or refused by the double-sign guard).
    VoteSigned {
        chain_id: u64,
        award: Award,
        result: Result<[u8; 65], String>,
    },
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Report the gossip verdict on an inbound message (and penalise its sender).
    Verdict {
        inbound: InboundId,
        verdict: Verdict,
        penalty: Penalty,
        /// The rule that decided (`Rejection::label`), `ok` for an accepted message.
        rule: &'static str,
    },
    /// An intent of our own left for gossip (metrics: block-to-intent latency).
    Opened {
        chain_id: u64,
        intent_id: B256,
        /// Unix ms at which the watcher first saw the block that made the account liquidatable.
        detected_at_ms: u64,
        /// Unix ms at which the chain confirmed the account liquidatable.
        confirmed_at_ms: u64,
    },
    Publish {
        chain_id: u64,
        kind: Kind,
        envelope: Vec<u8>,
    },
    /// Append an accepted envelope to the auction's log.
    Persist {
        id: B256,
        envelope: Vec<u8>,
    },
    /// Forget an auction's log: a new round starts.
    ResetAuction {
        id: B256,
    },
    SetStatus {
        id: B256,
        status: AuctionStatus,
    },
    /// Have the chain watcher confirm this account again at its next block: the round
    /// ended unsettled, and the next one should not wait for the periodic reconfirmation.
    Reconfirm {
        chain_id: u64,
        market_id: B256,
        account: alloy::primitives::Address,
    },
    /// Read the chain's view of a peer's intent and answer with [`Input::IntentFacts`].
    CheckIntent {
        chain_id: u64,
        adapter: Address,
        origin: PeerKey,
        intent: Intent,
        inbound: InboundId,
    },
    /// Sign this award (double-sign guard, durable flush) and answer with [`Input::VoteSigned`].
    SignVote {
        chain_id: u64,
        settlement: Address,
        award: Award,
    },
}

/// An inbound message as the runtime needs it to report a verdict later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundId(pub Box<InboundRef>);

#[derive(Debug, Clone)]
pub struct InboundRef(pub Inbound);

impl PartialEq for InboundRef {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id && self.0.source == other.0.source
    }
}
impl Eq for InboundRef {}

impl InboundId {
    pub fn new(inbound: Inbound) -> Self {
        Self(Box::new(InboundRef(inbound)))
    }

    pub fn inbound(&self) -> &Inbound {
        &self.0 .0
    }
}

/// The node's state machine.
pub struct Core {
    key: SigningKey,
    our_key: PeerKey,
    pub(crate) config: AuctionConfig,
    pub(crate) books: HashMap<u64, ChainBook>,
    /// Whether this node signs awards (it holds an attester key).
    pub(crate) committee_member: bool,
    /// Our attester address, which places us in each account's opener order.
    pub(crate) attester: Option<alloy::primitives::Address>,
    /// Votes that arrived before the local decision: auction id -> held messages.
    held_votes: HashMap<B256, Vec<Inbound>>,
    /// Auctions with a signature in flight, so each signs one award at a time, and the
    /// later rank that fell due meanwhile (signed as soon as the first returns: a slow
    /// disk must delay a runner-up's vote, never lose it).
    pub(crate) signing: HashMap<B256, Option<(u64, Award)>>,
    /// Highest rank voted per auction (restored from the store after a restart).
    pub(crate) voted: HashMap<B256, Award>,
    pub(crate) origination: origination::Origination,
}

impl Core {
    pub fn new(key: SigningKey, config: AuctionConfig, chains: Vec<ChainContext>, committee_member: bool) -> Self {
        let our_key = backstop_protocol::envelope::peer_key(&key);
        Self {
            key,
            our_key,
            config,
            books: chains.into_iter().map(|context| (context.chain_id, ChainBook::new(context))).collect(),
            committee_member,
            attester: None,
            held_votes: HashMap::new(),
            signing: HashMap::new(),
            voted: HashMap::new(),
            origination: origination::Origination::default(),
        }
    }

    pub fn our_key(&self) -> PeerKey {
        self.our_key
    }

    pub(crate) fn seal(&self, message: &Message) -> Vec<u8> {
        Envelope::seal(&self.key, message).0
    }

    pub fn book(&self, chain_id: u64) -> Option<&ChainBook> {
        self.books.get(&chain_id)
    }

    /// Ids of auctions currently tracked on every chain.
    pub fn auction_ids(&self) -> Vec<B256> {
        self.books.values().flat_map(ChainBook::auction_ids).collect()
    }

    /// One input, at `now_ms`.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Gossip(inbound) => self.on_gossip(inbound, now_ms, &mut effects),
            Input::Chain(event) => self.on_chain_event(event, now_ms, &mut effects),
            Input::Tick => self.on_tick(now_ms, &mut effects),
            Input::IntentFacts { chain_id, origin, intent, facts, inbound } => {
                self.on_intent_facts(chain_id, origin, intent, facts, inbound, now_ms, &mut effects)
            }
            Input::VoteSigned { chain_id, award, result } => self.on_vote_signed(chain_id, award, result, &mut effects),
        }
        effects
    }

    fn verdict(inbound: &Inbound, result: Result<(), Rejection>, effects: &mut Vec<Effect>) {
        let (verdict, penalty, rule) = match &result {
            Ok(()) => (Verdict::Accept, Penalty::None, "ok"),
            Err(rejection) => {
                observe::message_refused(inbound.chain_id, inbound.kind.name(), rejection);
                (rejection.verdict(), rejection.penalty(), rejection.label())
            }
        };
        effects.push(Effect::Verdict { inbound: InboundId::new(inbound.clone()), verdict, penalty, rule });
    }

    fn on_gossip(&mut self, inbound: Inbound, now_ms: u64, effects: &mut Vec<Effect>) {
        let verified = match Envelope::open(&inbound.data) {
            Ok(verified) => verified,
            Err(error) => return Self::verdict(&inbound, Err(Rejection::Envelope(error)), effects),
        };
        let Some(book) = self.books.get_mut(&inbound.chain_id) else {
            return Self::verdict(&inbound, Err(Rejection::ChainNotServed), effects);
        };
        match book.on_message(inbound.kind, &verified, now_ms) {
            Err(rejection) => Self::verdict(&inbound, Err(rejection), effects),
            Ok(Judged::CheckIntent { origin, intent }) => {
                // A peer is opening this auction: our own copy would only compete with it.
                self.origination.peer_copy_checking(intent.id(), now_ms);
                let adapter = book.context.markets.get(&intent.marketId).map(|market| market.adapter);
                match adapter {
                    Some(adapter) => effects.push(Effect::CheckIntent {
                        chain_id: inbound.chain_id,
                        adapter,
                        origin,
                        intent,
                        inbound: InboundId::new(inbound),
                    }),
                    None => Self::verdict(&inbound, Err(Rejection::UnknownMarket), effects),
                }
            }
            Ok(Judged::HoldVote) => {
                let Message::Vote(vote) = &verified.message else { return };
                let held = self.held_votes.entry(vote.award.intentId).or_default();
                if held.len() >= MAX_HELD_VOTES {
                    return Self::verdict(&inbound, Err(Rejection::TooManyEarlyVotes), effects);
                }
                held.push(inbound);
            }
            Ok(Judged::Accepted(accepted)) => {
                self.on_accepted(&accepted, &inbound.data, effects);
                Self::verdict(&inbound, Ok(()), effects);
            }
        }
    }

    /// Durable bookkeeping of an accepted message.
    fn on_accepted(&mut self, accepted: &Accepted, envelope: &[u8], effects: &mut Vec<Effect>) {
        match accepted {
            Accepted::Opened { id, .. } => {
                // A new auction or round starts a new log: nothing of an earlier round
                // (failed, or settled and then reorged out) may be replayed into it.
                effects.push(Effect::ResetAuction { id: *id });
                effects.push(Effect::Persist { id: *id, envelope: envelope.to_vec() });
                effects.push(Effect::SetStatus { id: *id, status: AuctionStatus::Open });
                self.voted.remove(id);
            }
            Accepted::CopyAdopted { id } | Accepted::Commit { id, .. } | Accepted::Reveal { id, .. } => {
                effects.push(Effect::Persist { id: *id, envelope: envelope.to_vec() });
            }
            Accepted::Vote { .. } | Accepted::Outcome { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_intent_facts(
        &mut self,
        chain_id: u64,
        origin: PeerKey,
        intent: Intent,
        facts: Option<IntentFacts>,
        inbound: Inbound,
        now_ms: u64,
        effects: &mut Vec<Effect>,
    ) {
        let Some(book) = self.books.get_mut(&chain_id) else {
            return Self::verdict(&inbound, Err(Rejection::ChainNotServed), effects);
        };
        let id = intent.id();
        let (market_id, account) = (intent.marketId, intent.account);
        // The earliest a new round may open on peers that accepted this copy with no bid.
        let peers_next_round_ms = intent.next_round_at_ms(0);
        self.origination.peer_copy_checked(&id);
        match book.on_intent_facts(origin, intent, facts.as_ref(), now_ms) {
            Ok(accepted) => {
                observe::intent_accepted(chain_id, id, origin);
                self.origination.forget(&id);
                self.on_accepted(&accepted, &inbound.data, effects);
                Self::verdict(&inbound, Ok(()), effects);
            }
            Err(rejection) => {
                // Claims found false (not merely unread: a check that timed out says nothing,
                // and our own copy would then compete with a round our peers accepted): the
                // copy held our own back, so the watcher offers the account again now. It
                // re-reads only accounts it found unhealthy itself, so a liar gains nothing.
                if rejection.verdict() == Verdict::Reject {
                    effects.push(Effect::Reconfirm { chain_id, market_id, account });
                }
                if rejection == Rejection::ChainUnavailable {
                    self.origination.defer(id, peers_next_round_ms, now_ms);
                }
                Self::verdict(&inbound, Err(rejection), effects)
            }
        }
    }

    fn on_tick(&mut self, now_ms: u64, effects: &mut Vec<Effect>) {
        self.open_due_intents(now_ms, effects);
        let mut decided = Vec::new();
        let mut due = Vec::new();
        for book in self.books.values_mut() {
            let chain_id = book.chain_id();
            for progress in book.tick(now_ms) {
                match progress {
                    Progress::Decided { id, bids, commits, winner } => {
                        observe::auction_decided(chain_id, id, commits, bids, winner.as_ref());
                        decided.push(id);
                    }
                    Progress::RankDue { id, award, .. } => due.push((chain_id, id, award)),
                    Progress::Exhausted { id, next_round_at_ms } => {
                        observe::auction_failed(chain_id, id, next_round_at_ms);
                        let bids = book.round(&id).map_or(0, |round| round.ranking().len());
                        self.origination.round_exhausted(id, bids, next_round_at_ms, now_ms);
                        effects.push(Effect::SetStatus { id, status: AuctionStatus::Failed });
                        if let Some(round) = book.round(&id) {
                            let intent = round.intent();
                            effects.push(Effect::Reconfirm {
                                chain_id,
                                market_id: intent.marketId,
                                account: intent.account,
                            });
                        }
                        self.held_votes.remove(&id);
                    }
                }
            }
        }
        for id in decided {
            for inbound in self.held_votes.remove(&id).unwrap_or_default() {
                self.on_gossip(inbound, now_ms, effects);
            }
        }
        for (chain_id, id, award) in due {
            self.on_rank_due(chain_id, id, award, effects);
        }
        // Peer-fed maps follow the books' bounds: nothing outlives its auction.
        let books = &self.books;
        let tracked = |id: &B256| books.values().any(|book| book.round(id).is_some());
        self.voted.retain(|id, _| tracked(id));
        self.held_votes.retain(|id, _| tracked(id));
    }
}

#[cfg(test)]
mod tests;
