//! The node's core loop: one task owns every auction and reacts to three inputs —
//! gossip from peers, events from the chain watchers, and the clock. Validation of
//! every inbound message ends in an explicit verdict (accept, ignore, reject).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use backstop_protocol::envelope::{peer_key, Envelope, Verified};
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Message};
use backstop_protocol::net::{GossipHandle, Inbound, Verdict};
use backstop_protocol::timing::now_ms;
use backstop_protocol::Kind;
use ed25519_dalek::SigningKey;
use rand::Rng;
use tokio::sync::mpsc;

use crate::auction::{Auction, Refusal};
use crate::chain::{Candidate, ChainEvent, Market};
use crate::committee::Committee;
use crate::config::AuctionConfig;
use crate::observe;
use crate::store::{AuctionStatus, Store};

/// How often the clock drives auctions forward.
const TICK: Duration = Duration::from_millis(50);
/// Most auctions one origin may have open at once (bounded input).
const MAX_OPEN_PER_ORIGIN: usize = 512;
/// Closed auction ids remembered in memory to ignore late messages cheaply.
const RECENTLY_CLOSED: usize = 4096;
/// After an auction ends with every award expired (or no bid), the same intent id may
/// be auctioned again once this delay has passed: an account must never be abandoned.
const RETRY_FAILED_AFTER_MS: u64 = 5_000;
/// Votes held for an auction not yet decided locally.
const MAX_PENDING_VOTES: usize = 64;

/// What the core knows about one chain.
pub struct ChainView {
    pub settlement: Address,
    pub attesters: HashSet<Address>,
    pub markets: HashMap<B256, Market>,
}

struct Tracked {
    auction: Auction,
    origin: B256,
    /// Highest rank this node has voted for.
    voted_rank: Option<usize>,
    decided: bool,
    /// Votes that arrived before the local decision, validated once it is made.
    pending_votes: Vec<(Inbound, AwardVote)>,
}

pub struct Core {
    key: SigningKey,
    gossip: GossipHandle,
    store: Store,
    committee: Option<Committee>,
    auction_config: AuctionConfig,
    chains: HashMap<u64, ChainView>,
    auctions: HashMap<B256, Tracked>,
    /// Candidates waiting out the open jitter: intent id -> (when to open, candidate).
    pending_opens: HashMap<B256, (u64, Candidate)>,
    recently_closed: VecDeque<B256>,
    closed_set: HashSet<B256>,
    /// Failed auctions and when they failed (local clock), for the retry delay.
    failed_at: HashMap<B256, u64>,
    /// Before this instant (unix ms) the node opens no intents of its own: it restarted
    /// and follows its peers first (see `AuctionConfig::restart_quiet`).
    quiet_until_ms: u64,
}

impl Core {
    pub fn new(
        key: SigningKey,
        gossip: GossipHandle,
        store: Store,
        committee: Option<Committee>,
        auction_config: AuctionConfig,
        chains: HashMap<u64, ChainView>,
    ) -> Self {
        Self {
            key,
            gossip,
            store,
            committee,
            auction_config,
            chains,
            auctions: HashMap::new(),
            pending_opens: HashMap::new(),
            recently_closed: VecDeque::new(),
            closed_set: HashSet::new(),
            failed_at: HashMap::new(),
            quiet_until_ms: 0,
        }
    }

    /// Opens no intents of its own until `until_ms`; used after a restart.
    pub fn stay_quiet_until(&mut self, until_ms: u64) {
        observe::restart_quiet(until_ms);
        self.quiet_until_ms = until_ms;
    }

    /// Replays the stored envelopes of auctions that were open at shutdown.
    pub fn restore(&mut self) -> Result<(), crate::store::StoreError> {
        let open = self.store.open_auctions()?;
        let mut restored = 0;
        for intent_id in open {
            for bytes in self.store.auction_messages(intent_id)? {
                let Ok(verified) = Envelope::open(&bytes) else { continue };
                self.replay(verified);
            }
            if self.auctions.contains_key(&intent_id) {
                restored += 1;
            }
        }
        // A vote already signed before the restart is not signed again with another rank.
        for (intent_id, tracked) in self.auctions.iter_mut() {
            if let Some(vote) = self.store.vote(*intent_id)? {
                let rank = (0..tracked.auction.ranking().len())
                    .find(|rank| tracked.auction.award_for_rank(*rank).as_ref() == Some(&vote.award));
                tracked.voted_rank = rank;
            }
        }
        observe::auctions_restored(restored);
        Ok(())
    }

    /// Applies a stored message as of the time it was accepted.
    fn replay(&mut self, verified: Verified) {
        match verified.message {
            Message::Intent(intent) => {
                let id = intent.id();
                match self.auctions.get_mut(&id) {
                    Some(tracked) => {
                        let at = tracked.auction.intent.openTimeMs;
                        let _ = tracked.auction.offer_copy(intent, at);
                    }
                    None => {
                        self.auctions.insert(id, Tracked::new(Auction::new(intent), verified.signer));
                    }
                }
            }
            Message::Commit(commit) => {
                if let Some(tracked) = self.auctions.get_mut(&commit.intentId) {
                    let at = tracked.auction.intent.openTimeMs;
                    let _ = tracked.auction.on_commit(verified.signer, &commit, at);
                }
            }
            Message::Reveal(reveal) => {
                if let Some(tracked) = self.auctions.get_mut(&reveal.intentId) {
                    let at = tracked.auction.intent.commit_end_ms();
                    let _ = tracked.auction.on_reveal(verified.signer, &reveal, at);
                }
            }
            Message::Vote(_) | Message::Outcome(_) => {}
        }
    }

    pub async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, mut chain_events: mpsc::Receiver<ChainEvent>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                message = inbound.recv() => match message {
                    Some(message) => self.on_gossip(message).await,
                    None => return,
                },
                event = chain_events.recv() => match event {
                    Some(event) => self.on_chain_event(event).await,
                    None => return,
                },
                _ = tick.tick() => self.on_tick(now_ms()).await,
            }
        }
    }

    async fn on_gossip(&mut self, inbound: Inbound) {
        let verified = match Envelope::open(&inbound.data) {
            Ok(verified) => verified,
            Err(error) => {
                observe::message_refused(inbound.chain_id, inbound.kind.name(), &error.to_string(), true);
                self.gossip.report(&inbound, Verdict::Reject).await;
                return;
            }
        };
        if verified.message.kind() != inbound.kind || verified.message.chain_id() != inbound.chain_id {
            observe::message_refused(inbound.chain_id, inbound.kind.name(), "message does not match its topic", true);
            self.gossip.report(&inbound, Verdict::Reject).await;
            return;
        }
        let signer = verified.signer;
        let outcome = match verified.message {
            Message::Intent(intent) => self.on_intent(signer, intent, &inbound.data, now_ms()),
            Message::Commit(commit) => self.on_commit(signer, commit, &inbound.data, now_ms()),
            Message::Reveal(reveal) => self.on_reveal(signer, reveal, &inbound.data, now_ms()),
            Message::Vote(vote) => match self.check_vote(&vote) {
                VoteCheck::Defer => {
                    if let Some(tracked) = self.auctions.get_mut(&vote.award.intentId) {
                        if tracked.pending_votes.len() < MAX_PENDING_VOTES {
                            tracked.pending_votes.push((inbound, vote));
                            return;
                        }
                    }
                    Err(Refusal::Ignore("too many early votes"))
                }
                VoteCheck::Verdict(result) => result,
            },
            Message::Outcome(_) => Ok(()),
        };
        self.report(&inbound, outcome).await;
    }

    async fn report(&self, inbound: &Inbound, outcome: Result<(), Refusal>) {
        let verdict = match outcome {
            Ok(()) => Verdict::Accept,
            Err(Refusal::Ignore(reason)) => {
                observe::message_refused(inbound.chain_id, inbound.kind.name(), reason, false);
                Verdict::Ignore
            }
            Err(Refusal::Reject(reason)) => {
                observe::message_refused(inbound.chain_id, inbound.kind.name(), reason, true);
                Verdict::Reject
            }
        };
        self.gossip.report(inbound, verdict).await;
    }

    /// Whether no new round may open for this intent id at `now`: settled ones never
    /// reopen; failed ones reopen after [`RETRY_FAILED_AFTER_MS`].
    fn is_closed(&self, intent_id: &B256, now: u64) -> bool {
        if self.closed_set.contains(intent_id) {
            return true;
        }
        match self.store.status(*intent_id) {
            Ok(Some(AuctionStatus::Settled)) => true,
            Ok(Some(AuctionStatus::Failed)) => {
                self.failed_at.get(intent_id).is_some_and(|failed| now < failed + RETRY_FAILED_AFTER_MS)
            }
            Ok(_) => false,
            // Fail closed: without the record we cannot rule out a settled auction.
            Err(_) => true,
        }
    }

    /// Starts a new round for an intent id whose previous round failed: forget the old
    /// round's messages so a restart does not replay them into the new one.
    fn reopen_if_failed(&mut self, intent_id: B256) {
        if matches!(self.store.status(intent_id), Ok(Some(AuctionStatus::Failed))) {
            if let Err(error) = self.store.reset_auction(intent_id) {
                tracing::error!(%intent_id, %error, "failed to reset a failed auction");
            }
            self.failed_at.remove(&intent_id);
        }
    }

    fn on_intent(&mut self, origin: B256, intent: Intent, envelope: &[u8], now: u64) -> Result<(), Refusal> {
        let Some(chain) = self.chains.get(&intent.chainId) else {
            return Err(Refusal::Ignore("chain not watched"));
        };
        if intent.settlement != chain.settlement {
            return Err(Refusal::Reject("intent names another settlement contract"));
        }
        let Some(market) = chain.markets.get(&intent.marketId) else {
            return Err(Refusal::Ignore("market not (yet) known"));
        };
        if intent.debtAsset != market.debt_asset || intent.reservePremium < market.reserve_premium {
            return Err(Refusal::Reject("intent misstates the market's debt asset or reserve"));
        }
        if !intent.timing_is_sane(now) {
            return Err(Refusal::Ignore("intent timing outside bounds or stale"));
        }
        let id = intent.id();
        if self.is_closed(&id, now) {
            return Err(Refusal::Ignore("auction already closed"));
        }
        if let Some(tracked) = self.auctions.get_mut(&id) {
            tracked.auction.offer_copy(intent, now)?;
        } else {
            let open_by_origin = self.auctions.values().filter(|tracked| tracked.origin == origin).count();
            if open_by_origin >= MAX_OPEN_PER_ORIGIN {
                return Err(Refusal::Ignore("origin has too many open intents"));
            }
            self.reopen_if_failed(id);
            self.auctions.insert(id, Tracked::new(Auction::new(intent.clone()), origin));
            self.pending_opens.remove(&id);
            observe::intent_accepted(intent.chainId, id, origin);
        }
        self.persist(id, envelope);
        Ok(())
    }

    fn on_commit(&mut self, solver: B256, commit: BidCommit, envelope: &[u8], now: u64) -> Result<(), Refusal> {
        let Some(tracked) = self.auctions.get_mut(&commit.intentId) else {
            return Err(Refusal::Ignore("commit for an unknown intent"));
        };
        tracked.auction.on_commit(solver, &commit, now)?;
        self.persist(commit.intentId, envelope);
        Ok(())
    }

    fn on_reveal(&mut self, solver: B256, reveal: BidReveal, envelope: &[u8], now: u64) -> Result<(), Refusal> {
        let Some(tracked) = self.auctions.get_mut(&reveal.intentId) else {
            return Err(Refusal::Ignore("reveal for an unknown intent"));
        };
        tracked.auction.on_reveal(solver, &reveal, now)?;
        self.persist(reveal.intentId, envelope);
        Ok(())
    }

    fn check_vote(&self, vote: &AwardVote) -> VoteCheck {
        let Some(chain) = self.chains.get(&vote.chainId) else {
            return VoteCheck::Verdict(Err(Refusal::Ignore("chain not watched")));
        };
        if vote.settlement != chain.settlement {
            return VoteCheck::Verdict(Err(Refusal::Reject("vote names another settlement contract")));
        }
        match vote.award.recover_signer(vote.chainId, vote.settlement, &vote.signature) {
            Ok(signer) if chain.attesters.contains(&signer) => {}
            Ok(_) => return VoteCheck::Verdict(Err(Refusal::Reject("vote signer is not a committee member"))),
            Err(_) => return VoteCheck::Verdict(Err(Refusal::Reject("vote signature does not recover"))),
        }
        let Some(tracked) = self.auctions.get(&vote.award.intentId) else {
            return VoteCheck::Verdict(Err(Refusal::Ignore("vote for an unknown or closed intent")));
        };
        if !tracked.decided {
            return VoteCheck::Defer;
        }
        let auction = &tracked.auction;
        let matches =
            (0..auction.ranking().len()).any(|rank| auction.award_for_rank(rank).as_ref() == Some(&vote.award));
        if matches {
            VoteCheck::Verdict(Ok(()))
        } else {
            VoteCheck::Verdict(Err(Refusal::Ignore("vote differs from the locally computed award")))
        }
    }

    fn persist(&self, intent_id: B256, envelope: &[u8]) {
        if let Err(error) = self.store.append_auction_message(intent_id, envelope) {
            tracing::error!(%intent_id, %error, "failed to persist auction message");
        }
    }

    async fn on_chain_event(&mut self, event: ChainEvent) {
        match event {
            ChainEvent::Market(market) => {
                if let Some(chain) = self.chains.get_mut(&market.chain_id) {
                    chain.markets.insert(market.market_id, market);
                }
            }
            ChainEvent::Candidate(candidate) => {
                let id = backstop_protocol::id::intent_id(
                    candidate.market.chain_id,
                    candidate.market.settlement,
                    candidate.market.market_id,
                    candidate.account,
                    candidate.nonce,
                );
                // The candidate is read at the head: had this nonce settled on the canonical
                // chain, the nonce would have moved on. A "settled" status here means the
                // settlement was reorged out.
                if matches!(self.store.status(id), Ok(Some(AuctionStatus::Settled))) {
                    observe::settlement_reorged_out(candidate.market.chain_id, id);
                    if let Err(error) = self.store.reset_auction(id) {
                        tracing::error!(intent_id = %id, %error, "failed to reset a reorged-out auction");
                    }
                    self.closed_set.remove(&id);
                }
                if self.auctions.contains_key(&id)
                    || self.pending_opens.contains_key(&id)
                    || self.is_closed(&id, now_ms())
                {
                    return;
                }
                let jitter_ms = self.auction_config.open_jitter.as_millis() as u64;
                let delay = if jitter_ms == 0 { 0 } else { rand::thread_rng().gen_range(0..=jitter_ms) };
                self.pending_opens.insert(id, (now_ms() + delay, candidate));
            }
            ChainEvent::Settled { chain_id, intent_id, executor, premium, block } => {
                observe::auction_settled(chain_id, intent_id, executor, premium, block);
                self.close(intent_id, AuctionStatus::Settled, now_ms());
            }
            ChainEvent::OpenLiquidated { chain_id, intent_id, liquidator, block } => {
                observe::auction_preempted(chain_id, intent_id, liquidator, block);
                self.close(intent_id, AuctionStatus::Settled, now_ms());
            }
            ChainEvent::Committee { chain_id, attesters } => {
                if let Some(chain) = self.chains.get_mut(&chain_id) {
                    chain.attesters = attesters.into_iter().collect();
                }
            }
            ChainEvent::Reorg { .. } | ChainEvent::Head { .. } => {}
        }
    }

    fn close(&mut self, intent_id: B256, status: AuctionStatus, now: u64) {
        self.auctions.remove(&intent_id);
        self.pending_opens.remove(&intent_id);
        if let Err(error) = self.store.set_status(intent_id, status) {
            tracing::error!(%intent_id, %error, "failed to persist auction status");
        }
        if status == AuctionStatus::Failed {
            self.failed_at.insert(intent_id, now);
            return;
        }
        self.failed_at.remove(&intent_id);
        if self.closed_set.insert(intent_id) {
            self.recently_closed.push_back(intent_id);
            if self.recently_closed.len() > RECENTLY_CLOSED {
                if let Some(oldest) = self.recently_closed.pop_front() {
                    self.closed_set.remove(&oldest);
                }
            }
        }
    }

    async fn on_tick(&mut self, now: u64) {
        self.open_due_intents(now).await;
        let ids: Vec<B256> = self.auctions.keys().copied().collect();
        for id in ids {
            self.drive(id, now).await;
        }
    }

    async fn open_due_intents(&mut self, now: u64) {
        if now < self.quiet_until_ms {
            // Candidates come back every block; peers handle them meanwhile.
            self.pending_opens.clear();
            return;
        }
        let due: Vec<B256> = self.pending_opens.iter().filter(|(_, (at, _))| *at <= now).map(|(id, _)| *id).collect();
        for id in due {
            let Some((_, candidate)) = self.pending_opens.remove(&id) else { continue };
            if self.auctions.contains_key(&id) {
                continue; // a peer's copy arrived during the jitter
            }
            let intent = Intent {
                chainId: candidate.market.chain_id,
                settlement: candidate.market.settlement,
                marketId: candidate.market.market_id,
                account: candidate.account,
                nonce: candidate.nonce,
                debtAsset: candidate.market.debt_asset,
                collateralAsset: candidate.market.collateral_assets.first().copied().unwrap_or_default(),
                maxRepay: candidate.max_repay,
                observedBlock: candidate.observed_block,
                observedPrice: candidate.observed_price,
                openTimeMs: now,
                commitMs: self.auction_config.commit.as_millis() as u32,
                revealMs: self.auction_config.reveal.as_millis() as u32,
                reservePremium: candidate.market.reserve_premium,
            };
            let envelope = Envelope::seal(&self.key, &Message::Intent(intent.clone()));
            if self.on_intent(peer_key(&self.key), intent.clone(), envelope.as_bytes(), now).is_err() {
                continue;
            }
            observe::intent_opened(intent.chainId, id, intent.account, intent.nonce);
            self.publish(intent.chainId, Kind::Intent, envelope).await;
        }
    }

    async fn drive(&mut self, id: B256, now: u64) {
        let Some(tracked) = self.auctions.get_mut(&id) else { return };
        if now < tracked.auction.intent.decide_at_ms() {
            return;
        }
        let chain_id = tracked.auction.intent.chainId;
        if !tracked.decided {
            tracked.decided = true;
            let winner = tracked.auction.award_for_rank(0).map(|award| (award.executor, award.premium));
            observe::auction_decided(
                chain_id,
                id,
                tracked.auction.commit_count(),
                tracked.auction.reveal_count(),
                winner,
            );
            let pending = std::mem::take(&mut tracked.pending_votes);
            for (inbound, vote) in pending {
                let result = match self.check_vote(&vote) {
                    VoteCheck::Verdict(result) => result,
                    VoteCheck::Defer => Err(Refusal::Ignore("undecided")),
                };
                self.report(&inbound, result).await;
            }
        }
        let Some(tracked) = self.auctions.get(&id) else { return };
        if tracked.auction.is_exhausted(now) {
            observe::auction_failed(chain_id, id);
            self.close(id, AuctionStatus::Failed, now);
            return;
        }
        let Some(rank) = tracked.auction.current_rank(now / 1000) else { return };
        if tracked.voted_rank.is_some_and(|voted| voted >= rank) {
            return;
        }
        self.vote(id, rank, now).await;
    }

    async fn vote(&mut self, id: B256, rank: usize, now: u64) {
        let Some(committee) = &self.committee else { return };
        let Some(tracked) = self.auctions.get(&id) else { return };
        let Some(award) = tracked.auction.award_for_rank(rank) else { return };
        let chain_id = tracked.auction.intent.chainId;
        let settlement = tracked.auction.intent.settlement;
        match committee.sign(chain_id, settlement, &award, now / 1000).await {
            Ok(signature) => {
                if let Some(tracked) = self.auctions.get_mut(&id) {
                    tracked.voted_rank = Some(rank);
                }
                observe::vote_signed(chain_id, id, award.executor, award.deadline);
                let vote = AwardVote { chainId: chain_id, settlement, award, signature: signature.to_vec().into() };
                let envelope = Envelope::seal(&self.key, &Message::Vote(vote));
                self.publish(chain_id, Kind::Vote, envelope).await;
            }
            Err(error) => {
                // Mark as voted so the refusal is not retried every tick.
                if let Some(tracked) = self.auctions.get_mut(&id) {
                    tracked.voted_rank = Some(rank);
                }
                observe::vote_refused(chain_id, id, &error);
            }
        }
    }

    async fn publish(&self, chain_id: u64, kind: Kind, envelope: Envelope) {
        if let Err(error) = self.gossip.publish(chain_id, kind, envelope.0).await {
            observe::publish_failed(chain_id, kind.name(), &error);
        }
    }

    /// Ids of auctions currently tracked (for status and tests).
    pub fn open_auction_ids(&self) -> Vec<B256> {
        self.auctions.keys().copied().collect()
    }
}

enum VoteCheck {
    Verdict(Result<(), Refusal>),
    /// The auction is not decided locally yet: hold the message.
    Defer,
}

impl Tracked {
    fn new(auction: Auction, origin: B256) -> Self {
        Self { auction, origin, voted_rank: None, decided: false, pending_votes: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::U256;
    use alloy::signers::local::PrivateKeySigner;
    use alloy::signers::SignerSync;
    use backstop_protocol::id::commitment;
    use backstop_protocol::net::{spawn, GossipConfig};
    use backstop_protocol::Award;

    const CHAIN: u64 = 31337;
    const OPEN: u64 = 1_700_000_000_000;

    fn settlement() -> Address {
        Address::repeat_byte(0x5e)
    }

    fn market() -> Market {
        Market {
            chain_id: CHAIN,
            settlement: settlement(),
            market_id: B256::repeat_byte(0xaa),
            adapter: Address::repeat_byte(0xad),
            debt_asset: Address::repeat_byte(0xde),
            collateral_assets: vec![Address::repeat_byte(0xc0)],
            reserve_premium: U256::from(5),
        }
    }

    fn intent(open: u64, observed_block: u64) -> Intent {
        Intent {
            chainId: CHAIN,
            settlement: settlement(),
            marketId: market().market_id,
            account: Address::repeat_byte(0xac),
            nonce: U256::from(0),
            debtAsset: market().debt_asset,
            collateralAsset: Address::repeat_byte(0xc0),
            maxRepay: U256::from(1_000),
            observedBlock: observed_block,
            observedPrice: U256::from(2_000),
            openTimeMs: open,
            commitMs: 800,
            revealMs: 400,
            reservePremium: U256::from(5),
        }
    }

    /// The account of [`intent`], confirmed liquidatable at block 10.
    fn candidate() -> Candidate {
        Candidate {
            market: market(),
            account: Address::repeat_byte(0xac),
            nonce: U256::from(0),
            max_repay: U256::from(1_000),
            observed_block: 10,
            observed_price: U256::from(2_000),
        }
    }

    struct Harness {
        core: Core,
        store: Store,
        attesters: Vec<PrivateKeySigner>,
        /// Owns the data dir; dropped (and removed) with the harness.
        _dir: tempfile::TempDir,
    }

    /// A core with a real (peerless) gossip swarm, a real sled store at `path` and the
    /// first attester's committee key — what `start` builds, minus the chain watchers.
    async fn core_at(path: &std::path::Path, attesters: &[PrivateKeySigner]) -> (Core, Store) {
        let (gossip, _inbound) = spawn(GossipConfig {
            secret_key: [9; 32],
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            bootstrap: vec![],
            chains: vec![CHAIN],
            heartbeat: Duration::from_millis(200),
        })
        .await
        .unwrap();
        let store = Store::open(path).unwrap();
        let chain = ChainView {
            settlement: settlement(),
            attesters: attesters.iter().map(PrivateKeySigner::address).collect(),
            markets: [(market().market_id, market())].into_iter().collect(),
        };
        let committee = Committee::new(attesters[0].clone(), store.clone());
        let core = Core::new(
            SigningKey::from_bytes(&[9; 32]),
            gossip,
            store.clone(),
            Some(committee),
            AuctionConfig::default(),
            [(CHAIN, chain)].into_iter().collect(),
        );
        (core, store)
    }

    async fn harness() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let (core, store) = core_at(dir.path(), &attesters).await;
        Harness { core, store, attesters, _dir: dir }
    }

    fn sealed(key: u8, message: Message) -> (B256, Vec<u8>) {
        let key = SigningKey::from_bytes(&[key; 32]);
        (peer_key(&key), Envelope::seal(&key, &message).0)
    }

    /// Opens `intent` and has solver `key` commit and reveal `premium`.
    fn bid(core: &mut Core, intent: &Intent, key: u8, premium: u64) {
        let solver = peer_key(&SigningKey::from_bytes(&[key; 32]));
        let reveal = BidReveal {
            chainId: CHAIN,
            intentId: intent.id(),
            executor: Address::repeat_byte(key),
            repayAmount: U256::from(1_000),
            premium: U256::from(premium),
            salt: B256::repeat_byte(key),
        };
        let commit = BidCommit {
            chainId: CHAIN,
            intentId: intent.id(),
            commitment: commitment(
                intent.id(),
                solver,
                reveal.executor,
                reveal.repayAmount,
                reveal.premium,
                reveal.salt,
            ),
        };
        let (_, bytes) = sealed(key, Message::Commit(commit.clone()));
        core.on_commit(solver, commit, &bytes, intent.openTimeMs + 100).unwrap();
        let (_, bytes) = sealed(key, Message::Reveal(reveal.clone()));
        core.on_reveal(solver, reveal, &bytes, intent.commit_end_ms() + 10).unwrap();
    }

    fn vote(attester: &PrivateKeySigner, award: &Award) -> AwardVote {
        let signature = attester.sign_hash_sync(&award.signing_hash(CHAIN, settlement())).unwrap();
        AwardVote {
            chainId: CHAIN,
            settlement: settlement(),
            award: award.clone(),
            signature: signature.as_bytes().to_vec().into(),
        }
    }

    #[tokio::test]
    async fn intents_are_checked_against_the_chain_view() {
        let mut harness = harness().await;
        let core = &mut harness.core;
        let good = intent(OPEN, 10);
        let (origin, bytes) = sealed(1, Message::Intent(good.clone()));

        let mut other_chain = good.clone();
        other_chain.chainId = 1;
        assert_eq!(core.on_intent(origin, other_chain, &bytes, OPEN), Err(Refusal::Ignore("chain not watched")));
        let mut forged = good.clone();
        forged.settlement = Address::repeat_byte(1);
        assert!(matches!(core.on_intent(origin, forged, &bytes, OPEN), Err(Refusal::Reject(_))));
        let mut cheap = good.clone();
        cheap.reservePremium = U256::from(1);
        assert!(matches!(core.on_intent(origin, cheap, &bytes, OPEN), Err(Refusal::Reject(_))));
        let mut unknown = good.clone();
        unknown.marketId = B256::repeat_byte(1);
        assert!(matches!(core.on_intent(origin, unknown, &bytes, OPEN), Err(Refusal::Ignore(_))));
        assert!(
            matches!(core.on_intent(origin, good.clone(), &bytes, OPEN + 10_000), Err(Refusal::Ignore(_))),
            "stale"
        );
        assert!(harness.store.auction_messages(good.id()).unwrap().is_empty(), "nothing refused is stored");

        assert_eq!(core.on_intent(origin, good.clone(), &bytes, OPEN + 5), Ok(()));
        assert_eq!(core.on_intent(origin, good.clone(), &bytes, OPEN + 6), Err(Refusal::Ignore("duplicate intent")));
        assert_eq!(harness.store.auction_messages(good.id()).unwrap(), vec![bytes]);
    }

    #[tokio::test]
    async fn votes_are_held_until_decided_then_checked_against_the_local_award() {
        let mut harness = harness().await;
        let good = intent(OPEN, 10);
        let (origin, bytes) = sealed(1, Message::Intent(good.clone()));
        harness.core.on_intent(origin, good.clone(), &bytes, OPEN).unwrap();
        bid(&mut harness.core, &good, 2, 10);
        bid(&mut harness.core, &good, 3, 30);
        let winner = harness.core.auctions[&good.id()].auction.award_for_rank(0).unwrap();
        assert_eq!(winner.executor, Address::repeat_byte(3));

        let outsider = PrivateKeySigner::random();
        assert!(matches!(
            harness.core.check_vote(&vote(&outsider, &winner)),
            VoteCheck::Verdict(Err(Refusal::Reject(_)))
        ));
        assert!(matches!(harness.core.check_vote(&vote(&harness.attesters[1], &winner)), VoteCheck::Defer));

        harness.core.drive(good.id(), good.decide_at_ms()).await;
        assert!(matches!(harness.core.check_vote(&vote(&harness.attesters[1], &winner)), VoteCheck::Verdict(Ok(()))));
        let mut other = winner.clone();
        other.executor = Address::repeat_byte(2);
        assert!(matches!(
            harness.core.check_vote(&vote(&harness.attesters[1], &other)),
            VoteCheck::Verdict(Err(Refusal::Ignore(_)))
        ));
        let mut tampered = vote(&harness.attesters[1], &winner);
        tampered.award.premium = U256::from(31);
        assert!(matches!(harness.core.check_vote(&tampered), VoteCheck::Verdict(Err(Refusal::Reject(_)))));

        // This node is a committee member: it voted for the winner, durably.
        let stored = harness.store.vote(good.id()).unwrap().expect("vote persisted");
        assert_eq!(stored.award, winner);
        assert_eq!(winner.recover_signer(CHAIN, settlement(), &stored.signature), Ok(harness.attesters[0].address()));
    }

    #[tokio::test]
    async fn a_restarted_node_resumes_its_auctions_and_does_not_vote_differently() {
        let dir = tempfile::tempdir().unwrap();
        let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let good = intent(OPEN, 10);
        let winner = {
            let (mut core, store) = core_at(dir.path(), &attesters).await;
            let (origin, bytes) = sealed(1, Message::Intent(good.clone()));
            core.on_intent(origin, good.clone(), &bytes, OPEN).unwrap();
            bid(&mut core, &good, 2, 10);
            bid(&mut core, &good, 3, 30);
            core.drive(good.id(), good.decide_at_ms()).await;
            store.vote(good.id()).unwrap().expect("voted").award
        };
        // Same data dir, fresh process state.
        let (mut restarted, _store) = core_at(dir.path(), &attesters).await;
        restarted.restore().unwrap();
        let tracked = &restarted.auctions[&good.id()];
        assert_eq!(tracked.auction.commit_count(), 2);
        assert_eq!(tracked.auction.reveal_count(), 2);
        assert_eq!(tracked.voted_rank, Some(0), "the stored vote is recognised, not re-decided");
        assert_eq!(tracked.auction.award_for_rank(0), Some(winner));
    }

    #[tokio::test]
    async fn a_failed_round_may_reopen_only_after_the_retry_delay() {
        let mut harness = harness().await;
        let first = intent(OPEN, 10);
        let (origin, bytes) = sealed(1, Message::Intent(first.clone()));
        harness.core.on_intent(origin, first.clone(), &bytes, OPEN).unwrap();
        // No bids: the auction fails at its decision time.
        let failed_at = first.decide_at_ms();
        harness.core.drive(first.id(), failed_at).await;
        assert!(!harness.core.auctions.contains_key(&first.id()));
        assert_eq!(harness.store.status(first.id()).unwrap(), Some(AuctionStatus::Failed));

        let early = intent(failed_at + 1_000, 12);
        let (_, bytes) = sealed(1, Message::Intent(early.clone()));
        assert_eq!(
            harness.core.on_intent(origin, early, &bytes, failed_at + 1_000),
            Err(Refusal::Ignore("auction already closed"))
        );

        let retry_at = failed_at + RETRY_FAILED_AFTER_MS;
        let retry = intent(retry_at, 15);
        let (_, bytes) = sealed(1, Message::Intent(retry.clone()));
        assert_eq!(harness.core.on_intent(origin, retry.clone(), &bytes, retry_at), Ok(()));
        assert_eq!(harness.store.auction_messages(retry.id()).unwrap(), vec![bytes], "the failed round's log is gone");
        assert_eq!(harness.store.status(retry.id()).unwrap(), Some(AuctionStatus::Open));
    }

    #[tokio::test]
    async fn a_restarted_node_opens_no_intent_of_its_own_during_the_quiet_period() {
        let mut harness = harness().await;
        harness.core.auction_config.open_jitter = Duration::ZERO;
        let candidate = candidate();
        let start = now_ms();
        harness.core.stay_quiet_until(start + 10_000);
        harness.core.on_chain_event(ChainEvent::Candidate(candidate.clone())).await;
        harness.core.on_tick(start + 1).await;
        assert!(harness.core.open_auction_ids().is_empty(), "quiet: peers handle it");

        // The candidate comes back with the next block; after the quiet period it opens.
        harness.core.on_chain_event(ChainEvent::Candidate(candidate)).await;
        harness.core.on_tick(start + 10_001).await;
        assert_eq!(harness.core.open_auction_ids().len(), 1);
    }

    #[tokio::test]
    async fn a_settlement_reorged_out_is_auctioned_again() {
        let mut harness = harness().await;
        harness.core.auction_config.open_jitter = Duration::ZERO;
        let candidate = candidate();
        let id = intent(OPEN, 10).id();
        harness.core.close(id, AuctionStatus::Settled, OPEN);
        // The chain, read at its head, still has the account liquidatable at nonce 0:
        // the Settled event we saw is no longer canonical.
        harness.core.on_chain_event(ChainEvent::Candidate(candidate)).await;
        harness.core.on_tick(now_ms()).await;
        assert_eq!(harness.core.open_auction_ids(), vec![id]);
        assert_eq!(harness.store.status(id).unwrap(), Some(AuctionStatus::Open));
    }

    #[tokio::test]
    async fn a_settled_auction_never_reopens() {
        let mut harness = harness().await;
        let first = intent(OPEN, 10);
        let (origin, bytes) = sealed(1, Message::Intent(first.clone()));
        harness.core.on_intent(origin, first.clone(), &bytes, OPEN).unwrap();
        harness.core.close(first.id(), AuctionStatus::Settled, OPEN + 3_000);
        let again = intent(OPEN + 60_000, 40);
        assert_eq!(
            harness.core.on_intent(origin, again, &bytes, OPEN + 60_000),
            Err(Refusal::Ignore("auction already closed"))
        );
    }
}
