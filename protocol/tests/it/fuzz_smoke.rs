//! A fuzz smoke that runs on stable Rust in every `cargo test`: valid envelopes of every
//! kind, mutated many thousands of times by a seeded generator, go through
//! `Envelope::open` and, when they open, through `ChainBook::on_message`, the intent
//! chain check and `tick` at hostile instants. Nothing may panic, a changed envelope never
//! opens unless re-signed, and whatever opens is canonical. The coverage-guided fuzzers
//! live in `fuzz/` (see `fuzz/README.md`).
//!
//! `BACKSTOP_FUZZ_SMOKE_CASES` and `BACKSTOP_FUZZ_SMOKE_SEED` run it longer or elsewhere.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use alloy::primitives::{keccak256, Bytes};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_protocol::auction::{
    Accepted, Admission, ChainBook, ChainContext, Committee, IntentFacts, Judged, MarketTerms, SolverSet,
};
use backstop_protocol::envelope::{peer_key, Envelope, HEADER_LEN, MAX_ENVELOPE_LEN, SIGNING_DOMAIN};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message, Outcome};
use backstop_protocol::{Address, B256, PROTOCOL_VERSION, U256};
use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CHAIN: u64 = 31337;
const OPEN: u64 = 1_700_000_000_000;
const DEFAULT_CASES: usize = 12_000;
const DEFAULT_SEED: u64 = 0x00BA_C570_9F22;
/// Cases judged by one book before it is reset, so state builds up between resets.
const CASES_PER_BOOK: usize = 64;

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
        collateral_assets: vec![Address::repeat_byte(0xc0)],
        reserve_premium: U256::from(5),
    }
}

fn intent(account: u8, open: u64) -> Intent {
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
        openTimeMs: open,
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

fn bid(intent: &Intent, solver: u8, premium: u64) -> (BidCommit, BidReveal) {
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: intent.id(),
        executor: Address::repeat_byte(solver),
        repayAmount: U256::from(1_000),
        premium: U256::from(premium),
        salt: B256::repeat_byte(solver),
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

/// A valid envelope to mutate, the key that signed it and the instant it is valid at.
struct Seed {
    key: SigningKey,
    message: Message,
    envelope: Vec<u8>,
    valid_at: u64,
}

struct World {
    /// Auction A is open (solver 11 committed); auction B is decided with two bids.
    book: ChainBook,
    seeds: Vec<Seed>,
    /// Instants around every window of the fixture's auctions.
    instants: Vec<u64>,
    /// Ids and hashes worth aiming at: the auctions' ids and the commitments.
    ids: Vec<B256>,
    /// Auction A, open for commits at `OPEN`.
    live: Intent,
}

fn world() -> World {
    let attesters: Vec<PrivateKeySigner> = (0u8..3)
        .map(|index| PrivateKeySigner::from_bytes(&keccak256([0xc1, index])).expect("valid secp256k1 scalar"))
        .collect();
    let mut context = ChainContext::new(CHAIN, settlement());
    context.markets.insert(market().market_id, market());
    context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), 2);
    let mut solvers = SolverSet::default();
    for seed in [10u8, 11] {
        solvers.admit(peer_key(&key(seed)), Address::repeat_byte(seed));
    }
    context.admission = Admission::Bonded(solvers);
    let mut book = ChainBook::new(context);

    let decided = intent(0xb2, OPEN - 2_000);
    book.insert_verified(peer_key(&key(1)), decided.clone(), decided.openTimeMs).expect("B opens");
    for (solver, premium) in [(10u8, 50u64), (11, 20)] {
        let (commit, reveal) = bid(&decided, solver, premium);
        book.on_commit(peer_key(&key(solver)), &commit, decided.openTimeMs + 100).expect("B commit");
        book.on_reveal(peer_key(&key(solver)), &reveal, decided.commit_end_ms() + 10).expect("B reveal");
    }
    let live = intent(0xa1, OPEN);
    book.insert_verified(peer_key(&key(1)), live.clone(), OPEN).expect("A opens");
    let (committed, revealed) = bid(&live, 11, 30);
    book.on_commit(peer_key(&key(11)), &committed, OPEN + 100).expect("A commit");
    book.tick(OPEN);
    let award = book.round(&decided.id()).and_then(|round| round.award_for_rank(0)).expect("B decided");
    let signature = attesters[0].sign_hash_sync(&award.signing_hash(CHAIN, settlement())).expect("signs");

    let (commit, _) = bid(&live, 10, 40);
    let seeds = [
        (1u8, Message::Intent(intent(0xc3, OPEN)), OPEN),
        (10, Message::Commit(commit), OPEN + 100),
        (11, Message::Reveal(revealed), live.commit_end_ms() + 10),
        (
            20,
            Message::Vote(AwardVote {
                chainId: CHAIN,
                settlement: settlement(),
                award,
                signature: Bytes::from(signature.as_bytes().to_vec()),
            }),
            OPEN,
        ),
        (30, Message::Outcome(Outcome { chainId: CHAIN, intentId: live.id(), status: 1, txHash: B256::ZERO }), OPEN),
    ]
    .into_iter()
    .map(|(signer, message, valid_at)| Seed {
        key: key(signer),
        envelope: Envelope::seal(&key(signer), &message).0,
        message,
        valid_at,
    })
    .collect();
    let instants = vec![
        OPEN,
        OPEN + 100,
        live.commit_end_ms(),
        live.commit_end_ms() + 10,
        live.reveal_end_ms(),
        live.decide_at_ms(),
        live.award_window(0).next_start_ms(),
        decided.decide_at_ms(),
        decided.award_window(1).next_start_ms(),
        decided.award_window(1).next_start_ms() + 120_000,
    ];
    let ids = vec![live.id(), decided.id(), intent(0xc3, OPEN).id(), committed.commitment, market().market_id];
    World { book, seeds, instants, ids, live }
}

fn instant(rng: &mut StdRng, world: &World) -> u64 {
    match rng.gen_range(0..8) {
        0 => [0, 1, u64::MAX - 1, u64::MAX][rng.gen_range(0..4)],
        1 => rng.gen(),
        _ => world.instants[rng.gen_range(0..world.instants.len())].saturating_add_signed(rng.gen_range(-1_500..1_500)),
    }
}

/// An ABI word an attacker would try: zero, all ones, a small number, an offset or
/// length that points elsewhere, a u64 edge, or noise.
fn hostile_word(rng: &mut StdRng, payload_len: usize) -> [u8; 32] {
    let mut word = [0u8; 32];
    match rng.gen_range(0..7) {
        0 => {}
        1 => word = [0xff; 32],
        2 => word[31] = rng.gen(),
        3 => word[24..].copy_from_slice(&(payload_len as u64 + rng.gen_range(0..3) * 32).to_be_bytes()),
        4 => word[24..].copy_from_slice(&u64::MAX.to_be_bytes()),
        5 => word[0] = 0x80,
        _ => rng.fill(&mut word[..]),
    }
    word
}

/// One to four random edits: bit flips, byte and ABI-word overwrites, truncation,
/// extension, word insertion and removal, or another kind's payload spliced in.
fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>, donors: &[Vec<u8>]) {
    for _ in 0..rng.gen_range(1..=4) {
        let len = bytes.len();
        match rng.gen_range(0..9) {
            0 if len > 0 => {
                let at = rng.gen_range(0..len);
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let at = rng.gen_range(0..len);
                bytes[at] = rng.gen();
            }
            2 | 3 if len >= 32 => {
                let at = rng.gen_range(0..len / 32) * 32;
                let word = hostile_word(rng, len);
                bytes[at..at + 32].copy_from_slice(&word);
            }
            4 => bytes.truncate(rng.gen_range(0..=len)),
            5 => {
                let extra: Vec<u8> = (0..rng.gen_range(1..=64)).map(|_| rng.gen()).collect();
                bytes.extend_from_slice(&extra);
            }
            6 => {
                let at = rng.gen_range(0..=len / 32) * 32;
                let word = hostile_word(rng, len);
                bytes.splice(at..at, word);
            }
            7 if len >= 32 => {
                let at = rng.gen_range(0..len / 32) * 32;
                bytes.drain(at..at + 32);
            }
            8 => *bytes = donors[rng.gen_range(0..donors.len())].clone(),
            _ => {}
        }
    }
    bytes.truncate(MAX_ENVELOPE_LEN + 64);
}

fn hostile_u64(rng: &mut StdRng, valid: u64) -> u64 {
    match rng.gen_range(0..5) {
        0 => [0, 1, u64::MAX - 1, u64::MAX][rng.gen_range(0..4)],
        1 => rng.gen(),
        _ => valid.saturating_add_signed(rng.gen_range(-2_000..2_000)),
    }
}

fn hostile_u256(rng: &mut StdRng, valid: U256) -> U256 {
    match rng.gen_range(0..5) {
        0 => [U256::ZERO, U256::from(1), U256::MAX][rng.gen_range(0..3)],
        1 => U256::from_be_bytes(rng.gen::<[u8; 32]>()),
        2 => valid.saturating_add(U256::from(rng.gen_range(1..100))),
        _ => valid.saturating_sub(U256::from(rng.gen_range(1..100))),
    }
}

/// Mostly the fixture's chain: another chain id only tests the topic check.
fn hostile_chain(rng: &mut StdRng) -> u64 {
    if rng.gen_ratio(1, 4) {
        hostile_u64(rng, CHAIN)
    } else {
        CHAIN
    }
}

fn hostile_address(rng: &mut StdRng) -> Address {
    match rng.gen_range(0..3) {
        0 => Address::ZERO,
        1 => Address::from(rng.gen::<[u8; 20]>()),
        _ => Address::repeat_byte([0x5e, 0xde, 0xc0, 0x0a, 0x0b][rng.gen_range(0..5)]),
    }
}

fn hostile_b256(rng: &mut StdRng, world: &World) -> B256 {
    match rng.gen_range(0..3) {
        0 => B256::ZERO,
        1 => B256::from(rng.gen::<[u8; 32]>()),
        _ => world.ids[rng.gen_range(0..world.ids.len())],
    }
}

fn hostile_window(rng: &mut StdRng) -> u32 {
    [0, 299, 300, 499, 500, 800, 10_000, 10_001, u32::MAX, rng.gen()][rng.gen_range(0..10)]
}

/// One to three typed field edits: the payload stays canonical, so it always reaches
/// the rules, with values at and around every bound they check.
fn mutate_fields(rng: &mut StdRng, world: &World, message: &mut Message) {
    for _ in 0..rng.gen_range(1..=3) {
        match message {
            Message::Intent(intent) => match rng.gen_range(0..14) {
                0 => intent.chainId = hostile_chain(rng),
                1 => intent.settlement = hostile_address(rng),
                2 => intent.marketId = hostile_b256(rng, world),
                3 => intent.account = hostile_address(rng),
                4 => intent.nonce = hostile_u256(rng, U256::ZERO),
                5 => intent.debtAsset = hostile_address(rng),
                6 => intent.collateralAsset = hostile_address(rng),
                7 => intent.maxRepay = hostile_u256(rng, intent.maxRepay),
                8 => intent.observedBlock = hostile_u64(rng, intent.observedBlock),
                9 => intent.observedPrice = hostile_u256(rng, intent.observedPrice),
                10 => intent.openTimeMs = hostile_u64(rng, intent.openTimeMs),
                11 => intent.commitMs = hostile_window(rng),
                12 => intent.revealMs = hostile_window(rng),
                _ => intent.reservePremium = hostile_u256(rng, intent.reservePremium),
            },
            Message::Commit(commit) => match rng.gen_range(0..3) {
                0 => commit.chainId = hostile_chain(rng),
                1 => commit.intentId = hostile_b256(rng, world),
                _ => commit.commitment = hostile_b256(rng, world),
            },
            Message::Reveal(reveal) => match rng.gen_range(0..6) {
                0 => reveal.chainId = hostile_chain(rng),
                1 => reveal.intentId = hostile_b256(rng, world),
                2 => reveal.executor = hostile_address(rng),
                3 => reveal.repayAmount = hostile_u256(rng, reveal.repayAmount),
                4 => reveal.premium = hostile_u256(rng, reveal.premium),
                _ => reveal.salt = hostile_b256(rng, world),
            },
            Message::Vote(vote) => match rng.gen_range(0..12) {
                0 => vote.chainId = hostile_chain(rng),
                1 => vote.settlement = hostile_address(rng),
                2 => vote.award.intentId = hostile_b256(rng, world),
                3 => vote.award.marketId = hostile_b256(rng, world),
                4 => vote.award.account = hostile_address(rng),
                5 => vote.award.nonce = hostile_u256(rng, vote.award.nonce),
                6 => vote.award.executor = hostile_address(rng),
                7 => vote.award.repayAmount = hostile_u256(rng, vote.award.repayAmount),
                8 => vote.award.premium = hostile_u256(rng, vote.award.premium),
                9 => vote.award.deadline = hostile_u256(rng, vote.award.deadline),
                10 => {
                    // r, s or v: a high s, a v the contract refuses, noise.
                    let mut signature = vote.signature.to_vec();
                    let at = rng.gen_range(0..signature.len().max(1));
                    if let Some(byte) = signature.get_mut(at) {
                        *byte = [0, 0xff, 1, 27, 28, rng.gen()][rng.gen_range(0..6)];
                    }
                    vote.signature = signature.into();
                }
                _ => {
                    let len = [0, 64, 65, 66, rng.gen_range(0..200)][rng.gen_range(0..5)];
                    vote.signature = (0..len).map(|_| rng.gen::<u8>()).collect::<Vec<u8>>().into();
                }
            },
            Message::Outcome(outcome) => match rng.gen_range(0..4) {
                0 => outcome.chainId = hostile_chain(rng),
                1 => outcome.intentId = hostile_b256(rng, world),
                2 => outcome.status = rng.gen(),
                _ => outcome.txHash = hostile_b256(rng, world),
            },
        }
    }
}

/// Gossip bytes of `payload` signed by `key` under `wire_kind`, as a hostile peer with
/// its own key can always produce.
fn sign_raw(key: &SigningKey, wire_kind: u8, payload: &[u8]) -> Vec<u8> {
    let signed = [SIGNING_DOMAIN, &[wire_kind], payload].concat();
    let signature = key.sign(&signed);
    [&[PROTOCOL_VERSION, wire_kind][..], key.verifying_key().as_bytes(), &signature.to_bytes(), payload].concat()
}

#[derive(Default, Debug)]
struct Tally {
    opened: usize,
    accepted: usize,
    rejected: usize,
    /// How often each rule refused a message that opened: shows which rules were reached.
    by_rule: BTreeMap<&'static str, usize>,
}

/// Opens `bytes` and, if they open, judges them as a node would.
fn judge(rng: &mut StdRng, book: &mut ChainBook, topic: Kind, bytes: &[u8], now: u64, tally: &mut Tally) {
    let Ok(verified) = Envelope::open(bytes) else { return };
    tally.opened += 1;
    assert_eq!(verified.message.encode_payload(), &bytes[HEADER_LEN..], "an opened payload is canonical");
    let judged = match book.on_message(topic, &verified, now) {
        Ok(Judged::CheckIntent { origin, intent }) => {
            let facts = match rng.gen_range(0..4) {
                0 => None,
                1 => Some(IntentFacts { liquidatable: false, ..facts_for(&intent) }),
                _ => Some(facts_for(&intent)),
            };
            book.on_intent_facts(origin, intent, facts.as_ref(), now).map(Judged::Accepted)
        }
        other => other,
    };
    match judged {
        Ok(_) => tally.accepted += 1,
        Err(rejection) => {
            tally.rejected += 1;
            *tally.by_rule.entry(rejection.label()).or_default() += 1;
        }
    }
}

/// A solver commits to a bid with bent terms, then reveals it: the commitment matches,
/// so the reveal rules themselves (repay bounds, reserve, executor) are what judge it.
fn bent_bid(rng: &mut StdRng, world: &World, book: &mut ChainBook, tally: &mut Tally) {
    let solver = [10u8, 11, 12][rng.gen_range(0..3)];
    let live = &world.live;
    let executor = if rng.gen_ratio(1, 4) { hostile_address(rng) } else { Address::repeat_byte(solver) };
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: live.id(),
        executor,
        repayAmount: hostile_u256(rng, live.maxRepay),
        premium: hostile_u256(rng, live.reservePremium),
        salt: B256::from(rng.gen::<[u8; 32]>()),
    };
    let commit = BidCommit {
        chainId: CHAIN,
        intentId: live.id(),
        commitment: commitment(
            live.id(),
            peer_key(&key(solver)),
            reveal.executor,
            reveal.repayAmount,
            reveal.premium,
            reveal.salt,
        ),
    };
    let commit_at = if rng.gen_ratio(3, 4) { OPEN + 100 } else { instant(rng, world) };
    judge(rng, book, Kind::Commit, &Envelope::seal(&key(solver), &Message::Commit(commit)).0, commit_at, tally);
    let reveal_at = if rng.gen_ratio(3, 4) { live.commit_end_ms() + 10 } else { instant(rng, world) };
    judge(rng, book, Kind::Reveal, &Envelope::seal(&key(solver), &Message::Reveal(reveal)).0, reveal_at, tally);
}

fn run_case(rng: &mut StdRng, world: &World, book: &mut ChainBook, donors: &[Vec<u8>], tally: &mut Tally) {
    let seed = &world.seeds[rng.gen_range(0..world.seeds.len())];
    let kind = seed.message.kind();
    let topic = if rng.gen_ratio(1, 10) { Kind::ALL[rng.gen_range(0..Kind::ALL.len())] } else { kind };
    match rng.gen_range(0..10) {
        0..=2 => {
            // The bytes as relayed: any change must break the signature (or the header).
            let mut bytes = seed.envelope.clone();
            mutate(rng, &mut bytes, donors);
            if bytes != seed.envelope {
                assert!(Envelope::open(&bytes).is_err(), "a changed envelope opened");
            }
            let now = instant(rng, world);
            judge(rng, book, topic, &bytes, now, tally);
        }
        3..=5 => {
            // A hostile peer re-signs its mutated payload bytes: the decoder must hold.
            let mut payload = seed.message.encode_payload();
            mutate(rng, &mut payload, donors);
            let wire_kind = if rng.gen_ratio(1, 20) { rng.gen() } else { kind as u8 };
            let now = instant(rng, world);
            judge(rng, book, topic, &sign_raw(&seed.key, wire_kind, &payload), now, tally);
        }
        6..=8 => {
            // Or re-signs a message with bent fields: the rules must hold on their own.
            let mut message = seed.message.clone();
            mutate_fields(rng, world, &mut message);
            let signer = if rng.gen_ratio(1, 5) { key(rng.gen()) } else { seed.key.clone() };
            let now = instant(rng, world);
            judge(rng, book, topic, &Envelope::seal(&signer, &message).0, now, tally);
        }
        _ => bent_bid(rng, world, book, tally),
    }
    if rng.gen_ratio(1, 8) {
        let _ = book.tick(instant(rng, world));
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

#[test]
fn every_seed_envelope_is_accepted_unmutated() {
    let world = world();
    for seed in &world.seeds {
        let mut book = world.book.clone();
        let verified = Envelope::open(&seed.envelope).expect("seed opens");
        let judged = match book.on_message(seed.message.kind(), &verified, seed.valid_at) {
            Ok(Judged::CheckIntent { origin, intent }) => {
                let facts = facts_for(&intent);
                book.on_intent_facts(origin, intent, Some(&facts), seed.valid_at).map(Judged::Accepted)
            }
            other => other,
        };
        assert!(
            matches!(judged, Ok(Judged::Accepted(accepted)) if !matches!(accepted, Accepted::CopyAdopted { .. })),
            "seed {:?} was not accepted",
            seed.message.kind()
        );
    }
}

#[test]
fn mutated_envelopes_of_every_kind_never_panic_open_or_validation() {
    let cases = env_or("BACKSTOP_FUZZ_SMOKE_CASES", DEFAULT_CASES);
    let seed = env_or("BACKSTOP_FUZZ_SMOKE_SEED", DEFAULT_SEED);
    let world = world();
    let donors: Vec<Vec<u8>> = world.seeds.iter().map(|seed| seed.message.encode_payload()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let mut book = world.book.clone();
    for case in 0..cases {
        if case % CASES_PER_BOOK == 0 {
            book = world.book.clone();
            if rng.gen_ratio(1, 4) {
                book.context.admission = Admission::Open;
            }
        }
        let result = catch_unwind(AssertUnwindSafe(|| run_case(&mut rng, &world, &mut book, &donors, &mut tally)));
        assert!(result.is_ok(), "case {case} panicked; replay with BACKSTOP_FUZZ_SMOKE_SEED={seed}");
    }
    println!("fuzz smoke: {cases} cases, seed {seed}: {tally:?}");
    // Not vacuous: mutated messages opened and reached the rules, and some passed them.
    assert!(tally.opened > cases / 3 && tally.accepted > 0 && tally.rejected > 0, "{tally:?}");
}
