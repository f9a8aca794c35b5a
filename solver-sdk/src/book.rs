//! Every auction this solver follows, per chain. Judgement of every message, the
//! auction rounds and the award schedule come from the protocol's shared auction core
//! (`backstop_protocol::auction::ChainBook`), the same code the nodes run; this module
//! adds only our own part: asking the strategy, our sealed bid, the votes we collect
//! and which outcome is due. Pure: time, salts and chain reads come in as arguments and
//! the caller performs the returned [`Action`]s.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, Bytes, B256, U256};
use backstop_protocol::auction::{Accepted, ChainBook as CoreBook, ChainContext, IntentFacts, Judged, Progress};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{BidCommit, BidReveal, Intent, Message};
use backstop_protocol::timing::CLOCK_DISPARITY_MS;
use backstop_protocol::{Award, Kind, PeerKey, Rejection, Verdict, Verified};

use crate::bidding::{cost, decide, funding_shortfall, BidDecision};
use crate::observe;
use crate::outcome::{AuctionOutcome, CollateralReceived};
use crate::pricing::{Inventory, Pricing};
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

/// An intent the strategy is to be asked about, before the runtime priced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Asked {
    pub chain_id: u64,
    pub intent_id: B256,
    pub intent: Intent,
    pub executor: Address,
    pub origin: PeerKey,
    pub received_at_ms: u64,
    /// Debt asset our other open bids on this chain may still draw.
    pub reserved: U256,
    /// The market's adapter (`IMarginMarket`), as registered on the settlement.
    pub adapter: Address,
    /// The adapter's collateral assets.
    pub collateral_assets: Vec<Address>,
    /// The chain head the intent's check read, if any: pricing reads at it.
    pub head_block: Option<u64>,
}

impl Asked {
    /// The strategy's view once the runtime read `pricing` from the chain.
    pub fn into_view(self, mut pricing: Pricing) -> IntentView {
        pricing.inventory.reserved = self.reserved;
        IntentView {
            chain_id: self.chain_id,
            intent_id: self.intent_id,
            intent: self.intent,
            executor: self.executor,
            origin: self.origin,
            received_at_ms: self.received_at_ms,
            pricing,
        }
    }

    /// Milliseconds left to answer at `now_ms`; zero once the commit window closed.
    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.intent.commit_end_ms().saturating_sub(now_ms)
    }
}

/// Effects the runtime performs for the book.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Price the intent and ask the strategy for a bid, answering with [`Book::on_bid`]
    /// (or [`Book::on_unpriced`]) before the commit window closes.
    AskStrategy(Asked),
    /// Read the chain's view of a peer's intent and answer with [`Book::on_intent_facts`];
    /// the message's gossip verdict waits for it.
    ///
    /// The runtime may start pricing the intent at the same time (the market is known; the
    /// claims are not verified yet): [`Action::AskStrategy`] then finds the reads done.
    CheckIntent {
        chain_id: u64,
        adapter: Address,
        /// The market's collateral assets, for the speculative pricing.
        collateral_assets: Vec<Address>,
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
        collateral_received: Vec<CollateralReceived>,
        gas_used: u64,
        gas_cost_wei: U256,
    },
    Reverted {
        reason: String,
        /// False when the simulation caught it and nothing was sent.
        sent: bool,
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

/// An auction the chain closed: an award settled it, or the open path consumed its nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The auction.
    pub intent_id: B256,
    /// `(executor, premium)` of the settled award; `None` for the open path.
    pub settled: Option<(Address, U256)>,
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
        if let Message::Vote(vote) = &verified.message {
            let on_topic = topic_kind == Kind::Vote && verified.message.chain_id() == chain_id;
            if on_topic && !chain.wants_vote(executor, &vote.award) {
                // Not about a bid of ours that a vote can still move: recovering its
                // signer (half a millisecond in a debug build, on the loop every bid
                // waits on) would buy nothing. Malformed still costs its sender; the
                // rest is neither verified nor relayed by us (the nodes carry it).
                return match chain.core.screen_vote(vote) {
                    Err(rejection) => refused(topic_kind, rejection, Vec::new()),
                    Ok(()) => {
                        observe::vote_skipped();
                        Handled::verdict(Verdict::Ignore, Vec::new())
                    }
                };
            }
        }
        match chain.core.on_message(topic_kind, &verified, now_ms) {
            Ok(Judged::CheckIntent { origin, intent }) => {
                let Some(market) = chain.core.context.markets.get(&intent.marketId) else {
                    return refused(topic_kind, Rejection::UnknownMarket, Vec::new());
                };
                let (adapter, collateral_assets) = (market.adapter, market.collateral_assets.clone());
                Handled {
                    verdict: None,
                    actions: vec![Action::CheckIntent { chain_id, adapter, collateral_assets, origin, intent }],
                }
            }
            Ok(Judged::HoldVote) => {
                // Nodes hold and forward it once decided; we only count it.
                let actions = match &verified.message {
                    Message::Vote(vote) => {
                        chain.count_unverified_vote(chain_id, executor, &vote.award, &vote.signature)
                    }
                    _ => Vec::new(),
                };
                Handled::verdict(Verdict::Ignore, actions)
            }
            Ok(Judged::Accepted(Accepted::Vote { award, signer, signature, .. })) => {
                let actions = chain.count_vote(chain_id, executor, &award, signer, &signature);
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
                        late.push(Action::Report(AuctionOutcome::TooLate { chain_id, intent_id: id }));
                    }
                }
                refused(topic_kind, Rejection::PastCommits, late)
            }
            Err(Rejection::VoteNotLocalAward) => {
                // Our own bid's award, signed by the committee, counts whatever our ranking
                // says: learning of a settlement late can leave our no-show ledger, and so
                // our ranking, apart from the nodes' for a while. The contract judges the
                // signatures, and we settle only the terms we bid.
                let actions = match &verified.message {
                    Message::Vote(vote) => chain.count_own_vote(chain_id, executor, &vote.award, &vote.signature),
                    _ => Vec::new(),
                };
                refused(topic_kind, Rejection::VoteNotLocalAward, actions)
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
        let intent_claims = intent.clone();
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
                let reserved = chain.reserved(intent.debtAsset);
                let (adapter, collateral_assets) = match chain.core.context.markets.get(&intent.marketId) {
                    Some(market) => (market.adapter, market.collateral_assets.clone()),
                    None => (Address::ZERO, Vec::new()),
                };
                let asked = Asked {
                    chain_id,
                    intent_id: id,
                    intent,
                    executor: chain.params.executor,
                    origin,
                    received_at_ms: now_ms,
                    reserved,
                    adapter,
                    collateral_assets,
                    head_block: facts.map(|facts| facts.head_block),
                };
                (Verdict::Accept, vec![Action::AskStrategy(asked)])
            }
            Ok(Accepted::CopyAdopted { .. }) => {
                observe::intent_copy_adopted(id);
                (Verdict::Accept, Vec::new())
            }
            Ok(_) => (Verdict::Accept, Vec::new()),
            Err(rejection) => {
                let _span = observe::auction_span(chain_id, id).entered();
                if rejection.verdict() == Verdict::Reject {
                    if let Some(facts) = facts {
                        observe::claims_refuted(&intent_claims, facts);
                    }
                }
                let handled = refused(Kind::Intent, rejection, Vec::new());
                (handled.verdict.unwrap_or(Verdict::Ignore), handled.actions)
            }
        }
    }

    /// The intent could not be priced (the chain could not be read): no bid.
    pub fn on_unpriced(&mut self, chain_id: u64, id: B256, reason: String) -> Vec<Action> {
        let Some(ours) = self.chains.get_mut(&chain_id).and_then(|chain| chain.ours.get_mut(&id)) else {
            return Vec::new();
        };
        if ours.bid != OurBid::Asking {
            return Vec::new();
        }
        ours.leave();
        vec![Action::Report(AuctionOutcome::Unpriced { chain_id, intent_id: id, reason })]
    }

    /// The strategy answered for an intent, priced with the executor's `inventory`; `salt`
    /// must be fresh randomness. The bid is committed only if the executor can fund it.
    pub fn on_bid(
        &mut self,
        chain_id: u64,
        id: B256,
        bid: Option<Bid>,
        inventory: &Inventory,
        salt: B256,
        now_ms: u64,
    ) -> Vec<Action> {
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
            return vec![Action::Report(AuctionOutcome::Declined { chain_id, intent_id: id })];
        };
        let commit_end_ms = intent.commit_end_ms();
        if now_ms > commit_end_ms {
            observe::strategy_timed_out();
            ours.leave();
            return vec![Action::Report(AuctionOutcome::TooLate { chain_id, intent_id: id })];
        }
        // The bid is judged against the canonical copy now: it may have replaced the one
        // the strategy saw (terms freeze with the first commit).
        match decide(&intent, bid) {
            BidDecision::BelowReserve { premium, reserve } => {
                observe::bid_below_reserve(premium, reserve);
                ours.leave();
                vec![Action::Report(AuctionOutcome::BelowReserve { chain_id, intent_id: id, premium, reserve })]
            }
            BidDecision::ZeroRepay => {
                observe::bid_zero_repay();
                ours.leave();
                vec![Action::Report(AuctionOutcome::Declined { chain_id, intent_id: id })]
            }
            BidDecision::Place(placed) => {
                // Reserved by our other open bids, this one excluded (it is still `Asking`).
                let reserved = reserved_in(&chain.ours, &chain.core, intent.debtAsset);
                let Some(ours) = chain.ours.get_mut(&id) else { return Vec::new() };
                if let Some(shortfall) = funding_shortfall(&placed, inventory, reserved, &intent) {
                    observe::bid_not_funded(&shortfall);
                    ours.leave();
                    let mut actions =
                        vec![Action::Report(AuctionOutcome::NotFunded { chain_id, intent_id: id, shortfall })];
                    if shortfall.allowance < shortfall.needed.saturating_add(reserved) {
                        // Approving is ours to fix: later bids will be funded.
                        actions.push(Action::Approve { chain_id, market_id: intent.marketId });
                    }
                    return actions;
                }
                let sealed_commitment = commitment(id, our_key, executor, placed.repay_amount, placed.premium, salt);
                let commit = BidCommit { chainId: chain_id, intentId: id, commitment: sealed_commitment };
                let admission = &chain.core.context.admission;
                let admitted = if admission.admits(&our_key) && !admission.admits_executor(&our_key, executor) {
                    // The commit would count, but every peer refuses a reveal whose executor
                    // did not bond our key: committing would only make us a no-show.
                    Err(Rejection::ExecutorNotAdmitted)
                } else {
                    chain.core.on_commit(our_key, &commit, now_ms).map(|_| ())
                };
                if let Err(rejection) = admitted {
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
                observe::bid_committed(&placed, placed.repay_amount != bid.repay_amount, &intent, now_ms);
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
        vec![Action::Report(AuctionOutcome::TooLate { chain_id, intent_id: id })]
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
        vec![Action::Report(AuctionOutcome::TooLate { chain_id, intent_id: id })]
    }

    /// The chain closed these auctions (an award settled, or the open path consumed the
    /// nonce): they are over on every peer. Closing them keeps our view of the no-show
    /// ledger the nodes' (a winner who settled is no no-show), so our awards match theirs
    /// and their votes count. An auction we were still in is `Lost` to the settled
    /// award's premium (`None` for the open path); our own settlement reports itself.
    pub fn on_closed(&mut self, chain_id: u64, closed: &[Closed]) -> Vec<Action> {
        let Some(chain) = self.chains.get_mut(&chain_id) else { return Vec::new() };
        let executor = chain.params.executor;
        let mut actions = Vec::new();
        for closed in closed {
            let id = closed.intent_id;
            chain.core.close(id);
            let Some(ours) = chain.ours.get_mut(&id) else { continue };
            if closed.settled.is_some_and(|(settled_by, _)| settled_by == executor) {
                continue; // ours: the settle task reports it
            }
            let in_the_running = matches!(ours.bid, OurBid::Revealed(_)) && ours.standing == Standing::Open;
            ours.standing = Standing::Done;
            if in_the_running {
                let winning_premium = closed.settled.map(|(_, premium)| premium);
                actions.push(Action::Report(AuctionOutcome::Lost { chain_id, intent_id: id, winning_premium }));
            }
        }
        actions
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
            SettleResult::Settled { tx_hash, collateral_received, gas_used, gas_cost_wei } => AuctionOutcome::Won {
                chain_id,
                intent_id: id,
                tx_hash,
                repay_amount: award.repayAmount,
                premium: award.premium,
                collateral_received,
                gas_used,
                gas_cost_wei,
            },
            SettleResult::Reverted { reason, sent } => {
                AuctionOutcome::SettleReverted { chain_id, intent_id: id, reason, sent }
            }
            SettleResult::Expired => AuctionOutcome::AwardExpired { chain_id, intent_id: id },
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

/// What our open bids on a chain may still draw of `debt_asset` at settlement: repay plus
/// premium of every committed bid that has not lost, expired or settled.
fn reserved_in(ours: &HashMap<B256, Ours>, core: &CoreBook, debt_asset: Address) -> U256 {
    ours.iter()
        .filter(|(_, ours)| matches!(ours.standing, Standing::Open | Standing::Settling))
        .filter_map(|(id, ours)| match ours.bid {
            OurBid::Committed(sealed) | OurBid::Revealed(sealed) => Some((id, sealed)),
            OurBid::Asking | OurBid::Out => None,
        })
        .filter(|(id, _)| core.round(id).is_none_or(|round| round.intent().debtAsset == debt_asset))
        .fold(U256::ZERO, |sum, (_, sealed)| sum.saturating_add(cost(&sealed.bid)))
}

impl ChainBook {
    fn reserved(&self, debt_asset: Address) -> U256 {
        reserved_in(&self.ours, &self.core, debt_asset)
    }

    /// Whether a vote for `award` can still change what we do: it is about a round we
    /// revealed a bid in, and either nothing is reported yet (any award's quorum tells us
    /// whether we won or lost) or it names our executor (a runner-up award after a loss).
    /// Once our settle is under way or we are done, no vote matters.
    fn wants_vote(&self, executor: Address, award: &Award) -> bool {
        let Some(ours) = self.ours.get(&award.intentId) else { return false };
        if !matches!(ours.bid, OurBid::Revealed(_)) {
            return false;
        }
        match ours.standing {
            Standing::Open => true,
            Standing::Reported => award.executor == executor,
            Standing::Settling | Standing::Done => false,
        }
    }

    /// A vote the core held unverified (our round is not decided yet): recovered here.
    fn count_unverified_vote(
        &mut self,
        chain_id: u64,
        executor: Address,
        award: &Award,
        signature: &[u8],
    ) -> Vec<Action> {
        let Ok(signer) = award.recover_signer(chain_id, self.params.settlement, signature) else { return Vec::new() };
        self.count_vote(chain_id, executor, award, signer, signature)
    }

    /// Tallies a vote whose signature recovered to `signer`.
    fn count_vote(
        &mut self,
        chain_id: u64,
        executor: Address,
        award: &Award,
        signer: Address,
        signature: &[u8],
    ) -> Vec<Action> {
        let id = award.intentId;
        let Some(ours) = self.ours.get_mut(&id) else { return Vec::new() };
        if !matches!(ours.bid, OurBid::Revealed(_)) {
            return Vec::new();
        }
        match ours.votes.add(award.clone(), signer, Bytes::copy_from_slice(signature)) {
            Tally::Counted { .. } => {
                let committee = self.core.context.committee.clone();
                evaluate_votes(chain_id, executor, &committee, id, ours)
            }
            Tally::Duplicate | Tally::Full => Vec::new(),
        }
    }

    /// A committee vote our core did not compute itself (see `on_message`): counted only
    /// if it awards our executor exactly our revealed bid and a current attester signed it,
    /// so nobody outside the committee can fill our tally.
    fn count_own_vote(&mut self, chain_id: u64, executor: Address, award: &Award, signature: &[u8]) -> Vec<Action> {
        let Some(ours) = self.ours.get(&award.intentId) else { return Vec::new() };
        let OurBid::Revealed(sealed) = &ours.bid else { return Vec::new() };
        if award.executor != executor
            || award.repayAmount != sealed.bid.repay_amount
            || award.premium != sealed.bid.premium
        {
            return Vec::new();
        }
        let Ok(signer) = award.recover_signer(chain_id, self.params.settlement, signature) else { return Vec::new() };
        if !self.core.context.committee.attesters.contains(&signer) {
            return Vec::new();
        }
        self.count_vote(chain_id, executor, award, signer, signature)
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
            return vec![Action::Report(AuctionOutcome::TooLate { chain_id, intent_id: id })];
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
                // We were the winner and our award died unsettled: not a loss, but
                // `Expired` once the round is exhausted.
                let top = self.core.round(&id).and_then(|round| round.ranking().first().map(|top| top.solver));
                if top == Some(our_key) {
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
                    _ => AuctionOutcome::AwardExpired { chain_id, intent_id: id },
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;
    use backstop_protocol::auction::{Admission, Committee, MarketTerms, SolverSet};
    use backstop_protocol::award::signature_bytes;
    use backstop_protocol::message::AwardVote;

    const CHAIN: u64 = 31337;
    const OPEN_MS: u64 = 1_700_000_000_000;

    fn settlement() -> Address {
        Address::repeat_byte(0x5e)
    }

    fn our_key() -> PeerKey {
        B256::repeat_byte(0x01)
    }

    fn our_executor() -> Address {
        Address::repeat_byte(0xee)
    }

    /// The node that originates intents.
    fn node_key() -> PeerKey {
        B256::repeat_byte(0x0d)
    }

    /// Another node, originating a competing copy.
    fn other_node_key() -> PeerKey {
        B256::repeat_byte(0x0e)
    }

    fn rival_key() -> PeerKey {
        B256::repeat_byte(0x02)
    }

    fn rival_executor() -> Address {
        Address::repeat_byte(0x77)
    }

    fn third_key() -> PeerKey {
        B256::repeat_byte(0x03)
    }

    fn third_executor() -> Address {
        Address::repeat_byte(0x78)
    }

    fn salt() -> B256 {
        B256::repeat_byte(0x5a)
    }

    fn market() -> MarketTerms {
        MarketTerms {
            market_id: B256::repeat_byte(0xaa),
            adapter: Address::repeat_byte(0xad),
            debt_asset: Address::repeat_byte(0xde),
            collateral_assets: vec![Address::repeat_byte(0xc0)],
            reserve_premium: U256::from(5),
        }
    }

    /// We, the rival and a third solver, each bonded by its own executor.
    fn all_bonded() -> Admission {
        let mut solvers = SolverSet::default();
        for (key, executor) in
            [(our_key(), our_executor()), (rival_key(), rival_executor()), (third_key(), third_executor())]
        {
            solvers.admit(key, executor);
        }
        Admission::Bonded(solvers)
    }

    fn context(attesters: &[PrivateKeySigner], threshold: usize, admission: Admission) -> ChainContext {
        let mut context = ChainContext::new(CHAIN, settlement());
        context.markets.insert(market().market_id, market());
        context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), threshold);
        context.admission = admission;
        context
    }

    fn intent(open_ms: u64, observed_block: u64) -> Intent {
        Intent {
            chainId: CHAIN,
            settlement: settlement(),
            marketId: market().market_id,
            account: Address::repeat_byte(0xac),
            nonce: U256::from(3),
            debtAsset: market().debt_asset,
            collateralAsset: market().collateral_assets[0],
            maxRepay: U256::from(1_000),
            observedBlock: observed_block,
            observedPrice: U256::from(2_000),
            openTimeMs: open_ms,
            commitMs: 800,
            revealMs: 400,
            reservePremium: market().reserve_premium,
        }
    }

    /// What the chain says when every claim of `intent` is true.
    fn facts(intent: &Intent) -> IntentFacts {
        IntentFacts {
            head_block: intent.observedBlock + 1,
            liquidatable: true,
            max_repay: intent.maxRepay,
            price: intent.observedPrice,
            current_nonce: intent.nonce,
        }
    }

    /// An executor that can fund anything.
    fn rich() -> Inventory {
        Inventory {
            debt_balance: U256::MAX,
            allowance: U256::MAX,
            reserved: U256::ZERO,
            native_balance: U256::MAX,
            flash_financed: false,
        }
    }

    fn bid(repay: u64, premium: u64) -> Bid {
        Bid { repay_amount: U256::from(repay), premium: U256::from(premium) }
    }

    fn vote(attester: &PrivateKeySigner, award: &Award) -> Message {
        let signature = attester.sign_hash_sync(&award.signing_hash(CHAIN, settlement())).expect("signing cannot fail");
        Message::Vote(AwardVote {
            chainId: CHAIN,
            settlement: settlement(),
            award: award.clone(),
            signature: Bytes::from(signature_bytes(&signature).to_vec()),
        })
    }

    fn reports(actions: &[Action]) -> Vec<AuctionOutcome> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Report(outcome) => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    }

    fn asks(actions: &[Action]) -> Vec<Asked> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::AskStrategy(view) => Some(view.clone()),
                _ => None,
            })
            .collect()
    }

    fn settles(actions: &[Action]) -> Vec<Quorum> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Settle { quorum, .. } => Some(quorum.clone()),
                _ => None,
            })
            .collect()
    }

    fn lost(intent: &Intent, winning_premium: u64) -> AuctionOutcome {
        AuctionOutcome::Lost {
            chain_id: CHAIN,
            intent_id: intent.id(),
            winning_premium: Some(U256::from(winning_premium)),
        }
    }

    fn expired(intent: &Intent) -> AuctionOutcome {
        AuctionOutcome::AwardExpired { chain_id: CHAIN, intent_id: intent.id() }
    }

    fn late(intent: &Intent) -> AuctionOutcome {
        AuctionOutcome::TooLate { chain_id: CHAIN, intent_id: intent.id() }
    }

    /// A solver's sealed bid of `premium` for the whole max repay.
    fn sealed(intent: &Intent, solver: PeerKey, executor: Address, premium: u64) -> (BidCommit, BidReveal) {
        let reveal = BidReveal {
            chainId: CHAIN,
            intentId: intent.id(),
            executor,
            repayAmount: intent.maxRepay,
            premium: U256::from(premium),
            salt: solver,
        };
        let commit = BidCommit {
            chainId: CHAIN,
            intentId: intent.id(),
            commitment: commitment(intent.id(), solver, executor, reveal.repayAmount, reveal.premium, reveal.salt),
        };
        (commit, reveal)
    }

    struct Fixture {
        book: Book,
        attesters: Vec<PrivateKeySigner>,
    }

    /// One chain, a 2-of-3 committee, and us, the rival and a third solver bonded.
    fn fixture() -> Fixture {
        fixture_with(2, all_bonded())
    }

    fn fixture_with(threshold: usize, admission: Admission) -> Fixture {
        let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let params = ChainParams {
            chain_id: CHAIN,
            settlement: settlement(),
            executor: our_executor(),
            context: context(&attesters, threshold, admission),
        };
        Fixture { book: Book::new(our_key(), [params]), attesters }
    }

    impl Fixture {
        fn deliver(&mut self, signer: PeerKey, message: Message, now_ms: u64) -> Handled {
            let kind = message.kind();
            self.book.on_message(CHAIN, kind, Verified { signer, message }, now_ms)
        }

        /// Delivers `intent` from `origin` and answers its chain check with `facts`.
        fn open_with(
            &mut self,
            origin: PeerKey,
            intent: &Intent,
            facts: &IntentFacts,
            now_ms: u64,
        ) -> (Verdict, Vec<Action>) {
            let handled = self.deliver(origin, Message::Intent(intent.clone()), now_ms);
            match handled {
                Handled { verdict: None, actions } => match actions.as_slice() {
                    [Action::CheckIntent { origin, intent, .. }] => {
                        self.book.on_intent_facts(CHAIN, *origin, intent.clone(), Some(facts), now_ms)
                    }
                    other => panic!("a held intent asks for its chain check, got {other:?}"),
                },
                Handled { verdict: Some(verdict), actions } => (verdict, actions),
            }
        }

        /// Delivers `intent` from `origin`, every claim true.
        fn open(&mut self, origin: PeerKey, intent: &Intent, now_ms: u64) -> (Verdict, Vec<Action>) {
            self.open_with(origin, intent, &facts(intent), now_ms)
        }

        fn core(&self) -> &CoreBook {
            &self.book.chains[&CHAIN].core
        }

        /// The award the core computed for `rank` (after the decision).
        fn award(&self, intent: &Intent, rank: usize) -> Award {
            self.core()
                .round(&intent.id())
                .and_then(|round| round.award_for_rank(rank))
                .expect("decided with that rank")
        }

        fn vote(&mut self, attester: usize, award: &Award, now_ms: u64) -> Handled {
            let message = vote(&self.attesters[attester], award);
            self.deliver(node_key(), message, now_ms)
        }

        /// Runs an auction up to our reveal: the intent opens, each rival commits, we
        /// answer `ours` (if any), each rival reveals, and our reveal is due.
        fn auction(&mut self, intent: &Intent, ours: Option<Bid>, rivals: &[(PeerKey, Address, u64)]) {
            let id = intent.id();
            let (verdict, actions) = self.open(node_key(), intent, intent.openTimeMs + 10);
            assert_eq!(verdict, Verdict::Accept);
            assert_eq!(asks(&actions).len(), 1, "{actions:?}");
            let mut reveals = Vec::new();
            for (solver, executor, premium) in rivals {
                let (commit, reveal) = sealed(intent, *solver, *executor, *premium);
                let handled = self.deliver(*solver, Message::Commit(commit), intent.openTimeMs + 50);
                assert_eq!(handled.verdict, Some(Verdict::Accept), "rival commit");
                reveals.push((*solver, reveal));
            }
            if let Some(ours) = ours {
                let actions = self.book.on_bid(CHAIN, id, Some(ours), &rich(), salt(), intent.openTimeMs + 60);
                assert!(matches!(actions.first(), Some(Action::PublishCommit { .. })), "{actions:?}");
            }
            for (solver, reveal) in reveals {
                let handled = self.deliver(solver, Message::Reveal(reveal), intent.commit_end_ms() + 10);
                assert_eq!(handled.verdict, Some(Verdict::Accept), "rival reveal");
            }
            let actions = self.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
            assert_eq!(
                actions.iter().filter(|action| matches!(action, Action::PublishReveal { .. })).count(),
                usize::from(ours.is_some()),
                "{actions:?}"
            );
        }
    }

    /// We used to learn of no settlement but our own: a rival's auction stayed open in our
    /// book until its last award window passed, the rival counted as a no-show, and after
    /// two of those our ranking (and so every award we expected) differed from the nodes'.
    /// Their votes were refused as "not the local award" and we reported `AwardExpired`
    /// for auctions long settled.
    #[test]
    fn a_rival_that_settled_is_lost_to_and_never_a_no_show() {
        let mut fixture = fixture();
        let first = intent(OPEN_MS, 10);
        fixture.auction(&first, Some(bid(1_000, 9)), &[(rival_key(), rival_executor(), 20)]);
        fixture.book.tick(first.decide_at_ms());
        let settled = Closed { intent_id: first.id(), settled: Some((rival_executor(), U256::from(20))) };
        assert_eq!(
            fixture.book.on_closed(CHAIN, std::slice::from_ref(&settled)),
            vec![Action::Report(lost(&first, 20))]
        );
        assert!(fixture.book.on_closed(CHAIN, &[settled]).is_empty(), "reported once");
        assert!(fixture.core().round(&first.id()).is_none(), "closed");
        let long_after = first.exhausted_at_ms(2) + 60_000;
        assert!(fixture.book.tick(long_after).is_empty(), "no AwardExpired for a settled auction");
        assert_eq!(fixture.core().no_shows().count(&rival_key(), long_after), 0);
        assert_eq!(fixture.core().no_shows().count(&our_key(), long_after), 0);

        // The open path consumed the nonce of an auction we were in: lost, to no premium.
        let mut second = intent(long_after, 30);
        second.account = Address::repeat_byte(0xad);
        fixture.auction(&second, Some(bid(1_000, 9)), &[]);
        let open = Closed { intent_id: second.id(), settled: None };
        let expected = AuctionOutcome::Lost { chain_id: CHAIN, intent_id: second.id(), winning_premium: None };
        assert_eq!(fixture.book.on_closed(CHAIN, &[open]), vec![Action::Report(expected)]);

        // Our own settlement is the settle task's to report.
        let mut third = intent(long_after + 10_000, 40);
        third.account = Address::repeat_byte(0xae);
        fixture.auction(&third, Some(bid(1_000, 9)), &[]);
        let ours = Closed { intent_id: third.id(), settled: Some((our_executor(), U256::from(9))) };
        assert!(fixture.book.on_closed(CHAIN, &[ours]).is_empty());
    }

    #[test]
    fn an_intent_asks_the_strategy_exactly_once_after_its_chain_check() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        let handled = fixture.deliver(node_key(), Message::Intent(intent.clone()), OPEN_MS + 100);
        assert_eq!(
            handled,
            Handled {
                verdict: None,
                actions: vec![Action::CheckIntent {
                    chain_id: CHAIN,
                    adapter: market().adapter,
                    collateral_assets: market().collateral_assets,
                    origin: node_key(),
                    intent: intent.clone(),
                }],
            },
            "held until the chain says its claims hold"
        );
        // A relayed copy while the check is in flight asks for nothing more.
        let again = fixture.deliver(node_key(), Message::Intent(intent.clone()), OPEN_MS + 110);
        assert_eq!(again, Handled { verdict: Some(Verdict::Ignore), actions: vec![] });

        let (verdict, actions) =
            fixture.book.on_intent_facts(CHAIN, node_key(), intent.clone(), Some(&facts(&intent)), OPEN_MS + 120);
        assert_eq!(verdict, Verdict::Accept);
        let [Action::AskStrategy(view)] = actions.as_slice() else { panic!("one AskStrategy, got {actions:?}") };
        assert_eq!(view.intent_id, intent.id());
        assert_eq!(view.intent, intent);
        assert_eq!(view.executor, our_executor());
        assert_eq!(view.origin, node_key());
        assert_eq!(view.remaining_ms(OPEN_MS + 120), 680);

        // The same intent again, on the wire or as a repeated chain answer, asks nothing.
        let again = fixture.deliver(node_key(), Message::Intent(intent.clone()), OPEN_MS + 130);
        assert_eq!(again, Handled { verdict: Some(Verdict::Ignore), actions: vec![] });
        let (verdict, actions) =
            fixture.book.on_intent_facts(CHAIN, node_key(), intent.clone(), Some(&facts(&intent)), OPEN_MS + 140);
        assert_eq!((verdict, actions), (Verdict::Ignore, vec![]));
    }

    #[test]
    fn an_intent_with_a_false_claim_is_rejected_and_never_asks_the_strategy() {
        let mut fixture = fixture();
        let honest = intent(OPEN_MS, 10);
        let truth = facts(&honest);

        let mut cheaper = honest.clone();
        cheaper.maxRepay = U256::from(999);
        assert_eq!(fixture.open_with(node_key(), &cheaper, &truth, OPEN_MS + 10), (Verdict::Reject, vec![]));

        let healthy = IntentFacts { liquidatable: false, ..truth.clone() };
        assert_eq!(fixture.open_with(node_key(), &honest, &healthy, OPEN_MS + 20), (Verdict::Reject, vec![]));

        // An unreadable chain proves nothing either way: dropped, not penalised.
        let handled = fixture.deliver(node_key(), Message::Intent(honest.clone()), OPEN_MS + 30);
        assert_eq!(handled.verdict, None);
        let unread = fixture.book.on_intent_facts(CHAIN, node_key(), honest.clone(), None, OPEN_MS + 30);
        assert_eq!(unread, (Verdict::Ignore, vec![]));

        assert!(fixture.core().round(&honest.id()).is_none(), "nothing false is tracked");
        assert!(!fixture.book.chains[&CHAIN].ours.contains_key(&honest.id()));
        assert!(fixture.book.on_bid(CHAIN, honest.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 40).is_empty());

        // The honest copy still opens the auction afterwards.
        let (verdict, actions) = fixture.open(node_key(), &honest, OPEN_MS + 50);
        assert_eq!(verdict, Verdict::Accept);
        assert_eq!(asks(&actions).len(), 1);
    }

    #[test]
    fn the_commit_binds_our_key_executor_the_canonical_max_repay_and_the_salt() {
        let mut fixture = fixture();
        let first = intent(OPEN_MS, 12);
        let (_, actions) = fixture.open(node_key(), &first, OPEN_MS + 10);
        assert_eq!(asks(&actions)[0].intent.maxRepay, U256::from(1_000), "the strategy saw the first copy");
        // A copy observed one block earlier (when less could be repaid) takes precedence.
        let mut canonical = intent(OPEN_MS + 5, 11);
        canonical.maxRepay = U256::from(900);
        let (verdict, actions) = fixture.open(other_node_key(), &canonical, OPEN_MS + 20);
        assert_eq!((verdict, actions), (Verdict::Accept, vec![]), "an adopted copy does not ask again");

        let actions = fixture.book.on_bid(CHAIN, first.id(), Some(bid(5_000, 7)), &rich(), salt(), OPEN_MS + 100);
        let expected = commitment(first.id(), our_key(), our_executor(), U256::from(900), U256::from(7), salt());
        assert_eq!(
            actions,
            vec![
                Action::PublishCommit {
                    chain_id: CHAIN,
                    intent_id: first.id(),
                    commit: BidCommit { chainId: CHAIN, intentId: first.id(), commitment: expected },
                    until_ms: canonical.commit_end_ms() + CLOCK_DISPARITY_MS / 2,
                },
                Action::Approve { chain_id: CHAIN, market_id: market().market_id },
            ]
        );
        assert!(fixture.core().round(&first.id()).unwrap().has_commit(&our_key()), "our own peer counts it too");
        // One answer per intent: a second one is dropped.
        assert!(fixture.book.on_bid(CHAIN, first.id(), Some(bid(1, 9)), &rich(), salt(), OPEN_MS + 101).is_empty());
    }

    #[test]
    fn the_reveal_goes_out_at_commit_end_plus_the_delay_and_opens_the_commitment() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(800, 9)), &rich(), salt(), OPEN_MS + 100);
        let Some(Action::PublishCommit { commit, .. }) = actions.first() else { panic!("{actions:?}") };
        let committed = commit.commitment;

        assert!(fixture.book.tick(intent.commit_end_ms()).is_empty(), "commit window: nothing to reveal yet");
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS - 1).is_empty());
        let actions = fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
        let [Action::PublishReveal { chain_id, intent_id, reveal, until_ms }] = actions.as_slice() else {
            panic!("one reveal, got {actions:?}")
        };
        assert_eq!((*chain_id, *intent_id, *until_ms), (CHAIN, intent.id(), intent.reveal_end_ms()));
        assert_eq!(reveal.executor, our_executor());
        assert_eq!((reveal.repayAmount, reveal.premium, reveal.salt), (U256::from(800), U256::from(9), salt()));
        assert_eq!(
            commitment(intent.id(), our_key(), reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt),
            committed,
            "the reveal opens exactly what we committed"
        );
        assert_eq!(fixture.core().round(&intent.id()).unwrap().reveal_count(), 1, "our own core accepted it");
        assert!(fixture.book.tick(intent.commit_end_ms() + 200).is_empty(), "revealed once");
    }

    #[test]
    fn a_bid_below_the_reserve_is_not_sent_and_reports_below_reserve() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 4)), &rich(), salt(), OPEN_MS + 100);
        assert_eq!(
            actions,
            vec![Action::Report(AuctionOutcome::BelowReserve {
                chain_id: CHAIN,
                intent_id: intent.id(),
                premium: U256::from(4),
                reserve: U256::from(5)
            })]
        );
        assert!(!fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()));
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty(), "nothing to reveal");
    }

    #[test]
    fn declining_reports_declined_once_and_nothing_after() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, None, &[(rival_key(), rival_executor(), 20)]);
        assert_eq!(
            fixture.book.on_bid(CHAIN, intent.id(), None, &rich(), salt(), OPEN_MS + 100),
            vec![Action::Report(AuctionOutcome::Declined { chain_id: CHAIN, intent_id: intent.id() })]
        );
        assert!(fixture
            .book
            .on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 101)
            .is_empty());
        let mut actions = Vec::new();
        for now in [intent.decide_at_ms(), intent.award_window(1).start_ms, intent.exhausted_at_ms(1)] {
            actions.extend(fixture.book.tick(now));
        }
        assert_eq!(actions, vec![], "no further outcome for an auction we sat out");
    }

    #[test]
    fn a_bid_the_executor_cannot_fund_is_never_committed() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let poor = Inventory { debt_balance: U256::from(1_008), ..rich() };
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &poor, salt(), OPEN_MS + 100);
        let [Action::Report(AuctionOutcome::NotFunded { shortfall, .. })] = actions.as_slice() else {
            panic!("one NotFunded, got {actions:?}");
        };
        assert_eq!((shortfall.needed, shortfall.balance), (U256::from(1_009), U256::from(1_008)));
        assert!(!fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()), "no commit");
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty(), "nothing to reveal");
    }

    #[test]
    fn a_missing_allowance_is_not_funded_and_asks_for_an_approval() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let unapproved = Inventory { allowance: U256::ZERO, ..rich() };
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &unapproved, salt(), OPEN_MS + 100);
        assert!(matches!(actions.as_slice(), [
            Action::Report(AuctionOutcome::NotFunded { .. }),
            Action::Approve { chain_id: CHAIN, market_id }
        ] if *market_id == market().market_id));
    }

    #[test]
    fn open_bids_reserve_the_executors_funds_for_later_intents() {
        let mut fixture = fixture();
        let first = intent(OPEN_MS, 10);
        let second = Intent { account: Address::repeat_byte(0xab), ..intent(OPEN_MS, 10) };
        fixture.open(node_key(), &first, OPEN_MS + 10);
        fixture.open(node_key(), &second, OPEN_MS + 10);
        // Enough for one bid of 1_009, not two.
        let wallet = Inventory { debt_balance: U256::from(1_500), ..rich() };
        let placed = fixture.book.on_bid(CHAIN, first.id(), Some(bid(1_000, 9)), &wallet, salt(), OPEN_MS + 100);
        assert!(matches!(placed.first(), Some(Action::PublishCommit { .. })), "the first is funded: {placed:?}");
        let refused = fixture.book.on_bid(CHAIN, second.id(), Some(bid(1_000, 9)), &wallet, salt(), OPEN_MS + 100);
        let [Action::Report(AuctionOutcome::NotFunded { shortfall, .. })] = refused.as_slice() else {
            panic!("the second is not funded, got {refused:?}");
        };
        assert_eq!(shortfall.reserved, U256::from(1_009));
    }

    #[test]
    fn an_answer_after_commit_end_is_late() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions =
            fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), intent.commit_end_ms() + 1);
        assert_eq!(actions, vec![Action::Report(late(&intent))]);
        assert!(!fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()));
    }

    #[test]
    fn a_strategy_timeout_is_late_and_a_later_answer_is_dropped() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        assert_eq!(fixture.book.on_strategy_timeout(CHAIN, intent.id()), vec![Action::Report(late(&intent))]);
        assert!(fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 20).is_empty());
        assert!(fixture.book.on_strategy_timeout(CHAIN, intent.id()).is_empty(), "reported once");
    }

    #[test]
    fn an_intent_seen_after_its_commit_window_is_late_once() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        let now = intent.commit_end_ms() + CLOCK_DISPARITY_MS + 1;
        let handled = fixture.deliver(node_key(), Message::Intent(intent.clone()), now);
        assert_eq!(handled, Handled { verdict: Some(Verdict::Ignore), actions: vec![Action::Report(late(&intent))] });
        let other_copy = Intent { openTimeMs: intent.openTimeMs + 1, ..intent.clone() };
        let handled = fixture.deliver(other_node_key(), Message::Intent(other_copy), now + 1);
        assert_eq!(handled, Handled { verdict: Some(Verdict::Ignore), actions: vec![] }, "late once per auction");
    }

    #[test]
    fn a_failed_commit_publish_is_late_and_nothing_is_revealed() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 20);
        assert_eq!(fixture.book.on_publish_failed(CHAIN, intent.id()), vec![Action::Report(late(&intent))]);
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty(), "nothing to reveal");
    }

    #[test]
    fn an_unbonded_key_sends_nothing_and_reports_not_admitted() {
        let mut solvers = SolverSet::default();
        solvers.admit(rival_key(), rival_executor());
        let mut fixture = fixture_with(2, Admission::Bonded(solvers));
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 20);
        assert_eq!(
            actions,
            vec![Action::Report(AuctionOutcome::NotAdmitted {
                chain_id: CHAIN,
                intent_id: intent.id(),
                reason: Rejection::SolverNotAdmitted.to_string(),
            })]
        );
        assert!(!fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()));
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty(), "nothing to reveal");
    }

    #[test]
    fn a_bonded_key_commits() {
        let mut solvers = SolverSet::default();
        solvers.admit(our_key(), our_executor());
        let mut fixture = fixture_with(2, Admission::Bonded(solvers));
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 20);
        assert!(matches!(actions.as_slice(), [Action::PublishCommit { .. }, Action::Approve { .. }]), "{actions:?}");
        assert!(reports(&actions).is_empty());
        assert!(fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()));
        let actions = fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
        assert!(matches!(actions.as_slice(), [Action::PublishReveal { .. }]), "{actions:?}");
    }

    #[test]
    fn a_key_bonded_only_by_another_executor_sends_nothing_and_reports_not_admitted() {
        // Every peer would refuse our reveal (its executor did not bond our key), so a
        // commit would only make us a no-show.
        let mut solvers = SolverSet::default();
        solvers.admit(our_key(), Address::repeat_byte(0xef));
        let mut fixture = fixture_with(2, Admission::Bonded(solvers));
        let intent = intent(OPEN_MS, 10);
        fixture.open(node_key(), &intent, OPEN_MS + 10);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 20);
        assert_eq!(
            actions,
            vec![Action::Report(AuctionOutcome::NotAdmitted {
                chain_id: CHAIN,
                intent_id: intent.id(),
                reason: Rejection::ExecutorNotAdmitted.to_string(),
            })]
        );
        assert!(!fixture.core().round(&intent.id()).unwrap().has_commit(&our_key()), "no commit we cannot reveal");
    }

    #[test]
    fn threshold_votes_for_our_award_trigger_one_settle_with_distinct_signers() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[]);
        assert!(fixture.book.tick(intent.decide_at_ms()).is_empty());
        let ours = fixture.award(&intent, 0);
        assert_eq!((ours.executor, ours.repayAmount, ours.premium), (our_executor(), U256::from(1_000), U256::from(9)));
        let now = intent.decide_at_ms() + 10;

        let handled = fixture.vote(0, &ours, now);
        assert_eq!(handled, Handled { verdict: Some(Verdict::Accept), actions: vec![] }, "one of two is no quorum");
        // The same attester relayed again is no second signature.
        assert!(fixture.vote(0, &ours, now).actions.is_empty());

        let handled = fixture.vote(1, &ours, now);
        let [Action::Settle { chain_id, intent_id, quorum }] = handled.actions.as_slice() else {
            panic!("one settle, got {handled:?}")
        };
        assert_eq!((*chain_id, *intent_id), (CHAIN, intent.id()));
        assert_eq!(quorum.award, ours);
        assert_eq!(quorum.signatures.len(), 2);
        let signers: HashSet<Address> = quorum
            .signatures
            .iter()
            .map(|signature| ours.recover_signer(CHAIN, settlement(), signature).expect("recoverable"))
            .collect();
        let committee: HashSet<Address> = fixture.attesters.iter().map(PrivateKeySigner::address).collect();
        assert_eq!(signers.len(), 2, "distinct signers");
        assert!(signers.is_subset(&committee));

        // A third vote settles nothing more; neither does the deadline while the settle is in flight.
        assert!(fixture.vote(2, &ours, now).actions.is_empty());
        assert!(fixture.book.tick(intent.exhausted_at_ms(1)).is_empty());
        let tx_hash = B256::repeat_byte(7);
        let collateral_received =
            vec![CollateralReceived { asset: market().collateral_assets[0], units: U256::from(1_050) }];
        let settled = SettleResult::Settled {
            tx_hash,
            collateral_received: collateral_received.clone(),
            gas_used: 400_000,
            gas_cost_wei: U256::from(400_000_000_000_000u64),
        };
        let actions = fixture.book.on_settled(CHAIN, intent.id(), &ours, settled);
        assert_eq!(
            reports(&actions),
            vec![AuctionOutcome::Won {
                chain_id: CHAIN,
                intent_id: intent.id(),
                tx_hash,
                repay_amount: U256::from(1_000),
                premium: U256::from(9),
                collateral_received,
                gas_used: 400_000,
                gas_cost_wei: U256::from(400_000_000_000_000u64),
            }]
        );
        assert!(fixture.core().is_closed(&intent.id()));
    }

    /// Our ranking can differ from the nodes' for a while (a settlement we learn of late
    /// counts its winner as a no-show in our ledger only). Their votes for our bid are
    /// still an award the contract honours: we settled none of them and the account went
    /// to the open path.
    #[test]
    fn committee_votes_for_our_bid_settle_even_when_our_ranking_put_us_second() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[(rival_key(), rival_executor(), 20)]);
        fixture.book.tick(intent.decide_at_ms());
        // Locally the rival (premium 20) is rank 0 and we are rank 1.
        assert_eq!(fixture.award(&intent, 0).executor, rival_executor());
        let mut theirs = fixture.award(&intent, 1);
        assert_eq!(theirs.executor, our_executor());
        // The nodes ranked us first: our bid, rank 0's deadline.
        theirs.deadline = fixture.award(&intent, 0).deadline;
        let now = intent.decide_at_ms() + 10;

        let first = fixture.vote(0, &theirs, now);
        assert_eq!(first.verdict, Some(Rejection::VoteNotLocalAward.verdict()));
        assert!(first.actions.is_empty(), "one of two is no quorum: {first:?}");
        let second = fixture.vote(1, &theirs, now);
        let [Action::Settle { quorum, .. }] = second.actions.as_slice() else {
            panic!("the committee's quorum for our bid settles, got {second:?}")
        };
        assert_eq!(quorum.award, theirs);
        assert_eq!(quorum.signatures.len(), 2);

        // Not for terms we did not bid, nor signed by a stranger.
        let mut richer = theirs.clone();
        richer.premium = U256::from(8);
        richer.deadline += U256::from(1);
        assert!(fixture.vote(0, &richer, now).actions.is_empty());
        assert!(fixture.vote(1, &richer, now).actions.is_empty());
        let mut other = theirs.clone();
        other.deadline += U256::from(2);
        let stranger = PrivateKeySigner::random();
        assert!(fixture.deliver(node_key(), vote(&stranger, &other), now).actions.is_empty());
        assert!(fixture.vote(2, &other, now).actions.is_empty(), "a stranger's signature is no second vote");
    }

    #[test]
    fn an_award_with_amounts_we_did_not_bid_is_never_settled() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[]);
        let inflated = Award {
            intentId: intent.id(),
            marketId: intent.marketId,
            account: intent.account,
            nonce: intent.nonce,
            executor: our_executor(),
            repayAmount: U256::from(1_000),
            premium: U256::from(900),
            deadline: U256::from(intent.award_deadline_secs()),
        };
        // Before our decision the core holds votes unjudged, and the book counts them:
        // only our own check against the bid we sealed stands between them and a settle.
        let before_decision = intent.commit_end_ms() + 100;
        assert!(fixture.vote(0, &inflated, before_decision).actions.is_empty());
        assert!(fixture.vote(1, &inflated, before_decision).actions.is_empty(), "a quorum, but not for our bid");
        // After the decision such a vote is not the local award at all.
        fixture.book.tick(intent.decide_at_ms());
        let handled = fixture.vote(2, &inflated, intent.decide_at_ms());
        assert_eq!(handled, Handled { verdict: Some(Verdict::Ignore), actions: vec![] });
        let mut dearer = fixture.award(&intent, 0);
        dearer.repayAmount = U256::from(999);
        assert!(fixture.vote(0, &dearer, intent.decide_at_ms()).actions.is_empty());
        // The award we did bid is still settled.
        let ours = fixture.award(&intent, 0);
        fixture.vote(0, &ours, intent.decide_at_ms());
        let handled = fixture.vote(1, &ours, intent.decide_at_ms());
        assert_eq!(settles(&handled.actions).len(), 1, "{handled:?}");
        assert_eq!(settles(&handled.actions)[0].award, ours);
    }

    #[test]
    fn a_quorum_for_another_executor_is_lost_with_its_premium() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[(rival_key(), rival_executor(), 12)]);
        fixture.book.tick(intent.decide_at_ms());
        let theirs = fixture.award(&intent, 0);
        assert_eq!(theirs.executor, rival_executor());
        let now = intent.decide_at_ms() + 10;
        assert!(fixture.vote(0, &theirs, now).actions.is_empty());
        let handled = fixture.vote(2, &theirs, now);
        assert_eq!(handled.actions, vec![Action::Report(lost(&intent, 12))]);
        assert!(settles(&handled.actions).is_empty());
        // Reported once: not again on the third vote, nor when our runner-up rank comes due.
        assert!(fixture.vote(1, &theirs, now).actions.is_empty());
        let runner_up_start = intent.award_window(1).start_ms;
        assert!(fixture.book.tick(runner_up_start).is_empty());
        // The winner did not settle: the committee awards us as runner-up, and we settle.
        let ours = fixture.award(&intent, 1);
        assert_eq!((ours.executor, ours.premium), (our_executor(), U256::from(9)));
        assert!(fixture.vote(0, &ours, runner_up_start + 10).actions.is_empty());
        let handled = fixture.vote(1, &ours, runner_up_start + 10);
        assert_eq!(settles(&handled.actions).len(), 1, "{handled:?}");
    }

    /// Votes are most of a crash's traffic and secp256k1 recovery is their cost; one that
    /// cannot move our bid is screened (a malformed one still costs its sender) and
    /// ignored unverified, so a forged signature among them is ignored, not rejected.
    #[test]
    fn votes_that_cannot_move_our_bid_are_screened_and_ignored_unverified() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[(rival_key(), rival_executor(), 12)]);
        fixture.book.tick(intent.decide_at_ms());
        let theirs = fixture.award(&intent, 0);
        let now = intent.decide_at_ms() + 10;
        // Before we know whether we lost, every vote is verified and counted.
        assert_eq!(fixture.vote(0, &theirs, now).verdict, Some(Verdict::Accept));
        assert_eq!(fixture.vote(2, &theirs, now).actions, vec![Action::Report(lost(&intent, 12))]);

        // Lost: the rival's award can no longer change what we do.
        assert_eq!(fixture.vote(1, &theirs, now), Handled::verdict(Verdict::Ignore, Vec::new()));
        let Message::Vote(mut forged) = vote(&fixture.attesters[1], &theirs) else { unreachable!() };
        let mut signature = forged.signature.to_vec();
        // r = s = 0: no signature at all, which recovery would reject with a penalty.
        signature[..64].copy_from_slice(&[0; 64]);
        forged.signature = Bytes::from(signature.clone());
        let handled = fixture.deliver(node_key(), Message::Vote(forged.clone()), now);
        assert_eq!(handled.verdict, Some(Verdict::Ignore), "not recovered, so not known to be forged");
        // The screen still rejects what is malformed on its face.
        signature[64] = 0;
        forged.signature = Bytes::from(signature);
        let handled = fixture.deliver(node_key(), Message::Vote(forged), now);
        assert_eq!(handled.verdict, Some(Verdict::Reject));
        let Message::Vote(mut elsewhere) = vote(&fixture.attesters[1], &theirs) else { unreachable!() };
        elsewhere.settlement = Address::repeat_byte(0x77);
        assert_eq!(fixture.deliver(node_key(), Message::Vote(elsewhere), now).verdict, Some(Verdict::Reject));

        // A runner-up award naming us is still wanted: verified, counted and settled.
        let runner_up_start = intent.award_window(1).start_ms;
        fixture.book.tick(runner_up_start);
        let ours = fixture.award(&intent, 1);
        assert_eq!(fixture.vote(0, &ours, runner_up_start + 10).verdict, Some(Verdict::Accept));
        assert_eq!(settles(&fixture.vote(1, &ours, runner_up_start + 10).actions).len(), 1);
        // Settling: the last attester's vote adds nothing and is not verified.
        assert_eq!(fixture.vote(2, &ours, runner_up_start + 10), Handled::verdict(Verdict::Ignore, Vec::new()));

        // An auction we did not bid in: nothing to verify a vote for.
        let other = Intent { account: Address::repeat_byte(0xad), ..self::intent(OPEN_MS, 11) };
        fixture.auction(&other, None, &[(rival_key(), rival_executor(), 12)]);
        fixture.book.tick(other.decide_at_ms());
        let award = fixture.award(&other, 0);
        let handled = fixture.vote(0, &award, other.decide_at_ms() + 10);
        assert_eq!(handled, Handled::verdict(Verdict::Ignore, Vec::new()));
    }

    #[test]
    fn a_vote_with_its_v_byte_reencoded_is_rejected_and_not_counted() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[]);
        fixture.book.tick(intent.decide_at_ms());
        let ours = fixture.award(&intent, 0);
        let now = intent.decide_at_ms() + 10;
        let Message::Vote(mut reencoded) = vote(&fixture.attesters[0], &ours) else { unreachable!() };
        let mut signature = reencoded.signature.to_vec();
        assert!(matches!(signature[64], 27 | 28), "alloy signs with v in {{27, 28}}");
        signature[64] -= 27;
        reencoded.signature = Bytes::from(signature);
        let handled = fixture.deliver(node_key(), Message::Vote(reencoded), now);
        assert_eq!(handled, Handled { verdict: Some(Verdict::Reject), actions: vec![] });
        // Had it counted, this second signer would complete the quorum.
        assert!(fixture.vote(1, &ours, now).actions.is_empty());
        assert_eq!(settles(&fixture.vote(0, &ours, now).actions).len(), 1);
    }

    #[test]
    fn without_a_quorum_we_are_lost_when_rank_one_comes_due_if_we_did_not_win() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        let rivals = [(rival_key(), rival_executor(), 30), (third_key(), third_executor(), 20)];
        fixture.auction(&intent, Some(bid(1_000, 9)), &rivals);
        assert!(fixture.book.tick(intent.decide_at_ms()).is_empty(), "rank 0 due: the winner may still settle");
        let rank_one = intent.award_window(1).start_ms;
        assert!(fixture.book.tick(rank_one - 1).is_empty());
        assert_eq!(fixture.book.tick(rank_one), vec![Action::Report(lost(&intent, 30))]);
        // We are rank 2: our award comes due next, and nothing is reported twice.
        let rank_two = intent.award_window(2).start_ms;
        assert!(fixture.book.tick(rank_two).is_empty());
        assert!(fixture.book.tick(intent.exhausted_at_ms(3)).is_empty());
    }

    #[test]
    fn the_runner_up_without_a_quorum_is_lost_when_the_round_is_exhausted() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[(rival_key(), rival_executor(), 30)]);
        fixture.book.tick(intent.decide_at_ms());
        assert!(fixture.book.tick(intent.award_window(1).start_ms).is_empty(), "our award is due: votes may follow");
        assert_eq!(fixture.book.tick(intent.exhausted_at_ms(2)), vec![Action::Report(lost(&intent, 30))]);
    }

    #[test]
    fn without_a_quorum_the_winner_is_expired_when_the_round_is_exhausted() {
        // Alone in the round.
        let mut fixture = fixture();
        let alone = intent(OPEN_MS, 10);
        fixture.auction(&alone, Some(bid(1_000, 9)), &[]);
        assert!(fixture.book.tick(alone.decide_at_ms()).is_empty());
        assert!(fixture.book.tick(alone.exhausted_at_ms(1) - 1).is_empty(), "our award may still settle");
        assert_eq!(fixture.book.tick(alone.exhausted_at_ms(1)), vec![Action::Report(expired(&alone))]);
        assert!(fixture.book.tick(alone.exhausted_at_ms(1) + 1).is_empty(), "reported once");

        // On top with a runner-up: the runner-up's turn is no loss of ours.
        let mut fixture = self::fixture();
        let contested = intent(OPEN_MS, 10);
        fixture.auction(&contested, Some(bid(1_000, 30)), &[(rival_key(), rival_executor(), 9)]);
        assert!(fixture.book.tick(contested.decide_at_ms()).is_empty());
        assert_eq!(fixture.book.tick(contested.award_window(1).start_ms), vec![], "we won: not Lost");
        assert_eq!(fixture.book.tick(contested.exhausted_at_ms(2)), vec![Action::Report(expired(&contested))]);
    }

    #[test]
    fn a_new_round_of_the_same_intent_is_bid_on_again() {
        let mut fixture = fixture();
        let first = intent(OPEN_MS, 10);
        fixture.auction(&first, Some(bid(1_000, 9)), &[]);
        fixture.book.tick(first.decide_at_ms());
        assert_eq!(fixture.book.tick(first.exhausted_at_ms(1)), vec![Action::Report(expired(&first))]);

        let next_round_at = first.next_round_at_ms(1);
        let too_early = intent(next_round_at - 1, 20);
        assert_eq!(fixture.open(node_key(), &too_early, next_round_at - 1), (Verdict::Ignore, vec![]));

        let mut retry = intent(next_round_at, 20);
        retry.maxRepay = U256::from(900);
        assert_eq!(retry.id(), first.id(), "the same auction id");
        let (verdict, actions) = fixture.open(node_key(), &retry, next_round_at + 10);
        assert_eq!(verdict, Verdict::Accept);
        let [Action::AskStrategy(view)] = actions.as_slice() else { panic!("asked again, got {actions:?}") };
        assert_eq!(view.intent, retry);
        let actions = fixture.book.on_bid(CHAIN, retry.id(), Some(bid(1_000, 9)), &rich(), salt(), next_round_at + 20);
        let expected = commitment(retry.id(), our_key(), our_executor(), U256::from(900), U256::from(9), salt());
        assert!(
            matches!(actions.first(), Some(Action::PublishCommit { commit, .. }) if commit.commitment == expected),
            "{actions:?}"
        );
        assert!(fixture.core().round(&retry.id()).unwrap().has_commit(&our_key()));
    }

    #[test]
    fn a_strangers_commit_that_overtakes_the_chain_check_still_counts() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        let handled = fixture.deliver(node_key(), Message::Intent(intent.clone()), OPEN_MS + 10);
        assert_eq!(handled.verdict, None, "chain check in flight");
        let (commit, reveal) = sealed(&intent, rival_key(), rival_executor(), 20);
        let handled = fixture.deliver(rival_key(), Message::Commit(commit), OPEN_MS + 20);
        assert_eq!(handled, Handled { verdict: Some(Verdict::Ignore), actions: vec![] }, "not forwarded yet");

        let (verdict, actions) =
            fixture.book.on_intent_facts(CHAIN, node_key(), intent.clone(), Some(&facts(&intent)), OPEN_MS + 30);
        assert_eq!(verdict, Verdict::Accept);
        assert_eq!(asks(&actions).len(), 1);
        assert!(fixture.core().round(&intent.id()).unwrap().has_commit(&rival_key()), "the held commit applied");

        fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), &rich(), salt(), OPEN_MS + 40);
        let handled = fixture.deliver(rival_key(), Message::Reveal(reveal), intent.commit_end_ms() + 10);
        assert_eq!(handled.verdict, Some(Verdict::Accept), "the reveal opens a commit we hold");
        fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
        fixture.book.tick(intent.decide_at_ms());
        let ranking = fixture.core().round(&intent.id()).unwrap().ranking();
        let solvers: Vec<PeerKey> = ranking.iter().map(|bid| bid.solver).collect();
        assert_eq!(solvers, vec![rival_key(), our_key()], "the stranger's bid ranks, and above ours");
        assert_eq!(fixture.award(&intent, 0).executor, rival_executor());
        fixture.book.tick(intent.award_window(1).start_ms);
        assert_eq!(fixture.book.tick(intent.exhausted_at_ms(2)), vec![Action::Report(lost(&intent, 20))]);
    }

    #[test]
    fn a_committee_change_can_complete_a_quorum() {
        let mut fixture = fixture();
        let intent = intent(OPEN_MS, 10);
        fixture.auction(&intent, Some(bid(1_000, 9)), &[]);
        fixture.book.tick(intent.decide_at_ms());
        let ours = fixture.award(&intent, 0);
        assert!(fixture.vote(0, &ours, intent.decide_at_ms()).actions.is_empty());
        let lower = context(&fixture.attesters, 1, all_bonded());
        let actions = fixture.book.set_context(CHAIN, lower);
        assert_eq!(settles(&actions).len(), 1, "{actions:?}");
        assert_eq!(settles(&actions)[0].award, ours);
        assert!(fixture.book.set_context(CHAIN, context(&fixture.attesters, 1, all_bonded())).is_empty(), "once");
    }
}
