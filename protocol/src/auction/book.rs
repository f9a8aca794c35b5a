//! Every auction of one chain, and the judgement of every message about them. Nodes
//! and solvers both drive a [`ChainBook`]: the same inputs give the same verdicts and
//! the same awards on every peer. Pure: time comes in as `now_ms`, chain reads as
//! [`IntentFacts`], and every collection fed by peers is bounded.

use std::collections::{HashMap, HashSet, VecDeque};

use alloy::primitives::{Address, B256};

use crate::auction::context::ChainContext;
use crate::auction::facts::{check_claims, IntentFacts};
use crate::auction::noshow::NoShowLedger;
use crate::auction::round::Round;
use crate::award::Award;
use crate::envelope::{PeerKey, Verified};
use crate::id::intent_id;
use crate::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome, OutcomeStatus};
use crate::rules::Rejection;

/// Auctions tracked per chain (open, deciding, awarding or exhausted-and-retained).
pub const MAX_AUCTIONS_PER_CHAIN: usize = 4096;
/// Auctions one origin key may have in flight. Intents are verified against the chain
/// before they count, so this bounds honest-but-busy origins and replays.
pub const MAX_OPEN_PER_ORIGIN: usize = 512;
/// Intent checks waiting on the chain at once.
pub const MAX_PENDING_CHECKS: usize = 1024;
/// Votes held per auction before its local decision.
pub const MAX_EARLY_VOTES: usize = 64;
/// Distinct `(signer, award)` votes remembered per auction.
pub const MAX_VOTES_PER_AUCTION: usize = 256;
/// Settled intent ids remembered, so late messages for them are ignored cheaply.
pub const MAX_CLOSED: usize = 65_536;
/// How long an exhausted round is kept (its next-round instant still matters).
pub const RETAIN_EXHAUSTED_MS: u64 = 120_000;
/// Origins that equivocated are ignored this long.
pub const BAN_ORIGIN_MS: u64 = 600_000;
/// Origins banned at once (oldest forgotten first).
pub const MAX_BANNED_ORIGINS: usize = 4096;
/// Intent ids for which early commits and reveals are held.
pub const MAX_ORPHAN_IDS: usize = 256;
/// Early commits and reveals held per intent id.
pub const MAX_ORPHANS_PER_ID: usize = 32;
/// How long an early commit or reveal waits for its intent (a peer may try a slow chain
/// check twice, two seconds each).
pub const ORPHAN_TTL_MS: u64 = 5_000;

/// What an accepted message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A new auction, or a new round of an exhausted one.
    Opened {
        id: B256,
        new_round: bool,
    },
    /// A verified copy with better precedence replaced the canonical copy.
    CopyAdopted {
        id: B256,
    },
    Commit {
        id: B256,
        solver: PeerKey,
    },
    Reveal {
        id: B256,
        solver: PeerKey,
    },
    Vote {
        id: B256,
        rank: usize,
        signer: Address,
        award: Award,
        signature: Vec<u8>,
    },
    Outcome {
        id: B256,
        status: OutcomeStatus,
    },
}

/// The judgement of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Forward it.
    Accepted(Accepted),
    /// An intent whose chain claims decide its fate: read [`IntentFacts`] for it and
    /// call [`ChainBook::on_intent_facts`]; hold the gossip verdict until then.
    CheckIntent { origin: PeerKey, intent: Intent },
    /// A vote that arrived before the local decision: hold it and offer it again with
    /// [`ChainBook::on_message`] once [`Progress::Decided`] fired for its auction.
    HoldVote,
}

pub type Judgement = Result<Judged, Rejection>;

/// Time-driven transitions reported by [`ChainBook::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Reveals closed: the ranking is frozen.
    Decided { id: B256, bids: usize, commits: usize, winner: Option<Award> },
    /// `rank` may be awarded from now on (committee members sign it).
    RankDue { id: B256, rank: usize, award: Award },
    /// Every award expired unsettled, or there was no valid bid.
    Exhausted { id: B256, next_round_at_ms: u64 },
}

#[derive(Debug, Clone)]
struct Tracked {
    round: Round,
    early_votes: usize,
    votes_seen: HashSet<(Address, Award)>,
    outcomes_seen: HashSet<PeerKey>,
    /// Highest rank reported as due, so each is reported once.
    rank_reported: Option<usize>,
    /// Top ranks already recorded as no-shows (their award window passed unsettled).
    no_shows_recorded: usize,
    exhausted_at_ms: Option<u64>,
}

impl Tracked {
    /// The solvers ranked from `no_shows_recorded` up to `upto_rank` whose award this peer
    /// saw signed by at least `threshold` attesters (its own vote included): they held a
    /// settleable award and let its window pass. A winner whose award never gathered a
    /// threshold did nothing wrong (the committee disagreed, or votes were lost), and
    /// counting it would let one peer's view of a round make a ledger differ from the
    /// others' and with it the next rankings, which splits the next votes in turn.
    fn awarded_no_shows(&self, upto_rank: usize, threshold: usize) -> Vec<PeerKey> {
        let ranking = self.round.ranking();
        (self.no_shows_recorded..upto_rank.min(ranking.len()))
            .filter(|rank| {
                self.round.award_for_rank(*rank).is_some_and(|award| {
                    self.votes_seen.iter().filter(|(_, voted)| *voted == award).count() >= threshold
                })
            })
            .map(|rank| ranking[rank].solver)
            .collect()
    }

    fn new(round: Round) -> Self {
        Self {
            round,
            early_votes: 0,
            votes_seen: HashSet::new(),
            outcomes_seen: HashSet::new(),
            rank_reported: None,
            no_shows_recorded: 0,
            exhausted_at_ms: None,
        }
    }
}

/// Every auction of one chain.
#[derive(Debug, Clone)]
pub struct ChainBook {
    pub context: ChainContext,
    auctions: HashMap<B256, Tracked>,
    closed: HashSet<B256>,
    closed_order: VecDeque<B256>,
    /// Payload hashes of intents whose chain check is in flight, and when each arrived.
    pending_checks: HashMap<B256, u64>,
    banned_origins: HashMap<PeerKey, u64>,
    no_shows: NoShowLedger,
    /// Commits and reveals that arrived before their intent was accepted here (its chain
    /// check still in flight): applied, as of their arrival, once it is.
    orphans: HashMap<B256, Vec<(PeerKey, Message, u64)>>,
}

impl ChainBook {
    pub fn new(context: ChainContext) -> Self {
        Self {
            context,
            auctions: HashMap::new(),
            closed: HashSet::new(),
            closed_order: VecDeque::new(),
            pending_checks: HashMap::new(),
            banned_origins: HashMap::new(),
            no_shows: NoShowLedger::default(),
            orphans: HashMap::new(),
        }
    }

    /// Holds a commit or reveal for an intent not (yet) accepted here.
    fn hold_orphan(&mut self, id: B256, sender: PeerKey, message: Message, now_ms: u64) {
        if !self.orphans.contains_key(&id) && self.orphans.len() >= MAX_ORPHAN_IDS {
            return;
        }
        let held = self.orphans.entry(id).or_default();
        if held.len() < MAX_ORPHANS_PER_ID {
            held.push((sender, message, now_ms));
        }
    }

    /// Applies the held commits and reveals of a just-accepted round.
    fn adopt_orphans(&mut self, id: B256) {
        let Some(held) = self.orphans.remove(&id) else { return };
        let Some(tracked) = self.auctions.get_mut(&id) else { return };
        for (sender, message, at) in held {
            let _ = match &message {
                Message::Commit(commit) => {
                    tracked.round.on_commit(sender, commit.commitment, at, &self.context.admission)
                }
                Message::Reveal(reveal) => tracked.round.on_reveal(sender, reveal, at, &self.context.admission),
                _ => Ok(()),
            };
        }
    }

    pub fn chain_id(&self) -> u64 {
        self.context.chain_id
    }

    /// The current round of an auction.
    pub fn round(&self, id: &B256) -> Option<&Round> {
        self.auctions.get(id).map(|tracked| &tracked.round)
    }

    pub fn auction_ids(&self) -> Vec<B256> {
        self.auctions.keys().copied().collect()
    }

    /// Auctions not yet exhausted.
    pub fn live_count(&self) -> usize {
        self.auctions.values().filter(|tracked| tracked.exhausted_at_ms.is_none()).count()
    }

    pub fn is_closed(&self, id: &B256) -> bool {
        self.closed.contains(id)
    }

    /// Our own vote for `award`, signed as `attester`: gossip does not hand it back to us,
    /// and it counts toward the threshold that makes an unsettled winner a no-show.
    pub fn note_own_vote(&mut self, attester: Address, award: &Award) {
        let Some(tracked) = self.auctions.get_mut(&award.intentId) else { return };
        if tracked.votes_seen.len() < MAX_VOTES_PER_AUCTION {
            tracked.votes_seen.insert((attester, award.clone()));
        }
    }

    pub fn no_shows(&self) -> &NoShowLedger {
        &self.no_shows
    }

    /// Judges a verified envelope that arrived on `topic_kind`'s topic of this chain.
    pub fn on_message(&mut self, topic_kind: Kind, verified: &Verified, now_ms: u64) -> Judgement {
        if verified.message.kind() != topic_kind || verified.message.chain_id() != self.context.chain_id {
            return Err(Rejection::TopicMismatch);
        }
        let signer = verified.signer;
        match &verified.message {
            Message::Intent(intent) => self.on_intent(signer, intent, now_ms),
            Message::Commit(commit) => self.on_commit(signer, commit, now_ms).map(Judged::Accepted),
            Message::Reveal(reveal) => self.on_reveal(signer, reveal, now_ms).map(Judged::Accepted),
            Message::Vote(vote) => self.on_vote(vote, now_ms),
            Message::Outcome(outcome) => self.on_outcome(signer, outcome).map(Judged::Accepted),
        }
    }

    /// Static checks of an intent: everything that needs no chain read.
    fn check_terms(&self, intent: &Intent, now_ms: u64) -> Result<(), Rejection> {
        if intent.settlement != self.context.settlement {
            return Err(Rejection::WrongSettlement);
        }
        let market = self.context.markets.get(&intent.marketId).ok_or(Rejection::UnknownMarket)?;
        if intent.debtAsset != market.debt_asset {
            return Err(Rejection::WrongDebtAsset);
        }
        if intent.reservePremium != market.reserve_premium {
            return Err(Rejection::WrongReserve);
        }
        if !market.collateral_assets.contains(&intent.collateralAsset) {
            return Err(Rejection::UnknownCollateral);
        }
        if !intent.windows_are_sane() {
            return Err(Rejection::WindowsOutOfBounds);
        }
        if intent.is_from_the_future(now_ms) {
            return Err(Rejection::FromTheFuture);
        }
        if intent.is_past_commits(now_ms) {
            return Err(Rejection::PastCommits);
        }
        Ok(())
    }

    /// Where an intent would go, without changing anything.
    fn place(&self, origin: PeerKey, intent: &Intent, now_ms: u64) -> Result<Placement, Rejection> {
        self.check_terms(intent, now_ms)?;
        let id = intent.id();
        if self.closed.contains(&id) {
            return Err(Rejection::AuctionClosed);
        }
        if self.banned_origins.get(&origin).is_some_and(|until| now_ms < *until) {
            return Err(Rejection::OriginBanned);
        }
        match self.auctions.get(&id) {
            Some(tracked) if tracked.exhausted_at_ms.is_some() || tracked.round.is_decided() => {
                if intent.openTimeMs < tracked.round.next_round_at_ms() {
                    return Err(if tracked.round.intent() == intent {
                        Rejection::DuplicateIntent
                    } else {
                        Rejection::RoundTooEarly
                    });
                }
                self.check_caps(origin, false)?;
                Ok(Placement::NewRound)
            }
            Some(tracked) => {
                tracked.round.judge_copy(intent, now_ms)?;
                Ok(Placement::Copy)
            }
            None => {
                self.check_caps(origin, true)?;
                Ok(Placement::New)
            }
        }
    }

    fn check_caps(&self, origin: PeerKey, new_auction: bool) -> Result<(), Rejection> {
        if new_auction && self.auctions.len() >= MAX_AUCTIONS_PER_CHAIN {
            return Err(Rejection::AuctionCapReached);
        }
        let by_origin = self
            .auctions
            .values()
            .filter(|tracked| tracked.exhausted_at_ms.is_none() && tracked.round.origin() == origin)
            .count();
        if by_origin >= MAX_OPEN_PER_ORIGIN {
            return Err(Rejection::OriginCapReached);
        }
        Ok(())
    }

    fn on_intent(&mut self, origin: PeerKey, intent: &Intent, now_ms: u64) -> Judgement {
        self.place(origin, intent, now_ms)?;
        if self.pending_checks.len() >= MAX_PENDING_CHECKS {
            return Err(Rejection::ChainUnavailable);
        }
        if self.pending_checks.contains_key(&intent.payload_hash()) {
            return Err(Rejection::DuplicateIntent);
        }
        self.pending_checks.insert(intent.payload_hash(), now_ms);
        Ok(Judged::CheckIntent { origin, intent: intent.clone() })
    }

    /// The chain check of a [`Judged::CheckIntent`] came back: `facts` is what the
    /// chain says, or `None` if it could not be read.
    ///
    /// The intent's timing is judged as of its arrival, not of the check's answer: under
    /// load a check can outlast the commit window, and a peer that then refused a timely
    /// intent as past its commits was out of the round (with a 3-of-4 committee, two such
    /// peers left no quorum). Commits that arrived meanwhile were held with their own
    /// arrival instants and are judged by them.
    pub fn on_intent_facts(
        &mut self,
        origin: PeerKey,
        intent: Intent,
        facts: Option<&IntentFacts>,
        now_ms: u64,
    ) -> Result<Accepted, Rejection> {
        let arrived_ms = self.pending_checks.remove(&intent.payload_hash()).map_or(now_ms, |at| at.min(now_ms));
        let facts = facts.ok_or(Rejection::ChainUnavailable)?;
        check_claims(&intent, facts)?;
        self.insert_verified(origin, intent, arrived_ms)
    }

    /// Inserts an intent whose claims are known to hold (checked by
    /// [`ChainBook::on_intent_facts`], or this peer's own reading of the chain).
    pub fn insert_verified(&mut self, origin: PeerKey, intent: Intent, now_ms: u64) -> Result<Accepted, Rejection> {
        let id = intent.id();
        match self.place(origin, &intent, now_ms)? {
            Placement::New => {
                self.auctions.insert(id, Tracked::new(Round::new(intent, origin)));
                self.adopt_orphans(id);
                Ok(Accepted::Opened { id, new_round: false })
            }
            Placement::NewRound => {
                self.auctions.insert(id, Tracked::new(Round::new(intent, origin)));
                self.adopt_orphans(id);
                Ok(Accepted::Opened { id, new_round: true })
            }
            Placement::Copy => {
                let same_origin = self.auctions.get(&id).is_some_and(|tracked| tracked.round.origin() == origin);
                if same_origin {
                    // The same key signed two different copies of one auction.
                    self.ban_origin(origin, now_ms);
                }
                let tracked = self.auctions.get_mut(&id).ok_or(Rejection::CommitUnknownIntent)?;
                tracked.round.adopt(intent, origin, now_ms)?;
                Ok(Accepted::CopyAdopted { id })
            }
        }
    }

    /// Re-inserts an intent from this peer's own store after a restart. Its claims and
    /// terms were checked when it was first accepted, and the context (markets,
    /// admitted solvers) may not be loaded yet, so only the copy rules apply.
    pub fn restore_intent(&mut self, origin: PeerKey, intent: Intent) {
        let id = intent.id();
        match self.auctions.get_mut(&id) {
            Some(tracked) => {
                let at = intent.openTimeMs;
                let _ = tracked.round.adopt(intent, origin, at);
            }
            None => {
                self.auctions.insert(id, Tracked::new(Round::new(intent, origin)));
            }
        }
    }

    /// Re-applies a stored commit or reveal as of the instant it was accepted.
    pub fn restore_bid(&mut self, solver: PeerKey, message: &Message) {
        let open = crate::auction::context::Admission::Open;
        match message {
            Message::Commit(commit) => {
                if let Some(tracked) = self.auctions.get_mut(&commit.intentId) {
                    let at = tracked.round.intent().openTimeMs;
                    let _ = tracked.round.on_commit(solver, commit.commitment, at, &open);
                }
            }
            Message::Reveal(reveal) => {
                if let Some(tracked) = self.auctions.get_mut(&reveal.intentId) {
                    let at = tracked.round.intent().commit_end_ms();
                    let _ = tracked.round.on_reveal(solver, reveal, at, &open);
                }
            }
            _ => {}
        }
    }

    fn ban_origin(&mut self, origin: PeerKey, now_ms: u64) {
        if self.banned_origins.len() >= MAX_BANNED_ORIGINS {
            let oldest = self.banned_origins.iter().min_by_key(|(_, until)| **until).map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                self.banned_origins.remove(&oldest);
            }
        }
        self.banned_origins.insert(origin, now_ms.saturating_add(BAN_ORIGIN_MS));
    }

    pub fn on_commit(&mut self, solver: PeerKey, commit: &BidCommit, now_ms: u64) -> Result<Accepted, Rejection> {
        // An exhausted round is over: a commit for its id belongs to the next round, whose
        // intent may still be under its chain check here. Held like one for an unknown id.
        let Some(tracked) = self.auctions.get_mut(&commit.intentId).filter(|tracked| tracked.exhausted_at_ms.is_none())
        else {
            self.hold_orphan(commit.intentId, solver, Message::Commit(commit.clone()), now_ms);
            return Err(Rejection::CommitUnknownIntent);
        };
        tracked.round.on_commit(solver, commit.commitment, now_ms, &self.context.admission)?;
        Ok(Accepted::Commit { id: commit.intentId, solver })
    }

    pub fn on_reveal(&mut self, solver: PeerKey, reveal: &BidReveal, now_ms: u64) -> Result<Accepted, Rejection> {
        let Some(tracked) = self.auctions.get_mut(&reveal.intentId).filter(|tracked| tracked.exhausted_at_ms.is_none())
        else {
            self.hold_orphan(reveal.intentId, solver, Message::Reveal(reveal.clone()), now_ms);
            return Err(Rejection::RevealUnknownIntent);
        };
        tracked.round.on_reveal(solver, reveal, now_ms, &self.context.admission)?;
        Ok(Accepted::Reveal { id: reveal.intentId, solver })
    }

    /// The checks of a vote that need neither its auction nor secp256k1 recovery: the
    /// settlement it names, the signature's shape (exactly r || s || v with v in {27, 28},
    /// as the contract takes it) and the award's intent id. A peer that follows only some
    /// auctions (a solver) runs these on the others' votes, so that a malformed vote
    /// still costs its sender, and leaves the rest unverified.
    pub fn screen_vote(&self, vote: &AwardVote) -> Result<(), Rejection> {
        if vote.settlement != self.context.settlement {
            return Err(Rejection::VoteWrongSettlement);
        }
        let signature = vote.signature.as_ref();
        if signature.len() != 65 || !matches!(signature[64], 27 | 28) {
            return Err(Rejection::VoteSignatureMalformed);
        }
        let award = &vote.award;
        let derived =
            intent_id(self.context.chain_id, self.context.settlement, award.marketId, award.account, award.nonce);
        if award.intentId != derived {
            return Err(Rejection::VoteIntentIdMismatch);
        }
        Ok(())
    }

    /// Cheap checks first, secp256k1 recovery (about half a millisecond) last: a vote
    /// for an auction nobody runs, or for an award nobody computed, costs its sender
    /// nothing, so it must cost us nothing either.
    fn on_vote(&mut self, vote: &AwardVote, now_ms: u64) -> Judgement {
        let _ = now_ms;
        self.screen_vote(vote)?;
        let signature = vote.signature.as_ref();
        let award = &vote.award;
        let tracked = self.auctions.get_mut(&award.intentId).ok_or(Rejection::VoteUnknownIntent)?;
        if !tracked.round.is_decided() {
            // Held unverified (bounded per auction) and judged in full at the decision.
            if tracked.early_votes >= MAX_EARLY_VOTES {
                return Err(Rejection::TooManyEarlyVotes);
            }
            tracked.early_votes += 1;
            return Ok(Judged::HoldVote);
        }
        let rank = tracked.round.rank_of(award).ok_or(Rejection::VoteNotLocalAward)?;
        let signer = match award.recover_signer(self.context.chain_id, self.context.settlement, signature) {
            Ok(signer) => signer,
            Err(crate::award::AwardError::Unrecoverable(_)) => return Err(Rejection::VoteUnrecoverable),
            Err(_) => return Err(Rejection::VoteSignatureMalformed),
        };
        if !self.context.committee.attesters.contains(&signer) {
            return Err(Rejection::NotCommitteeMember);
        }
        let key = (signer, award.clone());
        if tracked.votes_seen.contains(&key) || tracked.votes_seen.len() >= MAX_VOTES_PER_AUCTION {
            return Err(Rejection::DuplicateVote);
        }
        tracked.votes_seen.insert(key);
        Ok(Judged::Accepted(Accepted::Vote {
            id: award.intentId,
            rank,
            signer,
            award: award.clone(),
            signature: signature.to_vec(),
        }))
    }

    fn on_outcome(&mut self, signer: PeerKey, outcome: &Outcome) -> Result<Accepted, Rejection> {
        let status = OutcomeStatus::from_byte(outcome.status).ok_or(Rejection::UnknownOutcomeStatus)?;
        let tracked = self.auctions.get_mut(&outcome.intentId).ok_or(Rejection::OutcomeUnknownIntent)?;
        if !tracked.outcomes_seen.insert(signer) || tracked.outcomes_seen.len() > MAX_VOTES_PER_AUCTION {
            return Err(Rejection::DuplicateOutcome);
        }
        Ok(Accepted::Outcome { id: outcome.intentId, status })
    }

    /// Moves every auction forward to `now_ms`: decisions, due ranks, exhaustion, pruning.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Progress> {
        let mut progress = Vec::new();
        let deprioritised = self.no_shows.deprioritised(now_ms);
        let threshold = self.context.committee.threshold;
        let mut no_shows = Vec::new();
        for (id, tracked) in self.auctions.iter_mut() {
            if tracked.exhausted_at_ms.is_some() {
                continue;
            }
            if !tracked.round.is_decided() && tracked.round.may_decide(now_ms, &self.context.admission) {
                let round = &mut tracked.round;
                round.decide(&deprioritised);
                progress.push(Progress::Decided {
                    id: *id,
                    bids: round.ranking().len(),
                    commits: round.commit_count(),
                    winner: round.award_for_rank(0),
                });
            }
            if !tracked.round.is_decided() {
                continue;
            }
            if let Some(rank) = tracked.round.rank_at(now_ms) {
                if tracked.rank_reported.is_none_or(|reported| reported < rank) {
                    tracked.rank_reported = Some(rank);
                    // Every rank before it had its award window and did not settle: a
                    // no-show from this instant, not only once the whole round is over
                    // (a winner that never settles used to keep winning a crash's
                    // auctions for as long as its first ones took to exhaust).
                    if rank > tracked.no_shows_recorded {
                        no_shows.extend(tracked.awarded_no_shows(rank, threshold));
                        tracked.no_shows_recorded = rank;
                    }
                    if let Some(award) = tracked.round.award_for_rank(rank) {
                        progress.push(Progress::RankDue { id: *id, rank, award });
                    }
                }
            }
            if tracked.round.is_exhausted(now_ms) {
                tracked.exhausted_at_ms = Some(now_ms);
                // The ranks not recorded yet.
                let ranks = tracked.round.ranking().len();
                no_shows.extend(tracked.awarded_no_shows(ranks, threshold));
                tracked.no_shows_recorded = ranks;
                progress.push(Progress::Exhausted { id: *id, next_round_at_ms: tracked.round.next_round_at_ms() });
            }
        }
        for solver in no_shows {
            self.no_shows.record(solver, now_ms);
        }
        self.auctions.retain(|_, tracked| {
            tracked.exhausted_at_ms.is_none_or(|at| now_ms.saturating_sub(at) < RETAIN_EXHAUSTED_MS)
        });
        self.banned_origins.retain(|_, until| now_ms < *until);
        self.orphans.retain(|_, held| {
            held.retain(|(_, _, at)| now_ms.saturating_sub(*at) < ORPHAN_TTL_MS);
            !held.is_empty()
        });
        progress
    }

    /// The auction settled on chain (or was liquidated through the open path): it
    /// never reopens under this id. Returns whether it was tracked.
    pub fn close(&mut self, id: B256) -> bool {
        let was_tracked = self.auctions.remove(&id).is_some();
        if self.closed.insert(id) {
            self.closed_order.push_back(id);
            if self.closed_order.len() > MAX_CLOSED {
                if let Some(oldest) = self.closed_order.pop_front() {
                    self.closed.remove(&oldest);
                }
            }
        }
        was_tracked
    }

    /// A settlement we saw was reorged out: the id may be auctioned again.
    pub fn reopen(&mut self, id: B256) {
        if self.closed.remove(&id) {
            self.closed_order.retain(|closed| *closed != id);
        }
    }

    /// Whether an intent of our own for `id` could be opened now (no live round, not
    /// closed, the retry gap elapsed).
    pub fn may_open(&self, id: &B256, open_time_ms: u64) -> bool {
        if self.closed.contains(id) {
            return false;
        }
        match self.auctions.get(id) {
            None => true,
            Some(tracked) => tracked.round.is_decided() && open_time_ms >= tracked.round.next_round_at_ms(),
        }
    }
}

enum Placement {
    New,
    NewRound,
    Copy,
}
