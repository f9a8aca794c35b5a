//! Every auction this solver follows, per chain. Judgement of every message, the
//! auction rounds and the award schedule come from the protocol's shared auction core
//! (`backstop_protocol::auction::ChainBook`), the same code the nodes run; this module
//! adds only our own part: asking the strategy, our sealed bid, the votes we collect
//! and which outcome is due. Pure: time, salts and chain reads come in as arguments and
//! the caller performs the returned [`Action`]s.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, Bytes, B256};
use backstop_protocol::auction::{Accepted, ChainBook as CoreBook, ChainContext, IntentFacts, Judged, Progress};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{BidCommit, BidReveal, Intent, Message};
use backstop_protocol::timing::CLOCK_DISPARITY_MS;
use backstop_protocol::{Award, Kind, PeerKey, Rejection, Verdict, Verified};

use crate::bidding::{decide, BidDecision};
use crate::observe;
use crate::outcome::AuctionOutcome;
use crate::strategy::{Bid, IntentView};
use crate::votes::{Committee, Quorum, Tally, VoteTally};

/// Our reveal goes out this long after the commit window closes: late enough that every
/// peer's clock is past commit end within tolerance, early in a short reveal window.
pub(crate) const REVEAL_DELAY_MS: u64 = 50;
/// How long our part in an auction is remembered after its reveal window.
pub(crate) const RETAIN_MS: u64 = 5 * 60 * 1000;

/// A chain as the book needs it.
#[derive(Debug, Clone)]
pub(crate) struct ChainParams {
    pub chain_id: u64,
    pub settlement: Address,
    pub executor: Address,
    pub context: ChainContext,
}

/// Effects the runtime performs for the book.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Ask the strategy for a bid, answering with [`Book::on_bid`] before `view.commit_end_ms()`.
    AskStrategy(IntentView),
    /// Read the chain's view of a peer's intent and answer with [`Book::on_intent_facts`];
    /// the message's gossip verdict waits for it.
    CheckIntent {
        chain_id: u64,
        adapter: Address,
        origin: PeerKey,
        intent: Intent,
    },
    /// Publish our commit; retry until `until_ms`, then call [`Book::on_publish_failed`].
    PublishCommit {
        chain_id: u64,
        intent_id: B256,
        commit: BidCommit,
        until_ms: u64,
    },
    /// Publish our reveal; same retry contract.
    PublishReveal {
        chain_id: u64,
        intent_id: B256,
        reveal: BidReveal,
        until_ms: u64,
    },
    /// Make sure the executor approved the settlement for this market's debt asset.
    Approve {
        chain_id: u64,
        market_id: B256,
    },
    /// Send `settle` with the quorum; answer with [`Book::on_settled`].
    Settle {
        chain_id: u64,
        intent_id: B256,
        quorum: Quorum,
    },
    Report(AuctionOutcome),
}

/// How a settle attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettleResult {
    Settled {
        tx_hash: B256,
    },
    Reverted {
        reason: String,
    },
    /// The deadline passed before a settle could be mined.
    Expired,
}

/// The verdict on a message (`None`: held until [`Book::on_intent_facts`]) and what to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handled {
    pub verdict: Option<Verdict>,
    pub actions: Vec<Action>,
}

impl Handled {
    fn verdict(verdict: Verdict, actions: Vec<Action>) -> Self {
        Self { verdict: Some(verdict), actions }
    }
}

/// Our sealed bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sealed {
    bid: Bid,
    salt: B256,
    commitment: B256,
}

/// Our part in an auction round. Commit → reveal is one way; `Out` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OurBid {
    Asking,
    Out,
    Committed(Sealed),
    Revealed(Sealed),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Nothing reported yet.
    Open,
    /// `Lost` or `Expired` reported; a runner-up award for us may still come.
    Reported,
    /// A settle is in flight.
    Settling,
    /// Nothing more will be reported.
    Done,
}

#[derive(Debug, Clone)]
struct Ours {
    /// Open time of the round this is about: a new round starts a new `Ours`.
    round_open_ms: u64,
    bid: OurBid,
    standing: Standing,
    votes: VoteTally,
    settles_started: HashSet<Award>,
}

impl Ours {
    fn new(round_open_ms: u64) -> Self {
        Self {
            round_open_ms,
            bid: OurBid::Asking,
            standing: Standing::Open,
            votes: VoteTally::default(),
            settles_started: HashSet::new(),
        }
    }

    fn leave(&mut self) {
        self.bid = OurBid::Out;
        self.standing = Standing::Done;
    }
}

#[derive(Debug)]
struct ChainBook {
    params: ChainParams,
    core: CoreBook,
    ours: HashMap<B256, Ours>,
}

/// All auctions, per chain.
#[derive(Debug)]
pub(crate) struct Book {
    our_key: PeerKey,
    chains: HashMap<u64, ChainBook>,
}

impl Book {
    pub fn new(our_key: PeerKey, chains: impl IntoIterator<Item = ChainParams>) -> Self {
        let chains = chains
            .into_iter()
            .map(|params| {
                let core = CoreBook::new(params.context.clone());
                (params.chain_id, ChainBook { params, core, ours: HashMap::new() })
            })
            .collect();
        Self { our_key, chains }
    }

    /// Replaces a chain's context (markets, committee, admitted solvers) and settles any
    /// award that now has a quorum.
    pub fn set_context(&mut self, chain_id: u64, context: ChainContext) -> Vec<Action> {
        let Some(chain) = self.chains.get_mut(&chain_id) else { return Vec::new() };
        chain.core.context = context.clone();
        chain.params.context = context;
        let mut actions = Vec::new();
        let committee = chain.core.context.committee.clone();
        for (id, ours) in chain.ours.iter_mut() {
            actions.extend(evaluate_votes(chain_id, chain.params.executor, &committee, *id, ours));
        }
        actions
    }

    /// Judges one opened gossip message that arrived on `(topic_chain, topic_kind)`.
    pub fn on_message(&mut self, topic_chain: u64, topic_kind: Kind, verified: Verified, now_ms: u64) -> Handled {
        let Some(chain) = self.chains.get_mut(&topic_chain) else {
            return refused(topic_kind, Rejection::ChainNotServed, Vec::new());
        };
        let chain_id = topic_chain;
        let executor = chain.params.executor;
        match chain.core.on_message(topic_kind, &verified, now_ms) {
            Ok(Judged::CheckIntent { origin, intent }) => {
                let Some(adapter) = chain.core.context.markets.get(&intent.marketId).map(|market| market.adapter)
                else {
                    return refused(topic_kind, Rejection::UnknownMarket, Vec::new());
                };
                Handled { verdict: None, actions: vec![Action::CheckIntent { chain_id, adapter, origin, intent }] }
            }
            Ok(Judged::HoldVote) => {
                // Nodes hold and forward it once decided; we only count it.
                let actions = match &verified.message {
                    Message::Vote(vote) => chain.count_vote(chain_id, executor, &vote.award, &vote.signature),
                    _ => Vec::new(),
                };
                Handled::verdict(Verdict::Ignore, actions)
            }
            Ok(Judged::Accepted(Accepted::Vote { award, signature, .. })) => {
                let actions = chain.count_vote(chain_id, executor, &award, &signature);
                Handled::verdict(Verdict::Accept, actions)
            }
            Ok(Judged::Accepted(_)) => Handled::verdict(Verdict::Accept, Vec::new()),
            Err(Rejection::PastCommits) => {
                // Too late to bid or forward, but it tells us about an auction we missed.
                let mut late = Vec::new();
                if let Message::Intent(intent) = &verified.message {
                    let id = intent.id();
                    if !chain.ours.contains_key(&id) && chain.core.context.markets.contains_key(&intent.marketId) {
                        let mut ours = Ours::new(intent.openTimeMs);
                        ours.leave();
                        chain.ours.insert(id, ours);
                        late.push(Action::Report(AuctionOutcome::Late { chain_id, intent_id: id }));
                    }
                }
                refused(topic_kind, Rejection::PastCommits, late)
            }
            Err(rejection) => refused(topic_kind, rejection, Vec::new()),
        }
    }

    /// The chain check of an intent came back (`None`: the chain could not be read).
    pub fn on_intent_facts(
        &mut self,
        chain_id: u64,
        origin: PeerKey,
        intent: Intent,
        facts: Option<&IntentFacts>,
        now_ms: u64,
    ) -> (Verdict, Vec<Action>) {
        let Some(chain) = self.chains.get_mut(&chain_id) else { return (Verdict::Ignore, Vec::new()) };
        let id = intent.id();
        match chain.core.on_intent_facts(origin, intent, facts, now_ms) {
            Ok(Accepted::Opened { new_round, .. }) => {
                let Some(round) = chain.core.round(&id) else { return (Verdict::Accept, Vec::new()) };
                let intent = round.intent().clone();
                if new_round {
                    observe::new_round(intent.openTimeMs);
                }
                let _span = observe::auction_span(chain_id, id).entered();
                observe::intent_seen(intent.openTimeMs, intent.commit_end_ms(), now_ms);
                chain.ours.insert(id, Ours::new(intent.openTimeMs));
                let view = IntentView {
                    chain_id,
                    intent_id: id,
                    intent,
                    executor: chain.params.executor,
                    origin,
                    received_at_ms: now_ms,
                };
                (Verdict::Accept, vec![Action::AskStrategy(view)])
            }
            Ok(Accepted::CopyAdopted { .. }) => {
                observe::intent_copy_adopted(id);
                (Verdict::Accept, Vec::new())
            }
            Ok(_) => (Verdict::Accept, Vec::new()),
            Err(rejection) => {
                let handled = refused(Kind::Intent, rejection, Vec::new());
                (handled.verdict.unwrap_or(Verdict::Ignore), handled.actions)
            }
        }
    }

    /// The strategy answered for an intent; `salt` must be fresh randomness.
    pub fn on_bid(&mut self, chain_id: u64, id: B256, bid: Option<Bid>, salt: B256, now_ms: u64) -> Vec<Action> {
        let our_key = self.our_key;
        let Some(chain) = self.chains.get_mut(&chain_id) else { return Vec::new() };
        let executor = chain.params.executor;
        let Some(intent) = chain.core.round(&id).map(|round| round.intent().clone()) else { return Vec::new() };
        let Some(ours) = chain.ours.get_mut(&id) else { return Vec::new() };
        if ours.bid != OurBid::Asking {
            return Vec::new();
        }
        let Some(bid) = bid else {
            observe::bid_declined();
            ours.leave();
            return Vec::new();
        };
        let commit_end_ms = intent.commit_end_ms();
        if now_ms > commit_end_ms {
            observe::strategy_timed_out();
            ours.leave();
            return vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })];
        }
        // The bid is judged against the canonical copy now: it may have replaced the one
        // the strategy saw (terms freeze with the first commit).
        match decide(&intent, bid) {
            BidDecision::BelowReserve { premium, reserve } => {
                observe::bid_below_reserve(premium, reserve);
                ours.leave();
                vec![Action::Report(AuctionOutcome::BelowReserve { chain_id, intent_id: id })]
            }
            BidDecision::ZeroRepay => {
                observe::bid_zero_repay();
                ours.leave();
                Vec::new()
            }
            BidDecision::Place(placed) => {
                let sealed_commitment = commitment(id, our_key, executor, placed.repay_amount, placed.premium, salt);
                let commit = BidCommit { chainId: chain_id, intentId: id, commitment: sealed_commitment };
                if let Err(rejection) = chain.core.on_commit(our_key, &commit, now_ms) {
                    // The network would refuse it the same way (e.g. our key is not bonded).
                    observe::own_bid_refused(&rejection);
                    ours.leave();
                    return vec![Action::Report(AuctionOutcome::NotAdmitted {
                        chain_id,
                        intent_id: id,
                        reason: rejection.to_string(),
                    })];
                }
                ours.bid = OurBid::Committed(Sealed { bid: placed, salt, commitment: sealed_commitment });
                observe::bid_committed(&placed, placed.repay_amount != bid.repay_amount);
                vec![
                    Action::PublishCommit {
                        chain_id,
                        intent_id: id,
                        commit,
                        // Peers accept commits until commit end + their clock tolerance; stay well inside it.
                        until_ms: commit_end_ms.saturating_add(CLOCK_DISPARITY_MS / 2),
                    },
                    Action::Approve { chain_id, market_id: intent.marketId },
                ]
            }
        }
    }

    /// The strategy did not answer before the commit window closed.
    pub fn on_strategy_timeout(&mut self, chain_id: u64, id: B256) -> Vec<Action> {
        let Some(ours) = self.chains.get_mut(&chain_id).and_then(|chain| chain.ours.get_mut(&id)) else {
            return Vec::new();
        };
        if ours.bid != OurBid::Asking {
            return Vec::new();
        }
        observe::strategy_timed_out();
        ours.leave();
        vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })]
    }

    /// A commit or reveal could not be published in time: our bid does not count.
    pub fn on_publish_failed(&mut self, chain_id: u64, id: B256) -> Vec<Action> {
        let Some(ours) = self.chains.get_mut(&chain_id).and_then(|chain| chain.ours.get_mut(&id)) else {
            return Vec::new();
        };
        if !matches!(ours.bid, OurBid::Committed(_) | OurBid::Revealed(_)) || ours.standing != Standing::Open {
            return Vec::new();
        }
        ours.leave();
        vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })]
    }

    /// A settle started by [`Action::Settle`] ended.
    pub fn on_settled(&mut self, chain_id: u64, id: B256, award: &Award, result: SettleResult) -> Vec<Action> {
        if let Some(chain) = self.chains.get_mut(&chain_id) {
            if let Some(ours) = chain.ours.get_mut(&id) {
                ours.standing = Standing::Done;
            }
            if matches!(result, SettleResult::Settled { .. }) {
                chain.core.close(id);
            }
        }
        let outcome = match result {
            SettleResult::Settled { tx_hash } => AuctionOutcome::Won {
                chain_id,
                intent_id: id,
                tx_hash,
                repay_amount: award.repayAmount,
                premium: award.premium,
            },
            SettleResult::Reverted { reason } => AuctionOutcome::SettleReverted { chain_id, intent_id: id, reason },
            SettleResult::Expired => AuctionOutcome::Expired { chain_id, intent_id: id },
        };
        vec![Action::Report(outcome)]
    }

    /// Time-driven work: reveals that are due, decisions, deadlines, pruning.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let our_key = self.our_key;
        let mut actions = Vec::new();
        for chain in self.chains.values_mut() {
            let chain_id = chain.params.chain_id;
            let executor = chain.params.executor;
            let ids: Vec<B256> = chain.ours.keys().copied().collect();
            for id in ids {
                actions.extend(chain.reveal_if_due(chain_id, executor, our_key, id, now_ms));
            }
            for progress in chain.core.tick(now_ms) {
                actions.extend(chain.on_progress(chain_id, our_key, progress));
            }
            let core = &chain.core;
            chain.ours.retain(|id, ours| {
                ours.standing == Standing::Settling
                    || core.round(id).is_some()
                    || now_ms <= ours.round_open_ms.saturating_add(RETAIN_MS)
            });
        }
        actions
    }
}

fn refused(kind: Kind, rejection: Rejection, actions: Vec<Action>) -> Handled {
    let verdict = rejection.verdict();
    observe::message_refused(kind, verdict, &rejection);
    Handled::verdict(verdict, actions)
}

impl ChainBook {
    fn count_vote(&mut self, chain_id: u64, executor: Address, award: &Award, signature: &[u8]) -> Vec<Action> {
        let id = award.intentId;
        let Some(ours) = self.ours.get_mut(&id) else { return Vec::new() };
        if !matches!(ours.bid, OurBid::Revealed(_)) {
            return Vec::new();
        }
        // The core verified the signature; recover the signer once more to tally it.
        let Ok(signer) = award.recover_signer(chain_id, self.params.settlement, signature) else { return Vec::new() };
        match ours.votes.add(award.clone(), signer, Bytes::copy_from_slice(signature)) {
            Tally::Counted { .. } => {
                let committee = self.core.context.committee.clone();
                evaluate_votes(chain_id, executor, &committee, id, ours)
            }
            Tally::Duplicate | Tally::Full => Vec::new(),
        }
    }

    fn reveal_if_due(
        &mut self,
        chain_id: u64,
        executor: Address,
        our_key: PeerKey,
        id: B256,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(ours) = self.ours.get_mut(&id) else { return Vec::new() };
        let OurBid::Committed(sealed) = ours.bid else { return Vec::new() };
        let Some(intent) = self.core.round(&id).map(|round| round.intent().clone()) else { return Vec::new() };
        if now_ms < intent.commit_end_ms().saturating_add(REVEAL_DELAY_MS) {
            return Vec::new();
        }
        let _span = observe::auction_span(chain_id, id).entered();
        let reveal = BidReveal {
            chainId: chain_id,
            intentId: id,
            executor,
            repayAmount: sealed.bid.repay_amount,
            premium: sealed.bid.premium,
            salt: sealed.salt,
        };
        if self.core.on_reveal(our_key, &reveal, now_ms).is_err() {
            // We slept through the reveal window; the commit alone is worth nothing.
            ours.leave();
            return vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })];
        }
        ours.bid = OurBid::Revealed(sealed);
        observe::bid_revealed();
        vec![Action::PublishReveal { chain_id, intent_id: id, reveal, until_ms: intent.reveal_end_ms() }]
    }

    fn on_progress(&mut self, chain_id: u64, our_key: PeerKey, progress: Progress) -> Vec<Action> {
        match progress {
            Progress::Decided { .. } => Vec::new(),
            Progress::RankDue { id, rank, award } => {
                // The previous rank's award died unsettled: if it was not ours, the round
                // moves on; if this one is ours, votes for it will follow.
                let Some(ours) = self.ours.get_mut(&id) else { return Vec::new() };
                if rank == 0 || !matches!(ours.bid, OurBid::Revealed(_)) {
                    return Vec::new();
                }
                if ours.standing == Standing::Open && award.executor != self.params.executor {
                    ours.standing = Standing::Reported;
                    let winning = self.core.round(&id).and_then(|round| round.award_for_rank(0)).map(|a| a.premium);
                    return vec![Action::Report(AuctionOutcome::Lost {
                        chain_id,
                        intent_id: id,
                        winning_premium: winning,
                    })];
                }
                Vec::new()
            }
            Progress::Exhausted { id, .. } => {
                let Some(ours) = self.ours.get_mut(&id) else { return Vec::new() };
                if !matches!(ours.bid, OurBid::Revealed(_)) || !matches!(ours.standing, Standing::Open) {
                    return Vec::new();
                }
                ours.standing = Standing::Done;
                let top = self.core.round(&id).and_then(|round| round.ranking().first().cloned());
                let outcome = match top {
                    Some(top) if top.solver != our_key => {
                        AuctionOutcome::Lost { chain_id, intent_id: id, winning_premium: Some(top.premium) }
                    }
                    _ => AuctionOutcome::Expired { chain_id, intent_id: id },
                };
                vec![Action::Report(outcome)]
            }
        }
    }
}

/// Settle any quorum award for us; report `Lost` on a quorum award for someone else.
fn evaluate_votes(chain_id: u64, executor: Address, committee: &Committee, id: B256, ours: &mut Ours) -> Vec<Action> {
    let OurBid::Revealed(sealed) = ours.bid else { return Vec::new() };
    let _span = observe::auction_span(chain_id, id).entered();
    let mut actions = Vec::new();
    for quorum in ours.votes.quorums(committee) {
        let award = &quorum.award;
        if award.executor != executor {
            if ours.standing == Standing::Open {
                observe::award_not_ours(award.executor, award.premium);
                ours.standing = Standing::Reported;
                actions.push(Action::Report(AuctionOutcome::Lost {
                    chain_id,
                    intent_id: id,
                    winning_premium: Some(award.premium),
                }));
            }
            continue;
        }
        if award.repayAmount != sealed.bid.repay_amount || award.premium != sealed.bid.premium {
            if ours.settles_started.insert(award.clone()) {
                observe::award_mismatch(award.repayAmount, award.premium, sealed.bid.repay_amount, sealed.bid.premium);
            }
            continue;
        }
        let can_settle = matches!(ours.standing, Standing::Open | Standing::Reported);
        if can_settle && ours.settles_started.insert(award.clone()) {
            observe::quorum_reached(quorum.signatures.len(), award.deadline);
            ours.standing = Standing::Settling;
            actions.push(Action::Settle { chain_id, intent_id: id, quorum });
        }
    }
    actions
}
