//! The node core driven by inputs alone: no swarm, no chain, no disk. Each test feeds
//! what the runtime would and asserts on the effects that come out.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use backstop_net::Inbound;
use backstop_protocol::auction::{Admission, ChainContext, Committee, IntentFacts};
use backstop_protocol::envelope::{peer_key, Envelope, PeerKey};
use backstop_protocol::id::commitment;
use backstop_protocol::message::{BidCommit, BidReveal, Intent, Kind, Message};
use backstop_protocol::{Award, Penalty, Verdict};
use ed25519_dalek::SigningKey;
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;

use super::{Core, Effect, Input};
use crate::chain::{Candidate, ChainEvent, Market};
use crate::config::AuctionConfig;
use crate::store::AuctionStatus;

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
        nonce: U256::ZERO,
        debtAsset: market().debt_asset,
        collateralAsset: market().collateral_assets[0],
        maxRepay: U256::from(1_000),
        observedBlock: observed_block,
        observedPrice: U256::from(2_000),
        openTimeMs: open,
        commitMs: 800,
        revealMs: 400,
        reservePremium: U256::from(5),
    }
}

fn facts(intent: &Intent) -> IntentFacts {
    IntentFacts {
        head_block: intent.observedBlock + 1,
        liquidatable: true,
        max_repay: intent.maxRepay,
        price: intent.observedPrice,
        current_nonce: intent.nonce,
    }
}

fn candidate(observed_block: u64) -> Candidate {
    Candidate {
        market: market(),
        account: Address::repeat_byte(0xac),
        nonce: U256::ZERO,
        max_repay: U256::from(1_000),
        observed_block,
        observed_price: U256::from(2_000),
        detected_at_ms: 0,
        confirmed_at_ms: 0,
    }
}

struct Harness {
    core: Core,
    attesters: Vec<PrivateKeySigner>,
}

fn harness() -> Harness {
    let attesters: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    let mut context = ChainContext::new(CHAIN, settlement());
    context.committee = Committee::new(attesters.iter().map(PrivateKeySigner::address), 2);
    context.admission = Admission::Open;
    let config = AuctionConfig { open_jitter: Duration::ZERO, ..AuctionConfig::default() };
    let mut core = Core::new(SigningKey::from_bytes(&[9; 32]), config, vec![context], true);
    let _ = core.handle(Input::Chain(ChainEvent::Market(market())), OPEN);
    // First in the opener order of the auction most tests run, so it opens at once.
    let members: Vec<Address> = attesters.iter().map(PrivateKeySigner::address).collect();
    let id = intent(OPEN, 10).id();
    let first = members.iter().find(|member| super::origination::opener_rank(id, Some(**member), &members) == 0);
    core.set_attester(*first.expect("someone is first"));
    Harness { core, attesters }
}

fn inbound(seed: u8, message: Message) -> Inbound {
    let data = Envelope::seal(&SigningKey::from_bytes(&[seed; 32]), &message).0;
    Inbound {
        id: MessageId::new(&alloy::primitives::keccak256(&data).0),
        source: PeerId::random(),
        chain_id: CHAIN,
        kind: message.kind(),
        data,
        received_at: std::time::Instant::now(),
    }
}

fn verdicts(effects: &[Effect]) -> Vec<(Verdict, Penalty)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Verdict { verdict, penalty, .. } => Some((*verdict, *penalty)),
            _ => None,
        })
        .collect()
}

fn persisted(effects: &[Effect]) -> usize {
    effects.iter().filter(|effect| matches!(effect, Effect::Persist { .. })).count()
}

fn sign_requests(effects: &[Effect]) -> Vec<Award> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::SignVote { award, .. } => Some(award.clone()),
            _ => None,
        })
        .collect()
}

/// A peer's intent through its chain check, as the runtime would drive it.
fn accept_intent(core: &mut Core, intent: &Intent, facts: IntentFacts, now: u64) -> Vec<Effect> {
    let effects = core.handle(Input::Gossip(inbound(1, Message::Intent(intent.clone()))), now);
    let [Effect::CheckIntent { origin, intent: checked, inbound, .. }] = effects.as_slice() else {
        panic!("a peer's intent is checked against the chain first: {effects:?}");
    };
    core.handle(
        Input::IntentFacts {
            chain_id: CHAIN,
            origin: *origin,
            intent: checked.clone(),
            facts: Some(facts),
            inbound: inbound.inbound().clone(),
        },
        now,
    )
}

fn bid(core: &mut Core, intent: &Intent, seed: u8, premium: u64) {
    let solver = peer_key(&SigningKey::from_bytes(&[seed; 32]));
    let reveal = BidReveal {
        chainId: CHAIN,
        intentId: intent.id(),
        executor: Address::repeat_byte(seed),
        repayAmount: U256::from(1_000),
        premium: U256::from(premium),
        salt: B256::repeat_byte(seed),
    };
    let commit = BidCommit {
        chainId: CHAIN,
        intentId: intent.id(),
        commitment: commitment(intent.id(), solver, reveal.executor, reveal.repayAmount, reveal.premium, reveal.salt),
    };
    let effects = core.handle(Input::Gossip(inbound(seed, Message::Commit(commit))), intent.openTimeMs + 100);
    assert_eq!(verdicts(&effects), vec![(Verdict::Accept, Penalty::None)]);
    let effects = core.handle(Input::Gossip(inbound(seed, Message::Reveal(reveal))), intent.commit_end_ms() + 10);
    assert_eq!(verdicts(&effects), vec![(Verdict::Accept, Penalty::None)]);
}

#[test]
fn a_peers_intent_counts_only_once_its_claims_hold_on_chain() {
    let mut harness = harness();
    let claimed = intent(OPEN, 10);
    let healthy = IntentFacts { liquidatable: false, ..facts(&claimed) };
    let effects = accept_intent(&mut harness.core, &claimed, healthy, OPEN + 5);
    assert_eq!(verdicts(&effects), vec![(Verdict::Reject, Penalty::Mid)]);
    assert_eq!(persisted(&effects), 0, "nothing refused is stored");
    assert!(harness.core.auction_ids().is_empty());

    let effects = accept_intent(&mut harness.core, &claimed, facts(&claimed), OPEN + 6);
    assert_eq!(verdicts(&effects), vec![(Verdict::Accept, Penalty::None)]);
    assert_eq!(persisted(&effects), 1);
    assert_eq!(harness.core.auction_ids(), vec![claimed.id()]);
}

#[test]
fn the_committee_member_votes_each_rank_on_schedule_and_publishes_only_signed_votes() {
    let mut harness = harness();
    let auction = intent(OPEN, 10);
    accept_intent(&mut harness.core, &auction, facts(&auction), OPEN);
    bid(&mut harness.core, &auction, 2, 10);
    bid(&mut harness.core, &auction, 3, 30);

    let effects = harness.core.handle(Input::Tick, auction.decide_at_ms());
    let requests = sign_requests(&effects);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].executor, Address::repeat_byte(3), "the highest premium first");
    assert!(
        !effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Vote, .. })),
        "not before it is on disk"
    );

    let signature = harness.attesters[0].sign_hash_sync(&requests[0].signing_hash(CHAIN, settlement())).unwrap();
    let effects = harness.core.handle(
        Input::VoteSigned { chain_id: CHAIN, award: requests[0].clone(), result: Ok(signature.as_bytes()) },
        auction.decide_at_ms(),
    );
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Vote, .. })));

    // The winner never settles: the runner-up is due at the first instant the guard allows.
    let second = auction.award_window(1);
    assert!(sign_requests(&harness.core.handle(Input::Tick, second.start_ms - 1)).is_empty());
    let requests = sign_requests(&harness.core.handle(Input::Tick, second.start_ms));
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].executor, Address::repeat_byte(2));
    assert_eq!(requests[0].deadline, U256::from(second.deadline_secs));
    assert!(backstop_protocol::timing::may_replace_award(
        auction.award_window(0).deadline_secs,
        second.deadline_secs,
        second.start_ms
    ));
}

/// An auction with bids of 10 (executor 2) and 30 (executor 3), decided: the node asked
/// to sign rank 0 and nothing else.
fn decided_with_two_bids() -> (Harness, Intent, Vec<Award>) {
    let mut harness = harness();
    let auction = intent(OPEN, 10);
    accept_intent(&mut harness.core, &auction, facts(&auction), OPEN);
    bid(&mut harness.core, &auction, 2, 10);
    bid(&mut harness.core, &auction, 3, 30);
    let first = sign_requests(&harness.core.handle(Input::Tick, auction.decide_at_ms()));
    assert_eq!(first.len(), 1);
    (harness, auction, first)
}

/// A slow disk (or a lost flush wake-up) once kept rank 0's signature in flight while
/// rank 1 fell due, and rank 1 was dropped for good: no later rank was ever signed.
#[test]
fn a_rank_due_while_a_signature_is_in_flight_is_signed_when_it_returns() {
    let (mut harness, auction, first) = decided_with_two_bids();
    assert_eq!(first[0].executor, Address::repeat_byte(3));

    // Rank 1 falls due while rank 0 is still being written: nothing is signed twice at once.
    let second = auction.award_window(1);
    assert!(sign_requests(&harness.core.handle(Input::Tick, second.start_ms)).is_empty());

    let signature = harness.attesters[0].sign_hash_sync(&first[0].signing_hash(CHAIN, settlement())).unwrap();
    let effects = harness.core.handle(
        Input::VoteSigned { chain_id: CHAIN, award: first[0].clone(), result: Ok(signature.as_bytes()) },
        second.start_ms + 10,
    );
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Vote, .. })));
    let queued = sign_requests(&effects);
    assert_eq!(queued.len(), 1, "the rank that fell due meanwhile is signed now");
    assert_eq!(queued[0].executor, Address::repeat_byte(2));
    assert_eq!(queued[0].deadline, U256::from(second.deadline_secs));
}

#[test]
fn a_failed_signature_does_not_block_later_ranks() {
    let (mut harness, auction, first) = decided_with_two_bids();
    let effects = harness.core.handle(
        Input::VoteSigned { chain_id: CHAIN, award: first[0].clone(), result: Err("disk timed out".into()) },
        auction.decide_at_ms() + 5,
    );
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Vote, .. })));
    let second = auction.award_window(1);
    let requests = sign_requests(&harness.core.handle(Input::Tick, second.start_ms));
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].executor, Address::repeat_byte(2));
}

#[test]
fn a_restarted_node_does_not_sign_a_rank_it_already_signed() {
    let mut harness = harness();
    let auction = intent(OPEN, 10);
    let envelopes: Vec<Vec<u8>> = {
        let mut bids = Vec::new();
        bids.push(inbound(1, Message::Intent(auction.clone())).data);
        for (seed, premium) in [(2u8, 10u64), (3, 30)] {
            let solver = peer_key(&SigningKey::from_bytes(&[seed; 32]));
            let reveal = BidReveal {
                chainId: CHAIN,
                intentId: auction.id(),
                executor: Address::repeat_byte(seed),
                repayAmount: U256::from(1_000),
                premium: U256::from(premium),
                salt: B256::repeat_byte(seed),
            };
            let commit = BidCommit {
                chainId: CHAIN,
                intentId: auction.id(),
                commitment: commitment(
                    auction.id(),
                    solver,
                    reveal.executor,
                    reveal.repayAmount,
                    reveal.premium,
                    reveal.salt,
                ),
            };
            bids.push(inbound(seed, Message::Commit(commit)).data);
            bids.push(inbound(seed, Message::Reveal(reveal)).data);
        }
        bids
    };
    let winner = Award {
        intentId: auction.id(),
        marketId: auction.marketId,
        account: auction.account,
        nonce: auction.nonce,
        executor: Address::repeat_byte(3),
        repayAmount: U256::from(1_000),
        premium: U256::from(30),
        deadline: U256::from(auction.award_deadline_secs()),
    };
    assert!(harness.core.restore_auction(auction.id(), &envelopes, Some(winner)));
    let round = harness.core.book(CHAIN).unwrap().round(&auction.id()).unwrap();
    assert_eq!((round.commit_count(), round.reveal_count()), (2, 2));
    assert!(sign_requests(&harness.core.handle(Input::Tick, auction.decide_at_ms())).is_empty(), "rank 0 was signed");
    let second = auction.award_window(1);
    assert_eq!(sign_requests(&harness.core.handle(Input::Tick, second.start_ms)).len(), 1, "rank 1 still follows");
}

#[test]
fn a_restarted_node_opens_no_intent_of_its_own_during_the_quiet_period() {
    let mut harness = harness();
    harness.core.stay_quiet_until(OPEN + 10_000);
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10))), OPEN);
    let effects = harness.core.handle(Input::Tick, OPEN + 1);
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::Publish { .. })), "quiet: peers handle it");

    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(11))), OPEN + 10_001);
    let effects = harness.core.handle(Input::Tick, OPEN + 10_001);
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Intent, .. })));
    assert_eq!(harness.core.auction_ids().len(), 1);
}

/// Each committee member has its own place in every auction's opener order, the places
/// are spread over members, and a node outside the committee comes last.
#[test]
fn the_opener_order_gives_each_member_one_place_and_spreads_first_places() {
    use super::origination::opener_rank;
    let members: Vec<Address> = (1..=4u8).map(Address::repeat_byte).collect();
    let mut first = std::collections::HashSet::new();
    for seed in 0..64u8 {
        let id = B256::repeat_byte(seed);
        let mut places: Vec<usize> = members.iter().map(|member| opener_rank(id, Some(*member), &members)).collect();
        first.insert(places.iter().position(|place| *place == 0).unwrap());
        places.sort_unstable();
        assert_eq!(places, vec![0, 1, 2, 3], "auction {seed}: one place each");
        assert_eq!(opener_rank(id, Some(Address::repeat_byte(9)), &members), 4);
        assert_eq!(opener_rank(id, None, &members), 4);
    }
    assert_eq!(first.len(), 4, "every member opens some auctions first");
}

/// The member second in an auction's order opens one step late, and not at all once
/// the first member's copy arrived.
#[test]
fn a_later_opener_waits_its_turn_and_yields_to_an_earlier_copy() {
    use super::origination::{opener_rank, OPENER_STEP_MS};
    let id = intent(OPEN, 10).id();
    let mut late = harness();
    let members: Vec<Address> = late.attesters.iter().map(PrivateKeySigner::address).collect();
    let second = *members.iter().find(|member| opener_rank(id, Some(**member), &members) == 1).unwrap();
    late.core.set_attester(second);
    late.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10))), OPEN);
    assert!(!opens_intent(&late.core.handle(Input::Tick, OPEN + OPENER_STEP_MS - 1)));
    assert!(opens_intent(&late.core.handle(Input::Tick, OPEN + OPENER_STEP_MS)));

    let mut harness = harness();
    let members: Vec<Address> = harness.attesters.iter().map(PrivateKeySigner::address).collect();
    let second = *members.iter().find(|member| opener_rank(id, Some(**member), &members) == 1).unwrap();
    harness.core.set_attester(second);
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10))), OPEN);
    let copy = intent(OPEN + 20, 10);
    accept_intent(&mut harness.core, &copy, facts(&copy), OPEN + 20);
    let effects = harness.core.handle(Input::Tick, OPEN + OPENER_STEP_MS);
    assert!(!opens_intent(&effects), "the earlier member's copy is the auction");
    assert_eq!(harness.core.auction_ids(), vec![id]);
}

/// Delivers a peer's copy and returns what its chain check needs to answer.
fn peer_copy_under_check(core: &mut Core, copy: &Intent, now: u64) -> (PeerKey, Intent, Inbound) {
    let effects = core.handle(Input::Gossip(inbound(1, Message::Intent(copy.clone()))), now);
    let [Effect::CheckIntent { origin, intent: checked, inbound: held, .. }] = effects.as_slice() else {
        panic!("a peer's intent is checked first: {effects:?}");
    };
    (*origin, checked.clone(), held.inbound().clone())
}

/// Under load a peer's copy can take longer than a block to check; a node that opened its
/// own meanwhile made peers hold different copies with different windows. The copy in
/// check holds ours back until it answers; a copy whose claims fail does not, and asks
/// the watcher to confirm the account again at once.
#[test]
fn a_peers_copy_under_check_holds_our_own_back_until_it_answers() {
    let mut harness = harness();
    let copy = intent(OPEN, 10);
    let (origin, checked, held) = peer_copy_under_check(&mut harness.core, &copy, OPEN);
    // Candidates keep coming, block after block, while the check is slow.
    for (block, now) in [(11, OPEN + 1_000), (12, OPEN + 2_000)] {
        harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(block))), now);
        assert!(!opens_intent(&harness.core.handle(Input::Tick, now + 500)), "block {block}: held back");
    }
    // The check answers: the copy's claims were false. Our own may open again.
    let healthy = IntentFacts { liquidatable: false, ..facts(&copy) };
    let effects = harness.core.handle(
        Input::IntentFacts { chain_id: CHAIN, origin, intent: checked, facts: Some(healthy), inbound: held },
        OPEN + 2_600,
    );
    assert!(
        effects.iter().any(|effect| matches!(effect,
            Effect::Reconfirm { account, .. } if *account == copy.account)),
        "the watcher is asked to confirm the account again"
    );
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(13))), OPEN + 3_000);
    assert!(opens_intent(&harness.core.handle(Input::Tick, OPEN + 3_500)), "our own copy opens");
}

/// A peer's copy we could not check may be live on every other member: a round of ours
/// before it could end there would be refused as too early and split the committee.
#[test]
fn a_peers_copy_we_could_not_check_defers_our_own_until_its_round_could_end() {
    let mut harness = harness();
    let copy = intent(OPEN, 10);
    let (origin, checked, held) = peer_copy_under_check(&mut harness.core, &copy, OPEN);
    harness.core.handle(
        Input::IntentFacts { chain_id: CHAIN, origin, intent: checked, facts: None, inbound: held },
        OPEN + 4_000,
    );
    let peers_next_round = copy.next_round_at_ms(0);
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(11))), peers_next_round - 200);
    assert!(!opens_intent(&harness.core.handle(Input::Tick, peers_next_round - 100)), "deferred");
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(12))), peers_next_round);
    assert!(opens_intent(&harness.core.handle(Input::Tick, peers_next_round + 10)), "due once peers could reopen");
}

fn opens_intent(effects: &[Effect]) -> bool {
    effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Intent, .. }))
}

/// Our next round of an auction nobody bid on opens at the protocol's earliest instant,
/// and further empty rounds in a row wait 1 s, then 2 s... beyond it; a round with bids
/// does not slow the next one.
#[test]
fn rounds_nobody_bids_on_reopen_with_a_doubling_backoff() {
    let mut harness = harness();
    let mut now = OPEN;
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10))), now);
    assert!(opens_intent(&harness.core.handle(Input::Tick, now)));
    let id = intent(OPEN, 10).id();
    let mut previous_open = now;
    for (round, extra_ms) in [(1u64, 0u64), (2, 1_000), (3, 2_000), (4, 4_000)] {
        let round_intent = harness.core.book(CHAIN).unwrap().round(&id).unwrap().intent().clone();
        assert_eq!(round_intent.openTimeMs, previous_open, "round {round} opened when due");
        // Nobody bids: the round is exhausted at its decision, and the watcher is asked to
        // confirm the account at its next block rather than after its periodic wait.
        now = round_intent.decide_at_ms();
        let effects = harness.core.handle(Input::Tick, now);
        assert!(
            effects.iter().any(|effect| matches!(effect,
                Effect::Reconfirm { chain_id, market_id, account }
                    if *chain_id == CHAIN && *market_id == round_intent.marketId && *account == round_intent.account)),
            "round {round}: reconfirmation asked"
        );
        let floor = round_intent.next_round_at_ms(0);
        assert!(floor > now, "the protocol's own gap");
        let early_instants = if extra_ms == 0 { vec![floor - 1] } else { vec![floor, floor + extra_ms - 1] };
        for early in early_instants {
            harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10 + round))), early);
            assert!(!opens_intent(&harness.core.handle(Input::Tick, early)), "round {round}: not before {extra_ms} ms");
        }
        now = floor + extra_ms;
        harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10 + round))), now);
        assert!(opens_intent(&harness.core.handle(Input::Tick, now)), "round {round}: due after {extra_ms} ms");
        previous_open = now;
    }

    // A round with a bid resets it: the winner failing to settle is the no-show ledger's business.
    let round_intent = harness.core.book(CHAIN).unwrap().round(&id).unwrap().intent().clone();
    bid(&mut harness.core, &round_intent, 2, 10);
    let exhausted = round_intent.exhausted_at_ms(1);
    harness.core.handle(Input::Tick, round_intent.decide_at_ms());
    harness.core.handle(Input::Tick, exhausted);
    let next = round_intent.next_round_at_ms(1);
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(20))), next);
    assert!(opens_intent(&harness.core.handle(Input::Tick, next)), "no backoff after a round with bids");
}

#[test]
fn a_settled_auction_closes_and_a_settlement_reorged_out_is_auctioned_again() {
    let mut harness = harness();
    let id = intent(OPEN, 10).id();
    harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(10))), OPEN);
    harness.core.handle(Input::Tick, OPEN);
    assert_eq!(harness.core.auction_ids(), vec![id]);
    let effects = harness.core.handle(
        Input::Chain(ChainEvent::Settled {
            chain_id: CHAIN,
            intent_id: id,
            executor: Address::repeat_byte(3),
            premium: U256::from(30),
            block: 12,
        }),
        OPEN + 3_000,
    );
    assert!(effects.contains(&Effect::SetStatus { id, status: AuctionStatus::Settled }));
    assert!(harness.core.auction_ids().is_empty());
    // The chain, read at its head, still has the account liquidatable at nonce 0.
    let effects = harness.core.handle(Input::Chain(ChainEvent::Candidate(candidate(14))), OPEN + 5_000);
    assert!(effects.contains(&Effect::ResetAuction { id }));
    let effects = harness.core.handle(Input::Tick, OPEN + 5_000);
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Publish { kind: Kind::Intent, .. })));
}

#[test]
fn malformed_bytes_are_rejected_with_a_penalty_and_never_reach_an_auction() {
    let mut harness = harness();
    let mut garbage = inbound(1, Message::Intent(intent(OPEN, 10)));
    garbage.data[40] ^= 1;
    let effects = harness.core.handle(Input::Gossip(garbage), OPEN);
    assert_eq!(verdicts(&effects), vec![(Verdict::Reject, Penalty::Low)]);
    assert!(harness.core.auction_ids().is_empty());
}
