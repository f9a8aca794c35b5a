//! Fuzz harnesses for the Backstop wire, shared by the libFuzzer targets in
//! `fuzz_targets/` and by their plain replay binaries (stable Rust, no libFuzzer).
//!
//! - [`envelope`]: arbitrary bytes through `Envelope::open` and every payload decoder.
//! - [`validate`]: a little program of operations (raw envelopes, envelopes signed by
//!   known keys over fuzzed payloads, structured commits, reveals, votes and intents,
//!   ticks, closes) run against a `ChainBook` that already holds a live and a decided
//!   auction, at fuzzed instants. Signing inside the harness is what lets the fuzzer get
//!   past the ed25519 check and reach the rules.
//!
//! Both must never panic; the few `assert!`s are protocol invariants.

use std::sync::OnceLock;

use alloy::primitives::{keccak256, Bytes};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_protocol::auction::{
    Accepted, Admission, ChainBook, ChainContext, Committee, IntentFacts, Judged, Judgement, MarketTerms, SolverSet,
    MAX_AUCTIONS_PER_CHAIN,
};
use backstop_protocol::envelope::{peer_key, Envelope, HEADER_LEN, SIGNING_DOMAIN};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome};
use backstop_protocol::{Address, B256, PROTOCOL_VERSION, U256};
use ed25519_dalek::{Signer, SigningKey};

pub mod replay;

const CHAIN: u64 = 31337;
/// The fixture's wall clock: auction A opens here; auction B was decided here.
const OPEN_MS: u64 = 1_700_000_000_000;
/// Operations run per input, so one input cannot run for long.
const MAX_OPS: usize = 32;
/// Ed25519 seeds of the keys the harness signs with: an origin, two bonded solvers, a
/// stranger solver and two plain nodes.
const KEY_SEEDS: [u8; 6] = [1, 10, 11, 12, 20, 30];
const SOLVER_SEEDS: [u8; 3] = [10, 11, 12];

/// Arbitrary bytes through the envelope and the payload decoders.
pub fn envelope(data: &[u8]) {
    if let Ok(verified) = Envelope::open(data) {
        // Strict decoding: what opens re-encodes to the exact payload received.
        assert_eq!(verified.message.encode_payload(), &data[HEADER_LEN..]);
        assert_eq!(verified.message.kind() as u8, data[1]);
    }
    // Any peer can sign any payload, so every decoder faces arbitrary bytes.
    for kind in Kind::ALL {
        if let Ok(message) = Message::decode_payload(kind, data) {
            assert_eq!(message.encode_payload(), data);
        }
    }
}

/// A program of operations against a chain book with a live and a decided auction.
pub fn validate(data: &[u8]) {
    let _ = validate_traced(data);
}

/// [`validate`], returning the judgement of every message delivered (an intent's is
/// that of its chain check), so tests can see which paths an input reaches.
pub fn validate_traced(data: &[u8]) -> Vec<Judgement> {
    let mut trace = Vec::new();
    let world = world();
    let mut input = Input(data);
    let mut book = world.book.clone();
    if input.byte() & 1 == 1 {
        book.context.admission = Admission::Open;
    }
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        trace.extend(run_op(world, &mut book, &mut input));
        assert!(book.auction_ids().len() <= MAX_AUCTIONS_PER_CHAIN);
    }
    trace
}

/// Reads fuzz input as a stream; past its end every read is zero.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((first, rest)) => {
                self.0 = rest;
                *first
            }
            None => 0,
        }
    }

    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        let head = self.bytes(8);
        bytes[..head.len()].copy_from_slice(head);
        u64::from_be_bytes(bytes)
    }

    /// A U256 that is usually small but can be an extreme.
    fn u256(&mut self) -> U256 {
        match self.byte() % 4 {
            0 => U256::ZERO,
            1 => U256::MAX,
            _ => U256::from(self.u64()),
        }
    }

    /// An instant near the fixture's windows, far from them, or an extreme.
    fn instant(&mut self) -> u64 {
        match self.byte() % 4 {
            0 => OPEN_MS.saturating_add_signed(i64::from(self.u16() as i16)),
            1 => OPEN_MS.saturating_add_signed(i64::from(self.u16() as i16) * 1_000),
            2 => self.u64(),
            _ => [0, 1, u64::MAX - 1, u64::MAX][usize::from(self.byte() % 4)],
        }
    }

    fn kind(&mut self) -> Kind {
        Kind::ALL[usize::from(self.byte()) % Kind::ALL.len()]
    }
}

/// Writes inputs for [`validate`]: the inverse of [`Input`], for seed corpora.
#[derive(Default)]
pub struct Program(Vec<u8>);

impl Program {
    fn op(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// An instant `offset` ms after the fixture's open time (tag 0).
    fn at(offset: i16) -> [u8; 3] {
        let [high, low] = (offset as u16).to_be_bytes();
        [0, high, low]
    }
}

#[derive(Clone)]
struct World {
    book: ChainBook,
    attesters: Vec<PrivateKeySigner>,
    outsider: PrivateKeySigner,
    /// A: open at `OPEN_MS`, solver 11 committed. B: decided at `OPEN_MS`, two bids.
    auctions: [Intent; 2],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build_world)
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn settlement() -> Address {
    Address::repeat_byte(0x5e)
}

fn market() -> MarketTerms {
    MarketTerms {
        market_id: B256::repeat_byte(0xaa),
        adapter: Address::repeat_byte(0xad),
        debt_asset: Address::repeat_byte(0xde),
        collateral_assets: vec![Address::repeat_byte(0xc0), Address::repeat_byte(0xc1)],
        reserve_premium: U256::from(5),
    }
}

fn intent(account: u8, open_ms: u64) -> Intent {
    Intent {
        chainId: CHAIN,
        settlement: settlement(),
        marketId: market().market_id,
        account: Address::repeat_byte(account),
        nonce: U256::ZERO,
        debtAsset: market().debt_asset,
        collateralAsset: market().collateral_assets[0],
        maxRepay: U256::from(1_000),
        observedBlock: 10,
        observedPrice: U256::from(2_000),
        openTimeMs: open_ms,
        commitMs: 800,
        revealMs: 400,
        reservePremium: U256::from(5),
    }
}

fn facts_for(intent: &Intent) -> IntentFacts {
    IntentFacts {
        head_block: intent.observedBlock.saturating_add(1),
        liquidatable: true,
        max_repay: intent.maxRepay,
        price: intent.observedPrice,
        current_nonce: intent.nonce,
    }
}

fn bid(intent: &Intent, solver: u8, premium: U256, salt: u8) -> (BidCommit, BidReveal) {
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: intent.id(),
        executor: Address::repeat_byte(solver),
        repayAmount: U256::from(1_000),
        premium,
        salt: B256::repeat_byte(salt),
    };
    let commit = BidCommit {
        chainId: CHAIN,
        intentId: intent.id(),
        commitment: commitment(
            intent.id(),
            peer_key(&key(solver)),
            reveal.executor,
            reveal.repayAmount,
            reveal.premium,
            reveal.salt,
        ),
    };
    (commit, reveal)
}

fn build_world() -> World {
    let attesters: Vec<PrivateKeySigner> = (0u8..3)
        .map(|index| PrivateKeySigner::from_bytes(&keccak256([0xc1, index])).expect("valid secp256k1 scalar"))
        .collect();
    let outsider = PrivateKeySigner::from_bytes(&keccak256([0xee])).expect("valid secp256k1 scalar");
    let mut context = ChainContext::new(CHAIN, settlement());
    context.markets.insert(market().market_id, market());
    context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), 2);
    let mut solvers = SolverSet::default();
    for seed in [10u8, 11] {
        solvers.admit(peer_key(&key(seed)), Address::repeat_byte(seed));
    }
    context.admission = Admission::Bonded(solvers);
    let mut book = ChainBook::new(context);

    let decided = intent(0xb2, OPEN_MS - 2_000);
    book.insert_verified(peer_key(&key(1)), decided.clone(), decided.openTimeMs).expect("fixture B opens");
    for (solver, premium) in [(10u8, 50u64), (11, 20)] {
        let (commit, reveal) = bid(&decided, solver, U256::from(premium), solver);
        book.on_commit(peer_key(&key(solver)), &commit, decided.openTimeMs + 100).expect("fixture B commit");
        book.on_reveal(peer_key(&key(solver)), &reveal, decided.commit_end_ms() + 10).expect("fixture B reveal");
    }
    let live = intent(0xa1, OPEN_MS);
    book.insert_verified(peer_key(&key(1)), live.clone(), OPEN_MS).expect("fixture A opens");
    let (commit, _) = bid(&live, 11, U256::from(30), 11);
    book.on_commit(peer_key(&key(11)), &commit, OPEN_MS + 100).expect("fixture A commit");
    book.tick(OPEN_MS);
    assert!(book.round(&decided.id()).is_some_and(|round| round.is_decided()), "fixture B decided");
    World { book, attesters, outsider, auctions: [live, decided] }
}

/// Gossip bytes of `payload` signed by `key` as `wire_kind` (any byte, known or not).
fn sign_raw(key: &SigningKey, wire_kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut signed = Vec::with_capacity(SIGNING_DOMAIN.len() + 1 + payload.len());
    signed.extend_from_slice(SIGNING_DOMAIN);
    signed.push(wire_kind);
    signed.extend_from_slice(payload);
    let signature = key.sign(&signed);
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.push(PROTOCOL_VERSION);
    bytes.push(wire_kind);
    bytes.extend_from_slice(key.verifying_key().as_bytes());
    bytes.extend_from_slice(&signature.to_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// What a node does with gossip bytes: open, judge, and complete an intent's chain
/// check with facts the input chooses.
fn deliver(
    world: &World,
    book: &mut ChainBook,
    input: &mut Input,
    topic: Kind,
    bytes: &[u8],
    now_ms: u64,
) -> Option<Judgement> {
    let verified = match Envelope::open(bytes) {
        Ok(verified) => verified,
        Err(error) => return Some(Err(error.into())),
    };
    let judged = book.on_message(topic, &verified, now_ms);
    match &judged {
        Ok(Judged::CheckIntent { origin, intent }) => {
            let facts = match input.byte() % 3 {
                0 => None,
                1 => Some(facts_for(intent)),
                _ => Some(IntentFacts {
                    head_block: input.u64(),
                    liquidatable: input.byte() & 1 == 1,
                    max_repay: input.u256(),
                    price: input.u256(),
                    current_nonce: input.u256(),
                }),
            };
            let at = if input.byte() & 1 == 1 { input.instant() } else { now_ms };
            let checked = book.on_intent_facts(*origin, intent.clone(), facts.as_ref(), at);
            return Some(checked.map(Judged::Accepted));
        }
        Ok(Judged::Accepted(Accepted::Vote { signer, .. })) => {
            assert!(world.book.context.committee.attesters.contains(signer), "accepted a vote from a non-member");
        }
        _ => {}
    }
    Some(judged)
}

fn pick_intent<'w>(world: &'w World, input: &mut Input) -> &'w Intent {
    &world.auctions[usize::from(input.byte() & 1)]
}

fn run_op(world: &World, book: &mut ChainBook, input: &mut Input) -> Option<Judgement> {
    match input.byte() % 8 {
        // Raw bytes: if they open, judge them.
        0 => {
            let topic = input.kind();
            let len = usize::from(input.u16() % 2_200);
            let bytes = input.bytes(len).to_vec();
            let now_ms = input.instant();
            deliver(world, book, input, topic, &bytes, now_ms)
        }
        // A fuzzed payload, signed by a known key under any kind byte.
        1 => {
            let key = key(KEY_SEEDS[usize::from(input.byte()) % KEY_SEEDS.len()]);
            let wire_kind = input.byte();
            let topic = input.kind();
            let len = usize::from(input.u16() % 1_200);
            let payload = input.bytes(len).to_vec();
            let now_ms = input.instant();
            deliver(world, book, input, topic, &sign_raw(&key, wire_kind, &payload), now_ms)
        }
        // A commit (honest or bent) from a solver.
        2 => {
            let intent = pick_intent(world, input);
            let solver = SOLVER_SEEDS[usize::from(input.byte()) % SOLVER_SEEDS.len()];
            let (mut commit, _) = bid(intent, solver, input.u256(), input.byte());
            match input.byte() % 4 {
                0 => commit.chainId = input.u64(),
                1 => commit.intentId = keccak256(input.bytes(4)),
                _ => {}
            }
            let now_ms = input.instant();
            let bytes = Envelope::seal(&key(solver), &Message::Commit(commit)).0;
            deliver(world, book, input, Kind::Commit, &bytes, now_ms)
        }
        // A reveal (honest or bent) from a solver.
        3 => {
            let intent = pick_intent(world, input);
            let solver = SOLVER_SEEDS[usize::from(input.byte()) % SOLVER_SEEDS.len()];
            let (_, mut reveal) = bid(intent, solver, U256::from(30), solver);
            match input.byte() % 6 {
                0 => reveal.premium = input.u256(),
                1 => reveal.repayAmount = input.u256(),
                2 => reveal.executor = Address::repeat_byte(input.byte()),
                3 => reveal.salt = B256::repeat_byte(input.byte()),
                _ => {}
            }
            let now_ms = input.instant();
            let bytes = Envelope::seal(&key(solver), &Message::Reveal(reveal)).0;
            deliver(world, book, input, Kind::Reveal, &bytes, now_ms)
        }
        // A vote for one of the book's awards (or a bent one), by a member or not.
        4 => {
            let intent = pick_intent(world, input);
            let rank = usize::from(input.byte() % 3);
            let mut award = book.round(&intent.id()).and_then(|round| round.award_for_rank(rank)).unwrap_or_default();
            match input.byte() % 6 {
                0 => award.premium = input.u256(),
                1 => award.deadline = input.u256(),
                2 => award.nonce = input.u256(),
                3 => award.executor = Address::repeat_byte(input.byte()),
                _ => {}
            }
            let member = usize::from(input.byte() % 4);
            let signer = world.attesters.get(member).unwrap_or(&world.outsider);
            let Ok(signature) = signer.sign_hash_sync(&award.signing_hash(CHAIN, settlement())) else { return None };
            let mut signature = signature.as_bytes().to_vec();
            match input.byte() % 4 {
                0 => signature[64] = input.byte(),
                1 => signature[usize::from(input.byte()) % 64] ^= 1,
                _ => {}
            }
            let vote = AwardVote { chainId: CHAIN, settlement: settlement(), award, signature: Bytes::from(signature) };
            let now_ms = input.instant();
            let bytes = Envelope::seal(&key(20), &Message::Vote(vote)).0;
            deliver(world, book, input, Kind::Vote, &bytes, now_ms)
        }
        // An intent: a copy of a fixture auction, a new auction, bent fields.
        5 => {
            let mut intent = pick_intent(world, input).clone();
            match input.byte() % 8 {
                0 => intent.account = Address::repeat_byte(input.byte()),
                1 => intent.observedBlock = input.u64(),
                2 => intent.openTimeMs = input.instant(),
                3 => (intent.commitMs, intent.revealMs) = (u32::from(input.u16()), u32::from(input.u16())),
                4 => intent.maxRepay = input.u256(),
                5 => intent.collateralAsset = Address::repeat_byte(input.byte()),
                6 => intent.nonce = input.u256(),
                _ => {}
            }
            let origin = key(KEY_SEEDS[usize::from(input.byte()) % KEY_SEEDS.len()]);
            let now_ms = input.instant();
            let bytes = Envelope::seal(&origin, &Message::Intent(intent)).0;
            deliver(world, book, input, Kind::Intent, &bytes, now_ms)
        }
        6 => {
            let _ = book.tick(input.instant());
            None
        }
        _ => {
            let id = pick_intent(world, input).id();
            match input.byte() % 4 {
                0 => {
                    book.close(id);
                    None
                }
                1 => {
                    book.reopen(id);
                    None
                }
                2 => {
                    let _ = book.may_open(&id, input.instant());
                    None
                }
                _ => {
                    let status = input.byte() % 5;
                    let outcome = Outcome { chainId: CHAIN, intentId: id, status, txHash: B256::ZERO };
                    let now_ms = input.instant();
                    let bytes = Envelope::seal(&key(30), &Message::Outcome(outcome)).0;
                    deliver(world, book, input, Kind::Outcome, &bytes, now_ms)
                }
            }
        }
    }
}

/// Seed inputs for a target: valid envelopes of every kind for [`envelope`]; for
/// [`validate`], programs whose operations are accepted (commit, reveal, vote, intent,
/// ticks, outcome), so the fuzzer starts from the deep paths.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "envelope" => envelope_seeds(),
        "validate" => validate_seeds(),
        _ => Vec::new(),
    }
}

fn envelope_seeds() -> Vec<(String, Vec<u8>)> {
    let world = world();
    let [live, decided] = &world.auctions;
    let (commit, reveal) = bid(live, 11, U256::from(30), 11);
    let award = world.book.round(&decided.id()).and_then(|round| round.award_for_rank(0)).unwrap_or_default();
    let signature = world.attesters[0]
        .sign_hash_sync(&award.signing_hash(CHAIN, settlement()))
        .map(|signature| signature.as_bytes().to_vec())
        .unwrap_or_else(|_| vec![0; 65]);
    let messages = [
        ("intent", Message::Intent(live.clone())),
        ("commit", Message::Commit(commit)),
        ("reveal", Message::Reveal(reveal)),
        (
            "vote",
            Message::Vote(AwardVote { chainId: CHAIN, settlement: settlement(), award, signature: signature.into() }),
        ),
        ("outcome", Message::Outcome(Outcome { chainId: CHAIN, intentId: live.id(), status: 1, txHash: B256::ZERO })),
    ];
    let mut seeds = Vec::new();
    for (name, message) in messages {
        seeds.push((format!("{name}-payload"), message.encode_payload()));
        seeds.push((format!("{name}-envelope"), Envelope::seal(&key(10), &message).0));
    }
    seeds
}

fn validate_seeds() -> Vec<(String, Vec<u8>)> {
    let at = Program::at;
    // Byte layouts follow `run_op`; auction selector 0 is A (live), 1 is B (decided).
    let commit_a = [&[2u8, 0, 0, 2][..], &30u64.to_be_bytes(), &[10, 2], &at(100)].concat();
    let reveal_a = [&[3u8, 0, 1, 5][..], &at(810)].concat();
    let vote_b = [&[4u8, 1, 0, 5, 0, 2][..], &at(0)].concat();
    let new_intent = [&[5u8, 0, 0, 0x77, 0][..], &at(0), &[1, 0]].concat();
    let outcome = [&[7u8, 0, 3, 1][..], &at(0)].concat();
    let tick_decide_a = [&[6u8][..], &at(1_700)].concat();
    let payload_intent = {
        let payload = Message::Intent(intent(0x55, OPEN_MS)).encode_payload();
        let len = (payload.len() as u16).to_be_bytes();
        [&[1u8, 0, Kind::Intent as u8, 0, len[0], len[1]][..], &payload, &at(0), &[1, 0]].concat()
    };
    let programs = [
        ("commit", Program::default().op(&[0]).op(&commit_a)),
        ("reveal", Program::default().op(&[0]).op(&reveal_a)),
        ("vote", Program::default().op(&[0]).op(&vote_b)),
        ("intent", Program::default().op(&[0]).op(&new_intent)),
        ("signed-intent", Program::default().op(&[0]).op(&payload_intent)),
        ("outcome", Program::default().op(&[0]).op(&outcome)),
        (
            "auction",
            Program::default().op(&[1]).op(&commit_a).op(&reveal_a).op(&tick_decide_a).op(&vote_b).op(&outcome),
        ),
    ];
    programs.into_iter().map(|(name, program)| (name.to_string(), program.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(trace: &[Judgement]) -> Vec<&Accepted> {
        trace
            .iter()
            .filter_map(|judged| match judged {
                Ok(Judged::Accepted(accepted)) => Some(accepted),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_validate_seed_reaches_an_accepted_message() {
        for (name, program) in seeds("validate") {
            let trace = validate_traced(&program);
            assert!(!accepted(&trace).is_empty(), "seed {name} accepted nothing: {trace:?}");
        }
    }

    #[test]
    fn the_auction_seed_commits_reveals_and_votes() {
        let (_, program) = seeds("validate").into_iter().find(|(name, _)| name == "auction").expect("auction seed");
        let trace = validate_traced(&program);
        let kinds: Vec<&str> = accepted(&trace)
            .iter()
            .map(|accepted| match accepted {
                Accepted::Commit { .. } => "commit",
                Accepted::Reveal { .. } => "reveal",
                Accepted::Vote { .. } => "vote",
                Accepted::Outcome { .. } => "outcome",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["commit", "reveal", "vote", "outcome"], "{trace:?}");
    }

    #[test]
    fn envelope_seeds_open_and_arbitrary_bytes_do_not_panic() {
        for (name, bytes) in seeds("envelope") {
            if name.ends_with("-envelope") {
                assert!(Envelope::open(&bytes).is_ok(), "{name}");
            }
            envelope(&bytes);
        }
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|index| (index * 31 + len) as u8).collect();
            envelope(&bytes);
            validate(&bytes);
        }
    }
}
