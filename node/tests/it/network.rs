//! Whole auctions across an in-process network of node cores (sans I/O) and solvers,
//! over a simulated gossip layer that drops, delays and duplicates messages, relays
//! only what a peer accepted (as gossipsub does) and dedupes by message id. The clock
//! is simulated; chain reads answer with the chain's truth. Every peer must end up
//! agreeing: each account settles with the best bid, and no node ever signs two
//! different awards for one intent while the first can settle.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Duration;

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_net::Inbound;
use backstop_node::chain::{Candidate, ChainEvent, Market};
use backstop_node::config::AuctionConfig;
use backstop_node::core::{Core, Effect, Input};
use backstop_protocol::auction::{Admission, ChainContext, Committee, IntentFacts};
use backstop_protocol::envelope::{peer_key, Envelope};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{BidCommit, BidReveal, Kind, Message};
use backstop_protocol::{Award, Verdict};
use ed25519_dalek::SigningKey;
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CHAIN: u64 = 31337;
const START: u64 = 1_700_000_000_000;
const THRESHOLD: usize = 7;

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

fn account(index: u8) -> Address {
    Address::repeat_byte(0x10 + index)
}

/// Network faults, in percent.
#[derive(Clone, Copy)]
struct Faults {
    drop: u32,
    duplicate: u32,
    max_delay_ms: u64,
}

enum Event {
    /// A message from peer `from` reaching peer `to`.
    Deliver { to: usize, from: usize, data: Vec<u8>, kind: Kind },
    /// The chain check of an intent comes back to node `to`.
    Facts { to: usize, input: Box<Input> },
    /// A vote signature comes back to node `to`.
    Signed { to: usize, input: Box<Input> },
}

struct Solver {
    key: SigningKey,
    executor: Address,
    premium: u64,
    /// Intents bid on: id -> (commit end, reveal).
    bids: HashMap<B256, (u64, BidReveal)>,
}

struct Sim {
    now: u64,
    rng: StdRng,
    faults: Faults,
    nodes: Vec<Core>,
    attesters: Vec<PrivateKeySigner>,
    solvers: Vec<Solver>,
    /// Peer index space: nodes first, then solvers.
    seen: Vec<HashSet<MessageId>>,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: HashMap<u64, Event>,
    next_event: u64,
    /// Signed votes per intent: award -> signers.
    votes: HashMap<Award, HashSet<Address>>,
    /// Every award each attester signed, for the double-sign check.
    signed: HashMap<(usize, B256), Vec<Award>>,
    settled: HashMap<B256, Award>,
    /// Signing requests the double-sign guard had to refuse (must stay zero).
    refused_signatures: usize,
    /// Executors that win and never settle.
    no_show_executors: HashSet<Address>,
    /// Canonical intent seen by each node when it decided.
    accepted_intents: HashMap<B256, HashSet<Vec<u8>>>,
}

impl Sim {
    fn new(nodes: usize, faults: Faults, seed: u64) -> Self {
        let attesters: Vec<PrivateKeySigner> = (0..nodes)
            .map(|index| PrivateKeySigner::from_bytes(&B256::repeat_byte(index as u8 + 1)).unwrap())
            .collect();
        let mut cores = Vec::new();
        for index in 0..nodes {
            let mut context = ChainContext::new(CHAIN, settlement());
            context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), THRESHOLD);
            context.admission = Admission::Open;
            let config = AuctionConfig { open_jitter: Duration::from_millis(150), ..AuctionConfig::default() };
            let mut core = Core::new(SigningKey::from_bytes(&[index as u8 + 1; 32]), config, vec![context], true);
            core.seed_jitter(seed + index as u64);
            let _ = core.handle(Input::Chain(ChainEvent::Market(market())), START);
            cores.push(core);
        }
        let solvers: Vec<Solver> = [30u64, 90, 60]
            .into_iter()
            .enumerate()
            .map(|(index, premium)| Solver {
                key: SigningKey::from_bytes(&[0x80 + index as u8; 32]),
                executor: Address::repeat_byte(0xe0 + index as u8),
                premium,
                bids: HashMap::new(),
            })
            .collect();
        let peers = nodes + solvers.len();
        Self {
            now: START,
            rng: StdRng::seed_from_u64(seed),
            faults,
            nodes: cores,
            attesters,
            solvers,
            seen: vec![HashSet::new(); peers],
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            next_event: 0,
            votes: HashMap::new(),
            signed: HashMap::new(),
            settled: HashMap::new(),
            refused_signatures: 0,
            no_show_executors: HashSet::new(),
            accepted_intents: HashMap::new(),
        }
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.next_event += 1;
        self.queue.push(Reverse((at, self.next_event)));
        self.events.insert(self.next_event, event);
    }

    fn peers(&self) -> usize {
        self.nodes.len() + self.solvers.len()
    }

    /// Gossips `data` from `from` to every other peer, with the configured faults.
    fn broadcast(&mut self, from: usize, kind: Kind, data: Vec<u8>) {
        self.seen[from].insert(MessageId::new(&keccak256(&data).0));
        for to in 0..self.peers() {
            if to == from || self.rng.gen_range(0..100) < self.faults.drop {
                continue;
            }
            let delay = self.rng.gen_range(1..=self.faults.max_delay_ms);
            self.schedule(self.now + delay, Event::Deliver { to, from, data: data.clone(), kind });
            if self.rng.gen_range(0..100) < self.faults.duplicate {
                let again = self.rng.gen_range(1..=self.faults.max_delay_ms);
                self.schedule(self.now + delay + again, Event::Deliver { to, from, data: data.clone(), kind });
            }
        }
    }

    fn candidate(&mut self, account_index: u8, block: u64) {
        let candidate = Candidate {
            market: market(),
            account: account(account_index),
            nonce: U256::ZERO,
            max_repay: U256::from(1_000),
            observed_block: block,
            observed_price: U256::from(2_000),
            detected_at_ms: self.now,
            confirmed_at_ms: self.now,
        };
        for node in 0..self.nodes.len() {
            let effects = self.nodes[node].handle(Input::Chain(ChainEvent::Candidate(candidate.clone())), self.now);
            self.perform(node, effects);
        }
    }

    fn perform(&mut self, node: usize, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Verdict { inbound, verdict, .. } => {
                    if verdict == Verdict::Accept {
                        // Gossipsub forwards what the application accepted.
                        let inbound = inbound.inbound();
                        self.broadcast(node, inbound.kind, inbound.data.clone());
                    }
                }
                Effect::Publish { kind, envelope, .. } => {
                    if kind == Kind::Vote {
                        self.record_vote(node, &envelope);
                    }
                    self.broadcast(node, kind, envelope);
                }
                Effect::CheckIntent { origin, intent, inbound, .. } => {
                    let facts = IntentFacts {
                        head_block: intent.observedBlock + 1,
                        liquidatable: true,
                        max_repay: U256::from(1_000),
                        price: U256::from(2_000),
                        current_nonce: U256::ZERO,
                    };
                    let input = Input::IntentFacts {
                        chain_id: CHAIN,
                        origin,
                        intent,
                        facts: Some(facts),
                        inbound: inbound.inbound().clone(),
                    };
                    let delay = self.rng.gen_range(1..=30);
                    self.schedule(self.now + delay, Event::Facts { to: node, input: Box::new(input) });
                }
                Effect::SignVote { award, .. } => {
                    // The committee's double-sign guard, as `Committee::sign` applies it.
                    let history = self.signed.entry((node, award.intentId)).or_default();
                    let result = match history.last() {
                        Some(previous) if *previous == award => Ok(()),
                        Some(previous)
                            if !backstop_protocol::timing::may_replace_award(
                                previous.deadline.to(),
                                award.deadline.to(),
                                self.now,
                            ) =>
                        {
                            self.refused_signatures += 1;
                            Err("double sign refused".to_string())
                        }
                        _ => {
                            history.push(award.clone());
                            Ok(())
                        }
                    };
                    let result = result.map(|()| {
                        self.attesters[node]
                            .sign_hash_sync(&award.signing_hash(CHAIN, settlement()))
                            .expect("signing")
                            .as_bytes()
                    });
                    let input = Input::VoteSigned { chain_id: CHAIN, award, result };
                    self.schedule(self.now + 2, Event::Signed { to: node, input: Box::new(input) });
                }
                Effect::Persist { .. }
                | Effect::Opened { .. }
                | Effect::ResetAuction { .. }
                | Effect::SetStatus { .. }
                | Effect::Reconfirm { .. } => {}
            }
        }
    }

    fn record_vote(&mut self, node: usize, envelope: &[u8]) {
        let Ok(verified) = Envelope::open(envelope) else { return };
        let Message::Vote(vote) = verified.message else { return };
        let signers = self.votes.entry(vote.award.clone()).or_default();
        signers.insert(self.attesters[node].address());
        if signers.len() >= THRESHOLD
            && !self.settled.contains_key(&vote.award.intentId)
            && !self.no_show_executors.contains(&vote.award.executor)
        {
            // The winner settles a block later; every node sees the event.
            let award = vote.award.clone();
            self.settled.insert(award.intentId, award.clone());
            for to in 0..self.nodes.len() {
                let event = ChainEvent::Settled {
                    chain_id: CHAIN,
                    intent_id: award.intentId,
                    executor: award.executor,
                    premium: award.premium,
                    block: 20,
                };
                let effects = self.nodes[to].handle(Input::Chain(event), self.now + 1_000);
                self.perform(to, effects);
            }
        }
    }

    fn deliver_to_solver(&mut self, index: usize, data: &[u8]) {
        let Ok(verified) = Envelope::open(data) else { return };
        let Message::Intent(intent) = verified.message else { return };
        let solver = &mut self.solvers[index - self.nodes.len()];
        let id = intent.id();
        if solver.bids.contains_key(&id) || self.now > intent.commit_end_ms() {
            return;
        }
        let key = peer_key(&solver.key);
        let reveal = BidReveal {
            chainId: CHAIN,
            intentId: id,
            executor: solver.executor,
            repayAmount: intent.maxRepay,
            premium: U256::from(solver.premium),
            salt: B256::repeat_byte(index as u8),
        };
        let commit = BidCommit {
            chainId: CHAIN,
            intentId: id,
            commitment: commitment(id, key, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt),
        };
        solver.bids.insert(id, (intent.commit_end_ms(), reveal));
        let envelope = Envelope::seal(&solver.key, &Message::Commit(commit)).0;
        self.broadcast(index, Kind::Commit, envelope);
    }

    fn solver_ticks(&mut self) {
        for index in 0..self.solvers.len() {
            let due: Vec<(B256, BidReveal)> = self.solvers[index]
                .bids
                .iter()
                .filter(|(_, (commit_end, _))| self.now >= commit_end + 50 && self.now < commit_end + 60)
                .map(|(id, (_, reveal))| (*id, reveal.clone()))
                .collect();
            for (_, reveal) in due {
                let envelope = Envelope::seal(&self.solvers[index].key, &Message::Reveal(reveal)).0;
                self.broadcast(self.nodes.len() + index, Kind::Reveal, envelope);
            }
        }
    }

    fn run_until(&mut self, until: u64) {
        let mut next_tick = self.now;
        loop {
            let next_event = self.queue.peek().map(|Reverse((at, _))| *at).unwrap_or(u64::MAX);
            if next_tick <= next_event {
                if next_tick > until {
                    return;
                }
                self.now = next_tick;
                next_tick += 10;
                self.solver_ticks();
                for node in 0..self.nodes.len() {
                    let effects = self.nodes[node].handle(Input::Tick, self.now);
                    self.perform(node, effects);
                }
                continue;
            }
            let Some(Reverse((at, id))) = self.queue.pop() else { return };
            self.now = at;
            let Some(event) = self.events.remove(&id) else { continue };
            match event {
                Event::Deliver { to, from, data, kind } => {
                    let message_id = MessageId::new(&keccak256(&data).0);
                    // Gossipsub's duplicate cache; duplicates still reach it (the test's point)
                    // only when they bypass the cache, which one in ten does.
                    if self.seen[to].contains(&message_id) && self.rng.gen_range(0..10) != 0 {
                        continue;
                    }
                    self.seen[to].insert(message_id.clone());
                    if to >= self.nodes.len() {
                        self.deliver_to_solver(to, &data);
                        continue;
                    }
                    let inbound = Inbound {
                        id: message_id,
                        source: PeerId::from_bytes(&peer_id_bytes(from)).unwrap_or_else(|_| PeerId::random()),
                        chain_id: CHAIN,
                        kind,
                        data,
                        received_at: std::time::Instant::now(),
                    };
                    let effects = self.nodes[to].handle(Input::Gossip(inbound), self.now);
                    self.perform(to, effects);
                }
                Event::Facts { to, input } | Event::Signed { to, input } => {
                    let effects = self.nodes[to].handle(*input, self.now);
                    self.perform(to, effects);
                }
            }
        }
    }

    fn record_canonical(&mut self) {
        for node in &self.nodes {
            let Some(book) = node.book(CHAIN) else { continue };
            for id in book.auction_ids() {
                if let Some(round) = book.round(&id) {
                    use alloy::sol_types::SolValue;
                    self.accepted_intents.entry(id).or_default().insert(round.intent().abi_encode());
                }
            }
        }
    }
}

fn peer_id_bytes(index: usize) -> Vec<u8> {
    let key = libp2p::identity::Keypair::ed25519_from_bytes([index as u8 + 1; 32]).expect("key");
    key.public().to_peer_id().to_bytes()
}

fn run_crash(faults: Faults, seed: u64) -> Sim {
    let mut sim = Sim::new(10, faults, seed);
    // Three accounts go under in consecutive blocks; every node sees each one.
    for (index, block) in [(0u8, 10u64), (1, 11), (2, 12)] {
        sim.candidate(index, block);
        let until = sim.now + 1_000;
        sim.run_until(until);
        sim.record_canonical();
    }
    let until = sim.now + 60_000;
    sim.run_until(until);
    sim
}

fn assert_settled_with_the_best_bid(sim: &Sim) {
    assert_eq!(sim.settled.len(), 3, "every account settled: {:?}", sim.settled.keys().collect::<Vec<_>>());
    for award in sim.settled.values() {
        assert_eq!(award.premium, U256::from(90), "the best premium wins");
        assert_eq!(award.executor, Address::repeat_byte(0xe1));
    }
    assert_no_double_signing(sim);
}

fn assert_no_double_signing(sim: &Sim) {
    // Checked over every signature made: first make sure there were some.
    assert!(sim.signed.len() >= THRESHOLD, "signatures were made: {}", sim.signed.len());
    assert_eq!(sim.refused_signatures, 0, "a node asked to sign an award while an earlier one could settle");
    for ((node, intent), awards) in &sim.signed {
        for pair in awards.windows(2) {
            let (first, second): (u64, u64) = (pair[0].deadline.to(), pair[1].deadline.to());
            assert!(
                second >= backstop_protocol::timing::next_award_start_secs(first),
                "node {node} signed overlapping awards for {intent}: deadlines {first} and {second}"
            );
        }
    }
}

#[test]
fn ten_nodes_and_three_solvers_settle_every_account_on_a_perfect_network() {
    let sim = run_crash(Faults { drop: 0, duplicate: 0, max_delay_ms: 5 }, 1);
    assert_settled_with_the_best_bid(&sim);
    for (id, copies) in &sim.accepted_intents {
        assert_eq!(copies.len(), 1, "nodes disagree on the canonical copy of {id}");
    }
}

#[test]
fn ten_nodes_settle_every_account_despite_dropped_delayed_and_duplicated_messages() {
    for seed in [2u64, 3, 4] {
        let sim = run_crash(Faults { drop: 15, duplicate: 15, max_delay_ms: 120 }, seed);
        assert_settled_with_the_best_bid(&sim);
    }
}

#[test]
fn a_winner_that_never_settles_hands_the_liquidation_to_the_runner_up() {
    let mut sim = Sim::new(10, Faults { drop: 5, duplicate: 5, max_delay_ms: 40 }, 7);
    // The 90-premium solver wins every auction and never settles.
    sim.no_show_executors.insert(Address::repeat_byte(0xe1));
    sim.candidate(0, 10);
    let until = sim.now + 60_000;
    sim.run_until(until);
    let award = sim.settled.values().next().expect("the runner-up settled");
    assert_eq!(award.executor, Address::repeat_byte(0xe2), "rank 1 (premium 60), not skipped to rank 2");
    assert_eq!(award.premium, U256::from(60));
    let winner_votes = sim
        .votes
        .iter()
        .filter(|(award, _)| award.executor == Address::repeat_byte(0xe1))
        .map(|(_, signers)| signers.len())
        .max()
        .unwrap_or(0);
    assert!(winner_votes >= THRESHOLD, "the winner did get its quorum first");
    assert_no_double_signing(&sim);
}
