//! Every auction this solver follows, per chain: the canonical copy of each intent,
//! where our own bid stands, the bids and votes we saw, and which outcome is due.
//! Pure: time, salts and committee changes come in as arguments and the caller performs
//! the returned [`Action`]s, so the whole auction life is testable with explicit timestamps.

use std::collections::{HashMap, HashSet};

use alloy::primitives::{Address, B256};
use backstop_protocol::id::{commitment, intent_id};
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Message, OutcomeStatus};
use backstop_protocol::net::Verdict;
use backstop_protocol::timing::{AWARD_VALIDITY_SECS, CLOCK_DISPARITY_MS, MAX_WINDOW_MS, MIN_WINDOW_MS};
use backstop_protocol::{rank_bids, Award, Kind, PeerKey, RevealedBid, Verified};

use crate::bidding::{decide, BidDecision};
use crate::observe;
use crate::outcome::AuctionOutcome;
use crate::strategy::{Bid, IntentView};
use crate::votes::{Committee, Quorum, Tally, VoteTally};

/// Our reveal goes out this long after the commit window closes: late enough that every
/// peer's clock is past commit end within tolerance, early in a short reveal window.
pub(crate) const REVEAL_DELAY_MS: u64 = 50;
/// How long an auction is remembered after its reveal window: long enough for many
/// runner-up awards (each valid for `AWARD_VALIDITY_SECS`).
pub(crate) const RETAIN_MS: u64 = 5 * 60 * 1000;
/// Auctions remembered per chain; beyond it the oldest is forgotten.
pub(crate) const MAX_AUCTIONS_PER_CHAIN: usize = 1024;
/// Other solvers' commits tracked per auction.
pub(crate) const MAX_COMMITS_PER_INTENT: usize = 256;

/// A chain as the book needs it.
#[derive(Debug, Clone)]
pub(crate) struct ChainParams {
    pub chain_id: u64,
    pub settlement: Address,
    pub executor: Address,
    pub committee: Committee,
}

/// Effects the runtime performs for the book.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Ask the strategy for a bid, answering with [`Book::on_bid`] before `view.commit_end_ms()`.
    AskStrategy(IntentView),
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

/// Our sealed bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sealed {
    bid: Bid,
    salt: B256,
    commitment: B256,
}

/// Our part in an auction. Commit → reveal is one way; `Out` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OurBid {
    /// The strategy has been asked and not yet answered.
    Asking,
    /// We are not in this auction (declined, refused, late, or a publish failed).
    Out,
    Committed(Sealed),
    Revealed(Sealed),
}

/// What has been reported for the auction.
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
struct Auction {
    id: B256,
    /// The canonical copy (lowest precedence seen while commits were open).
    intent: Intent,
    origin: PeerKey,
    first_seen_ms: u64,
    ours: OurBid,
    standing: Standing,
    /// Commitment per solver (ours included), first one wins.
    commits: HashMap<PeerKey, B256>,
    /// Reveals that matched their commitment (ours included).
    reveals: HashMap<PeerKey, RevealedBid>,
    votes: VoteTally,
    /// Awards a settle was started for, so each is sent once.
    settles_started: HashSet<Award>,
}

impl Auction {
    fn new(intent: Intent, origin: PeerKey, now_ms: u64) -> Self {
        Self {
            id: intent.id(),
            intent,
            origin,
            first_seen_ms: now_ms,
            ours: OurBid::Asking,
            standing: Standing::Open,
            commits: HashMap::new(),
            reveals: HashMap::new(),
            votes: VoteTally::default(),
            settles_started: HashSet::new(),
        }
    }

    fn ranking(&self) -> Vec<RevealedBid> {
        let bids: Vec<RevealedBid> = self.reveals.values().cloned().collect();
        rank_bids(&bids, self.intent.reservePremium, self.intent.maxRepay)
    }

    fn leave(&mut self) {
        self.ours = OurBid::Out;
        self.standing = Standing::Done;
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq)]
enum Refusal {
    /// Harmless (stale, duplicate, not ours to judge): not forwarded, no penalty.
    Ignore(&'static str),
    /// Too old to forward, but it still tells us something (an auction we missed).
    Stale(&'static str, Vec<Action>),
    /// Provably forged or malformed: the peer is penalised.
    Reject(&'static str),
}

type Handled = Result<Vec<Action>, Refusal>;

#[derive(Debug)]
struct ChainBook {
    params: ChainParams,
    auctions: HashMap<B256, Auction>,
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
            .map(|params| (params.chain_id, ChainBook { params, auctions: HashMap::new() }))
            .collect();
        Self { our_key, chains }
    }

    /// Replaces a chain's committee and settles any award that now has a quorum.
    pub fn set_committee(&mut self, chain_id: u64, committee: Committee) -> Vec<Action> {
        let Some(chain) = self.chains.get_mut(&chain_id) else {
            return Vec::new();
        };
        chain.params.committee = committee;
        let mut actions = Vec::new();
        for auction in chain.auctions.values_mut() {
            actions.extend(evaluate_votes(&chain.params, auction));
        }
        actions
    }

    /// Judges one opened gossip message that arrived on `(topic_chain, topic_kind)`.
    pub fn on_message(
        &mut self,
        topic_chain: u64,
        topic_kind: Kind,
        verified: Verified,
        now_ms: u64,
    ) -> (Verdict, Vec<Action>) {
        let result = self.handle(topic_chain, topic_kind, verified, now_ms);
        match result {
            Ok(actions) => (Verdict::Accept, actions),
            Err(Refusal::Ignore(reason)) => {
                observe::message_refused(topic_kind, "ignore", reason);
                (Verdict::Ignore, Vec::new())
            }
            Err(Refusal::Stale(reason, actions)) => {
                observe::message_refused(topic_kind, "ignore", reason);
                (Verdict::Ignore, actions)
            }
            Err(Refusal::Reject(reason)) => {
                observe::message_refused(topic_kind, "reject", reason);
                (Verdict::Reject, Vec::new())
            }
        }
    }

    fn handle(&mut self, topic_chain: u64, topic_kind: Kind, verified: Verified, now_ms: u64) -> Handled {
        if verified.message.kind() != topic_kind {
            return Err(Refusal::Reject("message kind does not match its topic"));
        }
        if verified.message.chain_id() != topic_chain {
            return Err(Refusal::Reject("message chain does not match its topic"));
        }
        let our_key = self.our_key;
        let Some(chain) = self.chains.get_mut(&topic_chain) else {
            return Err(Refusal::Ignore("chain not served by this solver"));
        };
        match verified.message {
            Message::Intent(intent) => chain.on_intent(verified.signer, intent, now_ms),
            Message::Commit(commit) => chain.on_commit(our_key, verified.signer, &commit, now_ms),
            Message::Reveal(reveal) => chain.on_reveal(our_key, verified.signer, &reveal, now_ms),
            Message::Vote(vote) => chain.on_vote(vote),
            Message::Outcome(outcome) => match OutcomeStatus::from_byte(outcome.status) {
                Some(_) => Ok(Vec::new()),
                None => Err(Refusal::Reject("unknown outcome status")),
            },
        }
    }

    /// The strategy answered for an intent; `salt` must be fresh randomness.
    pub fn on_bid(&mut self, chain_id: u64, id: B256, bid: Option<Bid>, salt: B256, now_ms: u64) -> Vec<Action> {
        let our_key = self.our_key;
        let Some(chain) = self.chains.get_mut(&chain_id) else {
            return Vec::new();
        };
        let executor = chain.params.executor;
        let Some(auction) = chain.auctions.get_mut(&id) else {
            return Vec::new();
        };
        if auction.ours != OurBid::Asking {
            return Vec::new();
        }
        let Some(bid) = bid else {
            observe::bid_declined();
            auction.leave();
            return Vec::new();
        };
        let commit_end_ms = auction.intent.commit_end_ms();
        if now_ms > commit_end_ms {
            observe::strategy_timed_out();
            auction.leave();
            return vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })];
        }
        match decide(&auction.intent, bid) {
            BidDecision::BelowReserve { premium, reserve } => {
                observe::bid_below_reserve(premium, reserve);
                auction.leave();
                vec![Action::Report(AuctionOutcome::BelowReserve { chain_id, intent_id: id })]
            }
            BidDecision::ZeroRepay => {
                observe::bid_zero_repay();
                auction.leave();
                Vec::new()
            }
            BidDecision::Place(placed) => {
                let sealed_commitment = commitment(id, our_key, executor, placed.repay_amount, placed.premium, salt);
                auction.ours = OurBid::Committed(Sealed { bid: placed, salt, commitment: sealed_commitment });
                auction.commits.insert(our_key, sealed_commitment);
                observe::bid_committed(&placed, placed.repay_amount != bid.repay_amount);
                vec![
                    Action::PublishCommit {
                        chain_id,
                        intent_id: id,
                        commit: BidCommit { chainId: chain_id, intentId: id, commitment: sealed_commitment },
                        // Peers accept commits until commit end + their clock tolerance; stay well inside it.
                        until_ms: commit_end_ms + CLOCK_DISPARITY_MS / 2,
                    },
                    Action::Approve { chain_id, market_id: auction.intent.marketId },
                ]
            }
        }
    }

    /// The strategy did not answer before the commit window closed.
    pub fn on_strategy_timeout(&mut self, chain_id: u64, id: B256) -> Vec<Action> {
        let Some(auction) = self.chains.get_mut(&chain_id).and_then(|chain| chain.auctions.get_mut(&id)) else {
            return Vec::new();
        };
        if auction.ours != OurBid::Asking {
            return Vec::new();
        }
        observe::strategy_timed_out();
        auction.leave();
        vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })]
    }

    /// A commit or reveal could not be published in time: our bid does not count.
    pub fn on_publish_failed(&mut self, chain_id: u64, id: B256) -> Vec<Action> {
        let Some(auction) = self.chains.get_mut(&chain_id).and_then(|chain| chain.auctions.get_mut(&id)) else {
            return Vec::new();
        };
        if !matches!(auction.ours, OurBid::Committed(_) | OurBid::Revealed(_)) || auction.standing != Standing::Open {
            return Vec::new();
        }
        auction.leave();
        vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })]
    }

    /// A settle started by [`Action::Settle`] ended.
    pub fn on_settled(&mut self, chain_id: u64, id: B256, award: &Award, result: SettleResult) -> Vec<Action> {
        if let Some(auction) = self.chains.get_mut(&chain_id).and_then(|chain| chain.auctions.get_mut(&id)) {
            auction.standing = Standing::Done;
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

    /// Time-driven work: reveals that are due, deadlines that passed, pruning.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let our_key = self.our_key;
        let mut actions = Vec::new();
        for chain in self.chains.values_mut() {
            let chain_id = chain.params.chain_id;
            let executor = chain.params.executor;
            for auction in chain.auctions.values_mut() {
                actions.extend(tick_auction(chain_id, executor, our_key, auction, now_ms));
            }
            chain.auctions.retain(|_, auction| {
                auction.standing == Standing::Settling
                    || now_ms <= auction.intent.reveal_end_ms().saturating_add(RETAIN_MS)
            });
        }
        actions
    }

    #[cfg(test)]
    fn auction(&self, chain_id: u64, id: B256) -> Option<&Auction> {
        self.chains.get(&chain_id)?.auctions.get(&id)
    }

    #[cfg(test)]
    fn auction_count(&self, chain_id: u64) -> usize {
        self.chains.get(&chain_id).map_or(0, |chain| chain.auctions.len())
    }
}

fn tick_auction(chain_id: u64, executor: Address, our_key: PeerKey, auction: &mut Auction, now_ms: u64) -> Vec<Action> {
    let id = auction.id;
    let _span = observe::auction_span(chain_id, id).entered();
    match auction.ours {
        OurBid::Committed(sealed) if now_ms >= auction.intent.commit_end_ms() + REVEAL_DELAY_MS => {
            if now_ms > auction.intent.reveal_end_ms() {
                // We slept through the reveal window; the commit alone is worth nothing.
                auction.leave();
                return vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })];
            }
            auction.ours = OurBid::Revealed(sealed);
            auction.reveals.insert(
                our_key,
                RevealedBid {
                    solver: our_key,
                    commitment: sealed.commitment,
                    executor,
                    repay_amount: sealed.bid.repay_amount,
                    premium: sealed.bid.premium,
                },
            );
            observe::bid_revealed();
            vec![Action::PublishReveal {
                chain_id,
                intent_id: id,
                reveal: BidReveal {
                    chainId: chain_id,
                    intentId: id,
                    executor,
                    repayAmount: sealed.bid.repay_amount,
                    premium: sealed.bid.premium,
                    salt: sealed.salt,
                },
                until_ms: auction.intent.reveal_end_ms(),
            }]
        }
        OurBid::Revealed(_) if auction.standing == Standing::Open && now_ms > award_expiry_ms(&auction.intent) => {
            // No award reached threshold by the winner's deadline. If our own ranking
            // puts someone else first we lost; otherwise the award never came.
            auction.standing = Standing::Reported;
            let outcome = match auction.ranking().first() {
                Some(top) if top.solver != our_key => {
                    AuctionOutcome::Lost { chain_id, intent_id: id, winning_premium: Some(top.premium) }
                }
                _ => AuctionOutcome::Expired { chain_id, intent_id: id },
            };
            vec![Action::Report(outcome)]
        }
        _ => Vec::new(),
    }
}

/// The last unix millisecond at which the winner's (rank 0) award can still settle: the
/// contract accepts `block.timestamp <= deadline`.
fn award_expiry_ms(intent: &Intent) -> u64 {
    intent.award_deadline_secs().saturating_add(1).saturating_mul(1000).saturating_sub(1)
}

/// The last unix millisecond at which any award of this round (runners-up included)
/// can still settle.
fn last_award_expiry_ms(auction: &Auction) -> u64 {
    let runners_up = auction.ranking().len().saturating_sub(1) as u64;
    award_expiry_ms(&auction.intent).saturating_add(runners_up * AWARD_VALIDITY_SECS * 1000)
}

/// Settle any quorum award for us; report `Lost` on a quorum award for someone else.
fn evaluate_votes(params: &ChainParams, auction: &mut Auction) -> Vec<Action> {
    let OurBid::Revealed(sealed) = auction.ours else {
        return Vec::new();
    };
    let chain_id = params.chain_id;
    let id = auction.id;
    let _span = observe::auction_span(chain_id, id).entered();
    let mut actions = Vec::new();
    for quorum in auction.votes.quorums(&params.committee) {
        let award = &quorum.award;
        if award.executor != params.executor {
            if auction.standing == Standing::Open {
                observe::award_not_ours(award.executor, award.premium);
                auction.standing = Standing::Reported;
                actions.push(Action::Report(AuctionOutcome::Lost {
                    chain_id,
                    intent_id: id,
                    winning_premium: Some(award.premium),
                }));
            }
            continue;
        }
        if award.repayAmount != sealed.bid.repay_amount || award.premium != sealed.bid.premium {
            if auction.settles_started.insert(award.clone()) {
                observe::award_mismatch(award.repayAmount, award.premium, sealed.bid.repay_amount, sealed.bid.premium);
            }
            continue;
        }
        let can_settle = matches!(auction.standing, Standing::Open | Standing::Reported);
        if can_settle && auction.settles_started.insert(award.clone()) {
            observe::quorum_reached(quorum.signatures.len(), award.deadline);
            auction.standing = Standing::Settling;
            actions.push(Action::Settle { chain_id, intent_id: id, quorum });
        }
    }
    actions
}

fn windows_are_sane(intent: &Intent) -> bool {
    (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&intent.commitMs)
        && (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&intent.revealMs)
}

impl ChainBook {
    fn on_intent(&mut self, origin: PeerKey, intent: Intent, now_ms: u64) -> Handled {
        if intent.settlement != self.params.settlement {
            return Err(Refusal::Ignore("intent for another settlement contract"));
        }
        if !windows_are_sane(&intent) {
            return Err(Refusal::Reject("commit or reveal window outside protocol bounds"));
        }
        if intent.openTimeMs > now_ms + CLOCK_DISPARITY_MS {
            return Err(Refusal::Ignore("intent opens in the future"));
        }
        let chain_id = self.params.chain_id;
        let id = intent.id();
        let _span = observe::auction_span(chain_id, id).entered();
        if let Some(auction) = self.auctions.get(&id) {
            // A round that failed (every award expired unsettled) is retried by the nodes
            // under the same id: a copy opening after the old round's last possible award
            // deadline is a new round, not a conflicting copy.
            if intent.openTimeMs > last_award_expiry_ms(auction) && auction.standing != Standing::Settling {
                observe::new_round(intent.openTimeMs);
                self.auctions.remove(&id);
            }
        }
        if let Some(auction) = self.auctions.get_mut(&id) {
            if auction.intent == intent {
                return Err(Refusal::Ignore("duplicate intent"));
            }
            // Same auction, another origin's copy: the lowest precedence wins, but only
            // while commits are open (commits and reveals name the id, so they stay valid).
            if intent.precedence() < auction.intent.precedence() && auction.intent.accepts_commit_at(now_ms) {
                observe::intent_copy_adopted(intent.observedBlock, intent.openTimeMs);
                auction.intent = intent;
                auction.origin = origin;
                return Ok(Vec::new());
            }
            return Err(Refusal::Ignore("conflicting intent copy loses precedence"));
        }
        if now_ms > award_expiry_ms(&intent) {
            return Err(Refusal::Ignore("intent long past"));
        }
        self.make_room();
        observe::intent_seen(intent.openTimeMs, intent.commit_end_ms(), now_ms);
        let mut auction = Auction::new(intent, origin, now_ms);
        if now_ms >= auction.intent.commit_end_ms() {
            let forward = auction.intent.accepts_commit_at(now_ms);
            auction.leave();
            self.auctions.insert(id, auction);
            let late = vec![Action::Report(AuctionOutcome::Late { chain_id, intent_id: id })];
            return if forward { Ok(late) } else { Err(Refusal::Stale("intent past its commit window", late)) };
        }
        let view = IntentView {
            chain_id,
            intent_id: id,
            intent: auction.intent.clone(),
            executor: self.params.executor,
            origin,
            received_at_ms: now_ms,
        };
        self.auctions.insert(id, auction);
        Ok(vec![Action::AskStrategy(view)])
    }

    /// Forgets the oldest auction when full (never one with a settle in flight).
    fn make_room(&mut self) {
        if self.auctions.len() < MAX_AUCTIONS_PER_CHAIN {
            return;
        }
        let oldest = self
            .auctions
            .values()
            .filter(|auction| auction.standing != Standing::Settling)
            .min_by_key(|auction| auction.first_seen_ms)
            .map(|auction| auction.id);
        if let Some(id) = oldest {
            self.auctions.remove(&id);
        }
    }

    fn on_commit(&mut self, our_key: PeerKey, solver: PeerKey, commit: &BidCommit, now_ms: u64) -> Handled {
        let Some(auction) = self.auctions.get_mut(&commit.intentId) else {
            return Err(Refusal::Ignore("commit for an unknown intent"));
        };
        if solver == our_key {
            return Err(Refusal::Ignore("our own commit"));
        }
        if !auction.intent.accepts_commit_at(now_ms) {
            return Err(Refusal::Ignore("commit outside the commit window"));
        }
        if auction.commits.contains_key(&solver) {
            return Err(Refusal::Ignore("solver already committed"));
        }
        if auction.commits.len() >= MAX_COMMITS_PER_INTENT {
            return Err(Refusal::Ignore("commit limit reached"));
        }
        auction.commits.insert(solver, commit.commitment);
        Ok(Vec::new())
    }

    fn on_reveal(&mut self, our_key: PeerKey, solver: PeerKey, reveal: &BidReveal, now_ms: u64) -> Handled {
        let Some(auction) = self.auctions.get_mut(&reveal.intentId) else {
            return Err(Refusal::Ignore("reveal for an unknown intent"));
        };
        if solver == our_key {
            return Err(Refusal::Ignore("our own reveal"));
        }
        let Some(committed) = auction.commits.get(&solver).copied() else {
            return Err(Refusal::Ignore("reveal without a known commit"));
        };
        let expected = commitment(auction.id, solver, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt);
        if expected != committed {
            return Err(Refusal::Reject("reveal does not match its commitment"));
        }
        if auction.reveals.contains_key(&solver) {
            return Err(Refusal::Ignore("duplicate reveal"));
        }
        if !auction.intent.accepts_reveal_at(now_ms) {
            return Err(Refusal::Ignore("reveal outside the reveal window"));
        }
        auction.reveals.insert(
            solver,
            RevealedBid {
                solver,
                commitment: committed,
                executor: reveal.executor,
                repay_amount: reveal.repayAmount,
                premium: reveal.premium,
            },
        );
        Ok(Vec::new())
    }

    fn on_vote(&mut self, vote: AwardVote) -> Handled {
        let params = &self.params;
        if vote.settlement != params.settlement {
            return Err(Refusal::Ignore("vote for another settlement contract"));
        }
        let award = vote.award;
        let derived = intent_id(params.chain_id, params.settlement, award.marketId, award.account, award.nonce);
        if award.intentId != derived {
            return Err(Refusal::Reject("award intent id does not match its market, account and nonce"));
        }
        let signer = award
            .recover_signer(params.chain_id, params.settlement, &vote.signature)
            .map_err(|_| Refusal::Reject("award signature is invalid"))?;
        if !params.committee.attesters.contains(&signer) {
            // Our view of the committee may be stale; not provably the sender's fault.
            return Err(Refusal::Ignore("vote signer is not a known attester"));
        }
        let Some(auction) = self.auctions.get_mut(&award.intentId) else {
            return Ok(Vec::new());
        };
        if !matches!(auction.ours, OurBid::Revealed(_)) {
            return Ok(Vec::new());
        }
        match auction.votes.add(award, signer, vote.signature) {
            Tally::Counted { .. } => Ok(evaluate_votes(&self.params, auction)),
            Tally::Duplicate | Tally::Full => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, U256};
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;
    use backstop_protocol::award::signature_bytes;
    use backstop_protocol::timing::AWARD_VALIDITY_SECS;

    const CHAIN: u64 = 31337;

    /// Unix seconds → the deadline field of an award.
    fn deadline(secs: u64) -> U256 {
        U256::from(secs)
    }

    const OPEN_MS: u64 = 1_700_000_000_000;

    fn settlement() -> Address {
        Address::repeat_byte(0x5e)
    }

    fn our_executor() -> Address {
        Address::repeat_byte(0xee)
    }

    fn our_key() -> PeerKey {
        B256::repeat_byte(0x01)
    }

    fn node_key() -> PeerKey {
        B256::repeat_byte(0x0d)
    }

    fn rival_key() -> PeerKey {
        B256::repeat_byte(0x02)
    }

    struct Fixture {
        book: Book,
        attesters: Vec<PrivateKeySigner>,
    }

    fn fixture(threshold: usize) -> Fixture {
        let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let committee = Committee::new(attesters.iter().map(|signer| signer.address()), threshold);
        let params = ChainParams { chain_id: CHAIN, settlement: settlement(), executor: our_executor(), committee };
        Fixture { book: Book::new(our_key(), [params]), attesters }
    }

    fn intent(open_ms: u64, observed_block: u64) -> Intent {
        Intent {
            chainId: CHAIN,
            settlement: settlement(),
            marketId: B256::repeat_byte(0xaa),
            account: Address::repeat_byte(0xac),
            nonce: U256::from(3),
            debtAsset: Address::repeat_byte(0xde),
            collateralAsset: Address::repeat_byte(0xc0),
            maxRepay: U256::from(1_000),
            observedBlock: observed_block,
            observedPrice: U256::from(2_000),
            openTimeMs: open_ms,
            commitMs: 800,
            revealMs: 400,
            reservePremium: U256::from(5),
        }
    }

    fn from(signer: PeerKey, message: Message) -> Verified {
        Verified { signer, message }
    }

    fn deliver(book: &mut Book, signer: PeerKey, message: Message, now_ms: u64) -> (Verdict, Vec<Action>) {
        let kind = message.kind();
        book.on_message(CHAIN, kind, from(signer, message), now_ms)
    }

    fn award_for(intent: &Intent, executor: Address, repay: u64, premium: u64) -> Award {
        Award {
            intentId: intent.id(),
            marketId: intent.marketId,
            account: intent.account,
            nonce: intent.nonce,
            executor,
            repayAmount: U256::from(repay),
            premium: U256::from(premium),
            deadline: deadline(intent.award_deadline_secs()),
        }
    }

    fn vote(attester: &PrivateKeySigner, award: &Award) -> Message {
        let hash = award.signing_hash(CHAIN, settlement());
        let signature = attester.sign_hash_sync(&hash).expect("signing cannot fail");
        Message::Vote(AwardVote {
            chainId: CHAIN,
            settlement: settlement(),
            award: award.clone(),
            signature: Bytes::from(signature_bytes(&signature).to_vec()),
        })
    }

    fn salt() -> B256 {
        B256::repeat_byte(0x5a)
    }

    /// Brings an auction to "our bid revealed" and returns the reveal action.
    fn commit_and_reveal(book: &mut Book, intent: &Intent, bid: Bid) -> Vec<Action> {
        let id = intent.id();
        let (verdict, actions) = deliver(book, node_key(), Message::Intent(intent.clone()), intent.openTimeMs + 10);
        assert_eq!(verdict, Verdict::Accept);
        assert!(matches!(actions.as_slice(), [Action::AskStrategy(_)]));
        let actions = book.on_bid(CHAIN, id, Some(bid), salt(), intent.openTimeMs + 20);
        assert!(matches!(actions.first(), Some(Action::PublishCommit { .. })));
        book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS)
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

    fn bid(repay: u64, premium: u64) -> Bid {
        Bid { repay_amount: U256::from(repay), premium: U256::from(premium) }
    }

    #[test]
    fn a_new_round_of_a_failed_auction_is_bid_on_again() {
        let mut fixture = fixture(2);
        let first = intent(1_000_000, 10);
        commit_and_reveal(&mut fixture.book, &first, bid(1_000, 10));
        // No award reaches threshold; the nodes retry the same id after every deadline.
        let mut retry = intent(award_expiry_ms(&first) + 6_000, 20);
        retry.maxRepay = U256::from(900);
        let (verdict, actions) =
            deliver(&mut fixture.book, node_key(), Message::Intent(retry.clone()), retry.openTimeMs + 10);
        assert_eq!(verdict, Verdict::Accept);
        match actions.as_slice() {
            [Action::AskStrategy(view)] => assert_eq!(view.intent, retry),
            other => panic!("expected a fresh AskStrategy, got {other:?}"),
        }
        // A copy inside the first round's lifetime is still just a losing copy.
        let mut fixture = fixture_with_round(&first);
        let early = intent(first.openTimeMs + 100, 11);
        let (verdict, actions) = deliver(&mut fixture.book, node_key(), Message::Intent(early), first.openTimeMs + 150);
        assert_eq!(verdict, Verdict::Ignore);
        assert!(actions.is_empty());
    }

    fn fixture_with_round(intent: &Intent) -> Fixture {
        let mut fixture = fixture(2);
        commit_and_reveal(&mut fixture.book, intent, bid(1_000, 10));
        fixture
    }

    #[test]
    fn an_intent_in_its_commit_window_asks_the_strategy_once() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        let (verdict, actions) = deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS + 100);
        assert_eq!(verdict, Verdict::Accept);
        let [Action::AskStrategy(view)] = actions.as_slice() else {
            panic!("expected one AskStrategy, got {actions:?}")
        };
        assert_eq!(view.intent_id, intent.id());
        assert_eq!(view.executor, our_executor());
        assert_eq!(view.origin, node_key());
        assert_eq!(view.remaining_ms(OPEN_MS + 100), 700);
        // The same copy again is a duplicate and asks nothing.
        let (verdict, actions) = deliver(&mut fixture.book, node_key(), Message::Intent(intent), OPEN_MS + 150);
        assert_eq!(verdict, Verdict::Ignore);
        assert!(actions.is_empty());
    }

    #[test]
    fn commit_binds_our_key_executor_clamped_repay_and_salt() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(5_000, 7)), salt(), OPEN_MS + 100);
        let expected = commitment(intent.id(), our_key(), our_executor(), U256::from(1_000), U256::from(7), salt());
        assert_eq!(
            actions,
            vec![
                Action::PublishCommit {
                    chain_id: CHAIN,
                    intent_id: intent.id(),
                    commit: BidCommit { chainId: CHAIN, intentId: intent.id(), commitment: expected },
                    until_ms: intent.commit_end_ms() + CLOCK_DISPARITY_MS / 2,
                },
                Action::Approve { chain_id: CHAIN, market_id: intent.marketId },
            ]
        );
        // A second answer for the same intent is ignored: one bid per intent.
        assert!(fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1, 9)), salt(), OPEN_MS + 101).is_empty());
    }

    #[test]
    fn below_reserve_bid_is_not_sent_and_reported() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 4)), salt(), OPEN_MS + 100);
        assert_eq!(
            actions,
            vec![Action::Report(AuctionOutcome::BelowReserve { chain_id: CHAIN, intent_id: intent.id() })]
        );
        // Nothing to reveal later.
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty());
    }

    #[test]
    fn declining_reports_nothing_ever() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        assert!(fixture.book.on_bid(CHAIN, intent.id(), None, salt(), OPEN_MS + 100).is_empty());
        assert!(fixture.book.tick(award_expiry_ms(&intent) + 1).is_empty());
    }

    #[test]
    fn strategy_answer_after_commit_end_is_late() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let actions = fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), salt(), intent.commit_end_ms() + 1);
        assert_eq!(actions, vec![Action::Report(AuctionOutcome::Late { chain_id: CHAIN, intent_id: intent.id() })]);
    }

    #[test]
    fn strategy_timeout_is_late_and_a_later_answer_is_dropped() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let actions = fixture.book.on_strategy_timeout(CHAIN, intent.id());
        assert_eq!(actions, vec![Action::Report(AuctionOutcome::Late { chain_id: CHAIN, intent_id: intent.id() })]);
        assert!(fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), salt(), OPEN_MS + 10).is_empty());
    }

    #[test]
    fn intent_seen_after_its_commit_window_is_late_once() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        let now = intent.commit_end_ms() + 100; // within the tolerance: still forwarded
        let (verdict, actions) = deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), now);
        assert_eq!(verdict, Verdict::Accept);
        assert_eq!(actions, vec![Action::Report(AuctionOutcome::Late { chain_id: CHAIN, intent_id: intent.id() })]);
        let mut other_copy = intent.clone();
        other_copy.openTimeMs += 1;
        let (_, actions) = deliver(&mut fixture.book, node_key(), Message::Intent(other_copy), now + 1);
        assert!(actions.is_empty(), "the same auction is reported late only once");
    }

    #[test]
    fn reveal_goes_out_just_after_commit_end_and_matches_the_commit() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        fixture.book.on_bid(CHAIN, intent.id(), Some(bid(800, 9)), salt(), OPEN_MS + 100);
        assert!(fixture.book.tick(intent.commit_end_ms()).is_empty(), "too early: still the commit window");
        let actions = fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
        let [Action::PublishReveal { reveal, until_ms, .. }] = actions.as_slice() else { panic!("{actions:?}") };
        assert_eq!(*until_ms, intent.reveal_end_ms());
        assert_eq!(reveal.executor, our_executor());
        assert_eq!((reveal.repayAmount, reveal.premium, reveal.salt), (U256::from(800), U256::from(9), salt()));
        let committed = fixture.book.auction(CHAIN, intent.id()).unwrap().commits[&our_key()];
        assert_eq!(
            commitment(intent.id(), our_key(), reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt),
            committed
        );
        assert!(fixture.book.tick(intent.commit_end_ms() + 200).is_empty(), "revealed once");
    }

    #[test]
    fn reveal_follows_the_adopted_canonical_copy() {
        let mut fixture = fixture(2);
        let late_copy = intent(OPEN_MS + 300, 11);
        deliver(&mut fixture.book, node_key(), Message::Intent(late_copy.clone()), OPEN_MS + 300);
        fixture.book.on_bid(CHAIN, late_copy.id(), Some(bid(800, 9)), salt(), OPEN_MS + 350);
        // A copy observed at an earlier block wins, even though it opened earlier.
        let better = intent(OPEN_MS, 10);
        let (verdict, _) =
            deliver(&mut fixture.book, B256::repeat_byte(0x0e), Message::Intent(better.clone()), OPEN_MS + 400);
        assert_eq!(verdict, Verdict::Accept);
        let adopted = fixture.book.auction(CHAIN, better.id()).unwrap();
        assert_eq!(adopted.intent, better);
        assert_eq!(adopted.origin, B256::repeat_byte(0x0e));
        // The reveal is due at the adopted copy's commit end, not the first copy's.
        assert!(!fixture.book.tick(better.commit_end_ms() + REVEAL_DELAY_MS).is_empty());
    }

    #[test]
    fn canonical_copy_is_the_lowest_precedence_and_fixed_after_commits_close() {
        let mut fixture = fixture(2);
        let first = intent(OPEN_MS, 12);
        deliver(&mut fixture.book, node_key(), Message::Intent(first.clone()), OPEN_MS);
        // A worse copy (later block) is ignored.
        let worse = intent(OPEN_MS + 5, 13);
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Intent(worse), OPEN_MS + 10).0, Verdict::Ignore);
        assert_eq!(fixture.book.auction(CHAIN, first.id()).unwrap().intent, first);
        // Same block: the lower payload hash wins.
        let same_block = intent(OPEN_MS + 7, 12);
        let verdict = deliver(&mut fixture.book, node_key(), Message::Intent(same_block.clone()), OPEN_MS + 20).0;
        let expected = if same_block.payload_hash() < first.payload_hash() { &same_block } else { &first };
        assert_eq!(verdict == Verdict::Accept, expected == &same_block);
        assert_eq!(&fixture.book.auction(CHAIN, first.id()).unwrap().intent, expected);
        // Once commits are closed (beyond tolerance) even a better copy is ignored.
        let canonical = expected.clone();
        let best = intent(OPEN_MS, 1);
        let after = canonical.commit_end_ms() + CLOCK_DISPARITY_MS + 1;
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Intent(best), after).0, Verdict::Ignore);
        assert_eq!(fixture.book.auction(CHAIN, first.id()).unwrap().intent, canonical);
    }

    #[test]
    fn threshold_votes_for_our_award_trigger_one_settle_with_distinct_signers() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        let ours = award_for(&intent, our_executor(), 1_000, 9);
        let now = intent.decide_at_ms() + 10;
        let (verdict, actions) = deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &ours), now);
        assert_eq!(verdict, Verdict::Accept);
        assert!(actions.is_empty(), "one of two signatures is not a quorum");
        // The same attester again (a relayed copy) does not make a quorum.
        assert!(deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &ours), now).1.is_empty());
        let (_, actions) = deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[1], &ours), now);
        let [Action::Settle { quorum, .. }] = actions.as_slice() else { panic!("expected a settle, got {actions:?}") };
        assert_eq!(quorum.award, ours);
        assert_eq!(quorum.signatures.len(), 2);
        let signers: HashSet<Address> = quorum
            .signatures
            .iter()
            .map(|signature| ours.recover_signer(CHAIN, settlement(), signature).unwrap())
            .collect();
        assert_eq!(signers.len(), 2);
        // A third vote does not settle again.
        assert!(deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[2], &ours), now).1.is_empty());
        // Nor does the deadline report Expired while the settle is in flight.
        assert!(fixture.book.tick(award_expiry_ms(&intent) + 1).is_empty());
        let actions =
            fixture.book.on_settled(CHAIN, intent.id(), &ours, SettleResult::Settled { tx_hash: B256::repeat_byte(7) });
        assert_eq!(
            reports(&actions),
            vec![AuctionOutcome::Won {
                chain_id: CHAIN,
                intent_id: intent.id(),
                tx_hash: B256::repeat_byte(7),
                repay_amount: U256::from(1_000),
                premium: U256::from(9),
            }]
        );
    }

    #[test]
    fn an_award_with_amounts_we_did_not_bid_is_never_settled() {
        let mut fixture = fixture(1);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        let inflated = award_for(&intent, our_executor(), 1_000, 900);
        assert!(deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &inflated), OPEN_MS + 2_000)
            .1
            .is_empty());
    }

    #[test]
    fn quorum_for_another_executor_is_lost_with_its_premium() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        let theirs = award_for(&intent, Address::repeat_byte(0x77), 1_000, 12);
        let now = intent.decide_at_ms() + 10;
        deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &theirs), now);
        let (_, actions) = deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[2], &theirs), now);
        assert_eq!(
            reports(&actions),
            vec![AuctionOutcome::Lost {
                chain_id: CHAIN,
                intent_id: intent.id(),
                winning_premium: Some(U256::from(12))
            }]
        );
        // Lost is reported once, and no Expired follows at the deadline.
        assert!(deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[1], &theirs), now).1.is_empty());
        assert!(fixture.book.tick(award_expiry_ms(&intent) + 1).is_empty());
        // The winner did not settle: the committee awards us as runner-up, and we settle.
        let mut runner_up = award_for(&intent, our_executor(), 1_000, 9);
        runner_up.deadline = deadline(intent.award_deadline_secs() + AWARD_VALIDITY_SECS);
        let later = award_expiry_ms(&intent) + 100;
        deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &runner_up), later);
        let (_, actions) = deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[1], &runner_up), later);
        assert!(matches!(actions.as_slice(), [Action::Settle { .. }]), "{actions:?}");
    }

    #[test]
    fn no_quorum_by_the_deadline_is_expired_or_lost_by_our_own_ranking() {
        // Nobody outbid us: Expired.
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        assert!(fixture.book.tick(award_expiry_ms(&intent)).is_empty(), "deadline second still settleable");
        let actions = fixture.book.tick(award_expiry_ms(&intent) + 1);
        assert_eq!(reports(&actions), vec![AuctionOutcome::Expired { chain_id: CHAIN, intent_id: intent.id() }]);
        assert!(fixture.book.tick(award_expiry_ms(&intent) + 2).is_empty(), "reported once");

        // A rival revealed a higher premium: Lost with that premium.
        let mut fixture = self::fixture(2);
        let rival_salt = B256::repeat_byte(0x99);
        let rival_executor = Address::repeat_byte(0x77);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let rival_commitment =
            commitment(intent.id(), rival_key(), rival_executor, U256::from(1_000), U256::from(20), rival_salt);
        let commit = Message::Commit(BidCommit { chainId: CHAIN, intentId: intent.id(), commitment: rival_commitment });
        assert_eq!(deliver(&mut fixture.book, rival_key(), commit, OPEN_MS + 50).0, Verdict::Accept);
        fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), salt(), OPEN_MS + 60);
        fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS);
        let reveal = Message::Reveal(BidReveal {
            chainId: CHAIN,
            intentId: intent.id(),
            executor: rival_executor,
            repayAmount: U256::from(1_000),
            premium: U256::from(20),
            salt: rival_salt,
        });
        assert_eq!(deliver(&mut fixture.book, rival_key(), reveal, intent.commit_end_ms() + 100).0, Verdict::Accept);
        let actions = fixture.book.tick(award_expiry_ms(&intent) + 1);
        assert_eq!(
            reports(&actions),
            vec![AuctionOutcome::Lost {
                chain_id: CHAIN,
                intent_id: intent.id(),
                winning_premium: Some(U256::from(20))
            }]
        );
    }

    #[test]
    fn a_reveal_that_does_not_open_its_commit_is_rejected() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        let committed = commitment(intent.id(), rival_key(), Address::ZERO, U256::from(1_000), U256::from(20), salt());
        deliver(
            &mut fixture.book,
            rival_key(),
            Message::Commit(BidCommit { chainId: CHAIN, intentId: intent.id(), commitment: committed }),
            OPEN_MS + 1,
        );
        let lying = BidReveal {
            chainId: CHAIN,
            intentId: intent.id(),
            executor: Address::ZERO,
            repayAmount: U256::from(1_000),
            premium: U256::from(21),
            salt: salt(),
        };
        let (verdict, _) = deliver(&mut fixture.book, rival_key(), Message::Reveal(lying), intent.commit_end_ms() + 10);
        assert_eq!(verdict, Verdict::Reject);
    }

    #[test]
    fn forged_or_foreign_votes_do_not_count() {
        let mut fixture = fixture(1);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        let ours = award_for(&intent, our_executor(), 1_000, 9);
        let now = intent.decide_at_ms();
        // Signed by someone outside the committee: ignored (our committee view may be stale).
        let outsider = PrivateKeySigner::random();
        assert_eq!(deliver(&mut fixture.book, node_key(), vote(&outsider, &ours), now), (Verdict::Ignore, vec![]));
        // A signature over another award, relabelled: recovers to a stranger.
        let Message::Vote(mut relabelled) = vote(&fixture.attesters[0], &award_for(&intent, our_executor(), 1_000, 10))
        else {
            unreachable!()
        };
        relabelled.award = ours.clone();
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Vote(relabelled), now).0, Verdict::Ignore);
        // Garbage signature: rejected.
        let Message::Vote(mut garbage) = vote(&fixture.attesters[0], &ours) else { unreachable!() };
        garbage.signature = Bytes::from(vec![0u8; 65]);
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Vote(garbage), now).0, Verdict::Reject);
        // An award whose id does not derive from its fields: rejected.
        let mut wrong_id = ours.clone();
        wrong_id.intentId = B256::repeat_byte(0x42);
        assert_eq!(
            deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &wrong_id), now).0,
            Verdict::Reject
        );
        // A vote on the topic of another chain: rejected.
        let (verdict, _) =
            fixture.book.on_message(1, Kind::Vote, from(node_key(), vote(&fixture.attesters[0], &ours)), now);
        assert_eq!(verdict, Verdict::Reject);
        // A vote on the intent topic: rejected.
        let (verdict, _) =
            fixture.book.on_message(CHAIN, Kind::Intent, from(node_key(), vote(&fixture.attesters[0], &ours)), now);
        assert_eq!(verdict, Verdict::Reject);
        // And only then the real thing settles.
        let (_, actions) = deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &ours), now);
        assert!(matches!(actions.as_slice(), [Action::Settle { .. }]));
    }

    #[test]
    fn a_committee_change_can_complete_a_quorum() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        commit_and_reveal(&mut fixture.book, &intent, bid(1_000, 9));
        let ours = award_for(&intent, our_executor(), 1_000, 9);
        deliver(&mut fixture.book, node_key(), vote(&fixture.attesters[0], &ours), intent.decide_at_ms());
        let actions =
            fixture.book.set_committee(CHAIN, Committee::new(fixture.attesters.iter().map(|a| a.address()), 1));
        assert!(matches!(actions.as_slice(), [Action::Settle { .. }]), "{actions:?}");
    }

    #[test]
    fn insane_or_foreign_intents_are_refused() {
        let mut fixture = fixture(2);
        let mut insane = intent(OPEN_MS, 10);
        insane.commitMs = MAX_WINDOW_MS + 1;
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Intent(insane), OPEN_MS).0, Verdict::Reject);
        let mut foreign = intent(OPEN_MS, 10);
        foreign.settlement = Address::repeat_byte(0x01);
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Intent(foreign), OPEN_MS).0, Verdict::Ignore);
        let future = intent(OPEN_MS + 10_000, 10);
        assert_eq!(deliver(&mut fixture.book, node_key(), Message::Intent(future), OPEN_MS).0, Verdict::Ignore);
        let mut wrong_chain = intent(OPEN_MS, 10);
        wrong_chain.chainId = 1;
        let (verdict, _) =
            fixture.book.on_message(CHAIN, Kind::Intent, from(node_key(), Message::Intent(wrong_chain)), OPEN_MS);
        assert_eq!(verdict, Verdict::Reject);
        assert_eq!(fixture.book.auction_count(CHAIN), 0);
    }

    #[test]
    fn auctions_are_pruned_after_retention_and_bounded_in_number() {
        let mut fixture = fixture(2);
        let first = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(first.clone()), OPEN_MS);
        fixture.book.tick(first.reveal_end_ms() + RETAIN_MS);
        assert_eq!(fixture.book.auction_count(CHAIN), 1);
        fixture.book.tick(first.reveal_end_ms() + RETAIN_MS + 1);
        assert_eq!(fixture.book.auction_count(CHAIN), 0);

        for nonce in 0..(MAX_AUCTIONS_PER_CHAIN as u64 + 10) {
            let mut copy = intent(OPEN_MS, 10);
            copy.nonce = U256::from(nonce);
            deliver(&mut fixture.book, node_key(), Message::Intent(copy), OPEN_MS + nonce % 500);
        }
        assert_eq!(fixture.book.auction_count(CHAIN), MAX_AUCTIONS_PER_CHAIN);
    }

    #[test]
    fn a_failed_commit_publish_is_late() {
        let mut fixture = fixture(2);
        let intent = intent(OPEN_MS, 10);
        deliver(&mut fixture.book, node_key(), Message::Intent(intent.clone()), OPEN_MS);
        fixture.book.on_bid(CHAIN, intent.id(), Some(bid(1_000, 9)), salt(), OPEN_MS + 1);
        let actions = fixture.book.on_publish_failed(CHAIN, intent.id());
        assert_eq!(reports(&actions), vec![AuctionOutcome::Late { chain_id: CHAIN, intent_id: intent.id() }]);
        assert!(fixture.book.tick(intent.commit_end_ms() + REVEAL_DELAY_MS).is_empty(), "nothing to reveal");
    }
}
