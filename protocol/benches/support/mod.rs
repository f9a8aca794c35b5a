//! Fixtures shared by the protocol benches: one chain with a registered market, a
//! committee of secp256k1 attesters and bonded solvers, and helpers that drive auctions
//! through the same public API a node uses (intent chain check, commit, reveal, tick).
//! Setup failures panic: a bench that measured the wrong path would mislead.

#![allow(dead_code)]

use alloy::primitives::{keccak256, Bytes};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_protocol::auction::{
    Accepted, Admission, ChainBook, ChainContext, Committee, IntentFacts, Judged, Judgement, MarketTerms, SolverSet,
};
use backstop_protocol::envelope::{peer_key, Envelope};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{AwardVote, BidCommit, BidReveal, Intent, Kind, Message};
use backstop_protocol::{Address, Award, Rejection, B256, U256};
use ed25519_dalek::SigningKey;

pub const CHAIN: u64 = 31337;
/// An arbitrary but fixed wall clock (unix ms) the benches run their auctions around.
pub const EPOCH_MS: u64 = 1_700_000_000_000;
pub const COMMIT_MS: u32 = 800;
pub const REVEAL_MS: u32 = 400;
pub const RESERVE_PREMIUM: u64 = 5;
pub const MAX_REPAY: u64 = 1_000_000;

pub fn settlement() -> Address {
    Address::repeat_byte(0x5e)
}

pub fn market() -> MarketTerms {
    MarketTerms {
        market_id: B256::repeat_byte(0xaa),
        adapter: Address::repeat_byte(0xad),
        debt_asset: Address::repeat_byte(0xde),
        collateral_assets: vec![Address::repeat_byte(0xc0)],
        reserve_premium: U256::from(RESERVE_PREMIUM),
    }
}

fn seed(domain: u8, index: u32) -> [u8; 32] {
    let mut seed = [domain; 32];
    seed[..4].copy_from_slice(&index.to_be_bytes());
    seed
}

/// The ed25519 key of solver `index`.
pub fn solver_key(index: u32) -> SigningKey {
    SigningKey::from_bytes(&seed(0x50, index))
}

/// The ed25519 key of the node that originated auction `index`.
pub fn origin_key(index: u32) -> SigningKey {
    SigningKey::from_bytes(&seed(0x0a, index))
}

/// The one executor solver `index` bonded.
pub fn executor(index: u32) -> Address {
    let mut bytes = [0xe0u8; 20];
    bytes[16..].copy_from_slice(&index.to_be_bytes());
    Address::from(bytes)
}

/// The secp256k1 key of committee member `index`.
pub fn attester(index: u32) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(seed(0xc1, index))).expect("a keccak digest is a valid secp256k1 scalar")
}

/// A chain whose committee has `committee` members and whose `solvers` solver keys are
/// bonded (the network's admission rule), each with its own executor.
pub fn chain(committee: u32, solvers: u32) -> (ChainBook, Vec<PrivateKeySigner>) {
    let attesters: Vec<PrivateKeySigner> = (0..committee).map(attester).collect();
    let mut context = ChainContext::new(CHAIN, settlement());
    context.markets.insert(market().market_id, market());
    context.committee =
        Committee::new(attesters.iter().map(PrivateKeySigner::address), (committee as usize * 2).div_ceil(3));
    let mut bonded = SolverSet::default();
    for index in 0..solvers {
        bonded.admit(peer_key(&solver_key(index)), executor(index));
    }
    context.admission = Admission::Bonded(bonded);
    (ChainBook::new(context), attesters)
}

/// Auction `index`'s intent (a distinct account per auction) opening at `open_ms`.
pub fn intent(index: u32, open_ms: u64) -> Intent {
    let mut account = [0xacu8; 20];
    account[16..].copy_from_slice(&index.to_be_bytes());
    Intent {
        chainId: CHAIN,
        settlement: settlement(),
        marketId: market().market_id,
        account: Address::from(account),
        nonce: U256::ZERO,
        debtAsset: market().debt_asset,
        collateralAsset: market().collateral_assets[0],
        maxRepay: U256::from(MAX_REPAY),
        observedBlock: 100,
        observedPrice: U256::from(2_000),
        openTimeMs: open_ms,
        commitMs: COMMIT_MS,
        revealMs: REVEAL_MS,
        reservePremium: U256::from(RESERVE_PREMIUM),
    }
}

/// What the chain says about [`intent`]: every claim holds.
pub fn facts(intent: &Intent) -> IntentFacts {
    IntentFacts {
        head_block: intent.observedBlock + 1,
        liquidatable: true,
        max_repay: intent.maxRepay,
        price: intent.observedPrice,
        current_nonce: intent.nonce,
    }
}

pub fn seal(key: &SigningKey, message: Message) -> Vec<u8> {
    Envelope::seal(key, &message).0
}

/// What a node does with gossip bytes on `topic_kind`'s topic: open, then judge.
pub fn validate(book: &mut ChainBook, topic_kind: Kind, bytes: &[u8], now_ms: u64) -> Judgement {
    match Envelope::open(bytes) {
        Ok(verified) => book.on_message(topic_kind, &verified, now_ms),
        Err(error) => Err(Rejection::Envelope(error)),
    }
}

/// Delivers auction `index`'s intent from its origin and completes its chain check.
pub fn open_auction(book: &mut ChainBook, index: u32, open_ms: u64) -> Intent {
    let intent = intent(index, open_ms);
    let bytes = seal(&origin_key(index), Message::Intent(intent.clone()));
    match validate(book, Kind::Intent, &bytes, open_ms) {
        Ok(Judged::CheckIntent { origin, intent }) => {
            let accepted = book.on_intent_facts(origin, intent.clone(), Some(&facts(&intent)), open_ms);
            assert!(matches!(accepted, Ok(Accepted::Opened { .. })), "fixture intent {index} not opened: {accepted:?}");
        }
        other => panic!("fixture intent {index} was not sent to its chain check: {other:?}"),
    }
    intent
}

/// Solver `solver`'s sealed bid on `intent`.
pub fn sealed_bid(intent: &Intent, solver: u32, premium: u64) -> (BidCommit, BidReveal) {
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: intent.id(),
        executor: executor(solver),
        repayAmount: U256::from(MAX_REPAY / 2),
        premium: U256::from(premium),
        salt: keccak256(seed(0x5a, solver)),
    };
    let commit = BidCommit {
        chainId: CHAIN,
        intentId: intent.id(),
        commitment: commitment(
            intent.id(),
            peer_key(&solver_key(solver)),
            reveal.executor,
            reveal.repayAmount,
            reveal.premium,
            reveal.salt,
        ),
    };
    (commit, reveal)
}

/// The commit envelope of a bid, as its solver gossips it.
pub fn commit_envelope(solver: u32, commit: &BidCommit) -> Vec<u8> {
    seal(&solver_key(solver), Message::Commit(commit.clone()))
}

/// The reveal envelope of a bid, as its solver gossips it.
pub fn reveal_envelope(solver: u32, reveal: &BidReveal) -> Vec<u8> {
    seal(&solver_key(solver), Message::Reveal(reveal.clone()))
}

/// Commits solver `solver`'s bid during the commit window; panics if refused.
pub fn commit(book: &mut ChainBook, intent: &Intent, solver: u32, premium: u64) -> BidReveal {
    let (commit, reveal) = sealed_bid(intent, solver, premium);
    let judged = validate(book, Kind::Commit, &commit_envelope(solver, &commit), intent.openTimeMs + 100);
    assert!(matches!(judged, Ok(Judged::Accepted(Accepted::Commit { .. }))), "fixture commit refused: {judged:?}");
    reveal
}

/// Reveals a committed bid during the reveal window; panics if refused.
pub fn reveal(book: &mut ChainBook, intent: &Intent, solver: u32, reveal: &BidReveal) {
    let judged = validate(book, Kind::Reveal, &reveal_envelope(solver, reveal), intent.commit_end_ms() + 10);
    assert!(matches!(judged, Ok(Judged::Accepted(Accepted::Reveal { .. }))), "fixture reveal refused: {judged:?}");
}

/// A committee member's vote for `award`, as it gossips it (sealed with its node key).
pub fn vote_envelope(member: u32, attester: &PrivateKeySigner, award: &Award) -> Vec<u8> {
    let signature = attester.sign_hash_sync(&award.signing_hash(CHAIN, settlement())).expect("secp256k1 signs");
    let vote = AwardVote {
        chainId: CHAIN,
        settlement: settlement(),
        award: award.clone(),
        signature: Bytes::from(signature.as_bytes().to_vec()),
    };
    seal(&SigningKey::from_bytes(&seed(0xc0, member)), Message::Vote(vote))
}
